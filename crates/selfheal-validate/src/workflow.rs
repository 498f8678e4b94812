//! The failing CI step as the workflow file defines it.

/// One step of a GitHub Actions workflow, as CI ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiStep {
    /// Repo-relative path of the workflow file.
    pub workflow: String,
    /// The job's id (its key under `jobs:`).
    pub job: String,
    /// The step's display name.
    pub step: String,
    /// The step's script, as written.
    pub run: String,
    /// Repo-relative and normalised; never absolute or escaping.
    pub working_directory: Option<String>,
    /// Workflow env < job env < step env, without expression values.
    pub env: Vec<(String, String)>,
    /// The step's shell.
    pub shell: Option<String>,
    /// What could not be taken over, one line each.
    pub unresolved: Vec<String>,
}
