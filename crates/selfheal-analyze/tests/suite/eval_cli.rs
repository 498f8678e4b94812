//! `selfheal-eval`'s options: the tuning part alone never shows a held-out
//! figure, the fallback alone scores below every parser, and a bad argument
//! is a one-line error.

use std::process::Command;

use super::corpora;

fn eval(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_selfheal-eval"))
        .args(args)
        .output()
        .expect("selfheal-eval runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// hit@1 of the `LogChunks tuning` line.
fn tuning_hit1(stdout: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("LogChunks tuning"))
        .unwrap_or_else(|| panic!("no tuning line in {stdout}"));
    let after = line.split("hit@1").nth(1).expect("hit@1");
    after
        .trim_start()
        .split('%')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no figure in {line}"))
}

#[test]
fn the_tuning_part_alone_and_the_fallback_alone() {
    let corpus = corpora();
    let corpus = corpus.to_str().expect("utf-8 path");
    let (ok, every, err) = eval(&["--corpus", corpus, "--tuning-only"]);
    assert!(ok, "{err}");
    assert!(!every.contains("held-out"), "{every}");
    let (ok, fallback, err) = eval(&["--corpus", corpus, "--tuning-only", "--fallback-only"]);
    assert!(ok, "{err}");
    assert!(!fallback.contains("held-out"), "{fallback}");
    assert!(
        tuning_hit1(&fallback) < tuning_hit1(&every),
        "the fallback alone should score below every parser:\n{every}\n{fallback}"
    );
}

#[test]
fn a_bad_argument_is_a_one_line_error() {
    let (ok, _, err) = eval(&["--no-such-option"]);
    assert!(!ok);
    assert!(err.contains("unknown argument --no-such-option"), "{err}");
    assert!(err.lines().count() <= 2, "{err}");
}
