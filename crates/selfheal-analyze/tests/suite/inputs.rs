//! Input handling: zips, folders, and input that is not text at all.

use std::fmt::Write as _;
use std::io::Write;

use selfheal_analyze::{AnalyzeError, AnalyzeOptions, analyze_path, analyze_reader};
use selfheal_types::Category;

use super::fixture;

const STEP: &str = "2026-11-25T10:00:00.0000000Z ##[group]Run pytest -q\n\
2026-11-25T10:00:01.0000000Z pytest -q\n\
2026-11-25T10:00:02.0000000Z ##[endgroup]\n\
2026-11-25T10:00:03.0000000Z =========================== short test summary info ============================\n\
2026-11-25T10:00:04.0000000Z FAILED tests/test_a.py::test_b - assert 1 == 2\n\
2026-11-25T10:00:05.0000000Z 1 failed in 0.01s\n\
2026-11-25T10:00:06.0000000Z ##[error]Process completed with exit code 1.\n";

fn run_log_tree(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("tests")).expect("mkdir");
    std::fs::write(dir.join("1_tests.txt"), STEP).expect("write job file");
    std::fs::write(
        dir.join("tests/1_Set up job.txt"),
        "2026-11-25T10:00:00.0000000Z Starting\n",
    )
    .expect("write step");
    std::fs::write(dir.join("tests/3_Run pytest -q.txt"), STEP).expect("write step");
}

#[test]
fn run_log_folder_reports_each_failure_once_with_job_and_step() {
    let tmp = tempfile::tempdir().expect("tempdir");
    run_log_tree(tmp.path());
    let a = analyze_path(tmp.path(), &AnalyzeOptions::default()).expect("reads");
    assert_eq!(a.failures.len(), 1, "{a:#?}");
    let f = &a.failures[0];
    assert_eq!(f.test.as_deref(), Some("tests/test_a.py::test_b"));
    assert_eq!(f.job.as_deref(), Some("tests"));
    assert_eq!(f.step.as_deref(), Some("Run pytest -q"));
    assert_eq!(f.log_file.as_deref(), Some("tests/3_Run pytest -q.txt"));
    assert_eq!((f.log_span.start, f.log_span.end), (5, 5));
}

#[test]
fn run_log_zip_matches_the_unpacked_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let zip_path = tmp.path().join("logs.zip");
    let file = std::fs::File::create(&zip_path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in [("1_tests.txt", STEP), ("tests/3_Run pytest -q.txt", STEP)] {
        zip.start_file(name, opts).expect("start entry");
        zip.write_all(body.as_bytes()).expect("write entry");
    }
    zip.finish().expect("finish zip");
    let a = analyze_path(&zip_path, &AnalyzeOptions::default()).expect("reads");
    assert_eq!(a.failures.len(), 1, "{a:#?}");
    assert_eq!(a.failures[0].step.as_deref(), Some("Run pytest -q"));
    assert_eq!(
        a.failures[0].log_file.as_deref(),
        Some("tests/3_Run pytest -q.txt")
    );
}

#[test]
fn unreadable_inputs_are_errors_not_panics() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = analyze_path(&tmp.path().join("nope.log"), &AnalyzeOptions::default());
    assert!(matches!(missing, Err(AnalyzeError::Read { .. })));
    let bad_zip = tmp.path().join("bad.zip");
    std::fs::write(&bad_zip, b"PK\x03\x04 truncated").expect("write");
    let err = analyze_path(&bad_zip, &AnalyzeOptions::default()).expect_err("bad zip");
    assert!(matches!(err, AnalyzeError::Zip { .. }));
    assert!(err.to_string().contains("hint:"));
}

#[test]
fn binary_and_broken_text_do_not_panic() {
    let mut junk: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    junk.extend_from_slice(b"\nTraceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nValueError: \xc3\x28 bad\r\n");
    let a = analyze_reader(&junk[..], "junk", &AnalyzeOptions::default()).expect("reads");
    assert!(
        a.failures
            .iter()
            .any(|f| f.message == "ValueError: \u{fffd}( bad"),
        "{a:#?}"
    );
    let empty = analyze_reader(&b""[..], "empty", &AnalyzeOptions::default()).expect("reads");
    assert!(empty.failures.is_empty());
    assert_eq!(empty.excerpt, "");
}

