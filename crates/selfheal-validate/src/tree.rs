//! Packs the project tree into the tar archive that is copied into the container.
//!
//! The tree is copied, never bind-mounted: whatever the tests do inside the
//! sandbox cannot reach the user's files. The archive is built in memory,
//! which is why its size is bounded.

use std::fs;
use std::path::{Path, PathBuf};

use crate::ValidateError;

/// Names skipped wherever they appear: version control, selfheal's own state,
/// caches and installed dependencies. None of them is source, and some are
/// huge; the tests must run from what the repository declares.
pub const SKIPPED_NAMES: &[&str] = &[".git", ".selfheal", "__pycache__", ".venv", "node_modules"];

/// Who owns the copied files inside the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub uid: u64,
    pub gid: u64,
}

/// What a walk of the tree found, in a stable order: parents before their
/// contents, names sorted.
#[derive(Debug)]
pub(crate) struct Found {
    /// Where it is on disk.
    pub path: PathBuf,
    /// `/`-separated, relative to the root.
    pub rel: String,
    pub meta: fs::Metadata,
}

/// Every directory, regular file and symbolic link under `root`, skipping
/// [`SKIPPED_NAMES`] wherever they appear, names that are not UTF-8, and
/// special files (sockets, pipes, devices). Links are listed, never followed.
/// Fails once the regular files add up to more than `limit` bytes.
/// Both the Docker upload and the local copy take the tree from here, so the
/// two sandboxes see the same files.
pub(crate) fn walk(root: &Path, limit: u64) -> Result<Vec<Found>, ValidateError> {
    let root_meta = fs::metadata(root).map_err(read_err(root))?;
    if !root_meta.is_dir() {
        return Err(ValidateError::ReadTree {
            path: root.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    let mut found = Vec::new();
    let mut total: u64 = 0;
    // Depth-first with a sorted listing, so the result is the same for the same tree.
    let mut pending: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel_dir)) = pending.pop() {
        let mut entries = fs::read_dir(&dir)
            .map_err(read_err(&dir))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_err(&dir))?;
        entries.sort_by_key(fs::DirEntry::file_name);
        let mut subdirs = Vec::new();
        for entry in entries {
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                // A name that is not UTF-8 cannot be part of a Python or Rust
                // project's sources that CI checks out; skipping beats failing.
                tracing::debug!(path = %entry.path().display(), "skipping a file whose name is not UTF-8");
                continue;
            };
            if SKIPPED_NAMES.contains(&file_name) {
                continue;
            }
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(read_err(&path))?;
            let rel = if rel_dir.is_empty() {
                file_name.to_owned()
            } else {
                format!("{rel_dir}/{file_name}")
            };
            let kind = meta.file_type();
            if kind.is_dir() {
                subdirs.push((path.clone(), rel.clone()));
            } else if kind.is_file() {
                total = total.saturating_add(meta.len());
                if total > limit {
                    return Err(ValidateError::TreeTooLarge {
                        path: root.to_path_buf(),
                        bytes: total,
                        limit,
                    });
                }
            } else if !kind.is_symlink() {
                tracing::debug!(path = %path.display(), "skipping a special file");
                continue;
            }
            found.push(Found { path, rel, meta });
        }
        // Reverse so that popping visits subdirectories in sorted order.
        pending.extend(subdirs.into_iter().rev());
    }
    Ok(found)
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> ValidateError {
    let path = path.to_path_buf();
    move |source| ValidateError::ReadTree { path, source }
}

