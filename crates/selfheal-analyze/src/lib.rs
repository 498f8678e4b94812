//! Finds the real failure in a CI log: a ranked list of
//! [`Failure`](selfheal_types::Failure)s and a compact excerpt for the model.
//!
//! The design is a single streaming pass. `lines` splits the input into
//! bounded lines; `engine` strips GitHub Actions timestamps and ANSI
//! colours, follows `##[group]Run` steps and exit-code markers, and hands
//! each line that passes a keyword prefilter to every tool parser in
//! `parsers`: pytest, Python tracebacks, compiler and linter diagnostics
//! (gcc, javac, scalac, tsc, ruff, flake8, mypy, pylint, ...), cargo/rustc
//! and Rust panics, go, Maven/Gradle/`ScalaTest`, `PHPUnit`/`RSpec`/minitest/
//! mocha, jest/vitest/eslint, make/`CMake`/linker, a table of one-line
//! signatures (infrastructure, time limits, dependency resolution, Docker,
//! workflow configuration), and a generic fallback. A line that hits no
//! keyword while no parser is inside a block is never decoded.
//!
//! Parsers emit candidates with a confidence; `rank` scores them against
//! the step verdicts (GitHub's `Process completed with exit code`, Travis's
//! `The command ... exited with`, Jenkins's `marked build as failure`),
//! drops duplicates, fingerprints what is left and builds the excerpt.
//! Run-log folders and zips are several streams merged before ranking;
//! per-step files win over whole-job files, which repeat them.
//!
//! Categories come from the tool that printed the failure; where the text
//! names no tool, a runner's summary in the same step (`** TEST FAILED **`,
//! `> Task :app:test FAILED`) gives its category to the fallback's lines,
//! and `refine` reads the step's command (`npm run lint:css`, `awesome_bot`,
//! the script npm says it runs). `flaky` sets the separate flaky hint: a
//! test that passed on a retry, a timing assertion, a transient network or
//! runner failure. `eval/CATEGORIES.md` defines the categories.
//!
//! Measured with `selfheal-eval` on `../shared/corpora`: `LogChunks` hit@1
//! 82.6% / hit@5 89.7% (tuning part 84.5% / 91.7%, held-out repositories
//! 78.5% / 85.4%; see `eval/SPLIT.md`), `CiDiff` hit@1 96.1% (the naive
//! last-error-lines baseline: 10% / 33% and 17%); the top failure's category
//! right for 88.1% of the 193 labelled logs (lint 86%, infra 96%, dependency
//! 100%; held-out repositories 73.7%), the flaky hint right in 10 of the 10
//! logs it marks, of 23 labelled flaky. Measured with `selfheal-speed` on a
//! busy two-core machine: 1 GiB of real GitHub Actions job logs at 1.0x the
//! speed of `grep -ciE 'error|fail|exception'` (the same with `LC_ALL=C` and
//! in the C.UTF-8 locale), the error-dense log at 0.4x, in 20-28 MiB.
//!
//! Everything here is lenient toward messy input (invalid UTF-8, CRLF, bare
//! carriage returns, binary noise, huge lines): the worst a bad line can do
//! is not be recognised.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod engine;
mod flaky;
mod gate;
mod input;
mod lines;
mod parsers;
mod rank;
mod refine;
mod scan;
#[doc(hidden)]
pub mod split;
mod summary;

use std::path::{Path, PathBuf};

pub use summary::render_summary;

/// How much to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// Most lines in [`Analysis::excerpt`](selfheal_types::Analysis::excerpt).
    pub excerpt_budget_lines: usize,
    /// Most failures kept after ranking.
    pub max_failures: usize,
    /// Run no tool parser, only the fallback for unrecognised tools. For
    /// measuring: `selfheal-eval --fallback-only` shows how the analyser
    /// does on logs of tools it has no rules for.
    pub fallback_only: bool,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            excerpt_budget_lines: 120,
            max_failures: 20,
            fallback_only: false,
        }
    }
}

/// Why an input could not be analysed. Every variant means the input was
/// unreadable (the CLI exits 2); none is worth retrying unchanged.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("cannot read {path}: {source}\nhint: check that the path exists and is readable")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a valid run-log zip: {source}\nhint: download the run's logs again, or unpack the zip and pass the folder"
    )]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("cannot read {entry} inside {path}: {source}")]
    ZipEntry {
        path: PathBuf,
        entry: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read log stream {source_name}: {source}")]
    Stream {
        source_name: String,
        #[source]
        source: std::io::Error,
    },
}

/// Analyses a plain log file, a GitHub run-log `.zip`, or an unpacked run-log folder.
pub fn analyze_path(
    path: &Path,
    opts: &AnalyzeOptions,
) -> Result<selfheal_types::Analysis, AnalyzeError> {
    let candidates = input::analyze_path(path, opts.fallback_only)?;
    Ok(rank::finalize(
        &path.display().to_string(),
        candidates,
        opts,
    ))
}

/// Analyses one stream of log text; `source` names it in the result.
/// Streaming: memory stays bounded whatever the length of the input.
pub fn analyze_reader<R: std::io::Read>(
    reader: R,
    source: &str,
    opts: &AnalyzeOptions,
) -> Result<selfheal_types::Analysis, AnalyzeError> {
    let result =
        engine::run(reader, engine::FileContext::default(), opts.fallback_only).map_err(|e| {
            AnalyzeError::Stream {
                source_name: source.to_owned(),
                source: e,
            }
        })?;
    Ok(rank::finalize(source, result.candidates, opts))
}

/// The naive baseline the evaluation compares against: the last `n`
/// error-like lines, latest first, each as a one-line span.
#[doc(hidden)]
pub fn naive_baseline<R: std::io::Read>(reader: R, n: usize) -> std::io::Result<Vec<u64>> {
    let mut splitter = lines::LineSplitter::new(reader);
    let mut ring = std::collections::VecDeque::with_capacity(n);
    let mut no = 0u64;
    let mut lossy = String::new();
    while let Some(l) = splitter.next_line()? {
        no += 1;
        let text = lines::to_str(l, &mut lossy).to_ascii_lowercase();
        if text.contains("error") || text.contains("fail") || text.contains("exception") {
            if ring.len() == n {
                ring.pop_front();
            }
            ring.push_back(no);
        }
    }
    Ok(ring.into_iter().rev().collect())
}
