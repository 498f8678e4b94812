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
    // Real output of the tools, made here (eslint 8, stylelint 16, prettier 3,
    // rustfmt, ruff, pip, npm 11), inside a GitHub Actions step.
    eslint_through_npm_script_is_lint: "eslint_npm_script.log" => (Category::Lint, "eslint"),
    stylelint_through_npm_script_is_lint: "stylelint_npm_script.log" => (Category::Lint, "generic"),
    prettier_check_is_lint: "prettier_check.log" => (Category::Lint, "formatter"),
    rustfmt_check_is_lint: "rustfmt_check.log" => (Category::Lint, "rustfmt"),
    ruff_full_format_is_lint: "ruff_full_format.log" => (Category::Lint, "ruff"),
    pip_resolution_impossible_is_dependency: "pip_resolution_impossible.log" => (Category::Dependency, "pip"),
    npm_eresolve_is_dependency: "npm_eresolve.log" => (Category::Dependency, "npm"),
    // Written here in each tool's shape.
    travis_lint_command_is_lint: "travis_lint_script.log" => (Category::Lint, "generic"),
    // wget's warning is not why it failed; the checksum is.
    download_checksum_is_infra: "download_checksum.log" => (Category::Infra, "checksum"),
    // Test runners' per-failure headers, and compilers without a parser.
    busted_failure_is_test_failure: "busted_failure.log" => (Category::TestFailure, "busted"),
    ctest_failure_is_test_failure: "ctest_failure.log" => (Category::TestFailure, "ctest"),
    dotnet_test_failure_is_test_failure: "dotnet_test_failure.log" => (Category::TestFailure, "dotnet-test"),
    common_test_case_is_test_failure: "common_test_failure.log" => (Category::TestFailure, "common_test"),
    // Common Test's own notice (`Mod:Func failed on line N`, `Reason: …`)
    // names the helper module where the case failed, not only a suite.
    common_test_notice_is_test_failure: "common_test_notice.log" => (Category::TestFailure, "common_test"),
    eunit_failure_is_test_failure: "eunit_failure.log" => (Category::TestFailure, "eunit"),
    xref_undefined_calls_are_lint: "xref_undefined.log" => (Category::Lint, "xref"),
    // Dialyzer's findings have erlc's shape; what they say tells them apart.
    dialyzer_findings_are_lint: "dialyzer_findings.log" => (Category::Lint, "dialyzer"),
    latex_error_is_compile_error: "latex_error.log" => (Category::CompileError, "latex"),
    php_fatal_error_is_test_error: "php_fatal_error.log" => (Category::TestError, "php"),
    playwright_failure_is_test_failure: "playwright_failure.log" => (Category::TestFailure, "playwright"),
    shellcheck_findings_are_lint: "shellcheck_findings.log" => (Category::Lint, "shellcheck"),
    terraform_validate_error_is_compile_error: "terraform_validate.log" => (Category::CompileError, "terraform"),
    // clang-tidy's findings name their check, promoted to errors or not;
    // a warning that -Werror promoted is lint in a lint step.
    clang_tidy_findings_are_lint: "clang_tidy.log" => (Category::Lint, "clang-tidy"),
    werror_in_a_lint_step_is_lint: "werror_lint_step.log" => (Category::Lint, "cc"),
    bazel_compile_error_is_the_compilers: "bazel_compile.log" => (Category::CompileError, "cc"),
    python_unittest_failure_is_test_failure: "python_unittest.log" => (Category::TestFailure, "python"),
    actionlint_findings_are_lint: "actionlint_findings.log" => (Category::Lint, "actionlint"),
    hadolint_findings_are_lint: "hadolint_findings.log" => (Category::Lint, "hadolint"),
    link_checker_timeouts_are_lint: "awesome_bot_links.log" => (Category::Lint, "awesome_bot"),
    standard_through_npm_test_is_lint: "standard_npm_test.log" => (Category::Lint, "standard"),
    markdown_findings_are_lint: "markdown_lint.log" => (Category::Lint, "doc-lint"),
    animal_sniffer_is_lint: "animal_sniffer.log" => (Category::Lint, "animal-sniffer"),
    htmlproofer_is_lint: "htmlproofer.log" => (Category::Lint, "htmlproofer"),
    gradle_checkstyle_findings_are_lint: "gradle_checkstyle_findings.log" => (Category::Lint, "gradle"),
    gradle_checkstyle_without_config_is_build_config: "gradle_checkstyle_config.log" => (Category::BuildConfig, "gradle"),
    rake_without_rakefile_is_build_config: "travis_no_rakefile.log" => (Category::BuildConfig, "shell"),
    git_unsafe_repository_is_build_config: "git_unsafe_repository.log" => (Category::BuildConfig, "git"),
    silent_step_defers_to_earlier_git_error: "gha_silent_step_after_git_error.log" => (Category::BuildConfig, "git"),
    failing_build_script_is_build_config: "cargo_build_script_panic.log" => (Category::BuildConfig, "cargo"),
    maven_transfer_over_broken_tls_is_infra: "lein_transfer_tls.log" => (Category::Infra, "tls"),
    full_disk_is_infra: "maven_disk_full.log" => (Category::Infra, "system"),
    newer_class_file_is_dependency: "javac_class_version.log" => (Category::Dependency, "jvm"),
    go_mod_tidy_check_is_dependency: "go_mod_tidy_check.log" => (Category::Dependency, "go"),
    pytest_plugin_requirement_is_dependency: "pytest_plugin_requirement.log" => (Category::Dependency, "python"),
    elixir_compile_error_is_compile_error: "elixir_compile_error.log" => (Category::CompileError, "elixir"),
    erlc_errors_are_compile_errors: "erlc_errors.log" => (Category::CompileError, "erlc"),
    ghc_errors_are_compile_errors: "ghc_error.log" => (Category::CompileError, "ghc"),
    node_syntax_error_is_compile_error: "node_syntax_error.log" => (Category::CompileError, "node"),
    yaml_syntax_error_is_compile_error: "yaml_syntax.log" => (Category::CompileError, "yaml"),
    xctest_assertion_is_test_failure: "xcodebuild_test_failed.log" => (Category::TestFailure, "xctest"),
    gtest_failure_is_test_failure: "gtest_failed.log" => (Category::TestFailure, "gtest"),
    cmake_test_runner_failure_is_test_failure: "cmake_tests_failed.log" => (Category::TestFailure, "cmake"),
    junit5_on_surefire_2_is_test_failure: "surefire_junit5.log" => (Category::TestFailure, "maven"),
    gh_cli_log_gradle_test_is_test_failure: "gh_cli_gradle_test.log" => (Category::TestFailure, "gradle"),
    phpt_failure_is_test_failure: "phpt_failure.log" => (Category::TestFailure, "phpt"),
    composer_conflict_is_dependency: "composer_problem.log" => (Category::Dependency, "composer"),
    mima_problems_are_lint: "mima_problems.log" => (Category::Lint, "mima"),
    swiftlint_strict_is_lint: "swiftlint_strict.log" => (Category::Lint, "swiftlint"),
    xcpretty_failure_is_test_failure: "xcpretty_failures.log" => (Category::TestFailure, "xcpretty"),
    pip_conflict_inside_docker_build_is_dependency: "docker_build_pip_conflict.log" => (Category::Dependency, "pip"),
    github_step_timeout_is_timeout: "gha_step_timeout.log" => (Category::Timeout, "ci"),
    gitlab_job_timeout_is_timeout: "gitlab_job_timeout.log" => (Category::Timeout, "ci"),
    port_in_use_is_infra: "port_in_use.log" => (Category::Infra, "network"),
    aborted_jenkins_build_is_infra: "jenkins_aborted.log" => (Category::Infra, "jenkins"),
    uncommitted_generated_files_are_lint: "generated_files_check.log" => (Category::Lint, "generated"),
}

