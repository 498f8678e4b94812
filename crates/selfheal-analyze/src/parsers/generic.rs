//! The fallback for tools nobody recognised: error-like lines near the end
//! of the step.
//!
//! When a command fails, the lines that say why are usually among the last
//! error-like lines it printed. This parser keeps a small ring of those per
//! step (per input when there are no steps), groups neighbours into
//! clusters, and at the end of the step offers the last few clusters, the
//! latest most confidently. Specific parsers outrank it; the ranking drops
//! its clusters from steps that did not fail.

use std::collections::VecDeque;
use std::sync::LazyLock;

use regex::Regex;

use crate::gate::GatedSet;
use selfheal_types::Category;

use super::{Candidate, Line, one_line};

static ERRORISH: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"(?i)\b(?:errors?|fail|failed|failures?|fatal|exception|panic(?:ked)?|cannot|can't|could ?not|couldn't|unable to|undefined reference|not found|no such file|segmentation fault|permission denied|aborted|traceback|unresolved|not ok|invalid|unexpected|does not exist|terminated|crash(?:ed)?|not defined)\b",
    )
    .expect("valid regex")
});

/// Lines a tool prints to say it failed, as opposed to prose mentioning errors.
static STRONG: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"(?:^|\s|\[)(?:error|ERROR|Error|FAIL|FAILED|Failed|fatal|FATAL|Fatal)(?:\]|:|!|\s|$)|\bfailed\b|\bException\b")
        .expect("valid regex")
});

/// Lines that look like errors but only report counts, options or names.
static NOISE: LazyLock<GatedSet> = LazyLock::new(|| {
    super::re_set([
        r"(?i)\b0 (?:errors?|failures?|failed)\b",
        r"(?i)\b(?:errors?|failures?|failed)[:=]\s*0\b",
        r"(?i)-werror|error_?reporting|ignore[-_ ]?errors?|on[-_]?error|errorprone|\bno errors?\b|continue-on-error|fail-fast|fail_fast|--fail|failfast",
        r"(?i)\berror[-_]?(?:log|page|handler|handling|codes?)\b",
        r"(?i)^\s*(?:warning|warn|info|debug|notice)\b",
        r"(?i)\b(?:compiling|downloading|downloaded|installing|collecting|requirement already)\b",
        r"(?i)\[\s*(?:ok|passed?|success)\s*\]",
        r"(?i)\bskipp(?:ed|ing)\b",
        r"(?i)\.{3,}\s*ok\b|\bok\s+\d+\s*ms\b|\s(?:ok|passed|PASS)$",
        r"^travis_(?:fold|time)",
        r"(?i)actionable tasks?:|daemons? could not be reused|^\* (?:Try|Exception is|Get more help)",
        r"^\$ ",
    ])
    .expect("valid regexes")
});

/// CI trailers: they say that something failed, never why.
static TRAILER: LazyLock<GatedSet> = LazyLock::new(|| {
    super::re_set([
        r#"^The command ".*" (?:exited with|failed)"#,
        r"^Process completed with exit code",
        r"^Done\. Your build exited with",
        r"^Finished: (?:FAILURE|UNSTABLE|ABORTED)",
        r"marked build as failure",
        r"^ERROR: Job failed",
        r"^Error: Process completed",
        // npm and yarn repeat a failed script's exit after its output.
        r"^npm ERR! |^npm error |(?i)^\s*error (?:A complete log of this run|Lifecycle script|command failed|code \w+$)",
        r"(?i)^\s*error: Recipe `.*` failed",
        r"(?i)(?:make|gmake|ninja)(?:\[\d+\])?: \*\*\*",
        r"(?i)^\s*\[ERROR\]\s*$",
        r"(?i)^\s*\[ERROR\] (?:-> \[Help|Re-run Maven|To see the full stack|For more information about the errors|\[Help|After correcting the problems)",
        // Maven's resume hint names the module, never the error.
        r"^\s*(?:\[ERROR\]\s+)?mvn <(?:goals|args)> -rf :",
        r"(?i)^FAILURE: Build failed with an exception",
        // xcodebuild's verdict, after the failures it counts.
        r"\*\* (?:TEST|BUILD|ARCHIVE) FAILED \*\*",
        r"(?i)^BUILD FAILED",
        r"(?i)^\s*\[ERROR\] BUILD FAILURE",
        r"(?i)exited with (?:code|status) [1-9]",
        r"recipe for target .* failed",
        r"(?i)^Error: The process '.*' failed with exit code",
    ])
    .expect("valid regexes")
});

