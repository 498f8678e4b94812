use std::time::{Duration, Instant};

use selfheal_types::{StepResult, ValidationOutcome};
use std::collections::HashMap;

use bollard::models::ContainerCreateBody;
use selfheal_validate::{
    CONTAINER_LABEL, DEFAULT_IMAGE, DockerSandbox, FAILING_STEP, FULL_STEP, Leftover, Limits,
    OMITTED_MARKER, SECTION_CUT_MARKER, Sandbox, TAIL_MAX_BYTES, TestStep, ValidateError,
    ValidationPlan,
};

use super::{
    TEST_LABEL, assert_no_container_left, calc_project, drop_once_running, engine, sandbox,
    snapshot, write,
};

const PYTEST: &str = "python -m pytest -q -p no:cacheprovider";
const MINUTE: Duration = Duration::from_secs(60);

fn one_step(command: &str, timeout: Duration) -> ValidationPlan {
    ValidationPlan::new(vec![TestStep::new("step", command)], timeout)
}

#[tokio::test]
async fn a_passing_project_passes_and_leaves_the_workdir_alone() {
    let case = "passing";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    calc_project(dir.path(), true);
    let before = snapshot(dir.path());

    // The default pytest run writes .pytest_cache: inside the container only.
    let plan = ValidationPlan::failing_then_full(&[], "", "python -m pytest -q", MINUTE);
    let report = sandbox
        .validate(dir.path(), &plan)
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    assert_eq!(report.image, DEFAULT_IMAGE);
    assert_eq!(report.steps.len(), 1);
    let step = &report.steps[0];
    assert_eq!(
        (step.name.as_str(), step.exit_code, step.timed_out),
        (FULL_STEP, Some(0), false)
    );
    assert!(
        step.output_tail.contains("2 passed"),
        "{}",
        step.output_tail
    );
    assert_eq!(snapshot(dir.path()), before, "the workdir must not change");
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn a_failing_test_reports_its_exit_code_and_assertion() {
    let case = "failing";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    calc_project(dir.path(), false);

    let report = sandbox
        .validate(dir.path(), &one_step(PYTEST, MINUTE))
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::Failed);
    let failed = report.failed_step().expect("a failed step");
    assert_eq!((failed.exit_code, failed.timed_out), (Some(1), false));
    assert!(
        failed.output_tail.contains("assert 1 == 3"),
        "{}",
        failed.output_tail
    );
    assert!(
        failed.output_tail.contains("1 failed, 1 passed"),
        "{}",
        failed.output_tail
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn failing_tests_run_first_and_a_failure_stops_the_plan() {
    let case = "order";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let failing = ["tests/test_calc.py::test_add".to_owned()];
    let plan =
        ValidationPlan::failing_then_full(&failing, &format!("{PYTEST} {{tests}}"), PYTEST, MINUTE);

    // Still broken: the focused step fails, the full suite never runs.
    let broken = tempfile::tempdir().expect("tempdir");
    calc_project(broken.path(), false);
    let report = sandbox
        .validate(broken.path(), &plan)
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Failed);
    let names: Vec<_> = report.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [FAILING_STEP]);
    assert!(
        report.steps[0].output_tail.contains("1 failed"),
        "{}",
        report.steps[0].output_tail
    );

    // Fixed: both steps, focused one first (one test), then the whole suite (two).
    let fixed = tempfile::tempdir().expect("tempdir");
    calc_project(fixed.path(), true);
    let report = sandbox
        .validate(fixed.path(), &plan)
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    let summary: Vec<_> = report
        .steps
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.exit_code,
                s.output_tail.contains("1 passed"),
                s.output_tail.contains("2 passed"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (FAILING_STEP, Some(0), true, false),
            (FULL_STEP, Some(0), false, true)
        ]
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn a_step_past_its_own_time_limit_is_killed_and_reported() {
    let case = "timeout";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    // The plan allows a minute; the step itself only 2 s.
    let plan = ValidationPlan::new(
        vec![
            TestStep::new("hangs", "echo started; sleep 60; echo never")
                .with_timeout(Duration::from_secs(2)),
            TestStep::new("after", "echo must not run"),
        ],
        MINUTE,
    );

    let began = Instant::now();
    let report = sandbox
        .validate(dir.path(), &plan)
        .await
        .expect("validates");
    let took = began.elapsed();

    assert_eq!(report.outcome, ValidationOutcome::TimedOut);
    assert_eq!(
        report.steps.len(),
        1,
        "the plan stops at the step that timed out"
    );
    let StepResult {
        exit_code,
        timed_out,
        ref output_tail,
        duration_ms,
        ref environment_error,
        ..
    } = report.steps[0];
    assert_eq!(
        (
            exit_code,
            timed_out,
            output_tail.as_str(),
            environment_error
        ),
        (None, true, "started\n", &None)
    );
    // Generous bounds for a busy machine; the step alone would take 60 s.
    assert!(
        (2_000..5_000).contains(&duration_ms),
        "step ran {duration_ms} ms"
    );
    assert!(took < Duration::from_secs(12), "validation took {took:?}");
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn the_plan_timeout_caps_every_step() {
    let case = "plan-timeout";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    // A step's own limit (the default 300 s) is capped by the plan's 2 s.
    let plan = one_step("sleep 60", Duration::from_secs(2));

    let report = sandbox
        .validate(dir.path(), &plan)
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::TimedOut);
    assert!(report.steps[0].duration_ms < 5_000, "{report:#?}");
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn test_ids_from_logs_reach_the_runner_as_single_arguments_never_as_shell() {
    let case = "argv";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    let ids = [
        "tests/x.py::test[$(touch /tmp/pwned)]".to_owned(),
        "t.py::test[a b]; touch /tmp/pwned2".to_owned(),
        "it's `touch /tmp/pwned3`".to_owned(),
    ];
    let plan = ValidationPlan::failing_then_full(
        &ids,
        "printf '<%s>\\n' {tests}",
        "ls /tmp; test ! -e /tmp/pwned && test ! -e /tmp/pwned2 && test ! -e /tmp/pwned3 && echo clean",
        MINUTE,
    );

    let report = sandbox
        .validate(dir.path(), &plan)
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    assert_eq!(
        report.steps[0].output_tail,
        "<tests/x.py::test[$(touch /tmp/pwned)]>\n<t.py::test[a b]; touch /tmp/pwned2>\n<it's `touch /tmp/pwned3`>\n"
    );
    // What the report shows is the quoted form a person could paste.
    assert_eq!(
        report.steps[0].command,
        r"printf '<%s>\n' 'tests/x.py::test[$(touch /tmp/pwned)]' 't.py::test[a b]; touch /tmp/pwned2' 'it'\''s `touch /tmp/pwned3`'"
    );
    assert!(
        report.steps[1].output_tail.ends_with("clean\n"),
        "{}",
        report.steps[1].output_tail
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn the_failures_block_comes_from_the_whole_output_not_the_tail() {
    let case = "failure-section";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "conftest.py", "");
    write(
        dir.path(),
        "tests/test_long.py",
        "def test_first():\n    assert 1 == 2, 'the first failure'\n\n\ndef test_noisy():\n    for i in range(400):\n        print('captured line', i)\n    assert False\n",
    );

    let report = sandbox
        .validate(dir.path(), &one_step(PYTEST, MINUTE))
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::Failed);
    let step = &report.steps[0];
    // The tail holds only the end of the noisy test's captured output.
    assert!(
        step.output_tail.starts_with(OMITTED_MARKER),
        "{}",
        step.output_tail
    );
    // The failing source line is shown only in the block, far above the tail.
    let source_line = ">       assert 1 == 2, 'the first failure'";
    assert!(
        !step.output_tail.contains(source_line),
        "{}",
        step.output_tail
    );
    let section = step.failure_section.as_deref().expect("a failures section");
    assert!(
        section.starts_with(
            "=================================== FAILURES ==================================="
        ),
        "{section}"
    );
    assert!(section.contains(source_line), "{section}");
    // Cut to its bounds, the block still ends with pytest's summary and count.
    assert!(section.contains(SECTION_CUT_MARKER), "{section}");
    assert!(
        section
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("2 failed in ")),
        "{section}"
    );
    assert!(
        section.contains("FAILED tests/test_long.py::test_noisy"),
        "{section}"
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn filling_tmp_fails_inside_the_test_not_on_the_host() {
    let case = "tmpfs";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let sandbox = sandbox.with_tmp_bytes(16 * 1024 * 1024);
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    let command = "df -k /tmp | tail -1 | awk '{print $2}'; head -c 8388608 /dev/zero > /tmp/half && echo half fits; { head -c 33554432 /dev/zero > /tmp/big; } 2>&1; echo exit=$?";

    let report = sandbox
        .validate(dir.path(), &one_step(command, MINUTE))
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    let tail = &report.steps[0].output_tail;
    assert!(tail.starts_with("16384\nhalf fits\n"), "{tail}");
    assert!(tail.contains("No space left on device"), "{tail}");
    assert!(tail.ends_with("exit=1\n"), "{tail}");
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn the_network_is_off() {
    let case = "network";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "net.py",
        "import socket\nprint(sorted(n for _, n in socket.if_nameindex()), flush=True)\nsocket.create_connection(('1.1.1.1', 53), timeout=5)\nprint('connected')\n",
    );

    let report = sandbox
        .validate(dir.path(), &one_step("python net.py", MINUTE))
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::Failed);
    let tail = &report.steps[0].output_tail;
    assert!(tail.starts_with("['lo']\n"), "only loopback exists: {tail}");
    assert!(tail.contains("Network is unreachable"), "{tail}");
    assert!(!tail.contains("connected"), "{tail}");
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn steps_run_unprivileged_on_a_copy_with_modes_kept_and_caches_skipped() {
    let case = "lockdown";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "run.sh", "#!/bin/sh\necho script ran\n");
    std::fs::set_permissions(
        dir.path().join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    write(dir.path(), ".git/HEAD", "ref: refs/heads/main\n");
    write(dir.path(), "node_modules/x/index.js", "junk\n");
    write(dir.path(), "pkg/__pycache__/m.pyc", "junk\n");
    let before = snapshot(dir.path());
    let script = [
        "./run.sh",
        "id -u",
        "grep CapEff /proc/self/status",
        "grep NoNewPrivs /proc/self/status",
        "echo CI=$CI PYTHONDONTWRITEBYTECODE=$PYTHONDONTWRITEBYTECODE",
        "pwd",
        "test ! -e .git && test ! -e node_modules && test ! -e pkg/__pycache__ && test -d pkg && echo skipped",
        "touch made-inside && rm run.sh && echo wrote",
    ]
    .join(" && ");

    let report = sandbox
        .validate(dir.path(), &one_step(&script, MINUTE))
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    let lines: Vec<_> = report.steps[0]
        .output_tail
        .lines()
        .map(str::split_whitespace)
        .map(|w| w.collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "script ran",
            "1000",
            "CapEff: 0000000000000000",
            "NoNewPrivs: 1",
            "CI=true PYTHONDONTWRITEBYTECODE=1",
            "/work",
            "skipped",
            "wrote",
        ]
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "changes inside the sandbox must not reach the workdir"
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn the_memory_limit_kills_a_hungry_step_and_says_so() {
    let case = "memory";
    if sandbox(case).await.is_none() {
        return;
    }
    let limits = Limits {
        memory_bytes: 128 * 1024 * 1024,
        ..Limits::default()
    };
    let sandbox = DockerSandbox::connect_to(None, DEFAULT_IMAGE, limits)
        .await
        .expect("engine")
        .with_label(super::TEST_LABEL, case);
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    let command = "python -c \"print('allocating', flush=True); b = bytearray(512 * 1024 * 1024); print('survived')\"";

    let report = sandbox
        .validate(dir.path(), &one_step(command, MINUTE))
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::Failed);
    let step = &report.steps[0];
    assert_eq!(step.exit_code, Some(137), "{}", step.output_tail);
    assert!(
        !step.output_tail.contains("survived"),
        "{}",
        step.output_tail
    );
    assert!(
        step.output_tail.contains("memory limit of 128 MiB"),
        "{}",
        step.output_tail
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn a_fork_bomb_is_contained_by_the_process_limit() {
    let case = "fork-bomb";
    if sandbox(case).await.is_none() {
        return;
    }
    let limits = Limits {
        pids: 64,
        ..Limits::default()
    };
    let sandbox = DockerSandbox::connect_to(None, DEFAULT_IMAGE, limits)
        .await
        .expect("engine")
        .with_label(super::TEST_LABEL, case);
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    // Far more processes than the limit allows, each waiting: without the
    // limit this would fill the machine's process table.
    let command = "i=0; while [ $i -lt 500 ]; do sleep 30 & i=$((i+1)); done; wait";

    let started = Instant::now();
    let report = sandbox
        .validate(dir.path(), &one_step(command, Duration::from_secs(10)))
        .await
        .expect("validates");

    assert_ne!(report.outcome, ValidationOutcome::Passed);
    let step = &report.steps[0];
    assert!(
        step.output_tail.to_lowercase().contains("fork")
            || step
                .output_tail
                .contains("Resource temporarily unavailable"),
        "the shell hit the process limit: {}",
        step.output_tail
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "killed in time"
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn huge_output_keeps_only_the_tail() {
    let case = "huge";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    // About 4 MB of output, then the line that matters.
    let command = "python -c \"import sys\nfor i in range(200000): print('noise', i)\nprint('E   assert the end'); sys.exit(3)\"";

    let report = sandbox
        .validate(dir.path(), &one_step(command, MINUTE))
        .await
        .expect("validates");

    assert_eq!(report.outcome, ValidationOutcome::Failed);
    let step = &report.steps[0];
    assert_eq!(step.exit_code, Some(3));
    let tail = &step.output_tail;
    let body = tail
        .strip_prefix(&format!("{OMITTED_MARKER}\n"))
        .expect("marks the omission");
    assert!(body.len() <= TAIL_MAX_BYTES, "{} bytes", body.len());
    assert!(
        body.ends_with("noise 199999\nE   assert the end\n"),
        "{}",
        &body[body.len().saturating_sub(200)..]
    );
    assert!(
        body.starts_with("noise "),
        "starts at a whole line: {}",
        &body[..40]
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn a_dropped_validation_still_removes_its_container() {
    let case = "dropped";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    let plan = one_step("sleep 60", MINUTE);

    // Dropping the future mid-step is what Ctrl-C does to a running validation.
    drop_once_running(case, sandbox.validate(dir.path(), &plan)).await;
    assert_no_container_left(case).await;
}

#[test]
fn leftovers_of_a_runtime_shut_down_mid_validation_can_be_removed() {
    let case = "shutdown";
    let main = tokio::runtime::Runtime::new().expect("runtime");
    let Some(sandbox) = main.block_on(sandbox(case)) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    let plan = one_step("sleep 60", MINUTE);

    // A binary that returns from main on Ctrl-C: the validation is dropped and
    // the runtime goes with it, before the removal the guard scheduled can run.
    let doomed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    doomed.block_on(drop_once_running(case, sandbox.validate(dir.path(), &plan)));
    drop(doomed);

    let removed = main.block_on(sandbox.remove_leftovers()).expect("removes");
    assert_eq!(removed, 1);
    main.block_on(assert_no_container_left(case));
}

#[tokio::test]
async fn a_validation_cut_off_by_a_timeout_leaves_nothing_once_leftovers_are_removed() {
    let case = "timeout-dropped";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    let plan = one_step("echo started; sleep 30", MINUTE);

    // The caller's own deadline drops the future wherever it is, mid-step
    // normally, mid-request to the engine on a slow machine.
    let cut =
        tokio::time::timeout(Duration::from_secs(5), sandbox.validate(dir.path(), &plan)).await;
    assert!(cut.is_err(), "the validation ended by itself: {cut:?}");

    let removed = sandbox.remove_leftovers().await.expect("removes");
    assert!(removed <= 1, "one validation, {removed} containers");
    assert_no_container_left(case).await;
}

/// Creates, without starting it, a container labelled as a validation of process `pid`.
async fn labelled_container(case: &str, pid: u32) -> String {
    let labels = HashMap::from([
        (CONTAINER_LABEL.to_owned(), pid.to_string()),
        (TEST_LABEL.to_owned(), case.to_owned()),
    ]);
    let config = ContainerCreateBody {
        image: Some(DEFAULT_IMAGE.to_owned()),
        cmd: Some(vec!["sleep".to_owned(), "60".to_owned()]),
        labels: Some(labels),
        network_disabled: Some(true),
        ..Default::default()
    };
    engine()
        .await
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            config,
        )
        .await
        .expect("create")
        .id
}

fn by_id(mut leftovers: Vec<Leftover>) -> Vec<(String, Option<u32>, String, String, bool)> {
    leftovers.sort_by(|a, b| a.id.cmp(&b.id));
    leftovers
        .into_iter()
        .map(|l| {
            let stale = l.is_stale();
            assert!(l.created.is_some(), "{l:?}");
            (l.id, l.pid, l.image, l.state, stale)
        })
        .collect()
}

#[tokio::test]
async fn containers_of_dead_processes_are_stale_and_removed_those_of_live_ones_kept() {
    let case = "stale";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    // Pids are always below pid_max, so no process can hold this one.
    let dead: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .expect("pid_max")
        .trim()
        .parse()
        .expect("a number");
    let alive = std::process::id();
    let crashed = labelled_container(case, dead).await;
    let ours = labelled_container(case, alive).await;
    let entry = |id: &String, pid, stale| {
        (
            id.clone(),
            Some(pid),
            DEFAULT_IMAGE.to_owned(),
            "created".to_owned(),
            stale,
        )
    };
    let mut both = vec![entry(&crashed, dead, true), entry(&ours, alive, false)];
    both.sort();

    let listed = sandbox.list_leftovers().await.expect("lists");
    assert_eq!(by_id(listed), both);

    let removed = sandbox.remove_stale().await.expect("removes");
    assert_eq!(by_id(removed), [entry(&crashed, dead, true)]);
    // Removed means gone from the engine; the live process's container is untouched.
    let listed = sandbox.list_leftovers().await.expect("lists");
    assert_eq!(by_id(listed), [entry(&ours, alive, false)]);

    assert_eq!(sandbox.remove_leftovers().await.expect("removes"), 1);
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn a_missing_image_is_its_own_error_with_a_hint() {
    let case = "no-image";
    if sandbox(case).await.is_none() {
        return;
    }
    let sandbox =
        DockerSandbox::connect_to(None, "selfheal-no-such-image:never", Limits::default())
            .await
            .expect("engine")
            .with_label(super::TEST_LABEL, case);
    assert!(!sandbox.image_present().await.expect("inspect"));
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");

    let err = sandbox
        .validate(dir.path(), &one_step("true", MINUTE))
        .await
        .expect_err("no image");

    assert!(
        matches!(&err, ValidateError::ImageMissing { image } if image == "selfheal-no-such-image:never"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("hint: run scripts/build-sandbox-image.sh"),
        "{err}"
    );
    assert_no_container_left(case).await;
}

#[tokio::test]
async fn an_empty_plan_is_refused_rather_than_passed() {
    let case = "empty";
    let Some(sandbox) = sandbox(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let err = sandbox
        .validate(dir.path(), &ValidationPlan::new(vec![], MINUTE))
        .await
        .expect_err("empty");
    assert!(matches!(err, ValidateError::EmptyPlan), "{err:?}");
}

#[tokio::test]
async fn the_engine_reports_its_version() {
    let Some(sandbox) = sandbox("version").await else {
        return;
    };
    let version = sandbox.engine_version().await.expect("version");
    assert!(version.contains(" (api 1."), "{version}");
}

#[tokio::test]
async fn an_absent_engine_is_unreachable_with_a_hint() {
    // No Docker needed: nothing listens on this socket.
    let dir = tempfile::tempdir().expect("tempdir");
    let host = format!("unix://{}", dir.path().join("docker.sock").display());
    let err = DockerSandbox::connect_to(Some(&host), DEFAULT_IMAGE, Limits::default())
        .await
        .expect_err("no engine");
    assert!(
        matches!(&err, ValidateError::EngineUnreachable { host: h, .. } if *h == host),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("hint: run scripts/ensure-docker.sh"),
        "{err}"
    );

    let err = DockerSandbox::connect_to(Some("ssh://box"), DEFAULT_IMAGE, Limits::default())
        .await
        .expect_err("ssh");
    assert!(
        matches!(err, ValidateError::UnsupportedHost { .. }),
        "{err:?}"
    );
}
