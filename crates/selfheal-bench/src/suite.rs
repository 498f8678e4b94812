//! Reading a suite: a folder of cases, each either a sample-style folder
//! (`sample.json`) or a captured one (`case.json`). Everything a run needs is
//! checked here, before anything runs, so a malformed case is one line
//! naming the case and the file instead of a failure halfway through.
//! The format is documented in SUITE.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::BenchError;

/// Where the bundled suite lives, relative to the repository root.
pub const BUNDLED_SUITE: &str = "sample_projects";

/// The snapshot file a captured case holds unless `case.json` names another.
pub const DEFAULT_BUNDLE: &str = "repo.bundle";

/// A suite, its cases sorted by name.
#[derive(Debug, Clone)]
pub struct Suite {
    pub dir: PathBuf,
    pub cases: Vec<Case>,
}

/// One case: a failing repository, its cached CI run, and what is known
/// about the right fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The folder's name.
    pub name: String,
    pub dir: PathBuf,
    /// The kind of bug (`sample.json` `kind`, `case.json` `category`).
    pub kind: String,
    /// The run whose logs are cached under `logs/`.
    pub run_id: String,
    /// The right fix is in a test, so the run gets `--allow-test-edits`.
    pub allow_test_edits: bool,
    pub source: CaseSource,
    /// Paths the known-correct fix changes; `None` when the case has no known fix.
    pub known_fix_files: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseSource {
    /// `project/` plus `break.patch`, prepared like `prepare.sh` does.
    Sample {
        project: PathBuf,
        break_patch: PathBuf,
    },
    /// A git bundle holding the failing commit.
    Captured { bundle: PathBuf, commit: String },
}

impl Case {
    /// The cached logs to copy into the prepared repository: a run folder or
    /// a run-log zip, found under `logs/`.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }
}

#[derive(Debug, Deserialize)]
struct SampleMeta {
    #[serde(default)]
    kind: Option<String>,
    ci: SampleCi,
    #[serde(default)]
    allow_test_edits: bool,
}

#[derive(Debug, Deserialize)]
struct SampleCi {
    run_id: Value,
}

/// `case.json` of a captured case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct CaseMeta {
    /// Shown instead of the folder name when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub run_id: String,
    /// The failing commit (full sha); the bundle must hold it.
    pub commit: String,
    #[serde(default)]
    pub allow_test_edits: bool,
    /// The bundle's file name inside the case folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// The commit that fixed it in the original repository, for reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_commit: Option<String>,
    /// `owner/name` of the original repository, for reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

impl Suite {
    /// Reads the suite at `dir`. A folder that is itself a case is a suite of one.
    pub fn load(dir: &Path) -> Result<Suite, BenchError> {
        let suite_err = |message: String| BenchError::Suite {
            path: dir.to_path_buf(),
            message,
        };
        if !dir.is_dir() {
            return Err(suite_err(
                "is not a folder; hint: pass a suite folder (see SUITE.md)".to_owned(),
            ));
        }
        let dir = dir.canonicalize().map_err(BenchError::io(dir))?;
        if is_case_dir(&dir) {
            let case = load_case(&dir)?;
            return Ok(Suite {
                dir,
                cases: vec![case],
            });
        }
        let mut case_dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(BenchError::io(&dir))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir() && is_case_dir(p))
            .collect();
        case_dirs.sort();
        if case_dirs.is_empty() {
            return Err(BenchError::Suite {
                path: dir,
                message: "holds no case; hint: a case is a folder with sample.json or case.json (see SUITE.md)".to_owned(),
            });
        }
        let cases = case_dirs
            .iter()
            .map(|d| load_case(d))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Suite { dir, cases })
    }

    /// Keeps the cases whose name matches one of the comma-separated
    /// patterns (`*` matches any run of characters, `?` one character).
    pub fn select(&mut self, patterns: &str) -> Result<(), BenchError> {
        let patterns: Vec<&str> = patterns
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if patterns.is_empty() {
            return Err(BenchError::Usage(
                "--cases is empty; hint: name cases, comma-separated (globs allowed)".to_owned(),
            ));
        }
        self.cases
            .retain(|c| patterns.iter().any(|p| glob_match(p, &c.name)));
        if self.cases.is_empty() {
            return Err(BenchError::Suite {
                path: self.dir.clone(),
                message: format!(
                    "no case matches --cases {}; hint: the cases are the folder names",
                    patterns.join(",")
                ),
            });
        }
        Ok(())
    }
}

