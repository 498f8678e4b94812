//! Second phase of argument handling: the parsed flags, the environment and
//! the config file resolved into the settings each part is built from.

use std::path::Path;

use anyhow::Context;
use selfheal_config::{
    ConfigLayer, GithubLayer, LlmLayer, RepairLayer, Settings, ValidateLayer, env,
};
use selfheal_git::{Repo, Signature};
use selfheal_orchestrator::LoopSettings;
use selfheal_reason::{LlmSettings, Prompts};
use selfheal_validate::Limits;

use crate::args::{CommonArgs, RunArgs, SelectArgs};

/// The process environment, read in one place.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The repository named by `--repo`, or the one around the current directory.
pub fn discover_repo(common: &CommonArgs) -> anyhow::Result<Repo> {
    let start = match &common.repo {
        Some(path) => path.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    Repo::discover(&start).map_err(Into::into)
}

pub struct Resolved {
    pub repo: Repo,
    pub settings: Settings,
    /// Where the settings came from, for `check`.
    pub config_source: String,
    /// Keys of the repository's config that were ignored, one line each.
    pub warnings: Vec<String>,
    /// `OFFLINE_MODE` is switched on.
    pub offline_env: bool,
}

impl Resolved {
    /// Finds the repository and resolves the configuration for it.
    pub fn load(common: &CommonArgs, run: Option<&RunArgs>) -> anyhow::Result<Self> {
        Self::load_selecting(common, run, run.map(|r| &r.select))
    }

    /// Like [`Resolved::load`], with run-selection flags from `run` or `fetch`.
    pub fn load_selecting(
        common: &CommonArgs,
        run: Option<&RunArgs>,
        select: Option<&SelectArgs>,
    ) -> anyhow::Result<Self> {
        let repo = discover_repo(common)?;
        let root = repo.root().to_path_buf();
        let (settings, config_source, warnings) = resolve_settings(&root, common, run, select)?;
        Ok(Self {
            repo,
            settings,
            config_source,
            warnings,
            offline_env: env::is_truthy(process_env(env::OFFLINE_MODE).as_deref()),
        })
    }

    /// Like [`Resolved::load`], for a root that is known to be a repository.
    pub fn resolve(
        root: &Path,
        common: &CommonArgs,
        run: Option<&RunArgs>,
    ) -> anyhow::Result<Self> {
        let mut common = common.clone();
        common.repo = Some(root.to_path_buf());
        Self::load(&common, run)
    }

    /// The GitHub repository (`owner/name`): `explicit`, else the
    /// configuration (`GITHUB_REPOSITORY`, `--repo-slug`, `[github]
    /// repository`), else the push remote's URL when it is a GitHub one.
    pub fn github_slug(&self, explicit: Option<&str>) -> Option<String> {
        let github = &self.settings.github;
        explicit
            .map(str::to_owned)
            .or_else(|| github.repository.clone())
            .or_else(|| {
                self.repo
                    .remote_url(&github.remote)
                    .ok()
                    .and_then(|url| selfheal_git::github_slug(&url))
            })
    }

    /// A client for `slug` at the configured API URL, caching logs in this repository.
    pub fn github_client(
        &self,
        slug: &str,
        token: Option<String>,
        retry: selfheal_github::RetryPolicy,
    ) -> anyhow::Result<selfheal_github::GithubClient> {
        let client = selfheal_github::GithubClient::new(selfheal_github::GithubSettings {
            api_url: self.settings.github.api_url.clone(),
            repository: slug.to_owned(),
            token,
            cache_root: self.repo.root().to_path_buf(),
            retry,
        })?;
        // Logs reach the cache with their secrets already out.
        let redactor = std::sync::Arc::new(crate::redaction::redactor(self)?);
        Ok(
            client.with_log_filter(std::sync::Arc::new(move |text: &str| {
                redactor.redact_str(text)
            })),
        )
    }

    pub fn llm_settings(&self) -> LlmSettings {
        let llm = &self.settings.llm;
        LlmSettings {
            base_url: llm.base_url.clone(),
            api_key: llm.api_key.clone(),
            model: llm.model.clone(),
            temperature: llm.temperature,
            max_tokens: llm.max_tokens,
            timeout: llm.timeout(),
            structured_output: llm.structured_output,
        }
    }

    pub fn prompts(&self) -> anyhow::Result<Prompts> {
        Ok(Prompts::load(self.settings.prompts.dir.as_deref())?)
    }

    pub fn limits(&self) -> Limits {
        let v = &self.settings.validate;
        Limits {
            memory_bytes: i64::try_from(v.memory_mb.saturating_mul(1024 * 1024))
                .unwrap_or(i64::MAX),
            nano_cpus: (v.cpus * 1e9) as i64,
            pids: v.pids,
        }
    }

    pub fn loop_settings(&self) -> LoopSettings {
        let s = &self.settings;
        let author = Signature {
            name: s.git.author_name.clone(),
            email: s.git.author_email.clone(),
        };
        LoopSettings {
            max_attempts: s.repair.max_attempts,
            context_token_budget: s.repair.context_token_budget,
            total_token_budget: s.repair.total_token_budget,
            // Not configurable yet: [repair] model_retries and cost_limit_usd are to come.
            model_retry: selfheal_orchestrator::ModelRetry {
                max_retries: s.repair.model_retries,
                ..selfheal_orchestrator::ModelRetry::default()
            },
            cost: match (
                s.repair.cost_limit_usd,
                s.repair.usd_per_million_prompt,
                s.repair.usd_per_million_completion,
            ) {
                (Some(max_usd), Some(prompt), Some(completion)) => {
                    Some(selfheal_orchestrator::CostLimit {
                        max_usd,
                        usd_per_million_prompt: prompt,
                        usd_per_million_completion: completion,
                    })
                }
                _ => None,
            },
            failing_test_command: failing_test_command(&s.validate),
            test_command: s.validate.test_command.clone(),
            validation_timeout: s.validate.timeout(),
            branch_prefix: s.git.branch_prefix.clone(),
            author,
            signoff: s.git.signoff,
            model: s.llm.model.clone(),
            analyze: selfheal_analyze::AnalyzeOptions::default(),
            ecosystem: None,
            policy: self.policy(),
            test_env: Vec::new(),
            workdir: String::new(),
            candidates: s.llm.candidates,
            candidate_temperature: s.llm.candidate_temperature,
            remedies: s.repair.remedies,
            reverts: s.repair.reverts,
        }
    }

    /// The built-in policy with the configuration's additions: its denied
    /// globs come on top of the built-in ones, never instead of them.
    pub fn policy(&self) -> selfheal_orchestrator::policy::Policy {
        let p = &self.settings.policy;
        let mut policy = selfheal_orchestrator::policy::Policy::default();
        policy.denied_paths.extend(p.deny.iter().cloned());
        policy.allowed_paths.clone_from(&p.allow);
        policy.max_files = p.max_files;
        policy.max_changed_lines = p.max_changed_lines;
        policy.allow_new_dependencies = p.allow_new_dependencies;
        policy.allow_test_edits = p.allow_test_edits;
        policy
    }
}

fn resolve_settings(
    root: &Path,
    common: &CommonArgs,
    run: Option<&RunArgs>,
    select: Option<&SelectArgs>,
) -> anyhow::Result<(Settings, String, Vec<String>)> {
    let mut flags = ConfigLayer {
        llm: Some(LlmLayer {
            model: common.model.clone(),
            ..LlmLayer::default()
        }),
        validate: Some(ValidateLayer {
            image: common.image.clone(),
            ..ValidateLayer::default()
        }),
        ..ConfigLayer::default()
    };
    if let Some(run) = run {
        if let Some(llm) = flags.llm.as_mut() {
            llm.candidates = run.candidates;
        }
        flags.repair = Some(RepairLayer {
            max_attempts: run.max_attempts,
            remedies: run.no_remedies.then_some(false),
            ..RepairLayer::default()
        });
        if let Some(v) = flags.validate.as_mut() {
            v.test_command.clone_from(&run.test_command);
            v.timeout_secs = run.timeout;
        }
        if run.dry_run {
            flags.dry_run = Some(true);
        }
        if run.allow_test_edits {
            flags.policy = Some(selfheal_config::PolicyLayer {
                allow_test_edits: Some(true),
                ..selfheal_config::PolicyLayer::default()
            });
        }
        if let Some(v) = flags.validate.as_mut() {
            v.sandbox.clone_from(&run.sandbox);
        }
        if run.comment {
            flags
                .github
                .get_or_insert_with(GithubLayer::default)
                .comment = Some(true);
        }
    }
    if let Some(select) = select {
        let github = flags.github.get_or_insert_with(GithubLayer::default);
        github.repository.clone_from(&select.repo_slug);
        github.branch.clone_from(&select.branch);
        github.event.clone_from(&select.event);
        github.max_runs = select.max_runs;
        if !select.workflows.is_empty() {
            github.workflows = Some(select.workflows.clone());
        }
        if !select.exclude_workflows.is_empty() {
            github.exclude_workflows = Some(select.exclude_workflows.clone());
        }
    }
    let loaded = selfheal_config::load_layers(common.config.as_deref(), &process_env, root, flags)?;
    let source = if loaded.sources.is_empty() {
        "built-in defaults (no selfheal.toml, no user config)".to_owned()
    } else {
        loaded
            .sources
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" < ")
    };
    Ok((loaded.settings, source, loaded.warnings))
}

/// The command that reruns the failing tests. The built-in one is pytest's:
/// when the user named another suite command (`--test-command`, a Rust or Go
/// project) but no failing-test command, selfheal cannot know how that runner
/// selects single tests, so the full suite alone validates.
fn failing_test_command(v: &selfheal_config::ValidateConfig) -> String {
    let default_suite = v.test_command.trim() == selfheal_config::DEFAULT_TEST_COMMAND;
    let default_failing =
        v.failing_test_command.trim() == selfheal_config::DEFAULT_FAILING_TEST_COMMAND;
    if default_failing && !default_suite {
        String::new()
    } else {
        v.failing_test_command.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_suite_command_drops_the_pytest_failing_step() {
        let mut v = selfheal_config::Settings::default().validate;
        assert_eq!(failing_test_command(&v), v.failing_test_command);
        v.test_command = "cargo test".into();
        assert_eq!(failing_test_command(&v), "");
        v.failing_test_command = "cargo test {tests}".into();
        assert_eq!(failing_test_command(&v), "cargo test {tests}");
    }
}
