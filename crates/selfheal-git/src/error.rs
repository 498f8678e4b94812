use std::path::PathBuf;

/// Everything that can go wrong in git plumbing.
///
/// None of these is worth retrying as is: they describe the repository's
/// state (a missing commit, an existing branch) or a bad input path, and the
/// user or the caller has to change something first.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "{} is not inside a git repository: {source}\nhint: run selfheal from the project's checkout",
        path.display()
    )]
    NotARepository {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error(
        "{} is a bare repository\nhint: selfheal needs a checkout with a work tree; clone it and run selfheal there",
        path.display()
    )]
    BareRepository { path: PathBuf },

    #[error("repository {} has no commits yet", path.display())]
    NoCommits { path: PathBuf },

    #[error(
        "commit `{rev}` is not in {}: {source}\nhint: run `git fetch` so the repository has the commit the CI run tested",
        repo.display()
    )]
    CommitNotFound {
        rev: String,
        repo: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error(
        "branch `{branch}` already exists\nhint: delete it with `git branch -D {branch}` or repair another run id"
    )]
    BranchExists { branch: String },

    #[error("`{branch}` is not a valid branch name")]
    InvalidBranchName { branch: String },

    /// A path given to `commit_fix` that selfheal refuses to commit.
    #[error("refusing to commit `{path}`: {reason}")]
    InvalidPath { path: String, reason: &'static str },

    #[error(
        "`{path}` is neither in the worktree nor in commit {commit}, so it can be neither changed nor deleted"
    )]
    MissingFile { path: String, commit: String },

    #[error("the fix changes nothing relative to commit {commit}")]
    EmptyFix { commit: String },

    #[error("commit {commit} holds an unsafe path `{path}`; refusing to export it")]
    UnsafeTreeEntry { commit: String, path: String },

    #[error("invalid commit author `{name} <{email}>`: {source}")]
    InvalidSignature {
        name: String,
        email: String,
        #[source]
        source: git2::Error,
    },

    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A libgit2 failure with no more specific meaning; `op` says what selfheal was doing.
    #[error("git failed to {op}: {source}")]
    Git {
        op: &'static str,
        #[source]
        source: git2::Error,
    },
}

impl GitError {
    pub(crate) fn git(op: &'static str) -> impl FnOnce(git2::Error) -> GitError {
        move |source| GitError::Git { op, source }
    }

    pub(crate) fn io(
        action: &'static str,
        path: PathBuf,
    ) -> impl FnOnce(std::io::Error) -> GitError {
        move |source| GitError::Io {
            action,
            path,
            source,
        }
    }
}
