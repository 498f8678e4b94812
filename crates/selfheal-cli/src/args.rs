//! Command-line arguments, as parsed; [`crate::settings`] resolves them
//! against the environment and the config file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "selfheal",
    version,
    about = "Repairs failing CI: finds the failure in the logs, asks a model for a fix, proves it in Docker and commits it on a branch",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug); `SELFHEAL_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Repair a failed CI run: analyse, reason, patch, approve, validate, commit.
    Run(RunArgs),
    /// Find the failures in CI logs (files, run-log zips or folders).
    Analyze(AnalyzeArgs),
    /// Pre-flight: configuration, model endpoint, Docker, repository, cache, GitHub.
    Check(CheckArgs),
    /// Download failed runs' logs from GitHub into the offline cache, and say what was cached.
    Fetch(FetchArgs),
    /// Remove sandbox and install containers left behind by a selfheal that crashed or was killed.
    Clean(CleanArgs),
    /// Measure repairs on a suite of failing cases (default: the bundled samples); `bench capture` adds a case.
    Bench(selfheal_bench::BenchArgs),
}

/// Options that locate the repository and the configuration.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// The repository to repair (default: the git root of the current directory).
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Configuration file (default: selfheal.toml at the repository root, if any).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Model name (overrides `SELFHEAL_MODEL` and the config file).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Sandbox image for validation.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Which runs: one named run, or the newest failed ones that match.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// The run to repair (default: the run that triggered a `workflow_run` job, else the newest failed runs).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// The GitHub repository, `owner/name` (default: `GITHUB_REPOSITORY`, else the `origin` remote).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo_slug: Option<String>,
    /// Only runs of this workflow (name or file name); repeatable.
    #[arg(long = "workflow", value_name = "NAME")]
    pub workflows: Vec<String>,
    /// Never runs of this workflow (name or file name); repeatable.
    #[arg(long = "exclude-workflow", value_name = "NAME")]
    pub exclude_workflows: Vec<String>,
    /// Only runs on this branch.
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Only runs triggered by this event (`push`, `pull_request`, ...).
    #[arg(long, value_name = "EVENT")]
    pub event: Option<String>,
    /// Only runs of this commit.
    #[arg(long, value_name = "SHA")]
    pub head_sha: Option<String>,
    /// Handle at most this many runs.
    #[arg(long, value_name = "N")]
    pub max_runs: Option<u32>,
}

// Each bool is one independent command-line switch.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Replay logs cached in `.selfheal/logs/` instead of calling GitHub (also `OFFLINE_MODE=true`).
    #[arg(long)]
    pub offline: bool,
    /// Do everything but push or write to GitHub; the would-be pull request goes to `.selfheal/results/` (also `DRY_RUN=true`).
    #[arg(long)]
    pub dry_run: bool,
    /// Keep the fix on a local branch: no push, no pull request.
    #[arg(long)]
    pub no_publish: bool,
    /// Also keep one comment on the pull request whose run failed, pointing at the fix.
    #[arg(long)]
    pub comment: bool,
    /// Repair runs and failures that were handled before.
    #[arg(long)]
    pub force: bool,
    /// Automated mode, as inside GitHub Actions: publish only to repositories
    /// enrolled in your config or `SELFHEAL_ENROLLED`, else run as a dry run.
    #[arg(long)]
    pub ci: bool,
    /// Take the logs from a file, a run-log zip or an unpacked run-log folder.
    #[arg(long, value_name = "PATH")]
    pub logs: Option<PathBuf>,
    /// Approve the change without asking. Does not consent to changes to
    /// tests: that takes `--allow-test-edits`.
    #[arg(short, long)]
    pub yes: bool,
    /// Accept a change to a test when the model says the test itself is
    /// wrong (and why). Without it such a change is refused, or, at a
    /// terminal, asked about separately, naming what changed in the tests.
    #[arg(long)]
    pub allow_test_edits: bool,
    /// How many patches to try.
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Answers to ask for per attempt (1 to 8): the first at the configured
    /// temperature, the rest sampled; validated in turn, smallest first.
    #[arg(long, value_name = "N")]
    pub candidates: Option<u32>,
    /// Ask the model from the first attempt, without trying a remedy
    /// first: the known fix for a missing name, or the revert of the tested
    /// commit's lines that the failure runs through (`[repair] remedies = false`)
    #[arg(long)]
    pub no_remedies: bool,
    /// Shell command that runs the whole test suite in the sandbox.
    #[arg(long, value_name = "CMD")]
    pub test_command: Option<String>,
    /// Validation time limit in seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Where patches are validated: `docker` (isolated, the default) or
    /// `local` (a temporary copy run as a plain subprocess: NOT isolated).
    #[arg(long, value_name = "KIND")]
    pub sandbox: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Log files, run-log zips or unpacked run-log folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print one JSON object per input on stdout.
    #[arg(long)]
    pub json: bool,
    /// Lines the excerpt may hold.
    #[arg(long, value_name = "N")]
    pub excerpt_lines: Option<usize>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The GitHub repository to check access to, `owner/name`.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo_slug: Option<String>,
    /// Skip the GitHub checks (for offline use).
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Print what was removed as JSON.
    #[arg(long)]
    pub json: bool,
}
