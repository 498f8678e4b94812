//! Pushing the fix branch to remotes on this machine (libgit2's local
//! transport); HTTPS pushes are in `https.rs`.

use std::path::{Path, PathBuf};

use selfheal_git::{Credentials, GitError, PushOutcome, Repo, fix_branch_name};

use super::{Result, bare, busy_user, file_url, git, make_fix, refs, rev, user_state};

struct Setup {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    remote: PathBuf,
    repo: Repo,
    branch: String,
    base: String,
    fix: String,
}

/// A busy user's checkout with a fix branch, and an empty bare remote.
fn setup() -> Result<Setup> {
    let tmp = tempfile::tempdir()?;
    let root = busy_user(tmp.path())?;
    let repo = Repo::discover(&root)?;
    let branch = fix_branch_name("selfheal", "77", "c0ffee00");
    let (base, fix) = make_fix(&repo, &branch, "Fix add")?;
    let remote = bare(tmp.path(), "remote.git")?;
    Ok(Setup {
        _tmp: tmp,
        root,
        remote,
        repo,
        branch,
        base,
        fix,
    })
}

fn anon() -> Credentials {
    Credentials::anonymous()
}

fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Pushes to `target`, checking that the branch lands and that nothing in
/// the user's checkout or repository changes.
fn push_creates_branch(s: &Setup, target: &str) -> Result<()> {
    let before = user_state(&s.root)?;
    let refs_before = refs(&s.root)?;
    let outcome = s.repo.push_branch(target, &s.branch, None, &anon())?;
    assert_eq!(outcome, PushOutcome::Created);
    assert_eq!(rev(&s.remote, &s.branch), Some(s.fix.clone()));
    // The pushed commit is complete on the remote.
    git(&s.remote, &["fsck", "--no-dangling", "--connectivity-only"])?;
    assert_eq!(user_state(&s.root)?, before);
    // No remote-tracking ref, no refs/selfheal leftovers, no moved branch.
    assert_eq!(refs(&s.root)?, refs_before);
    assert!(!s.root.join(".git/FETCH_HEAD").exists());
    Ok(())
}

#[test]
fn push_by_path_creates_the_branch_and_leaves_the_checkout_alone() -> Result<()> {
    let s = setup()?;
    push_creates_branch(&s, &path_str(&s.remote))
}

#[test]
fn push_by_file_url_creates_the_branch_and_leaves_the_checkout_alone() -> Result<()> {
    let s = setup()?;
    push_creates_branch(&s, &file_url(&s.remote))
}

#[test]
fn push_by_remote_name_uses_its_url_and_saves_nothing() -> Result<()> {
    let s = setup()?;
    git(&s.root, &["remote", "add", "origin", &file_url(&s.remote)])?;
    // A push URL wins over the fetch URL, as in git.
    let elsewhere = bare(s.root.parent().unwrap_or(&s.root), "fetch-only.git")?;
    git(
        &s.root,
        &["remote", "set-url", "origin", &path_str(&elsewhere)],
    )?;
    git(
        &s.root,
        &[
            "remote",
            "set-url",
            "--push",
            "origin",
            &path_str(&s.remote),
        ],
    )?;
    push_creates_branch(&s, "origin")?;
    assert_eq!(rev(&elsewhere, &s.branch), None);
    Ok(())
}

#[test]
fn push_refuses_a_branch_that_already_exists_on_the_remote() -> Result<()> {
    let s = setup()?;
    let remote = path_str(&s.remote);
    git(
        &s.root,
        &[
            "push",
            "-q",
            &remote,
            &format!("main:refs/heads/{}", s.branch),
        ],
    )?;
    let remote_refs = refs(&s.remote)?;
    let err = s
        .repo
        .push_branch(&remote, &s.branch, None, &anon())
        .expect_err("the branch exists");
    assert!(
        matches!(&err, GitError::RemoteBranchExists { branch, sha, .. }
            if branch == &s.branch && sha == &s.base),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "branch `{}` already exists on {remote} at {}",
            s.branch, s.base
        )),
        "{err}"
    );
    assert_eq!(refs(&s.remote)?, remote_refs);
    Ok(())
}

#[test]
fn push_fast_forwards_from_the_expected_head() -> Result<()> {
    let s = setup()?;
    let remote = file_url(&s.remote);
    git(
        &s.root,
        &[
            "push",
            "-q",
            &remote,
            &format!("main:refs/heads/{}", s.branch),
        ],
    )?;
    let before = user_state(&s.root)?;
    let outcome = s
        .repo
        .push_branch(&remote, &s.branch, Some(&s.base), &anon())?;
    assert_eq!(outcome, PushOutcome::FastForwarded);
    assert_eq!(rev(&s.remote, &s.branch), Some(s.fix.clone()));
    assert_eq!(user_state(&s.root)?, before);

    // Pushing again from the new head changes nothing and still succeeds.
    let outcome = s
        .repo
        .push_branch(&remote, &s.branch, Some(&s.fix), &anon())?;
    assert_eq!(outcome, PushOutcome::FastForwarded);
    assert_eq!(rev(&s.remote, &s.branch), Some(s.fix.clone()));
    Ok(())
}

