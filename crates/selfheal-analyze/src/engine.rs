//! The streaming core: cleans each line once, tracks CI structure (jobs,
//! steps, failure markers) and hands lines to the tool parsers.
//!
//! Most lines of a CI log matter to nobody. An Aho-Corasick prefilter over a
//! few dozen keywords decides whether a line is worth showing the parsers at
//! all; a parser that is inside a block (a traceback, a pytest failure
//! section) asks for every line until the block ends. Memory is bounded by
//! the line splitter, the parsers' own caps and [`MAX_CANDIDATES`].

use std::io::Read;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};

use crate::lines::{LineSplitter, strip_ansi, timestamp_len, to_str};
use crate::parsers::{self, Candidate, Line, Parser};

/// Words that any parser's block starts with (or that the fallback wants).
const KEYWORDS: &[&str] = &[
    // Failure words: the fallback, most tools' verdicts, `##[error]`-less annotations.
    "error",
    "fail",
    "exception",
    "fatal",
    "panic",
    "traceback",
    "abort",
    "cannot",
    "can't",
    "could not",
    "couldn't",
    "unable",
    "invalid",
    "unexpected",
    "not found",
    "not defined",
    "no such",
    "does not exist",
    "denied",
    "undefined",
    "unresolved",
    "terminated",
    "crash",
    "not ok",
    "segmentation",
    // Block starts that carry no failure word.
    "file \"",
    "=== run",
    "short test summary",
    "test session starts",
    "what went wrong",
    ".py:",
    "diff in ",
    "●",
    "cmake",
    ": ***",
    "dubious",
    // Infrastructure, limits and resolution signatures.
    "timed out",
    "killed",
    "cancel",
    "exceeded",
    "no space left",
    "out of memory",
    "reset by peer",
    "refused",
    "unavailable",
    "bad gateway",
    "rate limit",
    "too many",
    "not supplied",
    "lock file",
    "lockfile",
    "go.sum",
    "unknown revision",
    "unsatisfiable",
    "resolution",
    "unauthorized",
    "forbidden",
    "credentials",
    "would reformat",
    "err!",
    "non-zero code",
    "manifest",
    "shutdown signal",
    "lost communication",
    "name resolution",
    "exited with",
    "econn",
    "etimedout",
    "enotfound",
    "eai_again",
    "no output has been received",
    "137",
];

static PREFILTER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    // A full DFA: it costs a few hundred KiB once and scans each byte in
    // one table lookup, which matters more than anything else here.
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(KEYWORDS)
        .expect("keywords build")
});

/// Past this many candidates the weakest are dropped, whatever the input.
pub(crate) const MAX_CANDIDATES: usize = 2000;

/// Where a file of a run-log folder or zip came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileContext {
    pub log_file: Option<String>,
    pub job: Option<String>,
    /// Set for per-step files: then `##[group]Run` headers do not start steps.
    pub step: Option<String>,
}

/// Candidates from one input stream, with step verdicts applied.
pub(crate) struct StreamResult {
    pub candidates: Vec<Candidate>,
}

struct Engine {
    parsers: Vec<Box<dyn Parser>>,
    candidates: Vec<Candidate>,
    ctx: FileContext,
    step: Option<String>,
    segment: u32,
    failed_segments: Vec<u32>,
    seq: u32,
    gha: bool,
    /// The last few lines of the current segment, for a failed step that no
    /// parser explained.
    tail: std::collections::VecDeque<(u64, Vec<u8>)>,
    segment_first_candidate: usize,
    /// The last line of each finished segment, indexed by segment.
    segment_ends: Vec<u64>,
    last_no: u64,
    prev: Vec<u8>,
    /// Whether some parser is inside a block and needs every line.
    any_active: bool,
}

