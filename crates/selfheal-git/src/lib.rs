//! Git plumbing for repairs: an isolated copy of the failing commit to edit,
//! and the fix carried back as a commit on a new branch.
//!
//! The one promise this crate keeps is that a repair never touches the
//! user's checkout. Their files, index, `HEAD`, current branch and
//! uncommitted changes are the same after a repair as before, whether it
//! succeeded, failed or was interrupted. Two choices make that hold:
//!
//! - [`Repo::export_tree`] writes the failing commit's files from the object
//!   database into a fresh temporary directory (no `.git`, no index, no
//!   `git worktree` bookkeeping). The patcher and the sandbox work there.
//! - [`Repo::commit_fix`] builds the new tree in memory from the base
//!   commit's tree plus the changed files, writes the commit object and then
//!   creates the branch ref with a single atomic ref update. The branch is
//!   never checked out; `HEAD` and the index are never opened for writing.
//!
//! [`Repo::write_shallow_metadata`] writes, for the validation sandbox, a
//! `.git` that knows only the failing commit (its objects, a `shallow` file,
//! a detached `HEAD`, its tags and an index), for builds that ask git for a
//! version; the repository is only read.
//!
//! If the process dies midway, what is left is at most a temporary directory
//! outside the checkout and some unreferenced objects that `git gc` collects.
//!
//! Deleted files: a path passed to `commit_fix` that no longer exists in the
//! worktree is deleted from the commit. A path that exists in neither is an
//! error, so a typo cannot silently pass as a deletion.
//!
//! # Remotes
//! [`Repo::ensure_commit`] gets the failing commit when the checkout lacks it
//! (a shallow or single-branch CI clone), [`Repo::push_branch`] publishes the
//! fix branch, and [`Repo::remote_branch_head`] with [`Repo::is_ancestor`]
//! let the publisher decide whether adding to an existing branch
//! fast-forwards. The same promise holds: remotes are in-memory (nothing is
//! saved in `.git/config`), no ref other than the fix branch is created or
//! moved, `FETCH_HEAD` is left alone, and a push never forces. A fetch only
//! adds objects, and in a shallow clone the fetched commit's line in
//! `.git/shallow`, as `git fetch --depth 1` would.
//!
//! The token ([`Credentials`]) is handed to libgit2 only in its credentials
//! callback, once per operation: a second request for it means the server
//! refused it, and the operation stops with [`GitError::AuthRejected`]. It
//! never appears in a URL, so not in the config, a reflog or an error.
//!
//! HTTPS certificates are verified by OpenSSL against its default store,
//! which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`: behind a
//! TLS-intercepting proxy, or for a GitHub Enterprise Server signed by a
//! private CA, set `SSL_CERT_FILE` to a PEM bundle holding that CA before
//! selfheal starts (OpenSSL reads it once, when libgit2 initialises). libgit2
//! does not read git's `GIT_SSL_CAINFO` or `http.sslCAInfo`. Verification is
//! never turned off. This libgit2 has no SSH transport: with a token, an SSH
//! remote is reached at the HTTPS address of the same repository.

mod auth;
mod change;
mod error;
mod export;
mod metadata;
mod names;
mod remote;
mod url;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use git2::build::TreeUpdateBuilder;
use git2::{BranchType, ErrorCode, FileMode, Oid, Repository};

pub use auth::Credentials;
pub use change::{CommitChange, FileChange};
pub use error::GitError;
pub use export::Worktree;
pub use names::{fix_branch_name, with_signoff};
pub use remote::PushOutcome;
pub use url::github_slug;

/// Who a fix commit is by; used as both author and committer, so the
/// repository's own `user.name` and `user.email` need not be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub email: String,
}

/// A non-bare repository, found from a path inside its work tree.
///
/// `git2::Repository` is not `Sync`; the mutex makes `Repo` shareable between
/// the orchestrator's tasks. Git operations here are short, so contention is
/// not a concern.
pub struct Repo {
    inner: Mutex<Repository>,
    root: PathBuf,
    /// How long a fetch, a push or a listing of a remote may take.
    network_timeout: std::time::Duration,
}

