//! Repairs that succeed: one attempt, a retry after a bad patch, two bugs in
//! a row, a dirty checkout left alone, and logs from a plain file.

use selfheal_types::{AttemptOutcome, RepairRecord, Stage, ValidationOutcome};

use super::{
    MODEL, assert_bookkeeping, assert_branch_has, assert_fixed, assert_validated, changed_lines,
    run_args, wrong_guess,
};
use crate::harness::git::branches;
use crate::harness::model::prompt_text;
use crate::harness::sample::{Sample, SampleRepo};
use crate::harness::{ModelServer, Reply, Selfheal, Snapshot, git, prepare, require_docker};

/// The sample the single-bug scenarios use: a new test with a wrong
/// expected total, fixed by correcting the number.
const SAMPLE: &str = "test-expectation";
const FAILING_TEST: &str = "tests/test_cart.py::test_cart_over_500_gets_ten_percent";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixes_in_one_attempt_and_commits_on_a_branch_that_is_not_checked_out() {
    require_docker();
    let repo = prepare(SAMPLE);
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;

    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(run_args(&repo))
        .args(["--yes", "--json"])
        .run()
        .await;

    out.assert_code(0);
    let record = out.record();
    assert_eq!(record, repo.record(), "stdout and .selfheal/results/ agree");
    assert_bookkeeping(&repo, &record);
    let branch = assert_fixed(&repo, &record);
    assert_eq!(record.attempts.len(), 1);
    assert_validated(&record, 0);
    assert_eq!(record.attempts[0].files, repo.sample.files_touched());
    assert_branch_has(&repo, &branch, &repo.sample.fix_files());
    let failure = record
        .failure
        .as_ref()
        .expect("the targeted failure is recorded");
    assert_eq!(failure.test.as_deref(), Some(FAILING_TEST));
    for stage in [Stage::Analyze, Stage::Checkout, Stage::Commit] {
        assert!(record.timings_ms.contains_key(&stage), "{stage:?} is timed");
    }
    for stage in [Stage::Reason, Stage::Patch, Stage::Validate] {
        assert!(
            record.attempts[0].timings_ms.contains_key(&stage),
            "{stage:?} is timed"
        );
    }
    // The commit says what was fixed: the diagnosis summary as its subject.
    let fix: serde_json::Value =
        serde_json::from_str(&repo.sample.fix_replies()[0]).expect("fix.json is JSON");
    assert_eq!(
        git(&repo.root, &["log", "-1", "--format=%s", &branch]),
        fix["diagnosis"]["summary"].as_str().expect("a summary")
    );

    let requests = server.chat_requests().await;
    assert_eq!(requests.len(), 1, "one attempt, one model call");
    let request = &requests[0];
    assert_eq!(request["model"], MODEL);
    assert_eq!(
        request["response_format"]["type"], "json_schema",
        "structured output is on by default: {}",
        request["response_format"]
    );
    let prompt = prompt_text(request);
    assert!(
        prompt.contains(FAILING_TEST),
        "the prompt names the failing test:\n{prompt}"
    );
    assert!(
        prompt.contains("684.00") && prompt.contains("AssertionError"),
        "the prompt carries the failure excerpt:\n{prompt}"
    );
    // The source of the file to fix, as committed in the broken state.
    let source = crate::harness::git::show(&repo.root, &repo.broken, "tests/test_cart.py");
    for line in source
        .lines()
        .filter(|l| l.contains("Cart().add(\"desk\"") || l.contains("684.00"))
    {
        assert!(
            prompt.contains(line.trim()),
            "the prompt shows `{}`:\n{prompt}",
            line.trim()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_with_the_failed_diff_and_validation_output_then_fixes() {
    require_docker();
    let repo = prepare(SAMPLE);
    // Applies cleanly and still fails the same test: a wrong guess.
    let wrong = wrong_guess();
    let mut replies = vec![wrong];
    replies.extend(repo.sample.fix_replies());
    let server = ModelServer::start(MODEL, replies).await;

    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(run_args(&repo))
        .args(["--yes", "--json", "--max-attempts", "3"])
        .run()
        .await;

    out.assert_code(0);
    let record = out.record();
    assert_bookkeeping(&repo, &record);
    let branch = assert_fixed(&repo, &record);
    assert_eq!(record.attempts.len(), 2, "{:#?}", record.attempts);
    let first = &record.attempts[0];
    assert_eq!(first.outcome, AttemptOutcome::ValidationFailed);
    let report = first
        .validation
        .as_ref()
        .expect("the first patch was validated");
    assert_eq!(report.outcome, ValidationOutcome::Failed);
    assert!(first.reason.as_deref().is_some_and(|r| !r.is_empty()));
    assert_validated(&record, 1);
    // The wrong edit was undone: the branch holds the real fix only.
    assert_branch_has(&repo, &branch, &repo.sample.fix_files());

    let requests = server.chat_requests().await;
    assert_eq!(requests.len(), 2);
    let retry = prompt_text(&requests[1]);
    let first_diff = first.diff.as_deref().expect("the first attempt has a diff");
    for line in changed_lines(first_diff) {
        assert!(
            retry.contains(line),
            "the retry shows the failed diff line `{line}`:\n{retry}"
        );
    }
    // pytest prints the value it compared with repr quotes; neither the diff
    // nor the CI log has it, only the failed validation's output.
    let from_validation = "Decimal('685.00')";
    assert!(
        report
            .steps
            .iter()
            .any(|s| s.output_tail.contains(from_validation)),
        "the validation output shows the wrong expectation: {report:#?}"
    );
    assert!(
        retry.contains(from_validation),
        "the retry carries the failed validation output:\n{retry}"
    );
    assert!(!prompt_text(&requests[0]).contains(from_validation));
}

/// Two bugs, the first masking the second: the first reply fixes what the
/// log shows, validation then reveals the second bug, and the second reply
/// fixes that on top of the first.
async fn fixes_two_bugs_in_two_attempts(name: &str) {
    require_docker();
    let repo = prepare(name);
    assert_eq!(
        repo.sample.fix_files().len(),
        2,
        "{name} has fix-1.json and fix-2.json"
    );
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;

    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(run_args(&repo))
        .args(["--yes", "--json", "--max-attempts", "3"])
        .run()
        .await;

    out.assert_code(0);
    let record = out.record();
    assert_bookkeeping(&repo, &record);
    let branch = assert_fixed(&repo, &record);
    assert_eq!(record.attempts.len(), 2, "{:#?}", record.attempts);
    assert_eq!(record.attempts[0].outcome, AttemptOutcome::ValidationFailed);
    assert_validated(&record, 1);
    assert_eq!(
        git(
            &repo.root,
            &["rev-list", "--count", &format!("{}..{branch}", repo.broken)]
        ),
        "1",
        "both fixes land in one commit"
    );
    assert_branch_has(&repo, &branch, &repo.sample.fix_files());
    let requests = server.chat_requests().await;
    assert_eq!(requests.len(), 2);
    // The second request chases what validation showed after the first fix.
    let retry = prompt_text(&requests[1]);
    for shown in repo.sample.meta["expect_after_fix_1"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let shown = shown.as_str().unwrap_or_default();
        let test_id = shown.strip_prefix("FAILED ").unwrap_or(shown);
        assert!(
            retry.contains(test_id),
            "the retry shows `{test_id}`:\n{retry}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixes_an_import_error_then_the_rounding_bug_it_masked() {
    fixes_two_bugs_in_two_attempts("masked-import-then-rounding").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixes_a_name_error_then_the_range_bug_it_masked() {
    fixes_two_bugs_in_two_attempts("masked-nameerror-then-range").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaves_a_dirty_checkout_on_another_branch_byte_identical() {
    require_docker();
    let repo = prepare(SAMPLE);
    let root = &repo.root;
    git(root, &["checkout", "-q", "-b", "wip/pricing-notes"]);
    // A tracked file modified (the very file the fix changes), another change
    // staged, and an untracked file: none of it may reach the fix or change.
    let test_file = root.join("tests/test_cart.py");
    let mut text = std::fs::read_to_string(&test_file).expect("test file");
    text.push_str("\n# local note: check the 500 tier with finance\n");
    std::fs::write(&test_file, text).expect("modify a tracked file");
    let cart = root.join("src/pricing/cart.py");
    let mut staged = std::fs::read_to_string(&cart).expect("cart.py");
    staged.push_str("\n# staged: rounding review pending\n");
    std::fs::write(&cart, staged).expect("modify cart.py");
    git(root, &["add", "src/pricing/cart.py"]);
    std::fs::write(root.join("scratch-notes.txt"), "untracked\n").expect("untracked file");

    // selfheal's own bookkeeping, in its self-ignored folder.
    let ignore = [".selfheal/results", ".selfheal/ledger.jsonl"];
    let before = Snapshot::take(root, &ignore);
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;
    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(run_args(&repo))
        .args(["--yes", "--json"])
        .run()
        .await;
    out.assert_code(0);
    let record = out.record();
    let selfheal_types::Outcome::Fixed { branch, .. } = &record.outcome else {
        panic!("expected a fix: {:?}", record.outcome);
    };

    let after = Snapshot::take(root, &ignore);
    assert_eq!(
        after.without_branches(std::slice::from_ref(branch)),
        before,
        "the user's checkout changed"
    );
    let new_branches: Vec<String> = branches(root)
        .into_iter()
        .filter(|b| !before.branches.contains_key(b))
        .collect();
    assert_eq!(
        new_branches,
        vec![branch.clone()],
        "exactly one branch was added"
    );
    assert_eq!(
        git(root, &["rev-parse", &format!("{branch}^")]),
        repo.broken
    );
    // The fix is made from the commit, not from the working tree or index.
    assert_branch_has(&repo, branch, &repo.sample.fix_files());
    assert_eq!(
        crate::harness::git::show(root, branch, "src/pricing/cart.py"),
        crate::harness::git::show(root, &repo.broken, "src/pricing/cart.py")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repairs_from_a_plain_log_file_given_with_logs() {
    require_docker();
    let repo = prepare(SAMPLE);
    let log = plain_log_file(&repo.cached_logs());
    let copy = repo.outside().join("ci-output.log");
    std::fs::copy(&log, &copy).expect("copy the log outside the repository");
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;

    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(["run", "--offline", "--yes", "--json", "--repo"])
        .arg(&repo.root)
        .arg("--logs")
        .arg(&copy)
        .run()
        .await;

    out.assert_code(0);
    let record = out.record();
    let selfheal_types::Outcome::Fixed { branch, commit } = &record.outcome else {
        panic!("expected a fix: {:?}", record.outcome);
    };
    assert!(branch.starts_with("selfheal/"), "{branch}");
    assert_eq!(&git(&repo.root, &["rev-parse", branch]), commit);
    // Without run.json the repair starts from HEAD, which is the broken commit.
    assert_eq!(record.base_commit, repo.broken);
    assert_eq!(
        git(&repo.root, &["rev-parse", &format!("{branch}^")]),
        repo.broken
    );
    assert_eq!(
        git(&repo.root, &["symbolic-ref", "HEAD"]),
        "refs/heads/main"
    );
    assert_branch_has(&repo, branch, &repo.sample.fix_files());
}

/// Every sample that one reply fixes is fixed by its `fix.json`: the
/// fixtures and the binary agree across kinds of bug.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_single_attempt_sample_is_fixed_by_its_fix_json() {
    require_docker();
    let samples: Vec<Sample> = Sample::all()
        .into_iter()
        .filter(|s| s.attempts() == 1 && s.fix_files().len() == 1 && s.name != SAMPLE)
        .collect();
    assert!(
        !samples.is_empty(),
        "sample_projects/ has single-attempt samples"
    );
    let mut failed = Vec::new();
    for sample in samples {
        let repo = prepare(&sample.name);
        let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;
        let out = Selfheal::new(&repo.home())
            .model(&server)
            .args(run_args(&repo))
            .args(["--yes", "--json", "--max-attempts", "1"])
            .run()
            .await;
        if out.code != Some(0) {
            failed.push(format!(
                "{}: exit {:?}\n{}\n{}",
                sample.name, out.code, out.stdout, out.stderr
            ));
            continue;
        }
        let record = out.record();
        let branch = assert_fixed(&repo, &record);
        assert_branch_has(&repo, &branch, &repo.sample.fix_files());
    }
    assert!(
        failed.is_empty(),
        "samples not fixed:\n{}",
        failed.join("\n\n")
    );
}

/// `sample` repaired offline by remedies alone, one attempt per rule in
/// `rules`: the model server has no reply to give and gets no request, no
/// token is spent, and the branch holds the same change as the sample's own
/// fixes. The prepared repository, the record and the branch.
async fn repaired_by_remedies(sample: &str, rules: &[&str]) -> (SampleRepo, RepairRecord, String) {
    require_docker();
    let repo = prepare(sample);
    let server = ModelServer::start(MODEL, Vec::new()).await;

    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(["run", "--offline", "--yes", "--json", "--repo"])
        .arg(&repo.root)
        .args(["--run-id", &repo.run_id()])
        .run()
        .await;

    out.assert_code(0);
    let record = out.record();
    assert_bookkeeping(&repo, &record);
    let branch = assert_fixed(&repo, &record);
    let used: Vec<Option<&str>> = record
        .attempts
        .iter()
        .map(|a| a.remedy.as_deref())
        .collect();
    let wanted: Vec<Option<&str>> = rules.iter().copied().map(Some).collect();
    assert_eq!(used, wanted, "{:#?}", record.attempts);
    assert_eq!(record.tokens.total(), 0);
    assert_branch_has(&repo, &branch, &repo.sample.fix_files());
    assert!(server.chat_requests().await.is_empty());
    (repo, record, branch)
}

/// A name the failing commit renamed and one caller still uses: the known
/// fix brings the caller along, the real sandbox proves it, and the model is
/// never asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_the_commit_missed_is_fixed_without_asking_the_model() {
    let (repo, record, branch) = repaired_by_remedies("cross-file-rename", &["renamed-name"]).await;
    let report = record.attempts[0].validation.as_ref().expect("validated");
    assert_eq!(report.outcome, ValidationOutcome::Passed);
    let subject = git(&repo.root, &["log", "-1", "--format=%s", &branch]);
    assert!(subject.contains("shipping_cost"), "{subject}");
}

/// Two bugs, one masking the other: the typo is fixed by the name Python
/// suggests, then the range's end is put back as it was before the commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_masked_bugs_are_fixed_by_a_near_name_then_a_revert_without_the_model() {
    repaired_by_remedies("masked-nameerror-then-range", &["near-name", "revert"]).await;
}

/// The run log of the failing step: in GitHub's layout a job folder holds
/// one `N_step.txt` per step; the failing step is the one with pytest's summary.
fn plain_log_file(run_dir: &std::path::Path) -> std::path::PathBuf {
    let mut candidates = Vec::new();
    let mut stack = vec![run_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("log folder is readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "txt") {
                candidates.push(path);
            }
        }
    }
    candidates.sort();
    candidates
        .into_iter()
        .find(|p| {
            std::fs::read_to_string(p)
                .is_ok_and(|t| t.contains(FAILING_TEST) && t.contains("FAILED"))
        })
        .unwrap_or_else(|| {
            panic!(
                "no .txt log under {} shows {FAILING_TEST}",
                run_dir.display()
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_that_passes_the_failing_test_but_breaks_another_is_rejected() {
    require_docker();
    let repo = prepare(SAMPLE);
    // Makes the failing test pass by halving the 500 tier's discount, which
    // breaks the tier table's own test: the full suite must catch it.
    let breaks_another = Reply::edits(
        "Lower the 500 tier's discount",
        "The test expects 684.00, which a 5% discount gives.",
        &[(
            "src/pricing/discounts.py",
            "(Decimal(\"500\"), Decimal(\"0.10\")),",
            "(Decimal(\"500\"), Decimal(\"0.05\")),",
        )],
    );
    let mut replies = vec![breaks_another];
    replies.extend(repo.sample.fix_replies());
    let server = ModelServer::start(MODEL, replies).await;

    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(run_args(&repo))
        .args(["--yes", "--json"])
        .run()
        .await;

    out.assert_code(0);
    let record = out.record();
    assert_eq!(record.attempts.len(), 2);
    let first = &record.attempts[0];
    assert_eq!(first.outcome, AttemptOutcome::ValidationFailed);
    let report = first.validation.as_ref().expect("validated");
    let results: Vec<(&str, Option<i64>)> = report
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.exit_code))
        .collect();
    assert_eq!(
        results,
        [("failing tests", Some(0)), ("full suite", Some(1))],
        "the targeted test passed, the suite did not"
    );
    let branch = assert_fixed(&repo, &record);
    assert_branch_has(&repo, &branch, &repo.sample.fix_files());
}
