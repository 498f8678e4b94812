use std::path::Path;

use selfheal_git::FileChange;
use selfheal_types::{Category, LineSpan, Location};

use super::*;

fn failure(message: &str, test: Option<&str>, locations: &[(&str, u32)]) -> Failure {
    Failure {
        category: Category::TestError,
        tool: "pytest".into(),
        message: message.into(),
        test: test.map(Into::into),
        locations: locations
            .iter()
            .map(|(file, line)| Location {
                file: (*file).into(),
                line: Some(*line),
                column: None,
            })
            .collect(),
        job: None,
        step: None,
        log_file: None,
        log_span: LineSpan { start: 1, end: 1 },
        fingerprint: String::new(),
        flaky: None,
    }
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

fn change(file: &str, diff: &str) -> CommitChange {
    CommitChange {
        commit: "abc1234".into(),
        parent: "0000000".into(),
        subject: "A change".into(),
        files: vec![FileChange {
            path: file.into(),
            renamed_from: None,
            patch: diff.into(),
            omitted: None,
            added: 0,
            removed: 0,
        }],
    }
}

#[test]
fn a_call_the_rename_missed_is_brought_along() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        &[
            (
                "src/shop/shipping.py",
                "def shipping_cost(w, z):\n    return 1\n",
            ),
            (
                "src/shop/checkout.py",
                "from shop import shipping\n\n\ndef total(w, z):\n    # compute_shipping, in a comment, stays\n    cost = shipping.compute_shipping(w, z)\n    return cost + shipping.compute_shipping(0, z)\n",
            ),
        ],
    );
    let c = change(
        "src/shop/shipping.py",
        "@@ -1,2 +1,2 @@\n-def compute_shipping(w, z):\n+def shipping_cost(w, z):\n     return 1\n",
    );
    let f = failure(
        "AttributeError: module 'shop.shipping' has no attribute 'compute_shipping'",
        Some("tests/test_checkout.py::test_total"),
        &[
            ("/home/runner/work/shop/shop/src/shop/checkout.py", 6),
            ("tests/test_checkout.py", 3),
        ],
    );
    let fix = remedy_for(root, "", &f, Some(&c)).expect("a remedy");
    assert_eq!(fix.rule, Rule::Renamed);
    assert_eq!(
        fix.edits,
        [Replacement {
            file: "src/shop/checkout.py".into(),
            old: "    cost = shipping.compute_shipping(w, z)\n    return cost + shipping.compute_shipping(0, z)".into(),
            new: "    cost = shipping.shipping_cost(w, z)\n    return cost + shipping.shipping_cost(0, z)".into(),
        }]
    );
    assert!(
        fix.diagnosis
            .root_cause
            .contains("Commit abc1234 renamed compute_shipping to shipping_cost")
    );
    assert_eq!(fix.diagnosis.test_is_wrong, None);
    // Without the commit's evidence the names are too far apart to guess.
    assert_eq!(remedy_for(root, "", &f, None), None);
}

#[test]
fn a_misspelt_import_is_aliased_under_the_name_it_asked_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        &[
            (
                "src/textkit/slug.py",
                "def normalize_whitespace(s):\n    return s\n\n\ndef slugify(s):\n    return s\n",
            ),
            (
                "src/textkit/__init__.py",
                "\"\"\"Text.\"\"\"\n\nfrom .slug import (\n    normalise_whitespace,\n    slugify,\n)\n",
            ),
        ],
    );
    let f = failure(
        "ImportError: cannot import name 'normalise_whitespace' from 'textkit.slug' (/w/src/textkit/slug.py)",
        Some("tests/test_slug.py"),
        &[("src/textkit/__init__.py", 3), ("tests/test_slug.py", 1)],
    );
    let fix = remedy_for(root, "", &f, None).expect("a remedy");
    assert_eq!(fix.rule, Rule::NearName);
    assert_eq!(fix.edits.len(), 1);
    assert_eq!(
        fix.edits[0].new,
        "from .slug import (\n    normalize_whitespace as normalise_whitespace,\n    slugify,\n)"
    );
    assert_eq!(
        fix.diagnosis.summary,
        "Import normalize_whitespace as normalise_whitespace"
    );
}

