//! `--sandbox local`: the same reports from a temporary copy run as subprocesses.
//! Needs no Docker, only `sh` and, for the pytest cases, a Python with pytest.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use selfheal_types::{StepResult, ValidationOutcome};
use selfheal_validate::{
    FAILING_STEP, FULL_STEP, LOCAL_SANDBOX, LocalSandbox, Sandbox, TestStep, ValidationPlan,
};

use super::{calc_project, snapshot, write};

const MINUTE: Duration = Duration::from_secs(60);

/// A sandbox whose temporary directories go under `parent`, finding programs
/// on this process's `PATH` with the directory of a Python that has pytest
/// first (a pyenv shim needs more of the environment than a step gets).
fn local(parent: &Path) -> LocalSandbox {
    let python = std::process::Command::new("python3")
        .args(["-c", "import sys, pytest; print(sys.executable)"])
        .output()
        .expect("python3 runs (the local pytest cases need a Python with pytest)");
    assert!(
        python.status.success(),
        "python3 with pytest needed: {}",
        String::from_utf8_lossy(&python.stderr)
    );
    let exe = PathBuf::from(String::from_utf8_lossy(&python.stdout).trim());
    let mut path = OsString::from(exe.parent().expect("bin dir"));
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    LocalSandbox::new().with_path(path).with_temp_parent(parent)
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

/// Whether the process `pid` is gone (or a zombie nobody reaped yet).
fn dead(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
    })
}

#[tokio::test]
async fn local_a_passing_and_a_failing_suite_are_reported_like_docker() {
    let temp = tempfile::tempdir().expect("tempdir");
    let sandbox = local(temp.path());
    let failing = ["tests/test_calc.py::test_add".to_owned()];
    let plan = ValidationPlan::failing_then_full(
        &failing,
        "python3 -m pytest -q -p no:cacheprovider {tests}",
        "python3 -m pytest -q -p no:cacheprovider",
        MINUTE,
    );

    let broken = tempfile::tempdir().expect("tempdir");
    calc_project(broken.path(), false);
    let before = snapshot(broken.path());
    let report = sandbox
        .validate(broken.path(), &plan)
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Failed, "{report:#?}");
    assert_eq!(report.image, LOCAL_SANDBOX);
    assert_eq!(report.steps.len(), 1, "the plan stops at the failing step");
    let step = &report.steps[0];
    assert_eq!(
        (step.name.as_str(), step.exit_code, step.timed_out),
        (FAILING_STEP, Some(1), false)
    );
    assert_eq!(
        step.command,
        "python3 -m pytest -q -p no:cacheprovider tests/test_calc.py::test_add"
    );
    let section = step.failure_section.as_deref().expect("pytest's FAILURES");
    assert!(section.contains("assert 1 == 3"), "{section}");
    assert!(
        step.output_tail.contains("1 failed"),
        "{}",
        step.output_tail
    );
    assert_eq!(
        snapshot(broken.path()),
        before,
        "the workdir must not change"
    );

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
        .map(|s| (s.name.as_str(), s.exit_code, s.failure_section.is_none()))
        .collect();
    assert_eq!(
        summary,
        [(FAILING_STEP, Some(0), true), (FULL_STEP, Some(0), true)]
    );
    assert!(report.steps[1].output_tail.contains("2 passed"));
    assert_eq!(
        entries(temp.path()),
        Vec::<String>::new(),
        "temp dirs removed"
    );
}

#[tokio::test]
async fn local_the_copy_skips_vcs_and_caches_and_ids_stay_arguments() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "src/app.txt", "app\n");
    write(dir.path(), ".git/HEAD", "ref: refs/heads/main\n");
    write(dir.path(), "node_modules/x/index.js", "junk\n");
    write(dir.path(), "__pycache__/a.pyc", "junk\n");
    let ids = vec!["a b".to_owned(), "$(touch pwned)".to_owned()];
    let plan = ValidationPlan::new(
        vec![
            TestStep::new(
                "list",
                "printf '<%s>\\n' \"$@\"; find . | sort; test ! -e pwned",
            )
            .with_args(ids),
        ],
        MINUTE,
    );
    let report = local(temp.path())
        .validate(dir.path(), &plan)
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    assert_eq!(
        report.steps[0].output_tail,
        "<a b>\n<$(touch pwned)>\n.\n./src\n./src/app.txt\n"
    );
}

#[tokio::test]
async fn local_a_timeout_kills_the_step_its_child_and_grandchild() {
    let temp = tempfile::tempdir().expect("tempdir");
    let pids = tempfile::tempdir().expect("tempdir");
    let pid_file = pids.path().join("pids");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    // The child starts a grandchild, both sleep; neither may outlive the limit.
    let plan = ValidationPlan::new(
        vec![
            TestStep::new(
                "hangs",
                "sh -c 'sleep 300 & echo $! >> \"$1\"; sleep 300' child \"$1\" & echo $! >> \"$1\"; echo started; wait",
            )
            .with_args(vec![pid_file.display().to_string()])
            .with_timeout(Duration::from_secs(2)),
            TestStep::new("after", "echo must not run"),
        ],
        MINUTE,
    );
    let began = Instant::now();
    let report = local(temp.path())
        .validate(dir.path(), &plan)
        .await
        .expect("validates");
    let took = began.elapsed();

    assert_eq!(report.outcome, ValidationOutcome::TimedOut);
    assert_eq!(report.steps.len(), 1, "the plan stops at the timeout");
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
    assert!((2_000..5_000).contains(&duration_ms), "{duration_ms} ms");
    assert!(took < Duration::from_secs(8), "{took:?}");
    let pids: Vec<u32> = std::fs::read_to_string(&pid_file)
        .expect("pids written")
        .split_whitespace()
        .map(|p| p.parse().expect("pid"))
        .collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    let give_up = Instant::now() + Duration::from_secs(5);
    while !pids.iter().all(|&p| dead(p)) {
        assert!(Instant::now() < give_up, "still alive: {pids:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        entries(temp.path()),
        Vec::<String>::new(),
        "temp dir removed"
    );
}

#[tokio::test]
async fn local_a_missing_command_is_an_environment_error() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    let plan = ValidationPlan::new(
        vec![TestStep::new("step", "selfheal-no-such-tool-4711 test")],
        MINUTE,
    );
    let report = local(temp.path())
        .validate(dir.path(), &plan)
        .await
        .expect("validates");
    let want = "the command \"selfheal-no-such-tool-4711\" was not found in the local sandbox (this machine's PATH)";
    assert_eq!(report.outcome, ValidationOutcome::EnvironmentError);
    assert_eq!(report.environment_error(), Some(want));
    assert_eq!(report.steps[0].exit_code, Some(127));
}

