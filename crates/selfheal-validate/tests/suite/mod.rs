//! Every case runs against the real Docker Engine with the real image
//! (`scripts/ensure-docker.sh && scripts/build-sandbox-image.sh`). Set
//! `SELFHEAL_SKIP_DOCKER=1` to skip them on a machine without Docker; without
//! it, a missing engine or image fails the suite.

mod docker;
mod dockerfile;
mod environment;
mod git;
mod install;
mod local;
mod project;
mod replay;
mod workflow;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use selfheal_validate::{DEFAULT_IMAGE, DockerSandbox, Limits};

/// Label each test puts on its containers, so it can check that none is left behind.
const TEST_LABEL: &str = "org.selfheal.test";

/// A sandbox whose containers carry `TEST_LABEL=case`, or `None` (after a loud
/// message) when the environment asks to skip Docker tests.
#[allow(
    clippy::print_stderr,
    reason = "a skipped Docker test must say so where the test output shows it"
)]
async fn sandbox(case: &str) -> Option<DockerSandbox> {
    if std::env::var("SELFHEAL_SKIP_DOCKER").as_deref() == Ok("1") {
        eprintln!(
            "!!! SKIPPED {case}: SELFHEAL_SKIP_DOCKER=1, the Docker sandbox was NOT tested !!!"
        );
        return None;
    }
    let sandbox = DockerSandbox::connect_to(None, DEFAULT_IMAGE, Limits::default())
        .await
        .expect(
            "docker engine reachable (run scripts/ensure-docker.sh, or set SELFHEAL_SKIP_DOCKER=1)",
        );
    assert!(
        sandbox.image_present().await.expect("inspect image"),
        "image {DEFAULT_IMAGE} missing: run scripts/build-sandbox-image.sh"
    );
    Some(sandbox.with_label(TEST_LABEL, case))
}

async fn engine() -> Docker {
    Docker::connect_with_local_defaults()
        .expect("socket")
        .negotiate_version()
        .await
        .expect("engine")
}

/// The containers labelled for `case`, running or not, with their states.
async fn containers(
    docker: &Docker,
    case: &str,
    only_running: bool,
) -> Vec<(Option<String>, String)> {
    let mut filters = HashMap::from([("label", vec![format!("{TEST_LABEL}={case}")])]);
    if only_running {
        filters.insert("status", vec!["running".to_owned()]);
    }
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .expect("list containers")
        .into_iter()
        .map(|c| (c.id, format!("{:?}", c.state)))
        .collect()
}

/// Waits (bounded) until no container labelled for `case` exists, running or not.
async fn assert_no_container_left(case: &str) {
    let docker = engine().await;
    let give_up = Instant::now() + Duration::from_secs(15);
    loop {
        let left = containers(&docker, case, false).await;
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "containers left behind by {case}: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Drives `validation` until its container runs, then drops it mid-step, as Ctrl-C would.
async fn drop_once_running(case: &str, validation: impl Future) {
    let running = async {
        let docker = engine().await;
        let give_up = Instant::now() + Duration::from_secs(30);
        while containers(&docker, case, true).await.is_empty() {
            assert!(
                Instant::now() < give_up,
                "the container of {case} never ran"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Let the step itself start, so the drop lands inside it.
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    tokio::select! {
        _ = validation => panic!("the validation of {case} finished instead of being abandoned"),
        () = running => {}
    }
}

fn write(root: &Path, rel: &str, body: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, body).expect("write");
}

/// Every path under `root` with its contents (directories as `<dir>`).
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            if path.is_dir() {
                out.insert(rel, "<dir>".to_owned());
                pending.push(path);
            } else {
                out.insert(
                    rel,
                    std::fs::read_to_string(&path).unwrap_or_else(|_| "<binary>".to_owned()),
                );
            }
        }
    }
    out
}

/// A tiny Python project: `calc.add` and two tests, one of which fails unless `fixed`.
fn calc_project(root: &Path, fixed: bool) {
    let op = if fixed { "+" } else { "-" };
    write(
        root,
        "calc.py",
        &format!("def add(a, b):\n    return a {op} b\n"),
    );
    write(
        root,
        "tests/test_calc.py",
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 1) == 3\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n",
    );
    // pytest's rootdir/conftest so `from calc import add` works from /work.
    write(root, "conftest.py", "");
}
