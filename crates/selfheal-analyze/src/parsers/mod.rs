//! One module per tool, all behind [`Parser`].
//!
//! The engine feeds every parser the same cleaned lines. A parser is a small
//! state machine: it ignores lines until one of its own markers shows up,
//! collects what it needs into bounded buffers, and pushes [`Candidate`]s
//! when its block ends or when the engine flushes it at a step boundary.
//! Parsers never see the raw bytes and never keep whole logs.

use selfheal_types::{Category, LineSpan, Location};

pub(crate) mod cargo;
pub(crate) mod diag;
pub(crate) mod exunit;
pub(crate) mod generic;
pub(crate) mod go;
pub(crate) mod infra;
pub(crate) mod java;
pub(crate) mod js;
pub(crate) mod links;
pub(crate) mod make;
pub(crate) mod numbered;
pub(crate) mod pytest;
pub(crate) mod python;

/// One cleaned input line, as parsers see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based line number in the input as given.
    pub no: u64,
    /// Timestamp, ANSI colours, any `##[error]`-style marker and trailing
    /// whitespace removed.
    pub text: &'a str,
    /// The line was a GitHub Actions `##[error]` annotation.
    pub gha_error: bool,
    /// The previous line, cleaned the same way (headers like `# pkg` are
    /// only recognisable once the line after them is).
    pub prev: &'a str,
    /// It hit the keyword prefilter (or is an annotation).
    pub hit: bool,
    /// What the reading thread's scan found in the line.
    pub facts: Facts,
}

/// What one scan of a line's bytes found, for the parsers (see
/// [`crate::engine`]): whether it holds a keyword, and which signatures'
/// literals it holds. The bytes scanned hold the parsers' text, so a
/// literal missing from them is missing from the text.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    pub keyword: bool,
    /// A bit per [`infra`] signature whose literal occurs.
    pub infra: u128,
    /// A bit per [`Anchor`] that occurs, ignoring ASCII case.
    pub anchors: u32,
    /// A bit per [`Anchor`] that occurs in the case the parsers search for
    /// (the scan compares the bytes where it found one): a parser's
    /// case-sensitive search for an anchor runs only on the lines that hold
    /// it, not on every line that holds it in some case.
    pub exact: u32,
}

impl Facts {
    /// False when the line cannot contain `anchor`'s literal (in any case);
    /// true when it may.
    pub(crate) fn may_contain(self, anchor: Anchor) -> bool {
        self.anchors & anchor.bit() != 0
    }
}

/// Literals that parsers look for in every keyword line before their
/// costlier tests. The engine's scan finds them along with the keywords, so
/// a parser asks [`Facts::may_contain`] first and searches the text only
/// when the answer is yes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    UndefinedReference,
    LinkerPrefix,
    UndefinedSymbols,
    MakeStars,
    GoTestFail,
    GoFile,
    TimeElapsed,
    ScalaFailed,
    Fail,
    /// pytest's verdicts in its progress and summary lines.
    Failed,
    Error,
    /// eslint's findings: `  12:5  error  'x' is not defined  no-undef`.
    EslintError,
    EslintWarning,
    Rerun,
    Flakes,
    ExUnitTest,
    ExUnitDoctest,
    FlakyReport,
}

impl Anchor {
    pub(crate) const ALL: [Anchor; 18] = [
        Anchor::UndefinedReference,
        Anchor::LinkerPrefix,
        Anchor::UndefinedSymbols,
        Anchor::MakeStars,
        Anchor::GoTestFail,
        Anchor::GoFile,
        Anchor::TimeElapsed,
        Anchor::ScalaFailed,
        Anchor::Fail,
        Anchor::Failed,
        Anchor::Error,
        Anchor::EslintError,
        Anchor::EslintWarning,
        Anchor::Rerun,
        Anchor::Flakes,
        Anchor::ExUnitTest,
        Anchor::ExUnitDoctest,
        Anchor::FlakyReport,
    ];

