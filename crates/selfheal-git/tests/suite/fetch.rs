//! Getting the failing commit into clones that lack it, from remotes on this
//! machine; the HTTPS variants are in `https.rs`.

use std::path::{Path, PathBuf};

use selfheal_git::{Credentials, GitError, Repo, github_slug};

use super::{
    Result, author, bare, file_url, git, refs, rev, sample_repo, upstream, user_state, write,
};

fn anon() -> Credentials {
    Credentials::anonymous()
}

/// Clones `upstream`'s `main` into `dir/name` with extra `git clone` flags.
fn clone(url: &str, dir: &Path, name: &str, flags: &[&str]) -> Result<PathBuf> {
    let mut args = vec!["clone", "-q", "--branch", "main"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[url, name]);
    git(dir, &args)?;
    Ok(dir.join(name))
}

/// Commits a one-line fix of `src/calc.py` on `base` as `branch`.
pub fn fix_on(repo: &Repo, base: &str, branch: &str) -> Result<String> {
    let worktree = repo.export_tree(base, None)?;
    write(worktree.path(), "src/calc.py", super::FIXED)?;
    Ok(repo.commit_fix(
        &worktree,
        base,
        &["src/calc.py".to_owned()],
        branch,
        "Fix add",
        &author(),
    )?)
}

fn marker(repo: &Repo, commit: &str) -> Result<String> {
    let worktree = repo.export_tree(commit, None)?;
    Ok(std::fs::read_to_string(worktree.path().join("marker.txt"))?)
}

/// Fetches each `(sha, marker)` into `root` and checks the export, that the
/// user's state did not change and that no temporary ref is left.
fn fetch_and_export(root: &Path, remote: &str, wanted: &[(&str, &str)]) -> Result<()> {
    // What `git merge FETCH_HEAD` would merge is the user's too.
    std::fs::write(root.join(".git/FETCH_HEAD"), "user's own fetch\n")?;
    let before = user_state(root)?;
    let refs_before = refs(root)?;
    let repo = Repo::discover(root)?;
    for (sha, expected) in wanted {
        assert!(
            repo.resolve_commit(sha).is_err(),
            "{sha} should be missing first"
        );
        assert_eq!(repo.ensure_commit(sha, remote, &anon())?, *sha);
        assert_eq!(marker(&repo, sha)?, *expected);
    }
    assert_eq!(user_state(root)?, before);
    assert_eq!(refs(root)?, refs_before);
    assert_eq!(
        std::fs::read_to_string(root.join(".git/FETCH_HEAD"))?,
        "user's own fetch\n"
    );
    // The repository is still consistent for git itself.
    git(root, &["fsck", "--no-dangling", "--connectivity-only"])?;
    Ok(())
}

#[test]
fn ensure_commit_returns_a_commit_already_present_without_a_remote() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let repo = Repo::discover(&root)?;
    let head = repo.head_commit()?;
    // No remote named `nowhere` exists: it is never contacted.
    assert_eq!(repo.ensure_commit(&head, "nowhere", &anon())?, head);
    assert_eq!(repo.ensure_commit(&head[..12], "nowhere", &anon())?, head);
    Ok(())
}

#[test]
fn ensure_commit_fetches_what_a_single_branch_clone_lacks() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = upstream(tmp.path())?;
    let root = clone(
        &file_url(&up.root),
        tmp.path(),
        "clone",
        &["--single-branch"],
    )?;
    fetch_and_export(&root, "origin", &[(&up.feature, "feature\n")])?;

    // By path too, rather than by the remote's name.
    let other = clone(
        &file_url(&up.root),
        tmp.path(),
        "clone2",
        &["--single-branch"],
    )?;
    fetch_and_export(
        &other,
        &up.root.to_string_lossy(),
        &[(&up.feature, "feature\n")],
    )?;
    Ok(())
}

#[test]
fn ensure_commit_fills_in_a_shallow_clone_and_export_sees_its_files() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = upstream(tmp.path())?;
    let root = clone(
        &file_url(&up.root),
        tmp.path(),
        "shallow",
        &["--depth", "1"],
    )?;
    let shallow = std::fs::read_to_string(root.join(".git/shallow"))?;
    assert_eq!(shallow.trim(), up.main);
    // An ancestor of the shallow tip (the default branch moved on since the
    // run) and a commit only on another branch (a pull request's head).
    fetch_and_export(
        &root,
        "origin",
        &[(&up.older, "older\n"), (&up.feature, "feature\n")],
    )?;
    // Still the same shallow clone for git: one commit deep on `main`.
    assert_eq!(std::fs::read_to_string(root.join(".git/shallow"))?, shallow);
    assert_eq!(git(&root, &["rev-list", "--count", "HEAD"])?.trim(), "1");

    // And the CI job's end: a fix on the fetched commit, pushed.
    let repo = Repo::discover(&root)?;
    let fix = fix_on(&repo, &up.older, "selfheal/1-older")?;
    let remote = bare(tmp.path(), "fixes.git")?;
    repo.push_branch(&remote.to_string_lossy(), "selfheal/1-older", None, &anon())?;
    assert_eq!(rev(&remote, "selfheal/1-older"), Some(fix));
    git(&remote, &["fsck", "--no-dangling", "--connectivity-only"])?;
    Ok(())
}

#[test]
fn a_commit_the_remote_does_not_have_is_reported_and_nothing_is_left() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = upstream(tmp.path())?;
    let root = clone(
        &file_url(&up.root),
        tmp.path(),
        "clone",
        &["--single-branch"],
    )?;
    let refs_before = refs(&root)?;
    let repo = Repo::discover(&root)?;
    let err = repo
        .ensure_commit(&up.feature[..10], "origin", &anon())
        .expect_err("abbreviations cannot be fetched");
    assert!(matches!(err, GitError::NotAFullSha { .. }), "{err:?}");

    let missing = "0123456789abcdef0123456789abcdef01234567";
    let err = repo
        .ensure_commit(missing, "origin", &anon())
        .expect_err("not on the remote");
    assert!(
        matches!(&err, GitError::CommitNotOnRemote { sha, remote }
            if sha == missing && remote == &file_url(&up.root)),
        "{err:?}"
    );
    assert_eq!(refs(&root)?, refs_before);

    let err = repo
        .ensure_commit(missing, "upstream", &anon())
        .expect_err("no such remote");
    assert!(matches!(err, GitError::RemoteNotFound { .. }), "{err:?}");
    Ok(())
}

#[test]
fn remote_url_hides_credentials_and_gives_the_slug() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    git(
        &root,
        &[
            "remote",
            "add",
            "origin",
            "https://x-access-token:ghs_secret@github.com/octo/hello.git",
        ],
    )?;
    git(
        &root,
        &["remote", "add", "fork", "git@ghe.example:me/hello.git"],
    )?;
    let repo = Repo::discover(&root)?;
    let url = repo.remote_url("origin")?;
    assert_eq!(url, "https://github.com/octo/hello.git");
    assert_eq!(github_slug(&url).as_deref(), Some("octo/hello"));
    assert_eq!(repo.remote_url("fork")?, "git@ghe.example:me/hello.git");
    assert!(matches!(
        repo.remote_url("nope"),
        Err(GitError::RemoteNotFound { .. })
    ));
    assert!(matches!(
        repo.remote_url("https://github.com/o/r"),
        Err(GitError::RemoteNotFound { .. })
    ));
    Ok(())
}