/// The default of [`Repo::with_network_timeout`]: generous for a large
/// fetch on a slow link, short of hanging a CI job for hours.
pub const NETWORK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Repo {
    /// The repository that `path` is in (walking up like `git` does).
    pub fn discover(path: &Path) -> Result<Self, GitError> {
        let repo = Repository::discover(path).map_err(|source| GitError::NotARepository {
            path: path.to_path_buf(),
            source,
        })?;
        let Some(root) = repo.workdir().map(Path::to_path_buf) else {
            return Err(GitError::BareRepository {
                path: repo.path().to_path_buf(),
            });
        };
        Ok(Self {
            inner: Mutex::new(repo),
            root,
            network_timeout: NETWORK_TIMEOUT,
        })
    }

    /// Sets how long an operation on a remote (fetching the failing commit,
    /// listing a remote's branches, pushing the fix) may take before it is
    /// given up with [`GitError::RemoteTimeout`]. libgit2 itself waits for
    /// an unresponsive server forever.
    #[must_use]
    pub fn with_network_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.network_timeout = timeout;
        self
    }

    /// The work tree root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn repo(&self) -> MutexGuard<'_, Repository> {
        // A panic while holding the lock cannot leave the repository in a
        // state worth refusing: every write here is a single atomic git
        // operation.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The full sha `HEAD` points at.
    pub fn head_commit(&self) -> Result<String, GitError> {
        let repo = self.repo();
        let head = repo.head().map_err(|e| match e.code() {
            ErrorCode::UnbornBranch | ErrorCode::NotFound => GitError::NoCommits {
                path: self.root.clone(),
            },
            _ => GitError::Git {
                op: "read HEAD",
                source: e,
            },
        })?;
        let commit = head
            .peel_to_commit()
            .map_err(GitError::git("resolve HEAD to a commit"))?;
        Ok(commit.id().to_string())
    }

    /// A sha (full or abbreviated), branch, tag or other revision, as a full commit sha.
    pub fn resolve_commit(&self, rev: &str) -> Result<String, GitError> {
        let repo = self.repo();
        Ok(resolve(&repo, rev, &self.root)?.id().to_string())
    }

    /// Materialises the tree of `commit` into a fresh temporary directory
    /// (under `parent`, or the system temp dir), without touching the
    /// repository's index, `HEAD` or work tree.
    ///
    /// Files are the blobs as stored (no `.gitattributes` filters such as
    /// line-ending conversion or LFS smudging); modes are kept (executable
    /// bit, symlinks as symlinks); submodules become empty directories and
    /// are listed in [`Worktree::skipped_submodules`].
    pub fn export_tree(&self, commit: &str, parent: Option<&Path>) -> Result<Worktree, GitError> {
        let repo = self.repo();
        let found = resolve(&repo, commit, &self.root)?;
        let tree = found
            .tree()
            .map_err(GitError::git("read the commit's tree"))?;
        export::export(&repo, &found.id().to_string(), &tree, parent)
    }

    /// Writes a minimal git directory for `commit` at `dest` (which must not
    /// exist yet) and returns the commit's full sha: that one commit with its
    /// tree and blobs (one pack), a `shallow` file naming it, `HEAD` detached
    /// at it, the tags that point at it, and an index built from its tree.
    /// No other history, branch, remote, config or hook.
    ///
    /// Meant to be placed as the `.git` of an exported tree (the validation
    /// sandbox uploads it read-only), so that `git rev-parse HEAD`,
    /// `git log` and `git describe --tags` inside the sandbox answer as in
    /// CI's checkout, for builds that take their version from git. The
    /// repository itself is only read. On error nothing is left at `dest`.
    pub fn write_shallow_metadata(&self, commit: &str, dest: &Path) -> Result<String, GitError> {
        let repo = self.repo();
        let found = resolve(&repo, commit, &self.root)?;
        metadata::write(&repo, found.id(), dest)?;
        Ok(found.id().to_string())
    }

    /// What `commit` changed against its first parent, for the model to
    /// read next to the failure; `None` when the parent is not in the
    /// repository (a root commit, a shallow clone). Only reads.
    pub fn commit_change(&self, commit: &str) -> Result<Option<CommitChange>, GitError> {
        let repo = self.repo();
        let found = resolve(&repo, commit, &self.root)?;
        change::commit_change(&repo, &found)
    }

    /// Whether the local branch `branch` exists.
    pub fn branch_exists(&self, branch: &str) -> Result<bool, GitError> {
        let repo = self.repo();
        branch_exists(&repo, branch)
    }

    /// Creates a commit whose tree is `base_commit`'s tree with `files`
    /// (paths relative to the root, `/`-separated) taken from `worktree`,
    /// whose parent is `base_commit`, and a new branch `branch` pointing at
    /// it. Returns the new commit's sha.
    ///
    /// A listed file missing from the worktree is deleted. Fails if the
    /// branch exists. Never moves `HEAD`, never touches the index or the
    /// work tree.
    pub fn commit_fix(
        &self,
        worktree: &Worktree,
        base_commit: &str,
        files: &[String],
        branch: &str,
        message: &str,
        author: &Signature,
    ) -> Result<String, GitError> {
        let repo = self.repo();
        let refname = format!("refs/heads/{branch}");
        if branch_exists(&repo, branch)? || head_is_unborn_on(&repo, &refname) {
            return Err(GitError::BranchExists {
                branch: branch.to_owned(),
            });
        }

        let base = resolve(&repo, base_commit, &self.root)?;
        let base_sha = base.id().to_string();
        let base_tree = base
            .tree()
            .map_err(GitError::git("read the base commit's tree"))?;

        let mut update = TreeUpdateBuilder::new();
        let unique: BTreeSet<&str> = files.iter().map(String::as_str).collect();
        for path in unique {
            check_path(path)?;
            check_parents_in_tree(&base_tree, path)?;
            match read_change(&repo, worktree.path(), path)? {
                Some((oid, mode)) => {
                    update.upsert(path, oid, mode);
                }
                None if base_tree.get_path(Path::new(path)).is_ok() => {
                    update.remove(path);
                }
                None => {
                    return Err(GitError::MissingFile {
                        path: path.to_owned(),
                        commit: base_sha,
                    });
                }
            }
        }
        let tree_id = update
            .create_updated(&repo, &base_tree)
            .map_err(GitError::git("build the fix's tree"))?;
        if tree_id == base_tree.id() {
            return Err(GitError::EmptyFix { commit: base_sha });
        }
        let tree = repo
            .find_tree(tree_id)
            .map_err(GitError::git("read the fix's tree"))?;

        let sig = git2::Signature::now(&author.name, &author.email).map_err(|source| {
            GitError::InvalidSignature {
                name: author.name.clone(),
                email: author.email.clone(),
                source,
            }
        })?;
        // Strips trailing blanks and ensures a final newline; `None` keeps
        // lines starting with `#`, which model-written bodies may contain.
        let message =
            git2::message_prettify(message, None).map_err(GitError::git("tidy the message"))?;
        // `update_ref: None` writes only the commit object; the branch is
        // created below, on its own, so nothing else can move.
        let oid = repo
            .commit(None, &sig, &sig, &message, &tree, &[&base])
            .map_err(GitError::git("write the fix commit"))?;
        create_branch(&repo, &refname, branch, oid)?;
        Ok(oid.to_string())
    }
}

