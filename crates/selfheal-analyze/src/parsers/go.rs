//! go test, go build / vet and golangci-lint.
//!
//! A failing test prints `--- FAIL: TestX (0.01s)` with its subtests'
//! `--- FAIL` lines and its `file_test.go:12: message` output indented below
//! (with `-v`, the output comes first, after `=== RUN`). The package's
//! `FAIL\tpkg\t0.5s` line follows, which names the package for every
//! pending test. Panics print `panic: ...` and a goroutine dump whose
//! `file.go:NN +0x..` frames give the locations. Build and vet errors are
//! `./file.go:12:5: message` lines under a `# pkg` header.

use std::collections::VecDeque;
use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::{Category, Location};

use super::{Anchor, Candidate, Line, Parser, Snip, is_vendor_path, loc, one_line};

static FAIL: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^(\s*)--- FAIL: (\S+)(?: \([\d.]+m?s\))?").expect("valid regex"));
static OUTPUT_LOC: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^\s+([\w./-]+\.go):(\d+): (.*)$").expect("valid regex"));
static PKG_FAIL: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^FAIL\s+(\S+)\s+(?:[\d.]+s|\[(build|setup) failed\])").expect("valid regex")
});
static FRAME: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^\s+(\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?$").expect("valid regex"));
static BUILD: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?:vet: )?(\.{0,2}/?[\w./@-]+\.go):(\d+):(?:(\d+):)? (.+)$").expect("valid regex")
});
static LINTER: LazyLock<Regex> =
    LazyLock::new(|| super::re(r" \(([a-z][\w-]+|(?:SA|S|ST|QF|U)\d{4})\)$").expect("valid regex"));

#[derive(Debug)]
struct TestBlock {
    name: String,
    start: u64,
    end: u64,
    message: Option<String>,
    locations: Vec<Location>,
    snip: Snip,
    indent_open: bool,
    panicked: bool,
}

#[derive(Debug)]
struct Panic {
    start: u64,
    end: u64,
    message: String,
    frames: Vec<Location>,
    snip: Snip,
    blank_run: u8,
}

