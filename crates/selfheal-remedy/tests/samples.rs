//! The yardstick for the remedies on every bundled sample, run as the
//! repair loop runs them: the name rules first, the revert rule where none
//! applies. Where the sample's bug is a missing name with the evidence in
//! sight, a name rule must make the tests pass (for a sample with two bugs,
//! get to the second one, which the revert rule then fixes); where the
//! commit changed the code the failing test runs through, the revert must
//! make them pass; and where neither holds (a commit that changed only
//! tests) there must be no remedy at all, since a wrong guess costs a
//! sandbox run and a model attempt.
//!
//! Needs `bash`, `git` and `python3` with pytest (as `sample_projects/tools/verify.sh` does).

use std::path::{Path, PathBuf};
use std::process::Command;

use selfheal_analyze::{AnalyzeOptions, analyze_path};
use selfheal_git::Repo;
use selfheal_remedy::{Remedy, Rule, remedy_for, revert_for};
use selfheal_types::Failure;

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample_projects")
}

/// What each sample's remedy must be, by the rule that finds it.
fn expected(name: &str) -> Option<Rule> {
    match name {
        "cross-file-rename" | "fixture-not-found" | "missing-attribute" => Some(Rule::Renamed),
        "import-name" | "masked-import-then-rounding" | "masked-nameerror-then-range" => {
            Some(Rule::NearName)
        }
        "undefined-name" => Some(Rule::RemovedImport),
        "missing-module" => Some(Rule::MovedModule),
        "index-error" | "off-by-one" | "type-mixup" | "wrong-exception" => Some(Rule::Revert),
        // The commit's own tests want the change (a test it added or
        // changed, or the failing test itself), the fault is in a function
        // it added that no test of it covers, or it changed only tests:
        // the model's turn.
        _ => None,
    }
}

/// The remedy the repair loop tries first.
fn remedy(repo: &Path, failure: &Failure) -> Option<Remedy> {
    let change = Repo::discover(repo)
        .expect("repo")
        .commit_change("HEAD")
        .expect("the commit's diff");
    remedy_for(repo, "", failure, change.as_ref())
        .or_else(|| revert_for(repo, "", failure, change.as_ref()))
}

fn apply(repo: &Path, name: &str, fix: &Remedy) {
    for edit in &fix.edits {
        let path = repo.join(&edit.file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.matches(&edit.old).count(), 1, "{name}: {edit:?}");
        std::fs::write(&path, text.replacen(&edit.old, &edit.new, 1)).expect("write");
    }
    let edits_tests = fix.edits.iter().any(|e| e.file.starts_with("tests/"));
    assert_eq!(
        fix.diagnosis.test_is_wrong.is_some(),
        edits_tests,
        "{name}: a test change, and only one, says why the test is wrong"
    );
}

/// The first code-fixable failure of a log (a file or a run's folder).
fn failure_in(log: &Path, name: &str) -> Failure {
    let analysis = analyze_path(log, &AnalyzeOptions::default()).expect("analyse");
    analysis
        .failures
        .into_iter()
        .find(|f| f.category.is_code_fixable())
        .unwrap_or_else(|| panic!("{name}: no code-fixable failure in {}", log.display()))
}

fn pytest(repo: &Path) -> (bool, String) {
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(repo)
        .output()
        .expect("python3 runs; hint: install python3 with pytest");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("No module named pytest"),
        "pytest is missing; hint: pip install pytest"
    );
    (out.status.success(), text)
}

#[test]
fn remedies_on_the_bundled_samples() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut names: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("sample_projects")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("sample.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 17, "the bundled samples: {names:?}");
    let mut fixed = Vec::new();
    let mut problems = Vec::new();
    for name in &names {
        let repo = scratch.path().join(name);
        let out = Command::new("bash")
            .arg(samples_dir().join("prepare.sh"))
            .arg(name)
            .arg(&repo)
            .output()
            .expect("bash runs prepare.sh");
        assert!(
            out.status.success(),
            "prepare.sh {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let logs = std::fs::read_dir(repo.join(".selfheal/logs"))
            .expect("logs")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.is_dir())
            .expect("a run folder");
        let fix = remedy(&repo, &failure_in(&logs, name));
        if fix.as_ref().map(|f| f.rule) != expected(name) {
            problems.push(format!("{name}: wanted {:?}, got {fix:#?}", expected(name)));
            continue;
        }
        let Some(fix) = fix else { continue };
        eprintln!(
            "{name}: {}\n{}",
            fix.diagnosis.summary, fix.diagnosis.root_cause
        );
        apply(&repo, name, &fix);
        let sample: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(samples_dir().join(name).join("sample.json"))
                .expect("sample.json"),
        )
        .expect("json");
        let (mut passed, mut output) = pytest(&repo);
        if let Some(next) = sample["expect_after_fix_1"].as_array() {
            // Two bugs: the first remedy gets past the first one only, and
            // the revert rule fixes the second from the new test run.
            assert!(!passed, "{name}: the second bug is still there");
            for want in next.iter().filter_map(|w| w.as_str()) {
                assert!(
                    output.contains(want),
                    "{name}: wanted {want:?} in\n{output}"
                );
            }
            let log = scratch.path().join(format!("{name}.log"));
            std::fs::write(&log, &output).expect("write the test run");
            let second = remedy(&repo, &failure_in(&log, name));
            let Some(second) = second.filter(|s| s.rule == Rule::Revert) else {
                problems.push(format!("{name}: no revert for the second bug:\n{output}"));
                continue;
            };
            eprintln!("{name}, then: {}", second.diagnosis.summary);
            apply(&repo, name, &second);
            (passed, output) = pytest(&repo);
        }
        if !passed {
            problems.push(format!(
                "{name}: the remedy left the tests failing:\n{output}"
            ));
            continue;
        }
        fixed.push(name.clone());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert_eq!(
        fixed.len(),
        12,
        "twelve samples are fixed outright: {fixed:?}"
    );
}
