//! Parsed output of small fixtures, one per tool and output mode, pinned
//! with insta. The fixtures are written by this project.

use selfheal_analyze::{AnalyzeOptions, analyze_reader, render_summary};

use super::fixture;

fn snapshot(name: &str) {
    let file = std::fs::File::open(fixture(name)).expect("fixture exists");
    let analysis = analyze_reader(file, name, &AnalyzeOptions::default()).expect("fixture reads");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_suffix(name.replace('.', "_"));
    settings.bind(|| {
        insta::assert_json_snapshot!("analysis", analysis);
        insta::assert_snapshot!("summary", render_summary(&analysis));
    });
}

macro_rules! fixtures {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(#[test] fn $test() { snapshot($file); })*
    };
}

fixtures! {
    pytest_default => "pytest_default.log",
    pytest_short_xdist => "pytest_short_xdist.log",
    pytest_tb_line_q => "pytest_tb_line_q.log",
    pytest_collect_error => "pytest_collect_error.log",
    pytest_verbose_native_setup => "pytest_verbose_native_setup.log",
    python_chained => "python_chained.log",
    python_syntax_module => "python_syntax_module.log",
    gha_job => "gha_job.log",
    go_test => "go_test.log",
    cargo_test => "cargo_test.log",
    lint_python => "lint_python.log",
    maven_gradle => "maven_gradle.log",
    phpunit_rspec => "phpunit_rspec.log",
    jest_eslint_make => "jest_eslint_make.log",
    travis_minitest => "travis_minitest.log",
}
