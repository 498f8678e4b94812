//! The fallback for tools nobody recognised: the step's first failure, and
//! error-like lines near the end of the step.
//!
//! When a command fails, the lines that say why are usually among the last
//! error-like lines it printed. This parser keeps a small ring of those per
//! step (per input when there are no steps), groups neighbours into
//! clusters, and at the end of the step offers the last few clusters, the
//! latest most confidently. Most tools also print a header for each failure
//! as it happens (`FAIL x`, `not ok 3`, `path:12:5: error: …`): the first of
//! them, with the lines under it, is offered above all the clusters, and its
//! header guesses the failure's category. Specific parsers outrank it; the
//! ranking drops its clusters from steps that did not fail.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::LazyLock;

use regex::Regex;

use crate::gate::GatedSet;
use selfheal_types::Category;

use super::{Anchor, Candidate, Line, one_line};

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
/// Raises the step's first failure header (see [`is_failure_header`])
/// above its latest cluster (at most 8 + 20): the first failure of a run is
/// where it went wrong; what follows is often its consequence or a summary.
const FIRST_BONUS: i32 = 24;
/// Most lines the first failure's cluster keeps.
const FIRST_LINES: usize = 12;
/// Lines waiting to be classified before [`Generic::settle`] runs.
const PENDING_LINES: usize = 16 * 1024;
/// Bytes of waiting lines before [`Generic::settle`] runs.
const PENDING_BYTES: usize = 2 << 20;
/// Lines after a keyword line that may still be taken as its follow-up.
const FOLLOW: u8 = 2;
/// Lines at most this far apart belong to one cluster.
const GAP: u64 = 3;
/// Characters of a line kept.
const LINE_CHARS: usize = 400;

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
    /// Where in `pending` the first line that may head a failure lies.
    first_header: Option<usize>,
    /// The step's first failure, sought, being read, or read.
    first: First,
}

/// The step's first failure header (see [`is_failure_header`]) and the
/// lines that explain it: where the step went wrong, which the ring of its
/// last error-like lines no longer holds when many lines followed.
#[derive(Debug, Default)]
enum First {
    #[default]
    Seeking,
    Building {
        lines: Vec<(u64, String)>,
        follow: u8,
    },
    Done(Vec<(u64, String)>),
}

#[derive(Debug, Clone)]
struct Pending {
    no: u64,
    text: Text,
    gha_error: bool,
    /// Whether the line hit the engine's keyword prefilter.
    keyword: bool,
    /// Whether it may head a failure (see [`is_failure_header`]; only
    /// looked at while the step's first failure is still sought). A quiet
    /// line may if it starts a numbered list.
    header: bool,
}

/// Where a queued line's text lies, as offsets into a buffer that
/// [`Generic::settle`] empties before it holds [`PENDING_BYTES`] and one
/// more line: `u32` is room enough, and keeps the queue's entries small.
#[derive(Debug, Clone, Copy)]
enum Text {
    /// In `pending_text`: a line the parsers saw.
    Parsed(u32, u32),
    /// In `quiet_bytes`, undecoded: a line no keyword hit.
    Quiet(u32, u32),
}

/// `start..end` of a queued buffer as [`Text`] offsets.
fn offsets(start: usize, end: usize) -> (u32, u32) {
    let at = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    (at(start), at(end))
}