#[test]
fn push_branch_to_adds_the_fix_to_another_branch_when_it_fast_forwards() -> Result<()> {
    let s = setup()?;
    let remote = file_url(&s.remote);
    // An open pull request's branch, still at the failing commit.
    git(
        &s.root,
        &["push", "-q", &remote, "main:refs/heads/feature-pr"],
    )?;
    let before = user_state(&s.root)?;
    let outcome =
        s.repo
            .push_branch_to(&remote, &s.branch, "feature-pr", Some(&s.base), &anon())?;
    assert_eq!(outcome, PushOutcome::FastForwarded);
    assert_eq!(rev(&s.remote, "feature-pr"), Some(s.fix.clone()));
    assert_eq!(
        rev(&s.remote, &s.branch),
        None,
        "only the named branch moved"
    );
    assert_eq!(user_state(&s.root)?, before);
    Ok(())
}

#[test]
fn push_refuses_a_non_fast_forward() -> Result<()> {
    let s = setup()?;
    let remote = path_str(&s.remote);
    // The remote branch is at `feature`, which the fix does not build on.
    let feature = rev(&s.root, "feature").ok_or_else(|| anyhow::anyhow!("no feature"))?;
    git(
        &s.root,
        &[
            "push",
            "-q",
            &remote,
            &format!("feature:refs/heads/{}", s.branch),
        ],
    )?;
    let remote_refs = refs(&s.remote)?;
    let err = s
        .repo
        .push_branch(&remote, &s.branch, Some(&feature), &anon())
        .expect_err("not a fast-forward");
    assert!(
        matches!(&err, GitError::NotFastForward { remote_head, .. } if remote_head == &feature),
        "{err:?}"
    );
    assert_eq!(refs(&s.remote)?, remote_refs);
    Ok(())
}

