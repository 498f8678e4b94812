//! `selfheal bench capture` from a prepared sample whose fix was committed
//! on top, then a bench of the captured case.

use selfheal_bench::guard::TestsVerdict;
use selfheal_bench::report::{Report, RunStatus};
use selfheal_bench::suite::{CaseMeta, CaseSource, Suite};
use serde_json::Value;

use super::harness::{ModelServer, git, require_docker, sample_replies, samples_dir, selfheal};

/// Applies a fix file's edits (each `old` occurs once) to the tree at `root`.
fn apply_fix(root: &std::path::Path, fix: &str) {
    let fix: Value = serde_json::from_str(fix).expect("fix JSON");
    for edit in fix["edits"].as_array().expect("edits") {
        let path = root.join(edit["file"].as_str().expect("file"));
        let text = std::fs::read_to_string(&path).expect("read");
        let old = edit["old"].as_str().expect("old");
        assert_eq!(text.matches(old).count(), 1, "{}", path.display());
        std::fs::write(
            &path,
            text.replacen(old, edit["new"].as_str().expect("new"), 1),
        )
        .expect("write");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn captures_a_case_from_a_cached_run_and_a_fix_commit_then_benches_it() {
    require_docker();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let home = root.join("home");
    std::fs::create_dir_all(&home).expect("home");

    // The user's repository: the failing commit, its cached run, the fix on top.
    let sample = Suite::load(&samples_dir().join("syntax-error")).expect("loads");
    let case = &sample.cases[0];
    let repo = root.join("repo");
    let broken = selfheal_bench::prepare::prepare_case(case, &repo).expect("prepares");
    let (_, replies) = sample_replies("syntax-error");
    apply_fix(&repo, &replies[0]);
    git(
        &repo,
        &[
            "-c",
            "user.name=dev",
            "-c",
            "user.email=dev@example.com",
            "commit",
            "-q",
            "-am",
            "Fix the colon",
        ],
    );
    let fix_sha = git(&repo, &["rev-parse", "HEAD"]);
    let refs_before = git(&repo, &["for-each-ref"]);

    let out_dir = root.join("suite").join("csv-colon");
    let out = selfheal(&home, "http://127.0.0.1:9/v1", "unused")
        .current_dir(&repo)
        .args([
            "bench",
            "capture",
            "--offline",
            "--run-id",
            &case.run_id,
            "--fix-commit",
            "HEAD",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .await
        .expect("capture runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.starts_with(&format!(
            "captured run {} (failing commit {})",
            case.run_id,
            &broken[..12]
        )),
        "{stdout}"
    );
    assert_eq!(
        git(&repo, &["for-each-ref"]),
        refs_before,
        "capture adds no ref to the user's repository"
    );

    let meta: CaseMeta = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("case.json")).expect("case.json"),
    )
    .expect("case.json parses");
    assert_eq!(
        meta,
        CaseMeta {
            name: None,
            category: meta.category.clone(),
            run_id: case.run_id.clone(),
            commit: broken.clone(),
            allow_test_edits: false,
            bundle: None,
            fix_commit: Some(fix_sha),
            repository: meta.repository.clone(),
        }
    );
    assert!(
        meta.category.as_deref().is_some_and(|c| c != "unknown"),
        "{meta:?}"
    );
    let patch = std::fs::read_to_string(out_dir.join("fix.patch")).expect("fix.patch");
    assert!(
        patch.starts_with("diff --git a/csvstats/reader.py b/csvstats/reader.py\n"),
        "{patch}"
    );
    assert!(
        out_dir
            .join("logs")
            .join(&case.run_id)
            .join("run.json")
            .is_file()
    );

    // The captured case loads and prepares to the failing commit.
    let captured = Suite::load(&root.join("suite")).expect("the captured suite loads");
    assert_eq!(captured.cases.len(), 1);
    assert!(
        matches!(&captured.cases[0].source, CaseSource::Captured { commit, .. } if *commit == broken)
    );
    let again = root.join("again");
    assert_eq!(
        selfheal_bench::prepare::prepare_case(&captured.cases[0], &again).expect("prepares"),
        broken
    );
    assert_eq!(git(&again, &["rev-parse", "HEAD"]), broken);
    assert_eq!(git(&again, &["status", "--porcelain"]), "");

    // And benches: the scripted model answers with the known fix.
    let server = ModelServer::start("bench-model", vec![sample_replies("syntax-error")]).await;
    let out = selfheal(&home, &server.base_url(), "bench-model")
        .args(["bench", "--json"])
        .arg(root.join("suite"))
        .output()
        .await
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let report: Report = serde_json::from_str(&stdout).expect("report");
    let case = &report.cases[0];
    assert_eq!(case.name, "csv-colon");
    assert_eq!(
        case.known_fix_files.as_deref(),
        Some(&["csvstats/reader.py".to_owned()][..])
    );
    assert_eq!(case.runs[0].status, RunStatus::Fixed, "{stderr}");
    assert_eq!(case.runs[0].tests, Some(TestsVerdict::Intact));
}

