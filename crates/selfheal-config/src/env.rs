//! Every environment variable selfheal reads, in one place.
//!
//! Nothing outside the binary's start-up reads the process environment: the
//! CLI collects these names into a map and hands it to [`crate::resolve`], so
//! tests pass their own values and `grep` on this file answers "what does
//! selfheal look at".

/// Base URL of the OpenAI-compatible server; overrides `[llm] base_url`.
pub const OPENAI_BASE_URL: &str = "OPENAI_BASE_URL";
/// The default variable holding the API key (`[llm] api_key_env` names another).
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
/// The model name; overrides `[llm] model`.
pub const SELFHEAL_MODEL: &str = "SELFHEAL_MODEL";
/// Path of the config file, when `--config` is not given.
pub const SELFHEAL_CONFIG: &str = "SELFHEAL_CONFIG";
/// The sandbox image; overrides `[validate] image`.
pub const SELFHEAL_IMAGE: &str = "SELFHEAL_IMAGE";
/// How many repair attempts to make; overrides `[repair] max_attempts`.
pub const SELFHEAL_MAX_ATTEMPTS: &str = "SELFHEAL_MAX_ATTEMPTS";
/// Any non-empty value other than `0`/`false`: read logs from the offline cache, never call GitHub.
pub const OFFLINE_MODE: &str = "OFFLINE_MODE";
/// Any non-empty value: no colour in human output (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// GitHub token for reading runs and opening pull requests.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// The GitHub CLI's token variable, used when `GITHUB_TOKEN` is unset.
pub const GH_TOKEN: &str = "GH_TOKEN";
/// Docker endpoint, as the Docker CLI reads it.
pub const DOCKER_HOST: &str = "DOCKER_HOST";
/// Log filter for tracing output (`info`, `selfheal_reason=debug`, ...).
pub const SELFHEAL_LOG: &str = "SELFHEAL_LOG";

/// All of the above, for `selfheal check` and for collecting a snapshot of the environment.
pub const ALL: &[&str] = &[
    OPENAI_BASE_URL,
    OPENAI_API_KEY,
    SELFHEAL_MODEL,
    SELFHEAL_CONFIG,
    SELFHEAL_IMAGE,
    SELFHEAL_MAX_ATTEMPTS,
    OFFLINE_MODE,
    NO_COLOR,
    GITHUB_TOKEN,
    GH_TOKEN,
    DOCKER_HOST,
    SELFHEAL_LOG,
];

/// Whether a flag-like variable is switched on: set, non-empty, and not `0` or `false`.
pub fn is_truthy(value: Option<&str>) -> bool {
    match value.map(str::trim) {
        None | Some("") => false,
        Some(v) => !(v == "0" || v.eq_ignore_ascii_case("false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthiness_follows_common_conventions() {
        assert!(!is_truthy(None));
        assert!(!is_truthy(Some("")));
        assert!(!is_truthy(Some("0")));
        assert!(!is_truthy(Some("FALSE")));
        assert!(is_truthy(Some("1")));
        assert!(is_truthy(Some("yes")));
    }

    #[test]
    fn names_are_unique() {
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