/// Analyses one stream of log text.
pub(crate) fn run<R: Read>(reader: R, ctx: FileContext) -> std::io::Result<StreamResult> {
    let mut engine = Engine {
        parsers: parsers::all(),
        candidates: Vec::new(),
        step: ctx.step.clone(),
        ctx,
        segment: 0,
        failed_segments: Vec::new(),
        seq: 0,
        gha: false,
        tail: std::collections::VecDeque::with_capacity(TAIL),
        segment_first_candidate: 0,
        segment_ends: Vec::new(),
        last_no: 0,
        prev: Vec::new(),
        any_active: false,
    };
    let mut splitter = LineSplitter::new(reader);
    let mut no: u64 = 0;
    let mut ansi = Vec::new();
    let mut lossy = String::new();
    while let Some(raw) = splitter.next_line()? {
        no += 1;
        let mut bytes = raw;
        if no == 1 {
            bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        }
        let ts = timestamp_len(bytes);
        if ts > 0 {
            engine.gha = true;
            bytes = &bytes[ts..];
        }
        if memchr::memchr(0x1b, bytes).is_some() {
            strip_ansi(bytes, &mut ansi);
            bytes = &ansi;
        }
        // The fast path: a line no parser wants costs one keyword scan and
        // two short copies, and is never decoded.
        let hit = PREFILTER.is_match(bytes);
        if !hit && !engine.any_active && !bytes.starts_with(b"##[") && !bytes.starts_with(b"$ ") {
            engine.quiet_line(no, bytes);
            continue;
        }
        let text = to_str(bytes, &mut lossy);
        engine.line(no, text, hit);
    }
    Ok(engine.finish())
}

const TAIL: usize = 6;

impl Engine {
    /// A line that no parser needs: only the step bookkeeping sees it.
    fn quiet_line(&mut self, no: u64, bytes: &[u8]) {
        self.last_no = no;
        self.remember(no, bytes);
    }

    /// Keeps the previous line and the step's last lines, reusing buffers.
    fn remember(&mut self, no: u64, bytes: &[u8]) {
        self.prev.clear();
        self.prev.extend_from_slice(&bytes[..bytes.len().min(512)]);
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.starts_with(b"travis_") {
            return;
        }
        let mut slot = if self.tail.len() == TAIL {
            self.tail.pop_front().map(|(_, s)| s).unwrap_or_default()
        } else {
            Vec::new()
        };
        slot.clear();
        slot.extend_from_slice(&bytes[..bytes.len().min(400)]);
        self.tail.push_back((no, slot));
    }

    fn line(&mut self, no: u64, text: &str, hit: bool) {
        let mut gha_error = false;
        let mut text = text;
        if let Some(rest) = text.strip_prefix("##[") {
            if let Some(name) = rest.strip_prefix("group]") {
                if name.starts_with("Run ") && self.ctx.step.is_none() {
                    self.boundary(Some(name.trim().chars().take(120).collect()));
                }
                return;
            }
            if rest.starts_with("endgroup]") || rest.starts_with("debug]") {
                return;
            }
            if let Some(msg) = rest.strip_prefix("error]") {
                gha_error = true;
                text = msg;
            } else if let Some(msg) = rest
                .strip_prefix("warning]")
                .or_else(|| rest.strip_prefix("notice]"))
            {
                // Warnings are not why a job failed; keep them out of the parsers.
                let _ = msg;
                return;
            } else if let Some(msg) = rest.strip_prefix("command]") {
                text = msg;
            }
        }
        let exit_marker = exit_marker(text, gha_error);
        // Travis prints each command as `$ cmd`: a natural step boundary.
        if !self.gha && text.starts_with("$ ") {
            self.boundary(None);
        }
        self.last_no = no;
        let line = Line {
            no,
            text,
            gha_error,
            prev: std::str::from_utf8(&self.prev).unwrap_or(""),
        };
        let hit = hit || gha_error;
        let before = self.candidates.len();
        for p in &mut self.parsers {
            if hit || p.active() {
                p.feed(&line, &mut self.candidates);
            }
        }
        self.stamp(before);
        self.any_active = self.parsers.iter().any(|p| p.active());
        match exit_marker {
            Marker::None => self.remember(no, text.trim_end().as_bytes()),
            Marker::Failed => {
                self.flush();
                if !self.failed_segments.contains(&self.segment) {
                    self.failed_segments.push(self.segment);
                }
                self.unexplained(no, text);
                self.boundary(None);
            }
            Marker::Passed => self.boundary(None),
        }
        if self.candidates.len() > 2 * MAX_CANDIDATES {
            self.prune();
        }
    }

    /// A step failed: its last lines are the best guess at why, should no
    /// parser recognise anything (the ranking drops this when one did).
    fn unexplained(&mut self, no: u64, marker: &str) {
        let mut snippet: Vec<(u64, String)> = self
            .tail
            .drain(..)
            .map(|(n, b)| (n, String::from_utf8_lossy(&b).into_owned()))
            .collect();
        snippet.push((no, marker.trim().to_owned()));
        let start = snippet.first().map_or(no, |s| s.0);
        let message = snippet
            .iter()
            .rev()
            .nth(1)
            .map_or_else(|| marker.trim().to_owned(), |s| s.1.clone());
        let before = self.candidates.len();
        self.candidates.push(
            Candidate::new(selfheal_types::Category::Unknown, "generic", message)
                .span(start, no)
                .confidence(-4)
                .snippet(snippet),
        );
        self.stamp(before);
    }

