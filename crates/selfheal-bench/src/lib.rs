//! `selfheal bench`: how often selfheal repairs a suite of failing cases,
//! with how many attempts, tokens and seconds, and whether its fixes kept the
//! tests honest, reproducible with any OpenAI-compatible model.
//!
//! Design notes:
//! - **The real loop, as users run it.** Each case is prepared in a fresh
//!   temporary repository and repaired by spawning the same `selfheal`
//!   binary (`run --offline --yes --json`), so the figures include the CLI,
//!   the configuration layers, the real Docker sandbox and the configured
//!   model; nothing is imitated in-process. The suite itself is only read.
//! - **Preparation is in the binary.** A sample (`project/` + `break.patch`)
//!   is prepared the way `sample_projects/prepare.sh` does, with git2 and
//!   the same fixed identities and dates, so the broken commit's sha is the
//!   one the cached logs name ([`prepare`]); a captured case is a git bundle
//!   of the failing commit ([`capture`]).
//! - **Judged from the outside.** A fix counts when selfheal committed it;
//!   whether it kept the tests is read from the committed diff and the
//!   case's known fix ([`guard`]), independently of selfheal's own guard.
//! - **Exit status says whether the harness worked, not how lucky the model
//!   was**: 0 when every run of every case was measured (fixed or not), 2
//!   when the harness broke (a case could not be prepared, selfheal crashed,
//!   timed out, or stopped on an environment or configuration error, or
//!   Docker or the model server is missing).
//!
//! The suite format is in SUITE.md beside this crate.

pub mod capture;
pub mod error;
pub mod guard;
pub mod prepare;
pub mod report;
pub mod runner;
pub mod suite;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub use crate::error::BenchError;
use crate::report::{CaseResult, Report, RunResult, RunStatus};
use crate::runner::Runner;
use crate::suite::Suite;

/// `selfheal bench`: arguments as parsed.
#[derive(Debug, Clone, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Exit status: 0 when every run of every case was measured, fixed or not; 2 when the harness broke (a bad suite, Docker or the model server missing, a case that could not be prepared, a selfheal run that crashed, timed out or stopped on an environment or configuration error); 130 when interrupted. The suite format: crates/selfheal-bench/SUITE.md."
)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    /// The suite folder (default: the bundled `sample_projects/`, found from the current directory up).
    #[arg(value_name = "SUITE")]
    pub suite: Option<PathBuf>,
    /// Print the results as JSON (selfheal.bench/v1) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only these cases: comma-separated names, `*` and `?` allowed.
    #[arg(long, value_name = "PATTERN")]
    pub cases: Option<String>,
    /// Run every case N times and report the rate per case.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Model name, passed to every `selfheal run`.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Configuration file, passed to every `selfheal run`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Attempts per run, passed to every `selfheal run`.
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Kill a run that takes longer than this many seconds (a harness error).
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub case_timeout: u64,
    /// Keep the prepared repositories (their path is printed on stderr).
    #[arg(long)]
    pub keep: bool,
    /// Also write each run's full repair record to DIR/<case>-<n>.json.
    #[arg(long, value_name = "DIR")]
    pub records: Option<PathBuf>,
    /// More arguments for every `selfheal run`, after `--` (e.g. `-- --timeout 120`).
    #[arg(last = true, value_name = "RUN ARGS")]
    pub run_args: Vec<String>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Build a case from a failed run and the commit that later fixed it.
    Capture(capture::CaptureArgs),
}

/// How a bench ended; the binary maps it to its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchStatus {
    /// Every run of every case was measured, whatever the model's luck (exit 0).
    Ran,
    /// The harness could not measure some run (exit 2).
    HarnessBroken,
    /// Ctrl-C stopped it; the runs measured so far were reported (exit 130).
    Interrupted,
}

impl BenchStatus {
    pub fn exit_code(self) -> u8 {
        match self {
            BenchStatus::Ran => 0,
            BenchStatus::HarnessBroken => 2,
            BenchStatus::Interrupted => 130,
        }
    }
}

/// Runs `selfheal bench` (or `bench capture`); `selfheal_exe` is the binary
/// whose `run` does the repairs. `stop` resolves when the user asks the
/// bench to stop (the CLI passes Ctrl-C and SIGTERM): the running case is
/// stopped cleanly, no other starts, and what was measured is reported.
pub async fn run(
    args: BenchArgs,
    selfheal_exe: &Path,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<BenchStatus, BenchError> {
    if let Some(BenchCommand::Capture(capture)) = &args.command {
        let captured = capture::capture(capture, selfheal_exe).await?;
        write_stdout(&format!("{}\n", captured.summary()))?;
        return Ok(BenchStatus::Ran);
    }
    let cwd = std::env::current_dir().map_err(BenchError::io("."))?;
    let suite_dir = match &args.suite {
        Some(dir) => dir.clone(),
        None => suite::find_bundled_suite(&cwd)?,
    };
    let mut suite = Suite::load(&suite_dir)?;
    if let Some(patterns) = &args.cases {
        suite.select(patterns)?;
    }
    let runner = Runner {
        exe: selfheal_exe.to_path_buf(),
        model: args.model.clone(),
        config: args.config.as_ref().map(|c| {
            if c.is_absolute() {
                c.clone()
            } else {
                cwd.join(c)
            }
        }),
        max_attempts: args.max_attempts,
        timeout: Duration::from_secs(args.case_timeout.max(1)),
        run_args: args.run_args.clone(),
        records: match &args.records {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(BenchError::io(dir))?;
                Some(dir.canonicalize().map_err(BenchError::io(dir))?)
            }
            None => None,
        },
    };
    // Listening from here on: a signal during the pre-flight check or while
    // a case is prepared also ends in a clean stop, not a dead process.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(async move {
        stop.await;
        let _ = stop_tx.send(true);
    });
    let report = bench(&suite, &runner, args.repeat, args.keep, stop_rx).await;
    watcher.abort();
    let report = report?;
    let text = if args.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_table()
    };
    write_stdout(&text)?;
    Ok(if report.interrupted {
        BenchStatus::Interrupted
    } else if report.harness_ok() {
        BenchStatus::Ran
    } else {
        BenchStatus::HarnessBroken
    })
}

