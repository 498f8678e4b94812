//! Pushing and fetching over HTTPS with a token, against `server::GitServer`.
//!
//! libgit2 verifies the server with OpenSSL, which reads `SSL_CERT_FILE`
//! once, when libgit2 initialises. A test cannot change that in its own
//! process, so each test runs twice: as the parent, which starts the server
//! and checks the results, and as a child copy of this test binary, started
//! with `SSL_CERT_FILE` naming the test CA, which makes the library calls.
//! The child is told its role and its inputs through its own environment.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use selfheal_git::{Credentials, GitError, PushOutcome, Repo, fix_branch_name};

use super::fetch::fix_on;
use super::server::{GitServer, Seen};
use super::{
    Result, bare, busy_user, file_url, files_containing, git, make_fix, refs, rev, upstream,
    user_state,
};

const TOKEN: &str = "ghs_testTOKEN0123456789abcdef";
const WRONG: &str = "ghs_wrongTOKEN9876543210fedcba";
const VAR_PREFIX: &str = "SELFHEAL_GIT_TEST_";

/// Whether this process is the child copy of a test.
fn in_child() -> bool {
    std::env::var_os(format!("{VAR_PREFIX}CHILD")).is_some()
}

/// An input the parent passed to the child.
fn input(name: &str) -> Result<String> {
    std::env::var(format!("{VAR_PREFIX}{name}"))
        .map_err(|e| anyhow::anyhow!("child input {name}: {e}"))
}

/// What the child's process printed.
struct ChildOutput {
    stdout: String,
    stderr: String,
}

/// Runs the test `test` (full name) of this binary in a child process whose
/// OpenSSL trusts only `ca_file`, with `inputs` in its environment, and
/// fails unless that one test ran and passed.
fn run_child(test: &str, ca_file: &Path, inputs: &[(&str, &str)]) -> Result<ChildOutput> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SSL_CERT_FILE", ca_file)
        .env(format!("{VAR_PREFIX}CHILD"), "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in inputs {
        cmd.env(format!("{VAR_PREFIX}{name}"), value);
    }
    let mut child = cmd.spawn()?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut captured = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut captured);
            }
            captured
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            child.kill()?;
            child.wait()?;
            anyhow::bail!("child {test} timed out");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = ChildOutput {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    if !status.success() || !output.stdout.contains("test result: ok. 1 passed") {
        anyhow::bail!(
            "child {test} failed ({status}):\n{}\n{}",
            output.stdout,
            output.stderr
        );
    }
    Ok(output)
}

/// A bare repository in the served directory that accepts pushes over HTTP.
fn served_bare(repos_dir: &Path, name: &str) -> Result<PathBuf> {
    let path = bare(repos_dir, name)?;
    git(&path, &["config", "http.receivepack", "true"])?;
    Ok(path)
}

/// The child records an error for the parent to inspect: what a user and a
/// log would see (`Display`) and what a developer would (`Debug`).
fn record(out: &Path, name: &str, err: &GitError) -> Result<()> {
    std::fs::write(out.join(name), format!("{err}\n---\n{err:?}\n"))?;
    Ok(())
}

fn assert_no_secret_anywhere(dirs: &[&Path], child: &ChildOutput) -> Result<()> {
    for secret in [TOKEN, WRONG] {
        for dir in dirs {
            assert_eq!(files_containing(dir, secret)?, Vec::<PathBuf>::new());
        }
        assert!(!child.stdout.contains(secret), "{}", child.stdout);
        assert!(!child.stderr.contains(secret), "{}", child.stderr);
    }
    Ok(())
}

