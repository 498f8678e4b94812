//! Measures the analyser against `grep` on a large log.
//!
//! `selfheal-speed [--corpus DIR] [--size BYTES] [--runs N] [--dense]
//! [--dir DIR]` builds a log of `--size` bytes (1 GiB by default) with its
//! failure at the end, then times `grep -ciE 'error|fail|exception'` (with
//! `LC_ALL=C` and in the default locale) and the analyser on it, best of
//! `--runs` each, and prints them, the ratios of their speeds and the
//! analyser's peak memory.
//!
//! The default log is made of real GitHub Actions job logs: the passing
//! jobs of the `CiDiff` corpus (`DIR/cidiff/data/breakages_dump/*/*/
//! pass.log`) over and over, then one of its failing jobs. `--dense` uses
//! the benchmarks' generated log instead, where a quarter of all lines say
//! "error" or "fail" without failing: the analyser's worst case, since
//! every such line goes to the parsers.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use selfheal_analyze::{AnalyzeOptions, analyze_path};

#[path = "../../benches/support/joblog.rs"]
mod joblog;

const USAGE: &str =
    "usage: selfheal-speed [--corpus DIR] [--size BYTES] [--runs N] [--dense] [--dir DIR]";

struct Args {
    corpus: PathBuf,
    size: u64,
    runs: u32,
    dense: bool,
    dir: PathBuf,
}

fn parse_args() -> Result<Option<Args>> {
    let mut args = Args {
        corpus: PathBuf::from("../shared/corpora"),
        size: 1 << 30,
        runs: 3,
        dense: false,
        dir: std::env::temp_dir(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .with_context(|| format!("{name} needs a value\nhint: {USAGE}"))
        };
        match a.as_str() {
            "--corpus" => args.corpus = PathBuf::from(value("--corpus")?),
            "--size" => {
                args.size = value("--size")?
                    .parse()
                    .context("--size takes a number of bytes")?;
            }
            "--runs" => {
                args.runs = value("--runs")?
                    .parse::<u32>()
                    .context("--runs takes a number")?
                    .max(1);
            }
            "--dense" => args.dense = true,
            "--dir" => args.dir = PathBuf::from(value("--dir")?),
            "--help" | "-h" => {
                writeln!(std::io::stdout(), "{USAGE}")?;
                return Ok(None);
            }
            other => bail!("unknown argument {other}\nhint: {USAGE}"),
        }
    }
    Ok(Some(args))
}

/// Real GitHub Actions job logs from the corpus: the passing ones, and one
/// failing one to end with.
fn corpus_logs(corpus: &Path) -> Result<(Vec<PathBuf>, PathBuf)> {
    let root = corpus.join("cidiff/data/breakages_dump");
    let mut passing = Vec::new();
    let mut failing = Vec::new();
    let workflows = std::fs::read_dir(&root).with_context(|| {
        format!(
            "reading {}\nhint: pass --corpus with the folder that holds cidiff/, or use --dense",
            root.display()
        )
    })?;
    for workflow in workflows {
        for run in std::fs::read_dir(workflow?.path())? {
            let run = run?.path();
            if run.join("pass.log").is_file() {
                passing.push(run.join("pass.log"));
            }
            if run.join("fail.log").is_file() {
                failing.push(run.join("fail.log"));
            }
        }
    }
    passing.sort();
    failing.sort();
    match failing.into_iter().next() {
        Some(last) if !passing.is_empty() => Ok((passing, last)),
        _ => bail!("no pass.log and fail.log pairs under {}", root.display()),
    }
}

/// Writes the log to measure, unless a file of the right size is there
/// from an earlier run.
fn build_log(args: &Args) -> Result<PathBuf> {
    let kind = if args.dense { "dense" } else { "gha" };
    let path = args
        .dir
        .join(format!("selfheal-speed-{kind}-{}.log", args.size));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() >= args.size) {
        return Ok(path);
    }
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    if args.dense {
        joblog::write_job_log(&mut out, args.size)?;
    } else {
        let (passing, failing) = corpus_logs(&args.corpus)?;
        let mut filler = Vec::new();
        for p in &passing {
            filler.extend_from_slice(&std::fs::read(p)?);
            if !filler.ends_with(b"\n") {
                filler.push(b'\n');
            }
        }
        let mut written = 0u64;
        while written < args.size {
            out.write_all(&filler)?;
            written += filler.len() as u64;
        }
        out.write_all(&std::fs::read(&failing)?)?;
    }
    out.flush()?;
    Ok(path)
}

/// Best wall time of `runs` runs of `f`.
fn best<T>(runs: u32, mut f: impl FnMut() -> Result<T>) -> Result<(Duration, T)> {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f()?;
        let took = start.elapsed();
        if best.as_ref().is_none_or(|(b, _)| took < *b) {
            best = Some((took, value));
        }
    }
    best.context("no runs")
}

/// Peak resident memory of this process so far, from `/proc`.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[path = "common/exit.rs"]
mod exit;

fn main() -> std::process::ExitCode {
    exit::exit_with(run)
}

fn run() -> Result<()> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let mut out = std::io::stdout().lock();
    let path = build_log(&args)?;
    let bytes = std::fs::metadata(&path)?.len();
    let mib = bytes as f64 / f64::from(1 << 20);
    writeln!(
        out,
        "log: {} ({mib:.0} MiB, {})",
        path.display(),
        if args.dense {
            "generated, error-dense"
        } else {
            "real GitHub Actions job logs"
        }
    )?;
    // grep's speed depends on the locale: in a UTF-8 one it decodes
    // characters to fold case; with `LC_ALL=C` it compares bytes. Both are
    // reported, the C locale first.
    let default_locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unset (POSIX)".to_owned());
    let mut greps = Vec::new();
    for (label, c_locale) in [
        ("LC_ALL=C".to_owned(), true),
        (format!("default locale, {default_locale}"), false),
    ] {
        let (took, count) = best(args.runs, || {
            let mut cmd = Command::new("grep");
            cmd.args(["-ciE", "error|fail|exception"]).arg(&path);
            if c_locale {
                cmd.env("LC_ALL", "C");
            }
            // Output goes to a pipe: grep stops at the first match when it
            // sees that its output is /dev/null.
            let output = cmd
                .stdout(Stdio::piped())
                .output()
                .context("running grep")?;
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        })?;
        writeln!(
            out,
            "grep -ciE 'error|fail|exception' ({label}): {:.2} s ({:.0} MiB/s), {count} lines",
            took.as_secs_f64(),
            mib / took.as_secs_f64()
        )?;
        greps.push((label, took));
    }
    let opts = AnalyzeOptions::default();
    let (ours, analysis) = best(args.runs, || Ok(analyze_path(&path, &opts)?))?;
    writeln!(
        out,
        "selfheal analyze: {:.2} s ({:.0} MiB/s), peak memory {} MiB",
        ours.as_secs_f64(),
        mib / ours.as_secs_f64(),
        peak_rss_kib().map_or_else(|| "?".to_owned(), |k| (k / 1024).to_string())
    )?;
    if let Some(top) = analysis.failures.first() {
        writeln!(
            out,
            "top failure: [{}] {}: {} (lines {}-{})",
            serde_json::to_value(top.category)?.as_str().unwrap_or("?"),
            top.tool,
            top.message,
            top.log_span.start,
            top.log_span.end
        )?;
    }
    for (label, grep) in &greps {
        let ratio = grep.as_secs_f64() / ours.as_secs_f64();
        writeln!(out, "speed relative to grep ({label}): {ratio:.2}x")?;
    }
    Ok(())
}
