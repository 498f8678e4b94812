//! Every word a reviewer reads, pinned: pull request titles and bodies,
//! comments, and what keeps them valid Markdown within GitHub's limits.

use selfheal_publish::{
    comment_marker, comment_text, fingerprint_marker, moved_on_text, pull_request_text,
};
use selfheal_types::RepairRecord;

use super::{
    DIFF, EXCERPT, FINGERPRINT, FIX_BRANCH, fixed_record, fork_run, pull_url, same_repo_pr_run,
};

const BASE: &str = "0123456789abcdef0123456789abcdef01234567";
const FIX: &str = "89abcdef0123456789abcdef0123456789abcdef";

fn record() -> RepairRecord {
    fixed_record(BASE, FIX)
}

fn head(record: &RepairRecord) -> String {
    record.run.head_sha.clone().unwrap_or_default()
}

#[test]
fn pull_request_for_a_fixed_test_failure() {
    let text = pull_request_text(&record(), EXCERPT);
    insta::assert_snapshot!(format!("{}\n\n{}", text.title, text.body));
}

#[test]
fn comment_on_a_fork_shows_the_change() {
    let mut record = record();
    record.run = fork_run(Some(9));
    insta::assert_snapshot!(comment_text(&record, EXCERPT, None, &head(&record)));
}

#[test]
fn comment_on_the_triggering_pull_request_links_the_fix() {
    let mut record = record();
    record.run = same_repo_pr_run(7);
    insta::assert_snapshot!(comment_text(
        &record,
        EXCERPT,
        Some(&pull_url(100)),
        &head(&record)
    ));
}

#[test]
fn comment_on_a_pull_request_whose_branch_moved_on() {
    insta::assert_snapshot!(moved_on_text(
        &record(),
        FIX_BRANCH,
        "its branch selfheal/41-abcdef01 has moved on and the new fix does not fast-forward it"
    ));
}

#[test]
fn the_body_ends_with_the_fingerprint_marker_and_a_comment_with_its_own() {
    let record = record();
    let text = pull_request_text(&record, EXCERPT);
    assert!(
        text.body
            .ends_with(&format!("\n\n{}\n", fingerprint_marker(FINGERPRINT))),
        "{}",
        text.body
    );
    let comment = comment_text(&record, EXCERPT, None, BASE);
    assert!(
        comment.ends_with(&format!("\n\n{}\n", comment_marker(BASE))),
        "{comment}"
    );
}

/// The text between the opening line `open` and the next line `close`.
fn block<'a>(body: &'a str, open: &str, close: &str) -> &'a str {
    let start = body
        .find(&format!("\n{open}\n"))
        .map_or_else(|| panic!("no {open} in {body}"), |i| i + open.len() + 2);
    let len = body[start..]
        .find(&format!("\n{close}\n"))
        .unwrap_or_else(|| panic!("{open} is not closed by {close} in {body}"));
    &body[start..start + len]
}

#[test]
fn a_huge_diff_is_cut_on_a_line_and_the_body_fits_github() {
    let mut record = record();
    let diff: String =
        std::iter::once("--- a/data.txt\n+++ b/data.txt\n@@ -1,20000 +1,20000 @@\n".to_owned())
            .chain((0..20_000).map(|i| format!("+line {i} of generated data\n")))
            .collect();
    record.attempts[1].diff = Some(diff.clone());

    let body = pull_request_text(&record, EXCERPT).body;

    assert!(body.chars().count() < 60_000, "{}", body.chars().count());
    assert!(body.ends_with(&format!("{}\n", fingerprint_marker(FINGERPRINT))));
    let shown = block(&body, "```diff", "```");
    let kept = shown
        .strip_suffix("\n... (diff cut here; see the commit for all of it)")
        .unwrap_or_else(|| panic!("no cut note at the end of {shown}"));
    assert!(diff.starts_with(&format!("{kept}\n")), "cut inside a line");
    assert!((29_900..=30_000).contains(&kept.chars().count()));
}

