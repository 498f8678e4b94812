//! Resolution: layers in, fully resolved and validated [`Settings`] out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::env;
use crate::error::ConfigError;
use crate::layer::{
    Combine, ConfigLayer, GitLayer, GithubLayer, LlmLayer, PolicyLayer, PromptsLayer, RedactLayer,
    RepairLayer, ValidateLayer,
};

/// Name of the config file looked for at the repository root.
pub const CONFIG_FILE_NAME: &str = "selfheal.toml";
/// The user's config file, under `$XDG_CONFIG_HOME` or `$HOME/.config`.
pub const USER_CONFIG_FILE: &str = "selfheal/config.toml";

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_IMAGE: &str = "selfheal-sandbox-python:bookworm";
pub const DEFAULT_TEST_COMMAND: &str = "python -m pytest -q -p no:cacheprovider";
pub const DEFAULT_FAILING_TEST_COMMAND: &str = "python -m pytest -q -p no:cacheprovider {tests}";
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

/// Every setting, resolved: what the rest of selfheal reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Repair and validate, but publish nothing: no push, pull request or comment.
    pub dry_run: bool,
    /// The kill switch (`disabled = true`, `SELFHEAL_DISABLED=1`): do nothing.
    pub disabled: bool,
    pub llm: LlmConfig,
    pub repair: RepairConfig,
    pub validate: ValidateConfig,
    pub git: GitConfig,
    pub prompts: PromptsConfig,
    pub github: GithubConfig,
    pub policy: PolicyConfig,
    pub redact: RedactConfig,
}

/// `[policy]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyConfig {
    /// Globs denied besides the built-in ones.
    pub deny: Vec<String>,
    /// Empty: every path that is not denied.
    pub allow: Vec<String>,
    pub max_files: usize,
    pub max_changed_lines: usize,
    pub allow_new_dependencies: bool,
    pub allow_test_edits: bool,
}

/// `[redact]`, resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedactConfig {
    pub patterns: Vec<String>,
    pub allow: Vec<String>,
}

/// Where patches are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxKind {
    /// A locked-down container (the default).
    Docker,
    /// A temporary copy run as a subprocess: no isolation.
    Local,
}

#[derive(Clone, PartialEq, Serialize)]
pub struct LlmConfig {
    /// Without a trailing slash: request paths are appended to it.
    pub base_url: String,
    pub api_key_env: String,
    /// The value of the variable named by `api_key_env`; `None` for key-less local servers.
    /// Never serialized, never printed.
    #[serde(skip)]
    pub api_key: Option<String>,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    pub timeout_secs: u64,
    pub structured_output: bool,
    /// Answers per attempt, validated in turn, cheapest first.
    pub candidates: u32,
    pub candidate_temperature: f32,
    /// The second model of the ladder, when configured.
    pub escalate_to: Option<EscalateConfig>,
}

/// `[llm.escalate_to]`, resolved: the model asked when the first one fails
/// all its attempts, on its own server with its own key if so configured.
#[derive(Clone, PartialEq, Serialize)]
pub struct EscalateConfig {
    pub model: String,
    /// Without a trailing slash.
    pub base_url: String,
    pub api_key_env: String,
    /// Never serialized, never printed.
    #[serde(skip)]
    pub api_key: Option<String>,
}

// Hand-written so that a `{:?}` in a log line cannot leak the key.
impl std::fmt::Debug for EscalateConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscalateConfig")
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key_env", &self.api_key_env)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl LlmConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

