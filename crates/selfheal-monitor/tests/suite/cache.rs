use std::path::Path;

use anyhow::Result;
use selfheal_monitor::{CiProvider, MonitorError, OfflineCache};

use super::{run_dir, run_zip, set_mtime, write};

fn ids(cache: &OfflineCache) -> Result<Vec<String>> {
    Ok(cache.runs()?.into_iter().map(|r| r.info.id).collect())
}

fn cache_in(root: &Path) -> OfflineCache {
    OfflineCache::new(root)
}

#[test]
fn the_cache_lives_under_dot_selfheal_logs() {
    let cache = OfflineCache::new(Path::new("/repo"));
    assert_eq!(cache.dir(), Path::new("/repo/.selfheal/logs"));
}

#[test]
fn a_missing_cache_says_how_to_give_logs() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    let err = cache.select(None).expect_err("no cache");
    assert!(matches!(err, MonitorError::NoCache { .. }), "{err:?}");
    assert!(err.to_string().contains("hint: pass --logs PATH"), "{err}");
    assert!(matches!(cache.runs(), Err(MonitorError::NoCache { .. })));
    Ok(())
}

#[test]
fn an_empty_cache_lists_nothing_and_selects_nothing() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    std::fs::create_dir_all(cache.dir())?;
    write(&cache.dir().join(".gitignore"), "*\n")?;
    write(&cache.dir().join("README.txt"), "not a run\n")?;
    assert_eq!(ids(&cache)?, Vec::<String>::new());
    assert!(matches!(
        cache.select(None),
        Err(MonitorError::EmptyCache { .. })
    ));
    assert!(matches!(
        cache.select(Some("1")),
        Err(MonitorError::EmptyCache { .. })
    ));
    Ok(())
}

#[test]
fn numeric_ids_beat_modification_times() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    for (name, mtime) in [("9", 3_000), ("100", 1_000), ("12", 2_000)] {
        run_dir(cache.dir(), name, None)?;
        set_mtime(&cache.dir().join(name), mtime)?;
    }
    assert_eq!(ids(&cache)?, ["100", "12", "9"]);
    assert_eq!(cache.select(None)?.info.id, "100");
    Ok(())
}

