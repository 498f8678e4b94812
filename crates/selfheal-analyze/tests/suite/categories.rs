//! The category of the top failure on small logs this project wrote, one
//! per rule in `eval/CATEGORIES.md` that the analyser implements: each rule
//! holds for every log of its tool, not only the corpus logs it was measured on.

use selfheal_analyze::{AnalyzeOptions, analyze_path};
use selfheal_types::Category;

use super::fixture;

fn top(name: &str) -> (Category, String) {
    let a = analyze_path(
        &fixture(&format!("categories/{name}")),
        &AnalyzeOptions::default(),
    )
    .expect("fixture reads");
    let f = a.primary().expect("a failure");
    (f.category, f.tool.clone())
}

macro_rules! categories {
    ($($test:ident: $file:literal => ($category:expr, $tool:literal)),* $(,)?) => {
        $(#[test] fn $test() {
            assert_eq!(top($file), ($category, $tool.to_owned()));
        })*
    };
}

categories! {
    black_check_is_lint: "black_check.log" => (Category::Lint, "formatter"),
    failed_pre_commit_hook_is_lint: "precommit_hooks.log" => (Category::Lint, "pre-commit"),
    checkstyle_violations_are_lint: "checkstyle_maven.log" => (Category::Lint, "linter"),
    npm_lint_script_is_lint: "npm_stylelint.log" => (Category::Lint, "npm"),
    staticcheck_findings_are_lint: "staticcheck.log" => (Category::Lint, "staticcheck"),
    git_clone_http_503_is_infra: "git_clone_503.log" => (Category::Infra, "git"),
    go_module_download_is_infra: "go_module_download.log" => (Category::Infra, "go"),
    docker_layer_fetch_is_infra: "docker_layer_fetch.log" => (Category::Infra, "docker"),
    travis_missing_script_is_build_config: "travis_missing_script.log" => (Category::BuildConfig, "shell"),
}
