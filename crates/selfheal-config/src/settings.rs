//! Resolution: layers in, fully resolved and validated [`Settings`] out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::env;
use crate::error::ConfigError;
use crate::layer::{
    Combine, ConfigLayer, GitLayer, LlmLayer, PromptsLayer, RepairLayer, ValidateLayer,
};

/// Name of the config file looked for at the repository root.
pub const CONFIG_FILE_NAME: &str = "selfheal.toml";

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_IMAGE: &str = "selfheal-sandbox-python:bookworm";
pub const DEFAULT_TEST_COMMAND: &str = "python -m pytest -q -p no:cacheprovider";
pub const DEFAULT_FAILING_TEST_COMMAND: &str = "python -m pytest -q -p no:cacheprovider {tests}";

/// Every setting, resolved: what the rest of selfheal reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub llm: LlmConfig,
    pub repair: RepairConfig,
    pub validate: ValidateConfig,
    pub git: GitConfig,
    pub prompts: PromptsConfig,
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
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairConfig {
    pub max_attempts: u32,
    /// Tokens of source context shown to the model per attempt.
    pub context_token_budget: usize,
    /// Tokens a whole repair may spend across attempts before giving up.
    pub total_token_budget: u64,
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
}

impl ValidateConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
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

impl Default for Settings {
    /// The defaults alone, as if no file, variable or flag were given.
    fn default() -> Self {
        let merged = ConfigLayer::default();
        from_merged(merged, None)
    }
}

/// Resolve `flags` over environment over `file` over defaults, and validate the result.
///
/// `env` answers for one variable name (see [`crate::env`]); the binary passes
/// `|k| std::env::var(k).ok()`, tests pass a map. Empty values count as unset,
/// the way shells leave `VAR=` behind.
pub fn resolve(
    file: Option<ConfigLayer>,
    env: &dyn Fn(&str) -> Option<String>,
    flags: ConfigLayer,
) -> Result<Settings, ConfigError> {
    let lookup = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let merged = flags
        .combine(env_layer(&lookup)?)
        .combine(file.unwrap_or_default());
    let api_key_env = merged
        .llm
        .as_ref()
        .and_then(|l| l.api_key_env.clone())
        .unwrap_or_else(|| env::OPENAI_API_KEY.to_owned());
    // Validate the name before using it, so a typo reads as a config error rather than "no key".
    check_env_name(&api_key_env)?;
    let api_key = lookup(&api_key_env).map(|k| k.trim().to_owned());
    let settings = from_merged(merged, api_key);
    settings.validate()?;
    Ok(settings)
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
    })
}

/// Fill what no layer set with the defaults.
fn from_merged(merged: ConfigLayer, api_key: Option<String>) -> Settings {
    let llm = merged.llm.unwrap_or_default();
    let repair = merged.repair.unwrap_or_default();
    let validate = merged.validate.unwrap_or_default();
    let git = merged.git.unwrap_or_default();
    let prompts: PromptsLayer = merged.prompts.unwrap_or_default();
    Settings {
        llm: LlmConfig {
            base_url: llm.base_url.map_or_else(
                || DEFAULT_BASE_URL.to_owned(),
                |u| u.trim().trim_end_matches('/').to_owned(),
            ),
            api_key_env: llm
                .api_key_env
                .unwrap_or_else(|| env::OPENAI_API_KEY.to_owned()),
            api_key,
            model: llm
                .model
                .map_or_else(|| DEFAULT_MODEL.to_owned(), |m| m.trim().to_owned()),
            temperature: llm.temperature.unwrap_or(0.0),
            max_tokens: llm.max_tokens.unwrap_or(2048),
            timeout_secs: llm.timeout_secs.unwrap_or(120),
            structured_output: llm.structured_output.unwrap_or(true),
        },
        repair: RepairConfig {
            max_attempts: repair.max_attempts.unwrap_or(3),
            context_token_budget: repair.context_token_budget.unwrap_or(6000),
            total_token_budget: repair.total_token_budget.unwrap_or(60_000),
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
    }
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

fn check_env_name(name: &str) -> Result<(), ConfigError> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "llm.api_key_env",
            format!(
                "{name:?} is not an environment variable name; hint: give the NAME of the variable holding the key (like \"OPENAI_API_KEY\"), never the key itself"
            ),
        ))
    }
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
    let bad = prefix.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    }) || prefix.contains("..")
        || prefix.contains("@{")
        || prefix.contains("//")
        || prefix.starts_with(['/', '-', '.']);
    if bad {
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
        match url::Url::parse(&llm.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(_) => {
                return Err(invalid(
                    "llm.base_url",
                    format!("{:?} must be an http or https URL", llm.base_url),
                ));
            }
            Err(e) => {
                return Err(invalid(
                    "llm.base_url",
                    format!(
                        "{:?} is not a URL ({e}); hint: like \"http://127.0.0.1:8080/v1\"",
                        llm.base_url
                    ),
                ));
            }
        }
        check_env_name(&llm.api_key_env)?;
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

        let repair = &self.repair;
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
        Ok(())
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

/// Which config file to read: `--config` if given, else `SELFHEAL_CONFIG`, else
/// `selfheal.toml` at `repo_root` if it exists. An explicit path is returned even
/// when missing, so that [`load_file`] reports it.
pub fn discover(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    repo_root: &Path,
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_owned());
    }
    if let Some(p) = env(env::SELFHEAL_CONFIG).filter(|v| !v.trim().is_empty()) {
        return Some(PathBuf::from(p));
    }
    let candidate = repo_root.join(CONFIG_FILE_NAME);
    candidate.is_file().then_some(candidate)
}

/// [`discover`], [`load_file`] and [`resolve`] in one call, as the CLI uses them.
pub fn load(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    repo_root: &Path,
    flags: ConfigLayer,
) -> Result<Settings, ConfigError> {
    let file = discover(explicit, env, repo_root)
        .map(|p| load_file(&p))
        .transpose()?;
    resolve(file, env, flags)
}
