//! `selfheal run` and `selfheal fetch`: which runs, from where, and what
//! happens to each.
//!
//! A source of runs is a [`CiProvider`]: the offline cache (`--offline`,
//! `OFFLINE_MODE`) or GitHub. `--logs PATH` names one run's logs directly.
//! For every selected run the same steps follow: skip what is selfheal's own
//! work or was handled before (the ledger, and open pull requests' hidden
//! fingerprint markers, which survive where a ledger does not: a new Actions
//! runner), fetch the logs into the cache, analyse, make sure the failing
//! commit is present, repair, publish, and remember.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use selfheal_analyze::analyze_path;
use selfheal_config::SandboxKind;
use selfheal_config::env;
use selfheal_git::{Credentials, Repo};
use selfheal_github::{GithubClient, RetryPolicy};
use selfheal_monitor::{
    CachedRun, CiProvider, Forge, Ledger, LedgerEntry, LedgerOutcome, OfflineCache, OwnWork,
    RunFilter, run_from_logs_path, skip_reason,
};
use selfheal_orchestrator::{
    Approver, EventSink, LoopSettings, Orchestrator, RepairJob, target_failure, write_record,
};
use selfheal_publish::{PublishSettings, fingerprint_marker};
use selfheal_reason::{Reasoner, RepairModel};
use selfheal_types::{Event, Outcome, Publication, RepairRecord, RunInfo, Stage};
use selfheal_validate::{CiStep, DockerSandbox, InstallSpec, LocalSandbox, Sandbox};

use crate::Status;
use crate::actions::{self, SummaryRow};
use crate::args::{FetchArgs, RunArgs, SelectArgs};
use crate::interrupt::{Recorder, stop_requested};
use crate::printer::HumanPrinter;
use crate::settings::{Resolved, process_env};

/// Where runs come from, and (for GitHub) where fixes go.
enum Source {
    /// `--logs PATH`: one run, named by the user.
    Logs(Box<CachedRun>),
    Offline(OfflineCache),
    Github(Box<GithubSource>),
}

/// GitHub as the source of runs and the target of fixes.
struct GithubSource {
    /// `owner/name`.
    slug: String,
    runs: GithubClient,
    /// With the publishing token (`SELFHEAL_PR_TOKEN`), else the same token.
    forge: GithubClient,
    push: Credentials,
}

impl Source {
    fn provider(&self) -> Option<&dyn CiProvider> {
        match self {
            Source::Logs(_) => None,
            Source::Offline(cache) => Some(cache),
            Source::Github(github) => Some(&github.runs),
        }
    }

    fn forge(&self) -> Option<&dyn Forge> {
        match self {
            Source::Github(github) => Some(&github.forge),
            _ => None,
        }
    }
}

