//! What a bench measured, and its two printers: a table for people and
//! `selfheal.bench/v1` JSON for machines. Both are built from the same
//! [`Report`], so they cannot disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use selfheal_types::{AttemptOutcome, Stage, TokenUsage};
use serde::{Deserialize, Serialize};

use crate::guard::TestsVerdict;

/// The schema tag of the JSON report.
pub const BENCH_SCHEMA: &str = "selfheal.bench/v1";

/// How one run of one case ended, from the harness's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// selfheal committed a validated fix.
    Fixed,
    /// selfheal ran its attempts and found no validated fix: the model's miss.
    NotFixed,
    /// The harness could not measure: the case did not prepare, selfheal
    /// crashed, timed out, or stopped on an environment or configuration error.
    Error,
}

/// One `selfheal run` of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub status: RunStatus,
    /// Why it was not fixed, or what broke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// selfheal's exit code (`None`: killed, or never started).
    pub exit_code: Option<i32>,
    /// The model named in the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub attempts: u32,
    pub tokens: TokenUsage,
    /// Milliseconds per stage, the attempts' and the run's own summed.
    pub stages_ms: BTreeMap<Stage, u64>,
    /// Wall time of the whole `selfheal run`, process start to exit.
    pub wall_ms: u64,
    /// Each attempt's outcome and tokens, in order.
    #[serde(default)]
    pub per_attempt: Vec<AttemptSummary>,
    /// Paths the accepted patch changed (empty unless fixed).
    #[serde(default)]
    pub files: Vec<String>,
    /// What the accepted patch did to the tests (absent unless fixed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestsVerdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests_note: Option<String>,
}

impl RunResult {
    /// A run the harness could not measure.
    pub fn error(reason: impl Into<String>, exit_code: Option<i32>, wall_ms: u64) -> RunResult {
        RunResult {
            status: RunStatus::Error,
            reason: Some(reason.into()),
            exit_code,
            model: None,
            attempts: 0,
            tokens: TokenUsage::default(),
            stages_ms: BTreeMap::new(),
            wall_ms,
            per_attempt: Vec::new(),
            files: Vec::new(),
            tests: None,
            tests_note: None,
        }
    }
}

/// One attempt of a run, as its record tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptSummary {
    pub outcome: AttemptOutcome,
    pub tokens: TokenUsage,
    /// Why it did not validate, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rule, when a remedy proposed the attempt's change instead of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// Every run of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub name: String,
    pub kind: String,
    pub allow_test_edits: bool,
    /// The files the known fix changes, when the case has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_fix_files: Option<Vec<String>>,
    /// How many runs fixed it, and the share of runs that did.
    pub fixed: u32,
    pub rate: f64,
    pub runs: Vec<RunResult>,
}

impl CaseResult {
    pub fn new(
        name: String,
        kind: String,
        allow_test_edits: bool,
        known_fix_files: Option<Vec<String>>,
        runs: Vec<RunResult>,
    ) -> CaseResult {
        let fixed = runs.iter().filter(|r| r.status == RunStatus::Fixed).count() as u32;
        CaseResult {
            name,
            kind,
            allow_test_edits,
            known_fix_files,
            fixed,
            rate: ratio(fixed as usize, runs.len()),
            runs,
        }
    }
}

