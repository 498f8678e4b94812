//! Link checkers' verdicts: `awesome_bot`, which lists the links of a
//! document that failed its check.
//!
//! ```text
//! Issues :-(
//! > Links
//!   1. [L012] 404 https://example.com/gone
//!   2. [L040] https://example.org/slow Net::ReadTimeout
//! > Dupes
//!   1. [L007] https://example.com/twice
//!
//! Wrote results to ab-results-README.md.json
//! ```
//!
//! The block from `Issues :-(` to its last numbered entry is one failure of
//! the document's form (a lint): a link to mend or remove, not a fault of
//! the network the check ran on. Its entries carry no failure word, so the
//! block is followed line by line once its header is seen. An entry that
//! timed out, could not connect or got a 5xx answer may well pass on a
//! rerun: such a block carries the flaky hint.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::Category;

use super::{Candidate, Line, Parser, Snip, one_line};

/// `  1. [L012] 404 https://…`; the `[Lnnn]` line mark came with 1.17.
static ENTRY: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^\s+\d+\. (?:\[L\d+\] )?(.+)$").expect("valid regex"));

/// An entry the network or the far server may have caused: a 5xx status
/// first, or a Ruby network error after the address.
static TRANSIENT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^5\d\d |Timeout|timed out|execution expired|Connection refused|Connection reset|getaddrinfo|SSL_connect")
        .expect("valid regex")
});

/// The header `awesome_bot` prints before its list of problems.
const HEADER: &str = "Issues :-(";

/// Longest list followed; a document of a thousand dead links is still one
/// failure.
const MAX_LINES: u64 = 400;

#[derive(Debug)]
struct Block {
    start: u64,
    end: u64,
    /// The first entries of the `Links` and the `Dupes` sections: the
    /// message names the first link, else the first duplicate.
    first_link: Option<String>,
    first_dupe: Option<String>,
    entries: usize,
    /// Some entry may pass on a rerun (see [`TRANSIENT`]).
    transient: bool,
    dupes: bool,
    snip: Snip,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Links {
    block: Option<Block>,
}

impl Parser for Links {
    fn active(&self) -> bool {
        self.block.is_some()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        if text == HEADER {
            self.end(out);
            let mut snip = Snip::new(16, 4);
            snip.push(line.no, text);
            self.block = Some(Block {
                start: line.no,
                end: line.no,
                first_link: None,
                first_dupe: None,
                entries: 0,
                transient: false,
                dupes: false,
                snip,
            });
            return;
        }
        let Some(b) = self.block.as_mut() else {
            return;
        };
        let section = text.trim_start();
        if line.no > b.start + MAX_LINES {
            self.end(out);
        } else if section == "> Links" || section == "> Dupes" {
            b.dupes = section == "> Dupes";
            b.end = line.no;
            b.snip.push(line.no, text);
        } else if let Some(c) = ENTRY.captures(text) {
            b.entries += 1;
            b.transient |= !b.dupes && TRANSIENT.is_match(&c[1]);
            let first = if b.dupes {
                &mut b.first_dupe
            } else {
                &mut b.first_link
            };
            first.get_or_insert_with(|| c[1].trim().to_owned());
            b.end = line.no;
            b.snip.push(line.no, text);
        } else if section.starts_with("All OK") || section.starts_with("None") {
            // A section with nothing wrong in it.
            b.end = line.no;
        } else {
            self.end(out);
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.end(out);
    }
}

impl Links {
    fn end(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut b) = self.block.take() else {
            return;
        };
        // A header with no entry under it is not this tool's verdict.
        let Some(first) = b
            .first_link
            .take()
            .or_else(|| Some(format!("duplicate link {}", b.first_dupe.take()?)))
        else {
            return;
        };
        let message = match b.entries {
            1 => format!("link check failed: {first}"),
            n => format!("link check failed for {n} links: {first}, …"),
        };
        let mut c = Candidate::new(Category::Lint, "awesome_bot", one_line(&message, 300))
            .span(b.start, b.end)
            .confidence(70)
            .snippet(b.snip.take());
        if b.transient {
            c.flaky = Some(true);
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Vec<Candidate> {
        super::super::parse_lines::<Links>(lines)
    }

    #[test]
    fn the_issues_list_is_one_lint_failure() {
        let out = run(&[
            "> Checking links in README.md",
            "Checking URLs: ✓✓✓→✓x",
            "",
            "Issues :-(",
            "> Links ",
            "  1. [L012] 404 https://example.com/gone ",
            "  2. [L040] https://example.org/slow Net::ReadTimeout",
            "> Dupes ",
            "  1. [L007] https://example.com/twice",
            "",
            "Wrote results to ab-results-README.md.json",
        ]);
        assert_eq!(out.len(), 1);
        let c = &out[0];
        assert_eq!(c.category, Category::Lint);
        assert_eq!((c.span.start, c.span.end), (4, 9));
        assert_eq!(
            c.message,
            "link check failed for 3 links: 404 https://example.com/gone, …"
        );
        // The read timeout may pass on a rerun.
        assert_eq!(c.flaky, Some(true));
    }

    #[test]
    fn entries_without_line_marks_and_only_dupes_are_read() {
        let out = run(&[
            "Issues :-(",
            "> Links ",
            "  All OK ✓",
            "> Dupes ",
            "  1. https://example.com/twice",
            "travis_time:end:1",
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            "link check failed: duplicate link https://example.com/twice"
        );
        assert_eq!((out[0].span.start, out[0].span.end), (1, 5));
        assert_eq!(out[0].flaky, None);
        let moved = run(&[
            "Issues :-(",
            "> Links ",
            "  1. 301 https://a.example/ → https://b.example/",
        ]);
        assert_eq!(moved[0].flaky, None);
        let down = run(&["Issues :-(", "> Links ", "  1. 502 https://a.example/"]);
        assert_eq!(down[0].flaky, Some(true));
    }

    #[test]
    fn a_header_without_entries_or_elsewhere_is_nothing() {
        assert!(run(&["Issues :-(", "", "all good"]).is_empty());
        assert!(run(&["Known Issues :-( in the changelog", "  1. something"]).is_empty());
    }
}
