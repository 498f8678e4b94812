//! What every sandbox does with a step once it has run: the same tail, the
//! same failure section and the same environment check, so that a report
//! reads the same whichever sandbox wrote it.

use std::time::Duration;

use selfheal_types::{StepResult, ValidationOutcome};

use crate::TestStep;
use crate::tail::{CAPTURE_MAX_BYTES, Capture, TAIL_MAX_BYTES, TAIL_MAX_LINES, Tail};
use crate::{environment, failures};

/// A step's result before it has run: its name and the command as shown.
pub(crate) fn started(step: &TestStep) -> StepResult {
    StepResult {
        name: step.name.clone(),
        command: step.display(),
        exit_code: None,
        duration_ms: 0,
        timed_out: false,
        output_tail: String::new(),
        environment_error: None,
        failure_section: None,
    }
}

/// How one step ended, for the report's outcome.
pub(crate) fn outcome(result: &StepResult) -> ValidationOutcome {
    if result.timed_out {
        ValidationOutcome::TimedOut
    } else if result.environment_error.is_some() {
        ValidationOutcome::EnvironmentError
    } else if result.exit_code == Some(0) {
        ValidationOutcome::Passed
    } else {
        ValidationOutcome::Failed
    }
}

/// A step's output as it streams in: the tail for the report and the
/// bounded whole for the failure section and the environment check.
#[derive(Debug)]
pub(crate) struct Output {
    tail: Tail,
    capture: Capture,
}

impl Output {
    pub(crate) fn new() -> Self {
        Self {
            tail: Tail::new(TAIL_MAX_BYTES, TAIL_MAX_LINES),
            capture: Capture::new(CAPTURE_MAX_BYTES),
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.tail.push(bytes);
        self.capture.push(bytes);
    }

    /// Fills in `result`'s tail, environment error and failure section.
    /// `place` names where the step ran, for the environment error
    /// (`image <name>`, or the local sandbox).
    pub(crate) fn finish(self, result: &mut StepResult, script: &str, place: &str) {
        result.output_tail = strip_ansi(self.tail.finish());
        let output = strip_ansi(self.capture.finish());
        result.environment_error = environment::classify(script, result.exit_code, &output, place);
        if result.exit_code != Some(0) && result.environment_error.is_none() {
            result.failure_section = failures::section(&output);
        }
    }
}

/// `text` without terminal escape sequences: colour codes from `--color=yes`
/// runs, or the stray resets Debian's Maven prints even in batch mode. They
/// mean nothing to the model and split the words the checks look for.
fn strip_ansi(text: String) -> String {
    if !text.contains('\u{1b}') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            // CSI: parameters and intermediates, then one final byte in @..~.
            Some('[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' {
                        chars.next_if_eq(&'\\');
                        break;
                    }
                }
            }
            // A two-character escape (ESC and one more).
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    out
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_removed_and_text_kept() {
        assert_eq!(
            strip_ansi("\u{1b}[0m\u{1b}[0m\u{1b}[1;31mFAILED\u{1b}[0m t.py::x - ok\n".to_owned()),
            "FAILED t.py::x - ok\n"
        );
        assert_eq!(
            strip_ansi("a\u{1b}]0;title\u{7}b\u{1b}]8;;u\u{1b}\\c\u{1b}=d\u{1b}".to_owned()),
            "abcd"
        );
        assert_eq!(strip_ansi("plain ü\n".to_owned()), "plain ü\n");
    }
}