/// Sums over every run of every case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub cases: usize,
    pub runs: usize,
    pub fixed: usize,
    pub not_fixed: usize,
    pub errors: usize,
    /// `fixed / runs`.
    pub rate: f64,
    /// Median wall time of one run.
    pub median_wall_ms: u64,
    pub tokens: TokenUsage,
    /// Fixed runs whose patch changed tests beyond the known fix.
    pub tests_changed: usize,
    /// The models the records name, sorted.
    pub models: Vec<String>,
    /// Fixed runs whose validated change a remedy proposed, not the model.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fixed_by_remedy: usize,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The whole bench.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub suite: String,
    pub repeat: u32,
    pub cases: Vec<CaseResult>,
    pub totals: Totals,
    /// Ctrl-C stopped the bench: the cases after the last run are missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl Report {
    pub fn new(suite: String, repeat: u32, cases: Vec<CaseResult>) -> Report {
        let runs: Vec<&RunResult> = cases.iter().flat_map(|c| &c.runs).collect();
        let count = |s: RunStatus| runs.iter().filter(|r| r.status == s).count();
        let mut tokens = TokenUsage::default();
        for r in &runs {
            tokens += r.tokens;
        }
        let totals = Totals {
            cases: cases.len(),
            runs: runs.len(),
            fixed: count(RunStatus::Fixed),
            not_fixed: count(RunStatus::NotFixed),
            errors: count(RunStatus::Error),
            rate: ratio(count(RunStatus::Fixed), runs.len()),
            median_wall_ms: median(runs.iter().map(|r| r.wall_ms).collect()),
            tokens,
            tests_changed: runs
                .iter()
                .filter(|r| r.tests == Some(TestsVerdict::Changed))
                .count(),
            models: runs
                .iter()
                .filter_map(|r| r.model.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            fixed_by_remedy: runs
                .iter()
                .filter(|r| {
                    r.status == RunStatus::Fixed
                        && r.per_attempt.last().is_some_and(|a| a.remedy.is_some())
                })
                .count(),
        };
        Report {
            schema: BENCH_SCHEMA.to_owned(),
            suite,
            repeat,
            cases,
            totals,
            interrupted: false,
        }
    }

    /// Whether every run was measured (no harness errors).
    pub fn harness_ok(&self) -> bool {
        self.totals.errors == 0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// One row per case, then the totals. With `--repeat`, a row shows the
    /// fixed count over the runs, mean attempts and tokens, median times.
    pub fn to_table(&self) -> String {
        let header = [
            "case",
            "kind",
            "fixed",
            "attempts",
            "prompt",
            "completion",
            "reason",
            "validate",
            "wall",
            "tests",
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_owned()).collect()];
        for case in &self.cases {
            rows.push(case_row(case, self.repeat));
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let pad = widths[i] - cell.chars().count();
                // Text left, numbers right.
                if (3..=8).contains(&i) {
                    let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
                } else {
                    let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let t = &self.totals;
        let by_remedy = if t.fixed_by_remedy > 0 {
            format!(" ({} by a remedy, no model)", t.fixed_by_remedy)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "fixed {}/{} ({:.0}%){by_remedy} with {}, median {} per run, tokens {} prompt + {} completion, tests changed {}, harness errors {}",
            t.fixed,
            t.runs,
            t.rate * 100.0,
            if t.models.is_empty() {
                "no model".to_owned()
            } else {
                t.models.join(", ")
            },
            seconds(t.median_wall_ms),
            t.tokens.prompt,
            t.tokens.completion,
            t.tests_changed,
            t.errors
        );
        out
    }
}

fn case_row(case: &CaseResult, repeat: u32) -> Vec<String> {
    let runs = &case.runs;
    let measured: Vec<&RunResult> = runs
        .iter()
        .filter(|r| r.status != RunStatus::Error)
        .collect();
    let errors = runs.len() - measured.len();
    let fixed = if repeat <= 1 && runs.len() == 1 {
        match runs[0].status {
            RunStatus::Fixed => "yes".to_owned(),
            RunStatus::NotFixed => "no".to_owned(),
            RunStatus::Error => "ERROR".to_owned(),
        }
    } else if errors > 0 {
        format!("{}/{} ({errors} err)", case.fixed, runs.len())
    } else {
        format!("{}/{}", case.fixed, runs.len())
    };
    let mean = |f: fn(&RunResult) -> u64| {
        if measured.is_empty() {
            "-".to_owned()
        } else {
            let sum: u64 = measured.iter().map(|r| f(r)).sum();
            let n = measured.len() as u64;
            if n == 1 || sum.is_multiple_of(n) {
                (sum / n).to_string()
            } else {
                format!("{:.1}", sum as f64 / n as f64)
            }
        }
    };
    let stage = |stage: Stage| {
        if measured.is_empty() {
            "-".to_owned()
        } else {
            seconds(median(
                measured
                    .iter()
                    .map(|r| r.stages_ms.get(&stage).copied().unwrap_or(0))
                    .collect(),
            ))
        }
    };
    let verdicts: Vec<TestsVerdict> = runs.iter().filter_map(|r| r.tests).collect();
    let tests = if verdicts.is_empty() {
        "-".to_owned()
    } else if verdicts.contains(&TestsVerdict::Changed) {
        "CHANGED".to_owned()
    } else if verdicts.contains(&TestsVerdict::AsKnownFix) {
        "as known fix".to_owned()
    } else {
        "intact".to_owned()
    };
    vec![
        case.name.clone(),
        shorten(&case.kind, 28),
        fixed,
        mean(|r| u64::from(r.attempts)),
        mean(|r| r.tokens.prompt),
        mean(|r| r.tokens.completion),
        stage(Stage::Reason),
        stage(Stage::Validate),
        seconds(median(runs.iter().map(|r| r.wall_ms).collect())),
        tests,
    ]
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The median (the lower middle for an even count); 0 for none.
pub fn median(mut values: Vec<u64>) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    values[(values.len() - 1) / 2]
}