/// The bundled suite: `sample_projects/` in `start` or the nearest folder above it.
pub fn find_bundled_suite(start: &Path) -> Result<PathBuf, BenchError> {
    start
        .ancestors()
        .map(|d| d.join(BUNDLED_SUITE))
        .find(|d| d.is_dir())
        .ok_or_else(|| {
            BenchError::Usage(format!(
                "no suite given and no {BUNDLED_SUITE}/ in {} or above it; hint: pass the suite folder, or run inside the selfheal repository",
                start.display()
            ))
        })
}

fn is_case_dir(dir: &Path) -> bool {
    dir.join("sample.json").is_file() || dir.join("case.json").is_file()
}

fn load_case(dir: &Path) -> Result<Case, BenchError> {
    let name = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if dir.join("sample.json").is_file() {
        load_sample(dir, name)
    } else {
        load_captured(dir, name)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(case: &str, path: &Path) -> Result<T, BenchError> {
    let text = std::fs::read_to_string(path).map_err(BenchError::io(path))?;
    serde_json::from_str(&text).map_err(|e| {
        BenchError::case(
            case,
            format!(
                "{} is not valid: {e}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ),
        )
    })
}

fn load_sample(dir: &Path, name: String) -> Result<Case, BenchError> {
    let meta: SampleMeta = read_json(&name, &dir.join("sample.json"))?;
    let run_id = match &meta.ci.run_id {
        Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(BenchError::case(
                &name,
                format!("sample.json: ci.run_id must be a string or number, not {other}"),
            ));
        }
    };
    let project = dir.join("project");
    let break_patch = dir.join("break.patch");
    if !project.is_dir() {
        return Err(BenchError::case(
            &name,
            "has sample.json but no project/ folder",
        ));
    }
    if !break_patch.is_file() {
        return Err(BenchError::case(
            &name,
            "has sample.json but no break.patch",
        ));
    }
    check_logs(&name, dir, &run_id)?;
    let fixes = fix_files(dir);
    let known_fix_files = if fixes.is_empty() {
        None
    } else {
        let mut touched = BTreeSet::new();
        for fix in &fixes {
            touched.extend(edit_files(&name, fix)?);
        }
        Some(touched)
    };
    Ok(Case {
        kind: meta.kind.unwrap_or_else(|| "unknown".to_owned()),
        dir: dir.to_path_buf(),
        run_id,
        allow_test_edits: meta.allow_test_edits,
        source: CaseSource::Sample {
            project,
            break_patch,
        },
        known_fix_files,
        name,
    })
}

fn load_captured(dir: &Path, folder_name: String) -> Result<Case, BenchError> {
    let meta: CaseMeta = read_json(&folder_name, &dir.join("case.json"))?;
    let name = folder_name;
    if meta.run_id.trim().is_empty() || meta.run_id.contains(['/', '\\']) {
        return Err(BenchError::case(
            &name,
            "case.json: run_id must be a run id (no slashes)",
        ));
    }
    if meta.commit.len() != 40 || !meta.commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BenchError::case(
            &name,
            format!(
                "case.json: commit must be a full 40-digit sha, not {:?}",
                meta.commit
            ),
        ));
    }
    let bundle = dir.join(meta.bundle.as_deref().unwrap_or(DEFAULT_BUNDLE));
    if !bundle.is_file() {
        return Err(BenchError::case(
            &name,
            format!(
                "has case.json but no repository snapshot {}",
                bundle.file_name().unwrap_or_default().to_string_lossy()
            ),
        ));
    }
    check_logs(&name, dir, &meta.run_id)?;
    let fix_patch = dir.join("fix.patch");
    let known_fix_files = if fix_patch.is_file() {
        Some(patch_files(&name, &fix_patch)?)
    } else {
        None
    };
    Ok(Case {
        kind: meta.category.unwrap_or_else(|| "unknown".to_owned()),
        dir: dir.to_path_buf(),
        run_id: meta.run_id,
        allow_test_edits: meta.allow_test_edits,
        source: CaseSource::Captured {
            bundle,
            commit: meta.commit.to_ascii_lowercase(),
        },
        known_fix_files,
        name,
    })
}

