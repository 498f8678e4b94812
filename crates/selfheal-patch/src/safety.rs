//! Keeping edits inside the repository.
//!
//! A path from a model is checked twice: lexically (absolute, `..` above the
//! root, `.git`), then against the filesystem, by canonicalising the deepest
//! part of the path that exists. The part that does not exist yet cannot hold
//! a symlink, so checking the existing prefix is enough.

use std::path::{Component, Path, PathBuf};

use crate::PatchError;

/// Turns a path from a reply into a clean relative path with forward slashes.
///
/// Lenient: `./` prefixes, doubled slashes, backslashes and `..` that stay
/// inside the root are all tidied away, since models write all of them.
pub(crate) fn normalize(raw: &str) -> Result<String, PatchError> {
    let unsafe_path = |reason: &str| PatchError::UnsafePath {
        path: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let path = raw.trim().replace('\\', "/");
    if path.is_empty() {
        return Err(unsafe_path("the path is empty"));
    }
    let bytes = path.as_bytes();
    let drive_letter = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if path.starts_with('/') || path.starts_with('~') || drive_letter {
        return Err(unsafe_path(
            "absolute paths are not allowed; use a path relative to the repository root",
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(unsafe_path("the path escapes the repository root"));
                }
            }
            _ => {
                if part.eq_ignore_ascii_case(".git") {
                    return Err(unsafe_path("files inside .git cannot be edited"));
                }
                parts.push(part);
            }
        }
    }
    if parts.is_empty() {
        return Err(unsafe_path(
            "the path names the repository root, not a file",
        ));
    }
    Ok(parts.join("/"))
}

/// Where `rel` (already [`normalize`]d) lives under `root`, after making sure
/// no symlink on the way leads out of the root or into `.git`.
pub(crate) fn resolve(root: &Path, rel: &str) -> Result<PathBuf, PatchError> {
    let root = root.canonicalize().map_err(|source| PatchError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let full = root.join(rel);
    let unsafe_path = |reason: &str| PatchError::UnsafePath {
        path: rel.to_owned(),
        reason: reason.to_owned(),
    };
    // The deepest existing ancestor (symlink_metadata so that a dangling link
    // counts as existing: writing through it would create its target).
    let mut existing = full.as_path();
    let mut missing: Vec<&std::ffi::OsStr> = Vec::new();
    while existing != root && existing.symlink_metadata().is_err() {
        let Some(name) = existing.file_name() else {
            break;
        };
        missing.push(name);
        let Some(parent) = existing.parent() else {
            break;
        };
        existing = parent;
    }
    let canonical = existing
        .canonicalize()
        .map_err(|_| unsafe_path("it goes through a symlink whose target does not exist"))?;
    let Ok(inside) = canonical.strip_prefix(&root) else {
        return Err(unsafe_path(
            "it resolves (through a symlink) outside the repository root",
        ));
    };
    if inside
        .components()
        .any(|c| matches!(c, Component::Normal(n) if n.eq_ignore_ascii_case(".git")))
    {
        return Err(unsafe_path("it resolves (through a symlink) into .git"));
    }
    let mut resolved = canonical;
    resolved.extend(missing.iter().rev());
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Result<String, PatchError>) -> String {
        match result {
            Err(PatchError::UnsafePath { reason, .. }) => reason,
            other => panic!("expected an unsafe path, got {other:?}"),
        }
    }

    #[test]
    fn tidies_paths_models_write() {
        assert_eq!(normalize("./src//x.py").ok(), Some("src/x.py".into()));
        assert_eq!(normalize("src\\x.py").ok(), Some("src/x.py".into()));
        assert_eq!(normalize("src/../lib/x.py").ok(), Some("lib/x.py".into()));
        assert_eq!(normalize(" src/x.py ").ok(), Some("src/x.py".into()));
    }

    #[test]
    fn rejects_paths_outside_the_root() {
        assert!(reason(normalize("/etc/passwd")).starts_with("absolute paths"));
        assert!(reason(normalize("C:/x.py")).starts_with("absolute paths"));
        assert!(reason(normalize("~/.bashrc")).starts_with("absolute paths"));
        assert_eq!(
            reason(normalize("src/../../x.py")),
            "the path escapes the repository root"
        );
        assert_eq!(
            reason(normalize(".git/config")),
            "files inside .git cannot be edited"
        );
        assert_eq!(
            reason(normalize("sub/.GIT/hooks/pre-commit")),
            "files inside .git cannot be edited"
        );
        assert_eq!(reason(normalize("")), "the path is empty");
        assert!(reason(normalize("src/..")).contains("repository root"));
    }

    #[cfg(unix)]
    #[test]
    fn follows_symlinks_before_trusting_a_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("repo");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        std::fs::create_dir_all(root.join(".git")).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::os::unix::fs::symlink(&outside, root.join("out")).expect("symlink");
        std::os::unix::fs::symlink(root.join(".git"), root.join("g")).expect("symlink");
        std::os::unix::fs::symlink(root.join("src"), root.join("alias")).expect("symlink");
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), root.join("dangling"))
            .expect("symlink");

        let err = |rel: &str| match resolve(&root, rel) {
            Err(PatchError::UnsafePath { path, reason }) => format!("{path}: {reason}"),
            other => panic!("expected {rel} to be refused, got {other:?}"),
        };
        assert_eq!(
            err("out/x.py"),
            "out/x.py: it resolves (through a symlink) outside the repository root"
        );
        assert_eq!(
            err("g/config"),
            "g/config: it resolves (through a symlink) into .git"
        );
        assert_eq!(
            err("dangling"),
            "dangling: it goes through a symlink whose target does not exist"
        );

        let canonical = root.canonicalize().expect("canonical");
        assert_eq!(
            resolve(&root, "alias/new/deep.py").expect("inside"),
            canonical.join("src/new/deep.py")
        );
        assert_eq!(
            resolve(&root, "src/x.py").expect("inside"),
            canonical.join("src/x.py")
        );
    }
}
