//! Listing failed runs, and one run with its jobs.

use selfheal_fakehub::{FakeHub, FakeJob, FakeRun, FakeStep};
use selfheal_monitor::{CiProvider, RunFilter};
use selfheal_types::{CommitAuthor, JobInfo, PullRequestRef, RunInfo};

use super::{FULL, client, hub};

const RUNS_PATH: &str = "/repos/octo/widgets/actions/runs";
const COUNT: u64 = 230;

fn conclusion(id: u64) -> &'static str {
    if id.is_multiple_of(5) {
        "success"
    } else if id.is_multiple_of(11) {
        "startup_failure"
    } else if id.is_multiple_of(7) {
        "timed_out"
    } else if id.is_multiple_of(13) {
        "cancelled"
    } else {
        "failure"
    }
}

fn workflow(id: u64) -> (&'static str, &'static str) {
    if id.is_multiple_of(3) {
        ("Lint", ".github/workflows/lint.yml")
    } else {
        ("CI", ".github/workflows/ci.yml")
    }
}

fn branch(id: u64) -> &'static str {
    if id.is_multiple_of(2) { "main" } else { "dev" }
}

fn event(id: u64) -> &'static str {
    if id % 4 == 1 { "pull_request" } else { "push" }
}

/// 230 runs: three pages of 100 for the client, with every mix of
/// conclusion, workflow, branch and event; one still running.
fn many_runs() -> FakeHub {
    let mut builder = hub();
    for id in 1..=COUNT {
        let (name, path) = workflow(id);
        builder = builder.run(
            FakeRun::new(id)
                .workflow(name, path)
                .head_branch(branch(id))
                .event(event(id))
                .conclusion(conclusion(id)),
        );
    }
    builder
        .run(FakeRun::new(COUNT + 1).pending("in_progress"))
        .start()
        .expect("the fake starts")
}

/// The ids the client should return, worked out from the same rules the fake was built with.
fn expected(keep: impl Fn(u64) -> bool) -> Vec<String> {
    (1..=COUNT)
        .rev()
        .filter(|id| matches!(conclusion(*id), "failure" | "timed_out" | "startup_failure"))
        .filter(|id| keep(*id))
        .map(|id| id.to_string())
        .collect()
}

fn ids(runs: &[RunInfo]) -> Vec<String> {
    runs.iter().map(|r| r.id.clone()).collect()
}

#[tokio::test]
async fn failed_runs_follow_every_page_newest_first() {
    let hub = many_runs();
    let runs = client(&hub, FULL)
        .failed_runs(&RunFilter::default())
        .await
        .expect("runs");
    assert_eq!(ids(&runs), expected(|_| true));
    let pages: Vec<(Option<String>, Option<String>)> = hub
        .requests_to("GET", RUNS_PATH)
        .iter()
        .map(|r| (r.query_param("status"), r.query_param("page")))
        .collect();
    assert_eq!(
        pages,
        vec![
            (Some("completed".to_owned()), None),
            (Some("completed".to_owned()), Some("2".to_owned())),
            (Some("completed".to_owned()), Some("3".to_owned())),
        ]
    );
}

#[tokio::test]
async fn workflows_are_included_and_excluded_by_name_or_file() {
    let hub = many_runs();
    let client = client(&hub, FULL);
    let only_lint = RunFilter {
        workflows: vec!["lint.yml".to_owned()],
        ..RunFilter::default()
    };
    assert_eq!(
        ids(&client.failed_runs(&only_lint).await.expect("runs")),
        expected(|id| id.is_multiple_of(3))
    );
    let not_lint = RunFilter {
        exclude_workflows: vec!["Lint".to_owned()],
        ..RunFilter::default()
    };
    assert_eq!(
        ids(&client.failed_runs(&not_lint).await.expect("runs")),
        expected(|id| !id.is_multiple_of(3))
    );
}

#[tokio::test]
async fn branch_and_event_are_asked_of_github_and_checked_again() {
    let hub = many_runs();
    let filter = RunFilter {
        workflows: vec!["CI".to_owned()],
        branch: Some("dev".to_owned()),
        event: Some("pull_request".to_owned()),
        ..RunFilter::default()
    };
    let runs = client(&hub, FULL).failed_runs(&filter).await.expect("runs");
    assert_eq!(
        ids(&runs),
        expected(|id| !id.is_multiple_of(3) && branch(id) == "dev" && event(id) == "pull_request")
    );
    let first = &hub.requests_to("GET", RUNS_PATH)[0];
    assert_eq!(first.query_param("branch").as_deref(), Some("dev"));
    assert_eq!(first.query_param("event").as_deref(), Some("pull_request"));
    assert_eq!(first.query_param("per_page").as_deref(), Some("100"));
}

#[tokio::test]
async fn a_limit_stops_paging_once_enough_runs_are_found() {
    let hub = many_runs();
    let filter = RunFilter {
        limit: Some(5),
        ..RunFilter::default()
    };
    let runs = client(&hub, FULL).failed_runs(&filter).await.expect("runs");
    assert_eq!(ids(&runs), expected(|_| true)[..5].to_vec());
    assert_eq!(hub.requests_to("GET", RUNS_PATH).len(), 1);
}

