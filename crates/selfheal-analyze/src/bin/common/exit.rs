//! How the analyser's measuring tools end: an error as one line on stderr
//! and a failing status; a closed pipe (`selfheal-eval | head`) quietly.
//! Included by `selfheal-eval` and `selfheal-speed`.

use std::io::Write;
use std::process::ExitCode;

/// Runs `run` and turns its result into the process's status.
pub fn exit_with(run: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