const RING: usize = 48;
const CLUSTERS: usize = 5;
/// Lines waiting to be classified before [`Generic::settle`] runs.
const PENDING_LINES: usize = 16 * 1024;
/// Bytes of waiting lines before [`Generic::settle`] runs.
const PENDING_BYTES: usize = 2 << 20;
/// Lines after a keyword line that may still be taken as its follow-up.
const FOLLOW: u8 = 2;

/// See the module docs.
///
/// Deciding whether a line reads like an error takes a few regex searches,
/// and a busy log has millions of lines with "error" or "fail" somewhere in
/// them, yet only the last [`RING`] error-like lines of a step can end up in
/// a candidate. So lines are only queued as they come; [`Generic::settle`]
/// classifies the queue from its newest line backwards and stops as soon as
/// it has found [`RING`] error-like lines, since nothing older can survive
/// in the ring. Replaying the newest part forwards then gives exactly the
/// ring that classifying every line as it came would have given.
#[derive(Debug, Default)]
pub(crate) struct Generic {
    ring: VecDeque<(u64, String)>,
    /// Lines still to take after an error-like line: a headline such as
    /// `rake aborted!` is usually followed by the reason.
    follow: u8,
    /// Lines seen but not yet classified, oldest first.
    pending: Vec<Pending>,
    /// The trimmed texts of the lines the parsers saw, back to back.
    pending_text: String,
    /// The trimmed bytes of quiet lines, back to back: they are decoded
    /// only if replayed as follow-ups (see [`Generic::quiet`]).
    quiet_bytes: Vec<u8>,
    /// Non-empty lines after the last keyword line that are still queued,
    /// counting down: any of them may turn out to be a follow-up.
    after_keyword: u8,
}

#[derive(Debug, Clone)]
struct Pending {
    no: u64,
    /// Where its text lies in `pending_text`, or in `quiet_bytes` if
    /// `quiet`.
    text: std::ops::Range<usize>,
    quiet: bool,
    gha_error: bool,
    /// Whether the line hit the engine's keyword prefilter.
    keyword: bool,
}

/// A line made only of verdict words (`*** Failed ***`, `Build failed.`,
/// `One or more tests failed.`): true of every failed build, so it
/// explains none.
fn is_bare_verdict(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "one",
        "or",
        "more",
        "some",
        "the",
        "a",
        "test",
        "tests",
        "build",
        "job",
        "failed",
        "failure",
        "failures",
        "error",
        "errors",
        "fail",
        "has",
        "have",
        "with",
        "exception",
        "there",
        "were",
        "was",
        "task",
        "execution",
        "run",
        "suite",
        "check",
        "checks",
    ];
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .all(|w| WORDS.contains(&w.to_ascii_lowercase().as_str()))
}

