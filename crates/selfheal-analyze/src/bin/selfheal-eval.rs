//! Measures the analyser on real, hand-labelled CI logs.
//!
//! `selfheal-eval --corpus DIR [--verbose] [--per-repo] [--categories FILE]
//! [--tuning-only] [--fallback-only]`
//! reads `DIR/logchunks` (Travis logs with the chunk that explains each
//! failure) and `DIR/cidiff/data` (GitHub Actions and Jenkins logs with
//! marked error lines) and prints hit@1 / hit@5: whether the top (or one of
//! the top five) failures' line span overlaps the labelled lines. The naive
//! baseline, the last error-like lines of the log, is printed beside it.
//!
//! `LogChunks` is reported in two parts, split by repository with the fixed
//! rule of [`selfheal_analyze::split`] (see `eval/SPLIT.md`): the tuning part,
//! which rules may be fitted to, and the held-out part, which says how well
//! they generalise. A rule that moves only the tuning figure fits the corpus,
//! not the tool. `--tuning-only` leaves the held-out part out entirely, for
//! the runs made while developing a rule.
//!
//! `--fallback-only` runs no tool parser, only the fallback for tools the
//! analyser does not know: its figures estimate how the analyser does on a
//! log whose tools it has no rules for, the case the held-out part can only
//! sample. A change to the fallback is judged by them.
//!
//! Where `eval/categories.jsonl` labels a log with the category a user could
//! act on (see `eval/CATEGORIES.md`), the category of the top failure is
//! scored against it: accuracy per part and per category, and a confusion
//! matrix.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use selfheal_analyze::{AnalyzeOptions, analyze_path, naive_baseline, split::is_held_out};
use selfheal_types::{Category, LineSpan};

const USAGE: &str = "usage: selfheal-eval --corpus DIR [--verbose] [--per-repo] [--categories FILE] [--tuning-only] [--fallback-only] [--show LOG]";

/// How to score: options shared by every log.
struct Settings {
    analyze: AnalyzeOptions,
    verbose: bool,
    /// Leave the held-out repositories out entirely (neither scored nor
    /// listed), so that developing against the tuning part does not show
    /// held-out results.
    tuning_only: bool,
}

const CATEGORIES: [Category; 9] = [
    Category::TestFailure,
    Category::TestError,
    Category::CompileError,
    Category::Lint,
    Category::Dependency,
    Category::BuildConfig,
    Category::Infra,
    Category::Timeout,
    Category::Unknown,
];

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

    fn line(&self, name: &str) -> String {
        format!(
            "{name:<40} n={:<4} hit@1 {:5.1}%  hit@5 {:5.1}%   | baseline hit@1 {:5.1}%  hit@5 {:5.1}%",
            self.n,
            pct(self.hit1, self.n),
            pct(self.hit5, self.n),
            pct(self.base1, self.n),
            pct(self.base5, self.n),
        )
    }
}

fn pct(x: u32, n: u32) -> f64 {
    if n == 0 {
        0.0
    } else {
        100.0 * f64::from(x) / f64::from(n)
    }
}

/// What the analyser said about one log.
struct Verdict {
    hits: [bool; 4],
    /// The top failure's category; `unknown` when nothing was found.
    category: Category,
    /// Whether the top failure carries the flaky hint.
    flaky: bool,
}

/// Scores one log against its labelled spans.
fn score(log: &Path, truth: &[LineSpan], settings: &Settings) -> Result<Verdict> {
    let analysis = analyze_path(log, &settings.analyze)
        .with_context(|| format!("analysing {}", log.display()))?;
    let hit = |s: &LineSpan| truth.iter().any(|t| t.overlaps(s));
    let spans: Vec<LineSpan> = analysis.failures.iter().map(|f| f.log_span).collect();
    let base = naive_baseline(std::fs::File::open(log)?, 5)?;
    let base_hit = |n: usize| base.iter().take(n).any(|&l| hit(&LineSpan::new(l, l)));
    Ok(Verdict {
        hits: [
            spans.first().is_some_and(hit),
            spans.iter().take(5).any(hit),
            base_hit(1),
            base_hit(5),
        ],
        category: analysis.primary().map_or(Category::Unknown, |f| f.category),
        flaky: analysis.primary().is_some_and(|f| f.flaky == Some(true)),
    })
}

/// One scored log, keyed as `eval/categories.jsonl` keys it.
struct Scored {
    corpus: &'static str,
    /// Relative to the corpus folder (`logchunks/`, `cidiff/data/`).
    file: String,
    /// The part it is reported in: `tuning`, `held-out` or `cidiff`.
    part: &'static str,
    repo: String,
    verdict: Verdict,
}