#[test]
fn an_import_already_renamed_with_as_keeps_its_alias() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        &[
            (
                "textkit/slug.py",
                "def normalize_whitespace(s):\n    return s\n",
            ),
            (
                "textkit/wrap.py",
                "from textkit.slug import normalise_whitespace as squash\n",
            ),
        ],
    );
    let f = failure(
        "ImportError: cannot import name 'normalise_whitespace' from 'textkit.slug'",
        None,
        &[("textkit/wrap.py", 1)],
    );
    let fix = remedy_for(root, "", &f, None).expect("a remedy");
    assert_eq!(
        fix.edits[0].new,
        "from textkit.slug import normalize_whitespace as squash"
    );
}

#[test]
fn an_attribute_renamed_everywhere_but_one_method() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let stock = "class Inventory:\n    def __init__(self):\n        self._lines = {}\n\n    def add(self, sku):\n        self._lines[sku] = 1\n\n    def low(self):\n        _items = 3\n        return [s for s in self._items if s] + [_items]\n";
    write(root, &[("inventory/stock.py", stock)]);
    let c = change(
        "inventory/stock.py",
        "@@ -1,6 +1,6 @@\n-        self._items = {}\n+        self._lines = {}\n@@ -5 +5 @@\n-        self._items[sku] = 1\n+        self._lines[sku] = 1\n",
    );
    let f = failure(
        "AttributeError: 'Inventory' object has no attribute '_items'",
        None,
        &[("inventory/stock.py", 10)],
    );
    let fix = remedy_for(root, "", &f, Some(&c)).expect("a remedy");
    assert_eq!(fix.rule, Rule::Renamed);
    assert_eq!(
        fix.edits[0].new, "        return [s for s in self._lines if s] + [_items]",
        "only the attribute, not the local of the same name"
    );
    // `_lines` is too far from `_items` for the near-name rule.
    assert_eq!(remedy_for(root, "", &f, None), None);
}

#[test]
fn a_removed_import_comes_back_before_the_first_import() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let sphere = "\"\"\"Geo.\"\"\"\n\nfrom __future__ import annotations\n\nfrom math import asin, cos\n\n\ndef bearing(a):\n    return math.atan2(a, 1)\n";
    write(root, &[("src/geo/sphere.py", sphere)]);
    let c = change(
        "src/geo/sphere.py",
        "@@ -4,2 +4,2 @@\n-import math\n+from math import asin, cos\n",
    );
    let f = failure(
        "NameError: name 'math' is not defined",
        Some("tests/test_sphere.py::test_bearing"),
        &[("src/geo/sphere.py", 9)],
    );
    let fix = remedy_for(root, "", &f, Some(&c)).expect("a remedy");
    assert_eq!(fix.rule, Rule::RemovedImport);
    assert_eq!(
        fix.edits,
        [Replacement {
            file: "src/geo/sphere.py".into(),
            old: "from math import asin, cos".into(),
            new: "import math\nfrom math import asin, cos".into(),
        }]
    );
    assert_eq!(
        fix.diagnosis.summary,
        "Restore `import math` in src/geo/sphere.py"
    );
    // Without the commit there is no name near `math` to use.
    assert_eq!(remedy_for(root, "", &f, None), None);
}

#[test]
fn a_misspelt_local_is_the_near_name_in_its_function() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let fields = "def _expand(part):\n    base, _, step_text = part.partition('/')\n    if step_txt:\n        return int(step_txt)\n    return base\n\n\ndef other():\n    step_txt = 1\n    return step_txt\n";
    write(root, &[("cronparse/fields.py", fields)]);
    let f = failure(
        "NameError: name 'step_txt' is not defined",
        None,
        &[("cronparse/fields.py", 3)],
    );
    let fix = remedy_for(root, "", &f, None).expect("a remedy");
    assert_eq!(fix.rule, Rule::NearName);
    assert_eq!(
        fix.edits,
        [Replacement {
            file: "cronparse/fields.py".into(),
            old: "    if step_txt:\n        return int(step_txt)".into(),
            new: "    if step_text:\n        return int(step_text)".into(),
        }]
    );
}

