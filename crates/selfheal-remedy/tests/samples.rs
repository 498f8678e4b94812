//! The yardstick for [`remedy`] on every bundled sample: where the
//! sample's bug is a missing name with the evidence in sight, the remedy
//! must make the sample's tests pass (for a sample with two bugs, get to the
//! second one); on every other sample there must be no remedy at all,
//! since a wrong guess costs a sandbox run and a model attempt.
//!
//! Needs `bash`, `git` and `python3` with pytest (as `sample_projects/tools/verify.sh` does).

use std::path::{Path, PathBuf};
use std::process::Command;

use selfheal_analyze::{AnalyzeOptions, analyze_path};
use selfheal_git::Repo;
use selfheal_remedy::{Rule, remedy_for};

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
        _ => None,
    }
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
    let mut fixed = 0;
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
        let analysis = analyze_path(&logs, &AnalyzeOptions::default()).expect("analyse");
        let failure = analysis
            .failures
            .iter()
            .find(|f| f.category.is_code_fixable())
            .unwrap_or_else(|| panic!("{name}: no code-fixable failure"));
        let change = Repo::discover(&repo)
            .expect("repo")
            .commit_change("HEAD")
            .expect("the commit's diff");
        let fix = remedy_for(&repo, "", failure, change.as_ref());
        assert_eq!(
            fix.as_ref().map(|f| f.rule),
            expected(name),
            "{name}: {fix:#?}"
        );
        let Some(fix) = fix else { continue };
        for edit in &fix.edits {
            let path = repo.join(&edit.file);
            let text = std::fs::read_to_string(&path).expect("read");
            assert_eq!(text.matches(&edit.old).count(), 1, "{name}: {edit:?}");
            std::fs::write(&path, text.replacen(&edit.old, &edit.new, 1)).expect("write");
        }
        let sample: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(samples_dir().join(name).join("sample.json"))
                .expect("sample.json"),
        )
        .expect("json");
        let (passed, output) = pytest(&repo);
        if let Some(next) = sample["expect_after_fix_1"].as_array() {
            // Two bugs: the remedy gets past the first one only.
            assert!(!passed, "{name}: the second bug is still there");
            for want in next.iter().filter_map(|w| w.as_str()) {
                assert!(
                    output.contains(want),
                    "{name}: wanted {want:?} in\n{output}"
                );
            }
        } else {
            assert!(
                passed,
                "{name}: the remedy left the tests failing:\n{output}"
            );
            fixed += 1;
        }
        let edits_tests = fix.edits.iter().any(|e| e.file.starts_with("tests/"));
        assert_eq!(
            fix.diagnosis.test_is_wrong.is_some(),
            edits_tests,
            "{name}: a test change, and only one, says why the test is wrong"
        );
    }
    assert_eq!(fixed, 6, "six samples are fixed outright");
}
