//! `selfheal bench capture`: a case from a real failed run of the user's
//! repository and the commit that later fixed it, so a team can measure
//! selfheal on its own history.
//!
//! The run's logs come from the offline cache (`.selfheal/logs/<id>/`),
//! filled first by `selfheal fetch` (the GitHub provider, through the same
//! binary) unless `--offline` says the cache already has them. The failing
//! commit goes into a git bundle; the fix commit's diff against it becomes
//! `fix.patch`, the known-correct fix the bench compares accepted patches with.

use std::path::{Path, PathBuf};

use git2::Repository;
use serde_json::Value;

use crate::error::BenchError;
use crate::guard::is_test_file;
use crate::prepare::{copy_dir, git_command, one_line};
use crate::suite::{CaseMeta, DEFAULT_BUNDLE, patch_files};

#[derive(Debug, Clone, clap::Args)]
pub struct CaptureArgs {
    /// The failed CI run to capture.
    #[arg(long, value_name = "ID")]
    pub run_id: String,
    /// The commit that later fixed the failure (any revision git understands).
    #[arg(long, value_name = "SHA")]
    pub fix_commit: String,
    /// The new case folder (must not exist, or be empty); put it in a suite folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The repository (default: the git root of the current directory).
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Take the run's logs from the offline cache (`.selfheal/logs/<id>/`)
    /// instead of fetching them from GitHub first.
    #[arg(long)]
    pub offline: bool,
    /// The failing commit (default: the `head_sha` in the cached run's run.json).
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// The kind of bug, shown in the bench table (default: the category selfheal's log analysis gives).
    #[arg(long, value_name = "TEXT")]
    pub category: Option<String>,
    /// Configuration file for `selfheal fetch` (GitHub repository and token).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What a capture wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub dir: PathBuf,
    pub meta: CaseMeta,
    pub fix_files: Vec<String>,
}

impl Captured {
    pub fn summary(&self) -> String {
        format!(
            "captured run {} (failing commit {}) in {}: the fix changes {}{}; bench it with: selfheal bench {}",
            self.meta.run_id,
            &self.meta.commit[..12],
            self.dir.display(),
            self.fix_files.join(", "),
            if self.meta.allow_test_edits {
                " (a test, so the case allows test edits)"
            } else {
                ""
            },
            self.dir.display()
        )
    }
}

