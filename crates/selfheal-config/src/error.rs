use std::path::PathBuf;

/// Why configuration could not be loaded or resolved.
///
/// None of these is retryable: each names what to change (a file, a variable,
/// a flag) and the CLI exits with status 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A TOML syntax error, an unknown key or a value of the wrong type.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        /// 1-based line of the offending key or value, where the parser says.
        line: Option<usize>,
        message: String,
    },
    /// An environment variable holds a value of the wrong type.
    #[error("invalid {var}={value:?}: {message}")]
    Env {
        var: &'static str,
        value: String,
        message: String,
    },
    /// A resolved value is out of range; `key` is `section.key`.
    #[error("invalid {key}: {message}")]
    Invalid { key: &'static str, message: String },
}
