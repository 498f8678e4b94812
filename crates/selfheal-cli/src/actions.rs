//! Running inside GitHub Actions: the triggering event, and the job summary.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use selfheal_types::{Outcome, Publication, RepairRecord};

/// The run a `workflow_run` event is about, read from the event payload at
/// `GITHUB_EVENT_PATH`. Any other event, or a payload that cannot be read,
/// names no run.
pub fn triggering_run_id(event_path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(event_path).ok()?;
    let event: serde_json::Value = serde_json::from_str(&text).ok()?;
    match event.get("workflow_run")?.get("id")? {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// One line of the job summary per handled run.
#[derive(Debug, Clone)]
pub enum SummaryRow {
    Repaired(Box<RepairRecord>),
    Skipped { run_id: String, reason: String },
}

/// Markdown for `$GITHUB_STEP_SUMMARY`: failure, diagnosis, outcome and
/// pull request of every run this invocation handled.
pub fn summary_markdown(rows: &[SummaryRow]) -> String {
    let mut md = String::from("## selfheal\n\n");
    if rows.is_empty() {
        md.push_str("No failed run to repair.\n");
        return md;
    }
    md.push_str("| run | failure | diagnosis | outcome | pull request |\n|---|---|---|---|---|\n");
    for row in rows {
        match row {
            SummaryRow::Skipped { run_id, reason } => {
                let _ = writeln!(md, "| {run_id} | | | skipped: {} | |", cell(reason));
            }
            SummaryRow::Repaired(record) => {
                let run = match &record.run.html_url {
                    Some(url) => format!("[{}]({url})", record.run.id),
                    None => record.run.id.clone(),
                };
                let failure = record
                    .failure
                    .as_ref()
                    .map(|f| format!("{} ({})", f.message, f.category))
                    .unwrap_or_default();
                let diagnosis = record
                    .attempts
                    .iter()
                    .rev()
                    .find_map(|a| a.diagnosis.as_ref())
                    .map(|d| d.summary.clone())
                    .unwrap_or_default();
                let outcome = match &record.outcome {
                    Outcome::Fixed { .. } => {
                        format!("fixed in {} attempt(s)", record.attempts.len())
                    }
                    Outcome::NotFixed { reason } => format!("not fixed: {reason}"),
                    Outcome::NothingToFix => "nothing to fix".to_owned(),
                    Outcome::EnvironmentError { reason } => format!("not run: {reason}"),
                };
                let pr = match &record.publication {
                    Some(Publication::Opened { url, number, .. }) => {
                        format!("[#{number}]({url}) opened")
                    }
                    Some(Publication::Updated { url, number, .. }) => {
                        format!("[#{number}]({url}) updated")
                    }
                    Some(Publication::Commented { url, number }) => {
                        format!("[comment on #{number}]({url})")
                    }
                    Some(Publication::DryRun { path }) => format!("dry run: {path}"),
                    Some(Publication::Failed { error }) => format!("not published: {error}"),
                    None => String::new(),
                };
                let _ = writeln!(
                    md,
                    "| {run} | {} | {} | {} | {} |",
                    cell(&failure),
                    cell(&diagnosis),
                    cell(&outcome),
                    cell(&pr)
                );
            }
        }
    }
    md
}

/// Appends the summary to the file Actions names.
pub fn append_summary(path: &Path, rows: &[SummaryRow]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(summary_markdown(rows).as_bytes())
}

/// Table cells hold one line, without the column separator.
fn cell(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = line.replace('|', "\\|");
    if line.chars().count() > 200 {
        let mut cut: String = line.chars().take(199).collect();
        cut.push('…');
        cut
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_run_events_name_their_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("event.json");
        std::fs::write(
            &path,
            r#"{"action":"completed","workflow_run":{"id":30433642,"conclusion":"failure"}}"#,
        )
        .expect("write");
        assert_eq!(triggering_run_id(&path).as_deref(), Some("30433642"));
        std::fs::write(&path, r#"{"push":{}}"#).expect("write");
        assert_eq!(triggering_run_id(&path), None);
        assert_eq!(triggering_run_id(&dir.path().join("missing.json")), None);
    }

    #[test]
    fn summary_cells_stay_on_one_line() {
        let rows = vec![SummaryRow::Skipped {
            run_id: "7".into(),
            reason: "a | b\nc".into(),
        }];
        assert_eq!(
            summary_markdown(&rows),
            "## selfheal\n\n| run | failure | diagnosis | outcome | pull request |\n|---|---|---|---|---|\n| 7 | | | skipped: a \\| b c | |\n"
        );
    }
}