#[derive(Debug)]
struct Build {
    start: u64,
    end: u64,
    package: Option<String>,
    message: String,
    lint: Option<String>,
    locations: Vec<Location>,
    snip: Snip,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Go {
    current: Option<TestBlock>,
    done: Vec<TestBlock>,
    panic: Option<Panic>,
    build: Option<Build>,
    build_header: Option<(u64, String)>,
    /// Indented output since the last `=== RUN`, for `-v` logs where the
    /// message precedes the `--- FAIL` line.
    recent: VecDeque<(u64, String)>,
    /// Inside `go test -v` output, where a test's messages precede its verdict.
    in_run: bool,
}

impl Parser for Go {
    fn active(&self) -> bool {
        self.current.is_some()
            || self.in_run
            || self.panic.is_some()
            || self.build.is_some()
            || self.build_header.is_some()
            || !self.done.is_empty()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        if self.feed_panic(line.no, text, out) {
            return;
        }
        if let Some(rest) = text.strip_prefix("panic: ") {
            self.end_test();
            let mut snip = Snip::new(12, 6);
            snip.push(line.no, text);
            self.panic = Some(Panic {
                start: line.no,
                end: line.no,
                message: format!("panic: {}", rest.trim_end_matches(" [recovered]")),
                frames: Vec::new(),
                snip,
                blank_run: 0,
            });
            return;
        }
        if let Some(c) = line
            .has(text, Anchor::GoTestFail)
            .then(|| FAIL.captures(text))
            .flatten()
        {
            let nested = !c[1].is_empty();
            if nested && let Some(t) = self.current.as_mut() {
                t.end = line.no;
                t.snip.push(line.no, text);
                return;
            }
            self.end_test();
            let mut snip = Snip::new(20, 10);
            let mut message = None;
            let mut locations = Vec::new();
            // `-v`: the test's output was printed before its verdict.
            for (no, l) in self.recent.drain(..) {
                if message.is_none()
                    && let Some(o) = OUTPUT_LOC.captures(&l)
                {
                    message = Some(o[3].to_owned());
                    locations.push(loc(&o[1], o[2].parse().ok(), None));
                }
                snip.push(no, &l);
            }
            snip.push(line.no, text);
            self.current = Some(TestBlock {
                name: c[2].to_owned(),
                start: line.no,
                end: line.no,
                message,
                locations,
                snip,
                indent_open: true,
                panicked: false,
            });
            return;
        }
        if let Some(name) = text
            .strip_prefix("=== RUN")
            .or_else(|| text.strip_prefix("=== CONT"))
        {
            // Subtests run inside their parent: its output so far still counts.
            if !name.contains('/') {
                self.recent.clear();
            }
            self.in_run = true;
            self.end_test();
            return;
        }
        if let Some(t) = self.current.as_mut()
            && t.indent_open
        {
            if text.starts_with(char::is_whitespace) && !text.trim().is_empty() {
                t.end = line.no;
                t.snip.push(line.no, text);
                if let Some(o) = OUTPUT_LOC.captures(text) {
                    if t.message.is_none() {
                        t.message = Some(o[3].to_owned());
                    }
                    let l = loc(&o[1], o[2].parse().ok(), None);
                    if !t.locations.contains(&l) && t.locations.len() < 8 {
                        t.locations.push(l);
                    }
                }
                return;
            }
            t.indent_open = false;
            self.end_test();
        }
        if text.starts_with(char::is_whitespace) {
            // The oldest line's buffer holds the newest: no allocation per line.
            let mut slot = if self.recent.len() == 20 {
                self.recent.pop_front().map(|(_, s)| s).unwrap_or_default()
            } else {
                String::new()
            };
            slot.clear();
            slot.push_str(text);
            self.recent.push_back((line.no, slot));
        }
        if text.starts_with("ok  \t") || text.starts_with("PASS") {
            self.in_run = false;
            self.recent.clear();
        }
        if let Some(c) = text
            .starts_with("FAIL")
            .then(|| PKG_FAIL.captures(text))
            .flatten()
        {
            self.in_run = false;
            let pkg = c[1].to_owned();
            let build_failed = c.get(2).is_some();
            self.end_build(out);
            self.end_test();
            for t in std::mem::take(&mut self.done) {
                out.push(test_candidate(t, Some(&pkg), line.no));
            }
            if build_failed
                && !out
                    .iter()
                    .any(|c| c.tool == "go" && c.category == Category::CompileError)
            {
                out.push(
                    Candidate::new(
                        Category::CompileError,
                        "go",
                        format!("build of {pkg} failed"),
                    )
                    .span(line.no, line.no)
                    .confidence(35)
                    .snippet(vec![(line.no, text.to_owned())]),
                );
            }
            return;
        }
        if let Some(pkg) = text.strip_prefix("# ") {
            self.end_build(out);
            self.build_header = Some((line.no, pkg.trim().to_owned()));
            return;
        }
        if let Some(c) = line
            .has(text, Anchor::GoFile)
            .then(|| BUILD.captures(text))
            .flatten()
        {
            let location = loc(
                &c[1],
                c[2].parse().ok(),
                c.get(3).and_then(|m| m.as_str().parse().ok()),
            );
            let linter = LINTER.captures(text).map(|l| l[1].to_owned());
            match self.build.as_mut() {
                Some(b) if line.no <= b.end + 3 => {
                    b.end = line.no;
                    b.snip.push(line.no, text);
                    if !b.locations.contains(&location) && b.locations.len() < 8 {
                        b.locations.push(location);
                    }
                }
                _ => {
                    self.end_build(out);
                    let header = line
                        .prev
                        .strip_prefix("# ")
                        .map(|p| (line.no - 1, p.trim().to_owned()));
                    let (start, package) = match self.build_header.take().or(header) {
                        Some((no, p)) if line.no <= no + 2 => (no, Some(p)),
                        _ => (line.no, None),
                    };
                    let mut snip = Snip::new(16, 4);
                    if let Some(p) = &package {
                        snip.push(start, &format!("# {p}"));
                    }
                    snip.push(line.no, text);
                    self.build = Some(Build {
                        start,
                        end: line.no,
                        package,
                        message: c[4].to_owned(),
                        lint: linter,
                        locations: vec![location],
                        snip,
                    });
                }
            }
            return;
        }
        if self.build.as_ref().is_some_and(|b| line.no > b.end + 3) {
            self.end_build(out);
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.end_panic(out);
        self.end_test();
        for t in std::mem::take(&mut self.done) {
            let end = t.end;
            out.push(test_candidate(t, None, end));
        }
        self.end_build(out);
        self.build_header = None;
        self.recent.clear();
        self.in_run = false;
    }
}

impl Go {
    fn end_test(&mut self) {
        if let Some(t) = self.current.take()
            && self.done.len() < 200
        {
            self.done.push(t);
        }
    }

