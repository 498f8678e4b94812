//! The test tool's own account of what failed, cut from a step's whole output.
//!
//! The tail of a long pytest run may hold nothing but the short summary; the
//! assertion the model needs sits in the `FAILURES` block far above. So the
//! block is cut from the whole captured output, by the tool's own markers:
//!
//! - pytest: from the `= FAILURES =` (or `= ERRORS =`) banner to the `short
//!   test summary info` banner, plus the summary lines up to the final count;
//! - cargo test: each `---- name stdout ----` block through its `failures:`
//!   list and `test result: FAILED` line;
//! - go test: each `--- FAIL:` line with the indented lines under it, and the
//!   `FAIL` package lines;
//! - Maven's surefire: from the first test marked `<<< FAILURE!` or
//!   `<<< ERROR!` to the `Failures:`/`Errors:` summary and its `Tests run:` count.
//!
//! Output from anything else has no section (`None`). Sections are bounded by
//! [`SECTION_MAX_LINES`] and [`SECTION_MAX_BYTES`]; the beginning is kept (the
//! first failure is usually the one to fix) and, for pytest, the summary.

/// At most this many lines reach `StepResult::failure_section` (plus a marker line).
pub const SECTION_MAX_LINES: usize = 200;
/// At most this many bytes reach `StepResult::failure_section` (plus a marker line).
pub const SECTION_MAX_BYTES: usize = 16 * 1024;
/// The line that stands where a section was cut to its bounds.
pub const SECTION_CUT_MARKER: &str = "[selfheal: rest of the failures omitted]";

/// The failure section of `output`, when a known test tool wrote one.
pub(crate) fn section(output: &str) -> Option<String> {
    let lines: Vec<&str> = output.lines().collect();
    pytest(&lines)
        .or_else(|| cargo(&lines))
        .or_else(|| go(&lines))
        .or_else(|| surefire(&lines))
}

fn surefire(lines: &[&str]) -> Option<String> {
    let start = lines
        .iter()
        .position(|l| l.contains("<<< FAILURE!") || l.contains("<<< ERROR!"))?;
    let words = |l: &str| l.trim_start_matches("[ERROR]").trim().to_owned();
    let summary = lines[start..]
        .iter()
        .position(|l| matches!(words(l).as_str(), "Failures:" | "Errors:"))
        .map(|i| start + i);
    let Some(summary) = summary else {
        return Some(bounded(&lines[start..], &[]));
    };
    let end = lines[summary..]
        .iter()
        .position(|l| words(l).starts_with("Tests run:"))
        .map_or(lines.len(), |i| summary + i + 1);
    Some(bounded(&lines[start..summary], &lines[summary..end]))
}

/// `=== TITLE ===` as pytest draws its banners.
fn banner(line: &str) -> Option<&str> {
    let inner = line.strip_prefix('=')?.strip_suffix('=')?;
    let title = inner.trim_matches('=');
    (title.starts_with(' ') && title.ends_with(' ')).then(|| title.trim())
}

fn pytest(lines: &[&str]) -> Option<String> {
    let start = lines
        .iter()
        .position(|l| matches!(banner(l), Some("FAILURES" | "ERRORS")))?;
    let summary = lines[start..]
        .iter()
        .position(|l| banner(l) == Some("short test summary info"))
        .map(|i| start + i);
    let Some(summary) = summary else {
        return Some(bounded(&lines[start..], &[]));
    };
    // The summary runs to pytest's last line: the `N failed, M passed` count
    // (a banner itself without -q).
    let mut end = summary + 1;
    while end < lines.len() {
        let line = lines[end];
        end += 1;
        if line.starts_with('=') || is_pytest_count(line) {
            break;
        }
    }
    Some(bounded(&lines[start..summary], &lines[summary..end]))
}

fn is_pytest_count(line: &str) -> bool {
    let first = line.split_whitespace().nth(1).unwrap_or("");
    line.starts_with(|c: char| c.is_ascii_digit())
        && (first.starts_with("failed")
            || first.starts_with("passed")
            || first.starts_with("error"))
        && line.contains(" in ")
}