    /// The literal, as the parsers search for it.
    pub(crate) fn literal(self) -> &'static str {
        match self {
            Anchor::UndefinedReference => "undefined reference",
            Anchor::LinkerPrefix => "ld: ",
            Anchor::UndefinedSymbols => "Undefined symbols",
            Anchor::MakeStars => ": ***",
            Anchor::GoTestFail => "--- FAIL",
            Anchor::GoFile => ".go:",
            Anchor::TimeElapsed => "Time elapsed",
            Anchor::ScalaFailed => "*** FAILED ***",
            Anchor::Fail => "FAIL",
            Anchor::Failed => "FAILED",
            Anchor::Error => "ERROR",
            Anchor::EslintError => "  error  ",
            Anchor::EslintWarning => "  warning  ",
            Anchor::Rerun => "RERUN",
            Anchor::Flakes => "Flakes:",
            Anchor::ExUnitTest => ") test ",
            Anchor::ExUnitDoctest => ") doctest ",
            Anchor::FlakyReport => " out of the required ",
        }
    }

    pub(crate) fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// Feeds `lines` (numbered from 1) to a fresh parser, then flushes it:
/// what a parser makes of a whole log, for its unit tests.
#[cfg(test)]
pub(crate) fn parse_lines<P: Parser + Default>(lines: &[&str]) -> Vec<Candidate> {
    let mut p = P::default();
    let mut out = Vec::new();
    for (no, text) in (1..).zip(lines) {
        p.feed(&Line::for_test(no, text), &mut out);
    }
    p.flush(&mut out);
    out
}

#[cfg(test)]
impl<'a> Line<'a> {
    /// A line as the engine would hand it over, for parser unit tests.
    pub(crate) fn for_test(no: u64, text: &'a str) -> Self {
        let lower = text.to_ascii_lowercase();
        let anchors = Anchor::ALL
            .iter()
            .filter(|a| lower.contains(&a.literal().to_ascii_lowercase()))
            .fold(0, |bits, a| bits | a.bit());
        let exact = Anchor::ALL
            .iter()
            .filter(|a| text.contains(a.literal()))
            .fold(0, |bits, a| bits | a.bit());
        Line {
            no,
            text: text.trim_end(),
            gha_error: false,
            prev: "",
            hit: true,
            facts: Facts {
                keyword: true,
                infra: 0,
                anchors,
                exact,
            },
        }
    }
}

impl Line<'_> {
    /// `text.contains(anchor's literal)`, answered from the scan when it
    /// can be. `text` is the line's text or a part of it: an ASCII literal
    /// in it is in the bytes the scan saw, in the same case.
    pub(crate) fn has(&self, text: &str, anchor: Anchor) -> bool {
        self.facts.exact & anchor.bit() != 0 && text.contains(anchor.literal())
    }
}

/// A failure as a parser reports it, before ranking and fingerprinting.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub category: Category,
    pub tool: &'static str,
    pub message: String,
    pub test: Option<String>,
    pub locations: Vec<Location>,
    pub span: LineSpan,
    /// How sure the parser is that this is a real, primary failure (0..=100).
    pub confidence: i32,
    /// The lines worth showing the model, with their line numbers.
    pub snippet: Vec<(u64, String)>,
    // Filled in by the engine.
    pub job: Option<String>,
    pub step: Option<String>,
    /// The command its step ran, where the log shows it.
    pub command: Option<String>,
    pub segment: u32,
    pub seq: u32,
    /// Whether its step failed; `None` when the input marks no step verdicts.
    pub step_failed: Option<bool>,
    /// For multi-file inputs, the file within the input.
    pub log_file: Option<String>,
    /// A runner's summary (`** TEST FAILED **`, `> Task :test FAILED`):
    /// it gives its category to the step's unrecognised lines and stands
    /// for the step only when nothing else does.
    pub verdict: bool,
    /// The log shows signs that it may pass on a rerun (see [`crate::flaky`]).
    pub flaky: Option<bool>,
    /// The fallback's guess at the category from the kind of line that
    /// heads the failure: taken only when neither a runner's verdict nor
    /// the step's command places it.
    pub guess: Option<Category>,
}

