//! The failing commit's `.git`, read-only, for builds that ask git for a version.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use selfheal_types::ValidationOutcome;
use selfheal_validate::{LocalSandbox, Sandbox, TestStep, ValidationPlan};

use super::{assert_no_container_left, sandbox, write};

/// A repository with one commit (made by the real `git`, as
/// `selfheal_git::Repo::write_shallow_metadata` would leave it): the tree,
/// its git directory moved out of it, and the commit's sha.
fn committed_project(dir: &Path) -> (PathBuf, PathBuf, String) {
    let tree = dir.join("tree");
    write(&tree, "README", "x\n");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(&tree)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "the failing commit"]);
    git(&["tag", "v1.2.3"]);
    let sha = git(&["rev-parse", "HEAD"]).trim().to_owned();
    let meta = dir.join("meta");
    std::fs::rename(tree.join(".git"), &meta).expect("move .git out");
    (tree, meta, sha)
}

/// Asks git for the commit, then tries to change the metadata three ways.
const PROBE: &str = "git rev-parse HEAD && git log --format=%s && git describe --tags \
    && { touch .git/x 2>/dev/null && echo wrote-a-file; \
    git tag other 2>/dev/null && echo made-a-tag; \
    rm -f .git/HEAD 2>/dev/null; test -e .git/HEAD || echo removed-head; echo end; }";

#[tokio::test]
async fn the_commits_git_metadata_is_there_and_read_only_in_the_container() {
    let case = "git-metadata";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (tree, meta, sha) = committed_project(dir.path());
    let plan = ValidationPlan::new(vec![TestStep::new("git", PROBE)], Duration::from_secs(60));
    let report = sandbox
        .with_git_metadata(&meta)
        .validate(&tree, &plan)
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    assert_eq!(
        report.steps[0].output_tail,
        format!("{sha}\nthe failing commit\nv1.2.3\nend\n")
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn local_the_commits_git_metadata_is_copied_read_only() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let (tree, meta, sha) = committed_project(dir.path());
    // Modes, not a write attempt: a test run as root writes through them.
    let plan = ValidationPlan::new(
        vec![TestStep::new(
            "git",
            "git rev-parse HEAD && stat -c '%a %n' .git .git/HEAD .git/refs",
        )],
        Duration::from_secs(60),
    );
    let report = LocalSandbox::new()
        .with_temp_parent(temp.path())
        .with_git_metadata(&meta)
        .validate(&tree, &plan)
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    assert_eq!(
        report.steps[0].output_tail,
        format!("{sha}\n555 .git\n444 .git/HEAD\n555 .git/refs\n")
    );
    let left: Vec<_> = std::fs::read_dir(temp.path()).expect("read_dir").collect();
    assert!(
        left.is_empty(),
        "the read-only copy was removed too: {left:?}"
    );
}
