//! [`LocalSandbox`]: a temporary copy of the tree, each step a subprocess.
//!
//! For users without Docker (`--sandbox local`). It keeps the parts of the
//! Docker sandbox that need no kernel isolation: the tree is copied (the same
//! files as the Docker upload), never used in place; each step is
//! `sh -c <script> sh <ids...>` with the test ids as arguments, never script text;
//! each step has its wall-clock limit; the environment is scrubbed; the report
//! is the same shape, with the same tail, failure section and environment
//! check. What it cannot keep is the isolation: the code runs as the calling
//! user, with their network, their files and no resource limits.
//!
//! Each step runs in its own process group, so that a timeout (or the
//! validation being dropped) kills everything the step started, grandchildren
//! included, not only the shell. Signalling a group needs `kill(2)` on a
//! negative pid, which std does not offer and `unsafe` is forbidden here; the
//! shell's `kill` builtin does it (`sh` is the one program a step needs anyway).

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use selfheal_types::{StepResult, ValidationOutcome, ValidationReport};
use tokio::io::AsyncReadExt;

use crate::step::{self, millis};
use crate::{Sandbox, TestStep, ValidateError, ValidationPlan, tree};

/// What a [`LocalSandbox`] report gives as its `image`.
pub const LOCAL_SANDBOX: &str = "local";
/// How environment errors name where a local step ran.
const PLACE: &str = "the local sandbox (this machine's PATH)";
/// Default bound on the bytes of files copied, as for the Docker upload.
const DEFAULT_MAX_COPY_BYTES: u64 = 256 * 1024 * 1024;
/// How long to keep reading output once a step has ended or been killed: a
/// process that left the step's group (`setsid`) may hold the pipe open.
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// Variables a step always gets from the sandbox, never from the plan.
const RESERVED: &[&str] = &["PATH", "HOME", "TMPDIR"];

/// Where the caller's toolchains live, passed on so that the shims on `PATH`
/// still work once `HOME` points into the temporary directory: rustup's
/// `cargo` finds its toolchains through `RUSTUP_HOME` (default `~/.rustup`),
/// pyenv's `python3` through `PYENV_ROOT` (default `~/.pyenv`). Locations and
/// version pins only, never credentials.
pub const TOOLCHAIN_ENV_VARS: &[&str] = &[
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "CARGO_HOME",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "GOROOT",
    "GOPATH",
    "GOMODCACHE",
    "GOFLAGS",
    "JAVA_HOME",
    "NVM_DIR",
];
/// Default locations of [`TOOLCHAIN_ENV_VARS`] under the caller's home, set
/// when the variable is not but the directory exists.
const TOOLCHAIN_HOMES: &[(&str, &str)] = &[
    ("RUSTUP_HOME", ".rustup"),
    ("CARGO_HOME", ".cargo"),
    ("PYENV_ROOT", ".pyenv"),
    ("GOPATH", "go"),
];

/// Runs validations as subprocesses on a temporary copy of the tree.
#[derive(Debug, Clone)]
pub struct LocalSandbox {
    path: OsString,
    toolchain_env: Vec<(OsString, OsString)>,
    temp_parent: Option<PathBuf>,
    max_copy_bytes: u64,
    git_metadata: Option<PathBuf>,
}

impl LocalSandbox {
    /// What to tell the user whenever this sandbox is chosen (one line, no period).
    pub const WARNING: &str = "the local sandbox does not isolate the code: the project's tests run as you, with your network and your files, without memory or process limits";

    /// A sandbox whose steps find programs on this process's `PATH`.
    ///
    /// **It does not isolate the code.** The tests run as the current user,
    /// with the network on, able to read and write whatever that user can,
    /// with no memory, CPU or process limits. Only the working copy, the
    /// environment (no tokens or keys of the caller reach a step) and the time
    /// limit are the sandbox's. Use it only for code you would run yourself,
    /// and say so to the user whenever it is chosen.
    ///
    /// Of this process's environment, steps get `PATH` and the
    /// [`TOOLCHAIN_ENV_VARS`] (with defaults under `HOME` for rustup, cargo,
    /// pyenv and Go), nothing else.
    pub fn new() -> Self {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Self::from_env(std::env::vars_os(), home.as_deref())
    }

