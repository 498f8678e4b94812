//! [`DockerSandbox`]: one throw-away container per validation.
//!
//! One container per validation, not per step: the tree is uploaded once, and
//! the steps share the container's state the way steps of a CI job share a
//! runner (a step that builds or installs something is seen by the next). The
//! container's main process only sleeps; each step is a `docker exec`, so the
//! exit code and output of every step are its own. A step that overruns kills
//! the whole container, which also ends every process it started.
//!
//! Removal is layered because a leaked container keeps a copy of the user's
//! code and a slot of memory: the normal path awaits removal; a
//! [`ContainerGuard`] schedules it when the validation is abandoned (an error,
//! or the future dropped on Ctrl-C); and if the process dies before either can
//! run, the sleeping main process ends by itself after the steps' time limits plus a
//! grace period, and the engine's auto-remove deletes the container.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use selfheal_types::{StepResult, ValidationOutcome, ValidationReport};

use crate::error::status_code;
use crate::step::{self, millis};
use crate::tree::{self, Owner};
use crate::{Sandbox, TestStep, ValidateError, ValidationPlan};

/// The image `scripts/build-sandbox-image.sh` and the root `Dockerfile` build.
pub const DEFAULT_IMAGE: &str = "selfheal-sandbox-python:bookworm";
/// Label on every sandbox container, so leftovers can be found (`docker ps -a --filter label=...`).
pub const CONTAINER_LABEL: &str = "org.selfheal.validation";
/// Where the project tree is copied inside the container; steps run there.
pub const PROJECT_DIR: &str = "/work";
/// Engine address used when `DOCKER_HOST` is unset.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Default size of the in-memory `/tmp` of a sandbox container.
pub const DEFAULT_TMP_BYTES: u64 = 512 * 1024 * 1024;
/// Default bound on the bytes of files copied into the sandbox.
const DEFAULT_MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;
/// Time for creating, uploading and removing, on top of the steps' time limits,
/// before an orphaned container ends itself.
const SELF_DESTRUCT_GRACE: Duration = Duration::from_secs(120);
/// Per-request limit for the engine API (time to response headers; streamed
/// output is bounded by each step's timeout instead).
const REQUEST_TIMEOUT_SECS: u64 = 120;
/// How long [`DockerSandbox::remove_leftovers`] waits for removals the engine has under way.
const LEFTOVER_REMOVAL_WAIT: Duration = Duration::from_secs(15);
/// How long to wait for the engine to record a step's exit once its output has ended.
const EXIT_CODE_WAIT: Duration = Duration::from_secs(10);

/// Resource limits for the sandbox container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: i64,
    /// CPU quota in billionths of a CPU.
    pub nano_cpus: i64,
    /// Most processes and threads at once: stops a fork bomb in a test.
    pub pids: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 2 * 1024 * 1024 * 1024,
            nano_cpus: 2_000_000_000,
            pids: 512,
        }
    }
}

/// Runs validations in containers of a local Docker Engine.
#[derive(Debug, Clone)]
pub struct DockerSandbox {
    docker: Docker,
    image: String,
    limits: Limits,
    user: Option<Owner>,
    labels: HashMap<String, String>,
    max_upload_bytes: u64,
    tmp_bytes: u64,
    git_metadata: Option<std::path::PathBuf>,
}

impl DockerSandbox {
    /// Connects to the engine named by `DOCKER_HOST`, or the local socket when it is unset,
    /// and agrees on an API version (Debian's docker.io 20.10 speaks only 1.41).
    pub async fn connect(image: &str, limits: Limits) -> Result<Self, ValidateError> {
        Self::connect_to(docker_host_from_env().as_deref(), image, limits).await
    }

