//! Resolution as the CLI drives it: real files on disk, environment as a map.

mod github;
mod layers;
mod policy;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use selfheal_config::{
    ConfigError, ConfigLayer, LlmLayer, RepairLayer, Settings, discover, load, load_file,
    parse_str, resolve,
};

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn file(text: &str) -> ConfigLayer {
    parse_str(text, Path::new("/repo/selfheal.toml")).expect("config parses")
}

fn model_flag(model: &str) -> ConfigLayer {
    ConfigLayer {
        llm: Some(LlmLayer {
            model: Some(model.into()),
            ..LlmLayer::default()
        }),
        ..ConfigLayer::default()
    }
}

#[test]
fn model_precedence_is_flag_env_file_default() {
    // (file, env, flag) -> expected
    type Row<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str);
    let table: &[Row] = &[
        (None, None, None, "gpt-4o-mini"),
        (Some("file-model"), None, None, "file-model"),
        (Some("file-model"), Some("env-model"), None, "env-model"),
        (None, Some("env-model"), None, "env-model"),
        (
            Some("file-model"),
            Some("env-model"),
            Some("flag-model"),
            "flag-model",
        ),
        (Some("file-model"), None, Some("flag-model"), "flag-model"),
    ];
    for (f, e, fl, expected) in table {
        let file_layer = f.map(|m| file(&format!("[llm]\nmodel = \"{m}\"\n")));
        let pairs: Vec<(&str, &str)> = e.iter().map(|m| ("SELFHEAL_MODEL", *m)).collect();
        let flags = fl.map(model_flag).unwrap_or_default();
        let settings = resolve(file_layer, &env_of(&pairs), flags).expect("resolves");
        assert_eq!(
            settings.llm.model, *expected,
            "file={f:?} env={e:?} flag={fl:?}"
        );
    }
}

#[test]
fn environment_overrides_file_for_each_mapped_variable() {
    let f = file(
        "[llm]\nbase_url = \"http://file:1/v1\"\n[repair]\nmax_attempts = 2\n[validate]\nimage = \"file:img\"\n",
    );
    let only_file = resolve(Some(f.clone()), &no_env, ConfigLayer::default()).expect("resolves");
    assert_eq!(only_file.llm.base_url, "http://file:1/v1");
    assert_eq!(only_file.repair.max_attempts, 2);
    assert_eq!(only_file.validate.image, "file:img");

    let env = env_of(&[
        ("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1/"),
        ("SELFHEAL_MAX_ATTEMPTS", " 5 "),
        ("SELFHEAL_IMAGE", "env:img"),
    ]);
    let with_env = resolve(Some(f), &env, ConfigLayer::default()).expect("resolves");
    // The trailing slash is dropped: request paths are appended to the base.
    assert_eq!(with_env.llm.base_url, "http://127.0.0.1:8080/v1");
    assert_eq!(with_env.repair.max_attempts, 5);
    assert_eq!(with_env.validate.image, "env:img");
}

#[test]
fn empty_environment_values_count_as_unset() {
    let env = env_of(&[("SELFHEAL_MODEL", ""), ("OPENAI_API_KEY", "  ")]);
    let f = file("[llm]\nmodel = \"from-file\"\n");
    let s = resolve(Some(f), &env, ConfigLayer::default()).expect("resolves");
    assert_eq!(s.llm.model, "from-file");
    assert_eq!(s.llm.api_key, None);
}

#[test]
fn api_key_is_read_from_the_variable_the_file_names() {
    let f = file("[llm]\napi_key_env = \"MY_LLM_KEY\"\n");
    let env = env_of(&[("OPENAI_API_KEY", "wrong"), ("MY_LLM_KEY", "sk-right")]);
    let s = resolve(Some(f), &env, ConfigLayer::default()).expect("resolves");
    assert_eq!(s.llm.api_key.as_deref(), Some("sk-right"));
    assert!(
        !format!("{s:?}").contains("sk-right"),
        "debug output must not leak the key"
    );
    let json = serde_json::to_string(&s).expect("serializes");
    assert!(
        !json.contains("sk-right"),
        "serialized settings must not leak the key"
    );

    let default_var = resolve(
        None,
        &env_of(&[("OPENAI_API_KEY", "sk-1")]),
        ConfigLayer::default(),
    )
    .expect("resolves");
    assert_eq!(default_var.llm.api_key.as_deref(), Some("sk-1"));
}

