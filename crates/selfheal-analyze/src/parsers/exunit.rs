//! Elixir's `ExUnit`: numbered failure blocks.
//!
//! ```text
//!   1) test adds numbers (MathTest)
//!      test/math_test.exs:5
//!      Assertion with == failed
//!      code:  assert 1 + 1 == 3
//!      ...
//! ```
//!
//! A failed assertion (`Assertion with`, `Expected truthy`, `match (=)
//! failed`, `assert_receive`) is a test failure; any other exception raised
//! in the test (`** (ArgumentError) ...`) is a test error.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::Category;

use super::{Anchor, Candidate, Line, Parser, Snip, loc, one_line};

static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^\s*\d+\) ((?:test|doctest) .+) \(([\w.]+)\)$").expect("valid regex")
});
static WHERE: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^\s+(\S+\.exs?):(\d+)$").expect("valid regex"));

#[derive(Debug)]
struct Block {
    test: String,
    start: u64,
    end: u64,
    message: Option<String>,
    assertion: bool,
    raised: bool,
    location: Option<(String, u32)>,
    snip: Snip,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct ExUnit {
    block: Option<Block>,
}

/// Longest block kept; `ExUnit` prints a few lines and a short stacktrace.
const MAX_LINES: u64 = 60;

impl Parser for ExUnit {
    fn active(&self) -> bool {
        self.block.is_some()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        let header = (line.has(text, Anchor::ExUnitTest) || line.has(text, Anchor::ExUnitDoctest))
            .then(|| HEADER.captures(text))
            .flatten();
        if let Some(c) = header {
            self.end(out);
            let mut snip = Snip::new(20, 6);
            snip.push(line.no, text);
            self.block = Some(Block {
                test: format!("{}.{}", &c[2], &c[1]),
                start: line.no,
                end: line.no,
                message: None,
                assertion: false,
                raised: false,
                location: None,
                snip,
            });
            return;
        }
        let Some(b) = self.block.as_mut() else {
            return;
        };
        // The block is the indented lines under the header.
        let indented = text.starts_with(char::is_whitespace);
        if (!indented && !text.is_empty()) || line.no > b.start + MAX_LINES {
            self.end(out);
            return;
        }
        if text.is_empty() {
            return;
        }
        b.end = line.no;
        b.snip.push(line.no, text);
        let body = text.trim();
        if b.location.is_none()
            && let Some(c) = WHERE.captures(text)
        {
            b.location = Some((c[1].to_owned(), c[2].parse().unwrap_or(0)));
            return;
        }
        if body.starts_with("Assertion with")
            || body.starts_with("Expected truthy")
            || body.starts_with("Expected false or nil")
            || body.starts_with("match (=) failed")
            || body.starts_with("Assertion failed")
            || body.starts_with("No message matching")
        {
            b.assertion = true;
            b.message.get_or_insert_with(|| body.to_owned());
        } else if body.starts_with("** (") {
            b.raised = true;
            b.message.get_or_insert_with(|| body.to_owned());
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.end(out);
    }
}

impl ExUnit {
    fn end(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut b) = self.block.take() else {
            return;
        };
        let category = if b.raised && !b.assertion {
            Category::TestError
        } else {
            Category::TestFailure
        };
        let message = b.message.unwrap_or_else(|| "test failed".to_owned());
        let mut c = Candidate::new(category, "exunit", one_line(&message, 300))
            .span(b.start, b.end)
            .confidence(85)
            .snippet(b.snip.take());
        c.test = Some(b.test);
        c.locations = b
            .location
            .map(|(f, l)| loc(&f, Some(l), None))
            .into_iter()
            .collect();
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Vec<Candidate> {
        super::super::parse_lines::<ExUnit>(lines)
    }

    #[test]
    fn assertions_fail_and_exceptions_error() {
        let out = run(&[
            "  1) test adds numbers (MathTest)",
            "     test/math_test.exs:5",
            "     Assertion with == failed",
            "     code:  assert 1 + 1 == 3",
            "     left:  2",
            "     right: 3",
            "     stacktrace:",
            "       test/math_test.exs:6: (test)",
            "",
            "  2) test parses options (Mix.Tasks.IexTest)",
            "     test/mix/tasks/iex_test.exs:6",
            "     ** (ArgumentError) argument error",
            "     stacktrace:",
            "       lib/mix/tasks/iex.ex:12: Mix.Tasks.Iex.run/1",
            "",
            "Finished in 0.1 seconds",
        ]);
        let got: Vec<_> = out
            .iter()
            .map(|c| {
                (
                    c.category,
                    c.test.clone().unwrap_or_default(),
                    c.span.start,
                    c.span.end,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    Category::TestFailure,
                    "MathTest.test adds numbers".to_owned(),
                    1,
                    8
                ),
                (
                    Category::TestError,
                    "Mix.Tasks.IexTest.test parses options".to_owned(),
                    10,
                    14
                ),
            ]
        );
        assert_eq!(out[0].locations[0].file, "test/math_test.exs");
        assert_eq!(out[1].message, "** (ArgumentError) argument error");
    }
}