// Hand-written so that a `{:?}` in a log line cannot leak the key.
impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("api_key_env", &self.api_key_env)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("timeout_secs", &self.timeout_secs)
            .field("structured_output", &self.structured_output)
            .field("candidates", &self.candidates)
            .field("candidate_temperature", &self.candidate_temperature)
            .field("escalate_to", &self.escalate_to)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepairConfig {
    pub max_attempts: u32,
    /// Tokens of source context shown to the model per attempt.
    pub context_token_budget: usize,
    /// Tokens a whole repair may spend across attempts before giving up.
    pub total_token_budget: u64,
    /// Dollars a repair may spend on the model; needs both prices.
    pub cost_limit_usd: Option<f64>,
    pub usd_per_million_prompt: Option<f64>,
    pub usd_per_million_completion: Option<f64>,
    /// Retries of a rate-limited or failing model server, per attempt.
    pub model_retries: u32,
    /// Try the remedy for a missing name (selfheal-remedy) before asking the model.
    pub remedies: bool,
    /// Among the remedies, where no rule for a missing name applies: put
    /// back the tested commit's lines that the failure runs through.
    pub reverts: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidateConfig {
    pub image: String,
    pub timeout_secs: u64,
    pub memory_mb: u64,
    pub cpus: f64,
    pub pids: i64,
    pub test_command: String,
    /// `{tests}` is replaced by the failing test ids.
    pub failing_test_command: String,
    /// Install the project's dependencies (detected from its manifests) into
    /// a cached image, with the network on, before any patch is validated.
    pub install: bool,
    /// The CA bundle the install phase trusts; `None`: `SSL_CERT_FILE`, else the system's.
    pub ca_bundle: Option<PathBuf>,
    /// Replaces the detected install command.
    pub setup_command: Option<String>,
    /// `docker` or `local`; see [`ValidateConfig::sandbox_kind`].
    pub sandbox: String,
    /// The repository's own Dockerfile, repo-relative: built (cached by its
    /// text and context) and used as the base image instead of `image`.
    pub dockerfile: Option<String>,
}

impl ValidateConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Where patches are validated ([`Settings::validate`] refuses any other name).
    pub fn sandbox_kind(&self) -> SandboxKind {
        if self.sandbox == "local" {
            SandboxKind::Local
        } else {
            SandboxKind::Docker
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitConfig {
    pub branch_prefix: String,
    pub signoff: bool,
    pub author_name: String,
    pub author_email: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PromptsConfig {
    /// Templates here replace the built-in ones of the same name; `None`: built-ins only.
    pub dir: Option<PathBuf>,
}

/// `[github]`, resolved.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct GithubConfig {
    /// `owner/name`; `None`: the CLI derives it from the `remote`'s URL.
    pub repository: Option<String>,
    /// Without a trailing slash: request paths are appended to it.
    pub api_url: String,
    pub token_env: String,
    /// The value of the variable named by `token_env` (or of `GH_TOKEN`, when
    /// `token_env` is `GITHUB_TOKEN` and that is unset). Never serialized, never printed.
    #[serde(skip)]
    pub token: Option<String>,
    pub pr_token_env: String,
    /// The value of the variable named by `pr_token_env`. Never serialized, never printed.
    #[serde(skip)]
    pub pr_token: Option<String>,
    pub remote: String,
    /// Names or file names; empty: every workflow.
    pub workflows: Vec<String>,
    pub exclude_workflows: Vec<String>,
    pub branch: Option<String>,
    pub event: Option<String>,
    /// Failing runs repaired per invocation.
    pub max_runs: u32,
    pub draft: bool,
    pub labels: Vec<String>,
    /// Also upsert a comment on the pull request whose run failed.
    pub comment: bool,
    /// Repositories automated runs may publish to (`owner/name`).
    pub enrolled: Vec<String>,
}

impl GithubConfig {
    /// The token to push and open pull requests with: `pr_token`, else `token`.
    ///
    /// Pushes made with an Actions `GITHUB_TOKEN` start no workflows, so a fix
    /// branch pushed with it would never be tested; a separate token avoids that.
    pub fn publish_token(&self) -> Option<&str> {
        self.pr_token.as_deref().or(self.token.as_deref())
    }
}

// Hand-written so that a `{:?}` in a log line cannot leak a token.
impl std::fmt::Debug for GithubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubConfig")
            .field("repository", &self.repository)
            .field("api_url", &self.api_url)
            .field("token_env", &self.token_env)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("pr_token_env", &self.pr_token_env)
            .field("pr_token", &self.pr_token.as_ref().map(|_| "<redacted>"))
            .field("remote", &self.remote)
            .field("workflows", &self.workflows)
            .field("exclude_workflows", &self.exclude_workflows)
            .field("branch", &self.branch)
            .field("event", &self.event)
            .field("max_runs", &self.max_runs)
            .field("draft", &self.draft)
            .field("labels", &self.labels)
            .field("comment", &self.comment)
            .field("enrolled", &self.enrolled)
            .finish()
    }
}

impl Default for Settings {
    /// The defaults alone, as if no file, variable or flag were given.
    fn default() -> Self {
        from_merged(ConfigLayer::default(), Secrets::default())
    }
}

/// Values read from the variables that the settings name; kept apart from the
/// layers so that no layer can carry one.
#[derive(Default)]
struct Secrets {
    api_key: Option<String>,
    /// The escalation model's key, read from its own variable.
    escalate_key: Option<String>,
    token: Option<String>,
    pr_token: Option<String>,
}

/// Resolve `flags` over environment over `file` over defaults, and validate the result.
///
/// `file` is trusted like the user's own config; for a repository's file use
/// [`resolve_layers`]. `env` answers for one variable name (see [`crate::env`]);
/// the binary passes `|k| std::env::var(k).ok()`, tests pass a map. Empty
/// values count as unset, the way shells leave `VAR=` behind.
pub fn resolve(
    file: Option<ConfigLayer>,
    env: &dyn Fn(&str) -> Option<String>,
    flags: ConfigLayer,
) -> Result<Settings, ConfigError> {
    resolve_layers(None, file, env, flags).map(|(settings, _)| settings)
}

/// Resolve all five layers, highest last in this list: defaults, `repo` (the
/// repository's `selfheal.toml`), `user` (the user's config file), `env`,
/// `flags`. Pure: nothing is read but through `env`.
///
/// Credential-routing keys in `repo` are dropped, and each one dropped gives a
/// warning line, returned with the settings in the order of
/// [`ConfigLayer::strip_credential_routing`].
pub fn resolve_layers(
    repo: Option<ConfigLayer>,
    user: Option<ConfigLayer>,
    env: &dyn Fn(&str) -> Option<String>,
    flags: ConfigLayer,
) -> Result<(Settings, Vec<String>), ConfigError> {
    let lookup = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let mut repo = repo.unwrap_or_default();
    let warnings = repo
        .strip_credential_routing()
        .into_iter()
        .map(|key| {
            format!(
                "{CONFIG_FILE_NAME} sets {key}; ignored: only your own config may say where credentials go; hint: set it in your own config file or the environment"
            )
        })
        .collect();
    let merged = flags
        .combine(env_layer(&lookup)?)
        .combine(user.unwrap_or_default())
        .combine(repo);
    let secrets = read_secrets(&merged, &lookup)?;
    let settings = from_merged(merged, secrets);
    settings.validate()?;
    Ok((settings, warnings))
}

/// Read the values of the variables the merged layers name. Each name is
/// checked first, so a typo reads as a config error rather than "no key".
fn read_secrets(
    merged: &ConfigLayer,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Secrets, ConfigError> {
    let llm = merged.llm.as_ref();
    let github = merged.github.as_ref();
    let api_key_env = llm
        .and_then(|l| l.api_key_env.as_deref())
        .unwrap_or(env::OPENAI_API_KEY);
    let token_env = github
        .and_then(|g| g.token_env.as_deref())
        .unwrap_or(env::GITHUB_TOKEN);
    let pr_token_env = github
        .and_then(|g| g.pr_token_env.as_deref())
        .unwrap_or(env::SELFHEAL_PR_TOKEN);
    check_env_name("llm.api_key_env", api_key_env, env::OPENAI_API_KEY)?;
    let escalate_key_env = llm
        .and_then(|l| l.escalate_to.as_ref())
        .and_then(|e| e.api_key_env.as_deref())
        .unwrap_or(api_key_env);
    check_env_name(
        "llm.escalate_to.api_key_env",
        escalate_key_env,
        "HOSTED_MODEL_KEY",
    )?;
    check_env_name("github.token_env", token_env, env::GITHUB_TOKEN)?;
    check_env_name("github.pr_token_env", pr_token_env, env::SELFHEAL_PR_TOKEN)?;
    let read = |name: &str| lookup(name).map(|v| v.trim().to_owned());
    // GH_TOKEN is the GitHub CLI's name for the same thing; only a default
    // token_env falls back to it, since a user who names a variable means that one.
    let token = read(token_env).or_else(|| {
        (token_env == env::GITHUB_TOKEN)
            .then(|| read(env::GH_TOKEN))
            .flatten()
    });
    Ok(Secrets {
        api_key: read(api_key_env),
        escalate_key: read(escalate_key_env),
        token,
        pr_token: read(pr_token_env),
    })
}

/// The layer the environment contributes.
fn env_layer(lookup: &dyn Fn(&str) -> Option<String>) -> Result<ConfigLayer, ConfigError> {
    let max_attempts = match lookup(env::SELFHEAL_MAX_ATTEMPTS) {
        None => None,
        Some(raw) => Some(raw.trim().parse::<u32>().map_err(|_| ConfigError::Env {
            var: env::SELFHEAL_MAX_ATTEMPTS,
            value: raw.clone(),
            message: "expected a whole number from 1 to 10".into(),
        })?),
    };
    Ok(ConfigLayer {
        // Set to anything: on or off as the variable says; unset: no opinion.
        dry_run: lookup(env::DRY_RUN).map(|v| env::is_truthy(Some(&v))),
        disabled: lookup(env::SELFHEAL_DISABLED).map(|v| env::is_truthy(Some(&v))),
        llm: Some(LlmLayer {
            base_url: lookup(env::OPENAI_BASE_URL),
            model: lookup(env::SELFHEAL_MODEL),
            ..LlmLayer::default()
        }),
        repair: Some(RepairLayer {
            max_attempts,
            ..RepairLayer::default()
        }),
        validate: Some(ValidateLayer {
            image: lookup(env::SELFHEAL_IMAGE),
            ..ValidateLayer::default()
        }),
        git: None,
        prompts: None,
        policy: None,
        redact: None,
        github: Some(GithubLayer {
            repository: lookup(env::GITHUB_REPOSITORY),
            api_url: lookup(env::GITHUB_API_URL),
            enrolled: lookup(env::SELFHEAL_ENROLLED).map(|v| {
                v.split([',', ' ', '\n'])
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            ..GithubLayer::default()
        }),
    })
}

/// Fill what no layer set with the defaults.
fn from_merged(merged: ConfigLayer, secrets: Secrets) -> Settings {
    let Secrets {
        api_key,
        escalate_key,
        token,
        pr_token,
    } = secrets;
    let llm = merged.llm.unwrap_or_default();
    let repair = merged.repair.unwrap_or_default();
    let validate = merged.validate.unwrap_or_default();
    let git = merged.git.unwrap_or_default();
    let prompts: PromptsLayer = merged.prompts.unwrap_or_default();
    let github = merged.github.unwrap_or_default();
    let policy: PolicyLayer = merged.policy.unwrap_or_default();
    let llm_base_url = llm.base_url.as_deref().map_or_else(
        || DEFAULT_BASE_URL.to_owned(),
        |u| u.trim().trim_end_matches('/').to_owned(),
    );
    let llm_key_env = llm
        .api_key_env
        .clone()
        .unwrap_or_else(|| env::OPENAI_API_KEY.to_owned());
    let redact: RedactLayer = merged.redact.unwrap_or_default();
    let trim_all = |list: Option<Vec<String>>| -> Vec<String> {
        list.unwrap_or_default()
            .into_iter()
            .map(|s| s.trim().to_owned())
            .collect()
    };
    Settings {
        dry_run: merged.dry_run.unwrap_or(false),
        disabled: merged.disabled.unwrap_or(false),
        llm: LlmConfig {
            base_url: llm_base_url.clone(),
            api_key_env: llm_key_env.clone(),
            api_key,
            model: llm
                .model
                .map_or_else(|| DEFAULT_MODEL.to_owned(), |m| m.trim().to_owned()),
            temperature: llm.temperature.unwrap_or(0.0),
            max_tokens: llm.max_tokens.unwrap_or(2048),
            timeout_secs: llm.timeout_secs.unwrap_or(120),
            structured_output: llm.structured_output.unwrap_or(true),
            candidates: llm.candidates.unwrap_or(1),
            candidate_temperature: llm.candidate_temperature.unwrap_or(0.7),
            escalate_to: llm.escalate_to.and_then(|e| {
                let model = e.model?.trim().to_owned();
                Some(EscalateConfig {
                    model,
                    base_url: e
                        .base_url
                        .map_or(llm_base_url, |u| u.trim().trim_end_matches('/').to_owned()),
                    api_key_env: e.api_key_env.unwrap_or(llm_key_env),
                    api_key: escalate_key,
                })
            }),
        },
        repair: RepairConfig {
            max_attempts: repair.max_attempts.unwrap_or(3),
            context_token_budget: repair.context_token_budget.unwrap_or(6000),
            total_token_budget: repair.total_token_budget.unwrap_or(60_000),
            cost_limit_usd: repair.cost_limit_usd,
            usd_per_million_prompt: repair.usd_per_million_prompt,
            usd_per_million_completion: repair.usd_per_million_completion,
            model_retries: repair.model_retries.unwrap_or(3),
            remedies: repair.remedies.unwrap_or(true),
            reverts: repair.reverts.unwrap_or(true),
        },
        validate: ValidateConfig {
            image: validate.image.unwrap_or_else(|| DEFAULT_IMAGE.to_owned()),
            timeout_secs: validate.timeout_secs.unwrap_or(300),
            memory_mb: validate.memory_mb.unwrap_or(2048),
            cpus: validate.cpus.unwrap_or(2.0),
            pids: validate.pids.unwrap_or(512),
            test_command: validate
                .test_command
                .unwrap_or_else(|| DEFAULT_TEST_COMMAND.to_owned()),
            failing_test_command: validate
                .failing_test_command
                .unwrap_or_else(|| DEFAULT_FAILING_TEST_COMMAND.to_owned()),
            install: validate.install.unwrap_or(true),
            ca_bundle: validate.ca_bundle,
            setup_command: validate
                .setup_command
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            dockerfile: validate
                .dockerfile
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            sandbox: validate
                .sandbox
                .map_or_else(|| "docker".to_owned(), |s| s.trim().to_ascii_lowercase()),
        },
        git: {
            let GitLayer {
                branch_prefix,
                signoff,
                author_name,
                author_email,
            } = git;
            GitConfig {
                branch_prefix: branch_prefix.unwrap_or_else(|| "selfheal/".to_owned()),
                signoff: signoff.unwrap_or(false),
                author_name: author_name.unwrap_or_else(|| "selfheal".to_owned()),
                author_email: author_email.unwrap_or_else(|| "selfheal@localhost".to_owned()),
            }
        },
        prompts: PromptsConfig { dir: prompts.dir },
        github: GithubConfig {
            repository: github.repository.map(|r| r.trim().to_owned()),
            api_url: github.api_url.map_or_else(
                || DEFAULT_GITHUB_API_URL.to_owned(),
                |u| u.trim().trim_end_matches('/').to_owned(),
            ),
            token_env: github
                .token_env
                .unwrap_or_else(|| env::GITHUB_TOKEN.to_owned()),
            token,
            pr_token_env: github
                .pr_token_env
                .unwrap_or_else(|| env::SELFHEAL_PR_TOKEN.to_owned()),
            pr_token,
            remote: github
                .remote
                .map_or_else(|| "origin".to_owned(), |r| r.trim().to_owned()),
            workflows: trim_all(github.workflows),
            exclude_workflows: trim_all(github.exclude_workflows),
            branch: github.branch.map(|b| b.trim().to_owned()),
            event: github.event.map(|e| e.trim().to_owned()),
            max_runs: github.max_runs.unwrap_or(3),
            draft: github.draft.unwrap_or(false),
            labels: github
                .labels
                .map_or_else(|| vec!["selfheal".to_owned()], |l| trim_all(Some(l))),
            comment: github.comment.unwrap_or(false),
            enrolled: trim_all(github.enrolled),
        },
        policy: {
            let defaults = PolicyDefaults::default();
            PolicyConfig {
                deny: trim_all(policy.deny),
                allow: trim_all(policy.allow),
                max_files: policy.max_files.unwrap_or(defaults.max_files),
                max_changed_lines: policy
                    .max_changed_lines
                    .unwrap_or(defaults.max_changed_lines),
                allow_new_dependencies: policy.allow_new_dependencies.unwrap_or(false),
                allow_test_edits: policy.allow_test_edits.unwrap_or(false),
            }
        },
        redact: RedactConfig {
            patterns: redact.patterns.unwrap_or_default(),
            allow: redact.allow.unwrap_or_default(),
        },
    }
}

/// The size limits of [`PolicyConfig`] when unset.
struct PolicyDefaults {
    max_files: usize,
    max_changed_lines: usize,
}

impl Default for PolicyDefaults {
    fn default() -> Self {
        Self {
            max_files: 10,
            max_changed_lines: 400,
        }
    }
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

/// Prefixes of GitHub's token formats. Each is also a valid variable name, so
/// without this check a pasted token would pass as one and read as "no token".
const TOKEN_PREFIXES: &[&str] = &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"];

/// `name` must name a variable. The value is never echoed in the error: a
/// wrong value here is most often the secret itself, and errors end up in CI logs.
fn check_env_name(key: &'static str, name: &str, like: &str) -> Result<(), ConfigError> {
    let mut chars = name.chars();
    let is_name = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let what = if !is_name {
        "is not an environment variable name"
    } else if TOKEN_PREFIXES.iter().any(|p| name.starts_with(p)) {
        "looks like a token, not the name of a variable"
    } else {
        return Ok(());
    };
    Err(invalid(
        key,
        format!(
            "{what}; hint: give the NAME of the variable holding the secret (like {like:?}), never the secret itself"
        ),
    ))
}

/// An absolute http(s) URL with a host.
fn check_http_url(key: &'static str, value: &str, like: &str) -> Result<(), ConfigError> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) => Err(invalid(
            key,
            format!("{value:?} must be an http or https URL"),
        )),
        Err(e) => Err(invalid(
            key,
            format!("{value:?} is not a URL ({e}); hint: like {like:?}"),
        )),
    }
}

/// `owner/name` as GitHub allows them. Owners take `_` too, which Enterprise
/// Managed Users' names contain.
fn check_repository(value: &str) -> Result<(), ConfigError> {
    let owner_ok = |o: &str| {
        !o.is_empty()
            && !o.starts_with('-')
            && o.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    };
    let name_ok = |n: &str| {
        !n.is_empty()
            && n != "."
            && n != ".."
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match value.split_once('/') {
        Some((owner, name)) if owner_ok(owner) && name_ok(name) => Ok(()),
        _ => Err(invalid(
            "github.repository",
            format!("{value:?} is not owner/name; hint: like \"octocat/hello-world\""),
        )),
    }
}

/// Characters and sequences git refuses in ref names (`git check-ref-format`).
fn bad_ref_text(value: &str) -> bool {
    value.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    }) || value.contains("..")
        || value.contains("@{")
        || value.contains("//")
        || value.starts_with(['/', '-', '.'])
}

/// A git branch or remote name: non-empty, and nothing git would refuse.
#[expect(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "`.lock` is git's lock-file suffix, which git matches exactly"
)]
fn check_ref_name(key: &'static str, value: &str, what: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(invalid(key, "must not be empty"));
    }
    if bad_ref_text(value) || value.ends_with(['/', '.']) || value.ends_with(".lock") {
        return Err(invalid(key, format!("{value:?} is not a valid git {what}")));
    }
    Ok(())
}

