//! `selfheal check`: one PASS/FAIL line per thing a repair needs, each with a
//! hint on failure, so a user learns everything that is wrong in one go.

use std::io::Write;
use std::time::Duration;

use selfheal_git::Repo;
use selfheal_monitor::OfflineCache;
use selfheal_reason::Reasoner;
use selfheal_validate::DockerSandbox;
use serde::Serialize;

use crate::Status;
use crate::args::CheckArgs;
use crate::settings::{self, Resolved};

/// How long the model endpoint may take to list its models.
const LLM_PROBE_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            detail: detail.into(),
            hint: None,
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> Self {
        let detail = detail.into();
        // Errors from the crates often carry their own hint already.
        let hint = if detail.contains("hint:") {
            String::new()
        } else {
            hint.into()
        };
        Self {
            name,
            ok: false,
            detail,
            hint: (!hint.is_empty()).then_some(hint),
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    ok: bool,
    checks: &'a [Check],
}

pub async fn run(args: CheckArgs) -> anyhow::Result<Status> {
    let mut checks = Vec::new();

    let repo = settings::discover_repo(&args.common);
    let repo_root = match &repo {
        Ok(repo) => {
            let head = repo.head_commit().map_or_else(
                |e| format!("no commit yet ({e})"),
                |sha| format!("HEAD {}", &sha[..sha.len().min(12)]),
            );
            checks.push(Check::pass(
                "repository",
                format!("{} ({head})", repo.root().display()),
            ));
            repo.root().to_path_buf()
        }
        Err(e) => {
            checks.push(Check::fail(
                "repository",
                format!("{e:#}"),
                "run inside a git repository or pass --repo PATH",
            ));
            std::env::current_dir()?
        }
    };

    let resolved = match Resolved::resolve(&repo_root, &args.common, None) {
        Ok(resolved) => {
            checks.push(Check::pass("config", resolved.config_source.clone()));
            Some(resolved)
        }
        Err(e) => {
            checks.push(Check::fail(
                "config",
                format!("{e:#}"),
                "fix the file or the variable it names",
            ));
            None
        }
    };

    if let Some(resolved) = &resolved {
        for warning in &resolved.warnings {
            checks.push(Check::fail(
                "config",
                warning.clone(),
                "remove the key from the repository's selfheal.toml",
            ));
        }
        checks.push(check_llm(resolved).await);
        checks.extend(check_docker(resolved).await);
        if !(args.offline || resolved.offline_env) {
            checks.extend(check_github(resolved, args.repo_slug.as_deref()).await);
        }
    }
    checks.push(check_cache(repo.as_ref().ok(), &repo_root));

    let ok = checks.iter().all(|c| c.ok);
    let mut out = std::io::stdout().lock();
    if args.common.json {
        serde_json::to_writer(
            &mut out,
            &Report {
                schema: "selfheal.check/v1",
                ok,
                checks: &checks,
            },
        )?;
        writeln!(out)?;
    } else {
        for c in &checks {
            let mark = if c.ok { "PASS" } else { "FAIL" };
            write!(out, "{mark}  {:<10} {}", c.name, c.detail)?;
            if let Some(hint) = &c.hint {
                write!(out, "  (hint: {hint})")?;
            }
            writeln!(out)?;
        }
    }
    Ok(if ok { Status::Success } else { Status::Failure })
}

async fn check_llm(resolved: &Resolved) -> Check {
    let llm = resolved.llm_settings();
    let url = llm.base_url.clone();
    let model = llm.model.clone();
    let reasoner = match Reasoner::new(llm, selfheal_reason::Prompts::builtin()) {
        Ok(r) => r,
        Err(e) => return Check::fail("llm", e.to_string(), "check [llm] base_url"),
    };
    match tokio::time::timeout(LLM_PROBE_TIMEOUT, reasoner.list_models()).await {
        Err(_) => Check::fail(
            "llm",
            format!(
                "{url} did not answer within {}s",
                LLM_PROBE_TIMEOUT.as_secs()
            ),
            "is the server running? set OPENAI_BASE_URL",
        ),
        Ok(Err(e)) => Check::fail(
            "llm",
            format!("{url}: {e}"),
            "set OPENAI_BASE_URL (and OPENAI_API_KEY when the server needs one)",
        ),
        Ok(Ok(models)) if models.contains(&model) => {
            Check::pass("llm", format!("{url} serves model {model}"))
        }
        Ok(Ok(models)) => Check::fail(
            "llm",
            format!(
                "{url} does not list model {model} (it lists: {})",
                if models.is_empty() {
                    "nothing".to_owned()
                } else {
                    models.join(", ")
                }
            ),
            "set SELFHEAL_MODEL or --model to one of those",
        ),
    }
}

async fn check_docker(resolved: &Resolved) -> Vec<Check> {
    let image = resolved.settings.validate.image.clone();
    let sandbox = match DockerSandbox::connect(&image, resolved.limits()).await {
        Ok(s) => s,
        Err(e) => {
            return vec![Check::fail(
                "docker",
                e.to_string(),
                "start a Docker Engine: scripts/ensure-docker.sh",
            )];
        }
    };
    let engine = match sandbox.engine_version().await {
        Ok(v) => Check::pass("docker", format!("engine {v}")),
        Err(e) => {
            return vec![Check::fail(
                "docker",
                e.to_string(),
                "start a Docker Engine: scripts/ensure-docker.sh",
            )];
        }
    };
    let leftovers = match sandbox.list_leftovers().await {
        Ok(list) => {
            let stale: Vec<_> = list.iter().filter(|l| l.is_stale()).collect();
            if stale.is_empty() {
                Check::pass("leftovers", "no containers left by a crashed selfheal")
            } else {
                // Reported, not failed: they cost disk, not correctness.
                Check::pass(
                    "leftovers",
                    format!(
                        "{} container(s) left by a selfheal that crashed or was killed ({}); remove them with selfheal clean",
                        stale.len(),
                        stale
                            .iter()
                            .map(|l| l.id.chars().take(12).collect::<String>())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            }
        }
        Err(e) => Check::fail("leftovers", e.to_string(), ""),
    };
    let image_check = match sandbox.image_present().await {
        Ok(true) => Check::pass("image", image),
        Ok(false) => Check::fail(
            "image",
            format!("{image} is not present"),
            "build it with scripts/build-sandbox-image.sh, or pass --image",
        ),
        Err(e) => Check::fail("image", e.to_string(), ""),
    };
    vec![engine, image_check, leftovers]
}

/// `selfheal clean`: removes the containers of selfheal processes that no
/// longer run (a crash, a `kill -9`); those of a selfheal still running stay.
pub async fn clean(args: &crate::args::CleanArgs) -> anyhow::Result<Status> {
    let sandbox = DockerSandbox::connect(
        selfheal_config::DEFAULT_IMAGE,
        selfheal_validate::Limits::default(),
    )
    .await?;
    let removed = sandbox.remove_stale().await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let ids: Vec<&str> = removed.iter().map(|l| l.id.as_str()).collect();
        serde_json::to_writer(&mut out, &serde_json::json!({ "removed": ids }))?;
        writeln!(out)?;
    } else if removed.is_empty() {
        writeln!(
            out,
            "nothing to clean: no containers left by a crashed selfheal"
        )?;
    } else {
        for l in &removed {
            writeln!(
                out,
                "removed {} ({}, {}{})",
                l.id.chars().take(12).collect::<String>(),
                l.image,
                l.state,
                l.pid.map(|p| format!(", pid {p}")).unwrap_or_default()
            )?;
        }
    }
    Ok(Status::Success)
}

/// Whether the tokens can do what a repair needs on GitHub: read runs and
/// logs, and (unless this is a dry run) push and open pull requests.
async fn check_github(resolved: &Resolved, slug: Option<&str>) -> Vec<Check> {
    let github = &resolved.settings.github;
    let slug = resolved.github_slug(slug);
    let Some(slug) = slug else {
        return vec![Check::fail(
            "github",
            format!(
                "no GitHub repository: GITHUB_REPOSITORY is unset and remote {} is not on GitHub",
                github.remote
            ),
            "pass --repo-slug OWNER/NAME, or --offline to skip these checks",
        )];
    };
    if github.token.is_none() {
        return vec![Check::fail(
            "github",
            format!("{} is not set", github.token_env),
            format!(
                "export {}=<token> with actions: read (and contents, pull-requests: write to publish)",
                github.token_env
            ),
        )];
    }
    let publishing = !resolved.settings.dry_run;
    let mut checks = Vec::new();
    let pairs: Vec<(&'static str, Option<String>, bool)> = if github.pr_token.is_some() {
        vec![
            ("github", github.token.clone(), false),
            ("github-pr", github.pr_token.clone(), publishing),
        ]
    } else {
        vec![("github", github.token.clone(), publishing)]
    };
    for (name, token, publish) in pairs {
        let client = resolved.github_client(
            &slug,
            token,
            selfheal_github::RetryPolicy {
                max_retries: 1,
                max_wait: Duration::from_secs(5),
            },
        );
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                checks.push(Check::fail(name, e.to_string(), "check GITHUB_API_URL"));
                continue;
            }
        };
        match client.check_access(publish).await {
            Err(e) => checks.push(Check::fail(name, e.to_string(), "")),
            Ok(report) if report.problems.is_empty() => {
                let who = report.login.as_deref().unwrap_or("an app installation");
                let can = if publish {
                    "can read runs, push and open pull requests"
                } else {
                    "can read runs and logs"
                };
                checks.push(Check::pass(name, format!("{slug} as {who}: {can}")));
            }
            Ok(report) => checks.push(Check::fail(
                name,
                format!("{slug}: {}", report.problems.join("; ")),
                "grant the named permissions to the token",
            )),
        }
    }
    checks
}

fn check_cache(repo: Option<&Repo>, root: &std::path::Path) -> Check {
    let dir = root.join(".selfheal");
    let probe = dir.join("results").join(".write-probe");
    let writable = std::fs::create_dir_all(dir.join("results"))
        .and_then(|()| std::fs::write(&probe, b"ok"))
        .and_then(|()| std::fs::remove_file(&probe));
    if let Err(e) = writable {
        return Check::fail(
            "cache",
            format!("{} is not writable: {e}", dir.display()),
            "fix the directory's permissions",
        );
    }
    let _ = selfheal_monitor::ensure_self_ignored(&dir);
    let runs = repo
        .map(|r| OfflineCache::new(r.root()).runs().map(|runs| runs.len()))
        .and_then(Result::ok)
        .unwrap_or(0);
    Check::pass(
        "cache",
        format!("{} writable, {runs} cached run(s)", dir.display()),
    )
}