#[test]
fn https_push_with_the_right_token_succeeds_and_a_wrong_one_fails_once() -> Result<()> {
    if in_child() {
        return push_child();
    }
    let tmp = tempfile::tempdir()?;
    let repos_dir = tmp.path().join("repos_dir");
    std::fs::create_dir(&repos_dir)?;
    let remote = served_bare(&repos_dir, "remote.git")?;
    let root = busy_user(tmp.path())?;
    let branch = fix_branch_name("selfheal", "9001", "feedface");
    let (base, fix) = make_fix(&Repo::discover(&root)?, &branch, "Fix add")?;
    let server = GitServer::start(&repos_dir, TOKEN)?;
    let url = server.url("remote.git");
    git(&root, &["remote", "add", "origin", &url])?;
    let before = user_state(&root)?;
    let refs_before = refs(&root)?;
    let out = tmp.path().join("out");
    std::fs::create_dir(&out)?;

    let child = run_child(
        "suite::https::https_push_with_the_right_token_succeeds_and_a_wrong_one_fails_once",
        server.ca_file(),
        &[
            ("ROOT", &root.to_string_lossy()),
            ("OUT", &out.to_string_lossy()),
            ("BRANCH", &branch),
            ("FIX", &fix),
            ("BASE", &base),
            ("TOKEN", TOKEN),
            ("WRONG", WRONG),
        ],
    )?;

    assert_eq!(rev(&remote, &branch), Some(fix));
    let wrong = std::fs::read_to_string(out.join("wrong"))?;
    assert_eq!(
        wrong.lines().next(),
        Some(format!("the remote rejected the token ({url})").as_str())
    );
    let seen = server.seen();
    let offered = |token: &str| {
        let pair = Seen::Basic(format!("x-access-token:{token}"));
        seen.iter().filter(|s| **s == pair).count()
    };
    // Offered once, refused, and not retried.
    assert_eq!(offered(WRONG), 1, "{seen:?}");
    assert!(offered(TOKEN) >= 1, "{seen:?}");
    assert!(
        seen.iter().all(|s| matches!(s, Seen::Anonymous)
            || s == &Seen::Basic(format!("x-access-token:{TOKEN}"))
            || s == &Seen::Basic(format!("x-access-token:{WRONG}"))),
        "{seen:?}"
    );

    assert_no_secret_anywhere(&[&root.join(".git"), &out], &child)?;
    assert_eq!(user_state(&root)?, before);
    assert_eq!(refs(&root)?, refs_before);
    Ok(())
}

fn push_child() -> Result<()> {
    let repo = Repo::discover(Path::new(&input("ROOT")?))?;
    let out = PathBuf::from(input("OUT")?);
    let branch = input("BRANCH")?;
    let token = Credentials::with_token(input("TOKEN")?);

    let err = repo
        .push_branch(
            "origin",
            &branch,
            None,
            &Credentials::with_token(input("WRONG")?),
        )
        .expect_err("a wrong token must fail");
    assert!(matches!(err, GitError::AuthRejected { .. }), "{err:?}");
    assert!(!err.is_retryable());
    record(&out, "wrong", &err)?;

    let err = repo
        .push_branch("origin", &branch, None, &Credentials::anonymous())
        .expect_err("the server wants a token");
    assert!(matches!(err, GitError::AuthRequired { .. }), "{err:?}");
    record(&out, "anonymous", &err)?;

    assert_eq!(repo.remote_branch_head("origin", &branch, &token)?, None);
    assert_eq!(
        repo.push_branch("origin", &branch, None, &token)?,
        PushOutcome::Created
    );
    assert_eq!(
        repo.remote_branch_head("origin", &branch, &token)?,
        Some(input("FIX")?)
    );
    let err = repo
        .push_branch("origin", &branch, None, &token)
        .expect_err("the branch exists now");
    assert!(
        matches!(err, GitError::RemoteBranchExists { .. }),
        "{err:?}"
    );
    record(&out, "exists", &err)?;
    let err = repo
        .push_branch("origin", &branch, Some(&input("BASE")?), &token)
        .expect_err("the branch is not at the base any more");
    assert!(matches!(err, GitError::RemoteBranchMoved { .. }), "{err:?}");
    record(&out, "moved", &err)?;
    // Up to date: a fast-forward by nothing.
    assert_eq!(
        repo.push_branch("origin", &branch, Some(&input("FIX")?), &token)?,
        PushOutcome::FastForwarded
    );
    Ok(())
}

#[test]
fn https_push_refused_by_a_server_hook_is_an_error() -> Result<()> {
    if in_child() {
        return hook_child();
    }
    let tmp = tempfile::tempdir()?;
    let repos_dir = tmp.path().join("repos_dir");
    std::fs::create_dir(&repos_dir)?;
    let remote = served_bare(&repos_dir, "hooked.git")?;
    let hook = remote.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'no pushes today' >&2\nexit 1\n")?;
    super::set_executable(&hook, true)?;
    let root = busy_user(tmp.path())?;
    let branch = fix_branch_name("selfheal", "9002", "");
    make_fix(&Repo::discover(&root)?, &branch, "Fix add")?;
    let server = GitServer::start(&repos_dir, TOKEN)?;
    let out = tmp.path().join("out");
    std::fs::create_dir(&out)?;

    let child = run_child(
        "suite::https::https_push_refused_by_a_server_hook_is_an_error",
        server.ca_file(),
        &[
            ("ROOT", &root.to_string_lossy()),
            ("OUT", &out.to_string_lossy()),
            ("BRANCH", &branch),
            ("URL", &server.url("hooked.git")),
            ("TOKEN", TOKEN),
        ],
    )?;
    assert_eq!(rev(&remote, &branch), None);
    let shown = std::fs::read_to_string(out.join("rejected"))?;
    assert_eq!(
        shown.lines().next(),
        Some(
            format!(
                "{} rejected the push of `{branch}`: pre-receive hook declined",
                server.url("hooked.git")
            )
            .as_str()
        )
    );
    assert_no_secret_anywhere(&[&root.join(".git"), &out], &child)?;
    Ok(())
}