fn check_list(key: &'static str, items: &[String], max_len: usize) -> Result<(), ConfigError> {
    for item in items {
        if item.is_empty() {
            return Err(invalid(key, "entries must not be empty"));
        }
        if item.chars().count() > max_len || item.contains(['\n', '\r']) {
            return Err(invalid(
                key,
                format!("{item:?} must be one line of at most {max_len} characters"),
            ));
        }
    }
    Ok(())
}

fn check_github(g: &GithubConfig) -> Result<(), ConfigError> {
    if let Some(repository) = &g.repository {
        check_repository(repository)?;
    }
    check_http_url("github.api_url", &g.api_url, DEFAULT_GITHUB_API_URL)?;
    check_env_name("github.token_env", &g.token_env, env::GITHUB_TOKEN)?;
    check_env_name(
        "github.pr_token_env",
        &g.pr_token_env,
        env::SELFHEAL_PR_TOKEN,
    )?;
    check_ref_name("github.remote", &g.remote, "remote name")?;
    // Workflow names are free text in GitHub (any one line); 255 is far past any real one.
    check_list("github.workflows", &g.workflows, 255)?;
    check_list("github.exclude_workflows", &g.exclude_workflows, 255)?;
    match g.branch.as_deref() {
        Some("") => {
            return Err(invalid(
                "github.branch",
                "must not be empty; hint: leave branch out to take runs on any branch",
            ));
        }
        Some(branch) => check_ref_name("github.branch", branch, "branch name")?,
        None => {}
    }
    if let Some(event) = &g.event
        && (event.is_empty() || !event.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    {
        return Err(invalid(
            "github.event",
            format!("{event:?} is not an event name; hint: like \"push\" or \"pull_request\""),
        ));
    }
    if !(1..=50).contains(&g.max_runs) {
        return Err(invalid(
            "github.max_runs",
            format!("must be from 1 to 50 (got {})", g.max_runs),
        ));
    }
    // GitHub refuses label names over 50 characters.
    check_list("github.labels", &g.labels, 50)
}

fn check_identity(key: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(invalid(key, "must not be empty"));
    }
    if value.contains(['<', '>', '\n', '\r']) {
        return Err(invalid(
            key,
            format!("{value:?} must not contain <, > or line breaks"),
        ));
    }
    Ok(())
}

