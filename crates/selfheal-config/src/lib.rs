//! Layered selfheal configuration, resolved by one pure function.
//!
//! Five layers, lowest first: built-in defaults; the repository's
//! `selfheal.toml` (at its root); the user's own config file
//! (`$XDG_CONFIG_HOME/selfheal/config.toml`, else
//! `$HOME/.config/selfheal/config.toml`, which `SELFHEAL_CONFIG` or `--config`
//! replace); environment variables; command-line flags. Each layer but the
//! defaults is a [`ConfigLayer`] of `Option`s; [`Combine`] merges them key by
//! key and [`resolve_layers`] fills the gaps with defaults and validates the
//! result into [`Settings`]. The environment is handed in as a lookup
//! function, never read here, so resolution is deterministic and tests need no
//! process state. [`load_layers`] is the one function that touches the disk:
//! it finds and reads the two files, then resolves.
//!
//! The repository being repaired is untrusted input: anyone who can open a
//! pull request can write its `selfheal.toml`. So that file may not say where
//! credentials go. The credential-routing keys (`[llm] base_url`,
//! `[llm] api_key_env`, `[github] api_url`, `[github] token_env`,
//! `[github] pr_token_env`) are dropped from it with a warning each, and only
//! the user's file, the environment and flags set them. Everything else in it
//! (model, sandbox image, test commands, workflow filters) is the project's to
//! choose, and the user's layers still override it.
//!
//! Files are strict: an unknown key or a wrong type fails with one line that
//! names the file, the line and the key, because a silently ignored typo in a
//! tool that edits code is worse than an error. Secrets never live in a file:
//! `[llm] api_key_env`, `[github] token_env` and `pr_token_env` name the
//! variables that hold them, and the values read from those variables are
//! neither serialized nor shown by `{:?}`.
//!
//! [`env`] lists every environment variable selfheal reads.

pub mod env;
mod error;
mod layer;
mod settings;

pub use error::ConfigError;
pub use layer::{
    Combine, ConfigLayer, EscalateLayer, GitLayer, GithubLayer, LlmLayer, PolicyLayer,
    PromptsLayer, RedactLayer, RepairLayer, ValidateLayer,
};
pub use settings::{
    CONFIG_FILE_NAME, DEFAULT_BASE_URL, DEFAULT_FAILING_TEST_COMMAND, DEFAULT_GITHUB_API_URL,
    DEFAULT_IMAGE, DEFAULT_MODEL, DEFAULT_TEST_COMMAND, EscalateConfig, GitConfig, GithubConfig,
    LlmConfig, Loaded, PolicyConfig, PromptsConfig, RedactConfig, RepairConfig, SandboxKind,
    Settings, USER_CONFIG_FILE, ValidateConfig, discover, load, load_file, load_layers, parse_str,
    resolve, resolve_layers, user_config_path,
};
