//! What people read: pull request titles and bodies, comments, markers.
//!
//! Pure string work from the [`RepairRecord`], so every word a reviewer sees
//! is pinned by tests. Markers are HTML comments: invisible on GitHub, and
//! the one thing that ties a pull request or comment back to a failure when
//! no local ledger survives (a runner is new every time).

use std::fmt::Write as _;

use selfheal_types::{Attempt, AttemptOutcome, Failure, RepairRecord, RunInfo, StepResult};

/// Longest diff shown inline in a body; GitHub refuses bodies over 65,536 characters.
const MAX_DIFF_CHARS: usize = 30_000;
/// Lines of the CI log excerpt shown in a body.
const MAX_EXCERPT_LINES: usize = 30;
/// The names `selfheal-validate` gives its steps (`plan::FAILING_STEP`,
/// `plan::FULL_STEP`); mirrored rather than depending on the sandbox crate.
/// A step of another name is still listed, just not summed up in words.
const FAILING_STEP: &str = "failing tests";
const FULL_STEP: &str = "full suite";
/// Longest excerpt line shown: one minified bundle or serialised blob in a
/// log must not crowd the diff out of the body.
const MAX_EXCERPT_LINE_CHARS: usize = 500;

/// The hidden marker that says which failure a pull request fixes.
pub fn fingerprint_marker(fingerprint: &str) -> String {
    format!("<!-- selfheal:fingerprint={fingerprint} -->")
}

/// The hidden marker of selfheal's one comment on a pull request, scoped to
/// the commit whose run failed: a new push gets a new comment, a re-run of
/// the same commit edits the old one.
pub fn comment_marker(head_sha: &str) -> String {
    format!("<!-- selfheal:comment head={head_sha} -->")
}

/// A pull request's title and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestText {
    pub title: String,
    pub body: String,
}

/// The pull request for a fixed record. `excerpt` is the CI log lines that
/// show the failure (the analysis' excerpt).
pub fn pull_request_text(record: &RepairRecord, excerpt: &str) -> PullRequestText {
    let failure = record.failure.as_ref();
    let attempt = validated_attempt(record);
    let summary = attempt
        .and_then(|a| a.diagnosis.as_ref())
        .map(|d| first_line(&d.summary))
        .filter(|s| !s.is_empty());
    let title = match (summary, failure) {
        (Some(s), _) => format!("selfheal: {s}"),
        (None, Some(f)) => format!("selfheal: fix {}", first_line(&f.message)),
        (None, None) => format!("selfheal: fix run {}", record.run.id),
    };
    let title = truncate_chars(&title, 120);

    let mut body = String::new();
    let _ = writeln!(
        body,
        "selfheal found why CI failed and validated a fix by running the tests in a sandbox.\n"
    );
    write_failure(&mut body, &record.run, failure, excerpt);
    if let Some(attempt) = attempt {
        // The summary is the title already.
        write_diagnosis(&mut body, attempt, false);
        write_test_changes(&mut body, record);
        write_change(&mut body, attempt);
        write_validation(&mut body, attempt);
    }
    write_effort(&mut body, record);
    if let Some(f) = failure {
        let _ = writeln!(body, "\n{}", fingerprint_marker(&f.fingerprint));
    }
    PullRequestText {
        title,
        body: cap_body(body),
    }
}

/// The comment on a pull request that selfheal may not push to (a fork), or
/// that triggered the failing run: the validated diff, or a link to the fix.
pub fn comment_text(
    record: &RepairRecord,
    excerpt: &str,
    fix_url: Option<&str>,
    head_sha: &str,
) -> String {
    let mut body = String::new();
    let failure = record.failure.as_ref();
    match fix_url {
        Some(url) => {
            let _ = writeln!(
                body,
                "selfheal found why CI failed and proposes a validated fix in {url}.\n"
            );
        }
        None => {
            let _ = writeln!(
                body,
                "selfheal found why CI failed and validated a fix. As selfheal does not push to forks, here is the change for you to apply (with `git apply`, for example).\n"
            );
        }
    }
    write_failure(&mut body, &record.run, failure, excerpt);
    if let Some(attempt) = validated_attempt(record) {
        write_diagnosis(&mut body, attempt, true);
        if fix_url.is_none() {
            write_change(&mut body, attempt);
        }
        write_validation(&mut body, attempt);
    }
    let _ = writeln!(body, "\n{}", comment_marker(head_sha));
    cap_body(body)
}

