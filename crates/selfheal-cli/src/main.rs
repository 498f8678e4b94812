//! The `selfheal` binary.
//!
//! The CLI is the one place that picks concrete parts: it resolves the
//! configuration, connects the Docker sandbox and the model client, chooses an
//! approver (a prompt, `--yes`, or a refusal when nobody can be asked), and
//! hands them to the orchestrator. Everything it shows a person goes to stderr
//! (progress, diffs, prompts); results go to stdout, as text or with `--json`.
//!
//! Exit codes: 0 fixed (or nothing to fix), 1 not fixed, 2 bad usage,
//! configuration or input.

// The binary is where printing belongs.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod actions;
mod approve;
mod args;
mod check;
mod commands;
mod interrupt;
mod printer;
mod redaction;
mod run;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    // async-openai's HTTP client is built without a default TLS provider, so
    // the binary chooses one before any client exists.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    init_tracing(cli.verbose);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            // The repair loop's future is large; boxed, it does not sit on the stack.
            Command::Run(args) => Box::pin(run::run(args)).await,
            Command::Fetch(args) => run::fetch(args).await,
            Command::Clean(args) => check::clean(&args).await,
            Command::Analyze(args) => commands::analyze(&args),
            Command::Check(args) => check::run(args).await,
            Command::Bench(args) => {
                selfheal_bench::run(args, &std::env::current_exe()?, interrupt::stop_requested())
                    .await
                    .map(|s| match s {
                        selfheal_bench::BenchStatus::Ran => Status::Success,
                        selfheal_bench::BenchStatus::HarnessBroken => Status::Error,
                        selfheal_bench::BenchStatus::Interrupted => Status::Interrupted,
                    })
                    .map_err(Into::into)
            }
        }
    });
    match result {
        Ok(status) => status.into(),
        Err(e) => {
            let line = one_line(&format!("{e:#}"));
            let line = redaction::process_redactor().map_or(line.clone(), |r| r.redact_str(&line));
            eprintln!("error: {line}");
            ExitCode::from(2)
        }
    }
}

/// Exit statuses, as documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fixed, nothing to fix, or every check passed.
    Success = 0,
    /// Not fixed, or a check failed.
    Failure = 1,
    /// Bad usage, configuration or input.
    Error = 2,
    /// Interrupted by Ctrl-C.
    Interrupted = 130,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        ExitCode::from(status as u8)
    }
}

/// Errors from the crates may put their `hint:` on a line of its own; the CLI
/// promises one line per error.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SELFHEAL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(redaction::RedactedStderr {
            redactor: redaction::process_redactor(),
        })
        .without_time()
        .try_init();
}
