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
/// Path of the user's config file, when `--config` is not given; replaces the default user file.
pub const SELFHEAL_CONFIG: &str = "SELFHEAL_CONFIG";
/// The sandbox image; overrides `[validate] image`.
pub const SELFHEAL_IMAGE: &str = "SELFHEAL_IMAGE";
/// How many repair attempts to make; overrides `[repair] max_attempts`.
pub const SELFHEAL_MAX_ATTEMPTS: &str = "SELFHEAL_MAX_ATTEMPTS";
/// Any non-empty value other than `0`/`false`: read logs from the offline cache, never call GitHub.
pub const OFFLINE_MODE: &str = "OFFLINE_MODE";
/// Any non-empty value: no colour in human output (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// GitHub token for reading runs and opening pull requests (`[github] token_env` names another).
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// The GitHub CLI's token variable, used when `GITHUB_TOKEN` is unset and `token_env` is the default.
pub const GH_TOKEN: &str = "GH_TOKEN";
/// A second token used only to push and open pull requests, so that they trigger
/// workflows (`GITHUB_TOKEN`'s own pushes do not); `[github] pr_token_env` names another.
pub const SELFHEAL_PR_TOKEN: &str = "SELFHEAL_PR_TOKEN";
/// `owner/name` of the repository whose runs to repair; overrides `[github] repository`.
/// Set by GitHub Actions.
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// The REST API root (GitHub Enterprise Server: `https://HOST/api/v3`); overrides
/// `[github] api_url`. Set by GitHub Actions.
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// `true` when running inside GitHub Actions.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// Path of the JSON payload of the event that started the workflow (GitHub Actions).
pub const GITHUB_EVENT_PATH: &str = "GITHUB_EVENT_PATH";
/// Name of the event that started the workflow, like `workflow_run` (GitHub Actions).
pub const GITHUB_EVENT_NAME: &str = "GITHUB_EVENT_NAME";
/// File that GitHub Actions renders as the job summary; Markdown appended to it shows on the run page.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// Truthy (see [`is_truthy`]): do everything but push, open pull requests or comment;
/// overrides the top-level `dry_run` key. `--dry-run` overrides it in turn.
pub const DRY_RUN: &str = "DRY_RUN";
/// The CA bundle the dependency install phase trusts when `[validate] ca_bundle`
/// is unset (and, read by OpenSSL itself, the one HTTPS pushes trust). The
/// proxy variables (`HTTPS_PROXY`, ...) are passed to the install phase as given.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// Truthy: the kill switch; every command that would repair, fetch or publish
/// does nothing and says so (also the top-level `disabled` key).
pub const SELFHEAL_DISABLED: &str = "SELFHEAL_DISABLED";
/// `owner/name` list (commas or spaces): repositories an automated run (in
/// GitHub Actions, or `--ci`) may publish to; set by the workflow.
pub const SELFHEAL_ENROLLED: &str = "SELFHEAL_ENROLLED";
/// Home folder; the user's config is `$HOME/.config/selfheal/config.toml` unless
/// `XDG_CONFIG_HOME` is set.
pub const HOME: &str = "HOME";
/// Base folder for user config files; the user's config is
/// `$XDG_CONFIG_HOME/selfheal/config.toml` when this is an absolute path.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
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
    SELFHEAL_PR_TOKEN,
    GITHUB_REPOSITORY,
    GITHUB_API_URL,
    GITHUB_ACTIONS,
    GITHUB_EVENT_PATH,
    GITHUB_EVENT_NAME,
    GITHUB_STEP_SUMMARY,
    DRY_RUN,
    SSL_CERT_FILE,
    SELFHEAL_DISABLED,
    SELFHEAL_ENROLLED,
    HOME,
    XDG_CONFIG_HOME,
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
    fn every_name_declared_here_is_in_all() {
        // Read from the source, so a constant added without its ALL entry fails here.
        let source = include_str!("env.rs");
        let declared: Vec<&str> = source
            .lines()
            .filter_map(|l| l.strip_prefix("pub const "))
            .filter_map(|l| l.split_once(": &str = \""))
            .map(|(name, _)| name)
            .collect();
        assert_eq!(declared.len(), ALL.len(), "{declared:?}");
        for (name, listed) in declared.iter().zip(ALL) {
            assert_eq!(name, listed, "ALL lists the names in declaration order");
        }
    }

    #[test]
    fn every_name_has_a_doc_line() {
        let source = include_str!("env.rs");
        let mut previous = "";
        for line in source.lines() {
            if line.starts_with("pub const ") && line.contains(": &str = ") {
                assert!(previous.starts_with("///"), "undocumented: {line}");
            }
            previous = line;
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