pub async fn run(args: RunArgs) -> anyhow::Result<Status> {
    let resolved = Resolved::load(&args.common, Some(&args))?;
    print_warnings(&resolved);
    if switched_off(&resolved) {
        return Ok(Status::Success);
    }
    let settings = &resolved.settings;
    let repo = &resolved.repo;
    let offline = args.offline || resolved.offline_env;
    let source = choose_source(&resolved, &args.select, args.logs.as_deref(), offline)?;

    // Fail before spending tokens when the sandbox cannot run.
    let local = settings.validate.sandbox_kind() == SandboxKind::Local;
    let docker = if local {
        eprintln!("warning: {}", LocalSandbox::WARNING);
        None
    } else {
        let sandbox = DockerSandbox::connect(&settings.validate.image, resolved.limits()).await?;
        // With the repository's own Dockerfile the image is built later.
        if settings.validate.dockerfile.is_none() && !sandbox.image_present().await? {
            bail!(
                "sandbox image {} is not present; hint: build it with scripts/build-sandbox-image.sh or pass --image",
                settings.validate.image
            );
        }
        Some(sandbox)
    };
    let reasoner = Reasoner::new(resolved.llm_settings(), resolved.prompts()?)?;
    let redactor = crate::redaction::redactor(&resolved)?;
    let model = crate::redaction::RedactingModel {
        inner: &reasoner,
        redactor: &redactor,
    };
    // The ladder's second rung, asked only when the first model fails.
    let escalation = match &settings.llm.escalate_to {
        Some(e) => {
            let mut llm = resolved.llm_settings();
            llm.base_url.clone_from(&e.base_url);
            llm.model.clone_from(&e.model);
            llm.api_key.clone_from(&e.api_key);
            Some(Reasoner::new(llm, resolved.prompts()?)?)
        }
        None => None,
    };
    let escalated = escalation
        .as_ref()
        .map(|inner| crate::redaction::RedactingModel {
            inner,
            redactor: &redactor,
        });
    let approver = crate::approve::choose(args.yes);
    // Progress and every proposed diff go to stderr in both modes: `--json`
    // owns stdout, but whoever approves a change must still see it, and a
    // prompt never appears without the diff above it.
    let human = HumanPrinter::new();
    let shown = crate::redaction::RedactingEvents {
        inner: &human,
        redactor: &redactor,
    };
    let recorder = Recorder::new(&shown, &settings.llm.model);
    let events: &dyn EventSink = &recorder;
    let ledger = Ledger::new(repo.root());
    let publishing = matches!(source, Source::Github(_)) && !args.no_publish;
    let automated = args.ci || env::is_truthy(process_env(env::GITHUB_ACTIONS).as_deref());
    let mut dry_run = settings.dry_run;
    if let Source::Github(github) = &source
        && publishing
        && automated
        && !dry_run
        && !settings
            .github
            .enrolled
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&github.slug))
    {
        eprintln!(
            "warning: {} is not enrolled for automated publishing, so this is a dry run; hint: set SELFHEAL_ENROLLED={} in the workflow, or [github] enrolled in your own config",
            github.slug, github.slug
        );
        dry_run = true;
    }

    let runs = tokio::select! {
        runs = select_runs(&source, &resolved, &args.select) => runs?,
        () = stop_requested() => return Ok(interrupted(repo)),
    };
    if runs.is_empty() {
        eprintln!("no failed run to repair");
    }

    let ctx = HandleRun {
        source: &source,
        resolved: &resolved,
        model: &model,
        escalation: escalated.as_ref().map(|m| m as &dyn RepairModel),
        redactor: &redactor,
        approver: approver.as_ref(),
        ledger: &ledger,
        events,
        json: args.common.json,
        force: args.force,
        publishing,
        dry_run,
    };
    let mut rows = Vec::new();
    let mut status = Status::Success;
    for run in runs {
        let handled = handle_run(&ctx, run);
        let handled = tokio::select! {
            handled = handled => handled,
            () = stop_requested() => {
                // The dropped validation only schedules its container's removal;
                // finish it before the runtime goes away.
                if let Some(sandbox) = &docker {
                    let _ = sandbox.remove_leftovers().await;
                }
                // What the attempts so far did (their diffs, why they
                // failed) is kept, as after any other ending.
                if let Some(record) = recorder
                    .interrupted_record()
                    .map(|r| crate::redaction::redact_record(&redactor, &r))
                {
                    match write_record(&results_dir(repo), &record) {
                        Ok(path) => eprintln!("record: {}", path.display()),
                        Err(e) => eprintln!("warning: could not write the record: {e}"),
                    }
                }
                return Ok(interrupted(repo));
            }
        };
        match handled {
            Ok(Handled::Skipped { run_id, reason }) => {
                eprintln!("skipped run {run_id}: {reason}");
                rows.push(SummaryRow::Skipped { run_id, reason });
            }
            Ok(Handled::Repaired(record)) => {
                if let Outcome::EnvironmentError { reason } = &record.outcome {
                    eprintln!("error: {}", crate::one_line(reason));
                    status = worst(status, Status::Error);
                } else if matches!(record.outcome, Outcome::NotFixed { .. })
                    || matches!(record.publication, Some(Publication::Failed { .. }))
                {
                    status = worst(status, Status::Failure);
                }
                rows.push(SummaryRow::Repaired(record));
            }
            Err(e) => {
                // One bad run (gone logs, a commit that cannot be fetched) does
                // not stop the others; it is reported and the exit code says so.
                eprintln!("error: {}", crate::one_line(&format!("{e:#}")));
                status = worst(status, Status::Error);
            }
        }
    }
    if let Some(path) = process_env(env::GITHUB_STEP_SUMMARY).filter(|p| !p.trim().is_empty())
        && let Err(e) = actions::append_summary(Path::new(&path), &rows)
    {
        eprintln!("warning: could not write the job summary to {path}: {e}");
    }
    Ok(status)
}

/// Everything [`handle_run`] needs besides the run.
// Each bool is an independent switch of this invocation.
#[allow(clippy::struct_excessive_bools)]
struct HandleRun<'a> {
    source: &'a Source,
    /// Secrets out of records, pull requests and comments.
    redactor: &'a selfheal_redact::Redactor,
    resolved: &'a Resolved,
    model: &'a dyn RepairModel,
    /// `[llm] escalate_to`: asked when `model` fails all its attempts.
    escalation: Option<&'a dyn RepairModel>,
    approver: &'a dyn Approver,
    ledger: &'a Ledger,
    events: &'a dyn EventSink,
    json: bool,
    force: bool,
    publishing: bool,
    /// Publish nothing (`--dry-run`, or an automated run of a repository
    /// that is not enrolled).
    dry_run: bool,
}

enum Handled {
    Skipped { run_id: String, reason: String },
    Repaired(Box<RepairRecord>),
}

