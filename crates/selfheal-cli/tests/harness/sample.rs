//! Sample repositories, made by `sample_projects/prepare.sh`, and the Docker
//! precondition every repair test shares.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use tempfile::TempDir;

use super::git;

/// The image `selfheal run` validates in unless told otherwise.
pub const SANDBOX_IMAGE: &str = "selfheal-sandbox-python:bookworm";

/// The repository root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Panics with a hint when the Docker Engine or the sandbox image is missing:
/// these tests prove patches in the real sandbox, and a silent skip would
/// report a green suite that proved nothing. Checked once per test binary.
pub fn require_docker() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECKED.get_or_init(|| {
        let info = Command::new("docker")
            .args(["info", "--format", "{{.ServerVersion}}"])
            .output();
        match info {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(format!(
                    "the docker engine does not answer ({}); hint: run scripts/ensure-docker.sh",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Err(e) => {
                return Err(format!(
                    "cannot run the docker client ({e}); hint: run scripts/ensure-docker.sh"
                ));
            }
        }
        let image = Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", SANDBOX_IMAGE])
            .output();
        match image {
            Ok(out) if out.status.success() => Ok(()),
            _ => Err(format!(
                "the sandbox image {SANDBOX_IMAGE} is missing; hint: run scripts/build-sandbox-image.sh"
            )),
        }
    });
    if let Err(message) = result {
        panic!("end-to-end tests need Docker: {message}");
    }
}

/// A sample's fixture files and its `sample.json`.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub dir: PathBuf,
    pub meta: Value,
}