#[tokio::test]
async fn local_steps_see_a_scrubbed_environment_and_the_plans_own() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    // The caller's environment, given rather than set: never mutate the process's.
    let caller: Vec<(OsString, OsString)> = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("GITHUB_TOKEN", "ghp_selfheal_secret"),
        ("OPENAI_API_KEY", "sk-selfheal-secret"),
        ("AWS_SECRET_ACCESS_KEY", "aws-selfheal-secret"),
        ("RUSTUP_TOOLCHAIN", "stable"),
        ("HOME", "/root"),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v.into()))
    .collect();
    let sandbox = LocalSandbox::from_env(caller, None).with_temp_parent(temp.path());
    let plan =
        ValidationPlan::new(vec![TestStep::new("env", "env | sort")], MINUTE).with_env(vec![
            ("DATABASE_URL".to_owned(), "sqlite://".to_owned()),
            // A plan cannot move HOME out of the temporary directory.
            ("HOME".to_owned(), "/root".to_owned()),
            ("BAD=NAME".to_owned(), "x".to_owned()),
        ]);
    let report = sandbox
        .validate(dir.path(), &plan)
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    let out = report.steps[0].output_tail.clone();
    let vars: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, _)| k != "PWD" && k != "OLDPWD" && k != "SHLVL" && k != "_")
        .collect();
    let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "CI",
            "DATABASE_URL",
            "HOME",
            "LANG",
            "LC_ALL",
            "PATH",
            "PYTHONDONTWRITEBYTECODE",
            "RUSTUP_TOOLCHAIN",
            "TERM",
            "TMPDIR"
        ],
        "{out}"
    );
    assert!(!out.contains("secret"), "{out}");
    let get = |k: &str| {
        vars.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    for k in ["HOME", "TMPDIR"] {
        // Removed by now; its path tells where it was.
        assert!(
            Path::new(&get(k)).starts_with(temp.path()),
            "{k}={} is not in the temporary directory",
            get(k)
        );
    }
    assert_eq!(get("PATH"), "/usr/local/bin:/usr/bin:/bin");
    assert_eq!(get("TERM"), "dumb");
    assert_eq!(get("CI"), "true");
}

#[tokio::test]
async fn local_a_dropped_validation_kills_its_processes_and_removes_its_copy() {
    let temp = tempfile::tempdir().expect("tempdir");
    let pids = tempfile::tempdir().expect("tempdir");
    let pid_file = pids.path().join("pids");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    let plan = ValidationPlan::new(
        vec![
            TestStep::new("hangs", "sleep 300 & echo $! >> \"$1\"; wait")
                .with_args(vec![pid_file.display().to_string()]),
        ],
        MINUTE,
    );
    let sandbox = local(temp.path());
    let validation = sandbox.validate(dir.path(), &plan);
    let started = async {
        while !pid_file.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        _ = validation => panic!("the validation finished instead of being dropped"),
        () = started => {}
    }
    // Dropped, as on Ctrl-C: the group is killed and the copy removed at once.
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let give_up = Instant::now() + Duration::from_secs(5);
    while !dead(pid) {
        assert!(Instant::now() < give_up, "sleep {pid} survived the drop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        entries(temp.path()),
        Vec::<String>::new(),
        "temp dir removed"
    );
}

#[tokio::test]
async fn local_read_only_leftovers_are_removed_too() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    // Go's module cache is read-only directories; removal must cope.
    let plan = ValidationPlan::new(
        vec![TestStep::new(
            "ro",
            "mkdir -p cache/a && touch cache/a/f && chmod -R a-w cache",
        )],
        MINUTE,
    );
    let report = local(temp.path())
        .validate(dir.path(), &plan)
        .await
        .expect("validates");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    assert_eq!(
        entries(temp.path()),
        Vec::<String>::new(),
        "temp dir removed"
    );
}

#[tokio::test]
async fn local_the_sandbox_adds_little_to_a_step() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    calc_project(dir.path(), true);
    let sandbox = LocalSandbox::new().with_temp_parent(temp.path());
    let plan = ValidationPlan::new(vec![TestStep::new("noop", "true")], MINUTE);
    let mut took = Vec::new();
    for _ in 0..5 {
        let began = Instant::now();
        let report = sandbox
            .validate(dir.path(), &plan)
            .await
            .expect("validates");
        took.push(began.elapsed());
        assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    }
    took.sort();
    #[allow(
        clippy::print_stderr,
        reason = "the measured time is part of the report"
    )]
    {
        eprintln!(
            "local sandbox, copy + `true` + removal: median {:?}, max {:?}",
            took[2], took[4]
        );
    }
    // A few milliseconds alone; the bound leaves room for a busy machine.
    assert!(took[2] < Duration::from_secs(1), "{took:?}");
}