fn range(start: u32, end: u32) -> std::ops::Range<usize> {
    start as usize..end as usize
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

/// Whether a line heads one failure among several: a test runner's header
/// for one failed test (`FAIL x`, `not ok 3 - x`, minitest's `Failure:` and
/// `Error:`, scalatest's `- x *** FAILED ***`, googletest's `[  FAILED  ] x`,
/// xUnit's `x [FAIL]`, Gradle's `Class > method FAILED`, unittest's
/// `test_x (m.C) ... FAIL`, the `1) ` that starts a numbered list of
/// failures, testthat's and Julia's headers) or a compiler's error at a
/// place in a file. Tools print one
/// per failure, as it happens, so the first of them is where the step's
/// trouble starts; a tag such as sbt's `[info]` and a list bullet may come
/// before it.
fn is_failure_header(line: &Line<'_>) -> bool {
    // Most keyword lines head nothing, and the busiest logs have millions:
    // the scan's anchors and the first byte settle most of them.
    let text = line.text.trim_start();
    let fail = line.facts.exact & Anchor::Fail.bit() != 0;
    if fail
        && (line.has(text, Anchor::ScalaFailed)
            || text.ends_with("[FAIL]")
            || (text.ends_with(" FAILED") || text.ends_with(" FAIL"))
                // Gradle's `> Task :app:checkstyleMain FAILED` is the
                // verdict of a task whose output came before it.
                && !text.starts_with("> Task "))
    {
        return true;
    }
    if text.ends_with(|c: char| c.is_ascii_digit()) && julia_test_header(text).is_some() {
        return true;
    }
    match text.as_bytes().first() {
        Some(b'[' | b'-' | b'*' | b'F' | b'f' | b'E' | b'e' | b'n' | b'1'..=b'9') => {}
        _ if text.starts_with(['─', '═']) => {}
        // Anything else heads a failure only as a located error.
        _ => {
            return line.facts.may_contain(Anchor::Error) && located_error(text, false);
        }
    }
    if listed_test(text).is_some() {
        return true;
    }
    let Some((rest, error_tag)) = untagged(text) else {
        return true;
    };
    if let Some(after) = rest.strip_prefix("FAIL") {
        let after = after.strip_prefix("ED").unwrap_or(after);
        return after.is_empty() || after.starts_with([' ', '\t', ':', '!']);
    }
    rest.starts_with("not ok ")
        || rest.starts_with("1) ")
        || rest.eq_ignore_ascii_case("failure:")
        || rest.eq_ignore_ascii_case("error:")
        || located_error(rest, error_tag)
}

/// Julia's `name: Test Failed at path.jl:12` and `name: Error During Test
/// at path.jl:12`: whether the test errored, if the line is one.
fn julia_test_header(text: &str) -> Option<bool> {
    let (head, line) = text.rsplit_once(':')?;
    let julia_file = std::path::Path::new(head)
        .extension()
        .is_some_and(|e| e == "jl");
    if !julia_file || line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if head.contains("Test Failed at ") {
        Some(false)
    } else if head.contains("Error During Test at ") {
        Some(true)
    } else {
        None
    }
}

/// testthat's `── Failure (test-cart.R:12:3): name ──` and `1. Error: name
/// (@test-cart.R#8)`: a `Failure` or `Error` heading a ruled or numbered
/// entry of a list of failed tests. Whether the test errored, if the line
/// is one.
fn listed_test(text: &str) -> Option<bool> {
    let unruled = text.trim_start_matches(['─', '═']);
    let ruled = unruled.len() < text.len();
    let mut rest = unruled.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let numbered = digits > 0 && rest[digits..].starts_with(". ");
    if numbered {
        rest = &rest[digits + 2..];
    }
    if !(ruled || numbered) {
        return None;
    }
    let (errored, after) = if let Some(after) = rest.strip_prefix("Failure") {
        (false, after)
    } else {
        (true, rest.strip_prefix("Error")?)
    };
    after.starts_with([' ', '(', ':']).then_some(errored)
}

/// A line without the tag (sbt's `[info]`) and list bullet that may come
/// before a failure header, and whether the tag was `[error]`; `None` when
/// the tag itself is a failure header (`[  FAILED  ]`).
fn untagged(text: &str) -> Option<(&str, bool)> {
    let mut rest = text;
    let mut error_tag = false;
    if let Some((tag, after)) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        let tag = tag.trim();
        if matches!(tag, "FAIL" | "FAILED" | "FAILURE") {
            return None;
        }
        if !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
            error_tag = tag.eq_ignore_ascii_case("error");
            rest = after.trim_start();
        }
    }
    if rest.starts_with(['-', '*']) {
        let unbulleted = rest.trim_start_matches(['-', '*']);
        if unbulleted.starts_with(' ') {
            rest = unbulleted.trim_start();
        }
    }
    Some((rest, error_tag))
}

/// What kind of failure a header (see [`is_failure_header`]) starts: a
/// compiler's error at a place, a test that errored (minitest's `Error:`),
/// or a test that failed.
fn header_category(header: &str) -> Category {
    if let Some(errored) = julia_test_header(header).or_else(|| listed_test(header)) {
        return if errored {
            Category::TestError
        } else {
            Category::TestFailure
        };
    }
    match untagged(header) {
        Some((rest, _)) if compiler_error(rest) => Category::CompileError,
        Some((rest, _)) if rest.eq_ignore_ascii_case("error:") => Category::TestError,
        _ => Category::TestFailure,
    }
}

/// Where a line names a place in a file before its message:
/// `path.ext:12:5: …`, `path.ext:12: …`, javac's `path.java:[12,5] …`,
/// `MSBuild`'s `path.cs(12,5): …`. The path is the first word: a line with a
/// space or tab before its first colon is turned down at that byte.
struct Place<'a> {
    /// A column follows the line number.
    column: bool,
    message: &'a [u8],
}

