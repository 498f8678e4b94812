//! Inputs: a plain log, a GitHub run-log zip, or its unpacked folder.
//!
//! A run-log zip holds `<n>_<job>.txt` whole-job logs at the top and/or a
//! folder per job with `<n>_<step>.txt` files. The two repeat each other, so
//! a job's top-level file is read only when the job has no folder: step
//! files name the step, which a whole-job file can only guess from its
//! `##[group]Run` headers.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::AnalyzeError;
use crate::engine::{self, FileContext};
use crate::parsers::Candidate;

/// See [`engine::run`] for `fallback_only`.
pub(crate) fn analyze_path(
    path: &Path,
    fallback_only: bool,
) -> Result<Vec<Candidate>, AnalyzeError> {
    let meta = std::fs::metadata(path).map_err(|e| AnalyzeError::Read {
        path: path.to_owned(),
        source: e,
    })?;
    if meta.is_dir() {
        return analyze_dir(path, fallback_only);
    }
    let mut file = File::open(path).map_err(|e| AnalyzeError::Read {
        path: path.to_owned(),
        source: e,
    })?;
    if is_zip(&mut file) {
        return analyze_zip(path, file, fallback_only);
    }
    let result = engine::run(file, FileContext::default(), fallback_only).map_err(|e| {
        AnalyzeError::Read {
            path: path.to_owned(),
            source: e,
        }
    })?;
    Ok(result.candidates)
}

fn is_zip(file: &mut File) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut magic = [0u8; 4];
    let ok = file.read_exact(&mut magic).is_ok() && magic == *b"PK\x03\x04";
    // A failed rewind surfaces as a read error when the file is read next.
    let _ = file.seek(SeekFrom::Start(0));
    ok
}

/// `3_Run pytest.txt` → (3, `Run pytest`); other names keep their stem.
fn numbered(name: &str) -> (u64, String) {
    let stem = name.strip_suffix(".txt").unwrap_or(name);
    match stem.split_once('_') {
        Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (n.parse().unwrap_or(u64::MAX), rest.to_owned())
        }
        _ => (u64::MAX, stem.to_owned()),
    }
}

/// Which entries of a run-log tree to read, and as what, in reading order.
fn plan(entries: &[String]) -> Vec<(String, FileContext)> {
    let folders: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.split_once('/').map(|(d, _)| d))
        .collect();
    let mut out: Vec<(u64, u64, String, FileContext)> = Vec::new();
    for e in entries {
        let parts: Vec<&str> = e.split('/').collect();
        match parts.as_slice() {
            // The run's metadata, which selfheal's cache keeps beside the
            // logs; its `"conclusion": "failure"` is not a log line.
            ["run.json"] => {}
            [file] => {
                let (n, job) = numbered(file);
                if folders.contains(&job.as_str()) {
                    continue;
                }
                let job = (n != u64::MAX).then_some(job);
                out.push((
                    0,
                    n,
                    e.clone(),
                    FileContext {
                        log_file: Some(e.clone()),
                        job,
                        step: None,
                    },
                ));
            }
            [dir, file] => {
                let (n, step) = numbered(file);
                out.push((
                    1,
                    n,
                    e.clone(),
                    FileContext {
                        log_file: Some(e.clone()),
                        job: Some((*dir).to_owned()),
                        step: (n != u64::MAX).then_some(step),
                    },
                ));
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| {
        a.3.job
            .cmp(&b.3.job)
            .then(a.0.cmp(&b.0))
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });
    out.into_iter().map(|(_, _, e, c)| (e, c)).collect()
}

fn analyze_dir(root: &Path, fallback_only: bool) -> Result<Vec<Candidate>, AnalyzeError> {
    let read_dir = |p: &Path| {
        std::fs::read_dir(p).map_err(|e| AnalyzeError::Read {
            path: p.to_owned(),
            source: e,
        })
    };
    let mut entries = Vec::new();
    for top in read_dir(root)? {
        let top = top.map_err(|e| AnalyzeError::Read {
            path: root.to_owned(),
            source: e,
        })?;
        let name = top.file_name().to_string_lossy().into_owned();
        let path = top.path();
        if path.is_dir() {
            for inner in read_dir(&path)? {
                let inner = inner.map_err(|e| AnalyzeError::Read {
                    path: path.clone(),
                    source: e,
                })?;
                if inner.path().is_file() {
                    entries.push(format!("{name}/{}", inner.file_name().to_string_lossy()));
                }
            }
        } else if path.is_file() {
            entries.push(name);
        }
    }
    let mut all = Vec::new();
    for (entry, ctx) in plan(&entries) {
        let path: PathBuf = root.join(&entry);
        let file = File::open(&path).map_err(|e| AnalyzeError::Read {
            path: path.clone(),
            source: e,
        })?;
        let result =
            engine::run(file, ctx.clone(), fallback_only).map_err(|e| AnalyzeError::Read {
                path: path.clone(),
                source: e,
            })?;
        all.extend(with_file(result.candidates, &ctx));
    }
    Ok(all)
}

fn analyze_zip(
    path: &Path,
    file: File,
    fallback_only: bool,
) -> Result<Vec<Candidate>, AnalyzeError> {
    let zip_err = |e| AnalyzeError::Zip {
        path: path.to_owned(),
        source: e,
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(zip_err)?;
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let f = archive.by_index(i).map_err(zip_err)?;
        if !f.is_dir() {
            let name = f.name().map_err(zip_err)?;
            entries.push(name.trim_start_matches('/').to_owned());
        }
    }
    let mut all = Vec::new();
    for (entry, ctx) in plan(&entries) {
        let f = archive.by_name(&entry).map_err(zip_err)?;
        let result =
            engine::run(f, ctx.clone(), fallback_only).map_err(|e| AnalyzeError::ZipEntry {
                path: path.to_owned(),
                entry: entry.clone(),
                source: e,
            })?;
        all.extend(with_file(result.candidates, &ctx));
    }
    Ok(all)
}

fn with_file(mut candidates: Vec<Candidate>, ctx: &FileContext) -> Vec<Candidate> {
    for c in &mut candidates {
        c.log_file.clone_from(&ctx.log_file);
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_files_replace_their_job_file() {
        let entries: Vec<String> = [
            "1_build.txt",
            "2_tests.txt",
            "run.json",
            "tests/1_Set up job.txt",
            "tests/3_Run pytest.txt",
            "tests/10_Post.txt",
        ]
        .map(str::to_owned)
        .to_vec();
        let plan = plan(&entries);
        let files: Vec<&str> = plan.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(
            files,
            [
                "1_build.txt",
                "tests/1_Set up job.txt",
                "tests/3_Run pytest.txt",
                "tests/10_Post.txt"
            ]
        );
        assert_eq!(plan[2].1.step.as_deref(), Some("Run pytest"));
        assert_eq!(plan[2].1.job.as_deref(), Some("tests"));
        assert_eq!(plan[0].1.job.as_deref(), Some("build"));
    }
}