#[test]
fn a_renamed_fixture_is_requested_by_its_new_name_as_a_test_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        &[
            (
                "tests/conftest.py",
                "import pytest\n\n\n@pytest.fixture\ndef dotenv_path(tmp_path):\n    return tmp_path\n",
            ),
            (
                "tests/test_settings.py",
                "def test_load(dotenv_path):\n    assert dotenv_path\n\n\ndef test_bad(env_file):\n    env_file.write_text('x')\n    assert env_file\n",
            ),
        ],
    );
    let c = change(
        "tests/conftest.py",
        "@@ -4,3 +4,3 @@\n @pytest.fixture\n-def env_file(tmp_path):\n+def dotenv_path(tmp_path):\n",
    );
    let f = failure(
        "fixture 'env_file' not found",
        Some("tests/test_settings.py::test_bad"),
        &[],
    );
    let fix = remedy_for(root, "", &f, Some(&c)).expect("a remedy");
    assert_eq!(fix.rule, Rule::Renamed);
    assert_eq!(
        fix.edits[0].new,
        "def test_bad(dotenv_path):\n    dotenv_path.write_text('x')\n    assert dotenv_path"
    );
    assert!(
        fix.diagnosis.test_is_wrong.is_some(),
        "a test change says why"
    );
    assert_eq!(
        fix.diagnosis.summary,
        "Request the fixture dotenv_path in test_bad"
    );
}

#[test]
fn an_import_of_a_module_the_commit_renamed_names_its_new_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        &[
            (
                "src/weather/conversions.py",
                "def c_to_f(c):\n    return c\n",
            ),
            (
                "src/weather/report.py",
                "from weather.units import c_to_f\nfrom .units import c_to_f as f2\nimport weather.units as u\n",
            ),
        ],
    );
    let mut c = change("src/weather/conversions.py", "");
    c.files[0].renamed_from = Some("src/weather/units.py".into());
    let at = |line: u32| {
        failure(
            "ModuleNotFoundError: No module named 'weather.units'",
            Some("tests/test_report.py"),
            &[("src/weather/report.py", line)],
        )
    };
    let news: Vec<String> = (1..=3)
        .map(|line| {
            let fix = remedy_for(root, "", &at(line), Some(&c)).expect("a remedy");
            assert_eq!(fix.rule, Rule::MovedModule);
            fix.edits[0].new.clone()
        })
        .collect();
    assert_eq!(
        news,
        [
            "from weather.conversions import c_to_f",
            "from .conversions import c_to_f as f2",
            "import weather.conversions as u"
        ]
    );
    let fix = remedy_for(root, "", &at(1), Some(&c)).expect("a remedy");
    assert!(
        fix.diagnosis
            .root_cause
            .contains("abc1234 renamed src/weather/units.py to src/weather/conversions.py"),
        "{}",
        fix.diagnosis.root_cause
    );
    // Without the rename in the commit there is nothing to go on.
    assert_eq!(remedy_for(root, "", &at(1), None), None);
}

#[test]
fn no_fix_without_a_missing_name_or_a_sure_replacement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, &[("a.py", "def f():\n    return zzz\n")]);
    for message in [
        "AssertionError: assert 1 == 2",
        "NameError: name 'zzz' is not defined",
        "AttributeError: 'Nope' object has no attribute 'x'",
    ] {
        assert_eq!(
            remedy_for(root, "", &failure(message, None, &[("a.py", 2)]), None),
            None,
            "{message}"
        );
    }
    // A location outside the tree, or a line that does not use the name.
    let f = failure(
        "NameError: name 'zzz' is not defined",
        None,
        &[("../etc/a.py", 2), ("a.py", 1)],
    );
    assert_eq!(remedy_for(root, "", &f, None), None);
}

#[test]
fn the_reply_is_what_a_model_would_answer() {
    let fix = Remedy {
        rule: Rule::NearName,
        diagnosis: Diagnosis {
            summary: "s".into(),
            root_cause: "r".into(),
            test_is_wrong: None,
        },
        edits: vec![Replacement {
            file: "a.py".into(),
            old: "x".into(),
            new: "y".into(),
        }],
    };
    let v: serde_json::Value = serde_json::from_str(&fix.reply()).expect("json");
    assert_eq!(v["edits"][0]["file"], "a.py");
    assert_eq!(v["diagnosis"]["summary"], "s");
}

