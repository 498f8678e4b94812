//! The offline cache: run logs kept under `<repo>/.selfheal/logs/`.

use std::cmp::Reverse;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use selfheal_types::RunInfo;

use crate::archive::{self, ArchiveLimits};
use crate::run_json::{self, MAX_RUN_JSON, RunJson};
use crate::{CiProvider, MonitorError, REPAIRABLE_CONCLUSIONS, REPORTED_CONCLUSIONS, RunFilter};

/// Rewrites every file under `dir` through `filter` (invalid UTF-8 is read
/// lossily: a secret matters more than a stray byte), leaving files it does
/// not change untouched.
fn filter_files(
    dir: &Path,
    filter: &(dyn Fn(&str) -> String + Send + Sync),
) -> Result<(), MonitorError> {
    let entries = fs::read_dir(dir).map_err(MonitorError::io("read", dir.to_path_buf()))?;
    for entry in entries {
        let entry = entry.map_err(MonitorError::io("read", dir.to_path_buf()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(MonitorError::io("inspect", path.clone()))?;
        if kind.is_dir() {
            filter_files(&path, filter)?;
        } else if kind.is_file() {
            let bytes = fs::read(&path).map_err(MonitorError::io("read", path.clone()))?;
            let text = String::from_utf8_lossy(&bytes);
            let filtered = filter(&text);
            if filtered.as_bytes() != bytes.as_slice() && filtered != text {
                fs::write(&path, filtered).map_err(MonitorError::io("write", path.clone()))?;
            }
        }
    }
    Ok(())
}

/// A run whose logs are on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedRun {
    pub info: RunInfo,
    /// A folder in GitHub's run-log layout, a run-logs zip, or a single log file.
    pub logs: PathBuf,
}

/// Runs cached under `<repo>/.selfheal/logs/`, one per entry:
///
/// - `<run-id>/`: the run's logs as GitHub's run-logs zip unpacks (job
///   folders of `<n>_<step>.txt`, and/or `<n>_<job>.txt` at the top), with an
///   optional `run.json` holding [`RunInfo`] fields;
/// - `<run-id>.zip`: the zip itself, optionally with `run.json` inside.
///
/// Entries starting with `.` and other files are ignored; when both
/// `<id>/` and `<id>.zip` exist, the folder wins.
///
/// Newest first means, in order of precedence: the later `created_at` from
/// `run.json` (runs that have one come before runs that do not), then the
/// larger numeric run id (GitHub's ids grow with time), then the later
/// modification time of the entry, then the name. This is one total order,
/// so a cache that mixes kinds still sorts the same way every time.
#[derive(Clone)]
pub struct OfflineCache {
    dir: PathBuf,
    /// Applied to every stored log before it is moved into place.
    filter: Option<TextFilter>,
}

/// Rewrites a log's text before it is stored (secrets out, say).
pub type TextFilter = std::sync::Arc<dyn Fn(&str) -> String + Send + Sync>;

impl std::fmt::Debug for OfflineCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineCache")
            .field("dir", &self.dir)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl OfflineCache {
    pub fn new(repo_root: &Path) -> Self {
        Self {
            dir: repo_root.join(".selfheal").join("logs"),
            filter: None,
        }
    }

    /// Every log [`store_zip_file`](Self::store_zip_file) unpacks goes
    /// through `filter` before it lands in the cache: what the cache holds
    /// was never on disk in any other form under its final name.
    #[must_use]
    pub fn with_filter(mut self, filter: TextFilter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Where the cache lives, whether or not it exists yet.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every cached run, newest first. Empty when the folder exists but holds no runs.
    pub fn runs(&self) -> Result<Vec<CachedRun>, MonitorError> {
        Ok(self.entries()?.into_iter().map(|e| e.run).collect())
    }

    /// The run `run_id` (matched against run ids and entry names), or the newest.
    pub fn select(&self, run_id: Option<&str>) -> Result<CachedRun, MonitorError> {
        let entries = self.entries()?;
        let Some(wanted) = run_id else {
            return entries.into_iter().next().map(|e| e.run).ok_or_else(|| {
                MonitorError::EmptyCache {
                    dir: self.dir.clone(),
                }
            });
        };
        let known: Vec<String> = entries.iter().map(|e| e.run.info.id.clone()).collect();
        entries
            .into_iter()
            .find(|e| e.run.info.id == wanted || e.name == wanted)
            .map(|e| e.run)
            .ok_or_else(|| {
                if known.is_empty() {
                    MonitorError::EmptyCache {
                        dir: self.dir.clone(),
                    }
                } else {
                    MonitorError::UnknownRun {
                        id: wanted.to_owned(),
                        dir: self.dir.clone(),
                        known,
                    }
                }
            })
    }

    /// Unpacks GitHub's run-logs zip for `run` into `<cache>/<run.id>/`, with
    /// `run.json` holding all of `run` beside the logs, so that
    /// [`select`](Self::select) replays the run exactly; see
    /// [`store_zip_file_with_limits`](Self::store_zip_file_with_limits).
    pub fn store_zip_file(&self, run: &RunInfo, zip: &Path) -> Result<CachedRun, MonitorError> {
        self.store_zip_file_with_limits(run, zip, ArchiveLimits::default())
    }

    /// [`store_zip_file`](Self::store_zip_file) within `limits`.
    ///
    /// The zip is read from disk entry by entry, never whole into memory.
    /// An archive with a name that could land outside the run's folder, a
    /// link, or more entries or inflated bytes than `limits` allow is refused
    /// with [`MonitorError::UnsafeArchive`], as is a run id that is not a plain
    /// file name. The logs are unpacked into a hidden folder in the cache
    /// and renamed into place once complete, so a failure leaves nothing
    /// behind and an earlier copy of the run is replaced only by a complete one.
    pub fn store_zip_file_with_limits(
        &self,
        run: &RunInfo,
        zip: &Path,
        limits: ArchiveLimits,
    ) -> Result<CachedRun, MonitorError> {
        if let Err(why) = safe_run_id(&run.id) {
            return Err(MonitorError::UnsafeArchive {
                source_name: zip.display().to_string(),
                reason: format!("run id `{}` {why}", run.id.escape_debug()),
            });
        }
        // `.selfheal/` as a whole, so the ledger beside the logs is ignored too.
        let own_dir = self.dir.parent().unwrap_or(&self.dir);
        ensure_self_ignored(own_dir).map_err(MonitorError::io("create", own_dir.to_path_buf()))?;
        fs::create_dir_all(&self.dir).map_err(MonitorError::io("create", self.dir.clone()))?;

        let partial = Scratch::create(&self.dir, "partial", &run.id)?;
        archive::unpack(zip, &partial.path, limits)?;
        if let Some(filter) = &self.filter {
            filter_files(&partial.path, filter.as_ref())?;
        }
        let run_json = partial.path.join("run.json");
        let mut text = serde_json::to_string_pretty(run).map_err(|e| MonitorError::BadRunJson {
            path: run_json.clone(),
            reason: e.to_string(),
        })?;
        text.push('\n');
        fs::write(&run_json, text).map_err(MonitorError::io("write", run_json.clone()))?;

        let target = self.dir.join(&run.id);
        let old = match fs::symlink_metadata(&target) {
            Ok(_) => {
                // Moved aside, not deleted, until the new copy is in place.
                let aside = Scratch::reserve(&self.dir, "replaced", &run.id);
                fs::rename(&target, &aside.path)
                    .map_err(MonitorError::io("move aside", target.clone()))?;
                Some(aside)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(MonitorError::Io {
                    action: "inspect",
                    path: target,
                    source,
                });
            }
        };
        if let Err(source) = fs::rename(&partial.path, &target) {
            // Put the earlier copy back; where even that fails, leave it
            // hidden in the cache rather than delete it.
            if let Some(old) = old
                && fs::rename(&old.path, &target).is_err()
            {
                old.keep();
            }
            return Err(MonitorError::Io {
                action: "move into place",
                path: target,
                source,
            });
        }
        partial.keep();
        drop(old);
        Ok(CachedRun {
            info: run.clone(),
            logs: target,
        })
    }

    fn entries(&self) -> Result<Vec<Entry>, MonitorError> {
        let read = match fs::read_dir(&self.dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(MonitorError::NoCache {
                    dir: self.dir.clone(),
                });
            }
            Err(source) => {
                return Err(MonitorError::Io {
                    action: "list",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut entries: Vec<Entry> = Vec::new();
        for item in read {
            let item = item.map_err(MonitorError::io("list", self.dir.clone()))?;
            let file_name = item.file_name().to_string_lossy().into_owned();
            if file_name.starts_with('.') {
                continue;
            }
            let path = item.path();
            // `metadata` follows symlinks: a cache entry may link to logs kept elsewhere.
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            };
            let (name, run_json) = if meta.is_dir() {
                let run_json = read_run_json_file(&path.join("run.json"))?;
                (file_name, run_json)
            } else if let Some(stem) = zip_stem(&path) {
                if entries.iter().any(|e| e.name == stem && e.is_dir) {
                    continue;
                }
                (stem, read_run_json_in_zip(&path)?)
            } else {
                continue;
            };
            if meta.is_dir() {
                // The folder wins over a zip of the same name seen earlier.
                entries.retain(|e| e.name != name);
            }
            let info = run_json.into_info(&name);
            entries.push(Entry {
                key: SortKey::new(&info, meta.modified().ok(), &name),
                is_dir: meta.is_dir(),
                name,
                run: CachedRun { info, logs: path },
            });
        }
        entries.sort_by(|a, b| b.key.cmp(&a.key));
        Ok(entries)
    }
}

/// Whether `id` can name a folder in the cache: plain ASCII letters, digits,
/// `-`, `_` and `.`, not starting with `.` (those are hidden and skipped).
fn safe_run_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("is empty");
    }
    if id.len() > 128 {
        return Err("is longer than 128 characters");
    }
    if id.starts_with('.') {
        return Err("starts with `.`");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("is not a plain file name (letters, digits, `-`, `_`, `.`)");
    }
    Ok(())
}

/// A hidden folder in the cache, removed when dropped unless kept.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    /// Creates a new, empty hidden folder.
    fn create(dir: &Path, purpose: &str, id: &str) -> Result<Self, MonitorError> {
        loop {
            let scratch = Self::reserve(dir, purpose, id);
            match fs::create_dir(&scratch.path) {
                Ok(()) => return Ok(scratch),
                // Another process picked the same name; try the next.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => {
                    let path = scratch.path.clone();
                    scratch.keep();
                    return Err(MonitorError::Io {
                        action: "create",
                        path,
                        source,
                    });
                }
            }
        }
    }

    /// A fresh hidden name, not created: for something renamed there.
    fn reserve(dir: &Path, purpose: &str, id: &str) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self {
            path: dir.join(format!(
                ".{purpose}-{id}-{}-{nanos}-{n}",
                std::process::id()
            )),
            keep: false,
        }
    }

    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // `symlink_metadata`: a link moved aside is removed, never followed.
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.is_dir() => {
                let _ = fs::remove_dir_all(&self.path);
            }
            Ok(_) => {
                let _ = fs::remove_file(&self.path);
            }
            Err(_) => {}
        }
    }
}