fn resolve<'r>(repo: &'r Repository, rev: &str, root: &Path) -> Result<git2::Commit<'r>, GitError> {
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|source| GitError::CommitNotFound {
            rev: rev.to_owned(),
            repo: root.to_path_buf(),
            source,
        })
}

fn branch_exists(repo: &Repository, branch: &str) -> Result<bool, GitError> {
    // `git branch` rules, which are stricter than ref rules (no leading `-`,
    // not `HEAD`).
    if !git2::Branch::name_is_valid(branch).unwrap_or(false) {
        return Err(GitError::InvalidBranchName {
            branch: branch.to_owned(),
        });
    }
    match repo.find_branch(branch, BranchType::Local) {
        Ok(_) => Ok(true),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(false),
        Err(source) => Err(GitError::Git {
            op: "look up a branch",
            source,
        }),
    }
}

/// In a repository without commits, `HEAD` names a branch that does not exist
/// yet; creating that branch would give the user's checkout a commit.
fn head_is_unborn_on(repo: &Repository, refname: &str) -> bool {
    repo.find_reference("HEAD")
        .ok()
        .is_some_and(|head| head.symbolic_target().ok().flatten() == Some(refname))
}

fn create_branch(repo: &Repository, refname: &str, branch: &str, oid: Oid) -> Result<(), GitError> {
    let log = format!("selfheal: created fix branch at {oid}");
    match repo.reference(refname, oid, false, &log) {
        Ok(_) => Ok(()),
        // Someone created it between our check and now.
        Err(e) if e.code() == ErrorCode::Exists => Err(GitError::BranchExists {
            branch: branch.to_owned(),
        }),
        Err(source) => Err(GitError::Git {
            op: "create the fix branch",
            source,
        }),
    }
}