async fn handle_run(ctx: &HandleRun<'_>, run: RunInfo) -> anyhow::Result<Handled> {
    let resolved = ctx.resolved;
    let repo = &resolved.repo;
    let skip = |reason: String| {
        Ok(Handled::Skipped {
            run_id: run.id.clone(),
            reason,
        })
    };
    let by_provider = !matches!(ctx.source, Source::Logs(_));
    if by_provider {
        if let Some(reason) = skip_reason(&run, &own_work(resolved)) {
            return skip(reason);
        }
        if !ctx.force
            && let Some(entry) = ctx.ledger.for_run(&run.id)?
        {
            return skip(format!(
                "handled on {} ({}); hint: pass --force to repair it again",
                entry.at,
                ledger_outcome_text(&entry)
            ));
        }
    }

    let fetch_started = std::time::Instant::now();
    let logs = match ctx.source {
        Source::Logs(cached) => cached.logs.clone(),
        Source::Offline(cache) => cache.fetch_logs(&run).await?,
        Source::Github(github) => {
            ctx.events.emit(&Event::StageStarted {
                number: 0,
                stage: Stage::Fetch,
            });
            github
                .runs
                .fetch_logs(&run)
                .await
                .with_context(|| format!("run {}", run.id))?
        }
    };
    let fetch_ms = elapsed_ms(fetch_started);
    let analyze_started = std::time::Instant::now();
    let analysis = analyze_path(&logs, &resolved.loop_settings().analyze)?;
    let analyze_ms = elapsed_ms(analyze_started);
    let excerpt = ctx.redactor.redact_str(&analysis.excerpt);
    if let Ok(failure) = target_failure(&analysis)
        && !ctx.force
    {
        let fingerprint = failure.fingerprint.clone();
        if let Some(entry) = ctx.ledger.for_fingerprint(&fingerprint)? {
            return skip(format!(
                "failure {} was fixed before (run {}{}); hint: pass --force to repair it again",
                failure.short_fingerprint(),
                entry.run_id,
                entry
                    .pull_request
                    .map(|u| format!(", {u}"))
                    .unwrap_or_default()
            ));
        }
        if ctx.publishing
            && let Some(forge) = ctx.source.forge()
        {
            let open = forge
                .find_open_pull_requests(&fingerprint_marker(&fingerprint))
                .await?;
            if let Some(pr) = open.first() {
                return skip(format!(
                    "failure {} already has an open pull request: {}; hint: pass --force to repair it again and update that pull request",
                    failure.short_fingerprint(),
                    pr.url
                ));
            }
        }
    }

    let base_commit = resolve_base_commit(ctx, &run)?;
    // The unpatched failing commit: what the project is, and what it needs.
    let tree = repo.export_tree(&base_commit, None)?;
    let mut loop_settings = resolved.loop_settings();
    let ci = failing_ci_step(tree.path(), &run, &analysis);
    let workdir = ci
        .as_ref()
        .and_then(|c| c.working_directory.clone())
        .unwrap_or_default();
    loop_settings.workdir.clone_from(&workdir);
    let base_image = choose_toolchain(
        resolved,
        tree.path(),
        &workdir,
        ci.as_ref(),
        &mut loop_settings,
    );
    let base_image = match &resolved.settings.validate.dockerfile {
        Some(dockerfile) if resolved.settings.validate.sandbox_kind() == SandboxKind::Docker => {
            build_repo_image(ctx, tree.path(), dockerfile).await?
        }
        _ => base_image,
    };
    // The tests may ask git about the commit (a version from `git describe`).
    let metadata = tempfile::Builder::new()
        .prefix("selfheal-git-")
        .tempdir()
        .context("a scratch folder for the commit's git metadata")?;
    let git_dir = metadata.path().join(".git");
    if let Err(e) = repo.write_shallow_metadata(&base_commit, &git_dir) {
        tracing::warn!(error = %e, "the sandbox gets no .git for the failing commit");
    }
    let git_dir = git_dir.is_dir().then_some(git_dir);
    let local = resolved.settings.validate.sandbox_kind() == SandboxKind::Local;
    let install_started = std::time::Instant::now();
    let image = if local {
        // The local sandbox runs with what this machine has installed.
        base_image.clone()
    } else {
        prepare_image(ctx, tree.path(), &workdir, ci.as_ref(), &base_image).await?
    };
    let install_ms = elapsed_ms(install_started);
    drop(tree);
    // Every attempt of this run validates in the same prepared image.
    let sandbox: Box<dyn Sandbox> = if local {
        let mut sandbox = LocalSandbox::new();
        if let Some(dir) = &git_dir {
            sandbox = sandbox.with_git_metadata(dir);
        }
        Box::new(sandbox)
    } else {
        let mut sandbox = DockerSandbox::connect(&image, resolved.limits()).await?;
        if !sandbox.image_present().await? {
            bail!(
                "sandbox image {image} is not present; hint: build it with scripts/build-sandbox-image.sh {}, or pass --image",
                loop_settings
                    .ecosystem
                    .map_or("python", ecosystem_script_name)
            );
        }
        if let Some(dir) = &git_dir {
            sandbox = sandbox.with_git_metadata(dir);
        }
        Box::new(sandbox)
    };
    let orchestrator = Orchestrator {
        repo,
        model: ctx.model,
        sandbox: sandbox.as_ref(),
        approver: ctx.approver,
        events: ctx.events,
        settings: loop_settings.clone(),
    };
    let job = RepairJob {
        run: run.clone(),
        logs,
        base_commit,
        analysis: Some(analysis),
        redo: ctx.force,
    };
    let mut record = orchestrator.repair(&job).await?;
    if let (Outcome::NotFixed { .. }, Some(second)) = (&record.outcome, ctx.escalation) {
        eprintln!(
            "{} did not fix it; escalating to {}",
            ctx.model.name(),
            second.name()
        );
        let orchestrator = Orchestrator {
            model: second,
            settings: LoopSettings {
                model: second.name().to_owned(),
                ..loop_settings
            },
            ..orchestrator
        };
        let more = orchestrator.repair(&job).await?;
        record = escalated(record, more, ctx.model.name());
    }
    // Everything below writes the record or sends it on: no secret goes with it.
    let mut record = crate::redaction::redact_record(ctx.redactor, &record);
    record.timings_ms.insert(Stage::Analyze, analyze_ms);
    if image != base_image {
        record.timings_ms.insert(Stage::Install, install_ms);
    }
    drop(metadata);
    if matches!(ctx.source, Source::Github(_)) {
        record.timings_ms.insert(Stage::Fetch, fetch_ms);
    }

    if ctx.publishing
        && record.outcome.is_fixed()
        && let Source::Github(github) = ctx.source
    {
        let (forge, push) = (&github.forge, &github.push);
        ctx.events.emit(&Event::StageStarted {
            number: 0,
            stage: Stage::Publish,
        });
        let settings = publish_settings(resolved, push.clone(), ctx.dry_run);
        let started = std::time::Instant::now();
        let publication =
            match selfheal_publish::publish(forge, repo, &record, &excerpt, &settings).await {
                Ok(p) => p,
                Err(e) => Publication::Failed {
                    error: crate::one_line(&e.to_string()),
                },
            };
        record
            .timings_ms
            .insert(Stage::Publish, elapsed_ms(started));
        ctx.events.emit(&Event::Published {
            publication: publication.clone(),
        });
        record.publication = Some(publication);
    } else if record.outcome.is_fixed() && ctx.dry_run {
        // A dry run without a forge still shows the would-be pull request.
        let text = selfheal_publish::pull_request_text(&record, &excerpt);
        let path = selfheal_publish::write_dry_run(&results_dir(repo), &record, &text)?;
        record.publication = Some(Publication::DryRun {
            path: path.display().to_string(),
        });
    }

    let record_path = write_record(&results_dir(repo), &record)?;
    if by_provider {
        remember(ctx.ledger, &record)?;
    }
    report(&record, &record_path, ctx.json)?;
    Ok(Handled::Repaired(Box::new(record)))
}

