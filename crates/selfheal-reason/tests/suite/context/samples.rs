//! The yardstick for [`collect_context`]: on every bundled sample, the
//! context chosen for the failure the repair loop targets must show the lines
//! the known fix changes, and the names the fix brings in that the project
//! defines elsewhere (the renamed function, the fixture's new name, the
//! module a file moved to). A small model cannot fix what it is not shown.
//!
//! Run with `--nocapture` for the table of figures (covered, characters,
//! files per sample): `cargo test -p selfheal-reason --test all samples --
//! --nocapture`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use selfheal_analyze::{AnalyzeOptions, analyze_path};
use selfheal_reason::{SourceFile, collect_context};

/// `[repair] context_token_budget` in config/selfheal.toml.
const DEFAULT_BUDGET: usize = 6000;
/// A twelfth of that, to see what is shown first: reported, not asserted,
/// since a fix site inside a function the test only calls (type-mixup) is
/// rightly shown after the frames and the test.
const TIGHT_BUDGET: usize = 500;

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample_projects")
}

struct Edit {
    file: String,
    old: String,
    new: String,
}

/// The edits of the sample's first fix (`fix.json`, else `fix-1.json`): a
/// second fix applies to a tree the first already changed, so only the first
/// one's site must be visible in the first attempt's context.
fn first_fix(sample: &Path) -> Vec<Edit> {
    let path = ["fix.json", "fix-1.json"]
        .iter()
        .map(|f| sample.join(f))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{} has no fix.json", sample.display()));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read fix")).expect("json");
    json["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .map(|e| Edit {
            file: e["file"].as_str().expect("file").to_owned(),
            old: e["old"].as_str().expect("old").to_owned(),
            new: e["new"].as_str().expect("new").to_owned(),
        })
        .collect()
}

/// The 1-based line numbers a [`SourceFile`] shows, read back from its
/// `... [lines A-B not shown]` marks.
fn visible_lines(file: &SourceFile) -> Vec<usize> {
    let mut shown = Vec::new();
    let mut next = 1;
    for line in file.content.lines() {
        let gap = line
            .strip_prefix("... [lines ")
            .and_then(|l| l.strip_suffix(" not shown]"))
            .and_then(|l| l.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
        if let Some((_, end)) = gap {
            next = end + 1;
        } else {
            shown.push(next);
            next += 1;
        }
    }
    shown
}

/// The lines of `text` that `old` spans, if it occurs.
fn lines_of(text: &str, old: &str) -> Option<std::ops::RangeInclusive<usize>> {
    let at = text.find(old)?;
    let first = text[..at].matches('\n').count() + 1;
    let last = first + old.trim_end_matches('\n').matches('\n').count();
    Some(first..=last)
}

fn identifiers(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .collect()
}

/// Every name the project's Python files define (functions, classes, methods,
/// top-level assignments) and every module's file stem.
fn project_names(repo: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, names: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() && !file_name.starts_with('.') {
                walk(&path, names);
            } else if let Some(stem) = file_name.strip_suffix(".py") {
                names.insert(stem.to_owned());
                for line in std::fs::read_to_string(&path).unwrap_or_default().lines() {
                    let trimmed = line.trim_start();
                    let def = ["def ", "async def ", "class "]
                        .iter()
                        .find_map(|k| trimmed.strip_prefix(k));
                    let assigned = (trimmed.len() == line.len())
                        .then(|| line.split_once('='))
                        .flatten()
                        .map(|(lhs, _)| lhs.trim());
                    for name in def.into_iter().chain(assigned) {
                        let name: String = name
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() {
                            names.insert(name);
                        }
                    }
                }
            }
        }
    }
    let mut names = BTreeSet::new();
    walk(repo, &mut names);
    names
}

