//! `selfheal analyze`.

use std::io::Write;

use selfheal_analyze::{AnalyzeOptions, analyze_path, render_summary};

use crate::Status;
use crate::args::AnalyzeArgs;

pub fn analyze(args: &AnalyzeArgs) -> anyhow::Result<Status> {
    let mut opts = AnalyzeOptions::default();
    if let Some(n) = args.excerpt_lines {
        opts.excerpt_budget_lines = n;
    }
    let mut status = Status::Success;
    let mut out = std::io::stdout().lock();
    for path in &args.paths {
        match analyze_path(path, &opts) {
            Ok(analysis) if args.json => {
                serde_json::to_writer(&mut out, &analysis)?;
                writeln!(out)?;
            }
            Ok(analysis) => {
                if args.paths.len() > 1 {
                    writeln!(out, "== {}", path.display())?;
                }
                write!(out, "{}", render_summary(&analysis))?;
            }
            Err(e) => {
                eprintln!(
                    "error: {}: {}",
                    path.display(),
                    crate::one_line(&e.to_string())
                );
                status = Status::Error;
            }
        }
    }
    Ok(status)
}