/// The failing commit as a full sha: fetched from the remote when the clone
/// lacks it (a `workflow_run` job checks out the default branch, shallowly).
fn resolve_base_commit(ctx: &HandleRun<'_>, run: &RunInfo) -> anyhow::Result<String> {
    let repo = &ctx.resolved.repo;
    let Some(sha) = &run.head_sha else {
        tracing::warn!("the run does not name its commit; repairing HEAD");
        return Ok(repo.head_commit()?);
    };
    match ctx.source {
        Source::Github(github) => Ok(repo
            .ensure_commit(sha, &ctx.resolved.settings.github.remote, &github.push)
            .with_context(|| format!("run {} tested commit {sha}", run.id))?),
        _ => Ok(repo
            .resolve_commit(sha)
            .with_context(|| format!("run {} tested commit {sha}", run.id))?),
    }
}

/// The repository's own Dockerfile, built at the failing commit (cached by
/// its text, base image and context), as the base image; one line per step.
async fn build_repo_image(
    ctx: &HandleRun<'_>,
    tree: &Path,
    dockerfile: &str,
) -> anyhow::Result<String> {
    let proxies = selfheal_validate::PROXY_ENV_VARS
        .iter()
        .filter_map(|name| process_env(name).map(|value| ((*name).to_owned(), value)));
    let built = selfheal_validate::RepoImageBuilder::connect()
        .await?
        .with_log_dir(ctx.resolved.repo.root().join(".selfheal").join("build"))
        .with_proxy_env(proxies)
        .with_progress(|step: &selfheal_validate::BuildStep| {
            eprintln!(
                "  {dockerfile_step}/{total} {instruction} ({secs:.1} s)",
                dockerfile_step = step.number,
                total = step.total,
                instruction = crate::one_line(&step.instruction),
                secs = step.duration.as_secs_f64()
            );
        })
        .build(tree, dockerfile, None)
        .await
        .with_context(|| format!("[validate] dockerfile {dockerfile}"))?;
    eprintln!(
        "{} image {} from {dockerfile} ({:.1} s)",
        if built.cached { "reused" } else { "built" },
        built.image,
        built.duration.as_secs_f64()
    );
    Ok(built.image)
}