/// The comment left on an existing fix pull request whose branch could not
/// take the new commit: the change itself, since the local branch it is
/// committed on is usually on a CI runner that is gone by the time anyone
/// reads this.
pub fn moved_on_text(record: &RepairRecord, branch: &str, reason: &str) -> String {
    let mut body = format!(
        "selfheal saw this failure again in {} and validated a new fix, but did not add it here: {reason}. \
         The fix was made on commit {} and committed on selfheal's local branch {}.\n\n",
        run_label(&record.run),
        code(&record.base_commit),
        code(branch)
    );
    if let Some(attempt) = validated_attempt(record) {
        write_change(&mut body, attempt);
    }
    cap_body(body.trim_end().to_owned())
}

fn validated_attempt(record: &RepairRecord) -> Option<&Attempt> {
    record
        .attempts
        .iter()
        .rev()
        .find(|a| a.outcome == AttemptOutcome::Validated)
}

fn write_failure(body: &mut String, run: &RunInfo, failure: Option<&Failure>, excerpt: &str) {
    let _ = writeln!(body, "### What failed\n");
    let _ = writeln!(body, "- Run: {}", run_label(run));
    if let Some(workflow) = &run.workflow {
        let _ = writeln!(body, "- Workflow: {}", code(workflow));
    }
    if let Some(f) = failure {
        if let Some(job) = &f.job {
            let _ = writeln!(body, "- Job: {}", code(job));
        }
        if let Some(step) = &f.step {
            let _ = writeln!(body, "- Step: {}", code(step));
        }
        if let Some(test) = &f.test {
            let _ = writeln!(body, "- Test: {}", code(test));
        }
        let _ = writeln!(
            body,
            "- Failure: {} ({}, reported by {})",
            code(first_line(&f.message)),
            f.category.as_str().replace('_', " "),
            f.tool
        );
        if let Some(loc) = f.locations.first() {
            let at = match loc.line {
                Some(line) => format!("{}:{line}", loc.file),
                None => loc.file.clone(),
            };
            let _ = writeln!(body, "- At: {}", code(&at));
        }
    }
    if let Some(sha) = &run.head_sha {
        let _ = writeln!(body, "- Commit: {}", code(sha));
    }
    let excerpt = last_lines(excerpt.trim_end(), MAX_EXCERPT_LINES)
        .lines()
        .map(|line| truncate_chars(line, MAX_EXCERPT_LINE_CHARS))
        .collect::<Vec<_>>()
        .join("\n");
    if !excerpt.trim().is_empty() {
        let _ = writeln!(
            body,
            "\n<details><summary>Log excerpt</summary>\n\n{}\n\n</details>",
            fenced("text", &excerpt)
        );
    }
    body.push('\n');
}

/// The model's diagnosis; `with_summary: false` leaves out its one-line
/// summary (where it is the title) unless there is nothing else to say.
fn write_diagnosis(body: &mut String, attempt: &Attempt, with_summary: bool) {
    let Some(d) = &attempt.diagnosis else {
        return;
    };
    let (summary, root_cause) = (first_line(&d.summary), d.root_cause.trim());
    if summary.is_empty() && root_cause.is_empty() {
        return;
    }
    let _ = writeln!(body, "### Diagnosis\n");
    if !summary.is_empty() && (with_summary || root_cause.is_empty()) {
        let _ = writeln!(body, "**{summary}**\n");
    }
    if !root_cause.is_empty() {
        let _ = writeln!(body, "{root_cause}\n");
    }
}

/// Every change to tests the user allowed during the repair, said plainly:
/// a reviewer must not find out from the diff alone.
fn write_test_changes(body: &mut String, record: &RepairRecord) {
    let changes: Vec<&selfheal_types::TestChange> = record
        .attempts
        .iter()
        .filter_map(|a| a.test_change.as_ref())
        .collect();
    if changes.is_empty() {
        return;
    }
    let _ = writeln!(
        body,
        "### This fix changes tests
"
    );
    for change in changes {
        let consent = match change.consent {
            selfheal_types::TestEditConsent::Flag => "allowed by `--allow-test-edits`",
            selfheal_types::TestEditConsent::Confirmed => "confirmed at the terminal",
        };
        let _ = writeln!(
            body,
            "The model says the test itself was wrong: {} ({consent}).\n",
            first_line(&change.reason)
        );
        for line in &change.changes {
            let _ = writeln!(body, "- {}", first_line(line));
        }
        let _ = writeln!(body);
    }
    let _ = writeln!(
        body,
        "Review these lines closely: a test changed to match the code can hide a real bug.\n"
    );
}