impl Candidate {
    pub(crate) fn new(category: Category, tool: &'static str, message: impl Into<String>) -> Self {
        Self {
            category,
            tool,
            message: message.into(),
            test: None,
            locations: Vec::new(),
            span: LineSpan::new(0, 0),
            confidence: 50,
            snippet: Vec::new(),
            job: None,
            step: None,
            command: None,
            segment: 0,
            seq: 0,
            step_failed: None,
            log_file: None,
            verdict: false,
            flaky: None,
            guess: None,
        }
    }

    pub(crate) fn span(mut self, start: u64, end: u64) -> Self {
        self.span = LineSpan::new(start, end.max(start));
        self
    }

    pub(crate) fn confidence(mut self, c: i32) -> Self {
        self.confidence = c;
        self
    }

    pub(crate) fn snippet(mut self, s: Vec<(u64, String)>) -> Self {
        self.snippet = s;
        self
    }
}

/// A tool parser; see the module docs for the contract.
pub(crate) trait Parser {
    /// Looks at one line; pushes any failure it completes.
    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>);
    /// The step or input ended: push whatever is pending and reset.
    fn flush(&mut self, out: &mut Vec<Candidate>);
    /// Whether the parser is inside a block and needs every line, not only
    /// those that hit the keyword prefilter.
    fn active(&self) -> bool;
    /// Whether the parser wants a line the keyword prefilter let pass for
    /// it alone (see [`Facts::infra`]).
    fn wants(&self, _facts: Facts) -> bool {
        false
    }
}

/// `pattern` with ASCII word boundaries. Unicode `\b` makes the regex
/// engines fall back to a slow NFA on any line with non-ASCII text (test
/// runners print ✓ and ✕), and no pattern here needs words outside ASCII.
pub(crate) fn ascii_word_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// Compiles a parser's pattern (see [`ascii_word_boundaries`]).
pub(crate) fn re(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&ascii_word_boundaries(pattern))
}

/// [`re`] for a set of patterns, behind a literal gate (see [`crate::gate`]).
pub(crate) fn re_set<I, S>(patterns: I) -> Result<crate::gate::GatedSet, regex::Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    crate::gate::GatedSet::new(
        patterns
            .into_iter()
            .map(|p| ascii_word_boundaries(p.as_ref())),
    )
}

/// Every tool parser, in no particular order (ranking decides what wins).
/// The fallback, [`generic::Generic`], is the engine's own: it also sees
/// lines that no parser asked for.
pub(crate) fn all() -> Vec<Box<dyn Parser>> {
    vec![
        Box::new(pytest::Pytest::default()),
        Box::new(python::Traceback::default()),
        Box::new(go::Go::default()),
        Box::new(diag::Diag::default()),
        Box::new(exunit::ExUnit::default()),
        Box::new(cargo::Cargo::default()),
        Box::new(java::Java::default()),
        Box::new(numbered::Numbered::default()),
        Box::new(js::Js::default()),
        Box::new(make::Make::default()),
        Box::new(links::Links::default()),
        Box::new(infra::Infra::default()),
    ]
}

/// A bounded snippet buffer: keeps the first `head` lines and the last
/// `tail` lines of a block, so a 5,000-line traceback costs a few dozen.
#[derive(Debug, Default, Clone)]
pub(crate) struct Snip {
    head: Vec<(u64, String)>,
    tail: std::collections::VecDeque<(u64, String)>,
    head_max: usize,
    tail_max: usize,
    skipped: bool,
}

impl Snip {
    pub(crate) fn new(head_max: usize, tail_max: usize) -> Self {
        Self {
            head_max,
            tail_max,
            ..Self::default()
        }
    }

