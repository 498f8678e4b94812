use std::process::Command;

use anyhow::Result;
use selfheal_monitor::{MonitorError, ensure_self_ignored, run_from_logs_path};

use super::{run_dir, run_zip, write};

#[test]
fn a_folder_takes_its_id_from_run_json_or_its_name() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    run_dir(tmp.path(), "run-logs", None)?;
    run_dir(
        tmp.path(),
        "described",
        Some(r#"{"id": "4242", "head_sha": "cafe"}"#),
    )?;

    let plain = run_from_logs_path(&tmp.path().join("run-logs"))?;
    assert_eq!(plain.info.id, "run-logs");
    assert_eq!(plain.logs, tmp.path().join("run-logs"));

    let described = run_from_logs_path(&tmp.path().join("described"))?;
    assert_eq!(described.info.id, "4242");
    assert_eq!(described.info.head_sha.as_deref(), Some("cafe"));

    // `.` resolves to the folder's own name.
    let dot = run_from_logs_path(&tmp.path().join("run-logs/."))?;
    assert_eq!(dot.info.id, "run-logs");
    Ok(())
}

#[test]
fn a_zip_takes_its_id_from_run_json_inside_or_githubs_file_name() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let github = tmp.path().join("logs_987654.zip");
    run_zip(&github, &[])?;
    assert_eq!(run_from_logs_path(&github)?.info.id, "987654");

    let named = tmp.path().join("logs_nightly.zip");
    run_zip(&named, &[])?;
    assert_eq!(run_from_logs_path(&named)?.info.id, "logs_nightly");

    let described = tmp.path().join("x.zip");
    run_zip(
        &described,
        &[(
            "run.json",
            r#"{"id": "55", "created_at": "2026-02-03T04:05:06Z"}"#,
        )],
    )?;
    let run = run_from_logs_path(&described)?;
    assert_eq!(run.info.id, "55");
    assert_eq!(run.info.created_at.as_deref(), Some("2026-02-03T04:05:06Z"));
    assert_eq!(run.logs, described);
    Ok(())
}

#[test]
fn a_broken_zip_is_an_error_naming_it() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join("logs_1.zip");
    write(&path, "not a zip")?;
    let err = run_from_logs_path(&path).expect_err("not a zip");
    assert!(
        matches!(&err, MonitorError::Zip { path: p, .. } if *p == path),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn a_single_file_uses_run_json_beside_it_or_is_local() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let lone = tmp.path().join("lone/build.log");
    write(&lone, "error: boom\n")?;
    assert_eq!(run_from_logs_path(&lone)?.info.id, "local");

    let accompanied = tmp.path().join("with/build.log");
    write(&accompanied, "error: boom\n")?;
    write(&tmp.path().join("with/run.json"), r#"{"id": 77}"#)?;
    let run = run_from_logs_path(&accompanied)?;
    assert_eq!(run.info.id, "77");
    assert_eq!(run.logs, accompanied);
    Ok(())
}

#[test]
fn missing_logs_say_what_to_pass() {
    let err = run_from_logs_path(std::path::Path::new("/no/such/logs.txt")).expect_err("missing");
    assert!(matches!(err, MonitorError::LogsNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("hint: pass a log file"), "{err}");
}

fn git_status(root: &std::path::Path) -> Result<String> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["status", "--porcelain", "--untracked-files=all"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()?;
    anyhow::ensure!(out.status.success(), "git status failed");
    Ok(String::from_utf8(out.stdout)?)
}

#[test]
fn selfheals_own_files_stay_out_of_git_status() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    let init = Command::new("git")
        .current_dir(root)
        .args(["init", "-q"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()?;
    anyhow::ensure!(init.success(), "git init failed");
    write(&root.join(".selfheal/results/run-1.json"), "{}")?;
    run_dir(&root.join(".selfheal/logs"), "1", None)?;
    assert_ne!(git_status(root)?, "");

    ensure_self_ignored(&root.join(".selfheal"))?;
    assert_eq!(git_status(root)?, "");
    assert_eq!(
        std::fs::read_to_string(root.join(".selfheal/.gitignore"))?,
        "*\n"
    );

    // Idempotent, and a folder that does not exist yet is created.
    ensure_self_ignored(&root.join(".selfheal"))?;
    assert_eq!(
        std::fs::read_to_string(root.join(".selfheal/.gitignore"))?,
        "*\n"
    );
    ensure_self_ignored(&root.join("fresh/dir"))?;
    assert_eq!(
        std::fs::read_to_string(root.join("fresh/dir/.gitignore"))?,
        "*\n"
    );
    Ok(())
}

#[test]
fn an_existing_gitignore_is_kept_below_the_star() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    write(&tmp.path().join(".gitignore"), "!keep.me\n")?;
    ensure_self_ignored(tmp.path())?;
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(".gitignore"))?,
        "*\n!keep.me\n"
    );
    Ok(())
}
