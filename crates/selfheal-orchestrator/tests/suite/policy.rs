//! Honest fixes: what the policy refuses in realistic changes across
//! languages, and how a refusal reaches the model's next attempt.

use selfheal_orchestrator::policy::{self, Policy, TestEdit, TestEditKind, check, check_with};
use selfheal_patch::{ChangeSet, FileChange};
use selfheal_types::AttemptOutcome;

use super::{
    Events, Result, ScriptedModel, ScriptedSandbox, Setup, passed, project, proposal, tokens,
    whole_fix, without_times,
};

fn edited(path: &str, before: &str, after: &str) -> FileChange {
    FileChange {
        path: path.to_owned(),
        before: Some(before.to_owned()),
        after: after.to_owned(),
    }
}

fn refused(reason: &str) -> std::result::Result<(), String> {
    Err(reason.to_owned())
}

const CART_PY: &str = "def total(cart):\n    return sum(cart) * 1.2\n";
const CART_TEST_PY: &str = "from cart import total\n\n\ndef test_total():\n    assert total([500, 100]) == 720.0\n\n\ndef test_empty():\n    assert total([]) == 0\n";

#[tokio::test]
async fn narrowing_pytest_ini_is_refused_and_the_reason_reaches_the_next_attempt() -> Result<()> {
    let project = project()?;
    let deselect = proposal(
        "test_add is flaky",
        &[(
            "pytest.ini",
            "pythonpath = .\n",
            "pythonpath = .\naddopts = -k \"not test_add\"\n",
        )],
        tokens(300, 30),
    );
    let model = ScriptedModel::new([Ok(deselect), Ok(whole_fix(tokens(400, 50)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();

    let record = without_times(
        Setup::new(&project, &model, &sandbox, &events)
            .run()
            .await?,
    );

    let reason = "refused: the change narrows which tests run in pytest.ini (-k, --deselect, -m not, --ignore or collect_ignore); fix the code, not the test selection";
    assert_eq!(
        (
            record.attempts[0].outcome,
            record.attempts[0].reason.as_deref()
        ),
        (AttemptOutcome::NoUsableEdit, Some(reason))
    );
    assert_eq!(model.requests()[1].previous[0].outcome, reason);
    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    // The refused change never reached the sandbox.
    assert_eq!(sandbox.seen().len(), 1);
    Ok(())
}

#[test]
fn a_rust_fix_that_ignores_the_failing_test_is_refused() {
    let before = "use calc::add;\n\n#[test]\nfn adds() {\n    assert_eq!(add(2, 3), 5);\n}\n";
    let after = "use calc::add;\n\n#[test]\n#[ignore = \"broken upstream\"]\nfn adds() {\n    assert_eq!(add(2, 3), 5);\n}\n";
    let change = ChangeSet {
        files: vec![edited("tests/add.rs", before, after)],
    };
    assert_eq!(
        check(&change),
        refused("refused: the change skips a test in tests/add.rs")
    );
}

#[test]
fn a_rust_fix_that_expects_the_panic_is_refused() {
    let before = "#[test]\nfn parses() {\n    assert_eq!(parse(\"1.2\"), (1, 2));\n}\n";
    let after =
        "#[test]\n#[should_panic]\nfn parses() {\n    assert_eq!(parse(\"1.2\"), (1, 2));\n}\n";
    let change = ChangeSet {
        files: vec![edited("src/version_test.rs", before, after)],
    };
    assert_eq!(
        check(&change),
        refused(
            "refused: the change marks an existing test in src/version_test.rs #[should_panic], so it passes by failing"
        )
    );
}

#[test]
fn a_go_fix_that_recovers_in_the_test_is_refused() {
    let before = "func TestParse(t *testing.T) {\n\tif Parse(\"1.2\") != want {\n\t\tt.Fatalf(\"bad\")\n\t}\n}\n";
    let after = "func TestParse(t *testing.T) {\n\tdefer func() { _ = recover() }()\n\tif Parse(\"1.2\") != want {\n\t\tt.Fatalf(\"bad\")\n\t}\n}\n";
    let change = ChangeSet {
        files: vec![edited("version/parse_test.go", before, after)],
    };
    assert_eq!(
        check(&change),
        refused(
            "refused: the change catches the failure in version/parse_test.go with recover(), so the test cannot fail; fix the code, not the test"
        )
    );
}

#[test]
fn a_js_fix_that_focuses_one_test_is_refused() {
    let before = "test('adds', () => {\n  expect(add(2, 3)).toBe(5);\n});\n\ntest('subs', () => {\n  expect(sub(3, 2)).toBe(1);\n});\n";
    let after = before.replace("test('subs'", "test.only('subs'");
    let change = ChangeSet {
        files: vec![edited("src/calc.test.js", before, &after)],
    };
    assert_eq!(
        check(&change),
        refused(
            "refused: the change adds .only to src/calc.test.js, which silently skips every other test"
        )
    );
}

#[test]
fn a_kotlin_fix_that_disables_the_test_is_refused() {
    let before = "class CartTest {\n    @Test\n    fun totals() {\n        assertEquals(720.0, total(listOf(500, 100)))\n    }\n}\n";
    let after = before.replace("    @Test\n", "    @Test\n    @Disabled\n");
    let change = ChangeSet {
        files: vec![edited("src/test/kotlin/CartTest.kt", before, &after)],
    };
    assert_eq!(
        check(&change),
        refused("refused: the change skips a test in src/test/kotlin/CartTest.kt")
    );
}

#[test]
fn a_python_fix_that_swallows_the_assertion_is_refused() {
    let after = CART_TEST_PY.replace(
        "    assert total([500, 100]) == 720.0\n",
        "    try:\n        assert total([500, 100]) == 720.0\n    except Exception:\n        pass\n",
    );
    let change = ChangeSet {
        files: vec![edited("tests/test_cart.py", CART_TEST_PY, &after)],
    };
    assert_eq!(
        check(&change),
        refused(
            "refused: the change catches the failure in tests/test_cart.py with try/except, so the test cannot fail; fix the code, not the test"
        )
    );
}

#[test]
fn a_python_fix_that_approximates_the_expected_value_is_refused() {
    let after = CART_TEST_PY.replace("== 720.0", "== pytest.approx(720.0, rel=0.2)");
    let change = ChangeSet {
        files: vec![edited("tests/test_cart.py", CART_TEST_PY, &after)],
    };
    assert_eq!(
        check(&change),
        refused(
            "refused: the change wraps an expected value in tests/test_cart.py in pytest.approx, so a wrong result can pass"
        )
    );
}

#[test]
fn moving_tests_out_of_the_runners_sight_is_refused() {
    let change = ChangeSet {
        files: vec![
            edited("./tests/test_cart.py", CART_TEST_PY, ""),
            FileChange {
                path: "scripts/cart_checks.py".to_owned(),
                before: None,
                after: CART_TEST_PY.to_owned(),
            },
        ],
    };
    assert_eq!(
        check(&change),
        refused(
            "refused: the change renames test file tests/test_cart.py to scripts/cart_checks.py, where the test runner does not find it; fix the code, not the test"
        )
    );
    assert_eq!(
        policy::test_edits(&change),
        [TestEdit {
            path: "tests/test_cart.py".to_owned(),
            kind: TestEditKind::RenamedAway {
                to: "scripts/cart_checks.py".to_owned()
            },
        }]
    );
}

#[test]
fn editing_the_workflow_is_refused_however_the_path_is_written() {
    let change = ChangeSet {
        files: vec![edited(
            "/./ci/../.github/workflows/ci.yml",
            "run: pytest\n",
            "run: pytest || true\n",
        )],
    };
    assert_eq!(
        check(&change),
        refused(
            "refused: the change touches .github/workflows/ci.yml, which a repair may not edit (denied by .github/**)"
        )
    );
}

/// The bundled `test-expectation` sample is fixed by correcting the test's
/// number: the policy allows it, and the loop then asks for the model's
/// reason and the user's consent.
#[test]
fn the_test_expectation_fix_passes_the_policy_and_needs_consent() {
    let before = "def test_cart_over_500_gets_ten_percent():\n    cart = Cart().add(\"desk\", \"300\", 2)\n    assert cart.subtotal() == Decimal(\"600\")\n    assert cart.total() == Decimal(\"684.00\")\n";
    let after = before.replace("684.00", "648.00");
    let change = ChangeSet {
        files: vec![edited("tests/test_cart.py", before, &after)],
    };
    assert_eq!(check(&change), Ok(()));
    assert_eq!(
        policy::consent_needed(&change),
        [TestEdit {
            path: "tests/test_cart.py".to_owned(),
            kind: TestEditKind::ExpectationChanged {
                before: "assert cart.total() == Decimal(\"684.00\")".to_owned(),
                after: "assert cart.total() == Decimal(\"648.00\")".to_owned(),
            },
        }]
    );
}

#[test]
fn a_code_fix_with_a_matching_expectation_still_needs_consent_for_the_test() {
    let change = ChangeSet {
        files: vec![
            edited("cart.py", CART_PY, &CART_PY.replace("1.2", "1.25")),
            edited(
                "tests/test_cart.py",
                CART_TEST_PY,
                &CART_TEST_PY.replace("720.0", "750.0"),
            ),
        ],
    };
    assert_eq!(check_with(&change, &Policy::default()), Ok(()));
    assert_eq!(policy::consent_needed(&change).len(), 1);
}

/// The model "fixes" the failing `test_add` by changing what it expects.
fn expectation_edit(test_is_wrong: Option<&str>) -> selfheal_reason::Proposal {
    let mut p = proposal(
        "Expect what add() returns",
        &[(
            "tests/test_calc.py",
            "assert add(2, 3) == 5",
            "assert add(2, 3) == 4",
        )],
        tokens(300, 30),
    );
    p.diagnosis.test_is_wrong = test_is_wrong.map(str::to_owned);
    p
}

/// Consents to test edits when asked, and counts how often it was.
#[derive(Default)]
struct ConsentingApprover {
    asked: std::sync::Mutex<Vec<(Vec<String>, String)>>,
}

#[async_trait::async_trait]
impl selfheal_orchestrator::Approver for ConsentingApprover {
    async fn approve(
        &self,
        _: &ChangeSet,
        _: &selfheal_types::Diagnosis,
    ) -> selfheal_orchestrator::Approval {
        selfheal_orchestrator::Approval::Approved
    }

    async fn approve_test_edits(
        &self,
        changes: &[String],
        reason: &str,
    ) -> selfheal_orchestrator::Approval {
        self.asked
            .lock()
            .expect("lock")
            .push((changes.to_vec(), reason.to_owned()));
        selfheal_orchestrator::Approval::Approved
    }
}

#[tokio::test]
async fn a_test_edit_without_a_reason_is_refused_and_the_model_is_told_why() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([Ok(expectation_edit(None)), Ok(whole_fix(tokens(400, 50)))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    // Consent given beforehand does not excuse a missing reason.
    setup.settings.policy.allow_test_edits = true;
    let record = setup.run().await?;

    let reason = "refused: the change edits tests (tests/test_calc.py) but the reply does not say why the test is wrong; fix the code under test, or, if the test itself is wrong, say why in diagnosis.test_is_wrong";
    assert_eq!(record.attempts[0].outcome, AttemptOutcome::NoUsableEdit);
    assert_eq!(record.attempts[0].reason.as_deref(), Some(reason));
    assert_eq!(model.requests()[1].previous[0].outcome, reason);
    assert_eq!(record.attempts[1].test_change, None);
    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    Ok(())
}

#[tokio::test]
async fn yes_alone_does_not_consent_to_a_test_edit() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([
        Ok(expectation_edit(Some("the spec says 4"))),
        Ok(whole_fix(tokens(400, 50))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    // Setup's approver is ApproveAll: `--yes`.
    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    assert_eq!(record.attempts[0].outcome, AttemptOutcome::NoUsableEdit);
    assert_eq!(
        record.attempts[0].reason.as_deref(),
        Some(
            "refused: the change edits tests (tests/test_calc.py), which the user has not allowed (--allow-test-edits); fix the code under test"
        )
    );
    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(
        sandbox.seen().len(),
        1,
        "the refused change was never validated"
    );
    Ok(())
}

#[tokio::test]
async fn with_the_flag_a_reasoned_test_edit_is_validated_and_recorded() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([Ok(expectation_edit(Some("the spec says 4")))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.policy.allow_test_edits = true;
    let record = setup.run().await?;

    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(
        record.attempts[0].test_change,
        Some(selfheal_types::TestChange {
            changes: vec![
                "tests/test_calc.py: `assert add(2, 3) == 5` became `assert add(2, 3) == 4`"
                    .to_owned()
            ],
            reason: "the spec says 4".to_owned(),
            consent: selfheal_types::TestEditConsent::Flag,
        })
    );
    Ok(())
}

#[tokio::test]
async fn at_a_terminal_the_user_is_asked_naming_each_test_change() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([Ok(expectation_edit(Some("the spec says 4")))]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let approver = ConsentingApprover::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.approver = &approver;
    let record = setup.run().await?;

    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(
        *approver.asked.lock().expect("lock"),
        [(
            vec![
                "tests/test_calc.py: `assert add(2, 3) == 5` became `assert add(2, 3) == 4`"
                    .to_owned()
            ],
            "the spec says 4".to_owned()
        )]
    );
    assert_eq!(
        record.attempts[0].test_change.as_ref().map(|c| c.consent),
        Some(selfheal_types::TestEditConsent::Confirmed)
    );
    Ok(())
}
