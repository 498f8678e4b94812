//! Accuracy floors on the real, hand-labelled logs of `../shared/corpora`.
//!
//! The corpora are not part of the repository: the path comes from
//! `SELFHEAL_CORPORA` (default: the shared folder next to the checkout), and
//! the tests fail with a hint when it is absent. The full figures come from
//! `cargo run --release -p selfheal-analyze --bin selfheal-eval`; these
//! floors only catch a regression, on a cheap subset in debug builds.

use std::path::PathBuf;

use selfheal_analyze::{AnalyzeOptions, analyze_path, split::is_held_out};
use selfheal_types::{Category, LineSpan};

use super::corpora;

fn top_hits(log: &std::path::Path, truth: &[LineSpan]) -> bool {
    let a = analyze_path(log, &AnalyzeOptions::default()).expect("corpus log reads");
    a.primary()
        .is_some_and(|f| truth.iter().any(|t| t.overlaps(&f.log_span)))
}

#[test]
fn cidiff_top_failure_hits_the_marked_error_lines() {
    let root = corpora();
    let data = root.join("cidiff/data");
    let mut dirs = vec![data.clone()];
    let (mut n, mut hits) = (0u32, 0u32);
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("readable corpus") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            }
        }
        let Ok(gt) = std::fs::read_to_string(d.join("groundtruth")) else {
            continue;
        };
        let truth: Vec<LineSpan> = gt
            .lines()
            .filter_map(|l| l.strip_prefix("E "))
            .filter_map(|r| {
                let (a, b) = r.trim().split_once('-').unwrap_or((r.trim(), r.trim()));
                Some(LineSpan::new(a.parse().ok()?, b.parse().ok()?))
            })
            .collect();
        if truth.is_empty() || !d.join("fail.log").is_file() {
            continue;
        }
        n += 1;
        hits += u32::from(top_hits(&d.join("fail.log"), &truth));
    }
    assert!(n > 50, "expected the CiDiff pairs, found {n}");
    let rate = f64::from(hits) / f64::from(n);
    assert!(rate >= 0.85, "CiDiff hit@1 fell to {rate:.3} ({hits}/{n})");
}

/// hit@1 and hit@5 of one part of `LogChunks`.
#[derive(Default)]
struct Part {
    n: u32,
    hit1: u32,
    hit5: u32,
}

impl Part {
    fn rates(&self) -> (f64, f64) {
        let n = f64::from(self.n.max(1));
        (f64::from(self.hit1) / n, f64::from(self.hit5) / n)
    }
}

/// hit@1 and hit@5 of every third `LogChunks` log (a debug-build run stays
/// short), in the tuning and the held-out part (`eval/SPLIT.md`).
fn logchunks_subset(opts: &AnalyzeOptions) -> (Part, Part) {
    let root = corpora().join("logchunks");
    let labels = std::fs::read_to_string(root.join("labels.jsonl")).expect("labels");
    let (mut tuning, mut held_out) = (Part::default(), Part::default());
    for line in labels.lines().step_by(3) {
        let row: serde_json::Value = serde_json::from_str(line).expect("label json");
        let log = root.join(row["log_path"].as_str().unwrap_or_default());
        if !log.is_file() {
            continue;
        }
        let truth = LineSpan::new(
            row["chunk_start_line"].as_u64().unwrap_or(0),
            row["chunk_end_line"].as_u64().unwrap_or(0),
        );
        let part = if is_held_out(row["repo"].as_str().unwrap_or_default()) {
            &mut held_out
        } else {
            &mut tuning
        };
        let a = analyze_path(&log, opts).expect("corpus log reads");
        part.n += 1;
        part.hit1 += u32::from(a.primary().is_some_and(|f| truth.overlaps(&f.log_span)));
        part.hit5 += u32::from(
            a.failures
                .iter()
                .take(5)
                .any(|f| truth.overlaps(&f.log_span)),
        );
    }
    assert!(
        tuning.n > 80 && held_out.n > 30,
        "expected LogChunks logs in both parts, found {} and {}",
        tuning.n,
        held_out.n
    );
    (tuning, held_out)
}

/// Floors sit two or three logs under the figures measured on this subset
/// when they were last raised (hit@1 / hit@5: tuning 0.848 / 0.913,
/// held-out 0.864 / 0.977, once Common Test's notice was read for any
/// module), so that a regression of that size in either part fails.
#[test]
fn logchunks_top_failure_hits_the_labelled_chunk_in_both_parts() {
    let (tuning, held_out) = logchunks_subset(&AnalyzeOptions::default());
    let (t1, t5) = tuning.rates();
    let (h1, h5) = held_out.rates();
    let measured = format!("tuning {t1:.3} / {t5:.3}, held-out {h1:.3} / {h5:.3}");
    assert!(
        t1 >= TUNING_HIT1 && t5 >= TUNING_HIT5,
        "LogChunks fell: {measured}"
    );
    assert!(
        h1 >= HELD_OUT_HIT1 && h5 >= HELD_OUT_HIT5,
        "LogChunks fell: {measured}"
    );
}