/// `bytes` without the ASCII whitespace at either end, as [`str::trim`]
/// would remove it (vertical tab included).
fn trim_ascii_whitespace(bytes: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let start = bytes.iter().position(|b| !space(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Whether a line reads like an error to a person skimming the log.
pub(crate) fn is_errorish(text: &str) -> bool {
    ERRORISH.is_match(text) && !NOISE.is_match(text) && !TRAILER.is_match(text)
}

/// Whether a queued line is error-like (an annotation need only not be a
/// trailer). Only lines that hit the keyword prefilter can be: every word
/// [`ERRORISH`] knows is a keyword.
fn classify(text: &str, p: &Pending) -> bool {
    p.keyword
        && text.len() >= 4
        && if p.gha_error {
            !TRAILER.is_match(text)
        } else {
            is_errorish(text)
        }
}

impl Generic {
    /// Whether the next lines are wanted even if no keyword hits them.
    pub(crate) fn wants_more(&self) -> bool {
        self.after_keyword > 0
    }

    /// A line that the engine handed to the parsers.
    pub(crate) fn feed(&mut self, line: &Line<'_>) {
        self.queue(line.no, line.text.trim_start(), line.hit, line.gha_error);
    }

    /// A line that no parser looked at, while [`Self::wants_more`], as raw
    /// bytes. It has no keyword, so it can only matter as a follow-up:
    /// it is queued undecoded, trimmed of ASCII whitespace, and decoded
    /// (lossily, as the parsers' lines are) only if [`Self::settle`]
    /// replays it. A line that begins or ends with a non-ASCII byte is
    /// decoded now, since Unicode whitespace there must be trimmed too.
    pub(crate) fn quiet(&mut self, no: u64, bytes: &[u8]) {
        let trimmed = trim_ascii_whitespace(bytes);
        if trimmed.first().is_some_and(|b| !b.is_ascii())
            || trimmed.last().is_some_and(|b| !b.is_ascii())
        {
            let text = String::from_utf8_lossy(trimmed);
            self.queue(no, text.trim(), false, false);
        } else if self.counts(trimmed.is_empty(), false) {
            let start = self.quiet_bytes.len();
            self.quiet_bytes.extend_from_slice(trimmed);
            self.enqueue(Pending {
                no,
                text: start..self.quiet_bytes.len(),
                quiet: true,
                gha_error: false,
                keyword: false,
            });
        }
    }

    fn queue(&mut self, no: u64, text: &str, keyword: bool, gha_error: bool) {
        if self.counts(text.is_empty(), keyword) {
            let start = self.pending_text.len();
            self.pending_text.push_str(text);
            self.enqueue(Pending {
                no,
                text: start..self.pending_text.len(),
                quiet: false,
                gha_error,
                keyword,
            });
        }
    }

    /// Counts a line towards the follow-ups; false if it is not queued.
    fn counts(&mut self, empty: bool, keyword: bool) -> bool {
        if keyword {
            self.after_keyword = FOLLOW;
        } else if empty {
            // Empty lines neither end a follow-up nor join one.
            return false;
        } else {
            self.after_keyword = self.after_keyword.saturating_sub(1);
        }
        true
    }

    fn enqueue(&mut self, p: Pending) {
        self.pending.push(p);
        if self.pending.len() >= PENDING_LINES
            || self.pending_text.len() + self.quiet_bytes.len() >= PENDING_BYTES
        {
            self.settle();
        }
    }

    /// The step or input ended: push the clusters and reset.
    pub(crate) fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.settle();
        self.follow = 0;
        self.after_keyword = 0;
        self.cluster(out);
    }

    /// Classifies the queued lines and moves those that matter into the ring.
    fn settle(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let text = std::mem::take(&mut self.pending_text);
        let quiet = std::mem::take(&mut self.quiet_bytes);
        let line_text = |p: &Pending| -> std::borrow::Cow<'_, str> {
            if p.quiet {
                quiet
                    .get(p.text.clone())
                    .map_or(std::borrow::Cow::Borrowed(""), String::from_utf8_lossy)
            } else {
                text.get(p.text.clone()).unwrap_or_default().into()
            }
        };
        // Newest first, until the ring's worth of error-like lines is found.
        // A quiet line is never error-like: it holds no keyword.
        let mut errorish = vec![false; pending.len()];
        let mut found = 0;
        let mut from = 0;
        for i in (0..pending.len()).rev() {
            errorish[i] = !pending[i].quiet && classify(&line_text(&pending[i]), &pending[i]);
            if errorish[i] {
                found += 1;
                if found == RING {
                    from = i;
                    break;
                }
            }
        }
        if found == RING {
            // Everything older falls out of the ring, and the line at `from`
            // sets the follow-up count whatever came before it.
            self.ring.clear();
            self.follow = 0;
        }
        for i in from..pending.len() {
            if errorish[i] || self.follow > 0 {
                self.take(pending[i].no, &line_text(&pending[i]), errorish[i]);
            }
        }
        // Reuse the allocations.
        self.pending = pending;
        self.pending.clear();
        self.pending_text = text;
        self.pending_text.clear();
        self.quiet_bytes = quiet;
        self.quiet_bytes.clear();
    }

    /// The classic one-line-at-a-time rule, for a classified line.
    fn take(&mut self, no: u64, text: &str, errorish: bool) {
        if errorish {
            self.follow = FOLLOW;
            self.push(no, text);
        } else if self.follow > 0 {
            self.follow -= 1;
            if !TRAILER.is_match(text) && !text.starts_with("travis_") {
                self.push(no, text);
            }
        }
    }

    fn push(&mut self, no: u64, text: &str) {
        if self.ring.len() == RING {
            self.ring.pop_front();
        }
        self.ring.push_back((no, one_line(text, 400)));
    }

    fn cluster(&mut self, out: &mut Vec<Candidate>) {
        let mut clusters: Vec<Vec<(u64, String)>> = Vec::new();
        for (no, text) in self.ring.drain(..) {
            match clusters.last_mut() {
                Some(c) if c.last().is_some_and(|(last, _)| no <= last + 3) => c.push((no, text)),
                _ => clusters.push(vec![(no, text)]),
            }
        }
        let n = clusters.len();
        for cluster in clusters.into_iter().skip(n.saturating_sub(CLUSTERS)) {
            // The engine adds closeness to the end of the step; here only
            // how strongly the lines read as errors counts.
            let strong = cluster.iter().any(|(_, t)| STRONG.is_match(t));
            // "One or more tests failed." says nothing about why.
            let bare = cluster.iter().all(|(_, t)| is_bare_verdict(t));
            let start = cluster.first().map_or(0, |c| c.0);
            let end = cluster.last().map_or(0, |c| c.0);
            let message = cluster
                .iter()
                .find(|(_, t)| t.to_ascii_lowercase().contains("error"))
                .or_else(|| cluster.first())
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
            let snippet: Vec<(u64, String)> = cluster.into_iter().take(12).collect();
            out.push(
                Candidate::new(Category::Unknown, "generic", one_line(&message, 300))
                    .span(start, end)
                    .confidence(if bare {
                        0
                    } else if strong {
                        8
                    } else {
                        4
                    })
                    .snippet(snippet),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_options_are_not_errors() {
        assert!(is_errorish("error: could not compile `foo`"));
        assert!(is_errorish("Segmentation fault (core dumped)"));
        assert!(!is_errorish("Tests run: 5, Failures: 0, Errors: 0"));
        assert!(!is_errorish("gcc -Werror -c x.c"));
        assert!(!is_errorish("The command \"make test\" exited with 2."));
        assert!(!is_errorish("[ERROR]   mvn <goals> -rf :shop-core"));
        assert!(!is_errorish("** TEST FAILED **"));
    }

    /// The rule the queue replaces, applied to every line as it comes.
    struct Eager {
        ring: VecDeque<(u64, String)>,
        follow: u8,
    }

    impl Eager {
        fn feed(&mut self, no: u64, text: &str, keyword: bool) {
            let text = text.trim();
            let errorish = text.len() >= 4 && keyword && is_errorish(text);
            if errorish {
                self.follow = FOLLOW;
            } else if self.follow > 0 && !text.is_empty() {
                self.follow -= 1;
                if TRAILER.is_match(text) || text.starts_with("travis_") {
                    return;
                }
            } else {
                return;
            }
            if self.ring.len() == RING {
                self.ring.pop_front();
            }
            self.ring.push_back((no, one_line(text, 400)));
        }
    }

    #[test]
    fn the_queue_keeps_what_classifying_every_line_would() {
        // Stretches with many error-like lines (a settle finds a ring's
        // worth and drops the rest) and stretches with none (it must
        // replay everything), blank lines, follow-ups and trailers, long
        // enough to fill the queue several times. Quiet lines are queued
        // undecoded: some are only Unicode whitespace, begin or end with
        // non-ASCII text, or are not UTF-8 at all.
        let kinds = [
            "error: linking failed for target {}",
            "  the reason is {}",
            "",
            "compiled unit {} without error",
            "note: 0 errors in {}",
            "The command \"make {}\" exited with 2.",
            "plain output {}",
            "FAILED tests/test_{}.py::test_x - assert 1 == 2",
            "\u{a0}\u{3000} ",
            "✓ step {} done ✓",
            "bytes \u{fffd} {}",
        ];
        let mut lines = Vec::new();
        let mut seed = 7u64;
        for no in 1..=33_000u64 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            // Every other 5,000 lines, keyword lines that are rarely
            // error-like: the queue fills with fewer than a ring's worth.
            let k = if (no / 5000) % 2 == 1 {
                if no % 700 == 0 {
                    0
                } else {
                    3 + (no % 2) as usize
                }
            } else {
                (seed >> 33) as usize % kinds.len()
            };
            let text = kinds[k].replace("{}", &no.to_string());
            let keyword = ![1, 2, 6, 8, 9, 10].contains(&k);
            // The replacement character stands for a byte that is not UTF-8.
            let bytes = text.replace('\u{fffd}', "\u{1}").into_bytes();
            let bytes: Vec<u8> = bytes
                .into_iter()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect();
            lines.push((no, text, bytes, keyword));
        }
        let mut eager = Eager {
            ring: VecDeque::new(),
            follow: 0,
        };
        let mut lazy = Generic::default();
        for (no, text, bytes, keyword) in &lines {
            eager.feed(*no, text, *keyword);
            // The engine hands over keyword lines and, while it wants
            // them, the lines after.
            if *keyword {
                lazy.queue(*no, text.trim(), true, false);
            } else if lazy.wants_more() {
                lazy.quiet(*no, bytes);
            }
        }
        assert!(
            eager
                .ring
                .iter()
                .any(|(_, t)| t.starts_with("bytes \u{fffd}"))
        );
        assert!(eager.ring.iter().any(|(_, t)| t.starts_with('✓')));
        lazy.settle();
        assert_eq!(lazy.ring, eager.ring);
        assert_eq!(lazy.follow, eager.follow);
    }
}
