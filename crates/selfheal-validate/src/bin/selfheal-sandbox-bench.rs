//! What the sandbox adds to a test run, side by side with `docker run --rm`.
//!
//! ```text
//! cargo run --release -p selfheal-validate --bin selfheal-sandbox-bench -- [--runs N] [--image IMG]
//! ```
//!
//! Writes a small pytest project (five tests) into a temporary directory and,
//! after one warm-up round, measures N rounds of three ways to run the same
//! command, interleaved so that a machine that slows down mid-bench slows all
//! three alike:
//!
//! - **exec**: the command alone, as an exec in a container that already runs
//!   (the project bind-mounted read-only): the floor no sandbox can go under;
//! - **sandbox**: [`DockerSandbox::validate_timed`] of a one-step plan, whole
//!   wall time and its phases;
//! - **docker run**: `docker run --rm --network none -v <tree>:/work:ro <image>
//!   sh -c <cmd>` through the docker CLI: what a plain container adds.
//!
//! Overheads are the median and p90 of each round's time minus that round's exec. Needs a Docker Engine
//! and the image; prints to stdout, exits 1 if a run does not pass.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark binary: its report is its output"
)]

use std::collections::HashMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use futures_util::StreamExt;
use selfheal_types::ValidationOutcome;
use selfheal_validate::{
    DEFAULT_IMAGE, DockerSandbox, Limits, PROJECT_DIR, PhaseTimings, TestStep, ValidationPlan,
};

const COMMAND: &str = "python -m pytest -q -p no:cacheprovider";
const USAGE: &str = "usage: selfheal-sandbox-bench [--runs N] [--image IMG]";

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Args {
    runs: usize,
    image: String,
}

