//! pytest, in every output mode.
//!
//! pytest spreads one failure over several places: a block under
//! `= FAILURES =` / `= ERRORS =` (headed `___ name ___`, or bare
//! `path:line: msg` lines with `--tb=line`), a progress line with the node
//! id (`-v`, xdist's `[gw0] FAILED id`), and a line of the short test
//! summary (`FAILED id - msg`). Blocks name the test loosely
//! (`TestC.test_m[p]`); the summary and progress lines carry the exact node
//! id. So blocks are held until the session ends and then matched to the
//! exact ids; summary lines with no block still become failures.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::{Category, Location};

use super::{Anchor, Candidate, Line, Parser, Snip, is_vendor_path, loc, one_line, python};

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^={3,} ?(.*?) ?={3,}$").expect("valid regex"));
static HEADER: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^_{3,} (.+?) _{3,}$").expect("valid regex"));
static SUBSECTION: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^-{3,} .+ -{3,}$").expect("valid regex"));
static LOCATION: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^(\S+?\.py):(\d+): ?(.*)$").expect("valid regex"));
static SUMMARY: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^(FAILED|ERROR) (.+?)(?: - (.*))?$").expect("valid regex"));
static PROGRESS: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"^(?:\[gw\d+\]\s+)?(?:\[\s*\d+%\]\s+)?(FAILED|ERROR) (\S+::\S.*?)(?:\s+\[\s*\d+%\])?$",
    )
    .expect("valid regex")
});
static VERBOSE: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^(\S+?\.py::\S.*?) (FAILED|ERROR)(?:\s|$)").expect("valid regex"));
static FINAL: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"^=*\s*(?:\d+ (?:failed|passed|errors?|skipped|deselected|xfailed|xpassed|warnings?|rerun)(?:, )?)+ in [\d.]+s",
    )
    .expect("valid regex")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Section {
    #[default]
    None,
    Failures,
    Summary,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Failure,
    Collect,
    Setup,
    /// One `--tb=line` line: no header, no test name.
    Line,
}

#[derive(Debug)]
struct Block {
    kind: Kind,
    name: String,
    start: u64,
    end: u64,
    /// Groups of consecutive `E` lines; the last group is the final error.
    e_groups: Vec<Vec<String>>,
    last_was_e: bool,
    /// (file, line) in the order printed: outermost frame first.
    frames: Vec<(String, u32)>,
    /// The text after `path:line: ` of the last location line.
    last_location_text: Option<String>,
    /// A column-0 exception line (`--tb=native`).
    exception: Option<String>,
    in_captured: bool,
    snip: Snip,
}

impl Block {
    fn new(kind: Kind, name: String, no: u64, text: &str) -> Self {
        let mut snip = Snip::new(40, 20);
        snip.push(no, text);
        Self {
            kind,
            name,
            start: no,
            end: no,
            e_groups: Vec::new(),
            last_was_e: false,
            frames: Vec::new(),
            last_location_text: None,
            exception: None,
            in_captured: false,
            snip,
        }
    }
}