/// Builds an uncompressed tar of `root` with every entry under `prefix/`,
/// keeping file modes and modification times and giving the files to `owner`.
/// Symbolic links are stored as links, not followed, so a link cannot pull a
/// file from outside the tree into the sandbox. What goes in is [`walk`]'s.
/// With `git`, that directory goes in as `prefix/.git`, read-only (see
/// [`append_read_only`]).
pub(crate) fn pack(
    root: &Path,
    prefix: &str,
    owner: Owner,
    limit: u64,
    git: Option<&Path>,
) -> Result<Vec<u8>, ValidateError> {
    let found = walk(root, limit)?;
    let root_meta = fs::metadata(root).map_err(read_err(root))?;
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_mtime(mtime(&root_meta));
    set_owner(&mut header, owner);
    header.set_size(0);
    builder
        .append_data(&mut header, format!("{prefix}/"), std::io::empty())
        .map_err(read_err(root))?;
    for Found { path, rel, meta } in &found {
        let in_tar = format!("{prefix}/{rel}");
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        set_owner(&mut header, owner);
        let kind = meta.file_type();
        if kind.is_dir() {
            header.set_size(0);
            builder
                .append_data(&mut header, format!("{in_tar}/"), std::io::empty())
                .map_err(read_err(path))?;
        } else if kind.is_file() {
            let file = fs::File::open(path).map_err(read_err(path))?;
            builder
                .append_data(&mut header, &in_tar, file)
                .map_err(read_err(path))?;
        } else {
            let target = fs::read_link(path).map_err(read_err(path))?;
            header.set_size(0);
            builder
                .append_link(&mut header, &in_tar, &target)
                .map_err(read_err(path))?;
        }
    }
    if let Some(git) = git {
        append_read_only(&mut builder, git, &format!("{prefix}/.git"), limit)?;
    }
    builder.into_inner().map_err(read_err(root))
}

/// Appends the directory `dir` as `in_tar`, owned by root, files 0444 and
/// directories 0555: the sandbox user can read it and write nothing in it.
/// Only directories and regular files are taken (a git directory has nothing else).
fn append_read_only(
    builder: &mut tar::Builder<Vec<u8>>,
    dir: &Path,
    in_tar: &str,
    limit: u64,
) -> Result<(), ValidateError> {
    let root = Owner { uid: 0, gid: 0 };
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o555);
    set_owner(&mut header, root);
    header.set_size(0);
    builder
        .append_data(&mut header, format!("{in_tar}/"), std::io::empty())
        .map_err(read_err(dir))?;
    for Found { path, rel, meta } in walk(dir, limit)? {
        let mut header = tar::Header::new_gnu();
        set_owner(&mut header, root);
        header.set_mtime(mtime(&meta));
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o555);
            header.set_size(0);
            builder
                .append_data(&mut header, format!("{in_tar}/{rel}/"), std::io::empty())
                .map_err(read_err(&path))?;
        } else if meta.is_file() {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o444);
            header.set_size(meta.len());
            let file = fs::File::open(&path).map_err(read_err(&path))?;
            builder
                .append_data(&mut header, format!("{in_tar}/{rel}"), file)
                .map_err(read_err(&path))?;
        }
    }
    Ok(())
}

/// Copies [`walk`]'s entries of `root` into the existing, empty directory
/// `dest`: regular files with their permission bits, links as links (never
/// followed), directories created as they come.
pub(crate) fn copy(root: &Path, dest: &Path, limit: u64) -> Result<(), ValidateError> {
    use std::os::unix::fs::PermissionsExt;
    let found = walk(root, limit)?;
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ValidateError::Local {
            action: "copy the project to",
            path,
            source,
        }
    };
    for Found { path, rel, meta } in &found {
        let to = dest.join(rel);
        let kind = meta.file_type();
        if kind.is_dir() {
            fs::create_dir(&to).map_err(write_err(&to))?;
        } else if kind.is_file() {
            fs::copy(path, &to).map_err(write_err(&to))?;
            // The checkout's permission bits (an executable script stays
            // executable), without set-id bits, as the tar upload keeps them.
            let mode = meta.permissions().mode() & 0o777;
            fs::set_permissions(&to, fs::Permissions::from_mode(mode)).map_err(write_err(&to))?;
        } else {
            let target = fs::read_link(path).map_err(read_err(path))?;
            std::os::unix::fs::symlink(&target, &to).map_err(write_err(&to))?;
        }
    }
    Ok(())
}

fn set_owner(header: &mut tar::Header, owner: Owner) {
    header.set_uid(owner.uid);
    header.set_gid(owner.gid);
    // Numeric ids only: the image decides what the names are.
    let _ = header.set_username("");
    let _ = header.set_groupname("");
}

