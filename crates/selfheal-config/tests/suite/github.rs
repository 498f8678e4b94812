//! The `[github]` section, its tokens, and `dry_run`.

use std::path::Path;

use selfheal_config::{
    ConfigError, ConfigLayer, GithubConfig, GithubLayer, Settings, load_layers, parse_str, resolve,
};

use super::{env_of, file, no_env};

fn github_flag(layer: GithubLayer) -> ConfigLayer {
    ConfigLayer {
        github: Some(layer),
        ..ConfigLayer::default()
    }
}

#[test]
fn github_defaults() {
    assert_eq!(
        Settings::default().github,
        GithubConfig {
            repository: None,
            api_url: "https://api.github.com".into(),
            token_env: "GITHUB_TOKEN".into(),
            token: None,
            pr_token_env: "SELFHEAL_PR_TOKEN".into(),
            pr_token: None,
            remote: "origin".into(),
            workflows: vec![],
            exclude_workflows: vec![],
            branch: None,
            event: None,
            max_runs: 3,
            draft: false,
            labels: vec!["selfheal".into()],
            comment: false,
            enrolled: vec![],
        }
    );
    assert!(!Settings::default().dry_run);
    assert!(!Settings::default().disabled);
}

#[test]
fn every_github_key_is_read_from_the_file_and_trimmed() {
    let f = file(
        r#"[github]
repository = " octocat/hello-world "
api_url = "https://ghe.example/api/v3/"
token_env = "MY_TOKEN"
pr_token_env = "MY_PR_TOKEN"
remote = "upstream"
workflows = ["CI", " ci.yml "]
exclude_workflows = ["nightly.yml"]
branch = "main"
event = "pull_request"
max_runs = 50
draft = true
labels = ["bot", "ci"]
comment = true
enrolled = [" octocat/hello-world "]
"#,
    );
    let env = env_of(&[("MY_TOKEN", " t1 "), ("MY_PR_TOKEN", "t2")]);
    let s = resolve(Some(f), &env, ConfigLayer::default()).expect("resolves");
    assert_eq!(
        s.github,
        GithubConfig {
            repository: Some("octocat/hello-world".into()),
            api_url: "https://ghe.example/api/v3".into(),
            token_env: "MY_TOKEN".into(),
            token: Some("t1".into()),
            pr_token_env: "MY_PR_TOKEN".into(),
            pr_token: Some("t2".into()),
            remote: "upstream".into(),
            workflows: vec!["CI".into(), "ci.yml".into()],
            exclude_workflows: vec!["nightly.yml".into()],
            branch: Some("main".into()),
            event: Some("pull_request".into()),
            max_runs: 50,
            draft: true,
            labels: vec!["bot".into(), "ci".into()],
            comment: true,
            enrolled: vec!["octocat/hello-world".into()],
        }
    );
}

#[test]
fn the_kill_switch_and_enrolment_come_from_the_environment_too() {
    let env = env_of(&[
        ("SELFHEAL_DISABLED", "1"),
        ("SELFHEAL_ENROLLED", "octo/a, octo/b\nocto/c"),
    ]);
    let s = resolve(None, &env, ConfigLayer::default()).expect("resolves");
    assert!(s.disabled);
    assert_eq!(s.github.enrolled, ["octo/a", "octo/b", "octo/c"]);
    let off = resolve(
        None,
        &env_of(&[("SELFHEAL_DISABLED", "0")]),
        ConfigLayer::default(),
    )
    .expect("resolves");
    assert!(!off.disabled);
}

#[test]
fn gh_token_is_the_fallback_only_for_the_default_token_variable() {
    let token = |f: Option<ConfigLayer>, pairs: &[(&str, &str)]| {
        resolve(f, &env_of(pairs), ConfigLayer::default())
            .expect("resolves")
            .github
            .token
    };
    assert_eq!(token(None, &[("GH_TOKEN", "gh")]), Some("gh".into()));
    assert_eq!(
        token(None, &[("GH_TOKEN", "gh"), ("GITHUB_TOKEN", "github")]),
        Some("github".into())
    );
    // An empty GITHUB_TOKEN counts as unset, as everywhere.
    assert_eq!(
        token(None, &[("GH_TOKEN", "gh"), ("GITHUB_TOKEN", " ")]),
        Some("gh".into())
    );
    assert_eq!(token(None, &[]), None);
    // A user who names a variable means that one.
    let mine = file("[github]\ntoken_env = \"MY_TOKEN\"\n");
    assert_eq!(token(Some(mine), &[("GH_TOKEN", "gh")]), None);
    // Naming the default explicitly is still the default.
    let default_named = file("[github]\ntoken_env = \"GITHUB_TOKEN\"\n");
    assert_eq!(
        token(Some(default_named), &[("GH_TOKEN", "gh")]),
        Some("gh".into())
    );
}

