//! GitHub as the source of runs and the target of fixes, end to end: the
//! binary against a loopback server that answers like GitHub's REST API
//! (selfheal-fakehub), a local bare repository as the push remote, the
//! scripted model and the real Docker sandbox.

use std::path::{Path, PathBuf};

use selfheal_fakehub::{FakeHub, FakeJob, FakePull, FakeRun, FakeStep, FakeToken, Permissions};
use selfheal_types::{Outcome, Publication};

use super::MODEL;
use crate::harness::sample::SampleRepo;
use crate::harness::{ModelServer, Output, Selfheal, git, git_ok, prepare, require_docker};

const SLUG: &str = "octo/shop";
/// Shaped like an installation token, and unique enough to search for.
const TOKEN: &str = "ghs_e2eTokenThatMustNeverBeWrittenAnywhere0";
const READ_ONLY_TOKEN: &str = "ghs_e2eReadOnlyTokenThatMustStayPrivate00";
const SAMPLE: &str = "test-expectation";
const RUN_ID: u64 = 11_873_500_101;

/// A sample repository with a bare `origin`, no offline cache, and a fake
/// GitHub that holds its failed run.
struct GithubRepo {
    repo: SampleRepo,
    remote: PathBuf,
    hub: FakeHub,
}

impl GithubRepo {
    fn new(configure: impl FnOnce(FakeRun) -> FakeRun) -> GithubRepo {
        let repo = prepare(SAMPLE);
        // A checkout fresh from GitHub has no cache: the run must be fetched.
        std::fs::remove_dir_all(repo.root.join(".selfheal/logs")).expect("drop the cache");
        let remote = repo.outside().join("origin.git");
        git(
            repo.outside(),
            &[
                "clone",
                "-q",
                "--bare",
                repo.root.to_str().expect("utf-8"),
                remote.to_str().expect("utf-8"),
            ],
        );
        git(
            &repo.root,
            &["remote", "add", "origin", remote.to_str().expect("utf-8")],
        );
        let run = FakeRun::new(RUN_ID)
            .workflow("CI", ".github/workflows/ci.yml")
            .head_branch("main")
            .head_sha(&repo.broken)
            .event("push")
            .conclusion("failure")
            .job(
                FakeJob::new(1, "test")
                    .failed()
                    .step(FakeStep::new("Run pytest").failed()),
            )
            .logs_zip(sample_logs_zip(&repo));
        let hub = FakeHub::builder(SLUG)
            .token(
                TOKEN,
                FakeToken::fine_grained("octocat", Permissions::all_write()),
            )
            .token(
                READ_ONLY_TOKEN,
                FakeToken::fine_grained("reader", Permissions::read_only()),
            )
            .run(configure(run))
            .start()
            .expect("the fake GitHub starts");
        GithubRepo { repo, remote, hub }
    }

    fn selfheal(&self, server: &ModelServer) -> Selfheal {
        Selfheal::new(&self.repo.home())
            .model(server)
            .env("GITHUB_API_URL", &self.hub.url())
            .env("GITHUB_REPOSITORY", SLUG)
            .env("GITHUB_TOKEN", TOKEN)
    }

    fn run_args(&self) -> Vec<String> {
        vec![
            "run".into(),
            "--repo".into(),
            self.repo.root.display().to_string(),
            "--yes".into(),
            "--json".into(),
        ]
    }

    fn remote_branches(&self) -> Vec<String> {
        git(
            &self.remote,
            &["for-each-ref", "--format=%(refname:short)", "refs/heads/"],
        )
        .lines()
        .map(str::to_owned)
        .collect()
    }
}

/// The sample's cached logs as GitHub serves them: a zip of the job folders
/// and files (its `run.json` is selfheal's, not GitHub's).
fn sample_logs_zip(repo: &SampleRepo) -> Vec<u8> {
    let dir = repo.sample.logs_dir();
    let mut files: Vec<(String, String)> = Vec::new();
    collect(&dir, &dir, &mut files);
    files.sort();
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    selfheal_fakehub::logs_zip(&pairs)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("logs dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.file_name().is_some_and(|n| n != "run.json") {
            let rel = path
                .strip_prefix(root)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            out.push((rel, std::fs::read_to_string(&path).expect("text log")));
        }
    }
}

/// Every file under `dir` (`.git` included) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file()
                && std::fs::read(&path)
                    .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    found
}

