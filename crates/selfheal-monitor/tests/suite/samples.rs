//! The cached runs shipped with `sample_projects/` read as their README says.

use std::path::PathBuf;

use anyhow::Result;
use selfheal_monitor::run_from_logs_path;

#[test]
fn every_sample_run_folder_reads_with_its_metadata() -> Result<()> {
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sample_projects");
    let mut seen = 0;
    for sample in std::fs::read_dir(&samples)? {
        let logs = sample?.path().join("logs");
        if !logs.is_dir() {
            continue;
        }
        for run in std::fs::read_dir(&logs)? {
            let run = run?.path();
            let folder = run.file_name().map(|n| n.to_string_lossy().into_owned());
            let cached = run_from_logs_path(&run)?;
            assert_eq!(Some(cached.info.id.clone()), folder, "{}", run.display());
            assert_eq!(
                cached.info.workflow.as_deref(),
                Some("CI"),
                "{}",
                run.display()
            );
            assert!(cached.info.created_at.is_some(), "{}", run.display());
            assert_eq!(cached.logs, run);
            seen += 1;
        }
    }
    assert!(
        seen >= 10,
        "only {seen} sample runs found under {}",
        samples.display()
    );
    Ok(())
}
