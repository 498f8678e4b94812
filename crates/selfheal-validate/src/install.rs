//! The dependency install phase: what to install for a project, run once with
//! the network on and cached as an image the offline test sandbox starts from.

use std::path::Path;

/// How to install a project's dependencies before its tests can run offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallSpec {
    /// The argv to run, with the network on.
    pub command: Vec<String>,
    /// Repo-relative paths hashed into the cache key and uploaded.
    pub manifests: Vec<String>,
    /// Repo-relative directory the command runs in; `""` is the root.
    pub workdir: String,
    /// Extra environment for the command.
    pub env: Vec<(String, String)>,
}

/// The install spec for the project at `tree`, if it declares dependencies.
pub fn detect_install(tree: &Path) -> Option<InstallSpec> {
    let _ = tree;
    None
}
