mod change;
mod commit;
mod export;
mod fetch;
mod https;
mod metadata;
mod push;
mod repo;
mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use selfheal_git::{Repo, Signature};

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

/// Everything about the user's checkout that a repair must leave alone.
#[derive(Debug, PartialEq, Eq)]
pub struct UserState {
    index: Vec<u8>,
    head: Vec<u8>,
    config: Vec<u8>,
    status: String,
    refs: String,
    shallow: Option<Vec<u8>>,
    files: BTreeMap<String, Node>,
}

pub fn user_state(root: &Path) -> Result<UserState> {
    // Read the index before `git status` runs, though with optional locks off
    // it does not rewrite it anyway.
    let index = std::fs::read(root.join(".git/index"))?;
    let refs = git(root, &["for-each-ref", "--format=%(refname) %(objectname)"])?
        .lines()
        .filter(|l| !l.starts_with("refs/heads/selfheal/"))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(UserState {
        index,
        head: std::fs::read(root.join(".git/HEAD"))?,
        config: std::fs::read(root.join(".git/config"))?,
        status: git(
            root,
            &[
                "status",
                "--porcelain=v2",
                "--branch",
                "--untracked-files=all",
            ],
        )?,
        refs,
        shallow: std::fs::read(root.join(".git/shallow")).ok(),
        files: snapshot(root, true)?,
    })
}

/// The sample repository with the user mid-work on another branch: a staged
/// change, an unstaged change on top of it, a staged new file, an unstaged
/// edit and an untracked file.
pub fn busy_user(tmp: &Path) -> Result<PathBuf> {
    let root = sample_repo(tmp)?;
    git(&root, &["checkout", "-q", "-b", "feature"])?;
    write(&root, "feature.txt", "feature work\n")?;
    git(&root, &["add", "feature.txt"])?;
    git(&root, &["commit", "-q", "-m", "feature"])?;
    write(
        &root,
        "src/calc.py",
        "def add(a, b):\n    return a + b  # staged\n",
    )?;
    write(&root, "staged_new.py", "NEW = True\n")?;
    git(&root, &["add", "src/calc.py", "staged_new.py"])?;
    write(
        &root,
        "src/calc.py",
        "def add(a, b):\n    return b + a  # unstaged\n",
    )?;
    write(&root, "README.md", "# sample, edited\n")?;
    write(&root, "notes/untracked.txt", "scratch\n")?;
    Ok(root)
}

pub const FIXED: &str = "def add(a, b):\n    return a + b\n";

/// Export `main`, edit, delete, add (with modes), and commit the fix.
pub fn make_fix(repo: &Repo, branch: &str, message: &str) -> Result<(String, String)> {
    let base = repo.resolve_commit("main")?;
    let worktree = repo.export_tree(&base, None)?;
    let wt = worktree.path();
    write(wt, "src/calc.py", FIXED)?;
    std::fs::remove_file(wt.join("docs/only.txt"))?;
    write(
        wt,
        "tests/test_more.py",
        "def test_more():\n    assert True\n",
    )?;
    write(wt, "scripts/ci.sh", "#!/bin/sh\npytest\n")?;
    set_executable(&wt.join("scripts/ci.sh"), true)?;
    std::os::unix::fs::symlink("tests/test_more.py", wt.join("more-link.py"))?;
    let files: Vec<String> = [
        "src/calc.py",
        "docs/only.txt",
        "tests/test_more.py",
        "scripts/ci.sh",
        "more-link.py",
        "src/calc.py",
    ]
    .map(str::to_owned)
    .to_vec();
    let sha = repo.commit_fix(&worktree, &base, &files, branch, message, &author())?;
    Ok((base, sha))
}

/// An empty bare repository `name` under `dir`, as a push target.
pub fn bare(dir: &Path, name: &str) -> Result<PathBuf> {
    git(dir, &["init", "-q", "--bare", name])?;
    Ok(dir.join(name))
}

/// The full sha `rev` resolves to in `dir`, or `None`.
pub fn rev(dir: &Path, rev: &str) -> Option<String> {
    git(
        dir,
        &["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")],
    )
    .ok()
    .map(|s| s.trim().to_owned())
}

/// `refname sha` lines for every ref in `dir`.
pub fn refs(dir: &Path) -> Result<String> {
    git(dir, &["for-each-ref", "--format=%(refname) %(objectname)"])
}

/// `file://` URL of a local path.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            let meta = std::fs::symlink_metadata(&path)?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file()
                && std::fs::read(&path)?
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    Ok(found)
}

/// The repository a CI job clones from, with commits that a shallow or
/// single-branch clone of `main` lacks.
pub struct Upstream {
    pub root: PathBuf,
    /// `main~1`: an older commit of the default branch.
    pub older: String,
    /// `main`.
    pub main: String,
    /// The tip of `feature`, on no other branch.
    pub feature: String,
}

/// `upstream` under `dir`: `main` with three commits, `feature` off its
/// first one. Each commit has its own marker file so exports can be told apart.
pub fn upstream(dir: &Path) -> Result<Upstream> {
    let root = sample_repo(dir)?;
    write(&root, "marker.txt", "older\n")?;
    git(&root, &["add", "marker.txt"])?;
    git(&root, &["commit", "-q", "-m", "older"])?;
    let older = rev(&root, "HEAD").ok_or_else(|| anyhow::anyhow!("no HEAD"))?;
    git(&root, &["checkout", "-q", "-b", "feature"])?;
    write(&root, "marker.txt", "feature\n")?;
    git(&root, &["commit", "-q", "-am", "feature"])?;
    let feature = rev(&root, "HEAD").ok_or_else(|| anyhow::anyhow!("no HEAD"))?;
    git(&root, &["checkout", "-q", "main"])?;
    write(&root, "marker.txt", "main\n")?;
    git(&root, &["commit", "-q", "-am", "main"])?;
    let main = rev(&root, "HEAD").ok_or_else(|| anyhow::anyhow!("no HEAD"))?;
    Ok(Upstream {
        root,
        older,
        main,
        feature,
    })
}