fn parse_args() -> std::result::Result<Args, String> {
    let mut args = Args {
        runs: 10,
        image: DEFAULT_IMAGE.to_owned(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--runs" => {
                args.runs = value("--runs")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?;
                if args.runs == 0 {
                    return Err("--runs must be at least 1".to_owned());
                }
            }
            "--image" => args.image = value("--image")?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let project = Project::new();
    let outcome = match project {
        Ok(project) => {
            let result = bench(&args, &project.0).await;
            drop(project);
            result
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The small project, in a directory removed when this is dropped.
struct Project(PathBuf);

impl Project {
    fn new() -> Result<Self> {
        let root =
            std::env::temp_dir().join(format!("selfheal-sandbox-bench-{}", std::process::id()));
        let project = Self(root);
        let write = |rel: &str, body: &str| -> std::io::Result<()> {
            let path = project.0.join(rel);
            std::fs::create_dir_all(path.parent().unwrap_or(&project.0))?;
            std::fs::write(path, body)
        };
        write(
            "calc.py",
            "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n",
        )?;
        write("conftest.py", "")?;
        write(
            "tests/test_calc.py",
            "from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 1) == 3\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n\n\ndef test_negative():\n    assert add(-2, 1) == -1\n\n\ndef test_mul():\n    assert mul(3, 4) == 12\n\n\ndef test_mul_zero():\n    assert mul(7, 0) == 0\n",
        )?;
        // Readable by the unprivileged users of the exec and docker-run containers.
        std::fs::set_permissions(
            &project.0,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )?;
        Ok(project)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn bench(args: &Args, tree: &Path) -> Result<()> {
    let sandbox = DockerSandbox::connect(&args.image, Limits::default()).await?;
    if !sandbox.image_present().await? {
        return Err(format!("image {} is not in the engine", args.image).into());
    }
    let docker = Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?;
    let plan = ValidationPlan::new(
        vec![TestStep::new("tests", COMMAND)],
        Duration::from_secs(300),
    );
    let running = RunningContainer::start(&docker, &args.image, tree).await?;
    let result = rounds(args, tree, &sandbox, &running, &plan).await;
    running.remove().await;
    let (exec, sandboxed, phases, docker_run) = result?;

    println!(
        "selfheal-sandbox-bench: {} runs (after 1 warm-up) of `{COMMAND}` (5 tests) in {}; engine {}",
        args.runs,
        args.image,
        sandbox.engine_version().await?
    );
    println!();
    println!("{:<34} {:>10} {:>10}", "", "median ms", "p90 ms");
    let row = |name: &str, samples: &[Duration]| {
        println!(
            "{name:<34} {:>10.0} {:>10.0}",
            ms(percentile(samples, 50)),
            ms(percentile(samples, 90))
        );
    };
    row("(a) exec in a running container", &exec);
    row("(b) DockerSandbox::validate", &sandboxed);
    row("(c) docker run --rm (CLI)", &docker_run);
    println!();
    println!("phases of (b):");
    let phase = |name: &str, pick: fn(&PhaseTimings) -> Duration| {
        let samples: Vec<Duration> = phases.iter().map(pick).collect();
        row(&format!("  {name}"), &samples);
    };
    phase("pack", |t| t.pack);
    phase("create", |t| t.create);
    phase("upload", |t| t.upload);
    phase("start", |t| t.start);
    phase("run (exec + output)", |t| t.run);
    phase("collect (exit code)", |t| t.collect);
    phase("remove", |t| t.remove);
    println!();
    // Paired by round (the three ran back to back), so a busy moment on the
    // machine cancels out instead of landing in one column.
    let overhead = |name: &str, samples: &[Duration]| {
        let mut diffs: Vec<f64> = samples
            .iter()
            .zip(&exec)
            .map(|(s, e)| ms(*s) - ms(*e))
            .collect();
        diffs.sort_by(f64::total_cmp);
        let pick = |pct: usize| diffs[(diffs.len() * pct).div_ceil(100).max(1) - 1];
        println!("{name:<34} {:>10.0} {:>10.0}", pick(50), pick(90));
    };
    println!("overhead over (a), per round:");
    overhead("  (b) - (a)  sandbox", &sandboxed);
    overhead("  (c) - (a)  docker run --rm", &docker_run);
    Ok(())
}

type Samples = (
    Vec<Duration>,
    Vec<Duration>,
    Vec<PhaseTimings>,
    Vec<Duration>,
);

async fn rounds(
    args: &Args,
    tree: &Path,
    sandbox: &DockerSandbox,
    running: &RunningContainer,
    plan: &ValidationPlan,
) -> Result<Samples> {
    let mut samples: Samples = Default::default();
    for round in 0..=args.runs {
        let exec = running.exec(COMMAND).await?;
        let began = Instant::now();
        let (report, timings) = sandbox.validate_timed(tree, plan).await?;
        let sandboxed = began.elapsed();
        if report.outcome != ValidationOutcome::Passed {
            return Err(format!("the sandboxed run did not pass: {report:#?}").into());
        }
        let docker_run = docker_run(&args.image, tree)?;
        eprintln!(
            "round {round}{}: exec {:.0} ms, sandbox {:.0} ms, docker run {:.0} ms",
            if round == 0 { " (warm-up)" } else { "" },
            ms(exec),
            ms(sandboxed),
            ms(docker_run)
        );
        if round > 0 {
            samples.0.push(exec);
            samples.1.push(sandboxed);
            samples.2.push(timings);
            samples.3.push(docker_run);
        }
    }
    Ok(samples)
}

/// The reference: a plain `docker run --rm` of the same command through the CLI.
fn docker_run(image: &str, tree: &Path) -> Result<Duration> {
    let began = Instant::now();
    let output = std::process::Command::new("docker")
        .args(["run", "--rm", "--network", "none", "-v"])
        .arg(format!("{}:{PROJECT_DIR}:ro", tree.display()))
        .args(["-w", PROJECT_DIR, "-e", "PYTHONDONTWRITEBYTECODE=1", image])
        .args(["sh", "-c", COMMAND])
        .output()?;
    let took = began.elapsed();
    if !output.status.success() {
        return Err(format!(
            "docker run failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(took)
}

/// A container that runs for the whole bench, for the exec baseline.
struct RunningContainer {
    docker: Docker,
    id: String,
}

impl RunningContainer {
    async fn start(docker: &Docker, image: &str, tree: &Path) -> Result<Self> {
        let config = ContainerCreateBody {
            image: Some(image.to_owned()),
            cmd: Some(vec!["sleep".to_owned(), "3600".to_owned()]),
            entrypoint: Some(Vec::new()),
            user: Some("1000:1000".to_owned()),
            working_dir: Some(PROJECT_DIR.to_owned()),
            env: Some(vec![
                "PYTHONDONTWRITEBYTECODE=1".to_owned(),
                "HOME=/tmp".to_owned(),
            ]),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                network_mode: Some("none".to_owned()),
                binds: Some(vec![format!("{}:{PROJECT_DIR}:ro", tree.display())]),
                init: Some(true),
                tmpfs: Some(HashMap::from([(
                    "/tmp".to_owned(),
                    "rw,size=64m".to_owned(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                config,
            )
            .await?
            .id;
        let running = Self {
            docker: docker.clone(),
            id,
        };
        if let Err(e) = docker.start_container(&running.id, None).await {
            running.remove().await;
            return Err(e.into());
        }
        Ok(running)
    }

    /// Runs `command` to its end and returns how long that took, output read in full.
    async fn exec(&self, command: &str) -> Result<Duration> {
        let began = Instant::now();
        let exec = self
            .docker
            .create_exec(
                &self.id,
                CreateExecOptions {
                    cmd: Some(vec!["sh", "-c", command]),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    working_dir: Some(PROJECT_DIR),
                    ..Default::default()
                },
            )
            .await?;
        if let StartExecResults::Attached { mut output, .. } =
            self.docker.start_exec(&exec.id, None).await?
        {
            while let Some(chunk) = output.next().await {
                chunk?;
            }
        }
        let took = began.elapsed();
        let code = self.docker.inspect_exec(&exec.id).await?.exit_code;
        if code != Some(0) {
            return Err(format!("the exec baseline exited with {code:?}").into());
        }
        Ok(took)
    }

    async fn remove(self) {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        if let Err(e) = self.docker.remove_container(&self.id, Some(options)).await {
            eprintln!("warning: could not remove container {}: {e}", self.id);
        }
    }
}

fn percentile(samples: &[Duration], pct: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    // Nearest rank: the smallest sample with at least pct% of samples at or below it.
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