#[test]
fn a_key_in_place_of_a_variable_name_is_refused() {
    let f = file("[llm]\napi_key_env = \"sk-abc123\"\n");
    let err = resolve(Some(f), &no_env, ConfigLayer::default()).expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.starts_with("invalid llm.api_key_env: is not an environment variable name; hint:"),
        "{msg}"
    );
    // Errors land in CI logs; a key pasted in place of a name must not follow it there.
    assert!(!msg.contains("abc123"), "{msg}");
}

#[test]
fn unknown_key_fails_with_one_line_naming_key_file_and_line() {
    let err = parse_str(
        "[llm]\nmodel = \"m\"\nmodle = \"typo\"\n",
        Path::new("/repo/selfheal.toml"),
    )
    .expect_err("typo is an error");
    let msg = err.to_string();
    assert!(
        msg.starts_with("/repo/selfheal.toml:3: unknown field `modle`"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");

    let err =
        parse_str("[sandbox]\nimage = \"x\"\n", Path::new("s.toml")).expect_err("unknown section");
    assert!(err.to_string().contains("unknown field `sandbox`"), "{err}");
}

#[test]
fn wrong_type_fails_naming_file_and_line() {
    let err = parse_str(
        "[repair]\nmax_attempts = \"three\"\n",
        Path::new("cfg.toml"),
    )
    .expect_err("wrong type");
    let msg = err.to_string();
    assert!(msg.starts_with("cfg.toml:2: "), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn out_of_range_values_fail_with_the_key_named() {
    let cases: &[(&str, &str)] = &[
        (
            "[repair]\nmax_attempts = 0\n",
            "invalid repair.max_attempts: must be from 1 to 10 (got 0)",
        ),
        (
            "[repair]\nmax_attempts = 11\n",
            "invalid repair.max_attempts: must be from 1 to 10 (got 11)",
        ),
        (
            "[llm]\ntimeout_secs = 0\n",
            "invalid llm.timeout_secs: must be greater than 0",
        ),
        (
            "[validate]\ntimeout_secs = 0\n",
            "invalid validate.timeout_secs: must be greater than 0",
        ),
        (
            "[llm]\ntemperature = 3.5\n",
            "invalid llm.temperature: must be from 0.0 to 2.0 (got 3.5)",
        ),
        (
            "[llm]\nbase_url = \"ftp://x/v1\"\n",
            "invalid llm.base_url: \"ftp://x/v1\" must be an http or https URL",
        ),
        (
            "[validate]\ncpus = 0.0\n",
            "invalid validate.cpus: must be greater than 0 (got 0)",
        ),
        (
            "[validate]\npids = 0\n",
            "invalid validate.pids: must be at least 1 (got 0)",
        ),
        (
            "[git]\nbranch_prefix = \"fix me/\"\n",
            "invalid git.branch_prefix: \"fix me/\" cannot start a git branch name",
        ),
        (
            "[git]\nauthor_email = \"<x>\"\n",
            "invalid git.author_email: \"<x>\" must not contain <, > or line breaks",
        ),
        (
            "[repair]\ncontext_token_budget = 5000\ntotal_token_budget = 100\n",
            "invalid repair.total_token_budget: must be at least context_token_budget (100 < 5000)",
        ),
    ];
    for (text, expected) in cases {
        let err = resolve(Some(file(text)), &no_env, ConfigLayer::default()).expect_err(text);
        assert_eq!(err.to_string(), *expected, "for {text:?}");
    }
    let err = resolve(
        Some(file("[llm]\nbase_url = \"not a url\"\n")),
        &no_env,
        ConfigLayer::default(),
    )
    .expect_err("bad url");
    assert!(
        err.to_string()
            .starts_with("invalid llm.base_url: \"not a url\" is not a URL"),
        "{err}"
    );
}

#[test]
fn flags_are_validated_too() {
    let flags = ConfigLayer {
        repair: Some(RepairLayer {
            max_attempts: Some(99),
            ..RepairLayer::default()
        }),
        ..ConfigLayer::default()
    };
    let err = resolve(None, &no_env, flags).expect_err("out of range");
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                key: "repair.max_attempts",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn malformed_environment_value_names_the_variable() {
    let err = resolve(
        None,
        &env_of(&[("SELFHEAL_MAX_ATTEMPTS", "lots")]),
        ConfigLayer::default(),
    )
    .expect_err("not a number");
    assert_eq!(
        err.to_string(),
        "invalid SELFHEAL_MAX_ATTEMPTS=\"lots\": expected a whole number from 1 to 10"
    );
    let err = resolve(
        None,
        &env_of(&[("OPENAI_BASE_URL", "localhost:8080")]),
        ConfigLayer::default(),
    )
    .expect_err("scheme missing");
    assert!(err.to_string().starts_with("invalid llm.base_url"), "{err}");
}

fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/selfheal.toml")
}

#[test]
fn shipped_default_config_parses_and_equals_the_defaults() {
    let layer = load_file(&shipped_config()).expect("config/selfheal.toml parses");
    let from_file = resolve(Some(layer), &no_env, ConfigLayer::default()).expect("resolves");
    assert_eq!(from_file, Settings::default());
    let from_nothing = resolve(None, &no_env, ConfigLayer::default()).expect("resolves");
    assert_eq!(from_nothing, Settings::default());
}

#[test]
fn shipped_default_config_as_a_repository_file_warns_about_nothing() {
    let repo = tempfile::tempdir().expect("tempdir");
    std::fs::copy(shipped_config(), repo.path().join("selfheal.toml")).expect("copy");
    let loaded = selfheal_config::load_layers(None, &no_env, repo.path(), ConfigLayer::default())
        .expect("loads");
    assert_eq!(loaded.warnings, Vec::<String>::new());
    assert_eq!(loaded.settings, Settings::default());
}

#[test]
fn shipped_commented_credential_keys_show_the_defaults() {
    // They are commented out so that a repository copy does not warn; uncommented,
    // they must still be the defaults.
    let text = std::fs::read_to_string(shipped_config()).expect("readable");
    let routing = [
        "base_url",
        "api_key_env",
        "api_url",
        "token_env",
        "pr_token_env",
    ];
    let mut uncommented = 0;
    let active: Vec<&str> = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if routing.iter().any(|k| rest.starts_with(&format!("{k} = "))) => {
                uncommented += 1;
                rest
            }
            _ => line,
        })
        .collect();
    assert_eq!(uncommented, routing.len());
    let layer = parse_str(&active.join("\n"), &shipped_config()).expect("parses");
    assert!(
        layer
            .github
            .as_ref()
            .is_some_and(|g| g.pr_token_env.is_some())
    );
    let s = resolve(Some(layer), &no_env, ConfigLayer::default()).expect("resolves");
    assert_eq!(s, Settings::default());
}

#[test]
fn shipped_default_config_documents_every_key() {
    let text = std::fs::read_to_string(shipped_config()).expect("readable");
    let defaults = serde_json::to_value(Settings::default()).expect("serializes");
    let documented = |key: &str| {
        text.contains(&format!("\n{key} = ")) || text.contains(&format!("\n# {key} = "))
    };
    for (section, value) in defaults.as_object().expect("object") {
        let Some(keys) = value.as_object() else {
            // A top-level key: TOML needs it before the first section.
            let at = text.find(&format!("\n{section} = ")).map(|i| i + 1);
            let first_section = text.find("\n[").map(|i| i + 1);
            assert!(
                at.is_some() && at < first_section,
                "top-level key {section} is not documented before the first section"
            );
            continue;
        };
        assert!(
            text.contains(&format!("\n[{section}]\n")),
            "section [{section}] missing"
        );
        for key in keys.keys() {
            assert!(documented(key), "key {section}.{key} is not documented");
        }
    }
}

#[test]
fn relative_prompts_dir_is_anchored_at_the_config_file() {
    let layer = parse_str(
        "[prompts]\ndir = \"my-prompts\"\n",
        Path::new("/repo/sub/selfheal.toml"),
    )
    .expect("parses");
    let s = resolve(Some(layer), &no_env, ConfigLayer::default()).expect("resolves");
    assert_eq!(s.prompts.dir, Some(PathBuf::from("/repo/sub/my-prompts")));
}

#[test]
fn discovery_prefers_flag_then_variable_then_user_file_then_repository_file() {
    let repo = tempfile::tempdir().expect("tempdir");
    let xdg = tempfile::tempdir().expect("tempdir");
    let xdg_env = env_of(&[("XDG_CONFIG_HOME", &xdg.path().display().to_string())]);
    assert_eq!(discover(None, &no_env, repo.path()), None);
    // A default user file that does not exist is not a candidate.
    assert_eq!(discover(None, &xdg_env, repo.path()), None);

    let at_root = repo.path().join("selfheal.toml");
    std::fs::write(&at_root, "[llm]\nmodel = \"root-model\"\n").expect("write");
    assert_eq!(discover(None, &no_env, repo.path()), Some(at_root.clone()));
    assert_eq!(discover(None, &xdg_env, repo.path()), Some(at_root.clone()));

    let user = xdg.path().join("selfheal/config.toml");
    std::fs::create_dir_all(user.parent().expect("parent")).expect("mkdir");
    std::fs::write(&user, "").expect("write");
    assert_eq!(discover(None, &xdg_env, repo.path()), Some(user));

    let env = env_of(&[
        ("SELFHEAL_CONFIG", "/elsewhere.toml"),
        ("XDG_CONFIG_HOME", &xdg.path().display().to_string()),
    ]);
    assert_eq!(
        discover(None, &env, repo.path()),
        Some(PathBuf::from("/elsewhere.toml"))
    );
    assert_eq!(
        discover(Some(Path::new("/flag.toml")), &env, repo.path()),
        Some(PathBuf::from("/flag.toml"))
    );

    let s = load(None, &no_env, repo.path(), ConfigLayer::default()).expect("loads");
    assert_eq!(s.llm.model, "root-model");
}

#[test]
fn a_named_config_file_that_is_missing_is_an_error() {
    let repo = tempfile::tempdir().expect("tempdir");
    let missing = repo.path().join("nope.toml");
    let err =
        load(Some(&missing), &no_env, repo.path(), ConfigLayer::default()).expect_err("missing");
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string().starts_with("cannot read config file "),
        "{err}"
    );
}

#[test]
fn a_cost_limit_needs_the_models_prices() {
    let env = env_of(&[]);
    let err = resolve(
        Some(file("[repair]\ncost_limit_usd = 2.5\n")),
        &env,
        ConfigLayer::default(),
    )
    .expect_err("a limit without prices");
    assert!(
        err.to_string().contains("needs the model's prices"),
        "{err}"
    );
    let s = resolve(
        Some(file(
            "[repair]\ncost_limit_usd = 2.5\nusd_per_million_prompt = 0.15\nusd_per_million_completion = 0.6\nmodel_retries = 5\n",
        )),
        &env,
        ConfigLayer::default(),
    )
    .expect("resolves");
    assert_eq!(s.repair.cost_limit_usd, Some(2.5));
    assert_eq!(s.repair.usd_per_million_completion, Some(0.6));
    assert_eq!(s.repair.model_retries, 5);
    for bad in [
        "cost_limit_usd = 0.0",
        "usd_per_million_prompt = -1.0",
        "model_retries = 11",
    ] {
        assert!(
            resolve(
                Some(file(&format!("[repair]\n{bad}\n"))),
                &env,
                ConfigLayer::default()
            )
            .is_err(),
            "{bad}"
        );
    }
}
