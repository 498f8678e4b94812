//! JavaScript and TypeScript test runners and linters: jest, vitest, eslint.
//!
//! jest heads each failure `● Suite › test` under the `FAIL file` line of
//! its file; vitest heads it ` FAIL  file > suite > test`. Both follow with
//! the assertion message and `at ... (file:line:col)` / `❯ file:line:col`
//! frames. eslint's stylish format prints a file name, then
//! `line:col  error  message  rule` lines under it. (tsc is in `diag`;
//! mocha in `numbered`.)

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::{Category, Location};

use super::{Anchor, Candidate, Line, Parser, Snip, is_vendor_path, loc, one_line};

static JEST_FILE: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^\s*FAIL\s+(\S+)\s*(?:\(.*\))?$").expect("valid regex"));
static VITEST_TEST: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^\s*FAIL\s+(\S+\.\w+) > (.+)$").expect("valid regex"));
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"(?:at .*?\(?|❯ )((?:[A-Za-z]:)?[^\s():]+\.(?:[cm]?[jt]sx?|vue|svelte)):(\d+):(\d+)")
        .expect("valid regex")
});
static ESLINT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^\s+(\d+):(\d+)\s+(error|warning)\s+(.+?)(?:\s{2,}(\S+))?$").expect("valid regex")
});
static ESLINT_FILE: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^((?:[A-Za-z]:)?[/\\]?\S+\.(?:[cm]?[jt]sx?|vue|svelte))$").expect("valid regex")
});

#[derive(Debug)]
struct Item {
    tool: &'static str,
    test: String,
    start: u64,
    end: u64,
    body: Vec<String>,
    locations: Vec<Location>,
    snip: Snip,
    suite_failed: bool,
}

#[derive(Debug)]
struct Lint {
    file: String,
    start: u64,
    end: u64,
    message: Option<String>,
    count: usize,
    locations: Vec<Location>,
    snip: Snip,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Js {
    file: Option<String>,
    item: Option<Item>,
    lint: Option<Lint>,
}

impl Parser for Js {
    fn active(&self) -> bool {
        self.item.is_some() || self.file.is_some() || self.lint.is_some()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        let fail = line.has(text, Anchor::Fail);
        if let Some(c) = fail.then(|| VITEST_TEST.captures(text)).flatten() {
            self.end(out);
            self.start_item(
                "vitest",
                format!("{} > {}", &c[1], c[2].trim()),
                line.no,
                text,
            );
            return;
        }
        if let Some(c) = fail.then(|| JEST_FILE.captures(text)).flatten() {
            self.end(out);
            self.file = Some(loc(&c[1], None, None).file);
            return;
        }
        if text.starts_with("PASS ")
            || text.starts_with("Test Suites:")
            || text.starts_with(" Test Files ")
        {
            self.end(out);
            self.file = None;
            return;
        }
        let trimmed = text.trim_start();
        if let Some(name) = trimmed.strip_prefix("● ")
            && self.file.is_some()
        {
            self.end(out);
            let file = self.file.clone().unwrap_or_default();
            let name = name.trim();
            self.start_item("jest", format!("{file}::{name}"), line.no, text);
            if let Some(i) = self.item.as_mut() {
                i.suite_failed = name == "Test suite failed to run";
            }
            return;
        }
        let eslint = text.starts_with(' ')
            && (line.has(text, Anchor::EslintError) || line.has(text, Anchor::EslintWarning));
        if let Some(c) = eslint.then(|| ESLINT.captures(text)).flatten() {
            self.feed_eslint(line, &c, out);
            return;
        }
        if self.lint.as_ref().is_some_and(|l| line.no > l.end + 2) {
            self.end_lint(out);
        }
        let Some(item) = self.item.as_mut() else {
            return;
        };
        if trimmed.is_empty() {
            return;
        }
        if line.no > item.end + 4 || trimmed.starts_with("⎯⎯") {
            self.end(out);
            return;
        }
        item.end = line.no;
        item.snip.push(line.no, text);
        if let Some(c) = FRAME.captures(text) {
            if !is_vendor_path(&c[1]) && item.locations.len() < 6 {
                let l = loc(&c[1], c[2].parse().ok(), c[3].parse().ok());
                if !item.locations.contains(&l) {
                    item.locations.push(l);
                }
            }
        } else if item.body.len() < 8 && !trimmed.starts_with('>') && !trimmed.starts_with('|') {
            item.body.push(trimmed.to_owned());
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.end(out);
        self.end_lint(out);
        self.file = None;
    }
}

impl Js {
    fn start_item(&mut self, tool: &'static str, test_id: String, no: u64, line: &str) {
        let mut snip = Snip::new(24, 6);
        snip.push(no, line);
        self.item = Some(Item {
            tool,
            test: test_id,
            start: no,
            end: no,
            body: Vec::new(),
            locations: Vec::new(),
            snip,
            suite_failed: false,
        });
    }

    fn end(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut item) = self.item.take() else {
            return;
        };
        let message = item
            .body
            .first()
            .cloned()
            .unwrap_or_else(|| "test failed".to_owned());
        let all = item.body.join("\n");
        let category = if item.suite_failed {
            if all.contains("Cannot find module") && !all.contains("from '.") {
                Category::Dependency
            } else {
                Category::CompileError
            }
        } else if all.contains("expect(")
            || all.contains("Expected")
            || all.contains("AssertionError")
            || message.contains("expected")
        {
            Category::TestFailure
        } else {
            Category::TestError
        };
        let mut c = Candidate::new(category, item.tool, one_line(&message, 300))
            .span(item.start, item.end)
            .confidence(85)
            .snippet(item.snip.take());
        c.test = (!item.suite_failed).then_some(item.test);
        c.locations = item.locations;
        out.push(c);
    }

    fn feed_eslint(&mut self, line: &Line<'_>, c: &regex::Captures<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        // The file name heads its problems; it is the line before the first.
        if let Some(f) = ESLINT_FILE.captures(line.prev.trim()) {
            let file = loc(&f[1], None, None).file;
            if self
                .lint
                .as_ref()
                .is_some_and(|l| l.file != file || line.no > l.end + 3)
            {
                self.end_lint(out);
            }
            if self.lint.is_none() {
                let mut snip = Snip::new(20, 4);
                snip.push(line.no - 1, line.prev);
                self.lint = Some(Lint {
                    file,
                    start: line.no - 1,
                    end: line.no,
                    message: None,
                    count: 0,
                    locations: Vec::new(),
                    snip,
                });
            }
        }
        let Some(l) = self.lint.as_mut() else {
            return;
        };
        l.end = line.no;
        if &c[3] != "error" {
            return;
        }
        l.snip.push(line.no, text);
        l.count += 1;
        if l.message.is_none() {
            let rule = c
                .get(5)
                .map(|r| format!(" ({})", r.as_str()))
                .unwrap_or_default();
            l.message = Some(format!("{}{rule}", c[4].trim()));
        }
        if l.locations.len() < 8 {
            l.locations
                .push(loc(&l.file, c[1].parse().ok(), c[2].parse().ok()));
        }
    }

    fn end_lint(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut l) = self.lint.take() else {
            return;
        };
        let Some(message) = l.message else {
            return;
        };
        let message = if l.count > 1 {
            format!("{message} (and {} more)", l.count - 1)
        } else {
            message
        };
        let mut c = Candidate::new(Category::Lint, "eslint", one_line(&message, 300))
            .span(l.start, l.end)
            .confidence(60)
            .snippet(l.snip.take());
        c.locations = l.locations;
        out.push(c);
    }
}