struct Entry {
    name: String,
    is_dir: bool,
    key: SortKey,
    run: CachedRun,
}

/// Compared field by field; see [`OfflineCache`] for the rule.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SortKey {
    created_at: Option<i64>,
    numeric_id: Option<u64>,
    modified: Option<SystemTime>,
    // The name breaks ties, so the order does not depend on `read_dir`'s.
    name: Reverse<String>,
}

impl SortKey {
    fn new(info: &RunInfo, modified: Option<SystemTime>, name: &str) -> Self {
        Self {
            created_at: info
                .created_at
                .as_deref()
                .and_then(run_json::rfc3339_millis),
            numeric_id: info.id.parse().ok(),
            modified,
            name: Reverse(name.to_owned()),
        }
    }
}

#[async_trait::async_trait]
impl CiProvider for OfflineCache {
    fn name(&self) -> &'static str {
        "offline cache"
    }

    /// The cached runs that `filter` matches, newest first, up to its limit.
    /// The cache holds the runs someone chose to keep, which are failed runs
    /// by convention, so a run without a conclusion counts as failed; one
    /// whose `run.json` names another conclusion (`success`) does not.
    async fn failed_runs(&self, filter: &RunFilter) -> Result<Vec<RunInfo>, MonitorError> {
        let failed = |run: &RunInfo| {
            run.conclusion.as_deref().is_none_or(|c| {
                REPAIRABLE_CONCLUSIONS.contains(&c) || REPORTED_CONCLUSIONS.contains(&c)
            })
        };
        Ok(self
            .runs()?
            .into_iter()
            .map(|r| r.info)
            .filter(|run| failed(run) && filter.matches(run))
            .take(filter.limit.unwrap_or(usize::MAX))
            .collect())
    }

    async fn run(&self, id: &str) -> Result<RunInfo, MonitorError> {
        Ok(self.select(Some(id))?.info)
    }

    async fn fetch_logs(&self, run: &RunInfo) -> Result<PathBuf, MonitorError> {
        Ok(self.select(Some(&run.id))?.logs)
    }
}

