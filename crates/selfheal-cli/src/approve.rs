//! Who says yes to a change: the person at the terminal, `--yes`, or nobody.

use std::io::IsTerminal;

use selfheal_orchestrator::{Approval, ApproveAll, Approver};
use selfheal_patch::ChangeSet;
use selfheal_types::Diagnosis;

/// Asks on the terminal; the diff has already been printed by the printer.
/// With `--yes` (`approve_all`) only a change to tests is asked about.
struct AskOnTerminal {
    approve_all: bool,
}

#[async_trait::async_trait]
impl Approver for AskOnTerminal {
    async fn approve(&self, change: &ChangeSet, _: &Diagnosis) -> Approval {
        if self.approve_all {
            return Approval::Approved;
        }
        let prompt = format!(
            "Apply this change to {} file(s) in a scratch copy and validate it?",
            change.files.len()
        );
        ask(prompt, true).await
    }

    async fn approve_test_edits(&self, changes: &[String], reason: &str) -> Approval {
        eprintln!("This change edits tests:");
        for change in changes {
            eprintln!("  - {change}");
        }
        eprintln!(
            "The model says the test itself is wrong: {}",
            crate::one_line(reason)
        );
        // No by default: a wrong "yes" hides a real failure.
        ask("Allow this change to the tests?".to_owned(), false).await
    }
}

/// One yes/no question on the terminal.
async fn ask(prompt: String, default: bool) -> Approval {
    // dialoguer blocks; keep it off the async workers.
    let answer = tokio::task::spawn_blocking(move || {
        dialoguer::Confirm::new()
            .with_prompt(prompt)
            .default(default)
            .interact_opt()
    })
    .await;
    let could_not = |e: String| Approval::Unattended {
        hint: format!("could not ask for approval ({e}); hint: rerun with --yes"),
    };
    match answer {
        Ok(Ok(Some(true))) => Approval::Approved,
        Ok(Ok(Some(false) | None)) => Approval::Declined,
        Ok(Err(e)) => could_not(e.to_string()),
        Err(e) => could_not(e.to_string()),
    }
}

/// Refuses every change: nobody is there to ask.
struct NobodyToAsk;

#[async_trait::async_trait]
impl Approver for NobodyToAsk {
    async fn approve(&self, _: &ChangeSet, _: &Diagnosis) -> Approval {
        Approval::Unattended {
            hint: "not applied: no terminal to ask for approval; hint: review the diff above and rerun with --yes to apply it".to_owned(),
        }
    }
}

/// `--yes` approves every change, except that a change to tests is still
/// asked about at a terminal (and refused without one, unless
/// `--allow-test-edits`); otherwise ask when stdin and stderr are a terminal,
/// and refuse when they are not (never wait on input that cannot come).
pub fn choose(yes: bool) -> Box<dyn Approver> {
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    match (yes, terminal) {
        (approve_all, true) => Box::new(AskOnTerminal { approve_all }),
        (true, false) => Box::new(ApproveAll),
        (false, false) => Box::new(NobodyToAsk),
    }
}