#[test]
fn publish_token_prefers_the_pr_token() {
    let publish = |pairs: &[(&str, &str)]| {
        resolve(None, &env_of(pairs), ConfigLayer::default())
            .expect("resolves")
            .github
            .publish_token()
            .map(str::to_owned)
    };
    assert_eq!(publish(&[]), None);
    assert_eq!(publish(&[("GITHUB_TOKEN", "read")]), Some("read".into()));
    assert_eq!(publish(&[("SELFHEAL_PR_TOKEN", "pr")]), Some("pr".into()));
    assert_eq!(
        publish(&[("GITHUB_TOKEN", "read"), ("SELFHEAL_PR_TOKEN", "pr")]),
        Some("pr".into())
    );
}

#[test]
fn token_values_never_appear_in_debug_or_serialized_settings() {
    let repo = tempfile::tempdir().expect("tempdir");
    let env = env_of(&[
        ("OPENAI_API_KEY", "secret-llm-key"),
        ("GITHUB_TOKEN", "secret-read-token"),
        ("SELFHEAL_PR_TOKEN", "secret-pr-token"),
    ]);
    let loaded = load_layers(None, &env, repo.path(), ConfigLayer::default()).expect("loads");
    assert_eq!(
        loaded.settings.github.publish_token(),
        Some("secret-pr-token")
    );
    let shown = [
        format!("{loaded:?}"),
        format!("{:#?}", loaded.settings),
        format!("{:?}", loaded.settings.github),
        serde_json::to_string(&loaded.settings).expect("serializes"),
    ];
    for text in &shown {
        assert!(!text.contains("secret-"), "leaked: {text}");
    }
    // Redacted, not dropped: a reader can still tell that a token was found.
    assert!(
        shown[2].contains("token: Some(\"<redacted>\")"),
        "{}",
        shown[2]
    );
    assert!(
        shown[2].contains("pr_token: Some(\"<redacted>\")"),
        "{}",
        shown[2]
    );
}

