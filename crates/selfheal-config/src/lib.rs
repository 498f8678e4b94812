//! Layered selfheal configuration, resolved by one pure function.
//!
//! Four layers, highest first: command-line flags, environment variables,
//! the config file (`selfheal.toml` at the repository root, `SELFHEAL_CONFIG`,
//! or `--config PATH`), and built-in defaults. Each of the first three is a
//! [`ConfigLayer`] of `Option`s; [`Combine`] merges them key by key and
//! [`resolve`] fills the gaps with defaults and validates the result into
//! [`Settings`]. The environment is handed in as a lookup function, never read
//! here, so resolution is deterministic and tests need no process state.
//!
//! The file is strict: an unknown key or a wrong type fails with one line that
//! names the file, the line and the key, because a silently ignored typo in a
//! tool that edits code is worse than an error. API keys never live in the
//! file: `[llm] api_key_env` names the variable that holds one.
//!
//! [`env`] lists every environment variable selfheal reads.

pub mod env;
mod error;
mod layer;
mod settings;

pub use error::ConfigError;
pub use layer::{
    Combine, ConfigLayer, GitLayer, LlmLayer, PromptsLayer, RepairLayer, ValidateLayer,
};
pub use settings::{
    CONFIG_FILE_NAME, DEFAULT_BASE_URL, DEFAULT_FAILING_TEST_COMMAND, DEFAULT_IMAGE, DEFAULT_MODEL,
    DEFAULT_TEST_COMMAND, GitConfig, LlmConfig, PromptsConfig, RepairConfig, Settings,
    ValidateConfig, discover, load, load_file, parse_str, resolve,
};
