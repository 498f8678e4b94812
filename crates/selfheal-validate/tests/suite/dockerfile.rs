//! The repository's own Dockerfile as the sandbox image: built through the
//! engine from local images only, cached by its key, and failures as one line.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::collections::HashMap;

use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
use selfheal_types::ValidationOutcome;
use selfheal_validate::{
    BuildStep, DEFAULT_IMAGE, DockerSandbox, Limits, REPO_IMAGE_KEY_LABEL, REPO_IMAGE_REPO,
    RepoImageBuilder, Sandbox, TestStep, ValidateError, ValidationPlan,
};

use super::{TEST_LABEL, assert_no_container_left, engine, write};

/// A builder whose images carry `TEST_LABEL=case`, or `None` (after a loud
/// message) when the environment asks to skip Docker tests.
#[allow(
    clippy::print_stderr,
    reason = "a skipped Docker test must say so where the test output shows it"
)]
async fn builder(case: &str, log_dir: &Path) -> Option<RepoImageBuilder> {
    if std::env::var("SELFHEAL_SKIP_DOCKER").as_deref() == Ok("1") {
        eprintln!(
            "!!! SKIPPED {case}: SELFHEAL_SKIP_DOCKER=1, the Dockerfile build was NOT tested !!!"
        );
        return None;
    }
    let builder = RepoImageBuilder::connect_to(None).await.expect(
        "docker engine reachable (run scripts/ensure-docker.sh, or set SELFHEAL_SKIP_DOCKER=1)",
    );
    let docker = engine().await;
    assert!(
        docker.inspect_image(DEFAULT_IMAGE).await.is_ok(),
        "image {DEFAULT_IMAGE} missing: run scripts/build-sandbox-image.sh"
    );
    Some(
        builder
            .with_label(TEST_LABEL, case)
            .with_log_dir(log_dir)
            .with_timeout(Duration::from_secs(120)),
    )
}

/// A file that makes this run's context its own, so the first build really builds.
fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("{}-{nanos}\n", std::process::id())
}

/// Removes the `selfheal-repo` images an earlier, failed run of `case` left behind.
async fn remove_leftover_images(case: &str) {
    let docker = engine().await;
    let filters = HashMap::from([("label", vec![format!("{TEST_LABEL}={case}")])]);
    let options = ListImagesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let images = docker
        .list_images(Some(options))
        .await
        .expect("list images");
    for tag in images.iter().flat_map(|i| &i.repo_tags) {
        if tag.starts_with(&format!("{REPO_IMAGE_REPO}:")) {
            remove_image(tag).await;
        }
    }
}

async fn remove_image(image: &str) {
    let options = RemoveImageOptionsBuilder::default().force(true).build();
    let _ = engine()
        .await
        .remove_image(image, Some(options), None)
        .await;
}

