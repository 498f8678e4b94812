//! Who says yes to a change: the person at the terminal, `--yes`, or nobody.

use std::io::IsTerminal;

use selfheal_orchestrator::{Approval, ApproveAll, Approver};
use selfheal_patch::ChangeSet;
use selfheal_types::Diagnosis;

/// Asks on the terminal; the diff has already been printed by the printer.
struct AskOnTerminal;

#[async_trait::async_trait]
impl Approver for AskOnTerminal {
    async fn approve(&self, change: &ChangeSet, _: &Diagnosis) -> Approval {
        let prompt = format!(
            "Apply this change to {} file(s) in a scratch copy and validate it?",
            change.files.len()
        );
        // dialoguer blocks; keep it off the async workers.
        let answer = tokio::task::spawn_blocking(move || {
            dialoguer::Confirm::new()
                .with_prompt(prompt)
                .default(true)
                .interact_opt()
        })
        .await;
        match answer {
            Ok(Ok(Some(true))) => Approval::Approved,
            Ok(Ok(Some(false) | None)) => Approval::Declined,
            Ok(Err(e)) => Approval::Unattended {
                hint: format!("could not ask for approval ({e}); hint: rerun with --yes"),
            },
            Err(e) => Approval::Unattended {
                hint: format!("could not ask for approval ({e}); hint: rerun with --yes"),
            },
        }
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

/// `--yes` approves everything; otherwise ask when stdin and stderr are a
/// terminal, and refuse when they are not (never wait on input that cannot come).
pub fn choose(yes: bool) -> Box<dyn Approver> {
    if yes {
        Box::new(ApproveAll)
    } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Box::new(AskOnTerminal)
    } else {
        Box::new(NobodyToAsk)
    }
}
