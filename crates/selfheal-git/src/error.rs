use std::path::PathBuf;

/// Everything that can go wrong in git plumbing.
///
/// Only [`GitError::Remote`] with a network-level cause is worth retrying as
/// is (see [`GitError::is_retryable`]); the rest describe the repository's or
/// the remote's state (a missing commit, an existing branch, a rejected
/// token) or a bad input, and the user or the caller has to change something
/// first.
///
/// No message carries the token: remotes are shown without any
/// `user:password@`, and text from libgit2 or the server is scrubbed.
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

    #[error("no remote named `{remote}` in {}\nhint: pass a remote from `git remote -v`, a URL or a path", repo.display())]
    RemoteNotFound { remote: String, repo: PathBuf },

    #[error("branch `{branch}` does not exist in this repository")]
    BranchNotFound { branch: String },

    /// Fetching needs the full id: servers do not resolve abbreviations.
    #[error(
        "`{rev}` is not in this repository and is not a full commit sha, so it cannot be fetched"
    )]
    NotAFullSha { rev: String },

    #[error(
        "commit {sha} is not on {remote}\nhint: it may have been force-pushed away; check that the run belongs to this repository"
    )]
    CommitNotOnRemote { sha: String, remote: String },

    /// The credentials callback offered the token once and the server asked
    /// again: libgit2 would otherwise keep asking.
    #[error(
        "the remote rejected the token ({remote})\nhint: check that the token is valid and may access this repository"
    )]
    AuthRejected { remote: String },

    #[error(
        "{remote} asked for credentials and selfheal has no token\nhint: give selfheal a GitHub token that may access this repository"
    )]
    AuthRequired { remote: String },

    #[error(
        "{remote} asked for credentials a token cannot answer (an SSH key, or a login on another host)\nhint: use an https remote"
    )]
    AuthUnsupported { remote: String },

    /// This build of libgit2 has no SSH transport; with a token an SSH
    /// remote is reached over HTTPS instead.
    #[error(
        "{remote} is an ssh remote and selfheal talks to remotes over https only\nhint: give selfheal a token (it then uses the https address of the same repository), or pass an https remote"
    )]
    SshUnsupported { remote: String },

    #[error(
        "branch `{branch}` already exists on {remote} at {sha}; refusing to overwrite it\nhint: push under another branch name, or pass its current head to add to it"
    )]
    RemoteBranchExists {
        remote: String,
        branch: String,
        sha: String,
    },

    #[error(
        "branch `{branch}` on {remote} is {}, not at the expected {expected}; refusing to overwrite it",
        found.as_deref().map_or_else(|| "gone".to_owned(), |f| format!("at {f}"))
    )]
    RemoteBranchMoved {
        remote: String,
        branch: String,
        expected: String,
        found: Option<String>,
    },

    #[error(
        "pushing `{branch}` to {remote} would not fast-forward from {remote_head}; refusing to overwrite it"
    )]
    NotFastForward {
        remote: String,
        branch: String,
        remote_head: String,
    },

    /// The server refused the ref update (a hook, branch protection, a race).
    #[error("{remote} rejected the push of `{branch}`: {reason}")]
    PushRejected {
        remote: String,
        branch: String,
        reason: String,
    },

    /// Talking to a remote failed; retryable when the cause is the network.
    #[error("could not {op} {remote}: {source}")]
    Remote {
        op: &'static str,
        remote: String,
        #[source]
        source: git2::Error,
    },

    /// A remote took longer than the network deadline (see
    /// [`crate::Repo::with_network_timeout`]). Not retryable: the abandoned
    /// operation may still be running.
    #[error(
        "could not {op} {remote}: no answer within {secs}s\nhint: check the network, a proxy (`https_proxy`) or the remote's status"
    )]
    RemoteTimeout {
        op: &'static str,
        remote: String,
        secs: u64,
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
    /// Whether trying the same call again may succeed: a failure of the
    /// network or TLS connection, or an HTTP 5xx, while talking to a remote.
    /// A rejected certificate, a 4xx (no such repository, no access) or a
    /// refused push is not.
    pub fn is_retryable(&self) -> bool {
        let GitError::Remote { source, .. } = self else {
            return false;
        };
        match source.class() {
            git2::ErrorClass::Net | git2::ErrorClass::Os | git2::ErrorClass::Ssl => {
                source.code() != git2::ErrorCode::Certificate
                    && !source.message().contains("unsupported URL protocol")
            }
            // libgit2 words it `unexpected http status code: 503`.
            git2::ErrorClass::Http => source
                .message()
                .rsplit(": ")
                .next()
                .is_some_and(|status| status.trim().starts_with('5')),
            _ => false,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(class: git2::ErrorClass, code: git2::ErrorCode, message: &str) -> GitError {
        GitError::Remote {
            op: "push to",
            remote: "https://h/o/r".into(),
            source: git2::Error::new(code, class, message),
        }
    }

    #[test]
    fn only_network_failures_and_server_errors_are_retryable() {
        use git2::{ErrorClass as C, ErrorCode as E};
        assert!(remote(C::Net, E::GenericError, "failed to connect").is_retryable());
        assert!(remote(C::Os, E::GenericError, "connection reset").is_retryable());
        assert!(
            remote(C::Http, E::GenericError, "unexpected http status code: 502").is_retryable()
        );
        assert!(
            !remote(C::Http, E::GenericError, "unexpected http status code: 404").is_retryable()
        );
        assert!(!remote(C::Ssl, E::Certificate, "the SSL certificate is invalid").is_retryable());
        assert!(!remote(C::Net, E::GenericError, "unsupported URL protocol").is_retryable());
        assert!(
            !GitError::AuthRejected {
                remote: "https://h/o/r".into()
            }
            .is_retryable()
        );
    }
}
