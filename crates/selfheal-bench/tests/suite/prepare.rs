//! The Rust preparation gives the very repository `prepare.sh` gives: same
//! commits (so the same shas the cached logs name), same logs, same ignore file.

use std::path::Path;
use std::process::Command;

use selfheal_bench::suite::Suite;
use serde_json::Value;

use super::harness::{git, samples_dir};

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("under").display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_sample_prepares_to_the_same_shas_as_prepare_sh() {
    let suite = Suite::load(&samples_dir()).expect("the bundled suite loads");
    assert!(suite.cases.len() >= 17, "expected the bundled samples");
    let tmp = tempfile::tempdir().expect("tempdir");
    for case in &suite.cases {
        let by_script = tmp.path().join(format!("{}-sh", case.name));
        let by_rust = tmp.path().join(format!("{}-rs", case.name));
        let out = Command::new("bash")
            .arg(samples_dir().join("prepare.sh"))
            .arg(&case.name)
            .arg(&by_script)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "prepare.sh {}: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let head = selfheal_bench::prepare::prepare_case(case, &by_rust)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));

        assert_eq!(
            head,
            git(&by_script, &["rev-parse", "HEAD"]),
            "{}: HEAD",
            case.name
        );
        assert_eq!(git(&by_rust, &["rev-parse", "HEAD"]), head, "{}", case.name);
        assert_eq!(
            git(&by_rust, &["rev-parse", "HEAD^"]),
            git(&by_script, &["rev-parse", "HEAD^"]),
            "{}: the initial commit",
            case.name
        );
        assert_eq!(
            git(&by_rust, &["symbolic-ref", "HEAD"]),
            "refs/heads/main",
            "{}",
            case.name
        );
        assert_eq!(
            git(&by_rust, &["status", "--porcelain"]),
            "",
            "{}: clean",
            case.name
        );

        let logs = |root: &Path| root.join(".selfheal");
        assert_eq!(
            files_under(&logs(&by_rust)),
            files_under(&logs(&by_script)),
            "{}: .selfheal/",
            case.name
        );
        for file in files_under(&logs(&by_script)) {
            let a = std::fs::read(logs(&by_script).join(&file)).expect("read");
            let b = std::fs::read(logs(&by_rust).join(&file)).expect("read");
            if file.ends_with("run.json") {
                let a: Value = serde_json::from_slice(&a).expect("json");
                let b: Value = serde_json::from_slice(&b).expect("json");
                assert_eq!(b, a, "{}: {file}", case.name);
                assert_eq!(b["head_sha"], Value::String(head.clone()), "{}", case.name);
            } else {
                assert!(a == b, "{}: {file} differs", case.name);
            }
        }
    }
}

#[test]
fn preparing_into_a_non_empty_folder_is_refused() {
    let suite = Suite::load(&samples_dir().join("syntax-error")).expect("loads");
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("x"), "x").expect("write");
    let err =
        selfheal_bench::prepare::prepare_case(&suite.cases[0], tmp.path()).expect_err("not empty");
    assert_eq!(
        err.to_string(),
        format!(
            "{} exists and is not empty; hint: pass a new directory",
            tmp.path().display()
        )
    );
}
