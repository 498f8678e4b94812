//! Secrets out of what leaves the machine or lands on disk.
//!
//! One [`Redactor`] per invocation knows the built-in secret formats and
//! the values of this process's secret-named variables and configured keys.
//! The model only ever sees redacted requests ([`RedactingModel`]): log
//! excerpts, source files, the tested commit's diff, earlier diffs and
//! validation output. An edit the
//! model makes to a placeholder matches nothing in the real file and is
//! refused as unusable, never applied. Records and pull request texts are
//! redacted string by string before they are written or sent.

use selfheal_orchestrator::EventSink;
use selfheal_reason::{Proposal, ReasonError, RepairModel, RepairRequest};
use selfheal_redact::Redactor;
use selfheal_types::{Event, RepairRecord};
use serde_json::Value;

use crate::settings::Resolved;

/// The redactor for this invocation: built-in formats, every secret-named
/// variable of the environment, and the keys the configuration resolved.
pub fn redactor(resolved: &Resolved) -> anyhow::Result<Redactor> {
    let s = &resolved.settings;
    let mut builder = Redactor::builder().env(std::env::vars());
    for (kind, value) in [
        ("config:llm-key", s.llm.api_key.as_deref()),
        ("config:github-token", s.github.token.as_deref()),
        ("config:pr-token", s.github.pr_token.as_deref()),
        (
            "config:escalation-key",
            s.llm
                .escalate_to
                .as_ref()
                .and_then(|e| e.api_key.as_deref()),
        ),
    ] {
        if let Some(value) = value {
            builder = builder.secret(kind, value);
        }
    }
    for (i, pattern) in s.redact.patterns.iter().enumerate() {
        builder = builder.extra_pattern(format!("config:pattern-{}", i + 1), pattern.clone());
    }
    for literal in &s.redact.allow {
        builder = builder.allow(literal.clone());
    }
    builder.build().map_err(|e| {
        anyhow::anyhow!(
            "[redact] patterns: {e}; hint: each pattern is a regular expression (Rust regex syntax)"
        )
    })
}

/// Asks `inner` with every text of the request redacted.
pub struct RedactingModel<'a> {
    pub inner: &'a dyn RepairModel,
    pub redactor: &'a Redactor,
}

#[async_trait::async_trait]
impl RepairModel for RedactingModel<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn propose(&self, req: &RepairRequest) -> Result<Proposal, ReasonError> {
        let r = self.redactor;
        let mut req = req.clone();
        req.excerpt = r.redact_str(&req.excerpt);
        req.failure.message = r.redact_str(&req.failure.message);
        for file in &mut req.files {
            file.content = r.redact_str(&file.content);
        }
        if let Some(change) = &mut req.recent_change {
            change.subject = r.redact_str(&change.subject);
            change.diff = r.redact_str(&change.diff);
            for path in &mut change.not_shown {
                *path = r.redact_str(path);
            }
        }
        for previous in &mut req.previous {
            previous.diff = previous.diff.as_deref().map(|d| r.redact_str(d));
            previous.outcome = r.redact_str(&previous.outcome);
            previous.validation_excerpt = previous
                .validation_excerpt
                .as_deref()
                .map(|e| r.redact_str(e));
        }
        self.inner.propose(&req).await
    }
}

/// Passes every event on to `inner` with its texts redacted: the terminal
/// shows diagnoses, diffs and test output, and none of it may show a secret.
pub struct RedactingEvents<'a> {
    pub inner: &'a dyn EventSink,
    pub redactor: &'a Redactor,
}

impl EventSink for RedactingEvents<'_> {
    fn emit(&self, event: &Event) {
        let Ok(mut value) = serde_json::to_value(event) else {
            return;
        };
        redact_value(self.redactor, &mut value);
        // An event that no longer reads back is not shown rather than shown unredacted.
        if let Ok(redacted) = serde_json::from_value::<Event>(value) {
            self.inner.emit(&redacted);
        }
    }
}