fn hook_child() -> Result<()> {
    let repo = Repo::discover(Path::new(&input("ROOT")?))?;
    let out = PathBuf::from(input("OUT")?);
    let err = repo
        .push_branch(
            &input("URL")?,
            &input("BRANCH")?,
            None,
            &Credentials::with_token(input("TOKEN")?),
        )
        .expect_err("the hook refuses every push");
    assert!(matches!(err, GitError::PushRejected { .. }), "{err:?}");
    record(&out, "rejected", &err)?;
    Ok(())
}

#[test]
fn https_refuses_a_server_whose_certificate_is_not_trusted() -> Result<()> {
    if in_child() {
        return untrusted_child();
    }
    let tmp = tempfile::tempdir()?;
    let repos_dir = tmp.path().join("repos_dir");
    std::fs::create_dir(&repos_dir)?;
    let remote = served_bare(&repos_dir, "remote.git")?;
    let root = busy_user(tmp.path())?;
    let branch = fix_branch_name("selfheal", "9003", "");
    make_fix(&Repo::discover(&root)?, &branch, "Fix add")?;
    let server = GitServer::start(&repos_dir, TOKEN)?;
    // A bundle without the test CA: what a user behind an intercepting
    // proxy has before setting `SSL_CERT_FILE`.
    let empty = tmp.path().join("empty.pem");
    std::fs::write(&empty, "")?;

    let child = run_child(
        "suite::https::https_refuses_a_server_whose_certificate_is_not_trusted",
        &empty,
        &[
            ("ROOT", &root.to_string_lossy()),
            ("BRANCH", &branch),
            ("URL", &server.url("remote.git")),
            ("TOKEN", TOKEN),
        ],
    )?;
    // The TLS handshake failed, so no HTTP request, and no token, was sent.
    assert_eq!(server.seen(), Vec::<Seen>::new());
    assert_eq!(rev(&remote, &branch), None);
    assert_no_secret_anywhere(&[&root.join(".git")], &child)?;
    Ok(())
}