    /// Like [`new`](Self::new), with the caller's environment given.
    pub fn from_env(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
        home: Option<&Path>,
    ) -> Self {
        let mut path = OsString::new();
        let mut toolchain_env: Vec<(OsString, OsString)> = Vec::new();
        for (k, v) in vars {
            if k == "PATH" {
                path = v;
            } else if k.to_str().is_some_and(|k| TOOLCHAIN_ENV_VARS.contains(&k)) {
                toolchain_env.push((k, v));
            }
        }
        if let Some(home) = home.filter(|h| h.is_absolute()) {
            for (name, dir) in TOOLCHAIN_HOMES {
                let dir = home.join(dir);
                if !toolchain_env.iter().any(|(k, _)| k == name) && dir.is_dir() {
                    toolchain_env.push(((*name).into(), dir.into_os_string()));
                }
            }
        }
        toolchain_env.sort();
        Self {
            path,
            toolchain_env,
            temp_parent: None,
            max_copy_bytes: DEFAULT_MAX_COPY_BYTES,
            git_metadata: None,
        }
    }

    /// The `PATH` steps get instead of this process's.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<OsString>) -> Self {
        self.path = path.into();
        self
    }

    /// The toolchain variables steps get (see [`TOOLCHAIN_ENV_VARS`]).
    pub fn toolchain_env(&self) -> &[(OsString, OsString)] {
        &self.toolchain_env
    }

    /// Makes the temporary directories under `dir` (default: the system's temp directory).
    #[must_use]
    pub fn with_temp_parent(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_parent = Some(dir.into());
        self
    }

    /// Bounds the bytes of files copied (default 256 MiB).
    #[must_use]
    pub fn with_max_copy_bytes(mut self, bytes: u64) -> Self {
        self.max_copy_bytes = bytes;
        self
    }

    /// Copies the directory `git_dir` (a `.git` written by
    /// `selfheal_git::Repo::write_shallow_metadata`) in as the copy's `.git`,
    /// read-only (files 0444, directories 0555), for builds that ask git for
    /// a version. Read-only against accidents, not against the code: it runs
    /// as the owner of the copy and could change the modes back.
    #[must_use]
    pub fn with_git_metadata(mut self, git_dir: impl Into<PathBuf>) -> Self {
        self.git_metadata = Some(git_dir.into());
        self
    }

    /// The environment of every step: this sandbox's variables, then the plan's.
    fn env(&self, scratch: &Path, plan: &ValidationPlan) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), self.path.clone()),
            ("HOME".into(), scratch.join("home").into_os_string()),
            ("TMPDIR".into(), scratch.join("tmp").into_os_string()),
            ("LANG".into(), "C.UTF-8".into()),
            ("LC_ALL".into(), "C.UTF-8".into()),
            ("TERM".into(), "dumb".into()),
            ("CI".into(), "true".into()),
            // As in the Docker sandbox: no bytecode files in the copy.
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ];
        env.extend(self.toolchain_env.iter().cloned());
        for (k, v) in plan.usable_env(RESERVED) {
            env.retain(|(name, _)| name.as_os_str() != k);
            env.push((k.into(), v.into()));
        }
        env
    }
}

