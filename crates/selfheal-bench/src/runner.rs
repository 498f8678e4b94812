//! Running the real loop on a prepared case: the same `selfheal` binary,
//! spawned as `selfheal run --offline --yes --json`, exactly as a user would
//! run it, so the bench measures what users get (the whole CLI, the real
//! Docker sandbox, the configured model) and not an in-process imitation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use selfheal_types::{Outcome, RepairRecord};
use serde::Deserialize;

use crate::error::BenchError;
use crate::guard;
use crate::prepare::one_line;
use crate::report::{AttemptSummary, RunResult, RunStatus};
use crate::suite::Case;

/// The options passed on to every `selfheal run` (and to the pre-flight `check`).
#[derive(Debug, Clone)]
pub struct Runner {
    pub exe: PathBuf,
    pub model: Option<String>,
    pub config: Option<PathBuf>,
    pub max_attempts: Option<u32>,
    /// A run still going after this long is killed and counted as a harness error.
    pub timeout: Duration,
    /// More arguments for every `selfheal run`, verbatim.
    pub run_args: Vec<String>,
    /// Where to keep each run's record (`<case>-<n>.json`), when set.
    pub records: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct CheckReport {
    checks: Vec<CheckLine>,
}

#[derive(Debug, Deserialize)]
struct CheckLine {
    name: String,
    ok: bool,
    detail: String,
    #[serde(default)]
    hint: Option<String>,
}

/// The checks without which no case can be measured.
const NEEDED_CHECKS: [&str; 4] = ["config", "llm", "docker", "image"];

impl Runner {
    fn common_args(&self, cmd: &mut tokio::process::Command) {
        if let Some(model) = &self.model {
            cmd.arg("--model").arg(model);
        }
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
    }

    fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// `selfheal check --offline` on a prepared case: the configuration, the
    /// model server, Docker and the sandbox image, all named in one line
    /// when anything is missing.
    pub async fn preflight(&self, repo: &Path) -> Result<(), BenchError> {
        let mut cmd = self.command();
        cmd.args(["check", "--offline", "--json", "--repo"])
            .arg(repo);
        self.common_args(&mut cmd);
        let shown = format!("{} check", self.exe.display());
        let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .map_err(|_| {
                BenchError::Preflight("selfheal check did not finish within 120s".to_owned())
            })?
            .map_err(|e| BenchError::Command {
                command: shown.clone(),
                message: e.to_string(),
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let Ok(report) = serde_json::from_str::<CheckReport>(stdout.trim()) else {
            return Err(BenchError::Preflight(format!(
                "selfheal check failed: {}",
                last_error(&String::from_utf8_lossy(&out.stderr))
                    .unwrap_or_else(|| format!("exit {:?}", out.status.code()))
            )));
        };
        let failed: Vec<String> = report
            .checks
            .iter()
            .filter(|c| !c.ok && NEEDED_CHECKS.contains(&c.name.as_str()))
            .map(|c| match &c.hint {
                Some(hint) => format!("{}: {} (hint: {hint})", c.name, c.detail),
                None => format!("{}: {}", c.name, c.detail),
            })
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(BenchError::Preflight(one_line(&failed.join("; "))))
        }
    }

    /// One `selfheal run` of `case`, prepared at `repo`; `label` names its
    /// kept record. When `stop` turns true, or the run outlives the case
    /// timeout, the run is asked to stop (SIGTERM: it removes its container
    /// and scratch trees and writes its record) and killed only if it has
    /// not within [`GRACE`].
    pub async fn run_case(
        &self,
        case: &Case,
        repo: &Path,
        label: &str,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> RunResult {
        let mut cmd = self.command();
        cmd.args(["run", "--offline", "--yes", "--json", "--repo"])
            .arg(repo)
            .args(["--run-id", &case.run_id]);
        if case.allow_test_edits {
            cmd.arg("--allow-test-edits");
        }
        if let Some(n) = self.max_attempts {
            cmd.arg("--max-attempts").arg(n.to_string());
        }
        self.common_args(&mut cmd);
        cmd.args(&self.run_args);
        let started = Instant::now();
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                return RunResult::error(
                    format!("cannot start {}: {e}", self.exe.display()),
                    None,
                    0,
                );
            }
        };
        let pid = child.id();
        let output = child.wait_with_output();
        tokio::pin!(output);
        let asked_to_stop = async {
            // A dropped sender (the bench is ending anyway) is no request.
            if stop.wait_for(|stop| *stop).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let ended = tokio::select! {
            out = &mut output => Ended::Exited(out),
            () = tokio::time::sleep(self.timeout) => Ended::TimedOut,
            () = asked_to_stop => Ended::Stopped,
        };
        let out = match ended {
            Ended::Exited(out) => out,
            late_or_stopped => {
                if let Some(pid) = pid {
                    terminate(pid);
                }
                // Past the grace period the dropped child is killed (kill_on_drop).
                let cleaned_up = tokio::time::timeout(GRACE, &mut output).await;
                let wall_ms = started.elapsed().as_millis() as u64;
                match (late_or_stopped, cleaned_up) {
                    (Ended::Stopped, Ok(out)) => out,
                    (Ended::Stopped, Err(_)) => {
                        return RunResult::error(
                            format!(
                                "interrupted, and selfheal run did not stop within {}s of SIGTERM, so it was killed",
                                GRACE.as_secs()
                            ),
                            Some(130),
                            wall_ms,
                        );
                    }
                    _ => {
                        return RunResult::error(
                            format!(
                                "selfheal run did not finish within {}s",
                                self.timeout.as_secs()
                            ),
                            None,
                            wall_ms,
                        );
                    }
                }
            }
        };
        let wall_ms = started.elapsed().as_millis() as u64;
        let out = match out {
            Err(e) => {
                return RunResult::error(format!("waiting for selfheal run: {e}"), None, wall_ms);
            }
            Ok(out) => out,
        };
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let record =
            parse_stdout(&String::from_utf8_lossy(&out.stdout)).or_else(|| newest_record(repo));
        let mut result = result_of(record.as_ref(), code, &stderr, wall_ms, repo, case);
        if let (Some(dir), Some(record)) = (&self.records, &record) {
            let path = dir.join(format!("{label}.json"));
            let written = serde_json::to_string_pretty(record)
                .map_err(std::io::Error::other)
                .and_then(|text| std::fs::write(&path, text + "\n"));
            if let Err(e) = written {
                result.status = RunStatus::Error;
                result.reason = Some(format!("cannot keep the record in {}: {e}", path.display()));
            }
        }
        result
    }
}

/// How long a run asked to stop has to clean up before it is killed: its
/// container removal and record writing take a second or two.
pub const GRACE: Duration = Duration::from_secs(30);

/// How waiting for a run ended.
enum Ended<T> {
    Exited(T),
    TimedOut,
    Stopped,
}

/// Asks process `pid` to stop (SIGTERM), as a user's Ctrl-C would: it cleans
/// up and exits 130. A process already gone is no error.
#[cfg(unix)]
fn terminate(pid: u32) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
}

/// Without SIGTERM the run is killed when it is dropped.
#[cfg(not(unix))]
fn terminate(_pid: u32) {}

/// What a finished `selfheal run` amounts to.
fn result_of(
    record: Option<&RepairRecord>,
    code: Option<i32>,
    stderr: &str,
    wall_ms: u64,
    repo: &Path,
    case: &Case,
) -> RunResult {
    let error_line = || last_error(stderr).unwrap_or_else(|| "no error message".to_owned());
    if code == Some(130) {
        let mut result = RunResult::error("interrupted", code, wall_ms);
        if let Some(record) = record {
            result.attempts = record.attempts.len() as u32;
            result.tokens = record.tokens;
        }
        return result;
    }
    let Some(record) = record else {
        let reason = match code {
            Some(c) => format!("selfheal run exited {c} without a record: {}", error_line()),
            None => "selfheal run was killed by a signal".to_owned(),
        };
        return RunResult::error(reason, code, wall_ms);
    };
    let mut stages_ms = BTreeMap::new();
    for (stage, ms) in record
        .timings_ms
        .iter()
        .chain(record.attempts.iter().flat_map(|a| a.timings_ms.iter()))
    {
        *stages_ms.entry(*stage).or_insert(0) += ms;
    }
    let mut result = RunResult {
        status: RunStatus::Error,
        reason: None,
        exit_code: code,
        model: Some(record.model.clone()),
        attempts: record.attempts.len() as u32,
        tokens: record.tokens,
        stages_ms,
        wall_ms,
        per_attempt: record
            .attempts
            .iter()
            .map(|a| AttemptSummary {
                outcome: a.outcome,
                tokens: a.tokens,
                reason: a.reason.as_deref().map(one_line),
                remedy: a.remedy.clone(),
            })
            .collect(),
        files: Vec::new(),
        tests: None,
        tests_note: None,
    };
    match (&record.outcome, code) {
        (Outcome::Fixed { commit, .. }, Some(0 | 1)) => {
            match guard::changes_between(repo, &record.base_commit, commit) {
                Ok(changes) => {
                    let (verdict, note) = guard::judge(&changes, case.known_fix_files.as_ref());
                    result.status = RunStatus::Fixed;
                    result.files = changes.into_iter().map(|c| c.path).collect();
                    result.tests = Some(verdict);
                    result.tests_note = note;
                }
                Err(e) => result.reason = Some(format!("cannot read the accepted patch: {e}")),
            }
        }
        (Outcome::NotFixed { reason }, Some(1)) => {
            result.status = RunStatus::NotFixed;
            result.reason = Some(one_line(reason));
        }
        (Outcome::NothingToFix, _) => {
            result.reason = Some("selfheal found no failure in the cached logs".to_owned());
        }
        (Outcome::EnvironmentError { reason }, _) => {
            result.reason = Some(format!("environment error: {}", one_line(reason)));
        }
        (outcome, code) => {
            result.reason = Some(format!(
                "selfheal run exited {code:?} with outcome {}: {}",
                serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v["status"].as_str().map(str::to_owned))
                    .unwrap_or_default(),
                error_line()
            ));
        }
    }
    result
}

/// The record `--json` printed: the last line of stdout that parses.
fn parse_stdout(stdout: &str) -> Option<RepairRecord> {
    stdout
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
        .find_map(|l| serde_json::from_str(l).ok())
}

/// The newest record in `.selfheal/results/`, when stdout had none.
fn newest_record(repo: &Path) -> Option<RepairRecord> {
    let dir = repo.join(".selfheal").join("results");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let text = std::fs::read_to_string(paths.last()?).ok()?;
    serde_json::from_str(&text).ok()
}

/// The last `error:` line selfheal printed, else its last line.
fn last_error(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("error:"))
        .or_else(|| lines.last())
        .map(|l| (*l).to_owned())
}
