//! cargo, rustc, clippy, rustfmt and Rust test panics (libtest and nextest).
//!
//! rustc prints `error[E0425]: message`, then `--> file:line:col` and a
//! code excerpt up to a blank line; clippy's errors look the same and are
//! told apart by their `clippy::` lint name. Tests fail by panicking:
//! `thread 'tests::x' panicked at src/lib.rs:10:5:` with the message on the
//! next lines (older toolchains put it in quotes on the same line); the
//! thread name is the test's path. `error: could not compile` and
//! `test result: FAILED` only repeat what those blocks said.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::{Category, Location};

use super::{Candidate, Line, Parser, Snip, is_vendor_path, loc, one_line};

static ERROR: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^error(?:\[(E\d{4})\])?: (.+)$").expect("valid regex"));
static ARROW: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^\s*--> (.+?):(\d+):(\d+)$").expect("valid regex"));
static PANIC: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^thread '([^']+)' panicked at (?:'(.*)', )?([^\s:']+):(\d+):(\d+):?$")
        .expect("valid regex")
});
static PANIC_LOOSE: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^thread '([^']+)' panicked at (.+)$").expect("valid regex"));
static RUSTFMT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^Diff in (\S+?\.rs)(?: at line (\d+)|:(\d+)):?").expect("valid regex")
});

/// rustc errors that only summarise the real ones.
const TRAILERS: &[&str] = &[
    "aborting due to",
    "could not compile",
    "Could not compile",
    "build failed",
    "test failed, to rerun pass",
    "1 target failed",
    "recipe `",
];