fn commit_of(files: &[(&str, &str)]) -> CommitChange {
    CommitChange {
        files: files
            .iter()
            .flat_map(|(path, diff)| change(path, diff).files)
            .collect(),
        ..change("", "")
    }
}

const CALC: &str = "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor + 1)\n    return out\n\n\ndef total(values):\n    return sum(scale(values, 2))\n\n\ndef label(n):\n    return f\"{n} items\"\n";
const CALC_DIFF: &str = "@@ -1,5 +1,5 @@\n def scale(values, factor):\n     out = []\n     for v in values:\n-        out.append(v * factor)\n+        out.append(v * factor + 1)\n     return out\n \n@@ -11,2 +11,2 @@\n def label(n):\n-    return f\"{n} item(s)\"\n+    return f\"{n} items\"\n";
const CALC_TEST: &str =
    "from app.calc import total\n\n\ndef test_total():\n    assert total([1]) == 2\n";

#[test]
fn a_revert_puts_back_the_lines_the_traceback_points_at_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        &[("src/app/calc.py", CALC), ("tests/test_calc.py", CALC_TEST)],
    );
    let c = commit_of(&[("src/app/calc.py", CALC_DIFF)]);
    let f = failure(
        "TypeError: unsupported operand type(s) for +: 'str' and 'int'",
        Some("tests/test_calc.py::test_total"),
        &[
            ("tests/test_calc.py", 5),
            ("/home/runner/work/app/app/src/app/calc.py", 4),
        ],
    );
    // No name is missing: the name rules have nothing to say.
    assert_eq!(remedy_for(root, "", &f, Some(&c)), None);
    let fix = revert_for(root, "", &f, Some(&c)).expect("a revert");
    assert_eq!(fix.rule, Rule::Revert);
    assert_eq!(
        fix.edits,
        [Replacement {
            file: "src/app/calc.py".into(),
            old: "    out = []\n    for v in values:\n        out.append(v * factor + 1)\n    return out\n".into(),
            new: "    out = []\n    for v in values:\n        out.append(v * factor)\n    return out\n".into(),
        }]
    );
    let why = &fix.diagnosis.root_cause;
    assert!(why.contains("Commit abc1234 (\"A change\") changed scale() in src/app/calc.py"));
    assert!(why.contains("traceback points at the changed lines"));
    assert_eq!(fix.diagnosis.test_is_wrong, None);
    // Without the commit there is nothing to put back.
    assert_eq!(revert_for(root, "", &f, None), None);
}

#[test]
fn a_revert_follows_the_failing_test_into_the_functions_it_calls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        &[("src/app/calc.py", CALC), ("tests/test_calc.py", CALC_TEST)],
    );
    let c = commit_of(&[("src/app/calc.py", CALC_DIFF)]);
    // An assertion: the only frame is the test's.
    let f = failure(
        "assert 4 == 2",
        Some("tests/test_calc.py::test_total"),
        &[("tests/test_calc.py", 5)],
    );
    let fix = revert_for(root, "", &f, Some(&c)).expect("a revert");
    assert_eq!(fix.edits.len(), 1);
    assert!(fix.edits[0].new.contains("out.append(v * factor)\n"));
    assert!(
        fix.diagnosis
            .root_cause
            .contains("the failing test test_total calls into them")
    );
    // label() is not on the way: a test of it finds nothing to put back.
    write(
        root,
        &[(
            "tests/test_calc.py",
            "from app.calc import label\n\n\ndef test_label():\n    assert label(1) == '1 item'\n",
        )],
    );
    let f = failure(
        "assert '1 items' == '1 item'",
        Some("tests/test_calc.py::test_label"),
        &[("tests/test_calc.py", 5)],
    );
    let fix = revert_for(root, "", &f, Some(&c)).expect("a revert");
    assert!(fix.edits[0].new.contains("item(s)"));
    assert!(!fix.edits[0].old.contains("factor"));
}