/// The image the run's patches are validated in: the configured one, or,
/// when the project declares dependencies, that image with them installed
/// (made once with the network on, from the unpatched failing commit, and
/// cached by a hash of the base image, the command and the manifests).
async fn prepare_image(
    ctx: &HandleRun<'_>,
    tree: &Path,
    workdir: &str,
    ci: Option<&CiStep>,
    base_image: &str,
) -> anyhow::Result<String> {
    let validate = &ctx.resolved.settings.validate;
    if !validate.install {
        return Ok(base_image.to_owned());
    }
    let repo = &ctx.resolved.repo;
    // The user's own command, else the failing job's install steps (the
    // closest to how CI ran), else the ecosystem's usual command.
    let spec = match &validate.setup_command {
        Some(script) => InstallSpec::from_setup_command(tree, workdir, script),
        None => ci
            .and_then(|ci| selfheal_validate::install_from_workflow(tree, ci))
            .or_else(|| selfheal_validate::detect_install_in(tree, workdir)),
    };
    let Some(spec) = spec else {
        return Ok(base_image.to_owned());
    };
    // selfheal's JDK image resolves Maven from Debian's packaged repository
    // with the network off; `dependency:go-offline` has nothing to fetch
    // there (and no plugin to do it with). Another image gets the install.
    if base_image == selfheal_validate::JAVA_IMAGE
        && validate.setup_command.is_none()
        && spec.command.first().is_some_and(|c| c == "mvn")
    {
        tracing::info!("no install phase in the JDK image: Maven reads Debian's repository");
        return Ok(base_image.to_owned());
    }
    ctx.events.emit(&Event::StageStarted {
        number: 0,
        stage: Stage::Install,
    });
    let proxies = selfheal_validate::PROXY_ENV_VARS
        .iter()
        .filter_map(|name| process_env(name).map(|value| ((*name).to_owned(), value)));
    let installer = selfheal_validate::Installer::connect(base_image)
        .await?
        .with_proxy_env(proxies)
        .with_log_dir(repo.root().join(".selfheal").join("install"));
    let ca = ca_bundle(validate.ca_bundle.as_deref());
    let prepared = installer
        .prepare(tree, &spec, ca.as_deref())
        .await
        .with_context(|| {
            format!(
                "installing the project's dependencies in {base_image} failed; hint: fix the install, set [validate] install = false, or pass --image with the dependencies in it"
            )
        })?;
    tracing::info!(
        image = %prepared.image,
        cached = prepared.cached,
        ms = prepared.duration.as_millis(),
        "dependencies installed"
    );
    Ok(prepared.image)
}

/// The image and test commands for the project's own toolchain, when the
/// user named neither: a Rust, Go or Node project gets its runner and the
/// selfheal image with that toolchain instead of pytest in the Python image.
/// Returns the base image; `settings` gets the commands and the ecosystem.
fn choose_toolchain(
    resolved: &Resolved,
    tree: &Path,
    workdir: &str,
    ci: Option<&CiStep>,
    settings: &mut LoopSettings,
) -> String {
    let validate = &resolved.settings.validate;
    let default_commands = validate.test_command.trim() == selfheal_config::DEFAULT_TEST_COMMAND
        && validate.failing_test_command.trim() == selfheal_config::DEFAULT_FAILING_TEST_COMMAND;
    let default_image = validate.image == selfheal_config::DEFAULT_IMAGE;
    let Some(found) = selfheal_validate::detect_tests(tree, workdir) else {
        return validate.image.clone();
    };
    if !default_commands {
        return validate.image.clone();
    }
    tracing::info!(ecosystem = ?found.ecosystem, full = %found.full, "detected the project's tests");
    settings.ecosystem = Some(found.ecosystem);
    settings.test_command = found.full;
    settings.failing_test_command = found.failing;
    if let Some(ci) = ci {
        // Its `env:`, expressions and credential-named variables left out.
        settings.test_env = ci
            .env
            .iter()
            .filter(|(name, _)| !selfheal_redact::is_secret_name(name))
            .cloned()
            .collect();
    }
    if let Some(command) = ci.and_then(|ci| ci_suite_command(ci, found.ecosystem)) {
        let workdir = workdir.trim_matches('/');
        settings.test_command = if workdir.is_empty() || workdir == "." {
            command
        } else {
            format!(
                "cd {} && {command}",
                selfheal_validate::shell_quote(workdir)
            )
        };
        tracing::info!(command = %settings.test_command, "the whole suite runs as the failing CI step did");
    }
    // The JDK image has Maven with Debian's packaged plugins, not Gradle: a
    // Gradle project keeps the configured image and is told what is missing
    // by the environment check.
    let gradle = found.ecosystem == selfheal_validate::Ecosystem::Gradle;
    if default_image && !gradle {
        found.image
    } else {
        validate.image.clone()
    }
}

/// One record of a repair that went up the model ladder: the first model's
/// attempts, then the second's (numbered on), each naming its model; the
/// outcome, the model and the failure are the second run's, the tokens and
/// time both runs'.
fn escalated(first: RepairRecord, second: RepairRecord, first_model: &str) -> RepairRecord {
    let offset = u32::try_from(first.attempts.len()).unwrap_or(u32::MAX);
    let mut attempts: Vec<_> = first
        .attempts
        .into_iter()
        .map(|mut a| {
            a.model = Some(first_model.to_owned());
            a
        })
        .collect();
    attempts.extend(second.attempts.into_iter().map(|mut a| {
        a.number = a.number.saturating_add(offset);
        a.model = Some(second.model.clone());
        a
    }));
    let mut timings = first.timings_ms;
    for (stage, ms) in second.timings_ms {
        *timings.entry(stage).or_default() += ms;
    }
    RepairRecord {
        attempts,
        tokens: {
            let mut tokens = first.tokens;
            tokens += second.tokens;
            tokens
        },
        timings_ms: timings,
        duration_ms: first.duration_ms + second.duration_ms,
        started_at: first.started_at,
        ..second
    }
}