fn mtime(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const OWNER: Owner = Owner {
        uid: 1000,
        gid: 1000,
    };

    fn write(root: &Path, rel: &str, body: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        fs::write(path, body).expect("write");
    }

    /// path → (entry type, mode, uid, contents or link target)
    fn entries(tar_bytes: &[u8]) -> BTreeMap<String, (char, u32, u64, String)> {
        let mut archive = tar::Archive::new(tar_bytes);
        let mut out = BTreeMap::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let header = entry.header().clone();
            let kind = match header.entry_type() {
                tar::EntryType::Directory => 'd',
                tar::EntryType::Symlink => 'l',
                tar::EntryType::Regular => 'f',
                other => panic!("unexpected entry type {other:?}"),
            };
            let mut body = String::new();
            if kind == 'l' {
                body = entry
                    .link_name()
                    .expect("link")
                    .expect("target")
                    .to_string_lossy()
                    .into_owned();
            } else {
                entry.read_to_string(&mut body).expect("read");
            }
            out.insert(
                path,
                (
                    kind,
                    header.mode().expect("mode") & 0o777,
                    header.uid().expect("uid"),
                    body,
                ),
            );
        }
        out
    }

    #[test]
    fn packs_sources_with_modes_and_skips_caches_and_vcs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "src/app.py", "x = 1\n");
        write(root, "run.sh", "#!/bin/sh\n");
        fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::set_permissions(root.join("src/app.py"), fs::Permissions::from_mode(0o640))
            .expect("chmod");
        write(root, ".git/HEAD", "ref: refs/heads/main\n");
        write(root, ".selfheal/results/r.json", "{}");
        write(root, "src/__pycache__/app.cpython-311.pyc", "junk");
        write(root, ".venv/bin/python", "junk");
        write(root, "web/node_modules/left-pad/index.js", "junk");
        std::os::unix::fs::symlink("src/app.py", root.join("link.py")).expect("symlink");

        let tar_bytes = pack(root, "work", OWNER, 1 << 20, None).expect("packs");
        let got = entries(&tar_bytes);
        let expected: BTreeMap<String, (char, u32, u64, String)> = [
            ("work/", ('d', 0o755, 1000, "")),
            ("work/link.py", ('l', 0o777, 1000, "src/app.py")),
            ("work/run.sh", ('f', 0o755, 1000, "#!/bin/sh\n")),
            ("work/src/", ('d', 0o755, 1000, "")),
            ("work/src/app.py", ('f', 0o640, 1000, "x = 1\n")),
            ("work/web/", ('d', 0o755, 1000, "")),
        ]
        .into_iter()
        .map(|(p, (k, m, u, b))| (p.to_owned(), (k, m, u, b.to_owned())))
        .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn git_metadata_goes_in_read_only_and_owned_by_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("tree");
        write(&root, "a.py", "x\n");
        write(&root, ".git/HEAD", "stale, skipped\n");
        let git = dir.path().join("meta");
        write(&git, "HEAD", "0123\n");
        write(&git, "objects/pack/p.pack", "PACK");
        let tar_bytes = pack(&root, "work", OWNER, 1 << 20, Some(&git)).expect("packs");
        let got: BTreeMap<String, (char, u32, u64, String)> = entries(&tar_bytes)
            .into_iter()
            .filter(|(p, _)| p.starts_with("work/.git"))
            .collect();
        let expected: BTreeMap<String, (char, u32, u64, String)> = [
            ("work/.git/", ('d', 0o555, 0, "")),
            ("work/.git/HEAD", ('f', 0o444, 0, "0123\n")),
            ("work/.git/objects/", ('d', 0o555, 0, "")),
            ("work/.git/objects/pack/", ('d', 0o555, 0, "")),
            ("work/.git/objects/pack/p.pack", ('f', 0o444, 0, "PACK")),
        ]
        .into_iter()
        .map(|(p, (k, m, u, b))| (p.to_owned(), (k, m, u, b.to_owned())))
        .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_tree_over_the_limit_is_refused_with_its_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.txt", &"a".repeat(600));
        write(dir.path(), "b.txt", &"b".repeat(600));
        let err = pack(dir.path(), "work", OWNER, 1000, None).expect_err("too large");
        assert!(
            matches!(
                err,
                ValidateError::TreeTooLarge {
                    bytes: 1200,
                    limit: 1000,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("hint:"), "{err}");
    }

    #[test]
    fn a_missing_tree_is_a_read_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = pack(&missing, "work", OWNER, 1000, None).expect_err("missing");
        assert!(
            matches!(&err, ValidateError::ReadTree { path, .. } if *path == missing),
            "{err:?}"
        );
    }
}