#[tokio::test]
async fn a_branch_name_with_slashes_and_spaces_is_encoded() {
    let hub = hub()
        .run(FakeRun::new(1).head_branch("feat/a b&c"))
        .run(FakeRun::new(2).head_branch("feat/a"))
        .start()
        .expect("the fake starts");
    let filter = RunFilter {
        branch: Some("feat/a b&c".to_owned()),
        ..RunFilter::default()
    };
    let runs = client(&hub, FULL).failed_runs(&filter).await.expect("runs");
    assert_eq!(ids(&runs), vec!["1".to_owned()]);
    assert_eq!(
        hub.requests_to("GET", RUNS_PATH)[0].query,
        "status=completed&per_page=100&branch=feat%2Fa%20b%26c"
    );
}

#[tokio::test]
async fn a_run_is_mapped_fully_with_its_jobs_and_failed_steps() {
    let hub = hub()
        .run(
            FakeRun::new(4242)
                .workflow("Tests", ".github/workflows/tests.yml")
                .head_branch("fix-parser")
                .head_sha("0123456789abcdef0123456789abcdef01234567")
                .event("pull_request")
                .conclusion("failure")
                .created_at("2026-03-04T05:06:07Z")
                .run_attempt(2)
                .head_repository("forker/widgets")
                .author("Forky McForkface", "forky@example.com")
                .pull_request(17, "fix-parser", "main")
                .job(
                    FakeJob::new(1, "lint")
                        .step(FakeStep::new("Set up job"))
                        .step(FakeStep::new("ruff")),
                )
                .job(
                    FakeJob::new(2, "pytest (3.12)")
                        .failed()
                        .step(FakeStep::new("Set up job"))
                        .step(FakeStep::new("Run tests").failed())
                        .step(FakeStep::new("Upload report").conclusion("skipped")),
                ),
        )
        .start()
        .expect("the fake starts");
    let run = client(&hub, FULL).run("4242").await.expect("the run");
    assert_eq!(
        run,
        RunInfo {
            id: "4242".to_owned(),
            head_sha: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
            head_branch: Some("fix-parser".to_owned()),
            workflow: Some("Tests".to_owned()),
            repository: Some("octo/widgets".to_owned()),
            created_at: Some("2026-03-04T05:06:07Z".to_owned()),
            html_url: Some("https://github.com/octo/widgets/actions/runs/4242".to_owned()),
            event: Some("pull_request".to_owned()),
            conclusion: Some("failure".to_owned()),
            head_repository: Some("forker/widgets".to_owned()),
            head_author: Some(CommitAuthor {
                name: Some("Forky McForkface".to_owned()),
                email: Some("forky@example.com".to_owned()),
            }),
            workflow_path: Some(".github/workflows/tests.yml".to_owned()),
            run_attempt: Some(2),
            jobs: vec![
                JobInfo {
                    id: "1".to_owned(),
                    name: "lint".to_owned(),
                    conclusion: Some("success".to_owned()),
                    html_url: Some(
                        "https://github.com/octo/widgets/actions/runs/4242/job/1".to_owned()
                    ),
                    failed_steps: Vec::new(),
                },
                JobInfo {
                    id: "2".to_owned(),
                    name: "pytest (3.12)".to_owned(),
                    conclusion: Some("failure".to_owned()),
                    html_url: Some(
                        "https://github.com/octo/widgets/actions/runs/4242/job/2".to_owned()
                    ),
                    failed_steps: vec!["Run tests".to_owned()],
                },
            ],
            pull_requests: vec![PullRequestRef {
                number: 17,
                head_branch: "fix-parser".to_owned(),
                head_sha: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
                head_repository: Some("forker/widgets".to_owned()),
                base_branch: "main".to_owned(),
                html_url: Some("https://github.com/octo/widgets/pull/17".to_owned()),
            }],
        }
    );
}

#[tokio::test]
async fn jobs_are_read_across_pages() {
    let mut run = FakeRun::new(9);
    for id in 1..=150 {
        run = run.job(FakeJob::new(id, &format!("shard {id}")));
    }
    let hub = hub().run(run).start().expect("the fake starts");
    let run = client(&hub, FULL).run("9").await.expect("the run");
    assert_eq!(run.jobs.len(), 150);
    assert_eq!(run.jobs[149].name, "shard 150");
    assert_eq!(
        hub.requests_to("GET", "/repos/octo/widgets/actions/runs/9/jobs")
            .len(),
        2
    );
}

#[tokio::test]
async fn a_ghes_path_prefix_is_kept_for_every_request_and_page() {
    let mut builder = hub().path_prefix("/api/v3");
    for id in 1..=120 {
        builder = builder.run(FakeRun::new(id));
    }
    let hub = builder.start().expect("the fake starts");
    assert!(hub.url().ends_with("/api/v3"));
    let runs = client(&hub, FULL)
        .failed_runs(&RunFilter::default())
        .await
        .expect("runs");
    assert_eq!(runs.len(), 120);
    assert_eq!(hub.requests_to("GET", RUNS_PATH).len(), 2);
    assert!(hub.requests().iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn a_repeated_get_is_conditional_and_served_from_memory_on_304() {
    let hub = hub()
        .default_branch("trunk")
        .start()
        .expect("the fake starts");
    let client = client(&hub, FULL);
    assert_eq!(
        selfheal_monitor::Forge::default_branch(&client)
            .await
            .expect("branch"),
        "trunk"
    );
    assert_eq!(
        selfheal_monitor::Forge::default_branch(&client)
            .await
            .expect("branch"),
        "trunk"
    );
    let seen: Vec<(u16, bool)> = hub
        .requests_to("GET", "/repos/octo/widgets")
        .iter()
        .map(|r| (r.status, r.header("if-none-match").is_some()))
        .collect();
    assert_eq!(seen, vec![(200, false), (304, true)]);
    assert_eq!(client.stats().not_modified, 1);
}
