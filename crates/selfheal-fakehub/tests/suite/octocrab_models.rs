//! octocrab deserializes strictly: if its typed API reads every payload, the
//! payloads have the fields GitHub documents.

use octocrab::Octocrab;
use octocrab::models::RunId;
use selfheal_fakehub::{FakeHub, FakeJob, FakePull, FakeRun, FakeStep, FakeToken, logs_zip};

const TOKEN: &str = "ghp_fakehubtesttoken000000000000000000";

fn client(hub: &FakeHub) -> anyhow::Result<Octocrab> {
    Ok(Octocrab::builder()
        .base_uri(hub.url())?
        .personal_token(TOKEN.to_owned())
        .build()?)
}

fn hub() -> anyhow::Result<FakeHub> {
    Ok(FakeHub::builder("octo/widgets")
        .token(TOKEN, FakeToken::classic("mona", &["repo", "workflow"]))
        .run(
            FakeRun::new(30)
                .workflow("Tests", ".github/workflows/tests.yml")
                .head_repository("forker/widgets")
                .event("pull_request")
                .head_branch("fix-things")
                .pull_request(7, "fix-things", "main")
                .job(
                    FakeJob::new(301, "pytest")
                        .failed()
                        .step(FakeStep::new("Set up job"))
                        .step(FakeStep::new("Run tests").failed()),
                )
                .logs_zip(logs_zip(&[("pytest/2_Run tests.txt", "FAILED test_x\n")])),
        )
        .run(FakeRun::new(20).pending("in_progress"))
        .pull_request(FakePull::new(7, "fix-things").head_repository("forker/widgets"))
        .start()?)
}

#[tokio::test]
async fn octocrab_reads_runs_jobs_repository_and_user() -> anyhow::Result<()> {
    let hub = hub()?;
    let octo = client(&hub)?;

    let runs = octo
        .workflows("octo", "widgets")
        .list_all_runs()
        .send()
        .await?;
    let ids: Vec<u64> = runs.items.iter().map(|r| r.id.0).collect();
    assert_eq!(ids, vec![30, 20]);
    let run = octo.workflows("octo", "widgets").get(RunId(30)).await?;
    assert_eq!(run.name, "Tests");
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    assert_eq!(
        run.head_repository.and_then(|r| r.full_name).as_deref(),
        Some("forker/widgets")
    );
    assert_eq!(run.head_commit.author.name, "Mona Lisa");

    let jobs = octo
        .workflows("octo", "widgets")
        .list_jobs(RunId(30))
        .send()
        .await?;
    assert_eq!(jobs.items.len(), 1);
    let steps: Vec<(String, Option<octocrab::models::workflows::Conclusion>)> = jobs.items[0]
        .steps
        .iter()
        .map(|s| (s.name.clone(), s.conclusion.clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (
                "Set up job".to_owned(),
                Some(octocrab::models::workflows::Conclusion::Success)
            ),
            (
                "Run tests".to_owned(),
                Some(octocrab::models::workflows::Conclusion::Failure)
            ),
        ]
    );

    let repo = octo.repos("octo", "widgets").get().await?;
    assert_eq!(repo.default_branch.as_deref(), Some("main"));
    assert_eq!(repo.permissions.map(|p| p.push), Some(true));

    let me = octo.current().user().await?;
    assert_eq!(me.login, "mona");
    Ok(())
}

#[tokio::test]
async fn octocrab_opens_updates_and_comments_on_pull_requests() -> anyhow::Result<()> {
    let hub = hub()?;
    let octo = client(&hub)?;

    let created = octo
        .pulls("octo", "widgets")
        .create("Fix the build", "selfheal/fix-30", "main")
        .body("marker-30")
        .send()
        .await?;
    assert_eq!(created.number, 8);
    let updated = octo
        .pulls("octo", "widgets")
        .update(8)
        .title("Fix the build, again")
        .send()
        .await?;
    assert_eq!(updated.title.as_deref(), Some("Fix the build, again"));
    let fork_pull = octo.pulls("octo", "widgets").get(7).await?;
    assert_eq!(
        fork_pull.head.repo.and_then(|r| r.full_name).as_deref(),
        Some("forker/widgets")
    );
    let open = octo.pulls("octo", "widgets").list().send().await?;
    assert_eq!(
        open.items.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![8, 7]
    );

    let issues = octo.issues("octo", "widgets");
    let comment = issues.create_comment(8, "first").await?;
    // octocrab edits with POST where GitHub documents PATCH; the fake takes both.
    let edited = issues.update_comment(comment.id, "second").await?;
    assert_eq!(edited.body.as_deref(), Some("second"));
    let labels = issues
        .add_labels(8, &["selfheal".to_owned(), "ci".to_owned()])
        .await?;
    assert_eq!(
        labels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        vec!["selfheal", "ci"]
    );
    let listed = issues.list_comments(8).send().await?;
    assert_eq!(listed.items.len(), 1);

    let pulls = hub.pull_requests();
    assert_eq!(pulls.len(), 2);
    assert_eq!(pulls[1].title, "Fix the build, again");
    assert_eq!(pulls[1].body, "marker-30");
    assert_eq!(pulls[1].author, "mona");
    assert_eq!(pulls[1].labels, vec!["selfheal", "ci"]);
    assert_eq!(
        hub.comments(8)
            .iter()
            .map(|c| c.body.as_str())
            .collect::<Vec<_>>(),
        vec!["second"]
    );
    Ok(())
}

#[tokio::test]
async fn octocrab_downloads_logs_without_sending_the_token_to_the_download_host()
-> anyhow::Result<()> {
    let hub = hub()?;
    let octo = client(&hub)?;
    let zip = octo
        .actions()
        .download_workflow_run_logs("octo", "widgets", RunId(30))
        .await?;
    assert_eq!(
        zip.to_vec(),
        logs_zip(&[("pytest/2_Run tests.txt", "FAILED test_x\n")])
    );
    let downloads = hub.download_requests();
    assert_eq!(downloads.len(), 1);
    assert_eq!(downloads[0].status, 200);
    assert_eq!(downloads[0].header("authorization"), None);
    assert!(!downloads[0].text().contains(TOKEN));
    let api = hub.requests_to("GET", "/repos/octo/widgets/actions/runs/30/logs");
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].status, 302);
    assert_eq!(
        api[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    Ok(())
}