    pub(crate) fn push(&mut self, no: u64, text: &str) {
        if self.head.len() < self.head_max {
            self.head.push((no, text.to_owned()));
            return;
        }
        if self.tail.len() == self.tail_max {
            self.tail.pop_front();
            self.skipped = true;
        }
        if self.tail_max > 0 {
            self.tail.push_back((no, text.to_owned()));
        } else {
            self.skipped = true;
        }
    }

    pub(crate) fn take(&mut self) -> Vec<(u64, String)> {
        let mut v = std::mem::take(&mut self.head);
        v.extend(self.tail.drain(..));
        self.skipped = false;
        v
    }
}

/// Whether a path is someone else's code: installed packages, the standard
/// library, interpreter internals. Used to pick project frames.
pub(crate) fn is_vendor_path(path: &str) -> bool {
    const MARKERS: &[&str] = &[
        "site-packages/",
        "dist-packages/",
        "/lib/python",
        "/lib64/python",
        "\\lib\\",
        "/.cargo/registry/",
        "/rustc/",
        "/node_modules/",
        "/go/pkg/mod/",
        "/usr/local/go/src/",
        "/usr/lib/go",
        "/.pyenv/",
        "/hostedtoolcache/",
        "<frozen",
    ];
    path.starts_with('<') || MARKERS.iter().any(|m| path.contains(m))
}

/// Makes a CI checkout path relative to the repository root where the CI
/// system's layout is recognisable; other paths pass through unchanged.
pub(crate) fn relativize(path: &str) -> String {
    // (prefix, how many path components after it belong to the checkout)
    const ROOTS: &[(&str, usize)] = &[
        ("/home/runner/work/", 2),
        ("/__w/", 2),
        ("/Users/runner/work/", 2),
        ("D:\\a\\", 2),
        ("/home/travis/build/", 2),
        ("/Users/travis/build/", 2),
        ("/builds/", 2),
        ("/github/workspace/", 0),
        ("/workspace/", 0),
        ("/var/lib/jenkins/workspace/", 1),
    ];
    let p = path.trim();
    for (root, depth) in ROOTS {
        if let Some(rest) = p.strip_prefix(root) {
            let sep = if root.contains('\\') { '\\' } else { '/' };
            let mut rest = rest;
            for _ in 0..*depth {
                match rest.find(sep) {
                    Some(i) => rest = &rest[i + 1..],
                    None => return p.to_owned(),
                }
            }
            return rest.to_owned();
        }
    }
    p.strip_prefix("./").unwrap_or(p).to_owned()
}

pub(crate) fn loc(file: &str, line: Option<u32>, column: Option<u32>) -> Location {
    Location {
        file: relativize(file),
        line,
        column,
    }
}

/// Shortens a message to one line of at most `max` characters.
pub(crate) fn one_line(s: &str, max: usize) -> String {
    let s = s.trim();
    let first = s.lines().next().unwrap_or("");
    if first.chars().count() <= max {
        first.to_owned()
    } else {
        let mut out: String = first.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_paths_become_relative() {
        assert_eq!(
            relativize("/home/runner/work/proj/proj/src/x.py"),
            "src/x.py"
        );
        assert_eq!(relativize("/__w/a/a/tests/t.py"), "tests/t.py");
        assert_eq!(relativize("./src/lib.rs"), "src/lib.rs");
        assert_eq!(relativize("/home/travis/build/o/r/a.go"), "a.go");
        assert_eq!(relativize("/home/runner/work/x"), "/home/runner/work/x");
    }

    #[test]
    fn snip_keeps_head_and_tail() {
        let mut s = Snip::new(2, 2);
        for i in 1..=10 {
            s.push(i, &i.to_string());
        }
        let nos: Vec<u64> = s.take().into_iter().map(|(n, _)| n).collect();
        assert_eq!(nos, [1, 2, 9, 10]);
    }
}
