//! The short human summary `selfheal analyze` prints without `--json`.

use std::fmt::Write as _;

use selfheal_types::Analysis;

/// A few lines per failure: what, where, and which log lines show it.
pub fn render_summary(analysis: &Analysis) -> String {
    let mut out = String::new();
    if analysis.failures.is_empty() {
        let _ = writeln!(out, "{}: no failure found", analysis.source);
        return out;
    }
    let n = analysis.failures.len();
    let _ = writeln!(
        out,
        "{}: {n} failure{}",
        analysis.source,
        if n == 1 { "" } else { "s" }
    );
    for (i, f) in analysis.failures.iter().enumerate() {
        let _ = writeln!(out, "{}. [{}] {}: {}", i + 1, f.category, f.tool, f.message);
        if let Some(t) = &f.test {
            let _ = writeln!(out, "   test: {t}");
        }
        if !f.locations.is_empty() {
            let locs: Vec<String> = f
                .locations
                .iter()
                .take(3)
                .map(|l| match (l.line, l.column) {
                    (Some(line), Some(col)) => format!("{}:{line}:{col}", l.file),
                    (Some(line), None) => format!("{}:{line}", l.file),
                    _ => l.file.clone(),
                })
                .collect();
            let _ = writeln!(out, "   at: {}", locs.join(", "));
        }
        let mut whereabouts = Vec::new();
        if let Some(j) = &f.job {
            whereabouts.push(format!("job {j}"));
        }
        if let Some(s) = &f.step {
            whereabouts.push(format!("step {s}"));
        }
        let file = f
            .log_file
            .as_deref()
            .map(|l| format!("{l} "))
            .unwrap_or_default();
        whereabouts.push(format!(
            "{file}lines {}-{}",
            f.log_span.start, f.log_span.end
        ));
        let _ = writeln!(out, "   in: {}", whereabouts.join(", "));
    }
    out
}
