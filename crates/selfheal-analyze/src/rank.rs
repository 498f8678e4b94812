//! Ranking, de-duplication, fingerprints and the excerpt.
//!
//! The score is the parser's confidence, raised when the failure sits in a
//! step that failed and lowered when it sits in one that passed (a passing
//! step's "error" lines did not fail the job). Failures whose span overlaps a
//! better one in the same file are the same failure seen by a weaker parser
//! and are dropped, as are repeats of a fingerprint.

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::{Analysis, Failure};
use sha2::{Digest, Sha256};

use crate::AnalyzeOptions;
use crate::parsers::Candidate;

fn score(c: &Candidate) -> i32 {
    c.confidence
        + match c.step_failed {
            Some(true) => 30,
            Some(false) => -30,
            None => 0,
        }
}

/// Turns candidates from every file of an input into the final analysis.
pub(crate) fn finalize(
    source: &str,
    mut candidates: Vec<Candidate>,
    opts: &AnalyzeOptions,
) -> Analysis {
    // The fallback speaks only for steps nothing else explained, and a
    // cluster from a step that passed is noise, not a failure.
    let explained: Vec<(Option<String>, u32)> = candidates
        .iter()
        // make's `*** [target] Error 2` names no cause: it explains nothing.
        .filter(|c| c.tool != "generic" && c.confidence >= 30)
        .map(|c| (c.log_file.clone(), c.segment))
        .collect();
    // A runner's verdict stands for its step only when nothing there says more.
    candidates.retain(|c| {
        let in_explained = || {
            explained
                .iter()
                .any(|(f, s)| *f == c.log_file && *s == c.segment)
        };
        if c.verdict {
            return !in_explained();
        }
        c.tool != "generic" || (c.step_failed != Some(false) && !in_explained())
    });
    candidates.sort_by(|a, b| {
        score(b)
            .cmp(&score(a))
            .then_with(|| a.log_file.cmp(&b.log_file))
            .then(a.seq.cmp(&b.seq))
    });
    let mut kept: Vec<Candidate> = Vec::new();
    let mut fingerprints: Vec<String> = Vec::new();
    for c in candidates {
        if kept.len() >= opts.max_failures {
            break;
        }
        if kept
            .iter()
            .any(|k| k.log_file == c.log_file && k.span.overlaps(&c.span))
        {
            continue;
        }
        let fp = fingerprint(&c);
        if fingerprints.contains(&fp) {
            continue;
        }
        fingerprints.push(fp);
        kept.push(c);
    }
    let excerpt = excerpt(&kept, opts.excerpt_budget_lines);
    let failures = kept
        .into_iter()
        .zip(fingerprints)
        .map(|(c, fingerprint)| Failure {
            flaky: crate::flaky::hint(&c),
            category: c.category,
            tool: c.tool.to_owned(),
            message: c.message,
            test: c.test,
            locations: c.locations,
            job: c.job,
            step: c.step,
            log_file: c.log_file,
            log_span: c.span,
            fingerprint,
        })
        .collect();
    Analysis::new(source, failures, excerpt)
}

static VOLATILE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?", "<time>"),
        (r"\b\d\d:\d\d:\d\d(?:\.\d+)?\b", "<time>"),
        (r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>"),
        (r"(?i)\b0x[0-9a-f]+\b", "<addr>"),
        (r"(?:/tmp|/var/folders|/private/var|[A-Za-z]:\\Users\\[^\\]+\\AppData\\Local\\Temp)[^\s:'\x22,)]*", "<tmp>"),
        (r"pytest-of-[^/\s]+/pytest-\d+", "<tmp>"),
        (r"(?i)\b\d+(?:\.\d+)?\s?(?:ms|us|µs|ns|s|sec|secs|seconds?|m|min|minutes?)\b", "<dur>"),
        (r"\b[0-9a-f]{12,}\b", "<hex>"),
        (r"\b\d{6,}\b", "<id>"),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("valid regex"), r))
    .collect()
});

/// Replaces what changes from run to run: times, durations, addresses,
/// temp paths, long ids.
pub(crate) fn normalize(text: &str) -> String {
    let mut s = text.trim().to_owned();
    for (re, rep) in VOLATILE.iter() {
        if re.is_match(&s) {
            s = re.replace_all(&s, *rep).into_owned();
        }
    }
    s
}

