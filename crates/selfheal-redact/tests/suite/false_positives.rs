//! Precision on real CI logs: the share of lines the redactor alters, where
//! (as far as anyone knows) there is no secret to find.

use std::path::{Path, PathBuf};

use selfheal_redact::Redactor;

fn corpora_dir() -> PathBuf {
    std::env::var_os("SELFHEAL_CORPORA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    )
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn real_ci_logs_are_altered_on_fewer_than_one_line_in_ten_thousand() {
    let dir = corpora_dir();
    assert!(
        dir.is_dir(),
        "corpora not found at {}\nhint: set SELFHEAL_CORPORA to the shared corpora folder",
        dir.display()
    );
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    let redactor = Redactor::builtin();
    let (mut lines_read, mut lines_altered) = (0usize, 0usize);
    let mut flagged = Vec::new();
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        lines_read += text.lines().count();
        let findings = redactor.find(&text);
        let mut last_line_start = None;
        for f in &findings {
            let line_start = text[..f.start].rfind('\n').map_or(0, |i| i + 1);
            // Lines a multi-line finding spans count too.
            let spanned = text[f.start..f.end].matches('\n').count();
            if last_line_start != Some(line_start) {
                lines_altered += 1 + spanned;
                last_line_start = Some(line_start);
            }
            let line_end = text[f.end..].find('\n').map_or(text.len(), |i| f.end + i);
            flagged.push(format!(
                "{} [{}]: {}",
                path.strip_prefix(&dir).unwrap_or(path).display(),
                f.kind,
                &text[line_start..line_end.min(line_start + 300)]
            ));
        }
    }
    assert!(
        lines_read > 100_000,
        "only {lines_read} lines read from {}",
        dir.display()
    );
    let per_10k = lines_altered as f64 * 10_000.0 / lines_read as f64;
    // The figures are the point of this test; `--nocapture` shows them.
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "false positives: {lines_altered} lines altered of {lines_read} read in {} files ({per_10k:.3} per 10,000)",
            files.len()
        );
        for line in &flagged {
            eprintln!("  {line}");
        }
    }
    assert!(
        per_10k < 1.0,
        "{lines_altered} lines altered of {lines_read} read ({per_10k:.3} per 10,000); flagged:\n{}",
        flagged.join("\n")
    );
}