/// The names the fix brings in that the project defines elsewhere (the
/// renamed function, the fixture's new name, the module a file moved to):
/// the model can only write them if the context shows them.
fn needed_names(repo: &Path, edits: &[Edit]) -> BTreeSet<String> {
    let defined = project_names(repo);
    edits
        .iter()
        .flat_map(|e| {
            let old = identifiers(&e.old);
            identifiers(&e.new)
                .into_iter()
                .filter(move |n| !old.contains(n))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|n| defined.contains(n))
        .collect()
}

struct Row {
    name: String,
    covered: bool,
    names_shown: bool,
    /// The fix site is shown within [`TIGHT_BUDGET`] too.
    covered_tight: bool,
    chars: usize,
    files: Vec<String>,
    missing: Vec<String>,
}

/// What the fix needs that `files` do not show: `name X` for a name the fix
/// brings in, `file:A-B` for the lines an edit replaces.
fn unseen(repo: &Path, edits: &[Edit], files: &[SourceFile]) -> Vec<String> {
    let mut missing: Vec<String> = needed_names(repo, edits)
        .into_iter()
        .filter(|n| {
            !files.iter().any(|f| {
                identifiers(&f.content).contains(n.as_str())
                    || Path::new(&f.path)
                        .file_stem()
                        .is_some_and(|s| s == n.as_str())
            })
        })
        .map(|n| format!("name {n}"))
        .collect();
    for edit in edits {
        let text = std::fs::read_to_string(repo.join(&edit.file)).expect("fix file");
        let want =
            lines_of(&text, &edit.old).unwrap_or_else(|| panic!("fix text not in {}", edit.file));
        let shown = files
            .iter()
            .find(|f| f.path == edit.file)
            .map(visible_lines)
            .unwrap_or_default();
        if !want.clone().all(|l| shown.contains(&l)) {
            missing.push(format!("{}:{}-{}", edit.file, want.start(), want.end()));
        }
    }
    missing
}

fn measure(name: &str, scratch: &Path) -> Row {
    let sample = samples_dir().join(name);
    let repo = scratch.join(name);
    let status = Command::new("bash")
        .arg(samples_dir().join("prepare.sh"))
        .arg(name)
        .arg(&repo)
        .output()
        .expect("run prepare.sh");
    assert!(
        status.status.success(),
        "prepare.sh {name}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let logs = std::fs::read_dir(repo.join(".selfheal/logs"))
        .expect("logs")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a run folder");
    let analysis = analyze_path(&logs, &AnalyzeOptions::default()).expect("analyse");
    // As the repair loop picks its target: the first failure a code change can fix.
    let failure = analysis
        .failures
        .iter()
        .find(|f| f.category.is_code_fixable())
        .unwrap_or_else(|| panic!("{name}: no code-fixable failure"));
    let edits = first_fix(&sample);
    let files = collect_context(&repo, failure, DEFAULT_BUDGET);
    let missing = unseen(&repo, &edits, &files);
    let tight = collect_context(&repo, failure, TIGHT_BUDGET);
    let site_missing = |m: &[String]| m.iter().any(|m| !m.starts_with("name "));
    Row {
        name: name.to_owned(),
        covered: !site_missing(&missing),
        names_shown: !missing.iter().any(|m| m.starts_with("name ")),
        covered_tight: !site_missing(&unseen(&repo, &edits, &tight)),
        chars: files.iter().map(|f| f.content.len()).sum(),
        files: files.into_iter().map(|f| f.path).collect(),
        missing,
    }
}

#[test]
fn every_sample_context_shows_its_fix_site() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut samples: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("sample_projects")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("break.patch").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    samples.sort();
    assert!(samples.len() >= 17, "samples found: {samples:?}");
    let rows: Vec<Row> = samples.iter().map(|n| measure(n, scratch.path())).collect();

    let yes = |b: bool| if b { "yes" } else { "NO" };
    let mut table = String::from(
        "| sample | fix site shown | names the fix needs shown | fix site shown at 500 tokens | chars | files |\n|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} ({}) |",
            r.name,
            yes(r.covered),
            yes(r.names_shown),
            yes(r.covered_tight),
            r.chars,
            r.files.len(),
            r.files.join(", ")
        );
    }
    let covered = rows.iter().filter(|r| r.covered).count();
    let named = rows.iter().filter(|r| r.names_shown).count();
    let tight = rows.iter().filter(|r| r.covered_tight).count();
    let chars: usize = rows.iter().map(|r| r.chars).sum();
    let _ = writeln!(
        table,
        "fix site shown {covered}/{n}, names shown {named}/{n}, fix site shown at 500 tokens {tight}/{n}, {chars} characters in all",
        n = rows.len()
    );
    // The figures are the point of this test; print them for `--nocapture`.
    #[allow(clippy::print_stdout)]
    {
        println!("{table}");
    }
    let uncovered: Vec<String> = rows
        .iter()
        .filter(|r| !r.missing.is_empty())
        .map(|r| format!("{}: {}", r.name, r.missing.join(", ")))
        .collect();
    assert!(
        uncovered.is_empty(),
        "fix sites not shown:\n{}",
        uncovered.join("\n")
    );
}
