//! Turns the orchestrator's events into what a person sees on stderr:
//! a spinner per stage, the diagnosis, the coloured diff, test results.
//! With `--json` nothing is drawn; the record goes to stdout at the end.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use selfheal_orchestrator::EventSink;
use selfheal_types::{AttemptOutcome, Event, Outcome, Stage, ValidationOutcome};

/// Whether to colour output on stderr: a terminal, and `NO_COLOR` unset or empty.
pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

pub struct HumanPrinter {
    spinner: Mutex<Option<ProgressBar>>,
    color: bool,
}

impl HumanPrinter {
    pub fn new() -> Self {
        Self {
            spinner: Mutex::new(None),
            color: color_enabled(),
        }
    }

    fn line(&self, text: &str) {
        let guard = self
            .spinner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match guard.as_ref() {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    fn spin(&self, message: String) {
        let mut guard = self
            .spinner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bar) = guard.take() {
            bar.finish_and_clear();
        }
        if !std::io::stderr().is_terminal() {
            drop(guard);
            eprintln!("  {message}");
            return;
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("  {spinner} {msg} {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        *guard = Some(bar);
    }

    fn stop_spinner(&self) {
        let mut guard = self
            .spinner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bar) = guard.take() {
            bar.finish_and_clear();
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

impl EventSink for HumanPrinter {
    fn emit(&self, event: &Event) {
        match event {
            Event::RunSelected { run, base_commit } => {
                let mut what = format!("run {}", run.id);
                if let Some(w) = &run.workflow {
                    let _ = write!(what, " ({w}");
                    if let Some(b) = &run.head_branch {
                        let _ = write!(what, " on {b}");
                    }
                    what.push(')');
                }
                let short = &base_commit[..base_commit.len().min(12)];
                self.line(&format!(
                    "{} {what} at {short}",
                    self.paint("1", "selfheal")
                ));
                self.spin("analysing the logs".into());
            }
            Event::Analyzed { failures, primary } => {
                self.stop_spinner();
                match primary {
                    Some(f) => {
                        let mut text = format!(
                            "found {failures} failure(s); repairing [{}] {}",
                            f.category, f.message
                        );
                        if let Some(test) = &f.test {
                            let _ = write!(text, "\n  test: {test}");
                        }
                        if let Some(loc) = f.locations.first() {
                            let _ = write!(
                                text,
                                "\n  at: {}{}",
                                loc.file,
                                loc.line.map(|l| format!(":{l}")).unwrap_or_default()
                            );
                        }
                        self.line(&text);
                    }
                    None => self.line("no failure found in the logs"),
                }
            }
            Event::AttemptStarted { number, max } => {
                self.line(&self.paint("1", &format!("attempt {number}/{max}")));
            }
            Event::StageStarted { stage, .. } => {
                let message = match stage {
                    Stage::Analyze => "analysing the logs",
                    Stage::Checkout => "checking out the failing commit",
                    Stage::Context => "gathering source context",
                    Stage::Reason => "asking the model",
                    Stage::Patch => "reading the proposed edits",
                    Stage::Approve => {
                        self.stop_spinner();
                        return;
                    }
                    Stage::Validate => "running the tests in the sandbox",
                    Stage::Commit => "committing the fix",
                    Stage::Fetch => "fetching the run",
                    Stage::Install => {
                        "installing the project's dependencies (cached after the first time)"
                    }
                    Stage::Publish => "publishing the fix",
                };
                self.spin(message.into());
            }
            Event::Diagnosed {
                diagnosis,
                tokens,
                remedy,
                ..
            } => {
                self.stop_spinner();
                let source = match remedy {
                    Some(rule) => format!("remedy: {rule}, no model"),
                    None => format!("{} tokens", tokens.total()),
                };
                self.line(&format!("  diagnosis: {} ({source})", diagnosis.summary));
            }
            Event::PatchReady { diff, .. } => {
                self.stop_spinner();
                self.line(&render_diff(diff, self.color));
            }
            Event::Validated { report, .. } => {
                self.stop_spinner();
                match report.outcome {
                    ValidationOutcome::Passed => self.line(&format!(
                        "  {} ({} step(s), {:.1}s)",
                        self.paint("32", "tests passed"),
                        report.steps.len(),
                        report.duration_ms as f64 / 1000.0
                    )),
                    ValidationOutcome::EnvironmentError => {
                        let what = report
                            .environment_error()
                            .unwrap_or("the tests could not run");
                        self.line(&format!(
                            "  {}: {what}",
                            self.paint("31", "the sandbox cannot run the tests")
                        ));
                    }
                    ValidationOutcome::Failed | ValidationOutcome::TimedOut => {
                        let mut text = format!("  {}", self.paint("31", "tests failed"));
                        if let Some(step) = report.failed_step() {
                            let _ = write!(text, ": {} `{}`", step.name, step.command);
                            for line in last_lines(&step.output_tail, 8) {
                                let _ = write!(text, "\n    | {line}");
                            }
                        }
                        self.line(&text);
                    }
                }
            }
            Event::AttemptFinished { attempt } => {
                self.stop_spinner();
                if attempt.outcome != AttemptOutcome::Validated
                    && let Some(reason) = &attempt.reason
                {
                    self.line(&format!("  attempt {} failed: {reason}", attempt.number));
                }
            }
            Event::Committed { branch, commit } => {
                self.line(&format!(
                    "  committed {} on branch {branch}",
                    &commit[..commit.len().min(12)]
                ));
            }
            Event::Published { publication } => {
                self.stop_spinner();
                self.line(&describe_publication(publication));
            }
            Event::Finished { outcome } => {
                self.stop_spinner();
                if let Outcome::NotFixed { reason } = outcome {
                    self.line(&self.paint("31", &format!("not fixed: {reason}")));
                }
            }
        }
    }
}

fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// Colours a unified diff line by line, the way `git diff` does.
pub fn render_diff(diff: &str, color: bool) -> String {
    if !color {
        return diff.trim_end().to_owned();
    }
    diff.lines()
        .map(|line| {
            let code = if line.starts_with("+++") || line.starts_with("---") {
                "1"
            } else if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                return line.to_owned();
            };
            format!("\x1b[{code}m{line}\x1b[0m")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line saying where a fix went.
pub fn describe_publication(publication: &selfheal_types::Publication) -> String {
    use selfheal_types::Publication;
    match publication {
        Publication::Opened { number, url, .. } => {
            format!("  opened pull request #{number}: {url}")
        }
        Publication::Updated {
            number,
            url,
            pushed,
            note,
            ..
        } => {
            let mut text = format!("  updated pull request #{number}: {url}");
            if !pushed {
                let _ = write!(
                    text,
                    " (fix not pushed: {})",
                    note.as_deref().unwrap_or("the branch moved on")
                );
            }
            text
        }
        Publication::Commented { number, url } => format!("  commented on #{number}: {url}"),
        Publication::DryRun { path } => {
            format!("  dry run: the pull request that would be opened is in {path}")
        }
        Publication::Failed { error } => format!("  could not publish: {error}"),
    }
}