    /// Like [`connect`](Self::connect) with the engine address given: `unix:///path`,
    /// a bare socket path, or `tcp://host:port`; `None` is the default local socket.
    pub async fn connect_to(
        host: Option<&str>,
        image: &str,
        limits: Limits,
    ) -> Result<Self, ValidateError> {
        let docker = connect_engine(host).await?;
        Ok(Self {
            docker,
            image: image.to_owned(),
            limits,
            user: Some(Owner {
                uid: 1000,
                gid: 1000,
            }),
            labels: HashMap::new(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            tmp_bytes: DEFAULT_TMP_BYTES,
            git_metadata: None,
        })
    }

    /// Uploads the directory `git_dir` (a `.git` written by
    /// `selfheal_git::Repo::write_shallow_metadata`) as the project's `.git`,
    /// owned by root, files 0444 and directories 0555, so the tests can ask
    /// git for the commit (`git rev-parse HEAD`, `git describe`) but cannot
    /// change it. Since git refuses a repository owned by another user, the
    /// steps get `safe.directory` for [`PROJECT_DIR`] through git's
    /// `GIT_CONFIG_COUNT` variables (only when this is set).
    #[must_use]
    pub fn with_git_metadata(mut self, git_dir: impl Into<std::path::PathBuf>) -> Self {
        self.git_metadata = Some(git_dir.into());
        self
    }

    /// Runs steps as `uid:gid` (default 1000:1000, the image's `sandbox` user), or as
    /// the image's own user with `None` — for images where an unprivileged user cannot
    /// run the tests. The ids need not exist in the image.
    #[must_use]
    pub fn with_user(mut self, user: Option<(u32, u32)>) -> Self {
        self.user = user.map(|(uid, gid)| Owner {
            uid: u64::from(uid),
            gid: u64::from(gid),
        });
        self
    }

    /// Adds a label to every container this sandbox creates (besides [`CONTAINER_LABEL`]).
    #[must_use]
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Bounds the bytes of files copied into the sandbox (default 256 MiB).
    #[must_use]
    pub fn with_max_upload_bytes(mut self, bytes: u64) -> Self {
        self.max_upload_bytes = bytes;
        self
    }

    /// Sizes the container's `/tmp`, an in-memory filesystem (default
    /// [`DEFAULT_TMP_BYTES`]). A test that fills it gets "No space left on
    /// device" inside the sandbox; it never fills the host's disk, and it counts
    /// toward the memory limit.
    #[must_use]
    pub fn with_tmp_bytes(mut self, bytes: u64) -> Self {
        self.tmp_bytes = bytes;
        self
    }

    pub fn image(&self) -> &str {
        &self.image
    }

    /// The engine's version and API version, e.g. `20.10.24+dfsg1 (api 1.41)`.
    pub async fn engine_version(&self) -> Result<String, ValidateError> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|source| ValidateError::Engine {
                action: "report its version",
                source,
            })?;
        Ok(format!(
            "{} (api {})",
            v.version.as_deref().unwrap_or("unknown"),
            v.api_version.as_deref().unwrap_or("unknown")
        ))
    }

    /// Removes every container this process created through a sandbox with the same
    /// labels, waits until the engine has finished removing them, and returns
    /// how many there were.
    ///
    /// Dropping a validation schedules removal of its container on the async
    /// runtime; a binary that exits right after Ctrl-C may shut the runtime down
    /// before that runs. Awaiting this before exiting closes the gap. A removal
    /// already under way answers at once (409), so this also waits, for up to
    /// 15 seconds, until the containers are really gone.
    pub async fn remove_leftovers(&self) -> Result<usize, ValidateError> {
        let ids = self.own_containers().await?;
        for id in &ids {
            remove_container(&self.docker, id).await;
        }
        let deadline = Instant::now() + LEFTOVER_REMOVAL_WAIT;
        while Instant::now() < deadline && !self.own_containers().await?.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(ids.len())
    }

    /// Ids of this process's containers made with this sandbox's labels.
    async fn own_containers(&self) -> Result<Vec<String>, ValidateError> {
        let mut wanted = vec![format!("{CONTAINER_LABEL}={}", std::process::id())];
        wanted.extend(self.labels.iter().map(|(k, v)| format!("{k}={v}")));
        let filters = HashMap::from([("label", wanted)]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let left = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|source| ValidateError::Engine {
                action: "list sandbox containers",
                source,
            })?;
        Ok(left.into_iter().filter_map(|c| c.id).collect())
    }

    /// Every container a selfheal process left on this engine, whoever owns it:
    /// validation containers (labelled [`CONTAINER_LABEL`]`=<pid>`) and install
    /// containers (named `selfheal-install-<key>-<pid>`, which is all the install
    /// phase marks them with), narrowed to this sandbox's own labels when it has
    /// any. [`Leftover::is_stale`] tells which ones no running process owns.
    pub async fn list_leftovers(&self) -> Result<Vec<Leftover>, ValidateError> {
        let own: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut validations = vec![CONTAINER_LABEL.to_owned()];
        validations.extend(own.iter().cloned());
        let mut found = Vec::new();
        for container in self.list(HashMap::from([("label", validations)])).await? {
            let pid = container
                .labels
                .as_ref()
                .and_then(|l| l.get(CONTAINER_LABEL))
                .and_then(|pid| pid.parse().ok());
            found.push(Leftover::from_summary(container, pid));
        }
        let mut installs = HashMap::from([("name", vec![INSTALL_NAME_PREFIX.to_owned()])]);
        if !own.is_empty() {
            installs.insert("label", own);
        }
        for container in self.list(installs).await? {
            // The engine's name filter matches anywhere in the name; only the prefix counts.
            let Some(pid) = container.names.as_ref().and_then(|names| {
                names.iter().find_map(|n| {
                    let rest = n
                        .trim_start_matches('/')
                        .strip_prefix(INSTALL_NAME_PREFIX)?;
                    Some(rest.rsplit('-').next()?.parse::<u32>().ok())
                })
            }) else {
                continue;
            };
            found.push(Leftover::from_summary(container, pid));
        }
        Ok(found)
    }

    /// Removes the leftovers no running process owns (see [`Leftover::is_stale`])
    /// and returns them. Containers of live runs, this one's included, are kept.
    pub async fn remove_stale(&self) -> Result<Vec<Leftover>, ValidateError> {
        let stale: Vec<Leftover> = self
            .list_leftovers()
            .await?
            .into_iter()
            .filter(Leftover::is_stale)
            .collect();
        for leftover in &stale {
            remove_container(&self.docker, &leftover.id).await;
        }
        Ok(stale)
    }

    async fn list(
        &self,
        filters: HashMap<&str, Vec<String>>,
    ) -> Result<Vec<bollard::models::ContainerSummary>, ValidateError> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|source| ValidateError::Engine {
                action: "list sandbox containers",
                source,
            })
    }

    pub async fn image_present(&self) -> Result<bool, ValidateError> {
        match self.docker.inspect_image(&self.image).await {
            Ok(_) => Ok(true),
            Err(e) if status_code(&e) == Some(404) => Ok(false),
            Err(source) => Err(ValidateError::Engine {
                action: "inspect the sandbox image",
                source,
            }),
        }
    }

    /// Creates the container, locked down, and returns its guard.
    async fn create(&self, timeout: Duration) -> Result<ContainerGuard, ValidateError> {
        let mut labels = self.labels.clone();
        labels.insert(CONTAINER_LABEL.to_owned(), std::process::id().to_string());
        let life = (timeout + SELF_DESTRUCT_GRACE).as_secs().to_string();
        let mut env = vec![
            "PYTHONDONTWRITEBYTECODE=1".to_owned(),
            "CI=true".to_owned(),
            // The sandbox user may have no home in an arbitrary image; tools
            // that write caches there need somewhere writable.
            "HOME=/tmp".to_owned(),
        ];
        if self.git_metadata.is_some() {
            // The `.git` is root's and git refuses another user's repository
            // ("dubious ownership"); command-line scope may lift that.
            env.extend([
                "GIT_CONFIG_COUNT=1".to_owned(),
                "GIT_CONFIG_KEY_0=safe.directory".to_owned(),
                format!("GIT_CONFIG_VALUE_0={PROJECT_DIR}"),
            ]);
        }
        let config = ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: Some(vec!["sleep".to_owned(), life]),
            // Overrides any ENTRYPOINT: the main process must be the sleeper.
            entrypoint: Some(Vec::new()),
            user: self.user.map(|o| format!("{}:{}", o.uid, o.gid)),
            working_dir: Some(PROJECT_DIR.to_owned()),
            env: Some(env),
            labels: Some(labels),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                network_mode: Some("none".to_owned()),
                memory: Some(self.limits.memory_bytes),
                // Equal to memory: no swap on top, so a leaking test is killed, not slowed to a crawl.
                memory_swap: Some(self.limits.memory_bytes),
                nano_cpus: Some(self.limits.nano_cpus),
                pids_limit: Some(self.limits.pids),
                cap_drop: Some(vec!["ALL".to_owned()]),
                security_opt: Some(vec!["no-new-privileges".to_owned()]),
                auto_remove: Some(true),
                // An init reaps processes that tests leave behind, which would
                // otherwise count against the pids limit as zombies.
                init: Some(true),
                // HOME is /tmp too: caches and scratch files of tests land in a
                // bounded tmpfs instead of the engine's disk.
                tmpfs: Some(HashMap::from([(
                    "/tmp".to_owned(),
                    format!("rw,nosuid,nodev,mode=1777,size={}", self.tmp_bytes),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&container_name())
            .build();
        match self.docker.create_container(Some(options), config).await {
            Ok(created) => Ok(ContainerGuard {
                docker: self.docker.clone(),
                id: created.id,
                removed: false,
            }),
            Err(e) if status_code(&e) == Some(404) => Err(ValidateError::ImageMissing {
                image: self.image.clone(),
            }),
            Err(source) => Err(ValidateError::Container {
                action: "create",
                container: self.image.clone(),
                source,
            }),
        }
    }

    async fn run_step(
        &self,
        container: &ContainerGuard,
        step: &TestStep,
        env: &[String],
        limit: Duration,
        first: bool,
        timings: &mut PhaseTimings,
    ) -> Result<StepResult, ValidateError> {
        let started = Instant::now();
        let mut result = step::started(step);
        let failed = |action| {
            let container = container.id.clone();
            move |source| ValidateError::Container {
                action,
                container,
                source,
            }
        };
        let exec = match self
            .docker
            .create_exec(
                &container.id,
                CreateExecOptions {
                    // Arguments travel as arguments: `sh` never parses them, so
                    // text from a CI log cannot become shell syntax.
                    cmd: Some(
                        ["sh", "-c", step.command.as_str(), "sh"]
                            .into_iter()
                            .chain(step.args.iter().map(String::as_str))
                            .collect(),
                    ),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    env: Some(env.iter().map(String::as_str).collect()),
                    working_dir: Some(PROJECT_DIR),
                    ..Default::default()
                },
            )
            .await
        {
            Ok(exec) => exec,
            // The container's own process already ended before the first step:
            // with an init in front, an image without `sleep` starts and dies at once.
            Err(e) if first && container_gone(&e) => {
                return Ok(self.stopped_before_first_step(result, &e));
            }
            Err(e) => return Err(failed("create a step in")(e)),
        };
        let start = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: None,
        };
        let mut collected_output = step::Output::new();
        let started_exec = match self.docker.start_exec(&exec.id, Some(start)).await {
            Ok(started) => started,
            Err(e) if first && container_gone(&e) => {
                return Ok(self.stopped_before_first_step(result, &e));
            }
            Err(e) => return Err(failed("start a step in")(e)),
        };
        let collected = match started_exec {
            StartExecResults::Attached { mut output, .. } => {
                let collect = async {
                    while let Some(chunk) = output.next().await {
                        match chunk? {
                            LogOutput::StdOut { message }
                            | LogOutput::StdErr { message }
                            | LogOutput::Console { message } => collected_output.push(&message),
                            LogOutput::StdIn { .. } => {}
                        }
                    }
                    Ok(())
                };
                tokio::time::timeout(limit, collect).await
            }
            // Not reachable with `detach: false`; treated as a step with no output.
            StartExecResults::Detached => Ok(Ok(())),
        };
        let streamed = Instant::now();
        timings.run += streamed - started;
        match collected {
            Err(_elapsed) => {
                result.timed_out = true;
                container.kill().await;
            }
            Ok(Err(source)) => return Err(failed("read the output of a step in")(source)),
            Ok(Ok(())) => {
                result.exit_code = self
                    // The output has ended, so the exit follows at once; the
                    // bound only guards against an engine that never says.
                    .exit_code(&exec.id, Instant::now() + EXIT_CODE_WAIT)
                    .await
                    .map_err(failed("inspect a step in"))?;
            }
        }
        result.duration_ms = millis(started.elapsed());
        collected_output.finish(&mut result, &step.command, &format!("image {}", self.image));
        timings.collect += streamed.elapsed();
        if result.exit_code == Some(137) && result.environment_error.is_none() {
            // SIGKILL from inside the sandbox is almost always the memory limit;
            // the test's own output rarely says so, and the model must know.
            // Writing to a String cannot fail.
            let _ = write!(
                result.output_tail,
                "\n[selfheal: the step was killed (exit 137), most likely by the sandbox memory limit of {} MiB]\n",
                self.limits.memory_bytes / (1024 * 1024)
            );
        }
        Ok(result)
    }

    fn stopped_before_first_step(
        &self,
        result: StepResult,
        err: &bollard::errors::Error,
    ) -> StepResult {
        StepResult {
            output_tail: err.to_string(),
            environment_error: Some(format!(
                "the sandbox container stopped before its first step in image {}: the image needs sleep and sh",
                self.image
            )),
            ..result
        }
    }

    /// The step's exit code once the engine records it; the output stream can
    /// close a moment before the exec is marked as finished.
    async fn exit_code(
        &self,
        exec_id: &str,
        deadline: Instant,
    ) -> Result<Option<i64>, bollard::errors::Error> {
        loop {
            let inspected = self.docker.inspect_exec(exec_id).await?;
            if inspected.running != Some(true) {
                return Ok(inspected.exit_code);
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[async_trait::async_trait]
impl Sandbox for DockerSandbox {
    async fn validate(
        &self,
        workdir: &Path,
        plan: &ValidationPlan,
    ) -> Result<ValidationReport, ValidateError> {
        self.validate_timed(workdir, plan)
            .await
            .map(|(report, _)| report)
    }
}

impl DockerSandbox {
    /// [`Sandbox::validate`], also saying where the time went. The timings cost
    /// a few clock reads, so the plain `validate` takes this path too.
    pub async fn validate_timed(
        &self,
        workdir: &Path,
        plan: &ValidationPlan,
    ) -> Result<(ValidationReport, PhaseTimings), ValidateError> {
        if plan.steps.is_empty() {
            return Err(ValidateError::EmptyPlan);
        }
        let started = Instant::now();
        let mut timings = PhaseTimings::default();
        let limits: Vec<Duration> = plan
            .steps
            .iter()
            .map(|s| s.timeout.min(plan.timeout))
            .collect();
        let total: Duration = limits.iter().sum();

        // Pack before creating anything, so a tree that cannot be read costs no container.
        let root = workdir.to_path_buf();
        let owner = self.user.unwrap_or(Owner { uid: 0, gid: 0 });
        let limit = self.max_upload_bytes;
        let git = self.git_metadata.clone();
        let archive = tokio::task::spawn_blocking(move || {
            tree::pack(
                &root,
                PROJECT_DIR.trim_start_matches('/'),
                owner,
                limit,
                git.as_deref(),
            )
        })
        .await
        .map_err(|join| ValidateError::ReadTree {
            path: workdir.to_path_buf(),
            source: std::io::Error::other(join.to_string()),
        })??;
        let mut phase = Instant::now();
        timings.pack = phase - started;
        let mut lap = |into: &mut Duration| {
            let now = Instant::now();
            *into = now - phase;
            phase = now;
        };

        let container = self.create(total).await?;
        lap(&mut timings.create);
        let failed = |action| {
            let container = container.id.clone();
            move |source| ValidateError::Container {
                action,
                container,
                source,
            }
        };
        // Copy, then start: overlapping the two was measured (selfheal-sandbox-bench)
        // and gained nothing, as the engine serialises them on the container.
        let upload = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(
                &container.id,
                Some(upload),
                bollard::body_full(archive.into()),
            )
            .await
            .map_err(failed("copy the project into"))?;
        lap(&mut timings.upload);
        if let Err(e) = self.docker.start_container(&container.id, None).await {
            let Some(missing) = cannot_start(&e, &self.image) else {
                return Err(failed("start")(e));
            };
            container.remove().await;
            let first = &plan.steps[0];
            let report = ValidationReport {
                outcome: ValidationOutcome::EnvironmentError,
                image: self.image.clone(),
                steps: vec![StepResult {
                    name: first.name.clone(),
                    command: first.display(),
                    exit_code: None,
                    duration_ms: 0,
                    timed_out: false,
                    output_tail: e.to_string(),
                    environment_error: Some(missing),
                    failure_section: None,
                }],
                duration_ms: millis(started.elapsed()),
            };
            timings.total = started.elapsed();
            return Ok((report, timings));
        }
        lap(&mut timings.start);

        // HOME is the container's own (see `create`).
        let env: Vec<String> = plan
            .usable_env(&["HOME"])
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut outcome = ValidationOutcome::Passed;
        let mut steps = Vec::with_capacity(plan.steps.len());
        for (i, (step, limit)) in plan.steps.iter().zip(limits).enumerate() {
            tracing::debug!(step = %step.name, command = %step.display(), "running validation step");
            let result = self
                .run_step(&container, step, &env, limit, i == 0, &mut timings)
                .await?;
            let step_outcome = step::outcome(&result);
            steps.push(result);
            if step_outcome != ValidationOutcome::Passed {
                outcome = step_outcome;
                break;
            }
        }
        let removing = Instant::now();
        container.remove().await;
        timings.remove = removing.elapsed();
        timings.total = started.elapsed();
        let report = ValidationReport {
            outcome,
            image: self.image.clone(),
            steps,
            duration_ms: millis(timings.total),
        };
        Ok((report, timings))
    }
}

/// Where the wall time of one validation went, phase by phase.
///
/// `run` is the steps' own time as the sandbox sees it (from creating each
/// `exec` to the end of its output); everything else is the sandbox's overhead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhaseTimings {
    /// Packing the tree into the in-memory tar.
    pub pack: Duration,
    /// Creating the locked-down container.
    pub create: Duration,
    /// Copying the tar into it.
    pub upload: Duration,
    /// Starting its main process.
    pub start: Duration,
    /// Every step, from creating its exec to the end of its output.
    pub run: Duration,
    /// Every step's exit code and the reading of its output.
    pub collect: Duration,
    /// Removing the container.
    pub remove: Duration,
    /// The whole validation.
    pub total: Duration,
}

/// How `install.rs` names its containers: `selfheal-install-<key>-<pid>`.
const INSTALL_NAME_PREFIX: &str = "selfheal-install-";
/// How much later than its container a process may seem to have started and
/// still be its owner: the boot time in `/proc/stat` is whole seconds and drifts
/// with clock adjustments, and the engine's creation time is whole seconds too.
const START_SLACK_SECS: i64 = 2;
/// Clock ticks per second in `/proc/<pid>/stat`: `USER_HZ`, fixed at 100 by the
/// kernel's ABI on every architecture Docker runs on (reading `sysconf` would need `unsafe`).
const USER_HZ: u64 = 100;

/// A sandbox or install container found on the engine (see [`DockerSandbox::list_leftovers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub id: String,
    /// The process that created it, as its label or name says; `None` when that cannot be read.
    pub pid: Option<u32>,
    /// Creation time, seconds since the Unix epoch.
    pub created: Option<i64>,
    pub image: String,
    /// The engine's word: `created`, `running`, `exited`, ...
    pub state: String,
}

impl Leftover {
    fn from_summary(c: bollard::models::ContainerSummary, pid: Option<u32>) -> Self {
        Self {
            id: c.id.unwrap_or_default(),
            pid,
            created: c.created,
            image: c.image.unwrap_or_default(),
            state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        }
    }

    /// Whether no running process on this machine owns it: its pid is gone, or
    /// now belongs to a process that started after the container was created (a
    /// reused pid, whatever program got it). A process that started before the
    /// container and still holds the pid is its creator, whatever its name.
    /// When the start time cannot be read, the pid counts as the owner only if
    /// its command looks like selfheal. Assumes the creator ran in this machine's
    /// pid namespace; a selfheal inside another container sharing the engine
    /// would see its live runs as stale.
    pub fn is_stale(&self) -> bool {
        !owner_alive(Path::new("/proc"), self.pid, self.created)
    }
}

/// The rule behind [`Leftover::is_stale`], against a `/proc` given as `proc`.
fn owner_alive(proc: &Path, pid: Option<u32>, created: Option<i64>) -> bool {
    let Some(pid) = pid else {
        // Our label with no pid in it: nothing can own it.
        return false;
    };
    if proc == Path::new("/proc") && pid == std::process::id() {
        return true;
    }
    let dir = proc.join(pid.to_string());
    if !dir.is_dir() {
        return false;
    }
    match (process_started(proc, &dir), created) {
        (Some(started), Some(created)) => started <= created + START_SLACK_SECS,
        _ => looks_like_selfheal(&dir),
    }
}

/// When the process in `dir` started, in seconds since the Unix epoch.
fn process_started(proc: &Path, dir: &Path) -> Option<i64> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // The name in parentheses may hold spaces and parentheses; the fields follow the last `)`.
    let (_, fields) = stat.rsplit_once(')')?;
    // Field 22 of the whole line, `starttime`; the rest begins at field 3.
    let ticks: u64 = fields.split_whitespace().nth(22 - 3)?.parse().ok()?;
    let boot: i64 = std::fs::read_to_string(proc.join("stat"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(boot + i64::try_from(ticks / USER_HZ).ok()?)
}

fn looks_like_selfheal(dir: &Path) -> bool {
    let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
    let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
    let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    let program = String::from_utf8_lossy(program);
    let program = program.rsplit('/').next().unwrap_or_default();
    comm.contains("selfheal") || program.contains("selfheal")
}

/// Owns a container for the length of a validation and removes it however the validation ends.
#[derive(Debug)]
struct ContainerGuard {
    docker: Docker,
    id: String,
    removed: bool,
}

impl ContainerGuard {
    /// Stops every process in the container at once.
    async fn kill(&self) {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        if let Err(e) = self.docker.kill_container(&self.id, Some(options)).await {
            // Already gone or already stopped is fine: the point was to stop it.
            tracing::debug!(container = %self.id, error = %e, "kill of sandbox container failed");
        }
    }

    async fn remove(mut self) {
        self.removed = true;
        remove_container(&self.docker, &self.id).await;
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let docker = self.docker.clone();
        let id = std::mem::take(&mut self.id);
        tracing::debug!(container = %id, "validation abandoned; scheduling removal of its container");
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { remove_container(&docker, &id).await });
        } else {
            // Dropped outside a runtime (e.g. while one shuts down): remove from a
            // thread of our own. Should even that not run, the container ends itself.
            std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(remove_container(&docker, &id));
                }
            });
        }
    }
}