#[tokio::test]
async fn capture_without_the_cached_run_says_how_to_get_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let sample = Suite::load(&samples_dir().join("syntax-error")).expect("loads");
    let repo = root.join("repo");
    selfheal_bench::prepare::prepare_case(&sample.cases[0], &repo).expect("prepares");
    let out = selfheal(&root, "http://127.0.0.1:9/v1", "unused")
        .args([
            "bench",
            "capture",
            "--offline",
            "--run-id",
            "999",
            "--fix-commit",
            "HEAD",
            "--repo",
        ])
        .arg(&repo)
        .args(["--out"])
        .arg(root.join("case"))
        .output()
        .await
        .expect("capture runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: run 999 is not in the offline cache {}; hint: run selfheal fetch --run-id 999, or drop --offline\n",
            repo.join(".selfheal/logs").display()
        )
    );
    assert!(!root.join("case").exists(), "nothing written");
}

/// Without `--offline`, a run that is not cached yet is fetched through the
/// GitHub provider (`selfheal fetch`), here from a fake GitHub on loopback.
#[tokio::test]
async fn captures_a_run_fetched_from_github() {
    use selfheal_fakehub::{FakeHub, FakeJob, FakeRun, FakeStep, FakeToken, Permissions};

    const TOKEN: &str = "ghs_benchCaptureTokenNeverWrittenAnywhere0";
    const RUN_ID: u64 = 11_873_500_101;
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let sample = Suite::load(&samples_dir().join("test-expectation")).expect("loads");
    let case = &sample.cases[0];
    assert_eq!(case.run_id, RUN_ID.to_string());
    let repo = root.join("repo");
    let broken = selfheal_bench::prepare::prepare_case(case, &repo).expect("prepares");
    // A checkout fresh from GitHub has no cache.
    std::fs::remove_dir_all(repo.join(".selfheal/logs")).expect("drop the cache");
    let (_, replies) = sample_replies("test-expectation");
    apply_fix(&repo, &replies[0]);
    git(
        &repo,
        &[
            "-c",
            "user.name=dev",
            "-c",
            "user.email=dev@example.com",
            "commit",
            "-q",
            "-am",
            "Fix the expected total",
        ],
    );

    let logs = case.dir.join("logs").join(&case.run_id);
    let mut files = Vec::new();
    let mut stack = vec![logs.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("logs") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "run.json") {
                let rel = p
                    .strip_prefix(&logs)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                files.push((rel, std::fs::read_to_string(&p).expect("text")));
            }
        }
    }
    files.sort();
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let run = FakeRun::new(RUN_ID)
        .workflow("CI", ".github/workflows/ci.yml")
        .head_branch("main")
        .head_sha(&broken)
        .event("push")
        .conclusion("failure")
        .job(
            FakeJob::new(1, "test")
                .failed()
                .step(FakeStep::new("Run tests").failed()),
        )
        .logs_zip(selfheal_fakehub::logs_zip(&pairs));
    let hub = FakeHub::builder("acme/pricing")
        .token(
            TOKEN,
            FakeToken::fine_grained("octocat", Permissions::all_write()),
        )
        .run(run)
        .start()
        .expect("the fake GitHub starts");

    let out_dir = root.join("suite").join("ten-percent");
    let out = selfheal(&root, "http://127.0.0.1:9/v1", "unused")
        .env("GITHUB_API_URL", hub.url())
        .env("GITHUB_REPOSITORY", "acme/pricing")
        .env("GITHUB_TOKEN", TOKEN)
        .args([
            "bench",
            "capture",
            "--run-id",
            &case.run_id,
            "--fix-commit",
            "HEAD",
            "--repo",
        ])
        .arg(&repo)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .await
        .expect("capture runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let meta: CaseMeta = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("case.json")).expect("case.json"),
    )
    .expect("case.json parses");
    assert_eq!(
        meta.commit, broken,
        "the failing commit is the fetched run's head_sha"
    );
    assert!(meta.allow_test_edits, "the fix is in a test");
    assert_eq!(meta.repository.as_deref(), Some("acme/pricing"));
    let fetched = out_dir.join("logs").join(&case.run_id);
    assert!(
        fetched.join("0_test.txt").is_file(),
        "the job log was fetched"
    );
    assert!(
        fetched.join("run.json").is_file(),
        "with the run's metadata"
    );
    let suite = Suite::load(&root.join("suite")).expect("the captured case loads");
    assert_eq!(
        suite.cases[0].known_fix_files,
        Some(std::collections::BTreeSet::from([
            "tests/test_cart.py".to_owned()
        ]))
    );
}