/// The lines under a summary are a failure of their own: the problem the
/// summary only announces.
#[test]
fn details_under_a_summary_are_reported_too() {
    let spans = |name: &str| -> Vec<(String, u64)> {
        analyze_path(
            &fixture(&format!("categories/{name}")),
            &AnalyzeOptions::default(),
        )
        .expect("fixture reads")
        .failures
        .iter()
        .map(|f| (f.tool.clone(), f.log_span.start))
        .collect()
    };
    assert_eq!(
        spans("composer_problem.log"),
        [("composer".to_owned(), 6), ("composer".to_owned(), 9)]
    );
}

/// A runner's header for one failure takes the lines under it (the test's
/// name and message) up to a blank line or the next test, not the CI's
/// verdict after them.
#[test]
fn a_failure_header_takes_the_lines_that_explain_it() {
    let span = |name: &str| {
        let a = analyze_path(
            &fixture(&format!("categories/{name}")),
            &AnalyzeOptions::default(),
        )
        .expect("fixture reads");
        let f = a.primary().expect("a failure");
        (f.log_span.start, f.log_span.end)
    };
    // Up to the last line before `The command "busted" exited with 1.`
    assert_eq!(span("busted_failure.log"), (5, 11));
    // The failed test's output, not `Start 3: test_sub`.
    assert_eq!(span("ctest_failure.log"), (6, 7));
    // The error message and the stack trace, up to the blank line.
    assert_eq!(span("dotnet_test_failure.log"), (8, 15));
    // Playwright's block is indented under its header, blank lines and all,
    // up to the `1 failed` summary.
    assert_eq!(span("playwright_failure.log"), (7, 18));
    // Terraform's box, from `│ Error:` to the line before `╵`.
    assert_eq!(span("terraform_validate.log"), (6, 12));
}
