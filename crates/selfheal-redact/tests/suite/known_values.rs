//! Known values from the environment, the user's patterns and allow-list.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use selfheal_redact::{RedactError, Redactor};

use super::samples::{self, Gen};

fn env(value: &str) -> Vec<(String, String)> {
    vec![
        ("HOME".to_owned(), "/home/runner".to_owned()),
        (
            "GIT_AUTHOR_NAME".to_owned(),
            "Continuous Integration".to_owned(),
        ),
        ("DEPLOY_TOKEN".to_owned(), value.to_owned()),
        ("SHORT_SECRET".to_owned(), "abc".to_owned()),
    ]
}

#[test]
fn env_secret_is_caught_plain_base64_and_url_encoded() {
    let g = &mut Gen::new(11);
    // Punctuation so that URL encoding differs from the plain form.
    let value = format!(
        "{}/{}+{} {}",
        g.pick(samples::BASE62, 9),
        g.pick(samples::BASE62, 5),
        g.digits(3),
        g.pick(samples::BASE62, 4)
    );
    let redactor = Redactor::builder()
        .env(env(&value))
        .build()
        .expect("builds");
    let url = value
        .replace('/', "%2F")
        .replace('+', "%2B")
        .replace(' ', "%20");
    let mut texts = vec![
        format!("deploying with {value} now"),
        format!("GET /hook?t={url}&x=1"),
        format!(
            "GET /hook?t={}&x=1",
            url.replace("%2F", "%2f")
                .replace("%2B", "%2b")
                .replace("%20", "+")
        ),
    ];
    for prefix in ["", "u:", "ci:", "bot:"] {
        let whole = format!("{prefix}{value}");
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            texts.push(format!("header X-Auth: {} end", engine.encode(&whole)));
        }
    }
    for text in &texts {
        let out = redactor.redact(text);
        assert!(
            out.findings.iter().any(|f| f.kind == "env:DEPLOY_TOKEN"),
            "{text:?} -> {:?}",
            out.findings
        );
        assert!(
            out.text.contains("[REDACTED:env:DEPLOY_TOKEN]"),
            "{text:?} -> {}",
            out.text
        );
        assert!(!out.text.contains(&value));
    }
}

#[test]
fn non_secret_variables_and_short_values_are_left_alone() {
    let redactor = Redactor::builder()
        .env(env("a-long-enough-value"))
        .build()
        .expect("builds");
    let text = "cd /home/runner && echo Continuous Integration abc";
    let out = redactor.redact(text);
    assert_eq!(out.text, text);
    assert!(out.findings.is_empty());
}

#[test]
fn allowed_literal_is_not_redacted() {
    let g = &mut Gen::new(12);
    let fake = samples::github_token(g, "ghp");
    let real = samples::github_token(g, "ghp");
    let redactor = Redactor::builder()
        .allow(fake.clone())
        .build()
        .expect("builds");
    let text = format!("fixture token {fake}, live token {real}");
    assert_eq!(
        redactor.redact_str(&text),
        format!("fixture token {fake}, live token [REDACTED:github-token]")
    );
    // Also when the allowed literal is a known value.
    let redactor = Redactor::builder()
        .env([("CI_TOKEN".to_owned(), "public-demo-value".to_owned())])
        .allow("public-demo-value")
        .build()
        .expect("builds");
    assert!(
        redactor
            .redact("uses public-demo-value")
            .findings
            .is_empty()
    );
}

#[test]
fn user_pattern_is_applied_whole_or_by_its_secret_group() {
    let redactor = Redactor::builder()
        .extra_pattern("acme-key", r"ACME-[0-9]{6}-[a-z]{4}")
        .extra_pattern("ticket-secret", r"ticket=(?P<secret>[A-Z]{3}[0-9]{3})")
        .build()
        .expect("builds");
    assert_eq!(
        redactor.redact_str("auth ACME-123456-abcd ok; ticket=XYZ789 done"),
        "auth [REDACTED:acme-key] ok; ticket=[REDACTED:ticket-secret] done"
    );
}

#[test]
fn bad_user_patterns_are_refused_with_their_name() {
    let err = Redactor::builder()
        .extra_pattern("broken", r"(unclosed")
        .build()
        .expect_err("invalid regex");
    assert!(
        matches!(&err, RedactError::Pattern { name, .. } if name == "broken"),
        "{err}"
    );
    let err = Redactor::builder()
        .extra_pattern("empty", r"x*")
        .build()
        .expect_err("matches empty");
    assert!(
        matches!(&err, RedactError::EmptyMatch { name } if name == "empty"),
        "{err}"
    );
    let err = Redactor::builder()
        .extra_pattern("has space", r"x+")
        .build()
        .expect_err("bad name");
    assert!(matches!(&err, RedactError::PatternName { .. }), "{err}");
}