/// `record` with every string in it redacted.
pub fn redact_record(redactor: &Redactor, record: &RepairRecord) -> RepairRecord {
    let Ok(mut value) = serde_json::to_value(record) else {
        return record.clone();
    };
    redact_value(redactor, &mut value);
    serde_json::from_value(value).unwrap_or_else(|_| record.clone())
}

fn redact_value(redactor: &Redactor, value: &mut Value) {
    match value {
        Value::String(s) => {
            let red = redactor.redact_str(s);
            if red != *s {
                *s = red;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(redactor, v)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_value(redactor, v)),
        _ => {}
    }
}

/// The redactor for what is printed before the configuration is read: the
/// built-in formats and this process's secret-named variables. `None` only
/// if the built-in rules failed to build, which their tests rule out.
pub fn process_redactor() -> Option<std::sync::Arc<Redactor>> {
    Redactor::builder()
        .env(std::env::vars())
        .build()
        .ok()
        .map(std::sync::Arc::new)
}

/// Log lines (tracing) go to stderr redacted: each event is collected whole
/// and redacted before it is written, so a secret split across writes is
/// still caught.
#[derive(Clone)]
pub struct RedactedStderr {
    pub redactor: Option<std::sync::Arc<Redactor>>,
}

/// One event's bytes, written to stderr redacted when dropped.
pub struct RedactedLine {
    redactor: Option<std::sync::Arc<Redactor>>,
    buffer: Vec<u8>,
}

impl std::io::Write for RedactedLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactedLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        let text = match &self.redactor {
            Some(r) => r.redact_str(&text),
            // Without a redactor nothing is printed rather than something unredacted.
            None => return,
        };
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactedStderr {
    type Writer = RedactedLine;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedLine {
            redactor: self.redactor.clone(),
            buffer: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use selfheal_reason::RecentChange;

    use super::*;

    /// Keeps what it was asked and answers with an error.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<RepairRequest>>);

    #[async_trait::async_trait]
    impl RepairModel for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        async fn propose(&self, req: &RepairRequest) -> Result<Proposal, ReasonError> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(req.clone());
            Err(ReasonError::EmptyReply {
                model: "recorder".into(),
                finish_reason: None,
            })
        }
    }

    #[tokio::test]
    async fn a_secret_the_tested_commit_added_does_not_reach_the_model() {
        let secret = "s3cr3t-value-committed-by-mistake";
        let redactor = Redactor::builder()
            .secret("test", secret)
            .build()
            .expect("redactor");
        let recorder = Recorder::default();
        let model = RedactingModel {
            inner: &recorder,
            redactor: &redactor,
        };
        let request = RepairRequest {
            failure: selfheal_types::Failure {
                category: selfheal_types::Category::TestError,
                tool: "pytest".into(),
                message: "assert 1 == 2".into(),
                test: None,
                locations: Vec::new(),
                job: None,
                step: None,
                log_file: None,
                log_span: selfheal_types::LineSpan { start: 1, end: 1 },
                fingerprint: "f".into(),
                flaky: None,
            },
            excerpt: String::new(),
            files: Vec::new(),
            previous: Vec::new(),
            recent_change: Some(RecentChange {
                commit: "0123456".into(),
                subject: format!("Use {secret}"),
                diff: format!("+TOKEN = \"{secret}\"\n"),
                not_shown: vec![format!("keys/{secret}.pem")],
                only_tests: false,
            }),
            temperature: None,
        };
        let _ = model.propose(&request).await;
        let seen = recorder.0.lock().expect("lock")[0].clone();
        let change = seen.recent_change.expect("still shown");
        let texts = format!("{} {} {:?}", change.subject, change.diff, change.not_shown);
        assert!(!texts.contains(secret), "{texts}");
        assert!(texts.contains("[REDACTED:"), "{texts}");
    }
}