/// Enough of git's ref-name rules (`git check-ref-format`) to refuse what would fail later.
fn check_branch_prefix(prefix: &str) -> Result<(), ConfigError> {
    if bad_ref_text(prefix) {
        Err(invalid(
            "git.branch_prefix",
            format!("{prefix:?} cannot start a git branch name"),
        ))
    } else {
        Ok(())
    }
}

impl Settings {
    /// Check ranges and formats; the first problem found is reported.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let llm = &self.llm;
        check_http_url("llm.base_url", &llm.base_url, "http://127.0.0.1:8080/v1")?;
        check_env_name("llm.api_key_env", &llm.api_key_env, env::OPENAI_API_KEY)?;
        if llm.model.is_empty() {
            return Err(invalid(
                "llm.model",
                "must not be empty; hint: set SELFHEAL_MODEL or [llm] model",
            ));
        }
        if !(llm.temperature.is_finite() && (0.0..=2.0).contains(&llm.temperature)) {
            return Err(invalid(
                "llm.temperature",
                format!("must be from 0.0 to 2.0 (got {})", llm.temperature),
            ));
        }
        if llm.max_tokens == 0 {
            return Err(invalid("llm.max_tokens", "must be greater than 0"));
        }
        if llm.timeout_secs == 0 {
            return Err(invalid("llm.timeout_secs", "must be greater than 0"));
        }
        if !(1..=8).contains(&llm.candidates) {
            return Err(invalid(
                "llm.candidates",
                format!("must be from 1 to 8 (got {})", llm.candidates),
            ));
        }
        if !(llm.candidate_temperature.is_finite()
            && (0.0..=2.0).contains(&llm.candidate_temperature))
        {
            return Err(invalid(
                "llm.candidate_temperature",
                format!(
                    "must be from 0.0 to 2.0 (got {})",
                    llm.candidate_temperature
                ),
            ));
        }
        if let Some(e) = &llm.escalate_to {
            if e.model.is_empty() {
                return Err(invalid("llm.escalate_to.model", "must not be empty"));
            }
            check_http_url(
                "llm.escalate_to.base_url",
                &e.base_url,
                "https://api.openai.com/v1",
            )?;
        }