#[derive(Debug)]
struct Block {
    category: Category,
    tool: &'static str,
    start: u64,
    end: u64,
    message: String,
    test: Option<String>,
    locations: Vec<Location>,
    snip: Snip,
    /// Panics: lines of message still expected after the `panicked at` line.
    message_lines: u8,
    clippy: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Cargo {
    block: Option<Block>,
}

impl Parser for Cargo {
    fn active(&self) -> bool {
        self.block.is_some()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        if let Some(c) = text
            .starts_with("error")
            .then(|| ERROR.captures(text))
            .flatten()
        {
            self.end(out);
            let message = c[2].to_owned();
            if TRAILERS.iter().any(|t| message.contains(t)) {
                return;
            }
            let (category, tool) = if message.starts_with("failed to run custom build command") {
                (Category::BuildConfig, "cargo")
            } else if message.contains("failed to select a version")
                || message.contains("no matching package")
                || message.contains("failed to get")
                || message.contains("failed to load source")
            {
                (Category::Dependency, "cargo")
            } else {
                (Category::CompileError, "rustc")
            };
            let mut snip = Snip::new(24, 6);
            snip.push(line.no, text);
            self.block = Some(Block {
                category,
                tool,
                start: line.no,
                end: line.no,
                message,
                test: None,
                locations: Vec::new(),
                snip,
                message_lines: 0,
                clippy: false,
            });
            return;
        }
        let panic = text.starts_with("thread '");
        if let Some(c) = panic.then(|| PANIC.captures(text)).flatten() {
            self.end(out);
            let thread = c[1].to_owned();
            let location = loc(&c[3], c[4].parse().ok(), c[5].parse().ok());
            let inline = c.get(2).map(|m| m.as_str().to_owned());
            self.start_panic(line.no, text, thread, inline, Some(location));
            return;
        }
        if let Some(c) = panic.then(|| PANIC_LOOSE.captures(text)).flatten() {
            self.end(out);
            let thread = c[1].to_owned();
            self.start_panic(line.no, text, thread, Some(c[2].to_owned()), None);
            return;
        }
        if let Some(c) = text
            .starts_with("Diff in ")
            .then(|| RUSTFMT.captures(text))
            .flatten()
        {
            let l = c.get(2).or(c.get(3)).and_then(|m| m.as_str().parse().ok());
            let location = loc(&c[1], l, None);
            if let Some(b) = self.block.as_mut()
                && b.tool == "rustfmt"
            {
                b.end = line.no;
                b.snip.push(line.no, text);
                if !b.locations.contains(&location) && b.locations.len() < 8 {
                    b.locations.push(location);
                }
                return;
            }
            self.end(out);
            let mut snip = Snip::new(12, 4);
            snip.push(line.no, text);
            self.block = Some(Block {
                category: Category::Lint,
                tool: "rustfmt",
                start: line.no,
                end: line.no,
                message: "code is not formatted (cargo fmt)".to_owned(),
                test: None,
                locations: vec![location],
                snip,
                message_lines: 0,
                clippy: false,
            });
            return;
        }
        let Some(b) = self.block.as_mut() else {
            return;
        };
        if b.tool == "rustfmt" {
            if line.no > b.end + 40 {
                self.end(out);
            }
            return;
        }
        if text.trim().is_empty() {
            self.end(out);
            return;
        }
        if text.starts_with("warning:") || text.starts_with("note: run with") {
            self.end(out);
            return;
        }
        // Older toolchains quote a multi-line message: the location closes it.
        if b.tool == "cargo-test" && line.no <= b.start + 4 && text.contains("/build.rs:") {
            b.category = Category::BuildConfig;
        }
        b.end = line.no;
        b.snip.push(line.no, text);
        if let Some(c) = ARROW.captures(text)
            && b.locations.len() < 8
            && !is_vendor_path(&c[1])
        {
            let l = loc(&c[1], c[2].parse().ok(), c[3].parse().ok());
            if !b.locations.contains(&l) {
                b.locations.push(l);
            }
        }
        if text.contains("clippy::") {
            b.clippy = true;
        }
        if b.message_lines > 0 {
            if b.message.is_empty() {
                text.trim().clone_into(&mut b.message);
            }
            b.message_lines -= 1;
            if text.contains("assertion") || text.trim_start().starts_with("left") {
                b.category = Category::TestFailure;
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.end(out);
    }
}

impl Cargo {
    fn start_panic(
        &mut self,
        no: u64,
        text: &str,
        thread: String,
        inline: Option<String>,
        location: Option<Location>,
    ) {
        let test_id = (thread != "main" && !thread.starts_with("tokio-")).then_some(thread);
        let expect_more = inline.is_none();
        let message = inline.unwrap_or_default();
        // A build script that panics did not run a test: it failed to
        // build a native part, almost always for want of a tool or
        // library in the image; the tool's own lines above say which.
        let build_script = location
            .as_ref()
            .is_some_and(|l| l.file == "build.rs" || l.file.ends_with("/build.rs"));
        let category = if build_script {
            Category::BuildConfig
        } else if message.contains("assertion") {
            Category::TestFailure
        } else {
            Category::TestError
        };
        let mut snip = Snip::new(16, 4);
        snip.push(no, text);
        self.block = Some(Block {
            category,
            tool: "cargo-test",
            start: no,
            end: no,
            message,
            test: test_id,
            locations: location
                .into_iter()
                .filter(|l| !is_vendor_path(&l.file))
                .collect(),
            snip,
            message_lines: if expect_more { 4 } else { 0 },
            clippy: false,
        });
    }

    fn end(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut b) = self.block.take() else {
            return;
        };
        let (category, tool) = if b.clippy {
            (Category::Lint, "clippy")
        } else {
            (b.category, b.tool)
        };
        let message = if b.message.is_empty() {
            "panicked".to_owned()
        } else {
            one_line(&b.message, 300)
        };
        // A bare `error: ...` with no `-->` location is some other tool's
        // complaint in rustc's style (git, make, a script): keep it, unsure.
        let vague = tool == "rustc" && b.locations.is_empty();
        let (category, tool) = if vague {
            (Category::Unknown, "cli")
        } else {
            (category, tool)
        };
        let confidence = match category {
            Category::BuildConfig => 55,
            Category::Unknown => 35,
            _ if b.test.is_some() => 85,
            _ => 75,
        };
        let mut c = Candidate::new(category, tool, message)
            .span(b.start, b.end)
            .confidence(confidence)
            .snippet(b.snip.take());
        c.test = b.test;
        c.locations = b.locations;
        out.push(c);
    }
}