fn cargo(lines: &[&str]) -> Option<String> {
    let is_start = |l: &str| {
        l.starts_with("---- ") && (l.ends_with(" stdout ----") || l.ends_with(" stderr ----"))
    };
    let mut picked: Vec<&str> = Vec::new();
    let mut inside = false;
    for &line in lines {
        if !inside && is_start(line) {
            inside = true;
        }
        if inside {
            picked.push(line);
            if line.starts_with("test result: ") {
                inside = false;
            }
        }
    }
    (!picked.is_empty()).then(|| bounded(&picked, &[]))
}

fn go(lines: &[&str]) -> Option<String> {
    let indented = |l: &str| l.starts_with([' ', '\t']);
    let mut picked: Vec<usize> = Vec::new();
    let mut inside = false;
    for (i, &line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("--- FAIL") {
            if !indented(line) {
                // With -v a test's log lines stream before its verdict.
                let mut j = i;
                while j > 0
                    && indented(lines[j - 1])
                    && !lines[j - 1].trim_start().starts_with("--- ")
                {
                    j -= 1;
                }
                picked.extend(j..i);
            }
            inside = true;
            picked.push(i);
        } else if line == "FAIL" || line.starts_with("FAIL\t") || line.starts_with("FAIL ") {
            inside = false;
            picked.push(i);
        } else if inside && indented(line) && !trimmed.starts_with("--- PASS") {
            picked.push(i);
        } else {
            inside = false;
        }
    }
    if !picked
        .iter()
        .any(|&i| lines[i].trim_start().starts_with("--- FAIL"))
    {
        return None;
    }
    picked.sort_unstable();
    picked.dedup();
    let picked: Vec<&str> = picked.into_iter().map(|i| lines[i]).collect();
    Some(bounded(&picked, &[]))
}