#[derive(Debug)]
struct SummaryEntry {
    error: bool,
    nodeid: String,
    message: Option<String>,
    line: u64,
    used: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Pytest {
    section: Section,
    block: Option<Block>,
    blocks: Vec<Block>,
    summary: Vec<SummaryEntry>,
    /// Node ids from `-v` and xdist progress lines, for when there is no summary.
    progress: Vec<String>,
}

const MAX_PENDING: usize = 500;

impl Parser for Pytest {
    fn active(&self) -> bool {
        self.section != Section::None || self.block.is_some() || !self.summary.is_empty()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        if text.starts_with("===")
            && let Some(c) = SECTION.captures(text)
        {
            {
                self.close_block();
                let title = c.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
                if title == "failures" || title == "errors" {
                    self.section = Section::Failures;
                } else if title == "short test summary info" {
                    self.section = Section::Summary;
                } else if title.contains("test session starts") {
                    self.emit(out);
                    self.section = Section::Other;
                } else if FINAL.is_match(&title) {
                    self.emit(out);
                } else {
                    self.section = Section::Other;
                }
                return;
            }
        }
        if self.active() && text.contains(" in ") && FINAL.is_match(text) {
            // `-q` prints the final tally without the `=` rule.
            self.close_block();
            self.emit(out);
            return;
        }
        match self.section {
            Section::Failures => self.feed_failures(line.no, text),
            Section::Summary => {
                if let Some(c) = SUMMARY.captures(text) {
                    self.push_summary(&c, line.no);
                }
            }
            Section::None | Section::Other => {
                if !(line.has(text, Anchor::Failed) || line.has(text, Anchor::Error)) {
                    return;
                }
                if let Some(c) = PROGRESS.captures(text) {
                    self.push_progress(c.get(2).map_or("", |m| m.as_str()));
                } else if let Some(c) = VERBOSE.captures(text) {
                    self.push_progress(c.get(1).map_or("", |m| m.as_str()));
                }
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.close_block();
        self.emit(out);
        self.section = Section::None;
    }
}

impl Pytest {
    fn push_progress(&mut self, id: &str) {
        if self.progress.len() < MAX_PENDING {
            self.progress.push(id.trim().to_owned());
        }
    }

    fn push_summary(&mut self, c: &regex::Captures<'_>, no: u64) {
        if self.summary.len() >= MAX_PENDING {
            return;
        }
        self.summary.push(SummaryEntry {
            error: &c[1] == "ERROR",
            nodeid: c[2].trim().to_owned(),
            message: c.get(3).map(|m| m.as_str().trim().to_owned()),
            line: no,
            used: false,
        });
    }

    fn close_block(&mut self) {
        if let Some(b) = self.block.take()
            && self.blocks.len() < MAX_PENDING
        {
            self.blocks.push(b);
        }
    }

    fn feed_failures(&mut self, no: u64, text: &str) {
        if text.starts_with("___")
            && let Some(c) = HEADER.captures(text)
        {
            self.close_block();
            let name = c[1].trim().to_owned();
            let (kind, name) = if let Some(rest) = name.strip_prefix("ERROR collecting ") {
                (Kind::Collect, rest.trim().to_owned())
            } else if let Some(rest) = name
                .strip_prefix("ERROR at setup of ")
                .or_else(|| name.strip_prefix("ERROR at teardown of "))
            {
                (Kind::Setup, rest.trim().to_owned())
            } else {
                (Kind::Failure, name)
            };
            self.block = Some(Block::new(kind, name, no, text));
            return;
        }
        let Some(block) = self.block.as_mut() else {
            // `--tb=line`: each failure is one bare location line.
            if let Some(c) = LOCATION.captures(text) {
                let mut b = Block::new(Kind::Line, String::new(), no, text);
                b.frames.push((c[1].to_owned(), c[2].parse().unwrap_or(0)));
                b.last_location_text = Some(c[3].to_owned());
                if self.blocks.len() < MAX_PENDING {
                    self.blocks.push(b);
                }
            }
            return;
        };
        if SUBSECTION.is_match(text) {
            block.in_captured = true;
            return;
        }
        if block.in_captured {
            return;
        }
        block.end = no;
        if let Some(e) = text.strip_prefix('E')
            && (e.is_empty() || e.starts_with(' '))
        {
            {
                let e = e.trim();
                if !block.last_was_e {
                    block.e_groups.push(Vec::new());
                }
                block.last_was_e = true;
                if let Some(g) = block.e_groups.last_mut()
                    && g.len() < 40
                {
                    g.push(e.to_owned());
                }
                // Collection errors print the inner traceback in E lines.
                if let Some((f, l)) = python::frame(e) {
                    block.frames.push((f, l));
                }
                block.snip.push(no, text);
                return;
            }
        }
        block.last_was_e = false;
        // The whole block explains the failure (test source, `>` line,
        // frames); Snip keeps its head and tail if it is long.
        block.snip.push(no, text);
        if let Some(c) = LOCATION.captures(text) {
            if block.frames.len() < 200 {
                block
                    .frames
                    .push((c[1].to_owned(), c[2].parse().unwrap_or(0)));
            }
            block.last_location_text = Some(c[3].to_owned());
        } else if let Some((f, l)) = python::frame(text) {
            if block.frames.len() < 200 {
                block.frames.push((f, l));
            }
        } else if python::is_exception_line(text) {
            block.exception = Some(text.to_owned());
        }
    }

    /// Matches a block's loose name to an exact node id and emits everything.
    fn emit(&mut self, out: &mut Vec<Candidate>) {
        let blocks = std::mem::take(&mut self.blocks);
        for mut b in blocks {
            let mut message = block_message(&b);
            let entry = self.match_summary(&b);
            let test = match (&entry, b.kind) {
                (Some(e), _) => {
                    if message.is_none() {
                        message.clone_from(&e.1);
                    }
                    Some(e.0.clone())
                }
                (None, Kind::Collect) => Some(b.name.clone()),
                (None, Kind::Line) => None,
                (None, _) => self.match_progress(&b.name).or_else(|| {
                    b.frames.first().map(|(f, _)| {
                        format!("{}::{}", loc(f, None, None).file, dotted_to_id(&b.name))
                    })
                }),
            };
            let message = message.unwrap_or_else(|| "test failed".to_owned());
            let category = match b.kind {
                Kind::Collect => python::category_for(&message, &b.frames),
                Kind::Setup => Category::TestError,
                Kind::Failure | Kind::Line => {
                    if is_assertion(&message) {
                        Category::TestFailure
                    } else {
                        python::category_for(&message, &b.frames)
                    }
                }
            };
            let mut c = Candidate::new(category, "pytest", one_line(&message, 300))
                .span(b.start, b.end)
                .confidence(if test.is_some() { 90 } else { 80 })
                .snippet(b.snip.take());
            c.test = test.map(|t| loc(&t, None, None).file);
            c.locations = project_locations(&b.frames);
            out.push(c);
        }
        for e in self.summary.iter().filter(|e| !e.used) {
            let message = e
                .message
                .clone()
                .unwrap_or_else(|| "test failed".to_owned());
            let category = if e.error && !e.nodeid.contains("::") {
                python::category_for(&message, &[])
            } else if is_assertion(&message) {
                Category::TestFailure
            } else if e.error {
                Category::TestError
            } else {
                python::category_for(&message, &[])
            };
            let mut c = Candidate::new(category, "pytest", one_line(&message, 300))
                .span(e.line, e.line)
                .confidence(75)
                .snippet(vec![(
                    e.line,
                    format!(
                        "{} {}{}",
                        if e.error { "ERROR" } else { "FAILED" },
                        e.nodeid,
                        e.message
                            .as_ref()
                            .map(|m| format!(" - {m}"))
                            .unwrap_or_default()
                    ),
                )]);
            let file = e.nodeid.split("::").next().unwrap_or_default();
            if let Some(f) = file.strip_suffix(".py").map(|_| file) {
                c.locations.push(loc(f, None, None));
            }
            c.test = Some(e.nodeid.clone());
            out.push(c);
        }
        self.summary.clear();
        self.progress.clear();
    }

    fn match_summary(&mut self, b: &Block) -> Option<(String, Option<String>)> {
        let found = match b.kind {
            Kind::Line => {
                // `--tb=line` lines come in summary order; take the next
                // FAILED entry for the same file.
                let file = b.frames.first().map(|(f, _)| loc(f, None, None).file);
                self.summary.iter_mut().find(|e| {
                    !e.used
                        && !e.error
                        && file
                            .as_deref()
                            .is_some_and(|f| f.ends_with(e.nodeid.split("::").next().unwrap_or("")))
                })
            }
            Kind::Collect => self
                .summary
                .iter_mut()
                .find(|e| !e.used && e.error && e.nodeid == b.name),
            Kind::Failure | Kind::Setup => {
                let want_error = b.kind == Kind::Setup;
                self.summary.iter_mut().find(|e| {
                    !e.used && e.error == want_error && id_matches_name(&e.nodeid, &b.name)
                })
            }
        }?;
        found.used = true;
        Some((found.nodeid.clone(), found.message.clone()))
    }

    fn match_progress(&self, name: &str) -> Option<String> {
        self.progress
            .iter()
            .find(|id| id_matches_name(id, name))
            .cloned()
    }
}

/// `tests/t.py::TestC::test_m[a.b]` is what pytest heads as `TestC.test_m[a.b]`.
fn id_matches_name(nodeid: &str, name: &str) -> bool {
    let Some((_, rest)) = nodeid.split_once("::") else {
        return false;
    };
    rest == name || dotted_to_id(name) == rest
}

/// `TestC.test_m[a.b]` → `TestC::test_m[a.b]`: dots outside the brackets
/// separate classes from the test name.
fn dotted_to_id(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut depth = 0usize;
    for ch in name.chars() {
        match ch {
            '[' => {
                depth += 1;
                out.push(ch);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                out.push(ch);
            }
            '.' if depth == 0 => out.push_str("::"),
            _ => out.push(ch),
        }
    }
    out
}

fn is_assertion(message: &str) -> bool {
    let m = message.trim_start();
    m.starts_with("assert ")
        || m.starts_with("AssertionError")
        || m.starts_with("Failed:")
        || m.starts_with("Failed ")
}

/// The final error of a block: the last group of `E` lines, its assertion
/// or exception line first; then native tracebacks, then `--tb=line` text.
fn block_message(b: &Block) -> Option<String> {
    if let Some(group) = b.e_groups.last() {
        let lines: Vec<&str> = group
            .iter()
            .map(String::as_str)
            .filter(|l| !l.is_empty())
            .collect();
        if let Some(first) = lines.first()
            && is_assertion(first)
        {
            return Some((*first).to_owned());
        }
        if let Some(exc) = lines.iter().rev().find(|l| python::is_exception_line(l)) {
            return Some((*exc).to_owned());
        }
        if let Some(first) = lines.first() {
            return Some((*first).to_owned());
        }
    }
    if let Some(e) = &b.exception {
        return Some(e.clone());
    }
    b.last_location_text
        .as_ref()
        .filter(|t| !t.is_empty() && !t.starts_with("in "))
        .cloned()
}

/// Project frames, innermost first, each once.
fn project_locations(frames: &[(String, u32)]) -> Vec<Location> {
    let mut out: Vec<Location> = Vec::new();
    for (f, l) in frames.iter().rev() {
        if is_vendor_path(f) {
            continue;
        }
        let location = loc(f, (*l > 0).then_some(*l), None);
        if !out.contains(&location) {
            out.push(location);
        }
        if out.len() == 8 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_and_param_names_map_to_node_ids() {
        assert_eq!(
            dotted_to_id("TestC.test_m[1.5-a.b]"),
            "TestC::test_m[1.5-a.b]"
        );
        assert!(id_matches_name(
            "tests/t.py::TestC::test_m[x.y]",
            "TestC.test_m[x.y]"
        ));
        assert!(id_matches_name("tests/t.py::test_y", "test_y"));
        assert!(!id_matches_name("tests/t.py::test_yy", "test_y"));
    }

    #[test]
    fn final_tally_is_recognised_with_and_without_rules() {
        assert!(FINAL.is_match("2 failed, 1 passed in 0.12s"));
        assert!(FINAL.is_match("1 failed, 3 passed, 2 warnings in 1.03s"));
        assert!(!FINAL.is_match("collected 3 items"));
    }
}