#[test]
fn push_refuses_when_the_remote_branch_moved_or_vanished() -> Result<()> {
    let s = setup()?;
    let remote = path_str(&s.remote);
    let feature = rev(&s.root, "feature").ok_or_else(|| anyhow::anyhow!("no feature"))?;
    git(
        &s.root,
        &[
            "push",
            "-q",
            &remote,
            &format!("feature:refs/heads/{}", s.branch),
        ],
    )?;
    let remote_refs = refs(&s.remote)?;
    // The caller believes the remote is at `main`, from which the fix
    // would fast-forward; the remote has moved to `feature` since.
    let err = s
        .repo
        .push_branch(&remote, &s.branch, Some(&s.base), &anon())
        .expect_err("moved");
    assert!(
        matches!(&err, GitError::RemoteBranchMoved { expected, found, .. }
            if expected == &s.base && found.as_deref() == Some(feature.as_str())),
        "{err:?}"
    );
    assert_eq!(refs(&s.remote)?, remote_refs);

    git(
        &s.remote,
        &["update-ref", "-d", &format!("refs/heads/{}", s.branch)],
    )?;
    let err = s
        .repo
        .push_branch(&remote, &s.branch, Some(&s.base), &anon())
        .expect_err("gone");
    assert!(
        matches!(&err, GitError::RemoteBranchMoved { found: None, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("is gone"), "{err}");
    assert_eq!(rev(&s.remote, &s.branch), None);
    Ok(())
}

#[test]
fn push_needs_an_existing_branch_and_a_known_remote() -> Result<()> {
    let s = setup()?;
    let err = s
        .repo
        .push_branch(&path_str(&s.remote), "selfheal/nope", None, &anon())
        .expect_err("no such branch");
    assert!(matches!(err, GitError::BranchNotFound { .. }), "{err:?}");
    let err = s
        .repo
        .push_branch("upstream", &s.branch, None, &anon())
        .expect_err("no such remote");
    assert!(matches!(err, GitError::RemoteNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("hint:"), "{err}");
    let err = s
        .repo
        .push_branch(&path_str(&s.remote), &s.branch, Some("0123456"), &anon())
        .expect_err("unknown expected head");
    assert!(matches!(err, GitError::CommitNotFound { .. }), "{err:?}");
    assert_eq!(rev(&s.remote, &s.branch), None);
    Ok(())
}

#[test]
fn remote_branch_head_reads_the_remote_like_ls_remote() -> Result<()> {
    let s = setup()?;
    let remote = file_url(&s.remote);
    assert_eq!(
        s.repo.remote_branch_head(&remote, &s.branch, &anon())?,
        None
    );
    s.repo.push_branch(&remote, &s.branch, None, &anon())?;
    assert_eq!(
        s.repo.remote_branch_head(&remote, &s.branch, &anon())?,
        Some(s.fix.clone())
    );
    // Only the exact branch: a tag or a longer name with the same tail is not it.
    git(&s.remote, &["tag", "selfheal/77", &s.base])?;
    assert_eq!(
        s.repo.remote_branch_head(&remote, "selfheal/77", &anon())?,
        None
    );
    assert!(matches!(
        s.repo.remote_branch_head(&remote, "-bad", &anon()),
        Err(GitError::InvalidBranchName { .. })
    ));
    Ok(())
}

#[test]
fn is_ancestor_follows_history() -> Result<()> {
    let s = setup()?;
    assert!(s.repo.is_ancestor(&s.base, &s.fix)?);
    assert!(s.repo.is_ancestor(&s.fix, &s.fix)?);
    assert!(!s.repo.is_ancestor(&s.fix, &s.base)?);
    assert!(!s.repo.is_ancestor("feature", &s.fix)?);
    assert!(s.repo.is_ancestor("main", "feature")?);
    assert!(matches!(
        s.repo
            .is_ancestor("0123456789abcdef0123456789abcdef01234567", &s.fix),
        Err(GitError::CommitNotFound { .. })
    ));
    Ok(())
}

#[test]
fn ssh_remotes_need_a_token_and_then_go_over_https() -> Result<()> {
    let s = setup()?;
    git(
        &s.root,
        &["remote", "add", "gh", "git@127.0.0.1:o/remote.git"],
    )?;
    let config = std::fs::read(s.root.join(".git/config"))?;
    let err = s
        .repo
        .push_branch("gh", &s.branch, None, &anon())
        .expect_err("no ssh here");
    assert!(
        matches!(&err, GitError::SshUnsupported { remote } if remote == "git@127.0.0.1:o/remote.git"),
        "{err:?}"
    );
    // With a token the same repository is reached over https; nothing
    // listens on this machine's port 443, so the connection is refused.
    let err = s
        .repo
        .push_branch("gh", &s.branch, None, &Credentials::with_token("t0ken"))
        .expect_err("nothing listens there");
    assert!(
        matches!(&err, GitError::Remote { remote, .. } if remote == "https://127.0.0.1/o/remote.git"),
        "{err:?}"
    );
    assert!(err.is_retryable(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("t0ken"));
    assert_eq!(std::fs::read(s.root.join(".git/config"))?, config);
    Ok(())
}

/// A server that accepts connections and never answers: libgit2 would wait
/// for it forever. Each accepted socket is kept open until the test ends.
fn silent_server() -> Result<(String, std::sync::mpsc::Sender<()>)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/acme/shop.git", listener.local_addr()?);
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    listener.set_nonblocking(true)?;
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while stopped.try_recv() == Err(std::sync::mpsc::TryRecvError::Empty) {
            if let Ok((socket, _)) = listener.accept() {
                held.push(socket);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    Ok((url, stop))
}

#[test]
fn a_remote_that_never_answers_is_given_up_after_the_network_timeout() -> Result<()> {
    let s = setup()?;
    let repo = Repo::discover(&s.root)?.with_network_timeout(std::time::Duration::from_secs(2));
    let (url, _stop) = silent_server()?;
    let before = user_state(&s.root)?;

    let started = std::time::Instant::now();
    let err = repo
        .push_branch(&url, &s.branch, None, &anon())
        .expect_err("no answer, no push");
    let took = started.elapsed();
    assert!(
        matches!(
            &err,
            GitError::RemoteTimeout {
                op: "push to",
                secs: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        !err.is_retryable(),
        "the abandoned push may still be running"
    );
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("could not push to {url}: no answer within 2s\n")),
        "{shown}"
    );

    let err = repo
        .remote_branch_head(&url, &s.branch, &anon())
        .expect_err("no answer, no listing");
    assert!(
        matches!(
            &err,
            GitError::RemoteTimeout {
                op: "list the branches of",
                ..
            }
        ),
        "{err:?}"
    );
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let err = repo
        .ensure_commit(missing, &url, &anon())
        .expect_err("no answer, no fetch");
    assert!(
        matches!(
            &err,
            GitError::RemoteTimeout {
                op: "fetch from",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(user_state(&s.root)?, before, "the checkout is as it was");
    Ok(())
}
