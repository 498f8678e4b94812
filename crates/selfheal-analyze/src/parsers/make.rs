//! make, `CMake`, autoconf and the linker.
//!
//! `CMake Error at file:line (command):` blocks and `configure: error:`
//! lines are configuration failures with a clear cause. The linker's
//! `undefined reference to` is a build error the compiler never saw. make's
//! own `*** [target] Error N` only names the target that failed; it is kept
//! with low confidence for logs where nothing better explains the failure.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::{Category, Location};

use super::{Anchor, Candidate, Line, Parser, Snip, loc, one_line};

static CMAKE: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^CMake Error(?: at (\S+?):(\d+) \(([^)]*)\))?:\s*(.*)$").expect("valid regex")
});
static TESTS_FAILED: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"(?i)\btests? (?:have )?failed\b").expect("valid regex"));
static MAKE: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?:g?make|mingw32-make|ninja)(?:\[\d+\])?: \*\*\* (?:\[(.+?)\] )?(.*)$")
        .expect("valid regex")
});
static LINKER: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"undefined reference to [`']([^']+)'|ld: symbol\(s\) not found|Undefined symbols for architecture|ld: cannot find -l(\S+)|ld: library not found for -l(\S+)")
        .expect("valid regex")
});

#[derive(Debug)]
struct Block {
    category: Category,
    tool: &'static str,
    start: u64,
    end: u64,
    message: String,
    locations: Vec<Location>,
    snip: Snip,
    confidence: i32,
    /// Whether indented lines continue the block (`CMake` messages).
    indented: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Make {
    block: Option<Block>,
    make_seen: bool,
}

impl Parser for Make {
    fn active(&self) -> bool {
        self.block.is_some()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        if let Some(c) = text
            .starts_with("CMake Error")
            .then(|| CMAKE.captures(text))
            .flatten()
        {
            self.end(out);
            let mut locations = Vec::new();
            if let Some(f) = c.get(1) {
                locations.push(loc(f.as_str(), c[2].parse().ok(), None));
            }
            // `CMake Error at f:1 (cmd):` puts the reason on the indented lines below.
            let message = c[4].trim().to_owned();
            self.start(
                Category::BuildConfig,
                "cmake",
                line.no,
                text,
                message,
                locations,
                75,
                true,
            );
            return;
        }
        if let Some(msg) = text.strip_prefix("configure: error: ") {
            self.end(out);
            self.start(
                Category::BuildConfig,
                "configure",
                line.no,
                text,
                msg.to_owned(),
                Vec::new(),
                70,
                false,
            );
            return;
        }
        let linker = line.has(text, Anchor::UndefinedReference)
            || line.has(text, Anchor::LinkerPrefix)
            || line.has(text, Anchor::UndefinedSymbols);
        if let Some(c) = linker.then(|| LINKER.captures(text)).flatten() {
            if let Some(b) = self.block.as_mut()
                && b.tool == "ld"
                && line.no <= b.end + 3
            {
                b.end = line.no;
                b.snip.push(line.no, text);
                return;
            }
            self.end(out);
            let message = c.get(1).map_or_else(
                || one_line(text, 200),
                |s| format!("undefined reference to `{}`", s.as_str()),
            );
            self.start(
                Category::CompileError,
                "ld",
                line.no,
                text,
                message,
                Vec::new(),
                65,
                false,
            );
            return;
        }
        if let Some(c) = line
            .has(text, Anchor::MakeStars)
            .then(|| MAKE.captures(text))
            .flatten()
        {
            self.end(out);
            // Only the innermost make's line says anything; the outer ones repeat it.
            if self.make_seen {
                return;
            }
            self.make_seen = true;
            let message = match c.get(1) {
                Some(t) => format!("make target `{}` failed: {}", t.as_str(), c[2].trim()),
                None => c[2].trim().to_owned(),
            };
            self.start(
                Category::Unknown,
                "make",
                line.no,
                text,
                message,
                Vec::new(),
                15,
                false,
            );
            self.end(out);
            return;
        }
        let Some(b) = self.block.as_mut() else {
            return;
        };
        if b.indented && (text.starts_with(' ') || text.is_empty()) && line.no <= b.end + 2 {
            if !text.is_empty() {
                b.end = line.no;
                b.snip.push(line.no, text);
                if b.message.is_empty() {
                    text.trim().clone_into(&mut b.message);
                }
            }
            return;
        }
        self.end(out);
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.end(out);
        self.make_seen = false;
    }
}

impl Make {
    #[allow(clippy::too_many_arguments)] // one call per tool, each naming every field
    fn start(
        &mut self,
        category: Category,
        tool: &'static str,
        no: u64,
        text: &str,
        message: String,
        locations: Vec<Location>,
        confidence: i32,
        indented: bool,
    ) {
        let mut snip = Snip::new(16, 4);
        snip.push(no, text);
        self.block = Some(Block {
            category,
            tool,
            start: no,
            end: no,
            message,
            locations,
            snip,
            confidence,
            indented,
        });
    }

    fn end(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut b) = self.block.take() else {
            return;
        };
        if b.message.is_empty() {
            b.message = format!("{} failed", b.tool);
        }
        // A CMake script that runs the tests (`RunTests.cmake`) reports their
        // failure as a configuration error: it is a test verdict.
        if b.tool == "cmake" && TESTS_FAILED.is_match(&b.message) {
            b.category = Category::TestFailure;
            b.confidence = 45;
        }
        let mut c = Candidate::new(b.category, b.tool, one_line(&b.message, 300))
            .span(b.start, b.end)
            .confidence(b.confidence)
            .snippet(b.snip.take());
        c.locations = b.locations;
        out.push(c);
    }
}
