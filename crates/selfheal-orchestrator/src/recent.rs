//! Which part of the tested commit's diff the model is shown.
//!
//! The commit's change is read once per repair (`selfheal-git`); each
//! attempt picks whole files from it within a share of the context budget:
//! first the files the context already shows (the failure runs through
//! them), then other source, then tests, and lock files and other generated
//! files last. The picked files keep git's order, so the diff reads as
//! `git show` prints it; the rest are named.

use std::collections::BTreeSet;

use selfheal_git::CommitChange;
use selfheal_reason::{RecentChange, SourceFile};

/// Characters per token, as [`crate::estimate_prompt_tokens`] counts them.
const CHARS_PER_TOKEN: usize = 4;
/// The share of the context budget the diff may take (one in this many).
const BUDGET_SHARE: usize = 3;
/// Files named in "also changed" at most; a larger commit says "and N more".
const MAX_NAMED: usize = 12;

/// The diff to show beside `shown`, within `context_token_budget`'s share.
pub(crate) fn pick(
    change: &CommitChange,
    shown: &[SourceFile],
    context_token_budget: usize,
) -> RecentChange {
    let budget = context_token_budget * CHARS_PER_TOKEN / BUDGET_SHARE;
    let shown: BTreeSet<&str> = shown.iter().map(|f| f.path.as_str()).collect();
    let mut order: Vec<usize> = (0..change.files.len()).collect();
    order.sort_by_key(|&i| {
        let file = &change.files[i];
        (rank(&file.path, shown.contains(file.path.as_str())), i)
    });
    let mut used = 0;
    let mut picked = vec![false; change.files.len()];
    for i in order {
        let file = &change.files[i];
        if file.omitted.is_some() || file.patch.trim().is_empty() {
            continue;
        }
        if used + file.patch.len() <= budget {
            used += file.patch.len();
            picked[i] = true;
        }
    }
    let mut diff = String::new();
    let mut not_shown = Vec::new();
    for (file, picked) in change.files.iter().zip(&picked) {
        if *picked {
            diff.push_str(&file.patch);
            if !file.patch.ends_with('\n') {
                diff.push('\n');
            }
        } else {
            let why = file.omitted.map_or_else(String::new, |w| format!(" ({w})"));
            not_shown.push(format!("{}{why}", file.path));
        }
    }
    if not_shown.len() > MAX_NAMED {
        let more = not_shown.len() - MAX_NAMED;
        not_shown.truncate(MAX_NAMED);
        not_shown.push(format!("and {more} more"));
    }
    RecentChange {
        commit: change.commit.chars().take(7).collect(),
        subject: change.subject.clone(),
        diff,
        not_shown,
        only_tests: !change.files.is_empty()
            && change
                .files
                .iter()
                .all(|f| crate::policy::is_test_file(&f.path)),
    }
}

/// Lower is shown first.
fn rank(path: &str, shown: bool) -> u8 {
    if shown {
        0
    } else if is_generated(path) {
        3
    } else if crate::policy::is_test_file(path) {
        2
    } else {
        1
    }
}

fn is_generated(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = std::path::Path::new(&name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    matches!(ext, "lock" | "snap")
        || name.ends_with(".min.js")
        || matches!(
            name.as_str(),
            "package-lock.json" | "pnpm-lock.yaml" | "go.sum" | "npm-shrinkwrap.json"
        )
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use selfheal_git::FileChange;

    use super::*;

    fn file(path: &str, lines: usize) -> FileChange {
        let mut text =
            format!("diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n");
        for i in 0..lines {
            let _ = writeln!(text, "+line {i} of {path}");
        }
        FileChange {
            path: path.into(),
            renamed_from: None,
            patch: text,
            omitted: None,
            added: lines,
            removed: 0,
        }
    }

    fn change(files: Vec<FileChange>) -> CommitChange {
        CommitChange {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            parent: "f".repeat(40),
            subject: "Rename things".into(),
            files,
        }
    }

    fn shown(path: &str) -> SourceFile {
        SourceFile {
            path: path.into(),
            content: String::new(),
        }
    }

    #[test]
    fn a_commit_of_tests_only_is_marked() {
        let tests = change(vec![
            file("tests/test_a.py", 3),
            file("tests/conftest.py", 1),
        ]);
        assert!(pick(&tests, &[], 6000).only_tests);
        let mixed = change(vec![file("src/a.py", 3), file("tests/test_a.py", 3)]);
        assert!(!pick(&mixed, &[], 6000).only_tests);
        assert!(!pick(&change(Vec::new()), &[], 6000).only_tests);
    }

    #[test]
    fn a_small_commit_is_shown_whole_in_git_order() {
        let c = change(vec![file("src/a.py", 3), file("tests/test_a.py", 3)]);
        let r = pick(&c, &[], 6000);
        assert_eq!(r.commit, "0123456");
        assert_eq!(r.subject, "Rename things");
        assert!(r.not_shown.is_empty());
        let a = r.diff.find("src/a.py").expect("a shown");
        let t = r.diff.find("tests/test_a.py").expect("test shown");
        assert!(a < t);
    }

    #[test]
    fn the_files_the_failure_runs_through_come_first_and_lock_files_last() {
        // Room for two of the three files.
        let c = change(vec![
            file("Cargo.lock", 40),
            file("src/other.py", 40),
            file("src/used.py", 40),
        ]);
        let one = c.files.iter().map(|f| f.patch.len()).max().unwrap_or(0);
        let budget_tokens = (2 * one + 10) * BUDGET_SHARE / CHARS_PER_TOKEN;
        let r = pick(&c, &[shown("src/used.py")], budget_tokens);
        assert!(r.diff.contains("src/used.py") && r.diff.contains("src/other.py"));
        assert_eq!(r.not_shown, ["Cargo.lock"]);

        let tests_first = change(vec![file("tests/test_x.py", 40), file("lib/x.py", 40)]);
        let r = pick(
            &tests_first,
            &[],
            (one + 10) * BUDGET_SHARE / CHARS_PER_TOKEN,
        );
        assert!(r.diff.contains("lib/x.py"), "source before tests");
        assert_eq!(r.not_shown, ["tests/test_x.py"]);
    }

    #[test]
    fn omitted_files_are_named_with_why_and_long_lists_are_cut() {
        let mut files: Vec<FileChange> = (0..20)
            .map(|i| file(&format!("gen/{i:02}.bin"), 1))
            .collect();
        for f in &mut files {
            f.omitted = Some("binary");
        }
        let r = pick(&change(files), &[], 6000);
        assert!(r.diff.is_empty());
        assert_eq!(r.not_shown.len(), MAX_NAMED + 1);
        assert_eq!(r.not_shown[0], "gen/00.bin (binary)");
        assert_eq!(r.not_shown[MAX_NAMED], "and 8 more");
    }
}
