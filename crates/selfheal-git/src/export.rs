//! Writing a commit's tree into a plain directory, straight from the object
//! database: no index, no checkout machinery, nothing in `.git` is written.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Repository, Tree};

use crate::GitError;

/// A commit's files in a temporary directory, deleted when this is dropped.
///
/// Not a `git worktree`: it has no `.git`, so nothing done in it can reach the
/// user's repository. The fix is carried back by [`crate::Repo::commit_fix`],
/// which reads the changed files from here.
#[derive(Debug)]
pub struct Worktree {
    dir: tempfile::TempDir,
    commit: String,
    skipped_submodules: Vec<String>,
}

impl Worktree {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The full sha whose tree this holds.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// Submodules (gitlinks) left as empty directories, as `git checkout`
    /// leaves them before `git submodule update`: their contents live in other
    /// repositories that selfheal does not fetch.
    pub fn skipped_submodules(&self) -> &[String] {
        &self.skipped_submodules
    }

    /// Keeps the directory on disk past the drop (for `--keep-worktree`
    /// style debugging) and returns where it is.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}

pub(crate) fn export(
    repo: &Repository,
    commit: &str,
    tree: &Tree<'_>,
    parent: Option<&Path>,
) -> Result<Worktree, GitError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("selfheal-worktree-");
    let dir = match parent {
        Some(parent) => builder
            .tempdir_in(parent)
            .map_err(GitError::io("create a worktree in", parent.to_path_buf()))?,
        None => builder
            .tempdir()
            .map_err(GitError::io("create a worktree in", std::env::temp_dir()))?,
    };
    let mut worktree = Worktree {
        dir,
        commit: commit.to_owned(),
        skipped_submodules: Vec::new(),
    };
    let root = worktree.dir.path().to_path_buf();
    // On error `worktree` drops here and the half-written directory goes with it.
    write_tree(
        repo,
        commit,
        tree,
        &root,
        "",
        &mut worktree.skipped_submodules,
    )?;
    Ok(worktree)
}

const MODE_TREE: i32 = 0o040_000;
const MODE_LINK: i32 = 0o120_000;
const MODE_COMMIT: i32 = 0o160_000;
const MODE_EXEC: i32 = 0o100_755;

fn write_tree(
    repo: &Repository,
    commit: &str,
    tree: &Tree<'_>,
    dir: &Path,
    prefix: &str,
    skipped: &mut Vec<String>,
) -> Result<(), GitError> {
    for entry in tree {
        let name = String::from_utf8_lossy(entry.name_bytes()).into_owned();
        let rel = format!("{prefix}{name}");
        if !is_safe_component(entry.name_bytes()) {
            return Err(GitError::UnsafeTreeEntry {
                commit: commit.to_owned(),
                path: rel,
            });
        }
        let target = dir.join(os_name(entry.name_bytes()));
        match entry.filemode() {
            MODE_TREE => {
                // `create_dir`, not `create_dir_all`: it fails on anything
                // already there, so two entries that collide on a
                // case-insensitive file system cannot redirect writes through
                // a symlink.
                fs::create_dir(&target)
                    .map_err(GitError::io("create directory", target.clone()))?;
                let sub = entry
                    .to_object(repo)
                    .and_then(|o| o.peel_to_tree())
                    .map_err(GitError::git("read a tree"))?;
                write_tree(repo, commit, &sub, &target, &format!("{rel}/"), skipped)?;
            }
            MODE_COMMIT => {
                fs::create_dir(&target)
                    .map_err(GitError::io("create directory", target.clone()))?;
                skipped.push(rel);
            }
            mode => {
                if entry.kind() != Some(ObjectType::Blob) {
                    return Err(GitError::UnsafeTreeEntry {
                        commit: commit.to_owned(),
                        path: rel,
                    });
                }
                let blob = repo
                    .find_blob(entry.id())
                    .map_err(GitError::git("read a blob"))?;
                if mode == MODE_LINK {
                    write_symlink(blob.content(), &target)?;
                } else {
                    write_file(blob.content(), mode == MODE_EXEC, &target)?;
                }
            }
        }
    }
    Ok(())
}

/// Rejects names git itself refuses to check out: they could escape the
/// directory or plant a `.git` inside it.
fn is_safe_component(name: &[u8]) -> bool {
    !name.is_empty()
        && name != b"."
        && name != b".."
        && !name.eq_ignore_ascii_case(b".git")
        && !name.contains(&b'/')
        && !name.contains(&0)
        && !(cfg!(windows) && name.contains(&b'\\'))
}

#[cfg(unix)]
fn os_name(name: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(name)
}

#[cfg(not(unix))]
fn os_name(name: &[u8]) -> std::ffi::OsString {
    String::from_utf8_lossy(name).into_owned().into()
}

fn write_file(content: &[u8], executable: bool, target: &Path) -> Result<(), GitError> {
    let mut options = OpenOptions::new();
    // `create_new` refuses existing paths, symlinks included, for the same
    // reason as `create_dir` above.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Like git: 0755 or 0644, less what the umask takes away.
        options.mode(if executable { 0o777 } else { 0o666 });
    }
    #[cfg(not(unix))]
    let _ = executable;
    let mut file = options
        .open(target)
        .map_err(GitError::io("create file", target.to_path_buf()))?;
    file.write_all(content)
        .map_err(GitError::io("write file", target.to_path_buf()))
}

#[cfg(unix)]
fn write_symlink(link_target: &[u8], target: &Path) -> Result<(), GitError> {
    std::os::unix::fs::symlink(os_name(link_target), target)
        .map_err(GitError::io("create symlink", target.to_path_buf()))
}

/// Where symlinks are not available, git writes the link target as a plain
/// file (`core.symlinks = false`); do the same.
#[cfg(not(unix))]
fn write_symlink(link_target: &[u8], target: &Path) -> Result<(), GitError> {
    write_file(link_target, false, target)
}
