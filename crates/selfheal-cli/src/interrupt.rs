//! Stopping cleanly: Ctrl-C and SIGTERM, and the record of a repair cut short.
//!
//! The repair future is dropped when a signal arrives, so the orchestrator
//! never returns its record. [`Recorder`] watches the same events the printer
//! sees and keeps enough of them (the run, the failure, every finished
//! attempt with its diff) to write a record saying where the repair stopped.

use std::collections::BTreeMap;
use std::sync::Mutex;

use selfheal_orchestrator::EventSink;
use selfheal_types::{
    Attempt, AttemptOutcome, Event, Outcome, REPAIR_SCHEMA, RepairRecord, TokenUsage,
};

/// A poisoned lock still holds what the events said.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Passes events on to `inner` and remembers the repair in progress.
pub struct Recorder<'a> {
    inner: &'a dyn EventSink,
    model: String,
    current: Mutex<Option<RepairRecord>>,
    /// The attempt under way: what it proposed before the signal came.
    in_flight: Mutex<Option<Attempt>>,
}

impl<'a> Recorder<'a> {
    pub fn new(inner: &'a dyn EventSink, model: &str) -> Self {
        Self {
            inner,
            model: model.to_owned(),
            current: Mutex::new(None),
            in_flight: Mutex::new(None),
        }
    }

    /// The repair in progress as a record that says it was interrupted, if
    /// one had started.
    pub fn interrupted_record(&self) -> Option<RepairRecord> {
        let mut record = lock(&self.current).clone()?;
        if let Some(mut attempt) = lock(&self.in_flight).clone() {
            attempt.reason = Some("interrupted before it finished".to_owned());
            record.tokens += attempt.tokens;
            record.attempts.push(attempt);
        }
        let last = record
            .attempts
            .last()
            .map(|a| format!(" after attempt {}", a.number))
            .unwrap_or_default();
        record.outcome = Outcome::NotFixed {
            reason: format!("interrupted{last}; nothing was committed"),
        };
        Some(record)
    }
}

impl EventSink for Recorder<'_> {
    fn emit(&self, event: &Event) {
        {
            let mut current = lock(&self.current);
            let mut in_flight = lock(&self.in_flight);
            match event {
                Event::RunSelected { run, base_commit } => {
                    *in_flight = None;
                    *current = Some(RepairRecord {
                        schema: REPAIR_SCHEMA.to_owned(),
                        run: run.clone(),
                        base_commit: base_commit.clone(),
                        started_at: selfheal_monitor::now_rfc3339(),
                        model: self.model.clone(),
                        failure: None,
                        attempts: Vec::new(),
                        outcome: Outcome::NothingToFix,
                        tokens: TokenUsage::default(),
                        timings_ms: BTreeMap::new(),
                        duration_ms: 0,
                        publication: None,
                    });
                }
                Event::Analyzed { primary, .. } => {
                    if let Some(record) = current.as_mut() {
                        record.failure.clone_from(primary);
                    }
                }
                Event::AttemptStarted { number, .. } => {
                    *in_flight = Some(Attempt {
                        number: *number,
                        outcome: AttemptOutcome::Error,
                        diagnosis: None,
                        diff: None,
                        files: Vec::new(),
                        validation: None,
                        reason: None,
                        tokens: TokenUsage::default(),
                        timings_ms: BTreeMap::new(),
                        test_change: None,
                        candidates: None,
                        model: None,
                        prompt_ms: None,
                        remedy: None,
                    });
                }
                Event::Diagnosed {
                    diagnosis,
                    tokens,
                    remedy,
                    ..
                } => {
                    if let Some(attempt) = in_flight.as_mut() {
                        attempt.diagnosis = Some(diagnosis.clone());
                        attempt.tokens = *tokens;
                        attempt.remedy.clone_from(remedy);
                    }
                }
                Event::PatchReady { diff, files, .. } => {
                    if let Some(attempt) = in_flight.as_mut() {
                        attempt.diff = Some(diff.clone());
                        attempt.files.clone_from(files);
                    }
                }
                Event::AttemptFinished { attempt } => {
                    *in_flight = None;
                    if let Some(record) = current.as_mut() {
                        record.tokens += attempt.tokens;
                        record.attempts.push(attempt.clone());
                    }
                }
                Event::Finished { .. } => {
                    *current = None;
                    *in_flight = None;
                }
                _ => {}
            }
        }
        self.inner.emit(event);
    }
}
