mod commit;
mod export;
mod repo;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use selfheal_git::Signature;

pub use anyhow::Result;

/// Runs `git` in `dir` with no user or system config, a fixed identity and
/// no optional locks (so `git status` never rewrites the index behind our
/// back). The environment is set on the child only.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = git_cmd(dir, args).output()?;
    if !out.status.success() {
        return Err(anyhow::anyhow!(
            "git {args:?} in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8(out.stdout)?)
}

pub fn git_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z");
    cmd
}

pub fn write(root: &Path, rel: &str, content: &str) -> Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, content)?;
    Ok(())
}

#[cfg(unix)]
pub fn set_executable(path: &Path, executable: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// A repository with one commit on `main`: nested files, an executable
/// script, a symlink, a binary file, an awkward name and a submodule entry.
pub fn sample_repo(dir: &Path) -> Result<PathBuf> {
    let root = dir.join("project");
    std::fs::create_dir_all(&root)?;
    git(&root, &["init", "-q", "-b", "main"])?;
    write(&root, "README.md", "# sample\n")?;
    write(&root, "src/calc.py", "def add(a, b):\n    return a - b\n")?;
    write(&root, "src/deep/er/mod.py", "X = 1\n")?;
    write(
        &root,
        "tests/test_calc.py",
        "from src.calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n",
    )?;
    write(&root, "docs/only.txt", "the only file in docs\n")?;
    write(&root, "name with spaces ü.txt", "odd name\n")?;
    write(&root, "run.sh", "#!/bin/sh\necho hi\n")?;
    set_executable(&root.join("run.sh"), true)?;
    std::os::unix::fs::symlink("src/calc.py", root.join("calc-link.py"))?;
    std::fs::write(root.join("blob.bin"), [0u8, 159, 146, 150, 255, 0, 10])?;
    git(&root, &["add", "-A"])?;
    // A gitlink: a submodule pointing at some commit of another repository.
    git(
        &root,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            "160000,1111111111111111111111111111111111111111,vendor/lib",
        ],
    )?;
    git(&root, &["commit", "-q", "-m", "initial"])?;
    Ok(root)
}

pub fn author() -> Signature {
    Signature {
        name: "selfheal bot".into(),
        email: "selfheal@example.com".into(),
    }
}

/// What a directory holds, for whole-tree comparisons: relative path →
/// file content and executable bit, symlink target, or directory.
#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    File { content: Vec<u8>, executable: bool },
    Link(PathBuf),
    Dir,
}

pub fn snapshot(root: &Path, skip_git: bool) -> Result<BTreeMap<String, Node>> {
    let mut out = BTreeMap::new();
    walk(root, root, skip_git, &mut out)?;
    Ok(out)
}

fn walk(root: &Path, dir: &Path, skip_git: bool, out: &mut BTreeMap<String, Node>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if skip_git && entry.file_name() == ".git" {
            continue;
        }
        let rel = path.strip_prefix(root)?.to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            out.insert(rel, Node::Link(std::fs::read_link(&path)?));
        } else if meta.is_dir() {
            out.insert(rel, Node::Dir);
            walk(root, &path, skip_git, out)?;
        } else {
            out.insert(
                rel,
                Node::File {
                    content: std::fs::read(&path)?,
                    executable: meta.permissions().mode() & 0o111 != 0,
                },
            );
        }
    }
    Ok(())
}