#[tokio::test]
async fn a_repository_dockerfile_builds_runs_the_tests_and_is_cached_by_its_context() {
    let case = "dockerfile-build";
    let logs = tempfile::tempdir().expect("tempdir");
    let Some(builder) = builder(case, logs.path()).await else {
        return;
    };
    remove_leftover_images(case).await;
    let seen: Arc<Mutex<Vec<BuildStep>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let builder = builder.with_progress(move |step| sink.lock().expect("lock").push(step.clone()));
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path();
    write(
        tree,
        "ci/Dockerfile",
        &format!(
            "FROM {DEFAULT_IMAGE}\nUSER root\nRUN echo ok > /opt/marker\n\
             COPY ci/greeting.txt /opt/greeting.txt\nUSER sandbox\n"
        ),
    );
    write(tree, "ci/greeting.txt", "hello\n");
    write(tree, "nonce.txt", &nonce());
    write(tree, ".dockerignore", "scratch/\n");
    write(tree, "scratch/notes.txt", "first\n");

    let built = builder
        .build(tree, "ci/Dockerfile", None)
        .await
        .expect("builds");
    assert!(!built.cached, "{built:?}");
    assert!(
        built.image.starts_with(&format!("{REPO_IMAGE_REPO}:")),
        "{built:?}"
    );
    assert_eq!(built.image.len(), REPO_IMAGE_REPO.len() + 1 + 16);
    let log = built.log_path.clone().expect("a log");
    let log_text = std::fs::read_to_string(&log).expect("log written");
    assert!(
        log_text.contains(": RUN echo ok > /opt/marker"),
        "{log_text}"
    );
    let steps: Vec<(usize, usize, String)> = built
        .steps
        .iter()
        .map(|s| (s.number, s.total, s.instruction.clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (1, 5, format!("FROM {DEFAULT_IMAGE}")),
            (2, 5, "USER root".to_owned()),
            (3, 5, "RUN echo ok > /opt/marker".to_owned()),
            (4, 5, "COPY ci/greeting.txt /opt/greeting.txt".to_owned()),
            (5, 5, "USER sandbox".to_owned()),
        ]
    );
    assert_eq!(*seen.lock().expect("lock"), built.steps);
    let labels = engine()
        .await
        .inspect_image(&built.image)
        .await
        .expect("image exists")
        .config
        .and_then(|c| c.labels)
        .unwrap_or_default();
    assert_eq!(labels.get(REPO_IMAGE_KEY_LABEL), Some(&built.key));

    // The tests run on it like on any configured image.
    let sandbox = DockerSandbox::connect_to(None, &built.image, Limits::default())
        .await
        .expect("engine")
        .with_label(TEST_LABEL, case);
    let plan = ValidationPlan::new(
        vec![TestStep::new("marker", "cat /opt/marker /opt/greeting.txt")],
        Duration::from_secs(60),
    );
    let report = sandbox.validate(tree, &plan).await.expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    assert_eq!(report.steps[0].output_tail.trim(), "ok\nhello");
    assert_no_container_left(case).await;

    // Same inputs: served from the cache; an ignored file does not count.
    write(tree, "scratch/notes.txt", "second\n");
    let again = builder
        .build(tree, "ci/Dockerfile", None)
        .await
        .expect("cached");
    assert_eq!(
        (
            again.cached,
            &again.image,
            &again.id,
            again.log_path.is_none()
        ),
        (true, &built.image, &built.id, true)
    );
    assert!(
        again.duration < Duration::from_secs(1),
        "a cached build took {:?}",
        again.duration
    );

    // A file the Dockerfile copies changed: another image.
    write(tree, "ci/greeting.txt", "bonjour\n");
    let changed = builder
        .build(tree, "ci/Dockerfile", None)
        .await
        .expect("rebuilds");
    assert!(!changed.cached);
    assert_ne!(changed.image, built.image);
    assert_ne!(changed.id, built.id);

    remove_image(&built.image).await;
    remove_image(&changed.image).await;
}

#[tokio::test]
async fn a_base_image_that_is_not_local_is_one_line_without_a_pull() {
    let case = "dockerfile-missing-base";
    let logs = tempfile::tempdir().expect("tempdir");
    let Some(builder) = builder(case, logs.path()).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Dockerfile",
        "FROM selfheal-no-such-image:never\nRUN true\n",
    );
    let err = builder
        .build(dir.path(), "Dockerfile", Some("."))
        .await
        .expect_err("missing base");
    assert!(
        matches!(&err, ValidateError::BaseImageMissing { image, .. } if image == "selfheal-no-such-image:never"),
        "{err:?}"
    );
    let line = err.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.contains("no registry") && line.contains("hint:"),
        "{line}"
    );

    // A name that needs a build argument is not known before the build; the
    // engine's failed pull at that FROM is reported the same way.
    write(
        dir.path(),
        "Dockerfile",
        "ARG SUFFIX\nFROM selfheal-no-such-image${SUFFIX}:never\nRUN true\n",
    );
    let err = builder
        .build(dir.path(), "Dockerfile", None)
        .await
        .expect_err("missing base");
    assert!(
        matches!(&err, ValidateError::BaseImageMissing { image, .. } if image == "selfheal-no-such-image${SUFFIX}:never"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_failing_run_step_names_the_step_and_the_log() {
    let case = "dockerfile-run-fails";
    let logs = tempfile::tempdir().expect("tempdir");
    let Some(builder) = builder(case, logs.path()).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Dockerfile",
        &format!("FROM {DEFAULT_IMAGE}\nRUN echo about to fail && false\n"),
    );
    write(dir.path(), "nonce.txt", &nonce());
    let err = builder
        .build(dir.path(), "Dockerfile", None)
        .await
        .expect_err("RUN false fails");
    let ValidateError::ImageBuild { step, log, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(step, "step 2/2 (RUN echo about to fail && false)");
    let line = err.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(line.contains(&log.display().to_string()), "{line}");
    assert!(line.contains("returned a non-zero code: 1"), "{line}");
    assert!(line.contains("last output: about to fail"), "{line}");
    let text = std::fs::read_to_string(log).expect("log written");
    assert!(text.contains("about to fail"), "{text}");
}