fn check_logs(case: &str, dir: &Path, run_id: &str) -> Result<(), BenchError> {
    let logs = dir.join("logs");
    if logs.join(run_id).is_dir() || logs.join(format!("{run_id}.zip")).is_file() {
        Ok(())
    } else {
        Err(BenchError::case(
            case,
            format!("no cached logs of run {run_id}: expected logs/{run_id}/ or logs/{run_id}.zip"),
        ))
    }
}

/// A sample's fix files in the order they apply: `fix.json`, or `fix-1.json`, `fix-2.json`, ...
pub fn fix_files(dir: &Path) -> Vec<PathBuf> {
    let single = dir.join("fix.json");
    if single.is_file() {
        return vec![single];
    }
    // Nine fix files is far more than any case needs.
    (1..=9)
        .map(|n| dir.join(format!("fix-{n}.json")))
        .take_while(|p| p.is_file())
        .collect()
}

/// The files a fix in selfheal's edit format (`{"edits": [{"file", ...}]}`) changes.
fn edit_files(case: &str, path: &Path) -> Result<BTreeSet<String>, BenchError> {
    let fix: Value = read_json(case, path)?;
    let edits = fix["edits"].as_array().ok_or_else(|| {
        BenchError::case(
            case,
            format!(
                "{} has no \"edits\" list",
                path.file_name().unwrap_or_default().to_string_lossy()
            ),
        )
    })?;
    edits
        .iter()
        .map(|e| {
            e["file"].as_str().map(str::to_owned).ok_or_else(|| {
                BenchError::case(
                    case,
                    format!(
                        "{}: an edit has no \"file\"",
                        path.file_name().unwrap_or_default().to_string_lossy()
                    ),
                )
            })
        })
        .collect()
}

/// The files a unified diff (git's format) changes, old and new paths both.
pub fn patch_files(case: &str, path: &Path) -> Result<BTreeSet<String>, BenchError> {
    let bytes = std::fs::read(path).map_err(BenchError::io(path))?;
    let diff = git2::Diff::from_buffer(&bytes).map_err(|e| {
        BenchError::case(
            case,
            format!("fix.patch is not a git diff: {}", e.message()),
        )
    })?;
    let mut files = BTreeSet::new();
    for delta in diff.deltas() {
        // An added file has no old path worth naming, a deleted one no new path.
        if let Some(p) = delta.old_file().path()
            && delta.status() != git2::Delta::Added
        {
            files.insert(p.to_string_lossy().into_owned());
        }
        if let Some(p) = delta.new_file().path()
            && delta.status() != git2::Delta::Deleted
        {
            files.insert(p.to_string_lossy().into_owned());
        }
    }
    if files.is_empty() {
        return Err(BenchError::case(case, "fix.patch changes no file"));
    }
    Ok(files)
}

/// `*` matches any run of characters, `?` one; anything else itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("syntax-error", "syntax-error"));
        assert!(!glob_match("syntax", "syntax-error"));
        assert!(glob_match("masked-*", "masked-import-then-rounding"));
        assert!(glob_match("*-error", "index-error"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("i?dex-*", "index-error"));
        assert!(!glob_match("masked-*-x", "masked-import"));
    }
}