fn write_stdout(text: &str) -> Result<(), BenchError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(BenchError::io("<stdout>"))
}

/// Progress on stderr: a bar at a terminal, one line per finished run otherwise.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let bar =
            ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{pos}/{len}] {elapsed_precise} {msg}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress { bar }
    }

    fn line(&self, text: &str) {
        if self.bar.is_hidden() {
            let _ = writeln!(std::io::stderr(), "{text}");
        } else {
            self.bar.println(text);
        }
    }
}

/// Prepares and runs every case `repeat` times, one run at a time (the
/// model server and the sandbox are shared, so parallel runs would measure
/// contention).
pub async fn bench(
    suite: &Suite,
    runner: &Runner,
    repeat: u32,
    keep: bool,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Report, BenchError> {
    let work = tempfile::Builder::new()
        .prefix("selfheal-bench-")
        .tempdir()
        .map_err(BenchError::io(std::env::temp_dir()))?;
    let progress = Progress::new(suite.cases.len() as u64 * u64::from(repeat));

    // Docker, the image, the model and the configuration, checked once on a
    // prepared case before any case runs.
    let first = &suite.cases[0];
    progress
        .bar
        .set_message(format!("pre-flight check on {}", first.name));
    let preflight_repo = work.path().join("preflight");
    prepare::prepare_case(first, &preflight_repo)?;
    runner.preflight(&preflight_repo).await?;

    // Ctrl-C at a terminal reaches the running selfheal too (same process
    // group); a signal to the bench alone (SIGTERM from a job runner) is
    // passed on to it by the runner. Either way it cleans up and exits 130,
    // and the bench stops instead of starting the next case.
    let stopped = || *stop.borrow();
    let mut results = Vec::new();
    let mut interrupted = false;
    for case in &suite.cases {
        let mut runs = Vec::new();
        for n in 1..=repeat {
            if interrupted || stopped() {
                interrupted = true;
                break;
            }
            let label = if repeat > 1 {
                format!("{} (run {n}/{repeat})", case.name)
            } else {
                case.name.clone()
            };
            progress.bar.set_message(label.clone());
            let repo = work.path().join(format!("{}-{n}", case.name));
            let result = match prepare::prepare_case(case, &repo) {
                Ok(_) => {
                    runner
                        .run_case(case, &repo, &format!("{}-{n}", case.name), stop.clone())
                        .await
                }
                Err(e) => RunResult::error(format!("could not prepare the case: {e}"), None, 0),
            };
            interrupted = result.exit_code == Some(130) || stopped();
            progress.line(&run_line(&label, &result));
            progress.bar.inc(1);
            if !keep {
                let _ = std::fs::remove_dir_all(&repo);
            }
            runs.push(result);
        }
        if runs.is_empty() {
            break;
        }
        results.push(CaseResult::new(
            case.name.clone(),
            case.kind.clone(),
            case.allow_test_edits,
            case.known_fix_files
                .as_ref()
                .map(|f| f.iter().cloned().collect()),
            runs,
        ));
    }
    progress.bar.finish_and_clear();
    if keep {
        let kept = work.keep();
        progress.line(&format!("prepared repositories kept in {}", kept.display()));
    }
    let mut report = Report::new(suite.dir.display().to_string(), repeat, results);
    report.interrupted = interrupted;
    Ok(report)
}

fn run_line(label: &str, r: &RunResult) -> String {
    let what = match r.status {
        RunStatus::Fixed => format!(
            "fixed in {} attempt(s), tests {}",
            r.attempts,
            r.tests.map_or("?", |t| match t {
                guard::TestsVerdict::Intact => "intact",
                guard::TestsVerdict::AsKnownFix => "as known fix",
                guard::TestsVerdict::Changed => "CHANGED",
            })
        ),
        RunStatus::NotFixed => format!("not fixed after {} attempt(s)", r.attempts),
        RunStatus::Error => format!("ERROR: {}", r.reason.as_deref().unwrap_or("unknown")),
    };
    format!(
        "{label}: {what} ({:.1}s, {} tokens)",
        r.wall_ms as f64 / 1000.0,
        r.tokens.total()
    )
}
