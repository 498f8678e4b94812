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

use regex::{Regex, RegexSet};
use selfheal_types::Category;

use super::{Candidate, Line, Parser, one_line};

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
static NOISE: LazyLock<RegexSet> = LazyLock::new(|| {
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
static TRAILER: LazyLock<RegexSet> = LazyLock::new(|| {
    super::re_set([
        r#"^The command ".*" (?:exited with|failed)"#,
        r"^Process completed with exit code",
        r"^Done\. Your build exited with",
        r"^Finished: (?:FAILURE|UNSTABLE|ABORTED)",
        r"marked build as failure",
        r"^ERROR: Job failed",
        r"^Error: Process completed",
        // npm and yarn repeat a failed script's exit after its output.
        r"^npm ERR! |(?i)^\s*error (?:A complete log of this run|Lifecycle script|command failed|code \w+$)",
        r"(?i)^\s*error: Recipe `.*` failed",
        r"(?i)(?:make|gmake|ninja)(?:\[\d+\])?: \*\*\*",
        r"(?i)^\s*\[ERROR\]\s*$",
        r"(?i)^\s*\[ERROR\] (?:-> \[Help|Re-run Maven|To see the full stack|For more information about the errors|\[Help|After correcting the problems)",
        r"(?i)^FAILURE: Build failed with an exception",
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

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Generic {
    ring: VecDeque<(u64, String)>,
    /// Lines still to take after an error-like line: a headline such as
    /// `rake aborted!` is usually followed by the reason.
    follow: u8,
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

/// Whether a line reads like an error to a person skimming the log.
pub(crate) fn is_errorish(text: &str) -> bool {
    ERRORISH.is_match(text) && !NOISE.is_match(text) && !TRAILER.is_match(text)
}

impl Parser for Generic {
    fn active(&self) -> bool {
        self.follow > 0
    }

    fn feed(&mut self, line: &Line<'_>, _out: &mut Vec<Candidate>) {
        let text = line.text.trim();
        // `is_errorish` already rules out trailers, so only an annotation
        // needs its own trailer check.
        let errorish = text.len() >= 4
            && if line.gha_error {
                !TRAILER.is_match(text)
            } else {
                line.hints.errorish.unwrap_or_else(|| is_errorish(text))
            };
        if !errorish {
            if self.follow > 0 && !text.is_empty() {
                self.follow -= 1;
                if !TRAILER.is_match(text) && !text.starts_with("travis_") {
                    self.push(line.no, text);
                }
            }
            return;
        }
        self.follow = 2;
        self.push(line.no, text);
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.follow = 0;
        self.cluster(out);
    }
}

impl Generic {
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
    }
}