#[track_caller]
fn assert_token_kept_secret(gh: &GithubRepo, outputs: &[&Output], token: &str) {
    for out in outputs {
        assert!(
            !out.stdout.contains(token),
            "token in stdout of {}",
            out.command
        );
        assert!(
            !out.stderr.contains(token),
            "token in stderr of {}",
            out.command
        );
    }
    assert_eq!(
        files_containing(gh.repo.outside(), token),
        Vec::<PathBuf>::new(),
        "token written to disk"
    );
    for request in gh.hub.download_requests() {
        assert_eq!(
            request.header("authorization"),
            None,
            "the token went to the log download host"
        );
    }
    for request in gh.hub.requests() {
        assert!(
            !String::from_utf8_lossy(&request.body).contains(token),
            "token in the body of {} {}",
            request.method,
            request.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_the_failed_run_repairs_it_and_opens_exactly_one_pull_request() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;

    let first = gh.selfheal(&server).args(gh.run_args()).run().await;
    first.assert_code(0);
    let record = first.record();
    let Outcome::Fixed { branch, commit } = &record.outcome else {
        panic!("not fixed: {:?}\n{}", record.outcome, first.stderr);
    };
    let Some(Publication::Opened {
        number,
        url,
        branch: pr_branch,
    }) = &record.publication
    else {
        panic!(
            "no pull request: {:?}\n{}",
            record.publication, first.stderr
        );
    };
    assert_eq!(pr_branch, branch);
    assert_eq!(record.run.id, RUN_ID.to_string());
    assert_eq!(record.run.repository.as_deref(), Some(SLUG));
    assert_eq!(record.run.jobs.len(), 1, "the run's jobs are in the record");

    // One pull request, against the run's branch, with the evidence.
    let pulls = gh.hub.pull_requests();
    assert_eq!(pulls.len(), 1);
    let pr = &pulls[0];
    assert_eq!(pr.number, *number);
    assert!(url.ends_with(&format!("/pull/{number}")), "{url}");
    assert_eq!(&pr.head_branch, branch);
    assert_eq!(pr.base_branch, "main");
    assert_eq!(pr.labels, ["selfheal"]);
    let failure = record.failure.as_ref().expect("failure recorded");
    for needed in [
        format!("<!-- selfheal:fingerprint={} -->", failure.fingerprint),
        "### What failed".to_owned(),
        "### Diagnosis".to_owned(),
        "### Validation".to_owned(),
        "The failing tests pass, and so does the full suite.".to_owned(),
        failure.test.clone().expect("a test id"),
        "```diff".to_owned(),
    ] {
        assert!(
            pr.body.contains(&needed),
            "body lacks {needed:?}:\n{}",
            pr.body
        );
    }

    // The branch was pushed, the run cached, the ledger written.
    assert_eq!(git(&gh.remote, &["rev-parse", branch]), *commit);
    let cached = gh.repo.root.join(".selfheal/logs").join(RUN_ID.to_string());
    assert!(
        cached.join("run.json").is_file(),
        "the run was cached for --offline"
    );
    let ledger = std::fs::read_to_string(gh.repo.root.join(".selfheal/ledger.jsonl"))
        .expect("the ledger exists");
    assert_eq!(ledger.lines().count(), 1);
    assert!(ledger.contains(url));

    // A second run in the same checkout does nothing new.
    let chats = server.chat_requests().await.len();
    let second = gh.selfheal(&server).args(gh.run_args()).run().await;
    second.assert_code(0);
    assert_eq!(
        second.stdout.trim(),
        "",
        "no repair record: {}",
        second.stdout
    );
    assert!(second.stderr.contains("skipped run"), "{}", second.stderr);
    assert_eq!(gh.hub.pull_requests().len(), 1);
    assert_eq!(server.chat_requests().await.len(), chats, "no tokens spent");

    // A fresh checkout (an Actions runner: no ledger) finds the open pull
    // request by its marker and does nothing either.
    let fresh = gh.repo.outside().join("fresh");
    git(
        gh.repo.outside(),
        &[
            "clone",
            "-q",
            gh.remote.to_str().expect("utf-8"),
            fresh.to_str().expect("utf-8"),
        ],
    );
    let third = gh
        .selfheal(&server)
        .args([
            "run",
            "--repo",
            fresh.to_str().expect("utf-8"),
            "--yes",
            "--json",
        ])
        .run()
        .await;
    third.assert_code(0);
    assert!(
        third.stderr.contains("already has an open pull request"),
        "{}",
        third.stderr
    );
    assert_eq!(gh.hub.pull_requests().len(), 1);
    assert_eq!(server.chat_requests().await.len(), chats, "no tokens spent");

    assert_token_kept_secret(&gh, &[&first, &second, &third], TOKEN);
    let to_model = server.all_requests_text().await;
    assert!(
        !to_model.contains(TOKEN),
        "the GitHub token reached the model server"
    );
    assert!(
        to_model.contains("sk-e2e-test"),
        "the model key went to the model server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shallow_checkout_without_the_failing_commit_fetches_it() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    // main moves on after the failing run, and the job checks it out shallowly.
    let later = gh.repo.outside().join("later");
    git(
        gh.repo.outside(),
        &[
            "clone",
            "-q",
            gh.remote.to_str().expect("utf-8"),
            later.to_str().expect("utf-8"),
        ],
    );
    std::fs::write(later.join("NOTES.md"), "later work\n").expect("write");
    git(&later, &["add", "NOTES.md"]);
    git(
        &later,
        &[
            "-c",
            "user.name=dev",
            "-c",
            "user.email=dev@example.com",
            "commit",
            "-q",
            "-m",
            "later",
        ],
    );
    git(&later, &["push", "-q", "origin", "HEAD:main"]);
    let shallow = gh.repo.outside().join("shallow");
    git(
        gh.repo.outside(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &format!("file://{}", gh.remote.display()),
            shallow.to_str().expect("utf-8"),
        ],
    );
    assert!(
        !git_ok(
            &shallow,
            &["cat-file", "-e", &format!("{}^{{commit}}", gh.repo.broken)]
        ),
        "the shallow clone lacks the failing commit"
    );
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;

    let out = gh
        .selfheal(&server)
        .args([
            "run",
            "--repo",
            shallow.to_str().expect("utf-8"),
            "--yes",
            "--json",
        ])
        .run()
        .await;
    out.assert_code(0);
    let record = out.record();
    assert_eq!(record.base_commit, gh.repo.broken);
    let Outcome::Fixed { commit, .. } = &record.outcome else {
        panic!("not fixed: {:?}\n{}", record.outcome, out.stderr);
    };
    assert_eq!(
        git(&shallow, &["rev-parse", &format!("{commit}^")]),
        gh.repo.broken,
        "the fix sits on the failing commit"
    );
    assert_eq!(gh.hub.pull_requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_the_would_be_pull_request_and_publishes_nothing() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;

    let out = gh
        .selfheal(&server)
        .env("DRY_RUN", "true")
        .args(gh.run_args())
        .run()
        .await;
    out.assert_code(0);
    let record = out.record();
    assert!(record.outcome.is_fixed(), "{}", out.stderr);
    let Some(Publication::DryRun { path }) = &record.publication else {
        panic!("not a dry run: {:?}", record.publication);
    };
    let text = std::fs::read_to_string(path).expect("the would-be pull request");
    assert!(text.starts_with("# selfheal: "), "{text}");
    assert!(text.contains("### Validation"));
    assert!(text.contains("```diff"));

    assert!(gh.hub.pull_requests().is_empty());
    assert_eq!(gh.remote_branches(), ["main"], "nothing pushed");
    let writes: Vec<String> = gh
        .hub
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "nothing written to GitHub");
    // A dry run is not remembered: the real run that follows must not skip it.
    assert!(!gh.repo.root.join(".selfheal/ledger.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_from_a_fork_gets_one_comment_and_nothing_is_pushed() {
    require_docker();
    let gh = GithubRepo::new(|run| {
        run.event("pull_request")
            .head_branch("feature")
            .head_repository("someone/shop")
    });
    gh.hub.add_pull_request(
        FakePull::new(7, "feature")
            .head_repository("someone/shop")
            .head_sha(&gh.repo.broken),
    );
    let mut replies = gh.repo.sample.fix_replies();
    replies.extend(gh.repo.sample.fix_replies());
    let server = ModelServer::start(MODEL, replies).await;

    let first = gh.selfheal(&server).args(gh.run_args()).run().await;
    first.assert_code(0);
    let record = first.record();
    let Some(Publication::Commented { number, .. }) = &record.publication else {
        panic!("no comment: {:?}\n{}", record.publication, first.stderr);
    };
    assert_eq!(*number, 7);
    let comments = gh.hub.comments(7);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("```diff"), "{}", comments[0].body);
    assert!(comments[0].body.contains(&format!(
        "<!-- selfheal:comment head={} -->",
        gh.repo.broken
    )));
    assert_eq!(gh.remote_branches(), ["main"], "never pushed");
    assert_eq!(gh.hub.pull_requests().len(), 1, "no pull request opened");

    // Repaired again: the same comment is edited, not a second one posted.
    let again = gh
        .selfheal(&server)
        .args(gh.run_args())
        .arg("--force")
        .run()
        .await;
    again.assert_code(0);
    assert_eq!(gh.hub.comments(7).len(), 1);
    assert_token_kept_secret(&gh, &[&first, &again], TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_open_pull_requests_loses_no_fix() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;

    let out = gh
        .selfheal(&server)
        .env("GITHUB_TOKEN", READ_ONLY_TOKEN)
        .args(gh.run_args())
        .run()
        .await;
    out.assert_code(1);
    let record = out.record();
    let Outcome::Fixed { branch, .. } = &record.outcome else {
        panic!("not fixed: {:?}", record.outcome);
    };
    let Some(Publication::Failed { error }) = &record.publication else {
        panic!("publishing did not fail: {:?}", record.publication);
    };
    assert!(error.contains("pull-requests: write"), "{error}");
    assert!(!error.contains('\n'));
    // The validated fix is still there: the local branch and the record's diff.
    assert_eq!(gh.repo.fix_branches(), std::slice::from_ref(branch));
    assert!(record.attempts.iter().any(|a| a.diff.is_some()));
    assert_token_kept_secret(&gh, &[&out], READ_ONLY_TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_caches_the_run_and_an_offline_run_replays_it() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;
    let root = gh.repo.root.display().to_string();

    let fetched = gh
        .selfheal(&server)
        .args(["fetch", "--repo", &root])
        .run()
        .await;
    fetched.assert_code(0);
    assert!(
        fetched.stdout.contains(&format!("cached CI run {RUN_ID}")),
        "{}",
        fetched.stdout
    );
    let cached = gh.repo.root.join(".selfheal/logs").join(RUN_ID.to_string());

    // The cached folder analyses exactly like the logs GitHub served.
    let analyze = |path: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_selfheal"))
            .args(["analyze", "--json"])
            .arg(path)
            .output()
            .expect("analyze runs");
        let mut value: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("analysis JSON");
        value["source"] = serde_json::Value::Null;
        value
    };
    assert_eq!(analyze(&cached), analyze(&gh.repo.sample.logs_dir()));

    // Offline, without GitHub: the cached run is repaired as it was fetched.
    let offline = Selfheal::new(&gh.repo.home())
        .model(&server)
        .args(["run", "--offline", "--repo", &root, "--yes", "--json"])
        .run()
        .await;
    offline.assert_code(0);
    let record = offline.record();
    assert!(record.outcome.is_fixed());
    assert_eq!(record.run.id, RUN_ID.to_string());
    assert_eq!(
        record.run.head_sha.as_deref(),
        Some(gh.repo.broken.as_str())
    );
    assert_eq!(record.publication, None, "offline publishes nothing");
    assert_token_kept_secret(&gh, &[&fetched, &offline], TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_config_cannot_send_the_key_to_another_server() {
    require_docker();
    let repo = prepare(SAMPLE);
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;
    let collector = ModelServer::start(MODEL, repo.sample.fix_replies()).await;
    std::fs::write(
        repo.root.join("selfheal.toml"),
        format!(
            "[llm]\nbase_url = \"{}\"\napi_key_env = \"HOME\"\n",
            collector.base_url()
        ),
    )
    .expect("write the hostile config");
    git(&repo.root, &["add", "selfheal.toml"]);
    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(super::run_args(&repo))
        .args(["--yes", "--json"])
        .run()
        .await;
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("warning: selfheal.toml sets [llm] base_url; ignored"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("[llm] api_key_env; ignored"));
    assert_eq!(collector.chat_requests().await.len(), 0);
    assert_eq!(server.chat_requests().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_one_line_naming_it() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let server = ModelServer::start(MODEL, vec![]).await;
    let out = gh
        .selfheal(&server)
        .env("GITHUB_TOKEN", "ghs_notAValidToken000000000000000000000000")
        .args(gh.run_args())
        .run()
        .await;
    out.assert_code(2);
    let error = out.stderr.trim();
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.starts_with("error: "), "{error}");
    assert!(error.contains("401"), "{error}");
    assert!(!error.contains("ghs_notAValidToken"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_what_a_token_may_not_do() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let server = ModelServer::start(MODEL, vec![]).await;
    let root = gh.repo.root.display().to_string();

    let full = gh
        .selfheal(&server)
        .args(["check", "--json", "--repo", &root])
        .run()
        .await;
    full.assert_code(0);
    let report = full.json();
    let github = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "github"))
        .unwrap_or_else(|| panic!("a github check: {report:#}"));
    assert_eq!(github["ok"], true, "{github:#}");

    let read_only = gh
        .selfheal(&server)
        .env("GITHUB_TOKEN", READ_ONLY_TOKEN)
        .args(["check", "--json", "--repo", &root])
        .run()
        .await;
    read_only.assert_code(1);
    let report = read_only.json();
    let github = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "github"))
        .unwrap_or_else(|| panic!("a github check: {report:#}"));
    assert_eq!(github["ok"], false, "{github:#}");
    let detail = github["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("contents: write"), "{detail}");
    assert_token_kept_secret(&gh, &[&full, &read_only], READ_ONLY_TOKEN);
}

/// The fingerprint the analyser gives the sample's failure.
fn sample_fingerprint(gh: &GithubRepo) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["analyze", "--json"])
        .arg(gh.repo.sample.logs_dir())
        .output()
        .expect("analyze runs");
    let analysis: serde_json::Value = serde_json::from_slice(&out.stdout).expect("analysis JSON");
    analysis["failures"][0]["fingerprint"]
        .as_str()
        .expect("a fingerprint")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_pull_request_for_the_same_failure_is_updated_not_duplicated() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let marker = format!("<!-- selfheal:fingerprint={} -->", sample_fingerprint(&gh));
    // An earlier fix PR for this failure whose branch is still at the failing commit.
    git(
        &gh.repo.root,
        &[
            "push",
            "-q",
            gh.remote.to_str().expect("utf-8"),
            "HEAD:refs/heads/selfheal/earlier",
        ],
    );
    gh.hub.add_pull_request(
        FakePull::new(3, "selfheal/earlier")
            .head_sha(&gh.repo.broken)
            .body(&format!("an earlier attempt\n\n{marker}")),
    );
    let mut replies = gh.repo.sample.fix_replies();
    replies.extend(gh.repo.sample.fix_replies());
    let server = ModelServer::start(MODEL, replies).await;

    // Without --force the open pull request says the failure is handled.
    let skipped = gh.selfheal(&server).args(gh.run_args()).run().await;
    skipped.assert_code(0);
    assert!(
        skipped.stderr.contains("already has an open pull request"),
        "{}",
        skipped.stderr
    );

    // With --force: repaired again, and the fix lands on that PR's branch.
    let first = gh
        .selfheal(&server)
        .args(gh.run_args())
        .arg("--force")
        .run()
        .await;
    first.assert_code(0);
    let record = first.record();
    let Outcome::Fixed { commit, .. } = &record.outcome else {
        panic!("not fixed: {:?}", record.outcome);
    };
    let url = match &record.publication {
        Some(Publication::Updated { url, .. }) => url.clone(),
        other => panic!("not updated: {other:?}\n{}", first.stderr),
    };
    assert!(url.ends_with("/pull/3"), "{url}");
    assert_eq!(
        record.publication,
        Some(Publication::Updated {
            number: 3,
            url,
            branch: "selfheal/earlier".into(),
            pushed: true,
            note: None,
        })
    );
    assert_eq!(git(&gh.remote, &["rev-parse", "selfheal/earlier"]), *commit);
    let pulls = gh.hub.pull_requests();
    assert_eq!(pulls.len(), 1, "no second pull request");
    assert!(
        pulls[0].body.contains("### Validation"),
        "{}",
        pulls[0].body
    );
    assert!(pulls[0].body.contains(&marker));

    // Again: the new fix does not fast-forward the branch, which is left
    // alone, and the pull request says so in one comment.
    let second = gh
        .selfheal(&server)
        .args(gh.run_args())
        .arg("--force")
        .run()
        .await;
    second.assert_code(0);
    let record = second.record();
    let Some(Publication::Updated { pushed, note, .. }) = &record.publication else {
        panic!("not updated: {:?}", record.publication);
    };
    assert!(!pushed);
    assert!(
        note.as_deref().is_some_and(|n| n.contains("moved on")),
        "{note:?}"
    );
    assert_eq!(git(&gh.remote, &["rev-parse", "selfheal/earlier"]), *commit);
    assert_eq!(gh.hub.pull_requests().len(), 1);
    let comments = gh.hub.comments(3);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].body.contains("did not add it here"));
    assert_token_kept_secret(&gh, &[&skipped, &first, &second], TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_run_gets_its_fix_against_its_branch_and_one_comment() {
    require_docker();
    let gh = GithubRepo::new(|run| {
        run.event("pull_request")
            .head_branch("feature")
            .pull_request(5, "feature", "main")
    });
    gh.hub
        .add_pull_request(FakePull::new(5, "feature").head_sha(&gh.repo.broken));
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;

    let out = gh
        .selfheal(&server)
        .args(gh.run_args())
        .arg("--comment")
        .run()
        .await;
    out.assert_code(0);
    let record = out.record();
    let Some(Publication::Opened { number, url, .. }) = &record.publication else {
        panic!("no pull request: {:?}\n{}", record.publication, out.stderr);
    };
    let fix = gh
        .hub
        .pull_requests()
        .into_iter()
        .find(|p| p.number == *number)
        .expect("the fix pull request");
    assert_eq!(
        fix.base_branch, "feature",
        "the fix goes where the failure is"
    );
    let comments = gh.hub.comments(5);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains(url.as_str()),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains(&format!(
        "<!-- selfheal:comment head={} -->",
        gh.repo.broken
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_actions_the_triggering_run_is_repaired_and_summarised() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    // A newer failed run of another workflow that the event does not name.
    gh.hub.add_run(
        FakeRun::new(RUN_ID + 50)
            .workflow("Lint", ".github/workflows/lint.yml")
            .head_sha(&gh.repo.broken)
            .conclusion("failure"),
    );
    let event = gh.repo.outside().join("event.json");
    std::fs::write(
        &event,
        format!(
            r#"{{"action":"completed","workflow_run":{{"id":{RUN_ID},"conclusion":"failure"}}}}"#
        ),
    )
    .expect("event payload");
    let summary = gh.repo.outside().join("summary.md");
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;

    let out = gh
        .selfheal(&server)
        .env("GITHUB_ACTIONS", "true")
        .env("SELFHEAL_ENROLLED", SLUG)
        .env("GITHUB_EVENT_PATH", event.to_str().expect("utf-8"))
        .env("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8"))
        .args(gh.run_args())
        .run()
        .await;
    out.assert_code(0);
    let record = out.record();
    assert_eq!(record.run.id, RUN_ID.to_string());
    let Some(Publication::Opened { url, .. }) = &record.publication else {
        panic!("no pull request: {:?}", record.publication);
    };
    let text = std::fs::read_to_string(&summary).expect("the job summary");
    assert!(text.starts_with("## selfheal\n"), "{text}");
    assert!(text.contains("fixed in 1 attempt(s)"), "{text}");
    assert!(text.contains(url.as_str()), "{text}");
    assert!(text.contains("test_failure"), "{text}");
    assert_eq!(gh.hub.pull_requests().len(), 1);
}

/// The shell script of the step with `id: <id>` in the shipped action.yml:
/// the `run: |` block's lines, dedented.
fn action_step_script(id: &str) -> String {
    let path = crate::harness::workspace_root().join("action.yml");
    let text = std::fs::read_to_string(&path).expect("action.yml");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("id: {id}"))
        .unwrap_or_else(|| panic!("action.yml has no step with id {id}"));
    let run = (start..lines.len())
        .find(|&i| lines[i].trim() == "run: |")
        .expect("the step has a run block");
    let key_indent = lines[run].len() - lines[run].trim_start().len();
    let mut script = String::new();
    let mut body_indent = None;
    for line in &lines[run + 1..] {
        if line.trim().is_empty() {
            script.push('\n');
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent <= key_indent {
            break;
        }
        let cut = *body_indent.get_or_insert(indent);
        script.push_str(&line[cut.min(indent)..]);
        script.push('\n');
    }
    script
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_action_repairs_the_triggering_run_and_sets_its_outputs() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;
    let script = action_step_script("run");
    let temp = gh.repo.outside().join("runner-temp");
    std::fs::create_dir_all(&temp).expect("runner temp");
    let output = gh.repo.outside().join("github-output");
    let summary = gh.repo.outside().join("summary.md");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_selfheal"))
        .parent()
        .expect("the binary's folder")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // As the runner does: the step's env, its shell, the checkout as cwd.
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg("-e")
        .arg("-c")
        .arg(&script)
        .current_dir(&gh.repo.root)
        .env_clear()
        .env("PATH", path)
        .env("HOME", gh.repo.home())
        .env("NO_COLOR", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_API_URL", gh.hub.url())
        .env("GITHUB_REPOSITORY", SLUG)
        .env("GITHUB_TOKEN", TOKEN)
        .env("SELFHEAL_PR_TOKEN", "")
        .env("OPENAI_API_KEY", "sk-e2e-test")
        .env("OPENAI_BASE_URL", server.base_url())
        .env("SELFHEAL_MODEL", MODEL)
        .env("SELFHEAL_IMAGE", "")
        .env("DRY_RUN", "false")
        .env("SELFHEAL_ENROLLED", SLUG)
        .env("INPUT_RUN_ID", RUN_ID.to_string())
        .env("INPUT_TEST_COMMAND", "")
        .env("INPUT_COMMENT", "false")
        .env("INPUT_ARGS", "--max-attempts 2")
        .env("RUNNER_TEMP", &temp)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary);
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        cmd.env("DOCKER_HOST", host);
    }
    let out = cmd.output().await.expect("bash runs the step");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the step failed:\n{stderr}");

    let outputs = std::fs::read_to_string(&output).expect("the step's outputs");
    let pulls = gh.hub.pull_requests();
    assert_eq!(pulls.len(), 1, "{stderr}");
    let lines: Vec<&str> = outputs.lines().collect();
    assert_eq!(lines[0], "outcome=fixed", "{outputs}");
    assert!(
        lines[1].starts_with("pull-request=")
            && lines[1].ends_with(&format!("/pull/{}", pulls[0].number)),
        "{outputs}"
    );
    let text = std::fs::read_to_string(&summary).expect("the job summary");
    assert!(text.contains("fixed in 1 attempt(s)"), "{text}");
    assert_eq!(
        files_containing(gh.repo.outside(), TOKEN),
        Vec::<PathBuf>::new(),
        "token written to disk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automated_run_of_a_repository_not_enrolled_publishes_nothing() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;
    let out = gh
        .selfheal(&server)
        .env("GITHUB_ACTIONS", "true")
        .env("SELFHEAL_ENROLLED", "octo/another-repository")
        .args(gh.run_args())
        .run()
        .await;
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("octo/shop is not enrolled for automated publishing"),
        "{}",
        out.stderr
    );
    let record = out.record();
    assert!(record.outcome.is_fixed());
    assert!(
        matches!(record.publication, Some(Publication::DryRun { .. })),
        "{:?}",
        record.publication
    );
    assert!(gh.hub.pull_requests().is_empty());
    assert_eq!(gh.remote_branches(), ["main"], "nothing pushed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_switch_does_nothing_at_all() {
    require_docker();
    let gh = GithubRepo::new(|run| run);
    let server = ModelServer::start(MODEL, gh.repo.sample.fix_replies()).await;
    for command in [
        gh.run_args(),
        vec![
            "fetch".into(),
            "--repo".into(),
            gh.repo.root.display().to_string(),
        ],
    ] {
        let out = gh
            .selfheal(&server)
            .env("SELFHEAL_DISABLED", "1")
            .args(command)
            .run()
            .await;
        out.assert_code(0);
        assert!(
            out.stderr.contains("selfheal is switched off"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stdout, "");
    }
    assert_eq!(gh.hub.requests().len(), 0, "GitHub was not asked");
    assert_eq!(server.chat_requests().await.len(), 0, "no tokens spent");
    assert!(!gh.repo.root.join(".selfheal/logs").exists());
}