        let repair = &self.repair;
        if let Some(limit) = repair.cost_limit_usd {
            if !(limit.is_finite() && limit > 0.0) {
                return Err(invalid(
                    "repair.cost_limit_usd",
                    format!("must be more than 0 (got {limit})"),
                ));
            }
            if repair.usd_per_million_prompt.is_none()
                || repair.usd_per_million_completion.is_none()
            {
                return Err(invalid(
                    "repair.cost_limit_usd",
                    "needs the model's prices; hint: set [repair] usd_per_million_prompt and usd_per_million_completion",
                ));
            }
        }
        for (key, price) in [
            (
                "repair.usd_per_million_prompt",
                repair.usd_per_million_prompt,
            ),
            (
                "repair.usd_per_million_completion",
                repair.usd_per_million_completion,
            ),
        ] {
            if let Some(price) = price
                && !(price.is_finite() && price >= 0.0)
            {
                return Err(invalid(key, format!("must be 0 or more (got {price})")));
            }
        }
        if repair.model_retries > 10 {
            return Err(invalid(
                "repair.model_retries",
                format!("must be from 0 to 10 (got {})", repair.model_retries),
            ));
        }
        if !matches!(self.validate.sandbox.as_str(), "docker" | "local") {
            return Err(invalid(
                "validate.sandbox",
                format!("must be docker or local (got {:?})", self.validate.sandbox),
            ));
        }
        if self.policy.max_files == 0 || self.policy.max_changed_lines == 0 {
            return Err(invalid(
                "policy.max_files",
                "max_files and max_changed_lines must be greater than 0",
            ));
        }
        if !(1..=10).contains(&repair.max_attempts) {
            return Err(invalid(
                "repair.max_attempts",
                format!("must be from 1 to 10 (got {})", repair.max_attempts),
            ));
        }
        if repair.context_token_budget == 0 {
            return Err(invalid(
                "repair.context_token_budget",
                "must be greater than 0",
            ));
        }
        if repair.total_token_budget < repair.context_token_budget as u64 {
            return Err(invalid(
                "repair.total_token_budget",
                format!(
                    "must be at least context_token_budget ({} < {})",
                    repair.total_token_budget, repair.context_token_budget
                ),
            ));
        }

