//! `Repo::write_shallow_metadata`: a `.git` that knows one commit, read by the real `git`.

use selfheal_git::{GitError, Repo};

use super::{Result, git, sample_repo, write};

#[test]
fn the_metadata_knows_the_commit_its_tags_and_nothing_older() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let first = git(&root, &["rev-parse", "HEAD"])?.trim().to_owned();
    git(&root, &["tag", "v0.9"])?;
    write(&root, "src/calc.py", "def add(a, b):\n    return a + b\n")?;
    git(&root, &["commit", "-q", "-am", "fix add"])?;
    let second = git(&root, &["rev-parse", "HEAD"])?.trim().to_owned();
    git(&root, &["tag", "v1.0"])?;
    git(&root, &["tag", "-a", "-m", "release", "v1.0.1"])?;
    git(&root, &["branch", "other"])?;
    let before = git(&root, &["status", "--porcelain"])?;

    let repo = Repo::discover(&root)?;
    let worktree = repo.export_tree("v1.0", None)?;
    let dot_git = worktree.path().join(".git");
    assert_eq!(repo.write_shallow_metadata("HEAD", &dot_git)?, second);

    let wt = worktree.path();
    assert_eq!(git(wt, &["rev-parse", "HEAD"])?.trim(), second);
    assert_eq!(
        git(wt, &["log", "--format=%H %s"])?,
        format!("{second} fix add\n")
    );
    assert_eq!(git(wt, &["describe", "--tags"])?.trim(), "v1.0.1");
    assert_eq!(git(wt, &["tag", "--list"])?, "v1.0\nv1.0.1\n");
    // Detached, no branch at all (git words it "no branch" without a reflog of the checkout).
    assert_eq!(git(wt, &["branch", "--list"])?, "* (no branch)\n");
    assert_eq!(git(wt, &["remote"])?, "");
    assert_eq!(
        git(wt, &["rev-parse", "--is-shallow-repository"])?.trim(),
        "true"
    );
    // The export plus this index read as a clean checkout.
    assert_eq!(git(wt, &["status", "--porcelain"])?, "");
    assert_eq!(
        git(wt, &["show", "HEAD:src/calc.py"])?,
        "def add(a, b):\n    return a + b\n"
    );
    assert!(
        git(wt, &["cat-file", "-e", &first]).is_err(),
        "the parent commit must not be there"
    );
    assert!(git(wt, &["fsck", "--no-dangling"]).is_ok());

    // The user's repository is as it was.
    assert_eq!(git(&root, &["status", "--porcelain"])?, before);
    assert_eq!(git(&root, &["rev-parse", "HEAD"])?.trim(), second);
    Ok(())
}

#[test]
fn an_existing_destination_or_unknown_commit_is_refused_and_nothing_is_left() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let repo = Repo::discover(&root)?;
    let taken = tmp.path().join("taken");
    std::fs::create_dir(&taken)?;
    let err = repo
        .write_shallow_metadata("HEAD", &taken)
        .expect_err("exists");
    assert!(matches!(err, GitError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("already exists"), "{err}");

    let fresh = tmp.path().join("fresh");
    let err = repo
        .write_shallow_metadata("0123456789abcdef0123456789abcdef01234567", &fresh)
        .expect_err("unknown");
    assert!(matches!(err, GitError::CommitNotFound { .. }), "{err:?}");
    assert!(!fresh.exists());
    Ok(())
}
