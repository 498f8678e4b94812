//! Measures the analyser on real, hand-labelled CI logs.
//!
//! `selfheal-eval --corpus DIR [--verbose]` reads `DIR/logchunks` (Travis
//! logs with the chunk that explains each failure) and `DIR/cidiff/data`
//! (GitHub Actions and Jenkins logs with marked error lines) and prints
//! hit@1 / hit@5: whether the top (or one of the top five) failures' line
//! span overlaps the labelled lines. The naive baseline, the last
//! error-like lines of the log, is printed beside it for comparison.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use selfheal_analyze::{AnalyzeOptions, analyze_path, naive_baseline};
use selfheal_types::LineSpan;

#[derive(Default, Clone, Copy)]
struct Score {
    n: u32,
    hit1: u32,
    hit5: u32,
    base1: u32,
    base5: u32,
}

impl Score {
    fn add(&mut self, hits: [bool; 4]) {
        self.n += 1;
        self.hit1 += u32::from(hits[0]);
        self.hit5 += u32::from(hits[1]);
        self.base1 += u32::from(hits[2]);
        self.base5 += u32::from(hits[3]);
    }

    fn pct(x: u32, n: u32) -> f64 {
        if n == 0 {
            0.0
        } else {
            100.0 * f64::from(x) / f64::from(n)
        }
    }

    fn line(&self, name: &str) -> String {
        format!(
            "{name:<28} n={:<4} hit@1 {:5.1}%  hit@5 {:5.1}%   | baseline hit@1 {:5.1}%  hit@5 {:5.1}%",
            self.n,
            Self::pct(self.hit1, self.n),
            Self::pct(self.hit5, self.n),
            Self::pct(self.base1, self.n),
            Self::pct(self.base5, self.n),
        )
    }
}

/// Scores one log against its labelled spans.
fn score(log: &Path, truth: &[LineSpan]) -> Result<[bool; 4]> {
    let analysis = analyze_path(log, &AnalyzeOptions::default())
        .with_context(|| format!("analysing {}", log.display()))?;
    let hit = |s: &LineSpan| truth.iter().any(|t| t.overlaps(s));
    let spans: Vec<LineSpan> = analysis.failures.iter().map(|f| f.log_span).collect();
    let base = naive_baseline(std::fs::File::open(log)?, 5)?;
    let base_hit = |n: usize| base.iter().take(n).any(|&l| hit(&LineSpan::new(l, l)));
    Ok([
        spans.first().is_some_and(hit),
        spans.iter().take(5).any(hit),
        base_hit(1),
        base_hit(5),
    ])
}

fn logchunks(root: &Path, verbose: bool, out: &mut impl Write) -> Result<Score> {
    let labels = std::fs::read_to_string(root.join("labels.jsonl"))
        .with_context(|| format!("reading {}/labels.jsonl", root.display()))?;
    let mut total = Score::default();
    let mut by_lang: BTreeMap<String, Score> = BTreeMap::new();
    for line in labels.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line)?;
        let path = root.join(row["log_path"].as_str().unwrap_or_default());
        if !path.is_file() {
            continue;
        }
        let span = LineSpan::new(
            row["chunk_start_line"].as_u64().unwrap_or(0),
            row["chunk_end_line"].as_u64().unwrap_or(0),
        );
        let hits = score(&path, &[span])?;
        total.add(hits);
        let lang = row["language"].as_str().unwrap_or("?").to_owned();
        by_lang.entry(lang).or_default().add(hits);
        if verbose && !hits[0] {
            writeln!(
                out,
                "  miss@1 {} (label {}-{})",
                path.display(),
                span.start,
                span.end
            )?;
        }
    }
    if verbose {
        for (lang, s) in &by_lang {
            writeln!(out, "  {}", s.line(lang))?;
        }
    }
    Ok(total)
}

/// `E a-b` / `E n` lines of a `CiDiff` `groundtruth` file.
fn cidiff_truth(text: &str) -> Vec<LineSpan> {
    text.lines()
        .filter_map(|l| l.strip_prefix("E "))
        .filter_map(|r| {
            let r = r.trim();
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            Some(LineSpan::new(
                a.trim().parse().ok()?,
                b.trim().parse().ok()?,
            ))
        })
        .collect()
}

fn cidiff(root: &Path, verbose: bool, out: &mut impl Write) -> Result<BTreeMap<String, Score>> {
    let mut dirs = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            }
        }
        if d.join("fail.log").is_file() && d.join("groundtruth").is_file() {
            dirs.push(d);
        }
    }
    dirs.sort();
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    for d in dirs {
        let gt = std::fs::read_to_string(d.join("groundtruth"))?;
        let kind = if gt.starts_with("RAW_GITHUB") || gt.starts_with("FULL_GITHUB") {
            "github-actions"
        } else {
            "jenkins/other"
        };
        let truth = cidiff_truth(&gt);
        if truth.is_empty() {
            continue;
        }
        let hits = score(&d.join("fail.log"), &truth)?;
        scores.entry(kind.to_owned()).or_default().add(hits);
        scores.entry("all".to_owned()).or_default().add(hits);
        if verbose && !hits[0] {
            writeln!(out, "  miss@1 {}", d.display())?;
        }
    }
    Ok(scores)
}

fn main() -> Result<()> {
    let mut corpus: Option<PathBuf> = None;
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--corpus" => corpus = args.next().map(PathBuf::from),
            "--verbose" | "-v" => verbose = true,
            "--show" => {
                // Debugging aid: the summary of one log, as `selfheal analyze` prints it.
                let path = PathBuf::from(args.next().unwrap_or_default());
                let a = analyze_path(&path, &AnalyzeOptions::default())?;
                write!(
                    std::io::stdout(),
                    "{}",
                    selfheal_analyze::render_summary(&a)
                )?;
                return Ok(());
            }
            "--help" | "-h" => {
                writeln!(
                    std::io::stdout(),
                    "usage: selfheal-eval --corpus DIR [--verbose]"
                )?;
                return Ok(());
            }
            other => bail!(
                "unknown argument {other}\nhint: usage: selfheal-eval --corpus DIR [--verbose]"
            ),
        }
    }
    let corpus = corpus.unwrap_or_else(|| PathBuf::from("../shared/corpora"));
    if !corpus.is_dir() {
        bail!(
            "corpus folder {} not found\nhint: pass --corpus with the folder that holds logchunks/ and cidiff/",
            corpus.display()
        );
    }
    let mut out = std::io::stdout().lock();
    let start = Instant::now();
    let lc = corpus.join("logchunks");
    if lc.is_dir() {
        let s = logchunks(&lc, verbose, &mut out)?;
        writeln!(out, "{}", s.line("LogChunks"))?;
    } else {
        writeln!(out, "LogChunks: {} absent, skipped", lc.display())?;
    }
    let cd = corpus.join("cidiff/data");
    if cd.is_dir() {
        for (kind, s) in cidiff(&cd, verbose, &mut out)? {
            writeln!(out, "{}", s.line(&format!("CiDiff {kind}")))?;
        }
    } else {
        writeln!(out, "CiDiff: {} absent, skipped", cd.display())?;
    }
    writeln!(out, "({:.1}s)", start.elapsed().as_secs_f64())?;
    Ok(())
}