impl Sample {
    pub fn load(name: &str) -> Sample {
        let dir = workspace_root().join("sample_projects").join(name);
        let meta_path = dir.join("sample.json");
        let text = std::fs::read_to_string(&meta_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", meta_path.display()));
        let meta = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", meta_path.display()));
        Sample {
            name: name.to_owned(),
            dir,
            meta,
        }
    }

    /// Every sample folder, sorted by name.
    pub fn all() -> Vec<Sample> {
        let root = workspace_root().join("sample_projects");
        let mut names: Vec<String> = std::fs::read_dir(&root)
            .expect("sample_projects/ is readable")
            .filter_map(Result::ok)
            .filter(|e| e.path().join("sample.json").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names.iter().map(|n| Sample::load(n)).collect()
    }

    /// The CI run id the cached logs are filed under.
    pub fn run_id(&self) -> String {
        match &self.meta["ci"]["run_id"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => panic!("{}: ci.run_id is {other}", self.name),
        }
    }

    pub fn attempts(&self) -> u64 {
        self.meta["attempts"].as_u64().unwrap_or(1)
    }

    /// Paths the sample's fix changes, relative to the project root.
    pub fn files_touched(&self) -> Vec<String> {
        let mut files: Vec<String> = self.meta["files_touched"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Lines the cached CI log shows for the broken state.
    pub fn expect_broken(&self) -> Vec<String> {
        self.meta["expect_broken"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The fix files in the order they are applied: `fix.json`, or
    /// `fix-1.json`, `fix-2.json`, ... for samples that need several attempts.
    pub fn fix_files(&self) -> Vec<PathBuf> {
        let single = self.dir.join("fix.json");
        if single.is_file() {
            return vec![single];
        }
        // Nine fix files is far more than any sample needs.
        (1..=9)
            .map(|n| self.dir.join(format!("fix-{n}.json")))
            .take_while(|p| p.is_file())
            .collect()
    }

    /// The fix files' text, each one a model reply.
    pub fn fix_replies(&self) -> Vec<String> {
        self.fix_files()
            .iter()
            .map(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
            })
            .collect()
    }

    /// The cached run-log folder in the sample itself (not in a prepared repo).
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join("logs").join(self.run_id())
    }
}

/// A sample prepared as a git repository of its broken state, inside a
/// temporary directory that also gives each test room outside the repository.
pub struct SampleRepo {
    /// Holds the directory; dropped last, removing everything.
    tmp: TempDir,
    pub sample: Sample,
    /// The repository (`<tmp>/repo`).
    pub root: PathBuf,
    /// The broken commit, which the cached run tested.
    pub broken: String,
}

/// Runs `prepare.sh` for `name` into a fresh temporary directory.
pub fn prepare(name: &str) -> SampleRepo {
    let sample = Sample::load(name);
    let tmp = tempfile::Builder::new()
        .prefix(&format!("selfheal-e2e-{name}-"))
        .tempdir()
        .expect("a temporary directory");
    let root = tmp.path().join("repo");
    let script = workspace_root().join("sample_projects/prepare.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(name)
        .arg(&root)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "prepare.sh {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = root.canonicalize().expect("the prepared repo exists");
    let broken = git(&root, &["rev-parse", "HEAD"]);
    SampleRepo {
        tmp,
        sample,
        root,
        broken,
    }
}

impl SampleRepo {
    /// The temporary directory around the repository: "outside" it.
    pub fn outside(&self) -> &Path {
        self.tmp.path()
    }

    /// A HOME for the binary, so no user configuration leaks in.
    /// The `HOME` selfheal runs with. For a sample whose right fix is in its
    /// tests (`"allow_test_edits": true` in its `sample.json`), the user's
    /// config there consents to test edits, as such a user would; tests that
    /// spell out their flags pass `--allow-test-edits` too.
    pub fn home(&self) -> PathBuf {
        let home = self.tmp.path().join("home");
        std::fs::create_dir_all(&home).expect("home directory");
        if self.sample.meta["allow_test_edits"] == Value::Bool(true) {
            let config = home.join(".config").join("selfheal");
            std::fs::create_dir_all(&config).expect("config directory");
            std::fs::write(
                config.join("config.toml"),
                "[policy]\nallow_test_edits = true\n",
            )
            .expect("user config");
        }
        home
    }

    /// A `HOME` without any user config.
    pub fn bare_home(&self) -> PathBuf {
        let home = self.tmp.path().join("bare-home");
        std::fs::create_dir_all(&home).expect("home directory");
        home
    }

    pub fn run_id(&self) -> String {
        self.sample.run_id()
    }

    /// Commits `files` on top of the broken commit and makes the cached run
    /// say it tested that commit: the sample, changed before CI ran.
    pub fn commit_before_the_run(&mut self, files: &[(&str, &str)], message: &str) {
        for (path, text) in files {
            let full = self.root.join(path);
            std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
            git(&self.root, &["add", path]);
        }
        git(
            &self.root,
            &[
                "-c",
                "user.name=dev",
                "-c",
                "user.email=dev@example.com",
                "commit",
                "-q",
                "-m",
                message,
            ],
        );
        self.broken = git(&self.root, &["rev-parse", "HEAD"]);
        let run_json = self.cached_logs().join("run.json");
        let mut meta: Value =
            serde_json::from_str(&std::fs::read_to_string(&run_json).expect("run.json"))
                .expect("run.json is JSON");
        meta["head_sha"] = Value::String(self.broken.clone());
        std::fs::write(&run_json, meta.to_string()).expect("write run.json");
    }

    /// The cached run-log folder inside the prepared repository.
    pub fn cached_logs(&self) -> PathBuf {
        self.root.join(".selfheal/logs").join(self.run_id())
    }

    /// Branches whose name starts with `selfheal/`.
    pub fn fix_branches(&self) -> Vec<String> {
        git::branches(&self.root)
            .into_iter()
            .filter(|b| b.starts_with("selfheal/"))
            .collect()
    }

    /// Every record in `.selfheal/results/`, parsed strictly.
    pub fn records(&self) -> Vec<selfheal_types::RepairRecord> {
        let dir = self.root.join(".selfheal/results");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).expect("record is readable");
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not a repair record: {e}", p.display()))
            })
            .collect()
    }

    /// The only record written, asserting there is exactly one.
    pub fn record(&self) -> selfheal_types::RepairRecord {
        let mut records = self.records();
        assert_eq!(
            records.len(),
            1,
            "expected one record in .selfheal/results/"
        );
        records.remove(0)
    }

    /// The broken tree with the sample's fix files applied by the sample's
    /// own strict applier: what the fix branch must contain.
    pub fn expected_tree(&self, fixes: &[PathBuf]) -> PathBuf {
        let dest = self.tmp.path().join("expected");
        std::fs::create_dir_all(&dest).expect("expected tree directory");
        let tar = self.tmp.path().join("broken.tar");
        git(
            &self.root,
            &[
                "archive",
                "--format=tar",
                "-o",
                tar.to_str().expect("utf-8 temp path"),
                &self.broken,
            ],
        );
        let status = Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(&dest)
            .status()
            .expect("tar runs");
        assert!(status.success(), "tar -x of the broken tree failed");
        let applier = workspace_root().join("sample_projects/tools/apply_edits.py");
        let out = Command::new("python3")
            .arg(&applier)
            .arg(&dest)
            .args(fixes)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "apply_edits.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dest
    }
}
