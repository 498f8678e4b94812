//! Public-API behaviour that scenario folders cannot express.

use std::path::Path;

use selfheal_patch::{
    ChangeSet, Edit, FileChange, PatchError, ReplyFormat, parse_reply, parse_reply_full, plan,
    plan_over, reply_schema,
};
use selfheal_types::Diagnosis;

fn repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(tmp.path().join("src")).expect("mkdir");
    std::fs::write(
        tmp.path().join("src/calc.py"),
        "def add(a, b):\n    return a - b\n",
    )
    .expect("write");
    tmp
}

fn refused(root: &Path, file: &str) -> String {
    let edits = vec![Edit::WholeFile {
        file: file.to_owned(),
        content: "x\n".to_owned(),
    }];
    match plan(root, &edits) {
        Err(err @ PatchError::UnsafePath { .. }) => {
            assert!(err.is_retryable());
            err.to_string()
        }
        other => panic!("expected {file} to be refused, got {other:?}"),
    }
}

#[test]
fn json_replies_carry_their_diagnosis() {
    let parsed = parse_reply_full(
        r#"{"diagnosis": {"summary": "add subtracts", "root_cause": "a - b in add"},
            "edits": [{"file": "src/calc.py", "old": "a - b", "new": "a + b"}]}"#,
    )
    .expect("parses");
    assert_eq!(
        parsed.diagnosis,
        Some(Diagnosis {
            summary: "add subtracts".into(),
            root_cause: "a - b in add".into(),
            test_is_wrong: None,
        })
    );
    assert_eq!(parsed.format, ReplyFormat::Json);
    assert_eq!(
        parsed.edits,
        vec![Edit::Replace {
            file: "src/calc.py".into(),
            old: "a - b".into(),
            new: "a + b".into(),
        }]
    );
}

#[test]
fn free_form_replies_report_their_format() {
    let diff = "--- a/x.py\n+++ b/x.py\n@@\n-a\n+b\n";
    let blocks = "y.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n";
    let format = |reply: &str| parse_reply_full(reply).expect("parses").format;
    assert_eq!(format(diff), ReplyFormat::UnifiedDiff);
    assert_eq!(format(blocks), ReplyFormat::SearchReplace);
    assert_eq!(format("```z.py\nprint()\n```\n"), ReplyFormat::WholeFile);
    assert_eq!(format(&format!("{diff}\n{blocks}")), ReplyFormat::Mixed);
    assert_eq!(ReplyFormat::Mixed.as_str(), "mixed");
}

#[test]
fn a_json_diagnosis_is_kept_when_the_edits_come_as_a_diff() {
    let reply = "{\"diagnosis\": {\"summary\": \"s\", \"root_cause\": \"r\"}}\n--- a/x.py\n+++ b/x.py\n@@\n-a\n+b\n";
    let parsed = parse_reply_full(reply).expect("parses");
    assert_eq!(parsed.format, ReplyFormat::UnifiedDiff);
    assert_eq!(
        parsed.diagnosis,
        Some(Diagnosis {
            summary: "s".into(),
            root_cause: "r".into(),
            test_is_wrong: None,
        })
    );
    assert_eq!(parsed.edits.len(), 1);
}