/// The engine address `DOCKER_HOST` names, as the Docker CLI reads it; `None`
/// when unset or empty (the local socket).
pub(crate) fn docker_host_from_env() -> Option<String> {
    std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty())
}

/// Connects to the engine at `host` (`unix:///path`, a bare socket path, or
/// `tcp://host:port`; `None`: the local socket) and agrees on an API version
/// (Debian's docker.io 20.10 speaks only 1.41). The sandbox and the install
/// phase both connect through here.
pub(crate) async fn connect_engine(host: Option<&str>) -> Result<Docker, ValidateError> {
    let host = host.unwrap_or(DEFAULT_DOCKER_HOST);
    let version = bollard::API_DEFAULT_VERSION;
    let connected = if host.starts_with("unix://") || host.starts_with('/') {
        Docker::connect_with_unix(host, REQUEST_TIMEOUT_SECS, version)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, version)
    } else {
        return Err(ValidateError::UnsupportedHost {
            host: host.to_owned(),
        });
    };
    let unreachable = |source| ValidateError::EngineUnreachable {
        host: host.to_owned(),
        source,
    };
    connected
        .map_err(unreachable)?
        .negotiate_version()
        .await
        .map_err(unreachable)
}

async fn remove_container(docker: &Docker, id: &str) {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => {}
        // 404: auto-remove got there first; 409: a removal is already in progress.
        Err(e) if matches!(status_code(&e), Some(404 | 409)) => {}
        Err(e) => tracing::warn!(container = %id, error = %e, "could not remove sandbox container"),
    }
}