/// Only plain relative paths: they go both into the tree and onto disk.
fn check_path(path: &str) -> Result<(), GitError> {
    let invalid = |reason| GitError::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() || path.contains('\0') || path.contains('\\') {
        return Err(invalid("not a plain relative path"));
    }
    for part in path.split('/') {
        match part {
            "" | "." | ".." => {
                return Err(invalid("not a plain relative path"));
            }
            p if p.eq_ignore_ascii_case(".git") => {
                return Err(invalid("it is inside .git"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A change below a submodule or below a file of the base tree is not a
/// change this crate can express safely.
fn check_parents_in_tree(tree: &git2::Tree<'_>, path: &str) -> Result<(), GitError> {
    let mut end = 0;
    while let Some(slash) = path[end..].find('/') {
        end += slash;
        if let Ok(entry) = tree.get_path(Path::new(&path[..end]))
            && entry.kind() != Some(git2::ObjectType::Tree)
        {
            return Err(GitError::InvalidPath {
                path: path.to_owned(),
                reason: "a parent is a file or submodule in the base commit",
            });
        }
        end += 1;
    }
    Ok(())
}

/// The blob and mode for `path` in the worktree, or `None` when it is gone.
fn read_change(
    repo: &Repository,
    root: &Path,
    path: &str,
) -> Result<Option<(Oid, FileMode)>, GitError> {
    // Reading through a symlinked directory could commit files from outside
    // the worktree.
    let mut parent = root.to_path_buf();
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        parent.push(part);
        match std::fs::symlink_metadata(&parent) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(GitError::InvalidPath {
                    path: path.to_owned(),
                    reason: "a parent directory is a symlink",
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(GitError::Io {
                    action: "inspect",
                    path: parent,
                    source,
                });
            }
        }
    }
    let full = root.join(path);
    let meta = match std::fs::symlink_metadata(&full) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(GitError::Io {
                action: "inspect",
                path: full,
                source,
            });
        }
    };
    let (content, mode) = if meta.file_type().is_symlink() {
        let target =
            std::fs::read_link(&full).map_err(GitError::io("read symlink", full.clone()))?;
        (path_bytes(&target), FileMode::Link)
    } else if meta.is_file() {
        let content = std::fs::read(&full).map_err(GitError::io("read", full.clone()))?;
        (content, file_mode(&meta))
    } else {
        return Err(GitError::InvalidPath {
            path: path.to_owned(),
            reason: "it is a directory or special file in the worktree",
        });
    };
    let oid = repo.blob(&content).map_err(GitError::git("write a blob"))?;
    Ok(Some((oid, mode)))
}

/// The executable bit follows the worktree file, as `git add` would see it.
#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> FileMode {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 == 0 {
        FileMode::Blob
    } else {
        FileMode::BlobExecutable
    }
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> FileMode {
    FileMode::Blob
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().replace('\\', "/").into_bytes()
}