#[test]
fn created_at_beats_ids_and_runs_with_it_come_first() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    run_dir(
        cache.dir(),
        "500",
        Some(r#"{"id": "500", "created_at": "2026-01-01T00:00:00Z"}"#),
    )?;
    // Later, though expressed in another offset and with a smaller id.
    run_dir(
        cache.dir(),
        "400",
        Some(r#"{"id": "400", "created_at": "2026-01-01T01:30:00+01:00"}"#),
    )?;
    run_dir(cache.dir(), "900", None)?;
    run_dir(cache.dir(), "800", Some(r#"{"created_at": "not a time"}"#))?;
    assert_eq!(ids(&cache)?, ["400", "500", "900", "800"]);
    Ok(())
}

#[test]
fn other_names_fall_back_to_modification_time() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    for (name, mtime) in [("alpha", 2_000), ("beta", 1_000), ("gamma", 3_000)] {
        run_dir(cache.dir(), name, None)?;
        set_mtime(&cache.dir().join(name), mtime)?;
    }
    assert_eq!(ids(&cache)?, ["gamma", "alpha", "beta"]);
    Ok(())
}

#[test]
fn zips_are_runs_and_a_folder_of_the_same_id_wins() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    run_zip(
        &cache.dir().join("300.zip"),
        &[(
            "run.json",
            r#"{"id": 300, "head_sha": "abc123", "workflow": "CI"}"#,
        )],
    )?;
    run_zip(&cache.dir().join("200.ZIP"), &[])?;
    run_zip(&cache.dir().join("250.zip"), &[])?;
    run_dir(cache.dir(), "250", None)?;
    let runs = cache.runs()?;
    let listed: Vec<(&str, &Path)> = runs
        .iter()
        .map(|r| (r.info.id.as_str(), r.logs.as_path()))
        .collect();
    assert_eq!(
        listed,
        [
            ("300", cache.dir().join("300.zip").as_path()),
            ("250", cache.dir().join("250").as_path()),
            ("200", cache.dir().join("200.ZIP").as_path()),
        ]
    );
    assert_eq!(runs[0].info.head_sha.as_deref(), Some("abc123"));
    assert_eq!(runs[0].info.workflow.as_deref(), Some("CI"));
    Ok(())
}

#[test]
fn select_finds_a_run_by_id_or_folder_name_and_lists_the_known_ones() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    run_dir(cache.dir(), "7", None)?;
    run_dir(
        cache.dir(),
        "saved-run",
        Some(r#"{"id": "31337", "head_branch": "main"}"#),
    )?;

    let by_id = cache.select(Some("31337"))?;
    assert_eq!(by_id.logs, cache.dir().join("saved-run"));
    assert_eq!(by_id.info.head_branch.as_deref(), Some("main"));
    assert_eq!(cache.select(Some("saved-run"))?.info.id, "31337");
    assert_eq!(cache.select(Some("7"))?.logs, cache.dir().join("7"));

    let err = cache.select(Some("8")).expect_err("not cached");
    match &err {
        MonitorError::UnknownRun { id, known, .. } => {
            assert_eq!(id, "8");
            assert_eq!(known, &["31337", "7"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("cached runs: 31337, 7"), "{err}");
    Ok(())
}

#[test]
fn a_broken_run_json_is_reported_with_its_path() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    run_dir(cache.dir(), "1", Some("{ this is not json"))?;
    let err = cache.runs().expect_err("broken run.json");
    assert!(
        matches!(&err, MonitorError::BadRunJson { path, .. } if path.ends_with("1/run.json")),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("hint: fix or delete the file"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn the_cache_is_a_ci_provider() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    run_dir(cache.dir(), "10", None)?;
    run_dir(cache.dir(), "11", None)?;
    let expected_logs = cache.dir().join("10");
    let provider: Box<dyn CiProvider> = Box::new(cache);
    let runs = provider
        .failed_runs(&selfheal_monitor::RunFilter::default())
        .await?;
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["11", "10"]);
    assert_eq!(provider.fetch_logs(&runs[1]).await?, expected_logs);
    let gone = selfheal_types::RunInfo {
        id: "12".into(),
        ..Default::default()
    };
    assert!(matches!(
        provider.fetch_logs(&gone).await,
        Err(MonitorError::UnknownRun { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn the_caches_failed_runs_follow_the_filter_and_its_limit() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = cache_in(tmp.path());
    for (id, json) in [
        (
            "1",
            r#"{"workflow": "CI", "path": ".github/workflows/ci.yml", "head_branch": "main", "conclusion": "failure"}"#,
        ),
        (
            "2",
            r#"{"workflow": "Docs", "workflow_path": ".github/workflows/docs.yml", "head_branch": "main", "conclusion": "timed_out"}"#,
        ),
        (
            "3",
            r#"{"workflow": "CI", "workflow_path": ".github/workflows/ci.yml", "head_branch": "dev", "conclusion": "startup_failure"}"#,
        ),
        (
            "4",
            r#"{"workflow": "CI", "workflow_path": ".github/workflows/ci.yml", "head_branch": "main", "conclusion": "success"}"#,
        ),
        ("5", r#"{"workflow": "CI", "head_branch": "main"}"#),
    ] {
        run_dir(cache.dir(), id, Some(json))?;
    }
    let listed = |filter: selfheal_monitor::RunFilter| {
        let cache = cache.clone();
        async move {
            let runs = cache.failed_runs(&filter).await?;
            anyhow::Ok(runs.into_iter().map(|r| r.id).collect::<Vec<_>>())
        }
    };
    let all = selfheal_monitor::RunFilter::default();
    // Run 4 succeeded; 5 says nothing, and a cached run is a failed one by convention.
    assert_eq!(listed(all.clone()).await?, ["5", "3", "2", "1"]);
    let ci_on_main = selfheal_monitor::RunFilter {
        workflows: vec!["ci".into(), "ci.yml".into()],
        branch: Some("main".into()),
        ..all.clone()
    };
    assert_eq!(listed(ci_on_main.clone()).await?, ["5", "1"]);
    let limited = selfheal_monitor::RunFilter {
        limit: Some(1),
        ..ci_on_main
    };
    assert_eq!(listed(limited).await?, ["5"]);
    let no_docs = selfheal_monitor::RunFilter {
        exclude_workflows: vec![".github/workflows/docs.yml".into()],
        limit: Some(2),
        ..all
    };
    assert_eq!(listed(no_docs).await?, ["5", "3"]);
    Ok(())
}