fn logchunks(root: &Path, settings: &Settings, out: &mut impl Write) -> Result<Vec<Scored>> {
    let labels = std::fs::read_to_string(root.join("labels.jsonl"))
        .with_context(|| format!("reading {}/labels.jsonl", root.display()))?;
    let mut scored = Vec::new();
    for line in labels.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line)?;
        let file = row["log_path"].as_str().unwrap_or_default().to_owned();
        let path = root.join(&file);
        if !path.is_file() {
            continue;
        }
        let span = LineSpan::new(
            row["chunk_start_line"].as_u64().unwrap_or(0),
            row["chunk_end_line"].as_u64().unwrap_or(0),
        );
        let repo = row["repo"].as_str().unwrap_or("?").to_owned();
        let held_out = is_held_out(&repo);
        if held_out && settings.tuning_only {
            continue;
        }
        let verdict = score(&path, &[span], settings)?;
        if settings.verbose && !verdict.hits[0] {
            writeln!(
                out,
                "  miss@{} {} (label {}-{})",
                if verdict.hits[1] { 1 } else { 5 },
                path.display(),
                span.start,
                span.end
            )?;
        }
        scored.push(Scored {
            corpus: "logchunks",
            file,
            part: if held_out { "held-out" } else { "tuning" },
            repo,
            verdict,
        });
    }
    Ok(scored)
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

fn cidiff(root: &Path, settings: &Settings, out: &mut impl Write) -> Result<Vec<Scored>> {
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
    let mut scored = Vec::new();
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
        let log = d.join("fail.log");
        let verdict = score(&log, &truth, settings)?;
        if settings.verbose && !verdict.hits[0] {
            let at = if verdict.hits[1] { 1 } else { 5 };
            writeln!(out, "  miss@{at} {}", d.display())?;
        }
        let file = log
            .strip_prefix(root)
            .unwrap_or(&log)
            .to_string_lossy()
            .replace('\\', "/");
        scored.push(Scored {
            corpus: "cidiff",
            file,
            part: "cidiff",
            repo: kind.to_owned(),
            verdict,
        });
    }
    Ok(scored)
}

fn parse_category(s: &str) -> Option<Category> {
    CATEGORIES.into_iter().find(|c| c.as_str() == s)
}

/// One line of `eval/categories.jsonl`.
#[derive(Clone, Copy)]
struct Label {
    category: Category,
    flaky: bool,
}

/// `(corpus, file) -> label` from `eval/categories.jsonl`.
fn category_labels(path: &Path) -> Result<BTreeMap<(String, String), Label>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut labels = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let row: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
        let field = |k: &str| row[k].as_str().unwrap_or_default().to_owned();
        let Some(category) = parse_category(&field("category")) else {
            bail!(
                "{}:{}: unknown category {:?}\nhint: see eval/CATEGORIES.md",
                path.display(),
                i + 1,
                field("category")
            );
        };
        let flaky = row["flaky"].as_bool().unwrap_or(false);
        labels.insert((field("corpus"), field("file")), Label { category, flaky });
    }
    Ok(labels)
}

