//! The flaky hint of the top failure on small logs this project wrote (the
//! pytest ones are real pytest-rerunfailures and `flaky` plugin output):
//! what each runner's retries and each timing assertion say, apart from
//! the category.

use selfheal_analyze::{AnalyzeOptions, analyze_path};
use selfheal_types::Category;

use super::fixture;

fn top(name: &str) -> (Category, Option<bool>) {
    let a = analyze_path(
        &fixture(&format!("flaky/{name}")),
        &AnalyzeOptions::default(),
    )
    .expect("fixture reads");
    let f = a.primary().expect("a failure");
    (f.category, f.flaky)
}

#[test]
fn a_test_retried_and_failed_every_time_is_not_flaky() {
    assert_eq!(
        top("pytest_rerun_failed_every_time.log"),
        (Category::TestFailure, Some(false))
    );
}

#[test]
fn a_test_that_passed_on_a_retry_is_flaky() {
    assert_eq!(
        top("surefire_fail_on_flake.log"),
        (Category::TestFailure, Some(true))
    );
}

#[test]
fn the_pytest_flaky_plugin_report_is_read() {
    assert_eq!(
        top("pytest_flaky_plugin_failed_every_time.log"),
        (Category::TestFailure, Some(false))
    );
    assert_eq!(
        top("pytest_flaky_plugin_passed_once.log"),
        (Category::TestFailure, Some(true))
    );
}

#[test]
fn go_count_reruns_tell_flaky_from_consistent() {
    assert_eq!(
        top("go_count_passed_on_rerun.log"),
        (Category::TestFailure, Some(true))
    );
    assert_eq!(
        top("go_count_failed_every_time.log"),
        (Category::TestFailure, Some(false))
    );
}

#[test]
fn timing_assertions_are_flaky() {
    assert_eq!(
        top("go_timed_out_waiting.log"),
        (Category::TestFailure, Some(true))
    );
    assert_eq!(top("mocha_timeout.log").1, Some(true));
}

#[test]
fn transient_infrastructure_is_flaky_and_lasting_trouble_is_not() {
    let flaky = |name: &str| {
        analyze_path(
            &fixture(&format!("categories/{name}")),
            &AnalyzeOptions::default(),
        )
        .expect("fixture reads")
        .primary()
        .expect("a failure")
        .flaky
    };
    assert_eq!(flaky("git_clone_503.log"), Some(true));
    assert_eq!(flaky("docker_layer_fetch.log"), Some(true));
    assert_eq!(flaky("go_module_download.log"), Some(true));
    assert_eq!(flaky("awesome_bot_links.log"), Some(true));
    assert_eq!(flaky("maven_disk_full.log"), None);
    assert_eq!(flaky("lein_transfer_tls.log"), None);
    // A plain assertion shows no sign either way.
    assert_eq!(flaky("surefire_junit5.log"), None);
}
