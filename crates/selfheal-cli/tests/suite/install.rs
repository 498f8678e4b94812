//! Projects with third-party dependencies: installed once into a cached
//! image with the network on, then every patch validated offline in it.

use std::path::Path;

use selfheal_types::Stage;

use super::{MODEL, assert_fixed, run_args};
use crate::harness::sample::SampleRepo;
use crate::harness::{ModelServer, Selfheal, prepare, require_docker};

const SAMPLE: &str = "test-expectation";

/// The sample, plus a dependency from `PyPI` that its suite cannot run without;
/// the cached run now tested that commit.
fn with_dependency() -> SampleRepo {
    let mut repo = prepare(SAMPLE);
    let workflow = ci_installing_requirements();
    repo.commit_before_the_run(
        &[
            ("requirements.txt", "six==1.16.0\n"),
            (
                "tests/conftest.py",
                "import six  # the suite needs its third-party dependencies\n\nassert six.PY3\n",
            ),
            // CI installs them in its own step, which the install phase replays.
            (".github/workflows/ci.yml", workflow.as_str()),
        ],
        "tests need six",
    );
    repo
}

/// The sample's workflow, with its install step installing `requirements.txt`.
fn ci_installing_requirements() -> String {
    let workflow = crate::harness::sample::workspace_root()
        .join("sample_projects")
        .join(SAMPLE)
        .join("project/.github/workflows/ci.yml");
    let text = std::fs::read_to_string(&workflow).expect("the sample's workflow");
    assert!(text.contains("pip install pytest\n"), "{text}");
    text.replace(
        "pip install pytest\n",
        "pip install pytest\n          pip install -r requirements.txt\n",
    )
}

fn install_logs(root: &Path) -> usize {
    std::fs::read_dir(root.join(".selfheal/install")).map_or(0, Iterator::count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependencies_are_installed_once_and_every_patch_validates_with_them() {
    require_docker();
    let first = with_dependency();
    let server = ModelServer::start(MODEL, first.sample.fix_replies()).await;
    let out = Selfheal::new(&first.home())
        .model(&server)
        .args(run_args(&first))
        .args(["--yes", "--json"])
        .run()
        .await;
    out.assert_code(0);
    let record = out.record();
    assert_fixed(&first, &record);
    assert!(
        record.timings_ms.contains_key(&Stage::Install),
        "the install phase ran: {:?}",
        record.timings_ms
    );
    assert!(
        record.attempts[0]
            .validation
            .as_ref()
            .is_some_and(|v| v.image.starts_with("selfheal-prepared:")),
        "validated in the prepared image: {:?}",
        record.attempts[0].validation
    );

    // Another checkout of the same project: the cached image, no new install.
    let second = with_dependency();
    let server = ModelServer::start(MODEL, second.sample.fix_replies()).await;
    let out = Selfheal::new(&second.home())
        .model(&server)
        .args(run_args(&second))
        .args(["--yes", "--json"])
        .run()
        .await;
    out.assert_code(0);
    let record = out.record();
    assert_fixed(&second, &record);
    assert_eq!(install_logs(&second.root), 0, "nothing was installed again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_without_the_toolchain_stops_with_one_line_and_no_retries() {
    require_docker();
    let repo = prepare(SAMPLE);
    let mut replies = repo.sample.fix_replies();
    replies.extend(repo.sample.fix_replies());
    let server = ModelServer::start(MODEL, replies).await;
    let out = Selfheal::new(&repo.home())
        .model(&server)
        .args(run_args(&repo))
        .args(["--yes", "--json", "--test-command", "cargo test --quiet"])
        .run()
        .await;
    out.assert_code(2);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(errors[0].contains("cargo"), "{}", errors[0]);
    assert!(
        errors[0].contains("selfheal-sandbox-python:bookworm"),
        "{}",
        errors[0]
    );
    assert_eq!(server.chat_requests().await.len(), 1, "no retries");
    let record = out.record();
    assert!(
        matches!(
            record.outcome,
            selfheal_types::Outcome::EnvironmentError { .. }
        ),
        "{:?}",
        record.outcome
    );
    assert!(repo.fix_branches().is_empty());
}