#[test]
fn long_log_lines_are_cut_so_the_excerpt_cannot_crowd_out_the_diff() {
    let long = "x".repeat(10_000);
    let excerpt = format!("FAILED tests/test_calc.py::test_add\n{long}\n");

    let body = pull_request_text(&record(), &excerpt).body;

    assert_eq!(
        block(&body, "```text", "```"),
        format!("FAILED tests/test_calc.py::test_add\n{}…", "x".repeat(499))
    );
    assert!(body.contains(DIFF.trim_end()));
}

#[test]
fn an_oversized_body_is_cut_to_fit_and_keeps_its_marker() {
    let mut record = record();
    if let Some(d) = record.attempts[1].diagnosis.as_mut() {
        d.root_cause = "The model had a lot to say. ".repeat(4_000);
    }

    let body = pull_request_text(&record, EXCERPT).body;

    assert!(body.chars().count() <= 60_000, "{}", body.chars().count());
    assert!(
        body.ends_with(&format!(
            "\n\n... (cut to fit GitHub's limit)\n\n{}\n",
            fingerprint_marker(FINGERPRINT)
        )),
        "{}",
        &body[body.len() - 300..]
    );
}

#[test]
fn backticks_in_what_the_log_says_cannot_break_the_markdown() {
    let mut record = record();
    if let Some(f) = record.failure.as_mut() {
        f.test = Some("tests/test_md.py::test_`weird`".to_owned());
        f.message = "expected ``` but got `".to_owned();
    }
    let diff = "--- a/README.md\n+++ b/README.md\n@@ -1,3 +1,3 @@\n ```python\n-print(1)\n+print(2)\n ```\n";
    record.attempts[1].diff = Some(diff.to_owned());
    let excerpt = "E   expected ```` in the README\nFAILED tests/test_md.py::test_`weird`";

    let body = pull_request_text(&record, excerpt).body;
    let line = |prefix: &str| {
        body.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix} in {body}"))
    };

    assert_eq!(
        line("- Test: "),
        "- Test: `` tests/test_md.py::test_`weird` ``"
    );
    assert_eq!(
        line("- Failure: "),
        "- Failure: ```` expected ``` but got ` ```` (test failure, reported by pytest)"
    );
    // Every fence is longer than any run of backticks inside it.
    assert_eq!(block(&body, "`````text", "`````"), excerpt);
    assert_eq!(block(&body, "````diff", "````"), diff.trim_end());
}

#[test]
fn a_pipe_in_a_step_cannot_break_the_validation_table() {
    let mut record = record();
    if let Some(report) = record.attempts[1].validation.as_mut() {
        report.steps = vec![super::step("lint | test", "ruff check . || pytest", 2_000)];
    }

    let body = pull_request_text(&record, EXCERPT).body;

    assert!(
        body.contains(
            "| step | command | result | time |\n\
             |---|---|---|---|\n\
             | lint \\| test | `ruff check . \\|\\| pytest` | passed | 2.0 s |\n\
             \n\
             Every step passed.\n"
        ),
        "{body}"
    );
}

#[test]
fn the_validation_says_what_ran() {
    let mut record = record();
    if let Some(report) = record.attempts[1].validation.as_mut() {
        report.steps.remove(0);
    }

    let body = pull_request_text(&record, EXCERPT).body;

    assert!(
        body.contains(
            "| full suite | `python -m pytest` | passed | 3.4 s |\n\nThe full suite passes.\n"
        ),
        "{body}"
    );
}

#[test]
fn titles_come_from_the_diagnosis_else_the_failure_and_stay_short() {
    let mut record = record();
    if let Some(d) = record.attempts[1].diagnosis.as_mut() {
        d.summary = format!("Handle {} in the parser\nmore detail", "very ".repeat(40));
    }
    let title = pull_request_text(&record, EXCERPT).title;
    // 120 characters: 119 of the summary's first line and an ellipsis.
    assert_eq!(title, format!("selfheal: Handle {}ve…", "very ".repeat(20)));

    record.attempts[1].diagnosis = None;
    assert_eq!(
        pull_request_text(&record, EXCERPT).title,
        "selfheal: fix assert 0 == 4"
    );
}