        let v = &self.validate;
        if v.image.trim().is_empty() {
            return Err(invalid("validate.image", "must not be empty"));
        }
        if v.timeout_secs == 0 {
            return Err(invalid("validate.timeout_secs", "must be greater than 0"));
        }
        // Docker refuses limits under 6 MB; below 16 nothing useful starts anyway.
        if v.memory_mb < 16 {
            return Err(invalid(
                "validate.memory_mb",
                format!("must be at least 16 (got {})", v.memory_mb),
            ));
        }
        if !(v.cpus.is_finite() && v.cpus > 0.0) {
            return Err(invalid(
                "validate.cpus",
                format!("must be greater than 0 (got {})", v.cpus),
            ));
        }
        if v.pids < 1 {
            return Err(invalid(
                "validate.pids",
                format!("must be at least 1 (got {})", v.pids),
            ));
        }
        if v.test_command.trim().is_empty() {
            return Err(invalid("validate.test_command", "must not be empty"));
        }
        if v.failing_test_command.trim().is_empty() {
            return Err(invalid(
                "validate.failing_test_command",
                "must not be empty",
            ));
        }

        check_branch_prefix(&self.git.branch_prefix)?;
        check_identity("git.author_name", &self.git.author_name)?;
        check_identity("git.author_email", &self.git.author_email)?;
        check_github(&self.github)
    }
}

