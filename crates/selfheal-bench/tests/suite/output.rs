//! The report's two shapes, from the same results: JSON for machines and a
//! table for people.

use std::collections::BTreeMap;

use selfheal_bench::guard::TestsVerdict;
use selfheal_bench::report::{AttemptSummary, CaseResult, Report, RunResult, RunStatus};
use selfheal_types::{AttemptOutcome, Stage, TokenUsage};
use serde_json::json;

fn fixed(attempts: u32, prompt: u64, wall_ms: u64, tests: TestsVerdict) -> RunResult {
    RunResult {
        status: RunStatus::Fixed,
        reason: None,
        exit_code: Some(0),
        model: Some("local-model".to_owned()),
        attempts,
        tokens: TokenUsage {
            prompt,
            completion: 100,
        },
        stages_ms: BTreeMap::from([(Stage::Reason, 2_000), (Stage::Validate, 8_000)]),
        wall_ms,
        per_attempt: vec![AttemptSummary {
            outcome: AttemptOutcome::Validated,
            tokens: TokenUsage {
                prompt,
                completion: 100,
            },
            reason: None,
            remedy: None,
        }],
        files: vec!["tests/test_cart.py".to_owned()],
        tests: Some(tests),
        tests_note: None,
    }
}

fn not_fixed(wall_ms: u64) -> RunResult {
    RunResult {
        status: RunStatus::NotFixed,
        reason: Some("no validated patch within 3 attempts".to_owned()),
        exit_code: Some(1),
        model: Some("local-model".to_owned()),
        attempts: 3,
        tokens: TokenUsage {
            prompt: 3_000,
            completion: 300,
        },
        stages_ms: BTreeMap::from([(Stage::Reason, 6_000), (Stage::Validate, 0)]),
        wall_ms,
        per_attempt: vec![
            AttemptSummary {
                outcome: AttemptOutcome::NoUsableEdit,
                tokens: TokenUsage {
                    prompt: 1_000,
                    completion: 100,
                },
                reason: Some("the edit's old text is not in src/a.py".to_owned()),
                remedy: None,
            };
            3
        ],
        files: Vec::new(),
        tests: None,
        tests_note: None,
    }
}

fn report() -> Report {
    Report::new(
        "/suite".to_owned(),
        1,
        vec![
            CaseResult::new(
                "test-expectation".to_owned(),
                "wrong test expectation".to_owned(),
                true,
                Some(vec!["tests/test_cart.py".to_owned()]),
                vec![fixed(1, 1_000, 12_000, TestsVerdict::AsKnownFix)],
            ),
            CaseResult::new(
                "logic-bug".to_owned(),
                "logic bug".to_owned(),
                false,
                None,
                vec![not_fixed(30_000)],
            ),
            CaseResult::new(
                "broken".to_owned(),
                "a case whose kind is described at great length".to_owned(),
                false,
                None,
                vec![RunResult::error("could not prepare the case: x", None, 0)],
            ),
        ],
    )
}