fn place(text: &str) -> Option<Place<'_>> {
    let bytes = text.as_bytes();
    let at = bytes
        .iter()
        .position(|&b| matches!(b, b':' | b'(' | b' ' | b'\t'))?;
    let (path, after) = bytes.split_at(at);
    if !path.contains(&b'.') || matches!(after[0], b' ' | b'\t') {
        return None;
    }
    let number = after.strip_prefix(b":[").unwrap_or(&after[1..]);
    let digits = number.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let rest = &number[digits..];
    let column = matches!(rest, [b':' | b',', d, ..] if d.is_ascii_digit());
    let start = rest
        .iter()
        .position(|b| !matches!(b, b':' | b' ' | b')' | b']' | b',' | b'0'..=b'9'))
        .unwrap_or(rest.len());
    Some(Place {
        column,
        message: &rest[start..],
    })
}

fn names_error(text: &[u8]) -> bool {
    text.windows(5).any(|w| w.eq_ignore_ascii_case(b"error"))
}

/// A located line that heads a failure: it names an error (a compiler's
/// `error:`, a test's `unexpected error`), or sbt's or Maven's `[error]`
/// tag stands before it.
fn located_error(text: &str, error_tag: bool) -> bool {
    place(text).is_some_and(|p| error_tag || names_error(p.message))
}

