mod cache;
mod ledger;
mod logs_path;
mod samples;
mod store;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::Result;

pub fn write(path: &Path, content: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)?;
    Ok(())
}

/// A run folder as GitHub's run-logs zip unpacks, optionally with `run.json`.
pub fn run_dir(cache: &Path, name: &str, run_json: Option<&str>) -> Result<()> {
    let dir = cache.join(name);
    write(
        &dir.join("0_tests.txt"),
        "2026-01-01T00:00:00Z ##[error]boom\n",
    )?;
    write(
        &dir.join("tests/3_Run pytest.txt"),
        "FAILED tests/test_x.py::test_y\n",
    )?;
    if let Some(json) = run_json {
        write(&dir.join("run.json"), json)?;
    }
    Ok(())
}

/// A run-logs zip with the given extra entries.
pub fn run_zip(path: &Path, extra: &[(&str, &str)]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("0_tests.txt", options)?;
    zip.write_all(b"##[error]Process completed with exit code 1.\n")?;
    for (name, content) in extra {
        zip.start_file(*name, options)?;
        zip.write_all(content.as_bytes())?;
    }
    zip.finish()?;
    Ok(())
}

/// Sets a file's or folder's modification time to `secs` after the epoch.
pub fn set_mtime(path: &Path, secs: u64) -> Result<()> {
    let file = std::fs::File::open(path)?;
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))?;
    Ok(())
}
