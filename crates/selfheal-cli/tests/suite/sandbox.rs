//! How patches are run: the failing CI step's own command, the failing
//! commit's `.git` beside the tree, and the local sandbox for machines
//! without Docker.

use selfheal_types::ValidationOutcome;

use super::{MODEL, assert_fixed, run_args};
use crate::harness::{ModelServer, Selfheal, prepare, require_docker};

/// The sample's right fix changes a test; `run_args` consents for it.
const SAMPLE: &str = "test-expectation";

/// The full suite runs as the workflow's `Run tests` step wrote it
/// (`python -m pytest -v`), and the tests can ask git about the commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_runs_as_ci_ran_it_with_the_commit_known_to_git() {
    require_docker();
    let mut repo = prepare(SAMPLE);
    let workflow = std::fs::read_to_string(repo.root.join(".github/workflows/ci.yml"))
        .expect("the sample's workflow");
    // The job's env reaches the tests; a secret's never does.
    let workflow = workflow.replace(
        "    runs-on: ubuntu-24.04\n",
        "    runs-on: ubuntu-24.04\n    env:\n      PRICING_REGION: eu\n      DEPLOY_TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n",
    );
    repo.commit_before_the_run(
        &[
            (
                "tests/test_version.py",
                "import os\nimport re\nimport subprocess\n\n\ndef test_the_commit_is_known_to_git():\n    \
                 sha = subprocess.check_output(['git', 'rev-parse', 'HEAD'], text=True).strip()\n    \
                 assert re.fullmatch('[0-9a-f]{40}', sha), sha\n\n\ndef test_the_jobs_env():\n    \
                 assert os.environ.get('PRICING_REGION') == 'eu'\n    \
                 assert 'DEPLOY_TOKEN' not in os.environ\n",
            ),
            (".github/workflows/ci.yml", workflow.as_str()),
        ],
        "a version test that asks git, and the job's env",
    );
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;
    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(run_args(&repo))
        .args(["--yes", "--json"])
        .run()
        .await;
    out.assert_code(0);
    let record = out.record();
    assert_fixed(&repo, &record);
    let report = record.attempts[0].validation.as_ref().expect("validated");
    assert_eq!(report.outcome, ValidationOutcome::Passed);
    let commands: Vec<&str> = report.steps.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(
        commands.last(),
        Some(&"python -m pytest -v"),
        "the whole suite runs as the CI step did: {commands:?}"
    );
}

/// `--sandbox local`: the same repair as a subprocess on a temporary copy,
/// with a warning that nothing is isolated, and no container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_sandbox_repairs_without_docker_and_says_it_is_not_isolated() {
    let repo = prepare(SAMPLE);
    let python = std::process::Command::new("python")
        .args(["-m", "pytest", "--version"])
        .output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "the local sandbox test needs `python` with pytest on PATH; hint: python3 -m pip install pytest"
    );
    let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;
    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(run_args(&repo))
        .args(["--yes", "--json", "--sandbox", "local"])
        .run()
        .await;
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("warning: the local sandbox does not isolate the code"),
        "{}",
        out.stderr
    );
    let record = out.record();
    assert_fixed(&repo, &record);
    let report = record.attempts[0].validation.as_ref().expect("validated");
    assert_eq!(report.outcome, ValidationOutcome::Passed);
    assert_eq!(report.image, "local", "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sandbox_is_a_one_line_error() {
    let repo = prepare(SAMPLE);
    let out = Selfheal::new(&repo.home())
        .args(run_args(&repo))
        .args(["--yes", "--sandbox", "podman"])
        .run()
        .await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("validate.sandbox") && out.stderr.contains("docker or local"),
        "{}",
        out.stderr
    );
}

/// `[validate] dockerfile`: the repository's own Dockerfile is built at the
/// failing commit (from a local base image: nothing is pulled) and the
/// tests run on it; a second repair reuses the image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repositorys_own_dockerfile_is_the_sandbox() {
    require_docker();
    let mut repo = prepare(SAMPLE);
    // A Dockerfile no earlier run of this test built: the first repair must
    // build it, whatever the Docker Engine has cached.
    let fresh = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dockerfile = format!(
        "FROM selfheal-sandbox-python:bookworm\n# test run {fresh}\nUSER root\nRUN echo from-the-repo > /opt/marker\nUSER 1000\n"
    );
    repo.commit_before_the_run(
        &[
            ("ci/Dockerfile", &dockerfile),
            (
                "selfheal.toml",
                "[validate]\ndockerfile = \"ci/Dockerfile\"\n",
            ),
            (
                "tests/test_image.py",
                "from pathlib import Path\n\n\ndef test_runs_in_the_repositorys_image():\n    \
                 assert Path('/opt/marker').read_text().strip() == 'from-the-repo'\n",
            ),
        ],
        "CI runs in our own image",
    );
    for round in 0..2 {
        let server = ModelServer::start(MODEL, repo.sample.fix_replies()).await;
        let mut args = run_args(&repo);
        if round == 1 {
            args.push("--force".into());
        }
        let out = Selfheal::new(&repo.home())
            .model(&server)
            .args(&args)
            .args(["--yes", "--json"])
            .run()
            .await;
        out.assert_code(0);
        let reused = if round == 0 {
            "built image"
        } else {
            "reused image"
        };
        assert!(out.stderr.contains(reused), "{}", out.stderr);
        let record = out.record();
        assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
        let report = record.attempts[0].validation.as_ref().expect("validated");
        assert!(
            report.image.starts_with("selfheal-repo:"),
            "validated in the repository's image: {}",
            report.image
        );
    }
}