/// A run given directly with `--logs PATH`.
///
/// The run id comes from a `run.json` inside the folder or zip (or, for a
/// single log file, beside it); else from the folder's name or the zip's
/// file stem, with GitHub's download name `logs_<id>.zip` read as `<id>`;
/// else, for a single file, it is `local`.
pub fn run_from_logs_path(path: &Path) -> Result<CachedRun, MonitorError> {
    let meta = fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            MonitorError::LogsNotFound {
                path: path.to_path_buf(),
            }
        } else {
            MonitorError::Io {
                action: "inspect",
                path: path.to_path_buf(),
                source: e,
            }
        }
    })?;
    let info = if meta.is_dir() {
        // `.` and `..` have no name of their own; the resolved path does.
        let name = fs::canonicalize(path)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "local".to_owned());
        read_run_json_file(&path.join("run.json"))?.into_info(&name)
    } else if let Some(stem) = zip_stem(path) {
        let id = match stem.strip_prefix("logs_") {
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.to_owned()
            }
            _ => stem,
        };
        read_run_json_in_zip(path)?.into_info(&id)
    } else {
        let beside = path
            .parent()
            .map_or_else(|| PathBuf::from("run.json"), |p| p.join("run.json"));
        read_run_json_file(&beside)?.into_info("local")
    };
    Ok(CachedRun {
        info,
        logs: path.to_path_buf(),
    })
}