fn write_change(body: &mut String, attempt: &Attempt) {
    let Some(diff) = &attempt.diff else {
        return;
    };
    let _ = writeln!(body, "### The change\n");
    if !attempt.files.is_empty() {
        let files: Vec<String> = attempt.files.iter().map(|f| code(f)).collect();
        let _ = writeln!(body, "Files: {}\n", files.join(", "));
    }
    let shown = if diff.chars().count() > MAX_DIFF_CHARS {
        let mut cut: String = diff.chars().take(MAX_DIFF_CHARS).collect();
        // On a line boundary: half a diff line reads as a change that is not there.
        if let Some(end) = cut.rfind('\n') {
            cut.truncate(end);
        }
        cut.push_str("\n... (diff cut here; see the commit for all of it)");
        cut
    } else {
        diff.clone()
    };
    let _ = writeln!(body, "{}\n", fenced("diff", shown.trim_end()));
}

fn write_validation(body: &mut String, attempt: &Attempt) {
    let Some(report) = &attempt.validation else {
        return;
    };
    let _ = writeln!(body, "### Validation\n");
    let _ = writeln!(
        body,
        "Ran in a network-less Docker sandbox (image {}), {:.1} s in all:\n",
        code(&report.image),
        report.duration_ms as f64 / 1000.0
    );
    let _ = writeln!(
        body,
        "| step | command | result | time |\n|---|---|---|---|"
    );
    for step in &report.steps {
        let _ = writeln!(
            body,
            "| {} | {} | {} | {:.1} s |",
            step.name.replace('|', "\\|"),
            code(&step.command.replace('|', "\\|")),
            step_result(step),
            step.duration_ms as f64 / 1000.0
        );
    }
    if report.passed() {
        let ran = |name: &str| report.steps.iter().any(|s| s.name == name);
        let verdict = match (ran(FAILING_STEP), ran(FULL_STEP)) {
            (true, true) => "The failing tests pass, and so does the full suite.",
            (true, false) => "The failing tests pass.",
            (false, true) => "The full suite passes.",
            (false, false) => "Every step passed.",
        };
        let _ = writeln!(body, "\n{verdict}");
    }
    body.push('\n');
}

fn write_effort(body: &mut String, record: &RepairRecord) {
    let attempts = match record.attempts.len() {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    };
    let _ = writeln!(
        body,
        "<sub>{attempts}, {} tokens ({} prompt, {} completion), model {}, {:.1} s. \
         Review the change as you would any contributor's: selfheal rejects edits that drop tests or assertions \
         or skip tests, but cannot catch every way of weakening them.</sub>",
        record.tokens.total(),
        record.tokens.prompt,
        record.tokens.completion,
        code(&record.model),
        record.duration_ms as f64 / 1000.0
    );
}

fn step_result(step: &StepResult) -> String {
    if step.timed_out {
        "timed out".to_owned()
    } else {
        match step.exit_code {
            Some(0) => "passed".to_owned(),
            Some(code) => format!("failed (exit {code})"),
            None => "killed".to_owned(),
        }
    }
}

fn run_label(run: &RunInfo) -> String {
    let text = match &run.workflow {
        Some(w) => format!("{w} run {}", run.id),
        None => format!("run {}", run.id),
    };
    match &run.html_url {
        Some(url) => format!("[{text}]({url})"),
        None => text,
    }
}

/// Inline code that survives backticks in the text.
fn code(text: &str) -> String {
    let text = text.replace('\n', " ");
    let longest = longest_run(&text, '`');
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A fenced block that no line of `text` can close early.
fn fenced(lang: &str, text: &str) -> String {
    let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
    format!("{fence}{lang}\n{text}\n{fence}")
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in text.chars() {
        if ch == c {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// GitHub rejects bodies over 65,536 characters; keep the marker, which is last.
fn cap_body(body: String) -> String {
    const LIMIT: usize = 60_000;
    if body.chars().count() <= LIMIT {
        return body;
    }
    let marker_at = body.rfind("<!-- selfheal:").unwrap_or(body.len());
    let (main, marker) = body.split_at(marker_at);
    let mut out: String = main.chars().take(LIMIT - 200).collect();
    out.push_str("\n\n... (cut to fit GitHub's limit)\n\n");
    out.push_str(marker);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(fenced("text", "```\nx"), "````text\n```\nx\n````");
    }

    #[test]
    fn long_bodies_keep_their_marker() {
        let body = format!("{}\n{}", "x".repeat(70_000), fingerprint_marker("abc"));
        let capped = cap_body(body);
        assert!(capped.chars().count() <= 60_000);
        assert!(capped.ends_with(&fingerprint_marker("abc")));
    }
}