/// Whether a located error is a compiler's: the place has a column, or the
/// message opens with the error's kind (`error:`, `syntax error,`, `fatal
/// error:`). `Class.method:21 expected …` in a test summary, or Go's
/// `cart_test.go:76: unexpected error`, is a test's.
fn compiler_error(text: &str) -> bool {
    place(text).is_some_and(|p| {
        p.column
            || p.message
                .split(u8::is_ascii_whitespace)
                .filter(|w| !w.is_empty())
                .take(2)
                .any(|w| {
                    w.strip_suffix(b":")
                        .or_else(|| w.strip_suffix(b","))
                        .unwrap_or(w)
                        .eq_ignore_ascii_case(b"error")
                })
    })
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

/// Whether a classified line is kept, by the count of follow-ups left
/// (`follow`): an error-like line is, and gives the next [`FOLLOW`] lines a
/// chance; of those, a runner's trailer and Travis's markers are not kept.
fn follows(follow: &mut u8, text: &str, errorish: bool) -> bool {
    if errorish {
        *follow = FOLLOW;
        true
    } else if *follow > 0 {
        *follow -= 1;
        !TRAILER.is_match(text) && !text.starts_with("travis_")
    } else {
        false
    }
}

impl Generic {
    /// Whether the next lines are wanted even if no keyword hits them.
    pub(crate) fn wants_more(&self) -> bool {
        self.after_keyword > 0
    }

    /// A line that the engine handed to the parsers.
    pub(crate) fn feed(&mut self, line: &Line<'_>) {
        let header = line.hit && matches!(self.first, First::Seeking) && is_failure_header(line);
        self.queue(
            line.no,
            line.text.trim_start(),
            line.hit,
            line.gha_error,
            header,
        );
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
            self.queue(no, text.trim(), false, false, false);
        } else if self.counts(trimmed.is_empty(), false) {
            let start = self.quiet_bytes.len();
            self.quiet_bytes.extend_from_slice(trimmed);
            self.enqueue(Pending {
                no,
                text: {
                    let (start, end) = offsets(start, self.quiet_bytes.len());
                    Text::Quiet(start, end)
                },
                gha_error: false,
                keyword: false,
                header: matches!(self.first, First::Seeking) && trimmed.starts_with(b"1) "),
            });
        }
    }

    fn queue(&mut self, no: u64, text: &str, keyword: bool, gha_error: bool, header: bool) {
        if self.counts(text.is_empty(), keyword) {
            let start = self.pending_text.len();
            self.pending_text.push_str(text);
            self.enqueue(Pending {
                no,
                text: {
                    let (start, end) = offsets(start, self.pending_text.len());
                    Text::Parsed(start, end)
                },
                gha_error,
                keyword,
                header,
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
        if p.header && self.first_header.is_none() {
            self.first_header = Some(self.pending.len());
        }
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
        let first = match std::mem::take(&mut self.first) {
            First::Seeking => Vec::new(),
            First::Building { lines, .. } | First::Done(lines) => lines,
        };
        self.cluster(out, first);
    }

    /// Moves the search for the step's first failure on by the queued
    /// lines: its header, then what follows it as the ring would take it
    /// (error-like lines and follow-ups, no gap over 3 lines).
    fn seek_first<'t>(
        &mut self,
        pending: &[Pending],
        line_text: impl Fn(&Pending) -> Cow<'t, str>,
    ) {
        for p in pending {
            match &mut self.first {
                First::Seeking if p.header => {
                    let t = line_text(p);
                    if !p.keyword || classify(&t, p) {
                        self.first = First::Building {
                            lines: vec![(p.no, one_line(&t, LINE_CHARS))],
                            follow: FOLLOW,
                        };
                    }
                }
                First::Seeking => {}
                First::Building { lines, follow } => {
                    let last = lines.last().map_or(0, |l| l.0);
                    if p.no > last + GAP || lines.len() >= FIRST_LINES {
                        self.first = First::Done(std::mem::take(lines));
                        return;
                    }
                    let t = line_text(p);
                    if follows(follow, &t, classify(&t, p)) {
                        lines.push((p.no, one_line(&t, LINE_CHARS)));
                    }
                }
                First::Done(_) => return,
            }
        }
    }

    /// Classifies the queued lines and moves those that matter into the ring.
    fn settle(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let text = std::mem::take(&mut self.pending_text);
        let quiet = std::mem::take(&mut self.quiet_bytes);
        let line_text = |p: &Pending| -> Cow<'_, str> {
            match p.text {
                Text::Quiet(start, end) => quiet
                    .get(range(start, end))
                    .map_or(Cow::Borrowed(""), String::from_utf8_lossy),
                Text::Parsed(start, end) => text.get(range(start, end)).unwrap_or_default().into(),
            }
        };
        // While the first failure is sought, only the queue from its first
        // possible header on can hold it.
        let header = self.first_header.take();
        match (&self.first, header) {
            (First::Seeking, Some(at)) => self.seek_first(&pending[at..], line_text),
            (First::Building { .. }, _) => self.seek_first(&pending, line_text),
            _ => {}
        }
        // Newest first, until the ring's worth of error-like lines is found.
        // A quiet line is never error-like: it holds no keyword.
        let mut errorish = vec![false; pending.len()];
        let mut found = 0;
        let mut from = 0;
        for i in (0..pending.len()).rev() {
            errorish[i] = pending[i].keyword && classify(&line_text(&pending[i]), &pending[i]);
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
        if follows(&mut self.follow, text, errorish) {
            self.push(no, text);
        }
    }

    fn push(&mut self, no: u64, text: &str) {
        if self.ring.len() == RING {
            self.ring.pop_front();
        }
        self.ring.push_back((no, one_line(text, LINE_CHARS)));
    }

    fn cluster(&mut self, out: &mut Vec<Candidate>, first: Vec<(u64, String)>) {
        let mut clusters: Vec<Vec<(u64, String)>> = Vec::new();
        for (no, text) in self.ring.drain(..) {
            match clusters.last_mut() {
                Some(c) if c.last().is_some_and(|(last, _)| no <= last + GAP) => c.push((no, text)),
                _ => clusters.push(vec![(no, text)]),
            }
        }
        let n = clusters.len();
        let kept = n.saturating_sub(CLUSTERS);
        // The first failure's header, if the ring still holds it, starts
        // a cluster of its own that outranks the rest (the lines before it
        // belong to what ran before); if not, its own cluster is offered.
        let header = first.first().map(|l| l.0);
        let mut ranked: Vec<(Vec<(u64, String)>, i32)> = Vec::new();
        let category = first
            .first()
            .map_or(Category::Unknown, |(_, text)| header_category(text));
        for mut c in clusters.into_iter().skip(kept) {
            match header.and_then(|h| c.iter().position(|(no, _)| *no == h)) {
                Some(at) => {
                    let from_header = c.split_off(at);
                    if !c.is_empty() {
                        ranked.push((c, 0));
                    }
                    ranked.push((from_header, FIRST_BONUS));
                }
                None => ranked.push((c, 0)),
            }
        }
        if header.is_some() && !ranked.iter().any(|(_, bonus)| *bonus > 0) {
            ranked.insert(0, (first, FIRST_BONUS));
        }
        for (cluster, bonus) in ranked {
            // The engine adds closeness to the end of the step; here only
            // how strongly the lines read as errors counts.
            let strong = cluster.iter().any(|(_, t)| STRONG.is_match(t));
            // "One or more tests failed." says nothing about why.
            let bare = cluster.iter().all(|(_, t)| is_bare_verdict(t));
            let start = cluster.first().map_or(0, |c| c.0);
            let end = cluster.last().map_or(0, |c| c.0);
            // A failure's header names it; elsewhere the error line does.
            let message = cluster
                .iter()
                .find(|(_, t)| bonus == 0 && t.to_ascii_lowercase().contains("error"))
                .or_else(|| cluster.first())
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
            let snippet: Vec<(u64, String)> = cluster.into_iter().take(12).collect();
            let mut candidate =
                Candidate::new(Category::Unknown, "generic", one_line(&message, 300))
                    .span(start, end)
                    .confidence(
                        bonus
                            + if bare {
                                0
                            } else if strong {
                                8
                            } else {
                                4
                            },
                    )
                    .snippet(snippet);
            if bonus > 0 {
                candidate.guess = Some(category);
            }
            out.push(candidate);
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

    #[test]
    fn failure_headers_of_many_tools() {
        for header in [
            "FAIL src/cart.test.js",
            "FAIL Cart totals after a discount [ext/shop/tests/cart.phpt]",
            "FAILED tests/test_cart.py::test_total - assert 1 == 2",
            "--- FAIL: TestTotal (0.00s)",
            "not ok 3 - parses dates",
            "Failure:",
            "Error:",
            "[  FAILED  ] Cart.Total (0 ms)",
            "[info] - applies a discount *** FAILED ***",
            "[xUnit.net 00:00:01.52]     Shop.Tests.CartTests.Total [FAIL]",
            "  * FAIL: test_total",
            "com.acme.shop.CartTest > totalWithTax FAILED",
            "test_total (test_cart.CartTest) ... FAIL",
            "1) test raises an error on bad input (Shop.CartTest)",
            "src/cart.c:12:5: error: 'total' undeclared (first use in this function)",
            "[error] /build/shop/src/Cart.scala:10:8: object util is not a member of package shop",
            "[ERROR] /src/main/java/shop/Report.java:[5,24] cannot find symbol",
            "Shop/Cart.cs(12,5): error CS1002: ; expected",
            "src/shop/prices.py:12: error: Incompatible return value type",
            "[ERROR]   CalcTest.divides:21 expected: <2> but was: <3>",
            "── Failure (test-cart.R:12:3): totals include tax ──────────",
            "── 1. Error: prices round (@test-prices.R#8)  ──────────",
            "1. Failure: totals include tax (@test-cart.R#12)",
            "cart total: Test Failed at /home/travis/build/acme/Shop.jl/test/cart.jl:12",
            "rounding: Error During Test at /home/travis/build/acme/Shop.jl/test/prices.jl:8",
        ] {
            assert!(is_failure_header(&Line::for_test(1, header)), "{header}");
        }
        for other in [
            "FAILURE: Build failed with an exception.",
            "FAILURES!",
            "Failures: 0",
            "error: could not compile `shop`",
            "[error] Failed tests:",
            "Tests: 3 failed, 12 passed",
            "java.lang.IllegalStateException: requested failure",
            "[info] FAILING is not a verdict",
            "src/cart.c:12:5: warning: unused variable 'x'",
            "at com.acme.shop.Cart.total(Cart.java:41)",
            "> Task :app:checkstyleMain FAILED",
            "Downloading https://repo.example.com:8443/shop.jar failed",
            "Error: Test failures",
            "2. Errors are reported below",
            "══ Failed tests ══════════════════",
        ] {
            assert!(!is_failure_header(&Line::for_test(1, other)), "{other}");
        }
    }

    #[test]
    fn a_header_names_the_kind_of_failure() {
        for (header, category) in [
            (
                "src/calc.cc:12:10: error: 'sqrtt' was not declared",
                Category::CompileError,
            ),
            (
                "[ERROR] /src/shop/Report.java:[5,24] cannot find symbol",
                Category::CompileError,
            ),
            (
                "spec/cart_spec.rb:3520: syntax error, unexpected end-of-input",
                Category::CompileError,
            ),
            (
                "src/shop/prices.py:12: error: Incompatible return value type",
                Category::CompileError,
            ),
            (
                "cart_test.go:76: unexpected init error: exit status 1",
                Category::TestFailure,
            ),
            (
                "[ERROR]   CalcTest.divides:21 expected: <2> but was: <3>",
                Category::TestFailure,
            ),
            ("--- FAIL: TestTotal (0.00s)", Category::TestFailure),
            ("Error:", Category::TestError),
            (
                "── Failure (test-cart.R:12:3): totals include tax ──",
                Category::TestFailure,
            ),
            (
                "── Error (test-prices.R:8:3): prices round ──",
                Category::TestError,
            ),
            (
                "x: Error During Test at /src/test/prices.jl:8",
                Category::TestError,
            ),
        ] {
            assert_eq!(header_category(header), category, "{header}");
        }
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
                lazy.queue(*no, text.trim(), true, false, false);
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