/// Category accuracy per part, per labelled category, and a confusion matrix.
fn report_categories(
    scored: &[Scored],
    labels: &BTreeMap<(String, String), Label>,
    verbose: bool,
    out: &mut impl Write,
) -> Result<()> {
    let mut by_part: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    let mut by_cat: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    let mut confusion = [[0u32; 9]; 9];
    // [labelled flaky][hinted flaky]
    let mut flaky = [[0u32; 2]; 2];
    let index = |c: Category| CATEGORIES.iter().position(|&k| k == c).unwrap_or(8);
    for s in scored {
        let Some(&label) = labels.get(&(s.corpus.to_owned(), s.file.clone())) else {
            continue;
        };
        let truth = label.category;
        flaky[usize::from(label.flaky)][usize::from(s.verdict.flaky)] += 1;
        if verbose && label.flaky != s.verdict.flaky {
            writeln!(
                out,
                "  flaky {} labelled {}, got {}",
                s.file, label.flaky, s.verdict.flaky
            )?;
        }
        let ok = u32::from(truth == s.verdict.category);
        for key in [s.part, "all"] {
            let e = by_part.entry(key).or_default();
            e.0 += 1;
            e.1 += ok;
        }
        let e = by_cat.entry(truth.as_str()).or_default();
        e.0 += 1;
        e.1 += ok;
        confusion[index(truth)][index(s.verdict.category)] += 1;
        if verbose && ok == 0 {
            writeln!(
                out,
                "  category {} labelled {truth}, got {}",
                s.file, s.verdict.category
            )?;
        }
    }
    writeln!(
        out,
        "Category accuracy (top failure vs eval/categories.jsonl):"
    )?;
    for (part, (n, ok)) in &by_part {
        writeln!(out, "  {part:<26} n={n:<4} {:5.1}%", pct(*ok, *n))?;
    }
    for (cat, (n, ok)) in &by_cat {
        writeln!(out, "  label {cat:<20} n={n:<4} {:5.1}%", pct(*ok, *n))?;
    }
    let [[tn, fp], [fn_, tp]] = flaky;
    writeln!(
        out,
        "Flaky hint on the top failure: precision {:.1}% ({tp} of {}), recall {:.1}% ({tp} of {}), {tn} logs rightly without",
        pct(tp, tp + fp),
        tp + fp,
        pct(tp, tp + fn_),
        tp + fn_,
    )?;
    writeln!(out, "Confusion matrix (rows: label, columns: analyser):")?;
    let short = |c: Category| &c.as_str()[..c.as_str().len().min(6)];
    write!(out, "  {:<14}", "")?;
    for c in CATEGORIES {
        write!(out, "{:>7}", short(c))?;
    }
    writeln!(out)?;
    for (i, row) in confusion.iter().enumerate() {
        if row.iter().all(|&x| x == 0) {
            continue;
        }
        write!(out, "  {:<14}", CATEGORIES[i].as_str())?;
        for x in row {
            write!(out, "{x:>7}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

#[path = "common/exit.rs"]
mod exit;

fn main() -> std::process::ExitCode {
    exit::exit_with(run)
}

fn run() -> Result<()> {
    let mut corpus: Option<PathBuf> = None;
    let mut categories: Option<PathBuf> = None;
    let mut settings = Settings {
        analyze: AnalyzeOptions::default(),
        verbose: false,
        tuning_only: false,
    };
    let mut per_repo = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--corpus" => corpus = args.next().map(PathBuf::from),
            "--categories" => categories = args.next().map(PathBuf::from),
            "--verbose" | "-v" => settings.verbose = true,
            "--tuning-only" => settings.tuning_only = true,
            "--fallback-only" => settings.analyze.fallback_only = true,
            "--per-repo" => per_repo = true,
            "--show" => {
                // Debugging aid: the summary of one log, as `selfheal analyze` prints it.
                let path = PathBuf::from(args.next().unwrap_or_default());
                let a = analyze_path(&path, &settings.analyze)?;
                write!(
                    std::io::stdout(),
                    "{}",
                    selfheal_analyze::render_summary(&a)
                )?;
                return Ok(());
            }
            "--help" | "-h" => {
                writeln!(std::io::stdout(), "{USAGE}")?;
                return Ok(());
            }
            other => bail!("unknown argument {other}\nhint: {USAGE}"),
        }
    }
    let corpus = corpus.unwrap_or_else(|| PathBuf::from("../shared/corpora"));
    if !corpus.is_dir() {
        bail!(
            "corpus folder {} not found\nhint: pass --corpus with the folder that holds logchunks/ and cidiff/",
            corpus.display()
        );
    }
    let categories = categories
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval/categories.jsonl"));
    let mut out = std::io::stdout().lock();
    let start = Instant::now();
    let mut scored = Vec::new();
    let lc = corpus.join("logchunks");
    if lc.is_dir() {
        let part = logchunks(&lc, &settings, &mut out)?;
        let mut total = Score::default();
        let mut parts: BTreeMap<&str, Score> = BTreeMap::new();
        let mut repos: BTreeMap<(&str, &str), Score> = BTreeMap::new();
        for s in &part {
            total.add(s.verdict.hits);
            parts.entry(s.part).or_default().add(s.verdict.hits);
            repos
                .entry((s.part, s.repo.as_str()))
                .or_default()
                .add(s.verdict.hits);
        }
        if !settings.tuning_only {
            writeln!(out, "{}", total.line("LogChunks"))?;
        }
        for (name, s) in &parts {
            writeln!(out, "{}", s.line(&format!("LogChunks {name}")))?;
        }
        if per_repo {
            for ((part, repo), s) in &repos {
                writeln!(out, "  {}", s.line(&format!("{part:<8} {repo}")))?;
            }
        }
        scored.extend(part);
    } else {
        writeln!(out, "LogChunks: {} absent, skipped", lc.display())?;
    }
    let cd = corpus.join("cidiff/data");
    if cd.is_dir() {
        let part = cidiff(&cd, &settings, &mut out)?;
        let mut kinds: BTreeMap<String, Score> = BTreeMap::new();
        for s in &part {
            kinds.entry(s.repo.clone()).or_default().add(s.verdict.hits);
            kinds
                .entry("all".to_owned())
                .or_default()
                .add(s.verdict.hits);
        }
        for (kind, s) in &kinds {
            writeln!(out, "{}", s.line(&format!("CiDiff {kind}")))?;
        }
        scored.extend(part);
    } else {
        writeln!(out, "CiDiff: {} absent, skipped", cd.display())?;
    }
    if categories.is_file() {
        let labels = category_labels(&categories)?;
        report_categories(&scored, &labels, settings.verbose, &mut out)?;
    } else {
        writeln!(out, "Categories: {} absent, skipped", categories.display())?;
    }
    writeln!(out, "({:.1}s)", start.elapsed().as_secs_f64())?;
    Ok(())
}
