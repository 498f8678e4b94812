//! The shape of results: borrowed when clean, offsets into the input,
//! overlapping findings merged, in-place convenience.

use std::borrow::Cow;

use selfheal_redact::{Finding, Redactor};

use super::samples::{self, Gen};

#[test]
fn clean_text_is_borrowed() {
    let redactor = Redactor::builtin();
    let text = "error[E0308]: mismatched types\n  --> src/lib.rs:3:5";
    let out = redactor.redact(text);
    assert!(matches!(out.text, Cow::Borrowed(_)));
    assert!(out.is_clean());
}

#[test]
fn findings_are_offsets_into_the_input() {
    let g = &mut Gen::new(21);
    let t = samples::github_token(g, "ghs");
    let text = format!("a {t} b {t}");
    let out = Redactor::builtin().redact(&text);
    assert_eq!(
        out.findings,
        vec![
            Finding {
                kind: "github-token".to_owned(),
                start: 2,
                end: 42
            },
            Finding {
                kind: "github-token".to_owned(),
                start: 45,
                end: 85
            },
        ]
    );
}

#[test]
fn overlapping_secrets_are_replaced_as_one() {
    let g = &mut Gen::new(22);
    let value = g.pick(samples::BASE62, 20);
    // The env value sits inside a URL password that is longer than it.
    let redactor = Redactor::builder()
        .env([("REGISTRY_PASSWORD".to_owned(), value.clone())])
        .build()
        .expect("builds");
    let text = format!("https://ci:{value}xyz@host/");
    let out = redactor.redact(&text);
    assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
    assert!(!out.text.contains(&value[..8]), "{}", out.text);
}

#[test]
fn redact_in_place_replaces_only_when_needed() {
    let redactor = Redactor::builtin();
    let g = &mut Gen::new(23);
    let mut text = format!("NPM_TOKEN=npm_{}", g.pick(samples::BASE62, 36));
    let findings = redactor.redact_in_place(&mut text);
    assert_eq!(findings.len(), 1);
    assert_eq!(text, "NPM_TOKEN=[REDACTED:npm-token]");
    let mut clean = "nothing here".to_owned();
    assert!(redactor.redact_in_place(&mut clean).is_empty());
    assert_eq!(clean, "nothing here");
}

#[test]
fn debug_never_shows_known_values() {
    let redactor = Redactor::builder()
        .env([(
            "API_TOKEN".to_owned(),
            "value-that-must-not-print".to_owned(),
        )])
        .build()
        .expect("builds");
    assert!(!format!("{redactor:?}").contains("must-not-print"));
}

#[test]
fn lookalikes_in_ordinary_logs_are_left_alone() {
    let redactor = Redactor::builtin();
    let g = &mut Gen::new(24);
    let sha = g.pick(samples::LOWER_HEX, 40);
    let lines = [
        format!("HEAD is now at {} Merge pull request #42", &sha[..7]),
        format!("Checking out {sha}"),
        "uuid=3f2b8c1e-9a4d-4e8b-b1f2-7c6d5e4f3a2b".to_owned(),
        "FATAL: password authentication failed for user \"postgres\"".to_owned(),
        "Enter password:".to_owned(),
        "password: ${{ secrets.DB_PASSWORD }}".to_owned(),
        "  password: $DB_PASSWORD".to_owned(),
        "token: ***".to_owned(),
        "Authorization: Bearer ***".to_owned(),
        "git clone https://github.com/acme/app.git".to_owned(),
        "ssh://git@github.com/acme/app.git".to_owned(),
        format!("sha256:{}", g.pick(samples::LOWER_HEX, 64)),
        format!("integrity sha512-{}==", g.pick(samples::B64, 86)),
        "the secret: is in the sauce".to_owned(),
        "  server-password: GITHUB_TOKEN".to_owned(),
        "== 20130625170842 RemoveAccessPassword: migrating ======".to_owned(),
    ];
    for line in &lines {
        let out = redactor.redact(line);
        assert!(out.findings.is_empty(), "{line:?} -> {:?}", out.text);
    }
}

#[test]
fn many_key_headers_without_an_end_stay_headers() {
    // Regression: the block's end was a lazy regex, so each header without
    // an END line scanned to the end of the text (quadratic on dumps).
    let header = "-----BEGIN PRIVATE KEY-----";
    let text = format!("{header} missing, see docs\n").repeat(2000);
    let out = Redactor::builtin().redact(&text);
    assert_eq!(out.findings.len(), 2000);
    assert!(out.findings.iter().all(|f| f.end - f.start == header.len()));
    assert!(
        out.text
            .ends_with("[REDACTED:private-key] missing, see docs\n")
    );
}