/// The failing CI step as the failing commit's workflow file declares it:
/// its script, `env:` and `working-directory` (the job's or workflow's
/// `defaults`). In a monorepo the project, its install phase and its tests
/// are found in that folder, and test ids from the log are relative to it.
fn failing_ci_step(
    tree: &Path,
    run: &RunInfo,
    analysis: &selfheal_types::Analysis,
) -> Option<CiStep> {
    let failure = target_failure(analysis).ok()?;
    let (job, step) = (failure.job.as_ref()?, failure.step.as_ref()?);
    let hint = run.workflow_path.as_deref().or(run.workflow.as_deref());
    let found = selfheal_validate::find_ci_step(tree, hint, job, step)
        // A run.json may name a workflow that is not in this commit's files.
        .or_else(|| selfheal_validate::find_ci_step(tree, None, job, step));
    if let Some(ci) = &found {
        tracing::info!(workflow = %ci.workflow, job = %ci.job, step = %ci.step, run = %ci.run, "the failing CI step");
    }
    found
}

/// The failing step's own script as the whole-suite command, the way CI ran
/// it: when it is one line that starts the detected runner (`pytest`,
/// `cargo test`, `go test`, `npm test`, Maven, Gradle), runs in a POSIX
/// shell and needs no `${{ }}` expression. The script comes from the
/// workflow file of the failing commit, never from the log.
fn ci_suite_command(ci: &CiStep, ecosystem: selfheal_validate::Ecosystem) -> Option<String> {
    use selfheal_validate::Ecosystem;
    let script = ci.run.trim();
    // An env value CI filled from an expression is left out (a secret,
    // usually); anything else that needs one means the step cannot be replayed.
    let replayable = ci.unresolved.iter().all(|u| u.contains(" env"));
    if script.is_empty() || script.contains('\n') || script.contains("${{") || !replayable {
        return None;
    }
    if ci
        .shell
        .as_deref()
        .is_some_and(|s| !matches!(s.split_whitespace().next(), Some("bash" | "sh")))
    {
        return None;
    }
    let runners: &[&str] = match ecosystem {
        Ecosystem::Python => &["pytest", "python -m pytest", "python3 -m pytest", "py.test"],
        Ecosystem::Rust => &["cargo test", "cargo nextest run"],
        Ecosystem::Go => &["go test"],
        Ecosystem::Node => &[
            "npm test",
            "npm run test",
            "npm t",
            "yarn test",
            "pnpm test",
        ],
        Ecosystem::Maven => &["mvn", "./mvnw"],
        Ecosystem::Gradle => &["gradle", "./gradlew"],
    };
    let words: Vec<&str> = script.split_whitespace().collect();
    let starts = runners.iter().any(|r| {
        let runner: Vec<&str> = r.split_whitespace().collect();
        words.len() >= runner.len() && words[..runner.len()] == runner[..]
    });
    if !starts || script.contains(['&', '|', ';', '`', '$', '>', '<']) {
        return None;
    }
    Some(script.to_owned())
}

/// The argument `scripts/build-sandbox-image.sh` takes for an ecosystem's image.
fn ecosystem_script_name(ecosystem: selfheal_validate::Ecosystem) -> &'static str {
    use selfheal_validate::Ecosystem;
    match ecosystem {
        Ecosystem::Python => "python",
        Ecosystem::Rust => "rust",
        Ecosystem::Go => "go",
        Ecosystem::Node => "node",
        Ecosystem::Maven => "java",
        Ecosystem::Gradle => "all java",
    }
}

