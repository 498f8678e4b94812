//! `selfheal run` and `selfheal analyze`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use selfheal_analyze::{AnalyzeOptions, analyze_path, render_summary};
use selfheal_monitor::{CachedRun, OfflineCache, run_from_logs_path};
use selfheal_orchestrator::{EventSink, NoEvents, Orchestrator, RepairJob, write_record};
use selfheal_reason::Reasoner;
use selfheal_types::{Outcome, RepairRecord};
use selfheal_validate::DockerSandbox;

use crate::Status;
use crate::args::{AnalyzeArgs, RunArgs};
use crate::printer::HumanPrinter;
use crate::settings::Resolved;

pub async fn run(args: RunArgs) -> anyhow::Result<Status> {
    let resolved = Resolved::load(&args.common, Some(&args))?;
    let settings = &resolved.settings;
    let repo = &resolved.repo;

    let offline = args.offline || resolved.offline_env;
    let cached: CachedRun = if let Some(logs) = &args.logs {
        run_from_logs_path(logs)?
    } else if offline {
        OfflineCache::new(repo.root()).select(args.run_id.as_deref())?
    } else {
        bail!(
            "fetching runs from GitHub is not available in this version; hint: pass --offline to replay logs cached in .selfheal/logs/, or --logs PATH"
        );
    };
    let mut run = cached.info.clone();
    if let Some(id) = &args.run_id {
        run.id.clone_from(id);
    }
    let base_commit = if let Some(sha) = &run.head_sha {
        repo.resolve_commit(sha)
            .with_context(|| format!("run {} tested commit {sha}", run.id))?
    } else {
        tracing::warn!("the run does not name its commit; repairing HEAD");
        repo.head_commit()?
    };

    // Fail before spending tokens when the sandbox cannot run.
    let sandbox = DockerSandbox::connect(&settings.validate.image, resolved.limits()).await?;
    if !sandbox.image_present().await? {
        bail!(
            "sandbox image {} is not present; hint: build it with scripts/build-sandbox-image.sh or pass --image",
            settings.validate.image
        );
    }
    let reasoner = Reasoner::new(resolved.llm_settings(), resolved.prompts()?)?;
    let approver = crate::approve::choose(args.yes);
    let human = HumanPrinter::new();
    let events: &dyn EventSink = if args.common.json { &NoEvents } else { &human };

    let orchestrator = Orchestrator {
        repo,
        model: &reasoner,
        sandbox: &sandbox,
        approver: approver.as_ref(),
        events,
        settings: resolved.loop_settings(),
    };
    let job = RepairJob {
        run,
        logs: cached.logs.clone(),
        base_commit,
        analysis: None,
    };

    // Ctrl-C drops the repair future: the scratch tree and the sandbox
    // container clean themselves up on drop, and the user's checkout was
    // never touched.
    let record = tokio::select! {
        record = orchestrator.repair(&job) => record?,
        _ = tokio::signal::ctrl_c() => {
            // The dropped validation only schedules its container's removal;
            // finish it before the runtime goes away.
            let _ = sandbox.remove_leftovers().await;
            eprintln!("interrupted; nothing was changed in {}", repo.root().display());
            return Ok(Status::Interrupted);
        }
    };
    let results_dir = repo.root().join(".selfheal").join("results");
    let record_path = write_record(&results_dir, &record)?;
    report(&record, &record_path, args.common.json)?;
    Ok(match record.outcome {
        Outcome::Fixed { .. } | Outcome::NothingToFix => Status::Success,
        Outcome::NotFixed { .. } => Status::Failure,
    })
}

fn report(record: &RepairRecord, record_path: &Path, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, record)?;
        writeln!(out)?;
        return Ok(());
    }
    match &record.outcome {
        Outcome::Fixed { branch, commit } => {
            let attempts = record.attempts.len();
            writeln!(
                out,
                "fixed in {attempts} attempt(s): branch {branch} (commit {})",
                &commit[..commit.len().min(12)]
            )?;
            writeln!(out, "  review: git show {branch}")?;
            writeln!(out, "  push:   git push origin {branch}")?;
        }
        Outcome::NotFixed { reason } => writeln!(out, "not fixed: {reason}")?,
        Outcome::NothingToFix => writeln!(out, "nothing to fix: the logs show no failure")?,
    }
    writeln!(
        out,
        "  record: {} ({} tokens, {:.1}s)",
        record_path.display(),
        record.tokens.total(),
        record.duration_ms as f64 / 1000.0
    )?;
    Ok(())
}

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