#[test]
fn unknown_key_in_the_github_section_is_one_line_naming_file_and_key() {
    let err = parse_str(
        "[github]\nrepository = \"a/b\"\nlabel = [\"x\"]\n",
        Path::new("/home/u/.config/selfheal/config.toml"),
    )
    .expect_err("typo is an error");
    let msg = err.to_string();
    assert!(
        msg.starts_with("/home/u/.config/selfheal/config.toml:3: unknown field `label`"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");

    // The tokens themselves have no key: pasting one in is an unknown field, not a secret stored.
    let err = parse_str("[github]\ntoken = \"ghp_x\"\n", Path::new("s.toml")).expect_err("no key");
    assert!(
        err.to_string()
            .starts_with("s.toml:2: unknown field `token`"),
        "{err}"
    );
}

#[test]
fn bad_repository_values_are_errors() {
    for bad in [
        "octocat",
        "octocat/",
        "/hello",
        "a/b/c",
        "https://github.com/a/b",
        "git@github.com:a/b",
        "a b/c",
        "-a/b",
        "a/..",
    ] {
        let expected = format!(
            "invalid github.repository: {bad:?} is not owner/name; hint: like \"octocat/hello-world\""
        );
        let f = file(&format!("[github]\nrepository = {bad:?}\n"));
        let err = resolve(Some(f), &no_env, ConfigLayer::default()).expect_err(bad);
        assert_eq!(err.to_string(), expected);
        let err = resolve(
            None,
            &env_of(&[("GITHUB_REPOSITORY", bad)]),
            ConfigLayer::default(),
        )
        .expect_err(bad);
        assert_eq!(err.to_string(), expected);
    }
    for good in ["octocat/hello-world", "my-org_emu/x.y_z", "a/.github"] {
        let s = resolve(
            None,
            &env_of(&[("GITHUB_REPOSITORY", good)]),
            ConfigLayer::default(),
        )
        .expect(good);
        assert_eq!(s.github.repository.as_deref(), Some(good));
    }
    // Empty means unset, as for every variable.
    let s = resolve(
        None,
        &env_of(&[("GITHUB_REPOSITORY", "")]),
        ConfigLayer::default(),
    )
    .expect("resolves");
    assert_eq!(s.github.repository, None);
}

#[test]
fn bad_api_url_values_are_errors() {
    let err = resolve(
        Some(file("[github]\napi_url = \"ftp://ghe.example\"\n")),
        &no_env,
        ConfigLayer::default(),
    )
    .expect_err("scheme");
    assert_eq!(
        err.to_string(),
        "invalid github.api_url: \"ftp://ghe.example\" must be an http or https URL"
    );
    let err = resolve(
        None,
        &env_of(&[("GITHUB_API_URL", "api.github.com")]),
        ConfigLayer::default(),
    )
    .expect_err("no scheme");
    let msg = err.to_string();
    assert!(
        msg.starts_with("invalid github.api_url: \"api.github.com\" is not a URL"),
        "{msg}"
    );
    assert!(
        msg.ends_with("hint: like \"https://api.github.com\""),
        "{msg}"
    );
}

#[test]
fn out_of_range_github_values_fail_with_the_key_named() {
    let cases: &[(&str, &str)] = &[
        (
            "max_runs = 0",
            "invalid github.max_runs: must be from 1 to 50 (got 0)",
        ),
        (
            "max_runs = 51",
            "invalid github.max_runs: must be from 1 to 50 (got 51)",
        ),
        ("remote = \"\"", "invalid github.remote: must not be empty"),
        (
            "remote = \"my remote\"",
            "invalid github.remote: \"my remote\" is not a valid git remote name",
        ),
        (
            "branch = \" \"",
            "invalid github.branch: must not be empty; hint: leave branch out to take runs on any branch",
        ),
        (
            "branch = \"a..b\"",
            "invalid github.branch: \"a..b\" is not a valid git branch name",
        ),
        (
            "event = \"Push\"",
            "invalid github.event: \"Push\" is not an event name; hint: like \"push\" or \"pull_request\"",
        ),
        (
            "workflows = [\"ci.yml\", \"\"]",
            "invalid github.workflows: entries must not be empty",
        ),
        (
            "exclude_workflows = [\" \"]",
            "invalid github.exclude_workflows: entries must not be empty",
        ),
        (
            "labels = [\"\"]",
            "invalid github.labels: entries must not be empty",
        ),
        (
            "labels = [\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]",
            "invalid github.labels: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" must be one line of at most 50 characters",
        ),
        (
            "pr_token_env = \"MY-TOKEN\"",
            "invalid github.pr_token_env: is not an environment variable name; hint: give the NAME of the variable holding the secret (like \"SELFHEAL_PR_TOKEN\"), never the secret itself",
        ),
    ];
    for (line, expected) in cases {
        let text = format!("[github]\n{line}\n");
        let err = resolve(Some(file(&text)), &no_env, ConfigLayer::default()).expect_err(line);
        assert_eq!(err.to_string(), *expected, "for {line:?}");
    }
    // Flags are checked like files.
    let err = resolve(
        None,
        &no_env,
        github_flag(GithubLayer {
            max_runs: Some(0),
            ..GithubLayer::default()
        }),
    )
    .expect_err("flag out of range");
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                key: "github.max_runs",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_token_pasted_as_a_variable_name_is_refused_without_echoing_it() {
    for key in ["token_env", "pr_token_env"] {
        let text = format!("[github]\n{key} = \"ghp_abcdef0123456789\"\n");
        let err = resolve(Some(file(&text)), &no_env, ConfigLayer::default()).expect_err(key);
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "invalid github.{key}: looks like a token, not the name of a variable; hint:"
            )),
            "{msg}"
        );
        assert!(!msg.contains("abcdef"), "{msg}");
    }
}

#[test]
fn dry_run_comes_from_file_then_environment_then_flags() {
    let dry = |f: Option<&str>, dry_run_var: Option<&str>, flag: Option<bool>| {
        let pairs: Vec<(&str, &str)> = dry_run_var.iter().map(|v| ("DRY_RUN", *v)).collect();
        let flags = ConfigLayer {
            dry_run: flag,
            ..ConfigLayer::default()
        };
        resolve(f.map(file), &env_of(&pairs), flags)
            .expect("resolves")
            .dry_run
    };
    assert!(!dry(None, None, None));
    assert!(dry(Some("dry_run = true\n"), None, None));
    // Set to a false value, the variable switches off what the file switched on.
    assert!(!dry(Some("dry_run = true\n"), Some("0"), None));
    assert!(!dry(Some("dry_run = true\n"), Some("false"), None));
    // Empty is unset: the file decides.
    assert!(dry(Some("dry_run = true\n"), Some(""), None));
    assert!(dry(None, Some("yes"), None));
    assert!(dry(None, Some("0"), Some(true)));
    assert!(!dry(None, Some("1"), Some(false)));
}