/// Whether the engine refused an exec because the container is no longer running.
fn container_gone(err: &bollard::errors::Error) -> bool {
    matches!(status_code(err), Some(404 | 409))
        || matches!(err, bollard::errors::Error::DockerResponseServerError { message, .. }
            if message.contains("is not running"))
}

/// What the image lacks, when the engine could not start the container's own
/// command in it (an image without `sleep`, or a rootfs that is not Linux for this machine).
fn cannot_start(err: &bollard::errors::Error, image: &str) -> Option<String> {
    let bollard::errors::Error::DockerResponseServerError { message, .. } = err else {
        return None;
    };
    if !message.contains("unable to start container process")
        && !message.contains("executable file not found")
    {
        return None;
    }
    let program = message
        .split_once("exec: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or("sleep", |(name, _)| name);
    Some(format!(
        "the sandbox container could not start in image {image}: the command \"{program}\" was not found or could not run (the image needs sh and sleep)"
    ))
}

fn container_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "selfheal-validate-{}-{}-{nanos:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `/proc` booted at `BOOT`, with one process per `(pid, comm, started)`.
    const BOOT: i64 = 1_800_000_000;

    fn fake_proc(processes: &[(u32, &str, Option<i64>)]) -> tempfile::TempDir {
        let proc = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            proc.path().join("stat"),
            format!("cpu  1 2 3\nbtime {BOOT}\nprocesses 9\n"),
        )
        .expect("write");
        for &(pid, comm, started) in processes {
            let dir = proc.path().join(pid.to_string());
            std::fs::create_dir(&dir).expect("mkdir");
            std::fs::write(dir.join("comm"), format!("{comm}\n")).expect("write");
            std::fs::write(dir.join("cmdline"), format!("/usr/bin/{comm}\0run\0")).expect("write");
            if let Some(started) = started {
                let ticks = u64::try_from(started - BOOT).expect("after boot") * USER_HZ;
                // A name with a space and a parenthesis, as comm may have.
                let fields: Vec<String> = (3..=21).map(|i| i.to_string()).collect();
                std::fs::write(
                    dir.join("stat"),
                    format!("{pid} (a (b) c) {} {ticks} 23 24\n", fields.join(" ")),
                )
                .expect("write");
            }
        }
        proc
    }

    #[test]
    fn the_owner_of_a_container_is_a_live_process_that_started_before_it() {
        let created = BOOT + 1_000;
        let proc = fake_proc(&[
            (10, "selfheal", Some(created - 60)),
            (11, "python3", Some(created - 60)),
            // Started a moment after the creation time, within the clock's coarseness.
            (12, "selfheal", Some(created + 1)),
            // Reused pids: started well after the container, whatever the program.
            (13, "selfheal", Some(created + 30)),
            (14, "bash", Some(created + 30)),
            // No readable start time: the name decides.
            (15, "selfheal", None),
            (16, "bash", None),
        ]);
        let alive = |pid, created| owner_alive(proc.path(), pid, created);
        assert_eq!(
            [10, 11, 12, 13, 14, 15, 16, 99].map(|pid| alive(Some(pid), Some(created))),
            [true, true, true, false, false, true, false, false]
        );
        // Without a creation time, only the name can tell.
        assert_eq!(
            [10, 11, 99].map(|pid| alive(Some(pid), None)),
            [true, false, false]
        );
        assert!(!alive(None, Some(created)), "a label without a pid");
    }

    #[test]
    fn this_process_owns_its_containers_on_the_real_proc() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let now = i64::try_from(now).expect("fits");
        let real = Path::new("/proc");
        assert!(owner_alive(real, Some(std::process::id()), Some(now)));
        let me = real.join(std::process::id().to_string());
        let started = process_started(real, &me).expect("own start time");
        assert!(
            (now - 3_600..=now + START_SLACK_SECS).contains(&started),
            "started {started}, now {now}"
        );
    }
}