    /// A panic right after a test's `--- FAIL` is that test's error.
    fn end_panic(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut p) = self.panic.take() else {
            return;
        };
        self.end_test();
        if let Some(t) = self.done.last_mut()
            && p.start <= t.end + 2
        {
            t.end = p.end;
            t.message = Some(p.message);
            t.panicked = true;
            for (no, l) in p.snip.take() {
                t.snip.push(no, &l);
            }
            if !p.frames.is_empty() {
                t.locations = p.frames;
            }
            return;
        }
        out.push(panic_candidate(p));
    }

    fn end_build(&mut self, out: &mut Vec<Candidate>) {
        let Some(b) = self.build.take() else {
            return;
        };
        // staticcheck tags its findings with a check id (`(SA2002)`,
        // `(U1000)`) and the exhaustive analyser has its own wording; the
        // compiler never says either. A module that cannot be downloaded is
        // reported at the import that needs it, as `mod@v: Get "url": ...`.
        let (category, tool) = match &b.lint {
            Some(l) if l.starts_with(|c: char| c.is_ascii_uppercase()) => {
                (Category::Lint, "staticcheck")
            }
            Some(_) => (Category::Lint, "golangci-lint"),
            None if b.message.starts_with("missing cases in switch of type") => {
                (Category::Lint, "exhaustive")
            }
            None if b.message.contains(": Get \"http") => (Category::Infra, "go"),
            None => (Category::CompileError, "go"),
        };
        let mut message = one_line(&b.message, 300);
        if let Some(p) = &b.package {
            message = format!("{message} (in {p})");
        }
        // A package that does not compile hides its tests: its error comes
        // before the test failures of the packages that did build.
        let confidence = match (b.package.is_some(), category) {
            (true, Category::CompileError) => 88,
            (true, _) => 80,
            (false, _) => 60,
        };
        let flaky = category == Category::Infra;
        let mut c = Candidate::new(category, tool, message)
            .span(b.start, b.end)
            .confidence(confidence)
            .snippet(b.snip.clone().take());
        c.locations = b.locations;
        if flaky {
            c.flaky = Some(true);
        }
        out.push(c);
    }

    /// Follows a panic's goroutine dump; returns whether the line was used.
    fn feed_panic(&mut self, no: u64, text: &str, out: &mut Vec<Candidate>) -> bool {
        let Some(p) = self.panic.as_mut() else {
            return false;
        };
        if text.trim().is_empty() {
            p.blank_run += 1;
            if p.blank_run >= 2 {
                self.end_panic(out);
            }
            return true;
        }
        let trimmed = text.trim_start();
        let dump = trimmed.starts_with("goroutine ")
            || trimmed.starts_with("[signal ")
            || FRAME.is_match(text)
            || (!text.starts_with(char::is_whitespace)
                && trimmed.contains('(')
                && trimmed.ends_with(')'))
            || trimmed.starts_with("created by ")
            || trimmed.starts_with("panic: ")
            || trimmed.starts_with("exit status");
        if !dump {
            self.end_panic(out);
            return false;
        }
        p.blank_run = 0;
        p.end = no;
        p.snip.push(no, text);
        if let Some(c) = FRAME.captures(text)
            && !is_vendor_path(&c[1])
            && p.frames.len() < 8
        {
            let l = loc(&c[1], c[2].parse().ok(), None);
            if !p.frames.contains(&l) {
                p.frames.push(l);
            }
        }
        true
    }
}

fn test_candidate(t: TestBlock, pkg: Option<&str>, pkg_line: u64) -> Candidate {
    let message = t
        .message
        .clone()
        .unwrap_or_else(|| format!("{} failed", t.name));
    let category = if t.panicked {
        Category::TestError
    } else {
        Category::TestFailure
    };
    let mut snip = t.snip;
    let end = if pkg.is_some() && pkg_line <= t.end + 3 {
        snip.push(pkg_line, &format!("FAIL\t{}", pkg.unwrap_or_default()));
        pkg_line
    } else {
        t.end
    };
    let mut c = Candidate::new(category, "go", one_line(&message, 300))
        .span(t.start, end)
        .confidence(85)
        .snippet(snip.take());
    c.test = Some(match pkg {
        Some(p) => format!("{p}.{}", t.name),
        None => t.name,
    });
    c.locations = t.locations;
    c
}

fn panic_candidate(p: Panic) -> Candidate {
    let mut snip = p.snip;
    let mut c = Candidate::new(Category::TestError, "go", one_line(&p.message, 300))
        .span(p.start, p.end)
        .confidence(80)
        .snippet(snip.take());
    c.locations = p.frames;
    c
}