    fn stamp(&mut self, from: usize) {
        for c in &mut self.candidates[from..] {
            c.job.clone_from(&self.ctx.job);
            c.step.clone_from(&self.step);
            c.segment = self.segment;
            c.seq = self.seq;
            self.seq += 1;
        }
    }

    fn flush(&mut self) {
        let before = self.candidates.len();
        for p in &mut self.parsers {
            p.flush(&mut self.candidates);
        }
        self.stamp(before);
        self.any_active = self.parsers.iter().any(|p| p.active());
    }

    fn boundary(&mut self, step: Option<String>) {
        self.flush();
        self.segment_ends.push(self.last_no);
        self.segment += 1;
        self.segment_first_candidate = self.candidates.len();
        self.tail.clear();
        if step.is_some() {
            self.step = step;
        }
    }

    fn prune(&mut self) {
        self.candidates
            .sort_by(|a, b| b.confidence.cmp(&a.confidence).then(a.seq.cmp(&b.seq)));
        self.candidates.truncate(MAX_CANDIDATES);
        self.candidates.sort_by_key(|c| c.seq);
        self.segment_first_candidate = self.segment_first_candidate.min(self.candidates.len());
    }

    fn finish(mut self) -> StreamResult {
        self.flush();
        if self.candidates.len() > MAX_CANDIDATES {
            self.prune();
        }
        self.segment_ends.push(self.last_no);
        let any_failed_step = !self.failed_segments.is_empty();
        for c in &mut self.candidates {
            c.step_failed = if any_failed_step {
                Some(self.failed_segments.contains(&c.segment))
            } else {
                None
            };
            if c.tool == "generic" {
                // The fallback's lines matter by how close they are to where
                // the step (or, with no step verdicts, the log) ended.
                let end = if any_failed_step {
                    self.segment_ends
                        .get(c.segment as usize)
                        .copied()
                        .unwrap_or(self.last_no)
                } else {
                    self.last_no
                };
                let dist = end.saturating_sub(c.span.end) as f64;
                c.confidence += (20.0 * 30.0 / (30.0 + dist)).round() as i32;
            }
        }
        StreamResult {
            candidates: self.candidates,
        }
    }
}

enum Marker {
    None,
    Failed,
    Passed,
}

/// CI lines that end a step and say whether it failed.
fn exit_marker(text: &str, gha_error: bool) -> Marker {
    let code_after = |rest: &str| -> Option<i64> {
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit() && c != '-')
            .next()
            .and_then(|n| n.parse().ok())
    };
    if gha_error && let Some(rest) = text.strip_prefix("Process completed with exit code") {
        return match code_after(rest) {
            Some(0) => Marker::Passed,
            _ => Marker::Failed,
        };
    }
    // Travis quotes the command, which may span lines: the verdict then
    // sits on a line of its own, `" exited with 1.`.
    if (text.starts_with("The command \"") || text.starts_with('"'))
        && let Some(i) = text.rfind("\" exited with ")
    {
        return match code_after(&text[i + 14..]) {
            Some(0) => Marker::Passed,
            _ => Marker::Failed,
        };
    }
    if text.starts_with("Build step '") && text.ends_with("marked build as failure") {
        return Marker::Failed;
    }
    if let Some(rest) = text.strip_prefix("ERROR: Job failed: exit code") {
        let _ = rest;
        return Marker::Failed;
    }
    Marker::None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_verdicts_of_each_ci_are_recognised() {
        let failed = |t: &str, gha: bool| matches!(exit_marker(t, gha), Marker::Failed);
        assert!(failed("Process completed with exit code 2.", true));
        assert!(!failed("Process completed with exit code 2.", false));
        assert!(failed("The command \"make test\" exited with 1.", false));
        assert!(matches!(
            exit_marker("The command \"make\" exited with 0.", false),
            Marker::Passed
        ));
        // Regression: Travis puts the verdict of a multi-line command on its own line.
        assert!(failed("\" exited with 1.", false));
        assert!(failed(
            "Build step 'Invoke top-level Maven targets' marked build as failure",
            false
        ));
    }
}