/// Read one `selfheal.toml`. Unknown keys and wrong types fail with a one-line
/// error naming the file and line; a relative `[prompts] dir` is taken relative
/// to the file's folder, not to wherever selfheal was started.
pub fn load_file(path: &Path) -> Result<ConfigLayer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_str(&text, path)
}

/// Parse config text; `path` is only used in errors and to anchor relative paths.
pub fn parse_str(text: &str, path: &Path) -> Result<ConfigLayer, ConfigError> {
    let mut layer: ConfigLayer = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        line: e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
        // toml's Display draws a multi-line snippet; the bare message keeps the error on one line.
        message: e.message().trim().replace('\n', " "),
    })?;
    if let Some(dir) = layer.prompts.as_mut().and_then(|p| p.dir.as_mut())
        && dir.is_relative()
        && let Some(parent) = path.parent()
    {
        *dir = parent.join(&*dir);
    }
    Ok(layer)
}

/// The user's default config file: `$XDG_CONFIG_HOME/selfheal/config.toml`
/// when that variable holds an absolute path (the XDG spec says to ignore a
/// relative one), else `$HOME/.config/selfheal/config.toml`; `None` when
/// neither is set. `SELFHEAL_CONFIG` and `--config` are not looked at here.
pub fn user_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(xdg) = var(env::XDG_CONFIG_HOME).map(PathBuf::from)
        && xdg.is_absolute()
    {
        return Some(xdg.join(USER_CONFIG_FILE));
    }
    var(env::HOME).map(|home| Path::new(&home).join(".config").join(USER_CONFIG_FILE))
}

