//! Git, through the `git` command a user would type, and snapshots of a
//! checkout for "nothing changed" assertions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn command(repo: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        // Never let a stat refresh rewrite .git/index: the snapshot compares
        // its bytes, and the test must not be what changed it.
        .arg("--no-optional-locks")
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs")
}

/// Runs git in `repo` and returns its trimmed stdout; panics when it fails.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = command(repo, args);
    assert!(
        out.status.success(),
        "git {} failed in {}: {}",
        args.join(" "),
        repo.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

/// A file as committed (`git show REV:PATH`), byte for byte.
pub fn show(repo: &Path, rev: &str, file: &str) -> String {
    let spec = format!("{rev}:{file}");
    let out = command(repo, &["show", &spec]);
    assert!(
        out.status.success(),
        "git show {spec} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("a text file")
}

/// Whether git succeeds in `repo`.
pub fn git_ok(repo: &Path, args: &[&str]) -> bool {
    command(repo, args).status.success()
}

/// Local branch names, sorted.
pub fn branches(repo: &Path) -> Vec<String> {
    let out = git(
        repo,
        &["for-each-ref", "--format=%(refname:short)", "refs/heads/"],
    );
    let mut names: Vec<String> = out.lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// A file's content, kept as text where it is text so a failing comparison
/// prints something a person can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    Bytes(Vec<u8>),
}

/// Everything about a checkout that a repair must leave alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub head: String,
    /// `refs/heads/...`, or `detached`.
    pub current_branch: String,
    pub status: String,
    /// `.git/index`, byte for byte.
    pub index: Vec<u8>,
    /// Branch name → commit.
    pub branches: BTreeMap<String, String>,
    /// Every file outside `.git`, by path relative to the root.
    pub files: BTreeMap<PathBuf, Content>,
}

impl Snapshot {
    /// Takes a snapshot, leaving out paths under any of `ignore` (relative
    /// to the root), e.g. `.selfheal/results` where the run writes its record.
    pub fn take(repo: &Path, ignore: &[&str]) -> Snapshot {
        // Status first: even with --no-optional-locks, read the index after
        // anything that could touch it.
        let status = git(
            repo,
            &[
                "status",
                "--porcelain=v2",
                "--branch",
                "--untracked-files=all",
            ],
        );
        let head = git(repo, &["rev-parse", "HEAD"]);
        let current_branch = if git_ok(repo, &["symbolic-ref", "-q", "HEAD"]) {
            git(repo, &["symbolic-ref", "HEAD"])
        } else {
            "detached".to_owned()
        };
        let refs = git(
            repo,
            &[
                "for-each-ref",
                "--format=%(refname:short) %(objectname)",
                "refs/heads/",
            ],
        );
        let branches = refs
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(name, sha)| (name.to_owned(), sha.to_owned()))
            .collect();
        let index = std::fs::read(repo.join(".git/index")).unwrap_or_default();
        let mut files = BTreeMap::new();
        collect_files(repo, repo, ignore, &mut files);
        Snapshot {
            head,
            current_branch,
            status,
            index,
            branches,
            files,
        }
    }

    /// The same snapshot without the named branches: for comparing a
    /// checkout before a repair with after it, when the repair was supposed
    /// to add exactly those branches.
    pub fn without_branches(mut self, names: &[String]) -> Snapshot {
        for name in names {
            self.branches.remove(name);
        }
        self
    }
}

fn collect_files(root: &Path, dir: &Path, ignore: &[&str], files: &mut BTreeMap<PathBuf, Content>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("directory is readable")
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .expect("under the root")
            .to_path_buf();
        if rel == Path::new(".git") || ignore.iter().any(|i| rel.starts_with(i)) {
            continue;
        }
        let kind = entry.file_type().expect("file type is readable");
        if kind.is_dir() {
            collect_files(root, &path, ignore, files);
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&path).expect("link is readable");
            files.insert(
                rel,
                Content::Text(format!("symlink -> {}", target.display())),
            );
        } else {
            let bytes = std::fs::read(&path).expect("file is readable");
            let content = match String::from_utf8(bytes) {
                Ok(text) => Content::Text(text),
                Err(e) => Content::Bytes(e.into_bytes()),
            };
            files.insert(rel, content);
        }
    }
}