/// The CA bundle the install phase trusts: the configured one, else
/// `SSL_CERT_FILE`, else the system's.
fn ca_bundle(configured: Option<&Path>) -> Option<PathBuf> {
    configured
        .map(Path::to_path_buf)
        .or_else(|| {
            process_env(env::SSL_CERT_FILE)
                .filter(|p| !p.trim().is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| {
            let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
            system.is_file().then(|| system.to_path_buf())
        })
}

fn remember(ledger: &Ledger, record: &RepairRecord) -> anyhow::Result<()> {
    let (outcome, branch) = match &record.outcome {
        Outcome::Fixed { branch, .. } => (LedgerOutcome::Fixed, Some(branch.clone())),
        Outcome::NotFixed { .. } => (LedgerOutcome::NotFixed, None),
        Outcome::NothingToFix => (LedgerOutcome::NothingToFix, None),
        // Nothing was judged: once the image or command is fixed, the same
        // run must be tried again.
        Outcome::EnvironmentError { .. } => return Ok(()),
    };
    let pull_request = match &record.publication {
        Some(
            Publication::Opened { url, .. }
            | Publication::Updated { url, .. }
            | Publication::Commented { url, .. },
        ) => Some(url.clone()),
        _ => None,
    };
    // A dry run or a failed publication changed nothing anyone can see: it
    // must not stop the real run that follows.
    if matches!(
        record.publication,
        Some(Publication::DryRun { .. } | Publication::Failed { .. })
    ) {
        return Ok(());
    }
    ledger.record(&LedgerEntry {
        run_id: record.run.id.clone(),
        fingerprint: record.failure.as_ref().map(|f| f.fingerprint.clone()),
        outcome,
        branch,
        pull_request,
        at: selfheal_monitor::now_rfc3339(),
    })?;
    Ok(())
}

fn ledger_outcome_text(entry: &LedgerEntry) -> String {
    let what = match entry.outcome {
        LedgerOutcome::Fixed => "fixed",
        LedgerOutcome::NotFixed => "not fixed",
        LedgerOutcome::NothingToFix => "nothing to fix",
        LedgerOutcome::Skipped => "skipped",
    };
    match (&entry.pull_request, &entry.branch) {
        (Some(pr), _) => format!("{what}, {pr}"),
        (None, Some(branch)) => format!("{what}, branch {branch}"),
        (None, None) => what.to_owned(),
    }
}

/// `selfheal fetch`: fill the cache, print what was cached.
pub async fn fetch(args: FetchArgs) -> anyhow::Result<Status> {
    let resolved = Resolved::load_selecting(&args.common, None, Some(&args.select))?;
    print_warnings(&resolved);
    if switched_off(&resolved) {
        return Ok(Status::Success);
    }
    let source = choose_source(&resolved, &args.select, None, false)?;
    let Source::Github(github) = &source else {
        bail!("fetch needs GitHub; hint: it fills the offline cache that --offline replays");
    };
    let runs = select_runs(&source, &resolved, &args.select).await?;
    let mut out = std::io::stdout().lock();
    if runs.is_empty() {
        eprintln!("no failed run to fetch");
    }
    for run in runs {
        let path = github.runs.fetch_logs(&run).await?;
        if args.common.json {
            serde_json::to_writer(
                &mut out,
                &serde_json::json!({"run": run, "logs": path.display().to_string()}),
            )?;
            writeln!(out)?;
        } else {
            let what = run.workflow.as_deref().unwrap_or("run");
            let branch = run.head_branch.as_deref().unwrap_or("?");
            let conclusion = run.conclusion.as_deref().unwrap_or("failed");
            writeln!(
                out,
                "cached {what} run {} ({conclusion} on {branch}) in {}",
                run.id,
                path.display()
            )?;
        }
    }
    Ok(Status::Success)
}

fn choose_source(
    resolved: &Resolved,
    select: &SelectArgs,
    logs: Option<&Path>,
    offline: bool,
) -> anyhow::Result<Source> {
    let repo = &resolved.repo;
    if let Some(logs) = logs {
        let mut cached = run_from_logs_path(logs)?;
        if let Some(id) = &select.run_id {
            cached.info.id.clone_from(id);
        }
        return Ok(Source::Logs(Box::new(cached)));
    }
    if offline {
        return Ok(Source::Offline(OfflineCache::new(repo.root())));
    }
    let github = &resolved.settings.github;
    let slug = resolved.github_slug(None).with_context(|| {
                format!(
                    "cannot tell which GitHub repository this is: no GITHUB_REPOSITORY, no [github] repository, and remote {} is not a GitHub URL; hint: pass --repo-slug OWNER/NAME, or --offline to replay cached logs",
                    github.remote
                )
            })?;
    if github.token.is_none() {
        bail!(
            "no GitHub token: {} is not set; hint: export {}=<token> (actions: read; contents and pull-requests: write to publish), or pass --offline to replay cached logs",
            github.token_env,
            github.token_env
        );
    }
    let client =
        |token: Option<String>| resolved.github_client(&slug, token, RetryPolicy::default());
    let publish_token = github.publish_token().map(str::to_owned);
    Ok(Source::Github(Box::new(GithubSource {
        slug: slug.clone(),
        runs: client(github.token.clone())?,
        forge: client(publish_token.clone())?,
        push: Credentials {
            token: publish_token,
        },
    })))
}

/// The runs to handle: the one named (by `--run-id` or the triggering
/// `workflow_run` event), else the newest failed runs that match, one per
/// workflow and branch (an older failure there was superseded), at most
/// `max_runs`.
async fn select_runs(
    source: &Source,
    resolved: &Resolved,
    select: &SelectArgs,
) -> anyhow::Result<Vec<RunInfo>> {
    let Some(provider) = source.provider() else {
        let Source::Logs(cached) = source else {
            return Ok(Vec::new());
        };
        return Ok(vec![cached.info.clone()]);
    };
    let named = select.run_id.clone().or_else(|| {
        let in_actions = env::is_truthy(process_env(env::GITHUB_ACTIONS).as_deref());
        let event = process_env(env::GITHUB_EVENT_PATH)?;
        if in_actions && !matches!(source, Source::Offline(_)) {
            actions::triggering_run_id(Path::new(&event))
        } else {
            None
        }
    });
    if let Some(id) = named {
        return Ok(vec![provider.run(&id).await?]);
    }
    let github = &resolved.settings.github;
    let filter = RunFilter {
        workflows: github.workflows.clone(),
        exclude_workflows: github.exclude_workflows.clone(),
        branch: github.branch.clone(),
        event: github.event.clone(),
        head_sha: select.head_sha.clone(),
        limit: None,
    };
    let runs = provider.failed_runs(&filter).await?;
    let max = usize::try_from(github.max_runs).unwrap_or(usize::MAX);
    let mut seen: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut chosen = Vec::new();
    for run in runs {
        let key = (run.workflow.clone(), run.head_branch.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        chosen.push(run);
        if chosen.len() >= max {
            break;
        }
    }
    // The GitHub listing carries no jobs; the run lookup adds them for the record.
    if matches!(source, Source::Github(_)) {
        let mut detailed = Vec::with_capacity(chosen.len());
        for run in chosen {
            detailed.push(provider.run(&run.id).await.unwrap_or(run));
        }
        return Ok(detailed);
    }
    Ok(chosen)
}

fn own_work(resolved: &Resolved) -> OwnWork {
    let git = &resolved.settings.git;
    OwnWork {
        branch_prefix: git.branch_prefix.clone(),
        author_name: git.author_name.clone(),
        author_email: git.author_email.clone(),
    }
}

fn publish_settings(
    resolved: &Resolved,
    credentials: Credentials,
    dry_run: bool,
) -> PublishSettings {
    let s = &resolved.settings;
    PublishSettings {
        remote: s.github.remote.clone(),
        credentials,
        draft: s.github.draft,
        labels: s.github.labels.clone(),
        dry_run,
        comment_on_trigger: s.github.comment,
        results_dir: results_dir(&resolved.repo),
    }
}

fn results_dir(repo: &Repo) -> PathBuf {
    repo.root().join(".selfheal").join("results")
}

/// The kill switch: says so and does nothing.
fn switched_off(resolved: &Resolved) -> bool {
    if resolved.settings.disabled {
        eprintln!(
            "selfheal is switched off (SELFHEAL_DISABLED or disabled = true in the config); nothing was done"
        );
    }
    resolved.settings.disabled
}

fn print_warnings(resolved: &Resolved) {
    for warning in &resolved.warnings {
        eprintln!("warning: {warning}");
    }
}

fn interrupted(repo: &Repo) -> Status {
    eprintln!(
        "interrupted; nothing was changed in {}",
        repo.root().display()
    );
    Status::Interrupted
}

fn elapsed_ms(t: std::time::Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn worst(a: Status, b: Status) -> Status {
    let rank = |s: Status| match s {
        Status::Success => 0,
        Status::Failure => 1,
        Status::Error => 2,
        Status::Interrupted => 3,
    };
    if rank(b) > rank(a) { b } else { a }
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
            match &record.publication {
                Some(Publication::Opened { url, .. } | Publication::Updated { url, .. }) => {
                    writeln!(out, "  pull request: {url}")?;
                }
                Some(Publication::Commented { url, .. }) => writeln!(out, "  comment: {url}")?,
                Some(Publication::DryRun { path }) => {
                    writeln!(out, "  dry run: would-be pull request in {path}")?;
                }
                Some(Publication::Failed { error }) => {
                    writeln!(out, "  not published: {error}")?;
                    writeln!(
                        out,
                        "  the fix is on branch {branch}; push it when you like"
                    )?;
                }
                None => {
                    writeln!(out, "  review: git show {branch}")?;
                    writeln!(out, "  push:   git push origin {branch}")?;
                }
            }
        }
        Outcome::NotFixed { reason } => writeln!(out, "not fixed: {reason}")?,
        Outcome::NothingToFix => writeln!(out, "nothing to fix: the logs show no failure")?,
        Outcome::EnvironmentError { reason } => writeln!(out, "not run: {reason}")?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use selfheal_validate::Ecosystem;

    fn step(run: &str, env: &[(&str, &str)]) -> CiStep {
        CiStep {
            workflow: ".github/workflows/ci.yml".into(),
            job: "test".into(),
            step: "Run tests".into(),
            run: run.into(),
            working_directory: None,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            shell: None,
            unresolved: Vec::new(),
        }
    }

    #[test]
    fn the_ci_steps_own_runner_line_becomes_the_suite_command() {
        assert_eq!(
            ci_suite_command(&step("python -m pytest -v\n", &[]), Ecosystem::Python).as_deref(),
            Some("python -m pytest -v")
        );
        assert_eq!(
            ci_suite_command(
                &step("cargo test --all-features", &[("RUST_LOG", "it's debug")]),
                Ecosystem::Rust
            )
            .as_deref(),
            Some("cargo test --all-features")
        );
    }

    #[test]
    fn anything_else_keeps_the_detected_command() {
        for (run, ecosystem) in [
            ("python -m pytest\ncoverage report", Ecosystem::Python),
            ("pytest | tee out.txt", Ecosystem::Python),
            ("make test", Ecosystem::Python),
            ("go test ./... && go vet", Ecosystem::Go),
            ("cargo test", Ecosystem::Go),
            ("", Ecosystem::Node),
        ] {
            assert_eq!(ci_suite_command(&step(run, &[]), ecosystem), None, "{run}");
        }
        let mut pwsh = step("pytest", &[]);
        pwsh.shell = Some("pwsh".into());
        assert_eq!(ci_suite_command(&pwsh, Ecosystem::Python), None);
        let mut unresolved = step("pytest", &[]);
        unresolved
            .unresolved
            .push("run uses ${{ matrix.args }}".into());
        assert_eq!(ci_suite_command(&unresolved, Ecosystem::Python), None);
    }
}
