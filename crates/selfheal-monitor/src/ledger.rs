//! The ledger: what selfheal did about each run, so the same failure is
//! never repaired twice and a run is never handled twice.
//!
//! One JSON object per line in `<repo>/.selfheal/ledger.jsonl`. Appending a
//! line is the only write, made with one `write` on a file opened in append
//! mode, so concurrent runs interleave whole lines and a crash can at worst
//! leave the last line torn. Reading skips such lines (and any other it
//! cannot parse) with a warning: a damaged ledger costs the memory of one
//! entry, never the ability to run.

use std::fs;
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{MonitorError, ensure_self_ignored};

/// How handling a run ended.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LedgerOutcome {
    /// A validated fix was committed (and proposed, where `pull_request` says).
    Fixed,
    /// Repair was tried and failed; a later run of the same failure may try again.
    NotFixed,
    /// The logs showed nothing a change could repair.
    NothingToFix,
    /// Not attempted (selfheal's own work, a run that did not start, ...).
    Skipped,
}

/// One line of the ledger.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub run_id: String,
    /// The primary failure's fingerprint, where the logs showed one.
    #[serde(default)]
    pub fingerprint: Option<String>,
    pub outcome: LedgerOutcome,
    /// The fix branch, where one was committed.
    #[serde(default)]
    pub branch: Option<String>,
    /// The pull request's URL, where one was opened or updated.
    #[serde(default)]
    pub pull_request: Option<String>,
    /// When it was recorded, RFC 3339 in UTC ([`now_rfc3339`]).
    pub at: String,
}

/// The ledger of one repository. Later lines supersede earlier ones: the
/// latest entry is the last in the file, whatever the clocks said.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
}

/// Longest line read; an entry is a few hundred bytes, so anything longer is damage.
const MAX_LINE: u64 = 64 * 1024;

impl Ledger {
    pub fn new(repo_root: &Path) -> Self {
        Self {
            path: repo_root.join(".selfheal").join("ledger.jsonl"),
        }
    }

    /// Where the ledger lives, whether or not it exists yet.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every readable entry, oldest first; none when there is no ledger yet.
    pub fn entries(&self) -> Result<Vec<LedgerEntry>, MonitorError> {
        let file = match fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(MonitorError::Io {
                    action: "open",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let mut reader = io::BufReader::new(file);
        let mut entries = Vec::new();
        let mut line = Vec::new();
        for number in 1.. {
            line.clear();
            // Bounded, so a file of garbage without newlines cannot fill memory.
            let read = (&mut reader)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
                .map_err(MonitorError::io("read", self.path.clone()))?;
            if read == 0 {
                break;
            }
            if line.last() != Some(&b'\n') && read as u64 == MAX_LINE {
                skip_rest_of_line(&mut reader)
                    .map_err(MonitorError::io("read", self.path.clone()))?;
                tracing::warn!(path = %self.path.display(), line = number, "skipping an overlong ledger line");
                continue;
            }
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_slice::<LedgerEntry>(text) {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    tracing::warn!(path = %self.path.display(), line = number, %error, "skipping an unreadable ledger line");
                }
            }
        }
        Ok(entries)
    }

    /// The latest entry for the run `run_id`.
    pub fn for_run(&self, run_id: &str) -> Result<Option<LedgerEntry>, MonitorError> {
        Ok(self.entries()?.into_iter().rfind(|e| e.run_id == run_id))
    }

    /// The latest fix of the failure `fingerprint`. Only fixes count: a
    /// failure that could not be fixed may be tried again on a later run.
    pub fn for_fingerprint(&self, fingerprint: &str) -> Result<Option<LedgerEntry>, MonitorError> {
        Ok(self.entries()?.into_iter().rfind(|e| {
            e.outcome == LedgerOutcome::Fixed && e.fingerprint.as_deref() == Some(fingerprint)
        }))
    }

    /// Appends `entry`, creating `.selfheal/` (ignoring itself in git) and
    /// the ledger as needed.
    pub fn record(&self, entry: &LedgerEntry) -> Result<(), MonitorError> {
        let dir = self.path.parent().unwrap_or(&self.path);
        ensure_self_ignored(dir).map_err(MonitorError::io("create", dir.to_path_buf()))?;
        let mut file = fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(MonitorError::io("open", self.path.clone()))?;
        // A line torn by a crash gets its newline first, so this entry starts
        // a line of its own instead of being lost with the torn one.
        let torn =
            ends_without_newline(&mut file).map_err(MonitorError::io("read", self.path.clone()))?;
        let mut line = Vec::with_capacity(256);
        if torn {
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, entry)
            .map_err(|e| MonitorError::io("encode an entry for", self.path.clone())(e.into()))?;
        line.push(b'\n');
        file.write_all(&line)
            .map_err(MonitorError::io("append to", self.path.clone()))
    }
}

fn ends_without_newline(file: &mut fs::File) -> io::Result<bool> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

fn skip_rest_of_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(at) = buf.iter().position(|&b| b == b'\n') {
            reader.consume(at + 1);
            return Ok(());
        }
        let len = buf.len();
        reader.consume(len);
    }
}

/// Now, as RFC 3339 in UTC to the second (`2026-11-25T22:13:42Z`).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    // Formatting fails only for years past 9999.
    now.format(&format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_rfc3339_in_utc() {
        let now = now_rfc3339();
        let millis = crate::run_json::rfc3339_millis(&now).expect("rfc 3339");
        let system = std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as i64;
        assert!((system - millis).abs() < 5_000, "{now} vs {system}");
        assert!(now.ends_with('Z') && now.len() == 20, "{now}");
    }
}