#[test]
fn no_revert_where_the_commit_wants_the_change_or_it_is_gone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        &[("src/app/calc.py", CALC), ("tests/test_calc.py", CALC_TEST)],
    );
    let f = failure(
        "assert 4 == 2",
        Some("tests/test_calc.py::test_total"),
        &[("tests/test_calc.py", 5)],
    );
    // The commit changed the failing test too: it expects the new behaviour.
    let with_test = commit_of(&[
        ("src/app/calc.py", CALC_DIFF),
        (
            "tests/test_calc.py",
            "@@ -3,3 +3,3 @@\n \n def test_total():\n-    assert total([1]) == 1\n+    assert total([1]) == 2\n",
        ),
    ]);
    assert_eq!(revert_for(root, "", &f, Some(&with_test)), None);
    // A test the commit added calls the function the revert would change.
    write(
        root,
        &[(
            "tests/test_calc.py",
            "from app.calc import scale, total\n\n\ndef test_total():\n    assert total([1]) == 2\n\n\ndef test_scale_adds_one():\n    assert scale([1], 1) == [2]\n",
        )],
    );
    let new_test = commit_of(&[
        ("src/app/calc.py", CALC_DIFF),
        (
            "tests/test_calc.py",
            "@@ -5,1 +5,5 @@\n     assert total([1]) == 2\n+\n+\n+def test_scale_adds_one():\n+    assert scale([1], 1) == [2]\n",
        ),
    ]);
    assert_eq!(revert_for(root, "", &f, Some(&new_test)), None);
    // An earlier fix changed the lines since: they are not the commit's any more.
    write(
        root,
        &[
            ("tests/test_calc.py", CALC_TEST),
            ("src/app/calc.py", &CALC.replace("factor + 1", "factor + 2")),
        ],
    );
    let c = commit_of(&[("src/app/calc.py", CALC_DIFF)]);
    assert_eq!(revert_for(root, "", &f, Some(&c)), None);
}

#[test]
fn no_revert_of_a_call_into_new_code_that_no_test_of_the_commit_covers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let code = "def bump(v):\n    return v + 2\n\n\ndef scale(values, factor):\n    out = []\n    for v in values:\n        out.append(bump(v * factor))\n    return out\n";
    let diff = "@@ -1,5 +1,9 @@\n+def bump(v):\n+    return v + 2\n+\n+\n def scale(values, factor):\n     out = []\n     for v in values:\n-        out.append(v * factor + 1)\n+        out.append(bump(v * factor))\n     return out\n";
    write(
        root,
        &[
            ("src/app/calc.py", code),
            (
                "tests/test_calc.py",
                "from app.calc import scale\n\n\ndef test_scale():\n    assert scale([1], 1) == [2]\n",
            ),
        ],
    );
    let f = failure(
        "assert [3] == [2]",
        Some("tests/test_calc.py::test_scale"),
        &[("tests/test_calc.py", 5)],
    );
    // The fault is more likely in bump() than in the call to it.
    assert_eq!(
        revert_for(root, "", &f, Some(&commit_of(&[("src/app/calc.py", diff)]))),
        None
    );
    // Unless the commit's own test vouches for bump().
    write(
        root,
        &[(
            "tests/test_bump.py",
            "from app.calc import bump\n\n\ndef test_bump():\n    assert bump(1) == 3\n",
        )],
    );
    let vouched = commit_of(&[
        ("src/app/calc.py", diff),
        (
            "tests/test_bump.py",
            "@@ -0,0 +1,5 @@\n+from app.calc import bump\n+\n+\n+def test_bump():\n+    assert bump(1) == 3\n",
        ),
    ]);
    let fix = revert_for(root, "", &f, Some(&vouched)).expect("a revert");
    assert_eq!(fix.edits.len(), 1);
    assert!(fix.edits[0].new.contains("out.append(v * factor + 1)"));
    assert!(code.contains("def bump"), "the new function stays");
    assert!(!fix.edits[0].old.contains("def bump"));
}

#[test]
fn no_revert_outside_python_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let code = "fn scale(v: i32) -> i32 {\n    v * 2 + 1\n}\n";
    write(root, &[("src/lib.rs", code)]);
    let diff = "@@ -1,3 +1,3 @@\n fn scale(v: i32) -> i32 {\n-    v * 2\n+    v * 2 + 1\n }\n";
    let f = failure(
        "assertion `left == right` failed",
        None,
        &[("src/lib.rs", 2)],
    );
    assert_eq!(
        revert_for(root, "", &f, Some(&commit_of(&[("src/lib.rs", diff)]))),
        None
    );
}
