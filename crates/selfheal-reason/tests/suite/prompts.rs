use selfheal_reason::{Prompts, ReasonError};

#[test]
fn override_dir_replaces_only_the_files_it_has() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("repair.md"),
        "CUSTOM {{message}} in {{ test }}\n",
    )
    .expect("write");
    let loaded = Prompts::load(Some(dir.path())).expect("loads");
    let builtin = Prompts::builtin();
    let (system, user) = loaded.render(&super::request()).expect("renders");
    let (builtin_system, _) = builtin.render(&super::request()).expect("renders");
    assert_eq!(
        user,
        "CUSTOM assert add(2, 2) == 4 in tests/test_calc.py::test_add\n"
    );
    assert_eq!(system, builtin_system, "system.md was not overridden");
    assert_ne!(loaded, builtin);
}

#[test]
fn unknown_placeholder_in_an_override_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("retry.md");
    std::fs::write(&file, "attempt {{attempt}}\nlast: {{last_dif}}\n").expect("write");
    let err = Prompts::load(Some(dir.path())).expect_err("typo");
    match &err {
        ReasonError::UnknownPlaceholder {
            template,
            placeholder,
            line,
        } => {
            assert_eq!(template, &file.display().to_string());
            assert_eq!(placeholder, "last_dif");
            assert_eq!(*line, 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string().contains("last_diff"),
        "the hint lists the real names: {err}"
    );
}

#[test]
fn missing_override_dir_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Prompts::load(Some(&dir.path().join("nope"))).expect_err("missing");
    assert!(matches!(err, ReasonError::PromptDir { .. }), "{err:?}");
}