#[test]
fn fingerprints_survive_a_rerun_with_new_times_and_addresses() {
    let run = |ts: &str, addr: &str, dur: &str| {
        let log = format!(
            "{ts} Traceback (most recent call last):\n{ts}   File \"src/x.py\", line 3, in f\n{ts} RuntimeError: worker at {addr} died after {dur}\n"
        );
        analyze_reader(log.as_bytes(), "x", &AnalyzeOptions::default()).expect("reads")
    };
    let a = run("2026-11-25T10:00:00.1Z", "0x7f00aa", "1.5s");
    let b = run("2026-11-26T11:30:09.9Z", "0x7f11bb", "2.25s");
    assert_eq!(a.failures.len(), 1);
    assert_eq!(a.failures[0].fingerprint, b.failures[0].fingerprint);
}

#[test]
fn passing_step_noise_ranks_below_the_failing_step() {
    let a = analyze_path(&fixture("gha_job.log"), &AnalyzeOptions::default()).expect("reads");
    let top = a.primary().expect("a failure");
    assert_eq!(top.category, Category::TestFailure);
    assert_eq!(top.step.as_deref(), Some("Run pytest -q"));
}

/// A step no parser explains is explained by its last lines. On a log of
/// several batches those lines are remembered in runs, not one by one; the
/// runs must give the same lines wherever a batch happens to end.
#[test]
fn an_unexplained_step_shows_its_last_lines_wherever_batches_end() {
    // A batch ends after 512 KiB of cleaned text: with these lines the
    // first ends near line 10,500, so the sweep puts that end at each of
    // the step's last lines in turn.
    for quiet_lines in (10_470usize..10_530).chain([40_003, 61_117]) {
        let mut log = String::from("2026-11-25T10:00:00.0000000Z ##[group]Run ./deploy.sh\n");
        log.push_str("2026-11-25T10:00:00.0000000Z ##[endgroup]\n");
        let mut last_non_blank = Vec::new();
        let mut no = 2;
        for i in 0..quiet_lines {
            no += 1;
            // Every third line near the end is blank: the tail skips those.
            if i + 20 > quiet_lines && i % 3 == 0 {
                log.push_str("2026-11-25T10:00:01.0000000Z \n");
                continue;
            }
            let _ = writeln!(
                log,
                "2026-11-25T10:00:01.0000000Z deploy: uploading shard {i} of the release bundle"
            );
            last_non_blank.push(no);
        }
        log.push_str("2026-11-25T10:00:02.0000000Z ##[error]Process completed with exit code 3.\n");
        let analysis = analyze_reader(log.as_bytes(), "deploy.log", &AnalyzeOptions::default())
            .expect("analyses");
        let top = analysis.primary().expect("the failed step");
        let last = quiet_lines - 1;
        let last = if last + 20 > quiet_lines && last % 3 == 0 {
            last - 1
        } else {
            last
        };
        assert_eq!(
            top.message,
            format!("deploy: uploading shard {last} of the release bundle"),
            "{quiet_lines} lines"
        );
        let sixth_last = last_non_blank[last_non_blank.len() - 6];
        assert_eq!(top.log_span.start, sixth_last, "{quiet_lines} lines");
        assert_eq!(top.log_span.end, no + 1, "{quiet_lines} lines");
    }
}

/// `travis_retry` gives up with `The command "…" failed 3 times.` and no
/// `exited with` line when it runs in `after_script`: the command failed
/// all the same, so its output is a failure, beside the script's own.
#[test]
fn a_command_that_travis_retry_gave_up_on_is_a_failed_step() {
    let log = "\
$ bundle exec rake lint
lint: 2 offences in app/models/cart.rb
The command \"bundle exec rake lint\" exited with 1.
travis_fold:start:after_script
$ travis_retry ./deploy.sh
deploy: uploading site to the bucket
[fail] Failed to upload index.html (Access key cannot be null.)
The command \"./deploy.sh\" failed. Retrying, 2 of 3.
deploy: uploading site to the bucket
[fail] Failed to upload index.html (Access key cannot be null.)
The command \"./deploy.sh\" failed 3 times.
travis_fold:end:after_script
Done. Your build exited with 1.
";
    let analysis =
        analyze_reader(log.as_bytes(), "travis.log", &AnalyzeOptions::default()).expect("reads");
    let spans: Vec<(u64, u64)> = analysis
        .failures
        .iter()
        .map(|f| (f.log_span.start, f.log_span.end))
        .collect();
    assert!(
        spans.contains(&(2, 3)),
        "the lint failure is reported: {spans:?}"
    );
    assert!(
        analysis
            .failures
            .iter()
            .any(|f| f.log_span.start <= 10 && f.log_span.end >= 10),
        "the upload failure is reported: {spans:?}"
    );
}