/// `body` cut to what the bounds leave after `keep` (which is always kept, up to the bounds itself).
fn bounded(body: &[&str], keep: &[&str]) -> String {
    let keep = &keep[..keep.len().min(SECTION_MAX_LINES / 4)];
    let keep_bytes: usize = keep.iter().map(|l| l.len() + 1).sum();
    let max_lines = SECTION_MAX_LINES - keep.len();
    let max_bytes = SECTION_MAX_BYTES.saturating_sub(keep_bytes);
    let mut out = String::new();
    let mut cut = false;
    for (i, line) in body.iter().enumerate() {
        if i == max_lines || out.len() + line.len() + 1 > max_bytes {
            cut = true;
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    if cut {
        out.push_str(SECTION_CUT_MARKER);
        out.push('\n');
    }
    for line in keep {
        // One summary line longer than the whole budget is cut on a char boundary.
        let mut end = line.len().min(SECTION_MAX_BYTES / 4);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&line[..end]);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYTEST: &str = "\
============================= test session starts ==============================
platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack
rootdir: /work
collected 3 items

tests/test_calc.py F.F                                                   [100%]

=================================== FAILURES ===================================
___________________________________ test_add ___________________________________

    def test_add():
>       assert add(2, 1) == 3
E       assert 1 == 3
E        +  where 1 = add(2, 1)

tests/test_calc.py:5: AssertionError
___________________________________ test_big ___________________________________

    def test_big():
>       assert add(5, 5) == 10
E       assert 0 == 10

tests/test_calc.py:13: AssertionError
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_add - assert 1 == 3
FAILED tests/test_calc.py::test_big - assert 0 == 10
========================= 2 failed, 1 passed in 0.05s ==========================
";

    #[test]
    fn surefire_failures_run_to_the_summary_and_its_count() {
        let output = "\
[ERROR] Tests run: 2, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.104 s <<< FAILURE! - in calc.CalcTest
[ERROR] addsTwoNumbers(calc.CalcTest)  Time elapsed: 0 s  <<< FAILURE!
java.lang.AssertionError: expected:<3> but was:<1>
\tat calc.CalcTest.addsTwoNumbers(CalcTest.java:10)

[ERROR] Failures: 
[ERROR]   CalcTest.addsTwoNumbers:10 expected:<3> but was:<1>
[ERROR] Tests run: 2, Failures: 1, Errors: 0, Skipped: 0
[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:2.22.3:test (default-test) on project calc: There are test failures.
[ERROR] -> [Help 1]
";
        let want: String = output.split_inclusive('\n').take(8).collect();
        assert_eq!(section(output), Some(want));
        assert_eq!(section("[INFO] BUILD SUCCESS\n"), None);
    }

    #[test]
    fn pytest_failures_block_with_its_summary() {
        let text = format!("noise before\n{PYTEST}trailing noise\n");
        let start = PYTEST
            .find("=================================== FAILURES")
            .expect("banner");
        assert_eq!(section(&text).as_deref(), Some(&PYTEST[start..]));
    }

    #[test]
    fn pytest_quiet_summary_ends_at_the_count() {
        let quiet = "\
F.                                                                       [100%]
=================================== FAILURES ===================================
___________________________________ test_add ___________________________________
E       assert 1 == 3
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_add - assert 1 == 3
1 failed, 1 passed in 0.03s
after the run
";
        assert_eq!(
            section(quiet).as_deref(),
            Some(&quiet[quiet.find("=====").expect("banner")..quiet.find("after").expect("after")])
        );
    }

    #[test]
    fn cargo_panics_and_failures_list() {
        let out = "\
running 2 tests
test tests::adds ... FAILED
test tests::zero ... ok

failures:

---- tests::adds stdout ----

thread 'tests::adds' panicked at src/lib.rs:12:9:
assertion `left == right` failed
  left: 1
 right: 3
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    tests::adds

test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: test failed, to rerun pass `--lib`
";
        let start = out.find("---- tests::adds").expect("block");
        let end = out.find("error: test failed").expect("end");
        assert_eq!(section(out).as_deref(), Some(&out[start..end - 1]));
    }

    #[test]
    fn go_fail_blocks_and_package_lines() {
        let out = "\
=== RUN   TestAdd
    calc_test.go:8: Add(2, 1) = 1, want 3
--- FAIL: TestAdd (0.00s)
=== RUN   TestTable
=== RUN   TestTable/zero
=== RUN   TestTable/big
    calc_test.go:20: got 0, want 10
--- FAIL: TestTable (0.00s)
    --- PASS: TestTable/zero (0.00s)
    --- FAIL: TestTable/big (0.00s)
        calc_test.go:20: got 0, want 10
FAIL
FAIL\texample.com/calc\t0.002s
ok  \texample.com/other\t0.001s
";
        assert_eq!(
            section(out).as_deref(),
            Some(
                "    calc_test.go:8: Add(2, 1) = 1, want 3\n--- FAIL: TestAdd (0.00s)\n    calc_test.go:20: got 0, want 10\n--- FAIL: TestTable (0.00s)\n    --- FAIL: TestTable/big (0.00s)\n        calc_test.go:20: got 0, want 10\nFAIL\nFAIL\texample.com/calc\t0.002s\n"
            )
        );
    }

    #[test]
    fn other_output_has_no_section() {
        assert_eq!(section("Traceback (most recent call last):\nboom\n"), None);
        assert_eq!(section("5 passed in 0.1s\n"), None);
        assert_eq!(section(""), None);
    }

    #[test]
    fn a_long_block_keeps_its_beginning_and_the_summary() {
        let mut out = String::from("= FAILURES =\n");
        for i in 0..5000 {
            out.push_str("E   line ");
            out.push_str(&i.to_string());
            out.push('\n');
        }
        out.push_str("= short test summary info =\nFAILED t.py::a - boom\n1 failed in 9s\n");
        let got = section(&out).expect("section");
        assert!(got.lines().count() <= SECTION_MAX_LINES + 1, "{got}");
        assert!(got.len() <= SECTION_MAX_BYTES + SECTION_CUT_MARKER.len() + 1);
        assert!(got.starts_with("= FAILURES =\nE   line 0\n"), "{got}");
        assert!(
            got.ends_with(&format!(
                "{SECTION_CUT_MARKER}\n= short test summary info =\nFAILED t.py::a - boom\n1 failed in 9s\n"
            )),
            "{got}"
        );
    }
}