impl Default for LocalSandbox {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl Sandbox for LocalSandbox {
    async fn validate(
        &self,
        workdir: &Path,
        plan: &ValidationPlan,
    ) -> Result<ValidationReport, ValidateError> {
        if plan.steps.is_empty() {
            return Err(ValidateError::EmptyPlan);
        }
        let started = Instant::now();
        let scratch = Scratch::create(self.temp_parent.as_deref())?;
        let root = workdir.to_path_buf();
        let limit = self.max_copy_bytes;
        let git = self.git_metadata.clone();
        // The guard travels into the blocking copy and back: should this
        // future be dropped meanwhile, the copy finishes and the guard,
        // dropped with the closure's result, removes it.
        let scratch = tokio::task::spawn_blocking(move || {
            for dir in ["work", "home", "tmp"] {
                let path = scratch.path.join(dir);
                std::fs::create_dir(&path).map_err(|source| ValidateError::Local {
                    action: "create",
                    path,
                    source,
                })?;
            }
            let work = scratch.path.join("work");
            tree::copy(&root, &work, limit)?;
            if let Some(git) = git {
                copy_read_only(&git, &work.join(".git"))?;
            }
            Ok::<_, ValidateError>(scratch)
        })
        .await
        .map_err(|join| ValidateError::ReadTree {
            path: workdir.to_path_buf(),
            source: std::io::Error::other(join.to_string()),
        })??;

        let env = self.env(&scratch.path, plan);
        let work = scratch.path.join("work");
        let mut outcome = ValidationOutcome::Passed;
        let mut steps = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            tracing::debug!(step = %step.name, command = %step.display(), "running validation step locally");
            let result = run_step(&work, &env, step, step.timeout.min(plan.timeout)).await?;
            let step_outcome = step::outcome(&result);
            steps.push(result);
            if step_outcome != ValidationOutcome::Passed {
                outcome = step_outcome;
                break;
            }
        }
        drop(scratch);
        Ok(ValidationReport {
            outcome,
            image: LOCAL_SANDBOX.to_owned(),
            steps,
            duration_ms: millis(started.elapsed()),
        })
    }
}

/// Runs one step in `work` and reads its output (stdout and stderr through
/// one pipe, so their lines keep the order they were written in).
async fn run_step(
    work: &Path,
    env: &[(OsString, OsString)],
    step: &TestStep,
    limit: Duration,
) -> Result<StepResult, ValidateError> {
    let started = Instant::now();
    let mut result = step::started(step);
    let local = |action: &'static str| {
        let path = work.to_path_buf();
        move |source| ValidateError::Local {
            action,
            path,
            source,
        }
    };
    let (reader, writer) = std::io::pipe().map_err(local("make a pipe for a step in"))?;
    let mut command = tokio::process::Command::new("sh");
    command
        // Arguments travel as arguments: `sh` never parses them, so text
        // from a CI log cannot become shell syntax.
        .arg("-c")
        .arg(&step.command)
        .arg("sh")
        .args(&step.args)
        .current_dir(work)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(
            writer
                .try_clone()
                .map_err(local("make a pipe for a step in"))?,
        )
        .stderr(writer)
        .process_group(0)
        .kill_on_drop(true);
    let spawned = command.spawn();
    // The command holds the pipe's writing end; until it is gone the output never ends.
    drop(command);
    let mut child = spawned.map_err(local("start sh for a step in"))?;
    let mut group = Group(child.id());
    let mut pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader))
        .map_err(local("read the output of a step in"))?;

    let mut output = step::Output::new();
    let mut ended = false;
    // A scope of its own: the reading borrows the output until it ends.
    {
        let reading = async {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => output.push(&buf[..n]),
                }
            }
        };
        tokio::pin!(reading);
        let waited = tokio::time::timeout(limit, async {
            loop {
                tokio::select! {
                    () = &mut reading, if !ended => ended = true,
                    status = child.wait() => return status,
                }
            }
        })
        .await;
        match waited {
            Err(_elapsed) => {
                result.timed_out = true;
                group.kill();
                // SIGKILL cannot be ignored; the bound only guards against a stuck reap.
                let _ = tokio::time::timeout(DRAIN_GRACE, child.wait()).await;
            }
            Ok(Err(source)) => return Err(local("wait for a step in")(source)),
            Ok(Ok(status)) => {
                result.exit_code = status
                    .code()
                    .map(i64::from)
                    // Killed by a signal: the shell's convention, as Docker reports it.
                    .or_else(|| status.signal().map(|s| 128 + i64::from(s)));
                // What the step left running in the background ends with it, as
                // it would when its container is removed.
                group.kill();
            }
        }
        if !ended
            && tokio::time::timeout(DRAIN_GRACE, &mut reading)
                .await
                .is_err()
        {
            tracing::debug!(step = %step.name, "output still open after the step ended; stopped reading");
        }
    }
    result.duration_ms = millis(started.elapsed());
    output.finish(&mut result, &step.command, PLACE);
    Ok(result)
}