/// The user's config file and whether it must exist: one the user named
/// (`--config`, then `SELFHEAL_CONFIG`) must; the default one may be absent.
fn user_file(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<(PathBuf, bool)> {
    if let Some(p) = explicit {
        return Some((p.to_owned(), true));
    }
    if let Some(p) = env(env::SELFHEAL_CONFIG).filter(|v| !v.trim().is_empty()) {
        return Some((PathBuf::from(p), true));
    }
    user_config_path(env).map(|p| (p, false))
}

/// Read a config file that may be absent: only "not found" counts as absent;
/// a file that exists but cannot be read is an error, not a silent default.
fn load_optional(path: &Path) -> Result<Option<ConfigLayer>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_str(&text, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// What [`load_layers`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub settings: Settings,
    /// One line each, for the CLI to show: keys of the repository's file that were ignored.
    pub warnings: Vec<String>,
    /// files read, lowest layer first
    pub sources: Vec<PathBuf>,
}

/// Read the repository's `selfheal.toml` and the user's config file, and
/// [`resolve_layers`] them with `env` and `flags`.
///
/// The user's file is `explicit` (`--config`), else `SELFHEAL_CONFIG`, else
/// [`user_config_path`]. A file the user named must exist; the default one
/// need not. When the user names the repository's own `selfheal.toml`, it is
/// read once, as the user's file: the user has vouched for it.
pub fn load_layers(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    repo_root: &Path,
    flags: ConfigLayer,
) -> Result<Loaded, ConfigError> {
    let mut sources = Vec::new();
    let user_path = user_file(explicit, env);
    let repo_path = repo_root.join(CONFIG_FILE_NAME);
    let repo_is_users = user_path
        .as_ref()
        .is_some_and(|(p, _)| same_file(p, &repo_path));
    let repo = if repo_is_users {
        None
    } else {
        load_optional(&repo_path)?
    };
    if repo.is_some() {
        sources.push(repo_path);
    }
    let user = match user_path {
        None => None,
        Some((path, true)) => Some(load_file(&path).map(|layer| (path, layer))?),
        Some((path, false)) => load_optional(&path)?.map(|layer| (path, layer)),
    };
    let user = user.map(|(path, layer)| {
        sources.push(path);
        layer
    });
    let (settings, warnings) = resolve_layers(repo, user, env, flags)?;
    Ok(Loaded {
        settings,
        warnings,
        sources,
    })
}

/// The most specific config file [`load_layers`] would read: the user's file
/// (`--config`, `SELFHEAL_CONFIG`, or the default one if it exists), else the
/// repository's `selfheal.toml` if it exists. A named file is returned even
/// when missing, so that loading reports it. [`Loaded::sources`] lists every
/// file actually read.
pub fn discover(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    repo_root: &Path,
) -> Option<PathBuf> {
    match user_file(explicit, env) {
        Some((path, required)) if required || path.is_file() => Some(path),
        _ => {
            let candidate = repo_root.join(CONFIG_FILE_NAME);
            candidate.is_file().then_some(candidate)
        }
    }
}

/// [`load_layers`] without its warnings and sources, for callers that show neither.
pub fn load(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    repo_root: &Path,
    flags: ConfigLayer,
) -> Result<Settings, ConfigError> {
    load_layers(explicit, env, repo_root, flags).map(|loaded| loaded.settings)
}
