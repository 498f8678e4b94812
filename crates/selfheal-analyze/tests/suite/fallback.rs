//! The fallback on runners it has no rules for: analysed with
//! `fallback_only`, as if no parser knew the tool, the top failure of a log
//! with several failed tests starts at the first one's header, not at the
//! exceptions the suite logged on purpose before it nor at the summary
//! after it, and its header says what kind of failure it is unless the
//! step's command says more.

use selfheal_analyze::{AnalyzeOptions, analyze_path};
use selfheal_types::{Category, LineSpan};

use super::fixture;

fn fallback_only() -> AnalyzeOptions {
    AnalyzeOptions {
        fallback_only: true,
        ..AnalyzeOptions::default()
    }
}

fn line_of(name: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture reads");
    let at = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {name}"));
    at as u64 + 1
}

#[test]
fn the_first_failed_test_leads_when_no_parser_knows_the_runner() {
    let opts = fallback_only();
    for (name, header) in [
        // An expected exception is logged before the first failure, a
        // second failure and the summary come after it.
        ("fallback/sbt_scalatest.log", "*** FAILED ***"),
        (
            "categories/gtest_failed.log",
            "[  FAILED  ] Cart.Total (0 ms)",
        ),
        ("categories/phpt_failure.log", "FAIL Cart totals"),
        ("travis_minitest.log", "Failure:"),
        ("go_test.log", "--- FAIL: TestTotal"),
        // R CMD check's copy of testthat's output: the first ruled entry,
        // not the `Error: Test failures` after the list.
        (
            "fallback/testthat_check.log",
            "── Failure (test-cart.R:12:3)",
        ),
        // Julia's Test, after a logged warning about a retried connection.
        ("fallback/julia_test.log", "cart total: Test Failed at"),
    ] {
        let a = analyze_path(&fixture(name), &opts).expect("fixture reads");
        let top = a.primary().expect("a failure");
        assert_eq!(
            top.log_span.start,
            line_of(name, header),
            "{name}: top failure {:?} at {:?}",
            top.message,
            top.log_span
        );
    }
}

#[test]
fn without_a_failed_test_the_last_errors_lead() {
    let opts = fallback_only();
    let name = "categories/node_syntax_error.log";
    let line = line_of(name, "SyntaxError: Unexpected token");
    let a = analyze_path(&fixture(name), &opts).expect("fixture reads");
    let top = a.primary().expect("a failure");
    assert!(
        top.log_span.overlaps(&LineSpan::new(line, line)),
        "top failure {:?} at {:?}",
        top.message,
        top.log_span
    );
}

#[test]
fn the_first_failure_is_named_by_its_header_unless_the_step_says_more() {
    let opts = fallback_only();
    for (name, category) in [
        ("fallback/sbt_scalatest.log", Category::TestFailure),
        ("categories/gtest_failed.log", Category::TestFailure),
        ("categories/bazel_compile.log", Category::CompileError),
        ("categories/javac_class_version.log", Category::CompileError),
        // mypy's `path:12: error: …` reads like a compiler's, but the step
        // ran a lint command.
        ("lint_python.log", Category::Lint),
        ("fallback/testthat_check.log", Category::TestFailure),
        ("fallback/julia_test.log", Category::TestFailure),
    ] {
        let a = analyze_path(&fixture(name), &opts).expect("fixture reads");
        let top = a.primary().expect("a failure");
        assert_eq!(top.category, category, "{name}: {:?}", top.message);
    }
}

/// With every parser on, the same logs still lead with their first failed
/// test: no rule reads a warning that Julia's logging boxes (`┌ Warning:`,
/// `│   exception = … connection refused`) as the network failing the job.
#[test]
fn with_every_parser_the_first_failed_test_still_leads() {
    for (name, header) in [
        (
            "fallback/testthat_check.log",
            "── Failure (test-cart.R:12:3)",
        ),
        ("fallback/julia_test.log", "cart total: Test Failed at"),
        ("fallback/sbt_scalatest.log", "*** FAILED ***"),
    ] {
        let a = analyze_path(&fixture(name), &AnalyzeOptions::default()).expect("fixture reads");
        let top = a.primary().expect("a failure");
        let line = line_of(name, header);
        assert!(
            top.log_span.overlaps(&LineSpan::new(line, line)),
            "{name}: top failure {:?} at {:?}",
            top.message,
            top.log_span
        );
    }
}