/// The fallback alone, as on a log of tools the analyser has no rules for,
/// on the tuning part (the only part a change to it may be judged by).
/// Measured 0.750 / 0.880 on this subset when set, once the fallback put a
/// step's first failure header first (on the whole part: 0.52 / 0.83
/// before, 0.77 / 0.91 after).
#[test]
fn the_fallback_alone_finds_most_failures_of_the_tuning_part() {
    let opts = AnalyzeOptions {
        fallback_only: true,
        ..AnalyzeOptions::default()
    };
    let (tuning, _) = logchunks_subset(&opts);
    let (t1, t5) = tuning.rates();
    assert!(
        t1 >= FALLBACK_HIT1 && t5 >= FALLBACK_HIT5,
        "the fallback alone fell: tuning {t1:.3} / {t5:.3}"
    );
}

const FALLBACK_HIT1: f64 = 0.72;
const FALLBACK_HIT5: f64 = 0.85;
const TUNING_HIT1: f64 = 0.82;
const TUNING_HIT5: f64 = 0.88;
const HELD_OUT_HIT1: f64 = 0.81;
const HELD_OUT_HIT5: f64 = 0.93;

/// `eval/SPLIT.md` lists the repositories the rule holds out; a change of
/// rule (or of the corpus) must show up there, in review.
#[test]
fn logchunks_split_matches_the_committed_list() {
    let root = corpora();
    let labels = std::fs::read_to_string(root.join("logchunks/labels.jsonl")).expect("labels");
    let mut computed: Vec<String> = labels
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|row| row["repo"].as_str().map(str::to_owned))
        .filter(|repo| is_held_out(repo))
        .collect();
    computed.sort();
    computed.dedup();
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval/SPLIT.md"))
            .expect("eval/SPLIT.md");
    let listed: Vec<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .map(str::to_owned)
        .collect();
    assert_eq!(computed, listed);
}

/// One line of `eval/categories.jsonl`.
#[derive(serde::Deserialize)]
struct CategoryLabel {
    corpus: String,
    file: String,
    category: Category,
    #[allow(dead_code)] // read so that a line without it fails to parse
    flaky: bool,
    reason: String,
}

fn category_labels() -> Vec<CategoryLabel> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval/categories.jsonl");
    std::fs::read_to_string(&path)
        .expect("eval/categories.jsonl")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("categories.jsonl:{}: {e}", i + 1))
        })
        .collect()
}

fn corpus_file(root: &std::path::Path, label: &CategoryLabel) -> PathBuf {
    match label.corpus.as_str() {
        "logchunks" => root.join("logchunks").join(&label.file),
        "cidiff" => root.join("cidiff/data").join(&label.file),
        other => panic!("unknown corpus {other} for {}", label.file),
    }
}

/// The labels name real corpus files, once each, with a reason, and cover
/// both corpora.
#[test]
fn category_labels_name_corpus_files_once_with_a_reason() {
    let labels = category_labels();
    assert!(labels.len() >= 150, "only {} labels", labels.len());
    let mut keys: Vec<(&str, &str)> = labels
        .iter()
        .map(|l| (l.corpus.as_str(), l.file.as_str()))
        .collect();
    keys.sort_unstable();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "a log is labelled twice");
    assert!(labels.iter().all(|l| !l.reason.trim().is_empty()));
    let root = corpora();
    for l in &labels {
        assert!(corpus_file(&root, l).is_file(), "no such log: {}", l.file);
    }
}

/// The top failure's category against the hand labels, overall and on the
/// held-out repositories. Floors sit a little under the figures measured when
/// they were set (see the constants).
#[test]
fn top_failure_category_matches_the_hand_labels() {
    let root = corpora();
    let (mut n, mut ok, mut held_n, mut held_ok) = (0u32, 0u32, 0u32, 0u32);
    let lc_labels = std::fs::read_to_string(root.join("logchunks/labels.jsonl")).expect("labels");
    let repo_of = |file: &str| {
        lc_labels
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|row| row["log_path"].as_str() == Some(file))
            .and_then(|row| row["repo"].as_str().map(str::to_owned))
    };
    for label in category_labels() {
        let a = analyze_path(&corpus_file(&root, &label), &AnalyzeOptions::default())
            .expect("corpus log reads");
        let got = a.primary().map_or(Category::Unknown, |f| f.category);
        let hit = u32::from(got == label.category);
        n += 1;
        ok += hit;
        if label.corpus == "logchunks" && repo_of(&label.file).is_some_and(|r| is_held_out(&r)) {
            held_n += 1;
            held_ok += hit;
        }
    }
    let all = f64::from(ok) / f64::from(n);
    let held = f64::from(held_ok) / f64::from(held_n.max(1));
    let measured = format!("all {all:.3} ({ok}/{n}), held-out {held:.3} ({held_ok}/{held_n})");
    assert!(
        all >= CATEGORY_ALL && held >= CATEGORY_HELD_OUT,
        "category accuracy fell: {measured}"
    );
}

/// Measured 0.399 (77/193) overall and 0.368 (14/38) held-out before any
/// rule was tuned against the labels; 0.492 (95/193) and 0.421 (16/38) after
/// the formatter, linter, git, registry and Travis-script rules.
const CATEGORY_ALL: f64 = 0.47;
const CATEGORY_HELD_OUT: f64 = 0.40;
