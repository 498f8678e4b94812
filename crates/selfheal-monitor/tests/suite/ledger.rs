//! The ledger at `<repo>/.selfheal/ledger.jsonl`.

use std::io::Write;

use anyhow::Result;
use selfheal_monitor::{Ledger, LedgerEntry, LedgerOutcome};

fn entry(run_id: &str, fingerprint: Option<&str>, outcome: LedgerOutcome) -> LedgerEntry {
    LedgerEntry {
        run_id: run_id.into(),
        fingerprint: fingerprint.map(str::to_owned),
        outcome,
        branch: None,
        pull_request: None,
        at: "2026-11-25T22:13:42Z".into(),
    }
}

#[test]
fn a_missing_ledger_is_empty() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let ledger = Ledger::new(tmp.path());
    assert_eq!(ledger.path(), tmp.path().join(".selfheal/ledger.jsonl"));
    assert_eq!(ledger.entries()?, []);
    assert_eq!(ledger.for_run("1")?, None);
    assert_eq!(ledger.for_fingerprint("abc")?, None);
    assert!(!tmp.path().join(".selfheal").exists(), "reading wrote");
    Ok(())
}

#[test]
fn recorded_entries_are_one_json_line_each_in_a_self_ignored_folder() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let ledger = Ledger::new(tmp.path());
    let fixed = LedgerEntry {
        branch: Some("selfheal/fix-1a2b3c4d".into()),
        pull_request: Some("https://github.com/o/r/pull/5".into()),
        ..entry("10", Some("1a2b3c4d"), LedgerOutcome::Fixed)
    };
    let skipped = entry("11", None, LedgerOutcome::Skipped);
    ledger.record(&fixed)?;
    ledger.record(&skipped)?;

    assert_eq!(ledger.entries()?, [fixed, skipped]);
    assert_eq!(
        std::fs::read_to_string(ledger.path())?,
        concat!(
            r#"{"run_id":"10","fingerprint":"1a2b3c4d","outcome":"fixed","branch":"selfheal/fix-1a2b3c4d","pull_request":"https://github.com/o/r/pull/5","at":"2026-11-25T22:13:42Z"}"#,
            "\n",
            r#"{"run_id":"11","fingerprint":null,"outcome":"skipped","branch":null,"pull_request":null,"at":"2026-11-25T22:13:42Z"}"#,
            "\n",
        )
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(".selfheal/.gitignore"))?,
        "*\n"
    );
    Ok(())
}

#[test]
fn the_latest_entry_for_a_run_wins() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let ledger = Ledger::new(tmp.path());
    ledger.record(&entry("1", Some("f1"), LedgerOutcome::NotFixed))?;
    ledger.record(&entry("2", None, LedgerOutcome::NothingToFix))?;
    let later = LedgerEntry {
        at: "2026-11-26T00:00:00Z".into(),
        ..entry("1", Some("f1"), LedgerOutcome::Fixed)
    };
    ledger.record(&later)?;
    assert_eq!(ledger.for_run("1")?, Some(later));
    assert_eq!(
        ledger.for_run("2")?,
        Some(entry("2", None, LedgerOutcome::NothingToFix))
    );
    assert_eq!(ledger.for_run("3")?, None);
    Ok(())
}

#[test]
fn only_fixes_count_for_a_fingerprint() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let ledger = Ledger::new(tmp.path());
    ledger.record(&entry("1", Some("aaa"), LedgerOutcome::NotFixed))?;
    ledger.record(&entry("2", Some("bbb"), LedgerOutcome::Fixed))?;
    // A failure that could not be fixed may be tried again.
    assert_eq!(ledger.for_fingerprint("aaa")?, None);
    ledger.record(&entry("3", Some("aaa"), LedgerOutcome::Fixed))?;
    ledger.record(&entry("4", Some("aaa"), LedgerOutcome::Fixed))?;
    ledger.record(&entry("5", Some("aaa"), LedgerOutcome::NotFixed))?;
    assert_eq!(
        ledger.for_fingerprint("aaa")?,
        Some(entry("4", Some("aaa"), LedgerOutcome::Fixed))
    );
    assert_eq!(
        ledger.for_fingerprint("bbb")?,
        Some(entry("2", Some("bbb"), LedgerOutcome::Fixed))
    );
    assert_eq!(ledger.for_fingerprint("ccc")?, None);
    Ok(())
}

#[test]
fn torn_and_garbled_lines_are_skipped_and_the_next_record_starts_a_new_line() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let ledger = Ledger::new(tmp.path());
    let first = entry("1", Some("aaa"), LedgerOutcome::Fixed);
    ledger.record(&first)?;
    {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(ledger.path())?;
        file.write_all(b"not json at all\n")?;
        file.write_all(b"\xff\xfe\x00 binary\n")?;
        file.write_all(b"\n   \n")?;
        file.write_all(br#"{"run_id":"2","outcome":"exploded","at":"x"}"#)?;
        file.write_all(b"\n")?;
        file.write_all(&vec![b'x'; 100 * 1024])?;
        file.write_all(b"\n")?;
        // A crash in the middle of the last write.
        file.write_all(br#"{"run_id":"3","fingerprint":"bbb","outc"#)?;
    }
    assert_eq!(ledger.entries()?, std::slice::from_ref(&first));

    let after = entry("4", None, LedgerOutcome::Skipped);
    ledger.record(&after)?;
    assert_eq!(ledger.entries()?, [first, after.clone()]);
    assert_eq!(ledger.for_run("4")?, Some(after));
    assert_eq!(ledger.for_run("3")?, None);
    Ok(())
}

#[test]
fn outcomes_are_snake_case() -> Result<()> {
    let names: Vec<String> = [
        LedgerOutcome::Fixed,
        LedgerOutcome::NotFixed,
        LedgerOutcome::NothingToFix,
        LedgerOutcome::Skipped,
    ]
    .iter()
    .map(serde_json::to_string)
    .collect::<Result<_, _>>()?;
    assert_eq!(
        names,
        [
            r#""fixed""#,
            r#""not_fixed""#,
            r#""nothing_to_fix""#,
            r#""skipped""#
        ]
    );
    Ok(())
}