/// A step's process group, killed when this is dropped (a validation
/// abandoned mid-step) unless it was killed already.
struct Group(Option<u32>);

impl Group {
    /// SIGKILL to every process in the group, once. Harmless when none is
    /// left. The group's id cannot be taken by a new process while any member
    /// lives, so this reaches only the step's processes.
    fn kill(&mut self) {
        let Some(pgid) = self.0.take() else {
            return;
        };
        // By path: the environment is cleared, so there is no PATH to search.
        let killed = std::process::Command::new("/bin/sh")
            .args(["-c", "kill -s KILL -- \"-$1\" 2>/dev/null", "sh"])
            .arg(pgid.to_string())
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Err(e) = killed {
            tracing::warn!(pgid, error = %e, "could not kill a local step's processes");
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The temporary directory of one validation, removed however it ends.
#[derive(Debug)]
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn create(parent: Option<&Path>) -> Result<Self, ValidateError> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let dir = tempfile::Builder::new()
            .prefix("selfheal-local-")
            .tempdir_in(&parent)
            .map_err(|source| ValidateError::Local {
                action: "make a temporary directory in",
                path: parent.clone(),
                source,
            })?;
        Ok(Self { path: dir.keep() })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for attempt in 0..5 {
            match std::fs::remove_dir_all(&self.path) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) => {
                    // Tests and tools leave read-only directories (Go's module
                    // cache, the `.git` copied in); a dying step may still be
                    // writing for a moment after its SIGKILL.
                    tracing::debug!(path = %self.path.display(), error = %e, attempt, "retrying removal of the local sandbox");
                    make_writable(&self.path);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        tracing::warn!(path = %self.path.display(), "could not remove the local sandbox's temporary directory");
    }
}

/// Gives the owner full rights on every directory under `root` (links are not followed).
fn make_writable(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut pending = vec![root.to_path_buf()];
    let mut seen = HashSet::new();
    while let Some(dir) = pending.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(entry.path());
            }
        }
    }
}

/// Copies the directory `from` to `to`, files 0444 and directories 0555
/// (set after their contents are written).
fn copy_read_only(from: &Path, to: &Path) -> Result<(), ValidateError> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| ValidateError::Local {
            action,
            path,
            source,
        }
    };
    let found = tree::walk(from, u64::MAX)?;
    std::fs::create_dir(to).map_err(failed("copy the git metadata to", to))?;
    let mut dirs = vec![to.to_path_buf()];
    for tree::Found { rel, meta, .. } in &found {
        let dest = to.join(rel);
        if meta.is_dir() {
            std::fs::create_dir(&dest).map_err(failed("copy the git metadata to", &dest))?;
            dirs.push(dest);
        } else if meta.is_file() {
            std::fs::copy(from.join(rel), &dest)
                .map_err(failed("copy the git metadata to", &dest))?;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o444))
                .map_err(failed("copy the git metadata to", &dest))?;
        }
    }
    // Deepest first, so each directory is still writable while its children are sealed.
    for dir in dirs.iter().rev() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555))
            .map_err(failed("copy the git metadata to", dir))?;
    }
    Ok(())
}
