//! Numbered failure lists: `PHPUnit`, `RSpec`, Minitest and mocha.
//!
//! These runners end with a section (`There were 2 failures:`,
//! `Failures:`, `3 failing`) of numbered entries, `1) name`, each followed
//! by the message and the `file:line` trail of the failure. Each entry is one
//! failure; the section ends at the runner's tally line.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::{Category, Location};

use super::{Candidate, Line, Parser, Snip, is_vendor_path, loc, one_line};

static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?:There (?:was|were) \d+ (failure|error)s?:|(Failures):|\s*\d+ (failing))$")
        .expect("valid regex")
});
static IGNORED_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^There (?:was|were) \d+ (?:warning|risky test|skipped test|incomplete test|deprecation)s?:$")
        .expect("valid regex")
});
static ITEM: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^(\s*)(\d+)\) (.+?):?$").expect("valid regex"));
static MINITEST_NAME: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^([\w:]+#\w+)(?: \[(.+?):(\d+)\])?:?$").expect("valid regex"));
static END: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?:FAILURES!|ERRORS!|OK \(|Failed examples:|Finished in |\d+ (?:examples?|runs?|tests?), |Tests: \d|Time: |npm ERR!|The command |Coverage|Code Coverage|bin/rails test )")
        .expect("valid regex")
});
/// `/path/x.php:12`, `# ./spec/x_spec.rb:12:in ...`, `at f (test/x.js:12:5)`.
static TRAIL: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"(?:^|\s|\(|#\s)((?:\.?/)?(?:[\w.@-]+/)*[\w.@-]+\.(?:php|rb|js|mjs|cjs|ts|jsx|tsx|coffee)):(\d+)(?::(\d+))?")
        .expect("valid regex")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Failure,
    Error,
}

#[derive(Debug)]
struct Item {
    name: String,
    start: u64,
    end: u64,
    kind: Kind,
    body: Vec<String>,
    locations: Vec<Location>,
    snip: Snip,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Numbered {
    section: Option<(Kind, &'static str)>,
    item: Option<Item>,
    items: usize,
}

/// `text.contains(") ")`, by looking for the rarer byte alone first: most
/// lines hold no `)` at all.
fn has_paren_space(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b')', bytes).any(|at| bytes.get(at + 1) == Some(&b' '))
}

impl Parser for Numbered {
    fn active(&self) -> bool {
        self.section.is_some()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        let header =
            text.starts_with("There w") || text == "Failures:" || text.ends_with(" failing");
        if let Some(c) = header.then(|| HEADER.captures(text)).flatten() {
            self.end(out);
            let (kind, tool) = match (c.get(1).map(|m| m.as_str()), c.get(2), c.get(3)) {
                (Some("error"), _, _) => (Kind::Error, "phpunit"),
                (Some(_), _, _) => (Kind::Failure, "phpunit"),
                (None, Some(_), _) => (Kind::Failure, "rspec"),
                _ => (Kind::Failure, "mocha"),
            };
            self.section = Some((kind, tool));
            self.items = 0;
            return;
        }
        if text.starts_with("There w") && IGNORED_HEADER.is_match(text) {
            self.end(out);
            self.section = None;
            return;
        }
        // Rails' minitest reporter heads each failure with a bare `Failure:`
        // or `Error:` line, the test's name on the next.
        let bare = text.trim();
        if bare == "Failure:" || bare == "Error:" {
            self.end(out);
            self.section = Some((Kind::Failure, "minitest"));
            let mut snip = Snip::new(24, 6);
            snip.push(line.no, text);
            self.item = Some(Item {
                name: bare.trim_end_matches(':').to_owned(),
                start: line.no,
                end: line.no,
                kind: if bare == "Error:" {
                    Kind::Error
                } else {
                    Kind::Failure
                },
                body: Vec::new(),
                locations: Vec::new(),
                snip,
            });
            return;
        }
        if let Some(c) = has_paren_space(text).then(|| ITEM.captures(text)).flatten() {
            let name = c[3].trim().to_owned();
            // Minitest prints `1) Failure:` with no section header.
            let minitest = name == "Failure" || name == "Error";
            if minitest && self.section.is_none() {
                self.section = Some((Kind::Failure, "minitest"));
            }
            if let Some((kind, _)) = self.section {
                self.end(out);
                if self.items >= 50 {
                    return;
                }
                self.items += 1;
                let mut snip = Snip::new(24, 6);
                snip.push(line.no, text);
                let kind = if name == "Error" { Kind::Error } else { kind };
                self.item = Some(Item {
                    name,
                    start: line.no,
                    end: line.no,
                    kind,
                    body: Vec::new(),
                    locations: Vec::new(),
                    snip,
                });
                return;
            }
        }
        if self.section.is_none() {
            return;
        }
        if END.is_match(text.trim_start()) {
            self.end(out);
            self.section = None;
            return;
        }
        let Some(item) = self.item.as_mut() else {
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        if line.no > item.end + 3 {
            self.end(out);
            return;
        }
        item.end = line.no;
        item.snip.push(line.no, text);
        if let Some(c) = MINITEST_NAME.captures(text.trim())
            && (item.name == "Failure" || item.name == "Error")
        {
            c[1].clone_into(&mut item.name);
            if let (Some(f), Some(l)) = (c.get(2), c.get(3)) {
                item.locations
                    .push(loc(f.as_str(), l.as_str().parse().ok(), None));
            }
            return;
        }
        if let Some(c) = TRAIL.captures(text)
            && !is_vendor_path(&c[1])
            && !c[1].contains("vendor/")
            && item.locations.len() < 6
        {
            let l = loc(
                &c[1],
                c[2].parse().ok(),
                c.get(3).and_then(|m| m.as_str().parse().ok()),
            );
            if !item.locations.contains(&l) {
                item.locations.push(l);
            }
            return;
        }
        if item.body.len() < 8 {
            item.body.push(text.trim().to_owned());
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.end(out);
        self.section = None;
    }
}

impl Numbered {
    fn end(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut item) = self.item.take() else {
            return;
        };
        let tool = self.section.map_or("tests", |(_, t)| t);
        // RSpec shows the failing line of code first; the reason follows it.
        let mut body = item.body.iter().filter(|l| !l.is_empty());
        let message = match body.next() {
            Some(first) if first.starts_with("Failure/Error:") => {
                body.next().cloned().unwrap_or_else(|| first.clone())
            }
            Some(first) => first.clone(),
            None => format!("{} failed", item.name),
        };
        let lower = message.to_ascii_lowercase();
        let category = if item.kind == Kind::Error
            || (lower.contains("exception") && !lower.contains("assert"))
            || (lower.contains("error") && !lower.contains("assert") && !lower.contains("expected"))
        {
            Category::TestError
        } else {
            Category::TestFailure
        };
        let mut c = Candidate::new(category, tool, one_line(&message, 300))
            .span(item.start, item.end)
            .confidence(80)
            .snippet(item.snip.take());
        c.test = Some(item.name);
        c.locations = item.locations;
        out.push(c);
    }
}