pub async fn capture(args: &CaptureArgs, selfheal_exe: &Path) -> Result<Captured, BenchError> {
    let start = match &args.repo {
        Some(p) => p.clone(),
        None => std::env::current_dir().map_err(BenchError::io("."))?,
    };
    let repo = Repository::discover(&start).map_err(|_| {
        BenchError::Usage(format!(
            "{} is not in a git repository; hint: pass --repo PATH",
            start.display()
        ))
    })?;
    let root = repo
        .workdir()
        .ok_or_else(|| {
            BenchError::Usage("the repository is bare; hint: pass a checkout".to_owned())
        })?
        .to_path_buf();
    if args.run_id.trim().is_empty() || args.run_id.contains(['/', '\\', '.']) {
        return Err(BenchError::Usage(format!(
            "--run-id {:?} is not a run id",
            args.run_id
        )));
    }
    let cache = root.join(".selfheal").join("logs");
    let run_dir = cache.join(&args.run_id);
    let run_zip = cache.join(format!("{}.zip", args.run_id));
    if !run_dir.is_dir() && !run_zip.is_file() {
        if args.offline {
            return Err(BenchError::Usage(format!(
                "run {} is not in the offline cache {}; hint: run selfheal fetch --run-id {}, or drop --offline",
                args.run_id,
                cache.display(),
                args.run_id
            )));
        }
        fetch(selfheal_exe, &root, &args.run_id, args.config.as_deref()).await?;
        if !run_dir.is_dir() && !run_zip.is_file() {
            return Err(BenchError::Command {
                command: "selfheal fetch".to_owned(),
                message: format!("left no logs of run {} in {}", args.run_id, cache.display()),
            });
        }
    }
    let run_json: Option<Value> = std::fs::read_to_string(run_dir.join("run.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let failing_rev = match (
        &args.commit,
        run_json.as_ref().and_then(|r| r["head_sha"].as_str()),
    ) {
        (Some(c), _) => c.clone(),
        (None, Some(sha)) => sha.to_owned(),
        (None, None) => {
            return Err(BenchError::Usage(format!(
                "the cached run {} names no commit (no head_sha in run.json); hint: pass --commit SHA",
                args.run_id
            )));
        }
    };
    let failing = resolve(&repo, &failing_rev, "the failing commit")?;
    let fix = resolve(&repo, &args.fix_commit, "--fix-commit")?;
    let patch = diff_text(&repo, &failing, &fix)?;
    if patch.is_empty() {
        return Err(BenchError::Usage(format!(
            "--fix-commit {} changes nothing relative to the failing commit {}",
            args.fix_commit,
            &failing.to_string()[..12]
        )));
    }

    let out = &args.out;
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(BenchError::io(out))?
            .next()
            .is_some()
    {
        return Err(BenchError::Usage(format!(
            "{} exists and is not empty; hint: pass a new folder inside your suite",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(BenchError::io(out))?;
    let out = out.canonicalize().map_err(BenchError::io(out))?;
    write_bundle(&repo, &failing, &out.join(DEFAULT_BUNDLE))?;
    let fix_patch = out.join("fix.patch");
    std::fs::write(&fix_patch, &patch).map_err(BenchError::io(&fix_patch))?;
    let logs = out.join("logs");
    if run_dir.is_dir() {
        copy_dir(&run_dir, &logs.join(&args.run_id))?;
    } else {
        std::fs::create_dir_all(&logs).map_err(BenchError::io(&logs))?;
        let to = logs.join(format!("{}.zip", args.run_id));
        std::fs::copy(&run_zip, &to).map_err(BenchError::io(&run_zip))?;
    }
    let fix_files: Vec<String> = patch_files("captured", &fix_patch)?.into_iter().collect();
    let category = match &args.category {
        Some(c) => c.clone(),
        None => analyzed_category(selfheal_exe, &logs).await,
    };
    let meta = CaseMeta {
        name: None,
        category: Some(category),
        run_id: args.run_id.clone(),
        commit: failing.to_string(),
        allow_test_edits: fix_files.iter().any(|f| is_test_file(f)),
        bundle: None,
        fix_commit: Some(fix.to_string()),
        repository: run_json
            .as_ref()
            .and_then(|r| r["repository"].as_str())
            .map(str::to_owned),
    };
    let case_json = out.join("case.json");
    let mut text = serde_json::to_string_pretty(&meta).unwrap_or_default();
    text.push('\n');
    std::fs::write(&case_json, text).map_err(BenchError::io(&case_json))?;
    Ok(Captured {
        dir: out,
        meta,
        fix_files,
    })
}

fn resolve(repo: &Repository, rev: &str, what: &str) -> Result<git2::Oid, BenchError> {
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|_| {
            BenchError::Usage(format!(
                "{what} {rev} is not a commit in the repository; hint: git fetch it first"
            ))
        })
}

/// The fix as a git diff (renames detected), the way `git diff A B` prints it.
fn diff_text(repo: &Repository, from: &git2::Oid, to: &git2::Oid) -> Result<Vec<u8>, BenchError> {
    let tree = |id: &git2::Oid| {
        repo.find_commit(*id)
            .and_then(|c| c.tree())
            .map_err(BenchError::git(format!("reading commit {id}")))
    };
    let (old, new) = (tree(from)?, tree(to)?);
    let mut diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .map_err(BenchError::git("diffing the fix"))?;
    diff.find_similar(None)
        .map_err(BenchError::git("finding renames"))?;
    let mut text = Vec::new();
    diff.print(git2::DiffFormat::Patch, |_delta, _hunk, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            text.push(line.origin() as u8);
        }
        text.extend_from_slice(line.content());
        true
    })
    .map_err(BenchError::git("printing the fix"))?;
    Ok(text)
}

/// A bundle of `commit` and its history, with `refs/heads/main` pointing at
/// it. `git bundle` only bundles refs, and the user's repository must not
/// gain one, so the ref lives in a scratch repository that borrows the
/// objects through `objects/info/alternates`.
fn write_bundle(repo: &Repository, commit: &git2::Oid, dest: &Path) -> Result<(), BenchError> {
    let scratch = tempfile::Builder::new()
        .prefix("selfheal-capture-")
        .tempdir()
        .map_err(BenchError::io(std::env::temp_dir()))?;
    let bare = Repository::init_bare(scratch.path())
        .map_err(BenchError::git("creating a scratch repository"))?;
    let objects = repo
        .commondir()
        .join("objects")
        .canonicalize()
        .map_err(BenchError::io(repo.commondir().join("objects")))?;
    let alternates = scratch.path().join("objects/info/alternates");
    std::fs::create_dir_all(scratch.path().join("objects/info"))
        .map_err(BenchError::io(&alternates))?;
    std::fs::write(&alternates, format!("{}\n", objects.display()))
        .map_err(BenchError::io(&alternates))?;
    drop(bare);
    let bare = Repository::open_bare(scratch.path())
        .map_err(BenchError::git("opening the scratch repository"))?;
    bare.reference("refs/heads/main", *commit, true, "selfheal bench capture")
        .map_err(BenchError::git("pointing main at the failing commit"))?;
    git_command(
        scratch.path(),
        &[
            "bundle".as_ref(),
            "create".as_ref(),
            "--quiet".as_ref(),
            dest.as_os_str(),
            "refs/heads/main".as_ref(),
        ],
    )?;
    Ok(())
}

/// `selfheal fetch --run-id ID`: the GitHub provider fills the offline cache.
async fn fetch(
    exe: &Path,
    root: &Path,
    run_id: &str,
    config: Option<&Path>,
) -> Result<(), BenchError> {
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(["fetch", "--run-id", run_id, "--repo"])
        .arg(root)
        .stdin(std::process::Stdio::null());
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let out = cmd.output().await.map_err(|e| BenchError::Command {
        command: format!("{} fetch", exe.display()),
        message: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BenchError::Command {
            command: format!("selfheal fetch --run-id {run_id}"),
            message: one_line(&String::from_utf8_lossy(&out.stderr)),
        })
    }
}

/// The category of the first failure `selfheal analyze` finds in the logs;
/// `unknown` when it cannot tell.
async fn analyzed_category(exe: &Path, logs: &Path) -> String {
    let Ok(Some(entry)) = std::fs::read_dir(logs).map(|mut d| d.next()) else {
        return "unknown".to_owned();
    };
    let Ok(entry) = entry else {
        return "unknown".to_owned();
    };
    let out = tokio::process::Command::new(exe)
        .args(["analyze", "--json"])
        .arg(entry.path())
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    out.ok()
        .and_then(|o| {
            serde_json::Deserializer::from_slice(&o.stdout)
                .into_iter::<Value>()
                .next()
                .and_then(Result::ok)
        })
        .and_then(|v| v["failures"][0]["category"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}
