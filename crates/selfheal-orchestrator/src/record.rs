//! The JSON record of a repair, kept in `.selfheal/results/`.

use std::path::{Path, PathBuf};

use selfheal_types::RepairRecord;

use crate::OrchestratorError;

/// Writes `record` as `<dir>/<run-id>-<UTC time>.json` and returns the path.
/// `dir`'s parent (`.selfheal/`) gets a `.gitignore` so the record never shows
/// up as a change in the user's repository.
pub fn write_record(dir: &Path, record: &RepairRecord) -> Result<PathBuf, OrchestratorError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OrchestratorError::Record { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    if let Some(parent) = dir.parent() {
        selfheal_monitor::ensure_self_ignored(parent).map_err(io_err(parent))?;
    }
    let stamp = record
        .started_at
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>();
    let run_id: String = record
        .run
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{run_id}-{stamp}.json"));
    let json = serde_json::to_vec_pretty(record).map_err(|e| OrchestratorError::Record {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&path, json).map_err(io_err(&path))?;
    Ok(path)
}

/// The current UTC time, RFC 3339, to the second.
pub(crate) fn now_rfc3339() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}
