//! Recall on the generated corpus: every sample caught, with the right kind.

use selfheal_redact::Redactor;

use super::samples::{self, Gen};

#[test]
fn generated_corpus_is_fully_caught_with_the_right_kind() {
    let redactor = Redactor::builtin();
    let corpus = samples::corpus(0x5e1f_4ea1);
    assert!(corpus.len() >= 60, "only {} samples", corpus.len());
    let mut missed = Vec::new();
    for sample in &corpus {
        let at = sample
            .line
            .find(&sample.secret)
            .expect("the secret is in its line");
        let end = at + sample.secret.len();
        let redacted = redactor.redact(&sample.line);
        let covering = redacted
            .findings
            .iter()
            .find(|f| f.start <= at && f.end >= end);
        let ok = covering.is_some_and(|f| f.kind == sample.kind)
            && !redacted.text.contains(&sample.secret)
            && redacted
                .text
                .contains(&format!("[REDACTED:{}]", sample.kind));
        if !ok {
            missed.push(format!(
                "{}: {:?} -> {:?} {:?}",
                sample.kind, sample.line, redacted.text, redacted.findings
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "caught {}/{}; missed:\n{}",
        corpus.len() - missed.len(),
        corpus.len(),
        missed.join("\n")
    );
}

#[test]
fn every_builtin_kind_is_in_the_corpus() {
    let kinds: std::collections::BTreeSet<_> = samples::corpus(1).iter().map(|s| s.kind).collect();
    for kind in [
        "github-token",
        "github-pat",
        "gitlab-token",
        "anthropic-key",
        "openai-key",
        "aws-access-key-id",
        "aws-secret-key",
        "google-api-key",
        "slack-token",
        "slack-webhook",
        "stripe-key",
        "private-key",
        "jwt",
        "npm-token",
        "pypi-token",
        "crates-io-token",
        "url-password",
        "authorization",
        "password",
    ] {
        assert!(kinds.contains(kind), "{kind}");
    }
}

#[test]
fn generated_github_tokens_carry_a_valid_checksum() {
    let g = &mut Gen::new(7);
    for prefix in ["ghp", "gho", "ghu", "ghs", "ghr"] {
        let t = samples::github_token(g, prefix);
        assert_eq!(t.len(), 40);
        assert!(samples::github_checksum_ok(&t), "{t}");
    }
}

#[test]
fn redacting_twice_changes_nothing_more() {
    let redactor = Redactor::builtin();
    for sample in samples::corpus(2) {
        let once = redactor.redact_str(&sample.line);
        let twice = redactor.redact(&once);
        assert!(
            twice.findings.is_empty(),
            "{once:?} -> {:?}",
            twice.findings
        );
    }
}

#[test]
fn key_and_scheme_stay_readable() {
    let redactor = Redactor::builtin();
    let g = &mut Gen::new(3);
    let pw = g.pick(samples::BASE62, 14);
    assert_eq!(
        redactor.redact_str(&format!("postgres://app:{pw}@db:5432/x")),
        "postgres://app:[REDACTED:url-password]@db:5432/x"
    );
    assert_eq!(
        redactor.redact_str(&format!("DB_PASSWORD={pw} ./run")),
        "DB_PASSWORD=[REDACTED:password] ./run"
    );
    assert_eq!(
        redactor.redact_str(&format!("Authorization: Bearer {pw}")),
        "Authorization: Bearer [REDACTED:authorization]"
    );
}