/// Writes `<dir>/.gitignore` holding `*`, creating `dir` if needed, so that
/// selfheal's own files never show in `git status`. An existing file that
/// already ignores everything is left alone; any other is kept below a new
/// `*` line.
pub fn ensure_self_ignored(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let path = dir.join(".gitignore");
    let existing = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if existing.lines().any(|l| l.trim() == "*") {
        return Ok(());
    }
    fs::write(&path, format!("*\n{existing}"))
}

fn zip_stem(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    if !ext.eq_ignore_ascii_case("zip") {
        return None;
    }
    Some(path.file_stem()?.to_string_lossy().into_owned())
}

fn read_run_json_file(path: &Path) -> Result<RunJson, MonitorError> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RunJson::default()),
        Err(source) => {
            return Err(MonitorError::Io {
                action: "open",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut text = String::new();
    file.take(MAX_RUN_JSON)
        .read_to_string(&mut text)
        .map_err(|e| MonitorError::BadRunJson {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    run_json::parse(&text, path)
}

fn read_run_json_in_zip(zip_path: &Path) -> Result<RunJson, MonitorError> {
    let zip_err = |source| MonitorError::Zip {
        path: zip_path.to_path_buf(),
        source,
    };
    let file =
        fs::File::open(zip_path).map_err(MonitorError::io("open", zip_path.to_path_buf()))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(zip_err)?;
    let mut entry = match archive.by_name("run.json") {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(RunJson::default()),
        Err(e) => return Err(zip_err(e)),
    };
    let shown = zip_path.join("run.json");
    let mut text = String::new();
    (&mut entry)
        .take(MAX_RUN_JSON)
        .read_to_string(&mut text)
        .map_err(|e| MonitorError::BadRunJson {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    run_json::parse(&text, &shown)
}