/// Stable across runs: tool, category, normalised message, test id and the
/// files involved. Line numbers are left out so that an unrelated edit above
/// the failure keeps its fingerprint.
pub(crate) fn fingerprint(c: &Candidate) -> String {
    let mut h = Sha256::new();
    h.update(c.tool.as_bytes());
    h.update([0]);
    h.update(c.category.as_str().as_bytes());
    h.update([0]);
    h.update(normalize(&c.message).as_bytes());
    h.update([0]);
    if let Some(t) = &c.test {
        h.update(t.as_bytes());
    }
    for l in c.locations.iter().take(3) {
        h.update([0]);
        h.update(normalize(&l.file).as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// The lines that explain the failures, best first, within `budget` lines.
/// The first failure may use most of the budget; each later one gets a
/// share of what is left, so the model sees every distinct failure.
///
/// Failures with the same error as one shown before (ten tests that all
/// hit one `NameError`) are not shown again: a line after the first names
/// them. Repeating the same traceback teaches a model nothing and costs a
/// CPU-served one seconds per copy.
pub(crate) fn excerpt(failures: &[Candidate], budget: usize) -> String {
    // Each distinct error once, in rank order, with the failures that repeat it.
    let mut groups: Vec<((&str, String), &Candidate, Vec<&Candidate>)> = Vec::new();
    for c in failures {
        let key = (c.tool, normalize(&c.message));
        let repeats = !c.message.trim().is_empty();
        match groups.iter_mut().find(|(k, _, _)| repeats && *k == key) {
            Some((_, _, same)) => same.push(c),
            None => groups.push((key, c, Vec::new())),
        }
    }
    let mut out = String::new();
    let mut used = 0usize;
    for (i, (_, c, same)) in groups.iter().enumerate() {
        if used + 2 > budget {
            break;
        }
        let left = budget - used;
        let share = if i == 0 {
            left * 2 / 3
        } else {
            (left / 2).max(4)
        }
        .max(4)
        .min(left);
        let place = match &c.log_file {
            Some(f) => format!("{f}, lines {}-{}", c.span.start, c.span.end),
            None => format!("lines {}-{}", c.span.start, c.span.end),
        };
        let _ = write!(
            out,
            "--- {} [{}] {} ({place})",
            c.tool,
            c.category,
            c.test.as_deref().unwrap_or(&c.message)
        );
        out.push('\n');
        used += 1;
        let room = share.saturating_sub(1);
        let lines = &c.snippet;
        let shown: Vec<&(u64, String)> = if lines.len() <= room {
            lines.iter().collect()
        } else {
            // Keep the start (what failed) and the end (the final error).
            let head = room / 3;
            let tail = room - head - 1;
            lines[..head]
                .iter()
                .chain(lines[lines.len() - tail..].iter())
                .collect()
        };
        let mut prev: Option<u64> = None;
        for (no, text) in shown {
            if prev.is_some_and(|p| *no > p + 1) && used < budget {
                out.push_str("    ...\n");
                used += 1;
            }
            if used >= budget {
                break;
            }
            out.push_str(text);
            out.push('\n');
            used += 1;
            prev = Some(*no);
        }
        if !same.is_empty() && used < budget {
            const NAMED: usize = 8;
            let names: Vec<String> = same
                .iter()
                .take(NAMED)
                .map(|d| match &d.test {
                    Some(t) => t.clone(),
                    None => format!("lines {}-{}", d.span.start, d.span.end),
                })
                .collect();
            let more = same.len().saturating_sub(NAMED);
            let _ = write!(
                out,
                "--- {} more with the same error: {}{}",
                same.len(),
                names.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
            out.push('\n');
            used += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_test(test: &str, message: &str, first_line: u64) -> Candidate {
        let mut c = Candidate::new(selfheal_types::Category::TestFailure, "pytest", message);
        c.test = Some(test.to_owned());
        c.span = selfheal_types::LineSpan::new(first_line, first_line + 2);
        c.snippet = vec![
            (first_line, format!("    def {test}():")),
            (first_line + 1, "        ...".to_owned()),
            (first_line + 2, format!("E   {message}")),
        ];
        c
    }

    #[test]
    fn failures_with_an_error_already_shown_are_named_not_repeated() {
        let name_error = "NameError: name 'step_txt' is not defined";
        let failures = [
            failed_test("test_a", name_error, 1),
            failed_test("test_b", "assert 3 == 4", 10),
            failed_test("test_c", name_error, 20),
            failed_test("test_d", name_error, 30),
        ];
        let text = excerpt(&failures, 120);
        assert_eq!(text.matches(name_error).count(), 1, "{text}");
        assert!(
            text.contains("--- 2 more with the same error: test_c, test_d\n"),
            "{text}"
        );
        // Each distinct error is still shown whole.
        assert!(text.contains("E   assert 3 == 4"), "{text}");
        assert!(text.find("test_c").unwrap() < text.find("test_b").unwrap());
    }

    #[test]
    fn volatile_details_normalise_away() {
        assert_eq!(
            normalize("timeout after 12.5s at 0x7ffd1234 in /tmp/pytest-of-runner/pytest-3/x.py"),
            "timeout after <dur> at <addr> in <tmp>"
        );
        assert_eq!(
            normalize("run 123456789 at 2026-11-25T10:00:01.123Z"),
            "run <id> at <time>"
        );
        assert_eq!(normalize("assert 1 == 2"), "assert 1 == 2");
    }
}