fn untrusted_child() -> Result<()> {
    let repo = Repo::discover(Path::new(&input("ROOT")?))?;
    let err = repo
        .push_branch(
            &input("URL")?,
            &input("BRANCH")?,
            None,
            &Credentials::with_token(input("TOKEN")?),
        )
        .expect_err("an untrusted certificate must fail");
    assert!(
        matches!(&err, GitError::Remote { source, .. } if source.code() == git2::ErrorCode::Certificate),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    Ok(())
}

#[test]
fn https_fetch_fills_in_shallow_clones_by_sha_and_by_branch_heads() -> Result<()> {
    if in_child() {
        return fetch_child();
    }
    let tmp = tempfile::tempdir()?;
    let up = upstream(tmp.path())?;
    let repos_dir = tmp.path().join("repos_dir");
    std::fs::create_dir(&repos_dir)?;
    let up_url = file_url(&up.root);
    // `open` serves any reachable commit, as GitHub does; `strict` only
    // advertised ones, which makes selfheal fall back to the branch heads.
    git(&repos_dir, &["clone", "-q", "--bare", &up_url, "open.git"])?;
    git(
        &repos_dir.join("open.git"),
        &["config", "uploadpack.allowReachableSHA1InWant", "true"],
    )?;
    git(
        &repos_dir,
        &["clone", "-q", "--bare", &up_url, "strict.git"],
    )?;
    let server = GitServer::start(&repos_dir, TOKEN)?;

    let mut clones = Vec::new();
    for name in ["open", "strict"] {
        let bare_url = file_url(&repos_dir.join(format!("{name}.git")));
        git(
            tmp.path(),
            &[
                "clone", "-q", "--depth", "1", "--branch", "main", &bare_url, name,
            ],
        )?;
        let root = tmp.path().join(name);
        git(
            &root,
            &[
                "remote",
                "set-url",
                "origin",
                &server.url(&format!("{name}.git")),
            ],
        )?;
        std::fs::write(root.join(".git/FETCH_HEAD"), "user's own fetch\n")?;
        clones.push((root.clone(), user_state(&root)?, refs(&root)?));
    }

    let child = run_child(
        "suite::https::https_fetch_fills_in_shallow_clones_by_sha_and_by_branch_heads",
        server.ca_file(),
        &[
            ("OPEN", &clones[0].0.to_string_lossy()),
            ("STRICT", &clones[1].0.to_string_lossy()),
            ("OLDER", &up.older),
            ("FEATURE", &up.feature),
            ("TOKEN", TOKEN),
        ],
    )?;

    for (root, before, refs_before) in &clones {
        let after = user_state(root)?;
        let shallow = |state: &super::UserState| -> Result<Vec<String>> {
            let bytes = state.shallow.clone().unwrap_or_default();
            let mut lines: Vec<String> = String::from_utf8(bytes)?
                .lines()
                .map(str::to_owned)
                .collect();
            lines.sort();
            Ok(lines)
        };
        // `open` fetched each commit one deep, so each is a new shallow
        // boundary; `strict` fetched whole branches, so it gained none.
        let mut expected = vec![up.main.clone()];
        if root.ends_with("open") {
            expected.extend([up.older.clone(), up.feature.clone()]);
        }
        expected.sort();
        assert_eq!(shallow(&after)?, expected, "{}", root.display());
        // Everything else is as it was.
        let mut same_shallow = after;
        same_shallow.shallow.clone_from(&before.shallow);
        assert_eq!(&same_shallow, before);
        // Only the fix branch is new (in `open`).
        let refs_after: Vec<String> = refs(root)?
            .lines()
            .filter(|l| !l.starts_with("refs/heads/selfheal/1-older "))
            .map(str::to_owned)
            .collect();
        assert_eq!(refs_after, refs_before.lines().collect::<Vec<_>>());
        assert_eq!(
            std::fs::read_to_string(root.join(".git/FETCH_HEAD"))?,
            "user's own fetch\n"
        );
        assert_eq!(git(root, &["rev-list", "--count", "HEAD"])?.trim(), "1");
        git(root, &["fsck", "--no-dangling", "--connectivity-only"])?;
        assert_no_secret_anywhere(&[&root.join(".git")], &child)?;
    }
    assert!(
        server
            .seen()
            .contains(&Seen::Basic(format!("x-access-token:{TOKEN}")))
    );
    // The fix made on the shallow clone's fetched commit reached the server whole.
    let open_bare = repos_dir.join("open.git");
    assert_eq!(
        rev(&open_bare, "selfheal/1-older").as_deref(),
        Some(fix_sha(&clones[0].0)?.as_str())
    );
    git(
        &open_bare,
        &["fsck", "--no-dangling", "--connectivity-only"],
    )?;
    Ok(())
}

fn fix_sha(root: &Path) -> Result<String> {
    rev(root, "selfheal/1-older")
        .ok_or_else(|| anyhow::anyhow!("no fix branch in {}", root.display()))
}

fn fetch_child() -> Result<()> {
    let token = Credentials::with_token(input("TOKEN")?);
    for clone in ["OPEN", "STRICT"] {
        let repo = Repo::discover(Path::new(&input(clone)?))?;
        for (sha, marker) in [
            (input("OLDER")?, "older\n"),
            (input("FEATURE")?, "feature\n"),
        ] {
            // In `strict`, fetching `older` brought every branch, `feature` too.
            if clone == "OPEN" || marker == "older\n" {
                assert!(
                    repo.resolve_commit(&sha).is_err(),
                    "{clone}: {sha} is there already"
                );
            }
            assert_eq!(repo.ensure_commit(&sha, "origin", &token)?, sha);
            let worktree = repo.export_tree(&sha, None)?;
            assert_eq!(
                std::fs::read_to_string(worktree.path().join("marker.txt"))?,
                marker
            );
            assert_eq!(
                std::fs::read_to_string(worktree.path().join("src/calc.py"))?,
                "def add(a, b):\n    return a - b\n"
            );
        }
        if clone == "OPEN" {
            // A shallow CI clone pushes the fix on the fetched commit.
            fix_on(&repo, &input("OLDER")?, "selfheal/1-older")?;
            assert_eq!(
                repo.push_branch("origin", "selfheal/1-older", None, &token)?,
                PushOutcome::Created
            );
        }
    }
    Ok(())
}