#[test]
fn json_has_every_case_and_the_totals() {
    let value = serde_json::to_value(report()).expect("serializes");
    assert_eq!(
        value,
        json!({
            "schema": "selfheal.bench/v1",
            "suite": "/suite",
            "repeat": 1,
            "cases": [
                {
                    "name": "test-expectation",
                    "kind": "wrong test expectation",
                    "allow_test_edits": true,
                    "known_fix_files": ["tests/test_cart.py"],
                    "fixed": 1,
                    "rate": 1.0,
                    "runs": [{
                        "status": "fixed",
                        "exit_code": 0,
                        "model": "local-model",
                        "attempts": 1,
                        "tokens": {"prompt": 1000, "completion": 100},
                        "stages_ms": {"reason": 2000, "validate": 8000},
                        "wall_ms": 12000,
                        "per_attempt": [{"outcome": "validated", "tokens": {"prompt": 1000, "completion": 100}}],
                        "files": ["tests/test_cart.py"],
                        "tests": "as_known_fix"
                    }]
                },
                {
                    "name": "logic-bug",
                    "kind": "logic bug",
                    "allow_test_edits": false,
                    "fixed": 0,
                    "rate": 0.0,
                    "runs": [{
                        "status": "not_fixed",
                        "reason": "no validated patch within 3 attempts",
                        "exit_code": 1,
                        "model": "local-model",
                        "attempts": 3,
                        "tokens": {"prompt": 3000, "completion": 300},
                        "stages_ms": {"reason": 6000, "validate": 0},
                        "wall_ms": 30000,
                        "per_attempt": [
                            {"outcome": "no_usable_edit", "tokens": {"prompt": 1000, "completion": 100}, "reason": "the edit's old text is not in src/a.py"},
                            {"outcome": "no_usable_edit", "tokens": {"prompt": 1000, "completion": 100}, "reason": "the edit's old text is not in src/a.py"},
                            {"outcome": "no_usable_edit", "tokens": {"prompt": 1000, "completion": 100}, "reason": "the edit's old text is not in src/a.py"}
                        ],
                        "files": []
                    }]
                },
                {
                    "name": "broken",
                    "kind": "a case whose kind is described at great length",
                    "allow_test_edits": false,
                    "fixed": 0,
                    "rate": 0.0,
                    "runs": [{
                        "status": "error",
                        "reason": "could not prepare the case: x",
                        "exit_code": null,
                        "attempts": 0,
                        "tokens": {"prompt": 0, "completion": 0},
                        "stages_ms": {},
                        "wall_ms": 0,
                        "per_attempt": [],
                        "files": []
                    }]
                }
            ],
            "totals": {
                "cases": 3,
                "runs": 3,
                "fixed": 1,
                "not_fixed": 1,
                "errors": 1,
                "rate": 1.0 / 3.0,
                "median_wall_ms": 12000,
                "tokens": {"prompt": 4000, "completion": 400},
                "tests_changed": 0,
                "models": ["local-model"]
            }
        })
    );
    assert!(
        !report().harness_ok(),
        "an error run means the harness broke"
    );
    // And it reads back.
    let back: Report = serde_json::from_str(&report().to_json()).expect("parses back");
    assert_eq!(back, report());
}

#[test]
fn table_has_a_row_per_case_and_a_totals_line() {
    assert_eq!(
        report().to_table(),
        "\
case              kind                          fixed  attempts  prompt  completion  reason  validate   wall  tests
test-expectation  wrong test expectation        yes           1    1000         100    2.0s      8.0s  12.0s  as known fix
logic-bug         logic bug                     no            3    3000         300    6.0s      0.0s  30.0s  -
broken            a case whose kind is descri…  ERROR         -       -           -       -         -   0.0s  -
fixed 1/3 (33%) with local-model, median 12.0s per run, tokens 4000 prompt + 400 completion, tests changed 0, harness errors 1
"
    );
}

#[test]
fn with_repeats_a_row_shows_the_rate_means_and_medians() {
    let report = Report::new(
        "/suite".to_owned(),
        3,
        vec![CaseResult::new(
            "syntax-error".to_owned(),
            "syntax error".to_owned(),
            false,
            None,
            vec![
                fixed(1, 1_000, 10_000, TestsVerdict::Intact),
                fixed(2, 2_000, 20_000, TestsVerdict::Intact),
                not_fixed(40_000),
            ],
        )],
    );
    assert_eq!(report.cases[0].fixed, 2);
    assert!((report.cases[0].rate - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        report.to_table().lines().nth(1),
        Some(
            "syntax-error  syntax error  2/3           2    2000       166.7    2.0s      8.0s  20.0s  intact"
        )
    );
    assert!(report.harness_ok());
}

#[test]
fn a_fix_a_remedy_validated_is_counted_apart() {
    let mut by_remedy = fixed(1, 0, 3_000, TestsVerdict::Intact);
    by_remedy.tokens = TokenUsage::default();
    by_remedy.per_attempt[0].remedy = Some("renamed-name".to_owned());
    let report = Report::new(
        "/suite".to_owned(),
        1,
        vec![
            CaseResult::new(
                "cross-file-rename".to_owned(),
                "rename across two files".to_owned(),
                false,
                None,
                vec![by_remedy],
            ),
            CaseResult::new(
                "syntax-error".to_owned(),
                "syntax error".to_owned(),
                false,
                None,
                vec![fixed(1, 1_000, 10_000, TestsVerdict::Intact)],
            ),
        ],
    );
    assert_eq!(report.totals.fixed, 2);
    assert_eq!(report.totals.fixed_by_remedy, 1);
    assert!(
        report
            .to_table()
            .contains("fixed 2/2 (100%) (1 by a remedy, no model) with local-model"),
        "{}",
        report.to_table()
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert_eq!(json["totals"]["fixed_by_remedy"], 1);
    assert_eq!(
        json["cases"][0]["runs"][0]["per_attempt"][0]["remedy"],
        "renamed-name"
    );
}
