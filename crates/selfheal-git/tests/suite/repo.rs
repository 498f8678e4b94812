use selfheal_git::{GitError, Repo};

use super::{Result, git, sample_repo};

#[test]
fn discover_finds_the_root_from_a_subdirectory() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let repo = Repo::discover(&root.join("src/deep"))?;
    assert_eq!(repo.root().canonicalize()?, root.canonicalize()?);
    Ok(())
}

#[test]
fn discover_rejects_bare_repositories_and_plain_folders() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let bare = tmp.path().join("bare.git");
    git(tmp.path(), &["init", "-q", "--bare", "bare.git"])?;
    let err = Repo::discover(&bare).expect_err("bare must be rejected");
    assert!(matches!(err, GitError::BareRepository { .. }), "{err:?}");
    assert!(err.to_string().contains("hint: selfheal needs a checkout"));

    let plain = tempfile::tempdir()?;
    let err = Repo::discover(plain.path()).expect_err("no repository there");
    assert!(matches!(err, GitError::NotARepository { .. }), "{err:?}");
    Ok(())
}

#[test]
fn head_and_revisions_resolve_to_full_shas() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    git(&root, &["tag", "v1"])?;
    let expected = git(&root, &["rev-parse", "HEAD"])?.trim().to_owned();
    let repo = Repo::discover(&root)?;
    assert_eq!(repo.head_commit()?, expected);
    assert_eq!(repo.resolve_commit("main")?, expected);
    assert_eq!(repo.resolve_commit("v1")?, expected);
    assert_eq!(repo.resolve_commit(&expected[..10])?, expected);
    Ok(())
}

#[test]
fn a_commit_missing_from_the_repository_says_to_fetch() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let repo = Repo::discover(&root)?;
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let err = repo.resolve_commit(missing).expect_err("not in the repo");
    assert!(
        matches!(&err, GitError::CommitNotFound { rev, .. } if rev == missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("hint: run `git fetch`"), "{err}");
    assert!(matches!(
        repo.export_tree(missing, None),
        Err(GitError::CommitNotFound { .. })
    ));
    Ok(())
}

#[test]
fn a_repository_without_commits_has_no_head_commit() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    git(tmp.path(), &["init", "-q", "-b", "main"])?;
    let repo = Repo::discover(tmp.path())?;
    assert!(matches!(
        repo.head_commit(),
        Err(GitError::NoCommits { .. })
    ));
    Ok(())
}

#[test]
fn repo_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Repo>();
}