/// The schema we hold the model to and the parser must agree: a reply
/// built from the schema's own required keys parses, and the schema is
/// valid for strict mode (every property required, nothing else allowed).
#[test]
fn replies_shaped_by_the_schema_parse() {
    let schema = reply_schema();
    let keys = |node: &serde_json::Value| -> Vec<String> {
        let mut props: Vec<String> = node["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        let mut required: Vec<String> = node["required"]
            .as_array()
            .expect("required")
            .iter()
            .map(|v| v.as_str().expect("string").to_owned())
            .collect();
        props.sort();
        required.sort();
        assert_eq!(props, required);
        assert_eq!(node["additionalProperties"], serde_json::json!(false));
        props
    };
    keys(&schema);
    keys(&schema["properties"]["diagnosis"]);
    let edit_keys = keys(&schema["properties"]["edits"]["items"]);
    let mut edit = serde_json::Map::new();
    for key in &edit_keys {
        let value = match key.as_str() {
            "file" => "src/calc.py",
            "old" => "a - b",
            _ => "a + b",
        };
        edit.insert(key.clone(), value.into());
    }
    let reply = serde_json::json!({
        "diagnosis": {"summary": "s", "root_cause": "r"},
        "edits": [edit],
    });
    let tmp = repo();
    let edits = parse_reply(&reply.to_string()).expect("parses");
    let change = plan(tmp.path(), &edits).expect("applies");
    assert_eq!(change.files[0].after, "def add(a, b):\n    return a + b\n");
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_root_are_refused_by_name() {
    let tmp = repo();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(elsewhere.path(), tmp.path().join("abs")).expect("symlink");
    std::os::unix::fs::symlink(elsewhere.path().join("gone"), tmp.path().join("dangling"))
        .expect("symlink");
    std::os::unix::fs::symlink("src/calc.py", tmp.path().join("calc_link.py")).expect("symlink");
    assert_eq!(
        refused(tmp.path(), "abs/x.py"),
        "refusing to edit abs/x.py: it resolves (through a symlink) outside the repository root"
    );
    assert_eq!(
        refused(tmp.path(), "dangling"),
        "refusing to edit dangling: it goes through a symlink whose target does not exist"
    );
    // A link that stays inside the root is fine, and edits its target,
    // which the change names: that is the file the commit must include and
    // the policy must judge.
    let edits = parse_reply(r#"[{"file": "calc_link.py", "old": "a - b", "new": "a + b"}]"#)
        .expect("parses");
    let change = plan(tmp.path(), &edits).expect("plans");
    assert_eq!(change.paths(), ["src/calc.py"]);
    change.write_to(tmp.path()).expect("writes");
    assert!(
        tmp.path()
            .join("calc_link.py")
            .symlink_metadata()
            .expect("the link")
            .file_type()
            .is_symlink(),
        "the link itself is left as it was"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("src/calc.py")).expect("read"),
        "def add(a, b):\n    return a + b\n"
    );
}

#[test]
fn write_to_checks_paths_again() {
    let tmp = repo();
    let forged = ChangeSet {
        files: vec![FileChange {
            path: "../escaped.txt".into(),
            before: None,
            after: "x\n".into(),
        }],
    };
    let err = forged.write_to(tmp.path()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "refusing to edit ../escaped.txt: the path escapes the repository root"
    );
    assert!(
        !tmp.path()
            .parent()
            .expect("parent")
            .join("escaped.txt")
            .exists()
    );
}

#[test]
fn directories_and_binary_files_are_not_edited() {
    let tmp = repo();
    std::fs::write(
        tmp.path().join("logo.png"),
        [0x89, b'P', b'N', b'G', 0xff, 0xfe],
    )
    .expect("write");
    let edits = vec![
        Edit::WholeFile {
            file: "src".into(),
            content: "x\n".into(),
        },
        Edit::Replace {
            file: "logo.png".into(),
            old: "PNG".into(),
            new: "GIF".into(),
        },
    ];
    let err = plan(tmp.path(), &edits).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "2 edits did not apply: src: is a directory, not a file; logo.png: not a UTF-8 text file"
    );
}

#[test]
fn several_edits_to_one_file_apply_in_order() {
    let tmp = repo();
    let edits = parse_reply(
        r#"{"edits": [
            {"file": "src/calc.py", "old": "a - b", "new": "a + b"},
            {"file": "src/calc.py", "old": "a + b", "new": "b + a"}
        ]}"#,
    )
    .expect("parses");
    let change = plan(tmp.path(), &edits).expect("applies");
    assert_eq!(change.files.len(), 1);
    assert_eq!(change.files[0].after, "def add(a, b):\n    return b + a\n");
    assert_eq!(
        change.stat().to_string(),
        "1 file changed, 1 insertion(+), 1 deletion(-)"
    );
    // Planning wrote nothing.
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("src/calc.py")).expect("read"),
        "def add(a, b):\n    return a - b\n"
    );
}

#[test]
fn no_edits_at_all_is_an_error_value() {
    let tmp = repo();
    let err = plan(tmp.path(), &[]).expect_err("nothing to plan");
    assert_eq!(
        err.to_string(),
        "no usable edit in the reply: the reply contains no edits"
    );
}

fn replace(file: &str, old: &str, new: &str) -> Edit {
    Edit::Replace {
        file: file.to_owned(),
        old: old.to_owned(),
        new: new.to_owned(),
    }
}

#[test]
fn an_answer_that_quotes_an_undone_change_is_planned_on_top_of_it() {
    let tmp = repo();
    std::fs::write(tmp.path().join("src/other.py"), "X = 1\n").expect("write");
    // An earlier attempt changed both files and was undone.
    let undone = plan(
        tmp.path(),
        &[
            replace("src/calc.py", "a - b", "a + b + 1"),
            replace("src/other.py", "X = 1", "X = 2"),
        ],
    )
    .expect("plans");
    // The next answer quotes that change's text, not the file's.
    let edits = [replace("src/calc.py", "a + b + 1", "a + b")];
    assert!(matches!(
        plan(tmp.path(), &edits),
        Err(PatchError::Apply { .. })
    ));
    let composed = plan_over(tmp.path(), &undone, &edits).expect("applies over the undone change");
    assert_eq!(composed.paths(), ["src/calc.py", "src/other.py"]);
    assert_eq!(
        composed.files[0].before.as_deref(),
        Some("def add(a, b):\n    return a - b\n"),
        "measured against the real file"
    );
    assert_eq!(
        composed.files[0].after,
        "def add(a, b):\n    return a + b\n"
    );
    assert_eq!(composed.files[1].after, "X = 2\n");
    // Nothing was written.
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("src/calc.py")).expect("read"),
        "def add(a, b):\n    return a - b\n"
    );
}

#[test]
fn a_change_that_no_longer_fits_the_files_is_not_built_on() {
    let tmp = repo();
    let undone = plan(tmp.path(), &[replace("src/calc.py", "a - b", "a * b")]).expect("plans");
    // The file moved on since (another attempt's change was kept).
    std::fs::write(
        tmp.path().join("src/calc.py"),
        "def add(a, b):\n    return a - b  # kept\n",
    )
    .expect("write");
    let edits = [replace("src/calc.py", "a * b", "a + b")];
    assert!(matches!(
        plan_over(tmp.path(), &undone, &edits),
        Err(PatchError::Apply { .. })
    ));
    // Edits that fit the real file plan as plain `plan` would.
    let edits = [replace("src/calc.py", "a - b  # kept", "a + b")];
    assert_eq!(
        plan_over(tmp.path(), &undone, &edits).expect("plans"),
        plan(tmp.path(), &edits).expect("plans")
    );
}
