//! A sandbox that lacks what a step needs is an environment error, not a failing test.

use std::time::Duration;

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use selfheal_types::{StepResult, ValidationOutcome};
use selfheal_validate::{DEFAULT_IMAGE, DockerSandbox, Limits, Sandbox, TestStep, ValidationPlan};

use super::{assert_no_container_left, calc_project, engine, sandbox, write};

const MINUTE: Duration = Duration::from_secs(60);

fn one_step(command: &str) -> ValidationPlan {
    ValidationPlan::new(vec![TestStep::new("step", command)], MINUTE)
}

#[tokio::test]
async fn a_missing_command_is_an_environment_error_naming_it_and_the_image() {
    let case = "env-missing-command";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");

    let report = sandbox
        .validate(dir.path(), &one_step("cargo test --quiet"))
        .await
        .expect("validates");

    let want = format!("the command \"cargo\" was not found in image {DEFAULT_IMAGE}");
    assert_eq!(report.outcome, ValidationOutcome::EnvironmentError);
    assert!(!report.passed());
    assert_eq!(report.environment_error(), Some(want.as_str()));
    let StepResult {
        exit_code,
        ref output_tail,
        ref environment_error,
        ..
    } = report.steps[0];
    assert_eq!(
        (
            exit_code,
            output_tail.as_str(),
            environment_error.as_deref()
        ),
        (Some(127), "sh: 1: cargo: not found\n", Some(want.as_str()))
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn a_missing_runner_module_is_an_environment_error_but_a_missing_import_fails_the_test() {
    let case = "env-module";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    calc_project(dir.path(), true);
    write(
        dir.path(),
        "tests/test_imports.py",
        "import nosuchmodule\n\n\ndef test_it():\n    assert nosuchmodule\n",
    );

    // The module run with -m is the test runner: it is not there, nothing ran.
    let report = sandbox
        .validate(dir.path(), &one_step("python -m nosuchmodule -q"))
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::EnvironmentError);
    assert_eq!(
        report.environment_error(),
        Some(
            format!("the test runner \"python -m nosuchmodule\" is not installed in image {DEFAULT_IMAGE} (No module named nosuchmodule)")
                .as_str()
        )
    );

    // The runner is there and a test imports the missing module: the test fails.
    let report = sandbox
        .validate(
            dir.path(),
            &one_step("python -m pytest -q -p no:cacheprovider"),
        )
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Failed);
    assert_eq!(report.environment_error(), None);
    let tail = &report.steps[0].output_tail;
    assert!(tail.contains("No module named 'nosuchmodule'"), "{tail}");
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn an_image_that_cannot_start_the_sandbox_is_an_environment_error() {
    let case = "env-bare-image";
    if sandbox(case).await.is_none() {
        return;
    }
    // An image with one file and no programs at all, imported offline.
    let image = "selfheal-test-bare:1";
    let mut rootfs = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o644);
    header.set_cksum();
    rootfs
        .append_data(&mut header, "hello", &b"hi\n"[..])
        .expect("tar");
    let rootfs = rootfs.into_inner().expect("tar");
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo("selfheal-test-bare")
        .tag("1")
        .build();
    let docker = engine().await;
    let mut import =
        docker.create_image(Some(options), Some(bollard::body_full(rootfs.into())), None);
    while let Some(progress) = import.next().await {
        progress.expect("import");
    }
    let sandbox = DockerSandbox::connect_to(None, image, Limits::default())
        .await
        .expect("engine")
        .with_label(super::TEST_LABEL, case);
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");

    let report = sandbox
        .validate(dir.path(), &one_step("python -m pytest"))
        .await
        .expect("an environment error is a report");

    assert_eq!(
        report.outcome,
        ValidationOutcome::EnvironmentError,
        "{report:#?}"
    );
    let missing = report.environment_error().expect("says what is missing");
    assert!(missing.contains(&format!("in image {image}")), "{missing}");
    // Usually the container's sleeper has died before the first step and that
    // is what is named; on a busy engine the step's exec can win the race and
    // fail first, and then its own command is named. Either way: no test ran.
    assert!(
        missing.contains("sleep") || missing.starts_with("the command \"python\""),
        "{missing}"
    );
    assert!(
        report.steps[0].exit_code.unwrap_or(127) >= 126,
        "{report:#?}"
    );
    assert_no_container_left(case).await;
}
