//! The dependency install phase, run once with the network on and cached as an image.
//!
//! The test sandbox runs with the network off, so a project's third-party
//! dependencies must already be in the image it starts from. [`detect_install`]
//! reads a checkout and says how to install them (an [`InstallSpec`]);
//! [`Installer::prepare`] runs that once in a container from the base image
//! with the network on and commits the result as `selfheal-prepared:<key>`,
//! which [`DockerSandbox`](crate::DockerSandbox) then uses as its image.
//!
//! The cache key is a sha256 of the base image's id, the command, its
//! environment, its working directory and every manifest's path and bytes, so
//! the image is reused exactly while none of them changes; a second prepare of
//! the same inputs only inspects one image. Proxy settings and the CA bundle
//! are not part of the key: they change how packages are fetched, not which.
//!
//! Only the manifests are copied in (for `requirements.txt`, just those
//! files), so a patch to the sources does not invalidate the cache. An
//! editable Python install needs the project itself; its spec names the whole
//! tree ([`WHOLE_TREE`]), which the caller must take from the *unpatched*
//! checkout so that each new patch does not trigger a new install.
//!
//! Credentials never reach the image: the CA bundle and the proxy variables are
//! uploaded as a file that the install container reads into its environment
//! and deletes before it exits, so they are in neither the committed layer nor
//! any container's or image's `Env` (Docker's commit merges the container's
//! `Env` into the image, so passing them as container environment would bake
//! them in). The install runs as uid 1000, never as root: the engine creates
//! `/opt/selfheal` and `/work` owned by 1000 when it extracts the upload, so no
//! root step is needed and a package's setup code cannot change the rest of
//! the image.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{ContainerConfig, ContainerCreateBody, HostConfig, ImageConfig};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, KillContainerOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::status_code;
use crate::{PROJECT_DIR, SKIPPED_NAMES, ValidateError};

/// Repository of the images [`Installer::prepare`] commits; the tag is the first 16 hex digits of the key.
pub const PREPARED_REPO: &str = "selfheal-prepared";
/// Label on a prepared image holding its full cache key.
pub const PREPARED_KEY_LABEL: &str = "org.selfheal.prepared.key";
/// Where Python installs go: a venv that sees the image's own packages (pytest).
pub const VENV_DIR: &str = "/opt/selfheal/venv";
/// Where the host's CA bundle is copied for the length of the install.
pub const CA_PATH: &str = "/etc/selfheal/ca.crt";
/// Variables that name [`CA_PATH`] during the install, one per tool that reads its own.
pub const CA_ENV_VARS: &[&str] = &[
    "SSL_CERT_FILE",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "CARGO_HTTP_CAINFO",
    "GIT_SSL_CAINFO",
    "CURL_CA_BUNDLE",
];
/// The proxy variables [`Installer::with_proxy_env`] accepts; others are ignored.
pub const PROXY_ENV_VARS: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
];
/// A manifest that stands for the whole tree (skipping [`SKIPPED_NAMES`]).
pub const WHOLE_TREE: &str = ".";

/// Bumped whenever the way an install runs changes, so images prepared the old way are not reused.
const RECIPE_VERSION: &str = "selfheal-install-1";
const INSTALL_USER: &str = "1000:1000";
const INSTALL_UID: u64 = 1000;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);
const DEFAULT_MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Lines of the install's output an error quotes; the log file has all of it.
const ERROR_TAIL_LINES: usize = 5;
/// Holds the CA and proxy variables for the length of the install (deleted with [`CA_PATH`]).
const SECRET_ENV_FILE: &str = "/etc/selfheal/env";
/// Reads the secret environment, runs the install, and deletes the secrets
/// whatever the outcome; if they cannot be deleted the install fails, so the
/// image is never committed with them. (The directory itself stays, empty: the
/// install user cannot remove entries of `/etc`.)
const WRAPPER: &str = "set -a; . /etc/selfheal/env; set +a; rc=0; \"$@\" || rc=$?; \
    rm -f /etc/selfheal/env /etc/selfheal/ca.crt || rc=125; exit $rc";

/// How to install a project's dependencies before its tests can run offline.
///
/// `env` is set for the command *and* kept in the prepared image, and is part
/// of the cache key: never put credentials in it (the [`Installer`] takes
/// those separately). When it sets `VIRTUAL_ENV`, that venv's `bin` is put
/// first on `PATH`, for the command and in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallSpec {
    /// The argv to run, with the network on.
    pub command: Vec<String>,
    /// Repo-relative paths hashed into the cache key and copied to `/work`;
    /// [`WHOLE_TREE`] is the whole (unpatched) tree, a directory is everything under it.
    pub manifests: Vec<String>,
    /// Repo-relative directory the command runs in; `""` is the root.
    pub workdir: String,
    /// Environment for the command and the prepared image.
    pub env: Vec<(String, String)>,
}

impl InstallSpec {
    /// Whether the install needs the whole project tree, not just dependency manifests.
    pub fn needs_whole_tree(&self) -> bool {
        self.manifests.iter().any(|m| m == WHOLE_TREE)
    }

    /// The install phase for a `[validate] setup_command`: `script` (from the
    /// user's or the repository's configuration, never from a log) run by
    /// `sh -e -c` in the project directory `workdir` (repo-relative, `""`
    /// the root), with the network on, in place of the ecosystem's default.
    ///
    /// The cache key covers the script and the manifests the ecosystem's
    /// detector lists for the project; when it lists none (a project that
    /// declares no dependencies, or one selfheal does not know), the whole
    /// tree, since nothing says what the script reads. A Python project gets
    /// the same venv as the default install (its `bin` first on `PATH`), so
    /// that `pip install ...` works despite Debian's EXTERNALLY-MANAGED
    /// marker. `None` when the script is blank.
    #[must_use]
    pub fn from_setup_command(tree: &Path, workdir: &str, script: &str) -> Option<Self> {
        if script.trim().is_empty() {
            return None;
        }
        let detected = detect_install_in(tree, workdir);
        let python = detected.as_ref().map_or_else(
            || {
                crate::detect_tests(tree, workdir)
                    .is_some_and(|t| t.ecosystem == crate::Ecosystem::Python)
            },
            is_python,
        );
        let manifests = detected
            .map(|d| d.manifests)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| vec![WHOLE_TREE.to_owned()]);
        let (script, env) = if python {
            (format!("{VENV_CREATE}\n{script}"), venv_env())
        } else {
            (script.to_owned(), Vec::new())
        };
        Some(Self {
            command: sh_e(script),
            manifests,
            workdir: workdir.to_owned(),
            env,
        })
    }
}

/// Creates the venv Python installs go into; `--system-site-packages`
/// keeps the image's pytest importable from it.
const VENV_CREATE: &str = "python3 -m venv --system-site-packages \"$VIRTUAL_ENV\"";

fn sh_e(script: String) -> Vec<String> {
    vec!["sh".to_owned(), "-e".to_owned(), "-c".to_owned(), script]
}

fn is_python(spec: &InstallSpec) -> bool {
    spec.env.iter().any(|(k, _)| k == "VIRTUAL_ENV")
}

/// The install phase that replays the failing job's own install steps: the
/// `run:` lines before the failing step that install packages (see
/// [`install_steps`](crate::install_steps)), each step in a subshell with its
/// own `env:` (workflow < job < step), all run by `sh -e -c` from the
/// repository root. The script comes from the workflow file of the failing
/// commit (`tree`), never from log text.
///
/// # When to use it
/// Only where the project declares dependencies, that is where
/// [`detect_install_in`] finds a spec for the failing step's working
/// directory: then this replaces that ecosystem default, as the closest to
/// how CI ran. `None` otherwise, and the caller keeps what it would do
/// without it: a project that declares none keeps the image as it is, even
/// when its CI runs `pip install pytest` (the image has pytest, and the
/// bundled sample projects are like this); a workflow without install lines
/// before the step, or that cannot be read again, leaves the ecosystem
/// default in place.
///
/// # What is left out
/// Lines with `sudo` or a `${{ }}` expression, and anything that is not an
/// install command (`apt-get`, `actions/*` steps have no `run:` lines), are
/// not run; a step with a non-POSIX shell or an unusable working directory is
/// skipped. Of the `env:`, values that use expressions are never copied, and
/// neither is a variable whose name looks like a credential (`*TOKEN*`,
/// `*SECRET*`, `*PASSWORD*`, `*_KEY`, ...) or whose value carries a password
/// in a URL; nor `PATH`, `HOME` or `VIRTUAL_ENV`, which the image decides.
/// The variables live in the script only, not in the prepared image.
///
/// # Python
/// The lines run inside the venv the default install would make
/// ([`VENV_DIR`], first on `PATH`), so `pip install ...` and
/// `python -m pip install ...` install there despite Debian's
/// EXTERNALLY-MANAGED marker; `pip install --upgrade pip` upgrades the
/// venv's pip; a `--user` flag is dropped, as it would install outside the venv.
///
/// # Cache key
/// The script (with its variables), the venv settings and the manifests:
/// the detector's, plus requirement files the lines name (`-r`, `-c`, and
/// those they include); the whole tree ([`WHOLE_TREE`]) when a line installs
/// the project itself (`pip install -e .`, `pip install .`, a local path,
/// `poetry install`, `uv sync`).
#[must_use]
pub fn install_from_workflow(tree: &Path, ci: &crate::CiStep) -> Option<InstallSpec> {
    let workdir = ci.working_directory.as_deref().unwrap_or("");
    let detected = detect_install_in(tree, workdir)?;
    let parts = crate::workflow::install_step_parts(tree, ci);
    if parts.is_empty() {
        return None;
    }
    let python = is_python(&detected);
    let mut script = String::new();
    if python {
        script.push_str(VENV_CREATE);
        script.push('\n');
    }
    let mut manifests = detected.manifests.clone();
    for part in &parts {
        script.push_str("(\n");
        for (k, v) in &part.env {
            if usable_workflow_var(k, v) {
                // Writing to a String cannot fail.
                let _ = writeln!(script, "export {k}={}", crate::shell_quote(v));
            } else {
                tracing::debug!(name = %k, "workflow variable left out of the install");
            }
        }
        if let Some(dir) = &part.dir {
            // Only manifests are copied in: the step's directory may hold none.
            let dir = crate::shell_quote(dir);
            let _ = writeln!(script, "mkdir -p {dir} && cd {dir}");
        }
        for line in &part.lines {
            let line = if python {
                without_user_flag(line)
            } else {
                line.clone()
            };
            script.push_str(&line);
            script.push('\n');
            manifests.extend(line_manifests(
                tree,
                part.dir.as_deref().unwrap_or(""),
                &line,
            ));
        }
        script.push_str(")\n");
    }
    let manifests = if manifests.iter().any(|m| m == WHOLE_TREE) {
        vec![WHOLE_TREE.to_owned()]
    } else {
        manifests.sort();
        manifests.dedup();
        manifests
    };
    Some(InstallSpec {
        command: sh_e(script),
        manifests,
        workdir: String::new(),
        env: if python { venv_env() } else { Vec::new() },
    })
}

/// `pip install --user ...` without `--user`: in the venv it would install
/// under the install's `HOME`, which the test phase does not use.
fn without_user_flag(line: &str) -> String {
    let pip = ["pip ", "pip3 ", "python -m pip ", "python3 -m pip "]
        .iter()
        .any(|p| line.starts_with(p));
    if !pip {
        return line.to_owned();
    }
    line.split(' ')
        .filter(|w| *w != "--user")
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a workflow `env:` entry may go into an install script: a shell
/// name, not one the image decides, and nothing that looks like a credential.
fn usable_workflow_var(name: &str, value: &str) -> bool {
    const CREDENTIAL_WORDS: &[&str] = &[
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "PRIVATE",
        "AUTH",
        "APIKEY",
        "API_KEY",
        "ACCESS_KEY",
        "SESSION",
        "COOKIE",
    ];
    let shell_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let upper = name.to_ascii_uppercase();
    shell_name
        && !["PATH", "HOME", "VIRTUAL_ENV"].contains(&upper.as_str())
        && !CREDENTIAL_WORDS.iter().any(|w| upper.contains(w))
        && !upper.ends_with("KEY")
        && !upper.ends_with("_PAT")
        && !url_with_password(value)
}

/// `scheme://user:password@host...` anywhere in `value`.
fn url_with_password(value: &str) -> bool {
    value.match_indices("://").any(|(at, _)| {
        let authority = value[at + 3..]
            .split(['/', ' ', '"', '\''])
            .next()
            .unwrap_or("");
        authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    })
}

/// What an install line reads from the checkout, for the cache key: the
/// requirement files it names (and theirs), or [`WHOLE_TREE`] when it
/// installs the project itself or names files through variables. Lenient:
/// when in doubt, the whole tree, which costs cache hits, never correctness.
fn line_manifests(tree: &Path, dir: &str, line: &str) -> Vec<String> {
    let words: Vec<&str> = line
        .split_whitespace()
        .map(|w| w.trim_matches(['\'', '"']))
        .collect();
    let whole = || vec![WHOLE_TREE.to_owned()];
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        match w {
            "poetry" | "uv"
                if words
                    .get(i + 1)
                    .is_some_and(|n| matches!(*n, "install" | "sync")) =>
            {
                return whole();
            }
            "npm" | "yarn" | "pnpm" => {
                out.extend(
                    [
                        "package.json",
                        "package-lock.json",
                        "npm-shrinkwrap.json",
                        "yarn.lock",
                        "pnpm-lock.yaml",
                    ]
                    .iter()
                    .filter(|f| tree.join(dir).join(f).is_file())
                    .map(|f| rel(dir, f)),
                );
            }
            "go" => out.extend(
                ["go.mod", "go.sum"]
                    .iter()
                    .filter(|f| tree.join(dir).join(f).is_file())
                    .map(|f| rel(dir, f)),
            ),
            "cargo" | "-e" | "--editable" => return whole(),
            _ if w.starts_with("--editable=") || w.starts_with("-e.") => return whole(),
            "-r" | "--requirement" | "-c" | "--constraint" => {
                let Some(file) = words.get(i + 1) else {
                    return whole();
                };
                if file.contains('$') {
                    return whole();
                }
                let found = requirement_manifests(tree, dir, &[(*file).to_owned()]);
                if found.iter().any(|m| m == WHOLE_TREE) {
                    return whole();
                }
                out.extend(found);
                i += 1;
            }
            _ if ["--requirement=", "--constraint="]
                .iter()
                .any(|p| w.starts_with(p)) =>
            {
                let file = w.split_once('=').map_or("", |(_, f)| f);
                if file.is_empty() || file.contains('$') {
                    return whole();
                }
                let found = requirement_manifests(tree, dir, &[file.to_owned()]);
                if found.iter().any(|m| m == WHOLE_TREE) {
                    return whole();
                }
                out.extend(found);
            }
            _ if w.starts_with('.') || w.starts_with('/') || w.contains("file:") => {
                return whole();
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// A detector: given the tree and a workdir, the spec if its ecosystem applies.
type Detector = fn(&Path, &str) -> Option<InstallSpec>;

/// The detection table, first match wins. To support an ecosystem, add a row.
///
/// Tested end to end: `python-requirements`. Detected but not yet run against
/// a real project: `python-project` (the same venv, `pip install -e`), and
/// `npm`, `go`, `cargo`, `maven`, whose images ([`DEFAULT_IMAGE`](crate::DEFAULT_IMAGE)
/// is Python only) must bring the tool.
const DETECTORS: &[(&str, Detector)] = &[
    ("python-requirements", python_requirements),
    ("python-project", python_project),
    ("npm", npm),
    ("go", go),
    ("cargo", cargo),
    ("maven", maven),
];

/// The install spec for the project at `tree`, if it declares dependencies selfheal knows how to install.
pub fn detect_install(tree: &Path) -> Option<InstallSpec> {
    detect_install_in(tree, "")
}

/// Like [`detect_install`], for a project in the repo-relative directory `workdir` (`""` is the root).
pub fn detect_install_in(tree: &Path, workdir: &str) -> Option<InstallSpec> {
    DETECTORS.iter().find_map(|(name, detect)| {
        let spec = detect(tree, workdir)?;
        tracing::debug!(ecosystem = name, ?spec, "detected an install phase");
        Some(spec)
    })
}

fn rel(workdir: &str, name: &str) -> String {
    if workdir.is_empty() {
        name.to_owned()
    } else {
        format!("{}/{name}", workdir.trim_end_matches('/'))
    }
}

fn spec(command: &[&str], manifests: Vec<String>, workdir: &str) -> InstallSpec {
    InstallSpec {
        command: command.iter().map(|&s| s.to_owned()).collect(),
        manifests,
        workdir: workdir.to_owned(),
        env: Vec::new(),
    }
}

fn venv_env() -> Vec<(String, String)> {
    [
        ("VIRTUAL_ENV", VENV_DIR),
        // A pip cache would only make the image bigger: it is built once.
        ("PIP_NO_CACHE_DIR", "1"),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
        ("PIP_NO_INPUT", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn venv_then(install: &str) -> Vec<String> {
    vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!("{VENV_CREATE} && {install}"),
    ]
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@+,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `requirements*.txt` in the workdir: a venv and `pip install -r` of each, in name order.
fn python_requirements(tree: &Path, workdir: &str) -> Option<InstallSpec> {
    let dir = tree.join(workdir);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        // pip's own convention is lower-case `.txt`; `REQUIREMENTS.TXT` is not one of its files.
        .filter(|n| {
            n.starts_with("requirements")
                && Path::new(n).extension().and_then(|e| e.to_str()) == Some("txt")
        })
        .filter(|n| dir.join(n).is_file())
        .collect();
    if files.is_empty() {
        return None;
    }
    files.sort();
    let install = format!(
        "\"$VIRTUAL_ENV/bin/pip\" install{}",
        files
            .iter()
            .fold(String::new(), |acc, f| acc + " -r " + &quote(f))
    );
    let manifests = requirement_manifests(tree, workdir, &files);
    Some(InstallSpec {
        command: venv_then(&install),
        env: venv_env(),
        ..spec(&[], manifests, workdir)
    })
}

/// The files the requirements pull in. Lenient by design: `-r`/`-c` files are
/// followed, and anything that installs from the checkout itself (`-e .`, a
/// local path, `file:`) makes the whole tree the manifest rather than guess.
fn requirement_manifests(tree: &Path, workdir: &str, files: &[String]) -> Vec<String> {
    let mut manifests: Vec<String> = Vec::new();
    let mut pending: Vec<String> = files.iter().map(|f| rel(workdir, f)).collect();
    while let Some(path) = pending.pop() {
        if manifests.contains(&path) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(tree.join(&path)) else {
            return vec![WHOLE_TREE.to_owned()];
        };
        let base = Path::new(&path)
            .parent()
            .map_or(String::new(), |p| p.display().to_string());
        for line in text.lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            let nested = ["-r", "--requirement", "-c", "--constraint"]
                .iter()
                .find_map(|flag| line.strip_prefix(flag))
                .map(|rest| rest.trim_start_matches('=').trim());
            if let Some(nested) = nested.filter(|n| !n.is_empty()) {
                if nested.starts_with('/') || nested.split('/').any(|c| c == "..") {
                    return vec![WHOLE_TREE.to_owned()];
                }
                pending.push(rel(&base, nested));
            } else if line.starts_with("-e")
                || line.starts_with("--editable")
                || line.starts_with('.')
                || line.starts_with('/')
                || line.contains("file:")
            {
                return vec![WHOLE_TREE.to_owned()];
            }
        }
        manifests.push(path);
    }
    manifests.sort();
    manifests
}

/// `pyproject.toml`, `setup.py` or `setup.cfg` that declare dependencies: an
/// editable install with the `test` extra, or without it if that fails.
/// Needs the whole tree. A project that declares none needs nothing the
/// image lacks (its tests find the code through their own path settings),
/// so there is no install phase and no network for it.
fn python_project(tree: &Path, workdir: &str) -> Option<InstallSpec> {
    let dir = tree.join(workdir);
    if !python_declares_dependencies(&dir) {
        return None;
    }
    Some(InstallSpec {
        command: venv_then(
            "{ \"$VIRTUAL_ENV/bin/pip\" install -e '.[test]' || \"$VIRTUAL_ENV/bin/pip\" install -e .; }",
        ),
        env: venv_env(),
        ..spec(&[], vec![WHOLE_TREE.to_owned()], workdir)
    })
}

/// Manifests that exist among `names` in the workdir, or `None` if `required` is missing.
fn present(tree: &Path, workdir: &str, required: &str, optional: &[&str]) -> Option<Vec<String>> {
    let dir = tree.join(workdir);
    if !dir.join(required).is_file() {
        return None;
    }
    let mut found = vec![rel(workdir, required)];
    found.extend(
        optional
            .iter()
            .filter(|f| dir.join(f).is_file())
            .map(|f| rel(workdir, f)),
    );
    Some(found)
}

/// Not yet tested: `npm ci` from `package.json` and `package-lock.json`.
fn npm(tree: &Path, workdir: &str) -> Option<InstallSpec> {
    let manifests = present(tree, workdir, "package-lock.json", &["package.json"])?;
    Some(spec(&["npm", "ci"], manifests, workdir))
}

/// Not yet tested: `go mod download` from `go.mod` and `go.sum`.
fn go(tree: &Path, workdir: &str) -> Option<InstallSpec> {
    let manifests = present(tree, workdir, "go.mod", &["go.sum"])?;
    Some(spec(&["go", "mod", "download"], manifests, workdir))
}

/// Not yet tested: `cargo fetch`. Workspace members each have a manifest, so it takes the whole tree.
fn cargo(tree: &Path, workdir: &str) -> Option<InstallSpec> {
    present(tree, workdir, "Cargo.toml", &[])?;
    Some(spec(
        &["cargo", "fetch"],
        vec![WHOLE_TREE.to_owned()],
        workdir,
    ))
}

/// Not yet tested: `mvn -B dependency:go-offline`. Modules each have a `pom.xml`, so it takes the whole tree.
fn maven(tree: &Path, workdir: &str) -> Option<InstallSpec> {
    present(tree, workdir, "pom.xml", &[])?;
    Some(spec(
        &["mvn", "-B", "dependency:go-offline"],
        vec![WHOLE_TREE.to_owned()],
        workdir,
    ))
}

/// An image with the project's dependencies installed, ready for [`DockerSandbox`](crate::DockerSandbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// `selfheal-prepared:<first 16 hex digits of the key>`.
    pub image: String,
    /// Whether the image already existed and nothing was installed.
    pub cached: bool,
    /// Time `prepare` took, lookup included.
    pub duration: Duration,
    /// The install's full output; `None` when cached.
    pub log_path: Option<PathBuf>,
}

/// Runs install phases in containers of a local Docker Engine and caches them as images.
#[derive(Debug, Clone)]
pub struct Installer {
    docker: Docker,
    base_image: String,
    proxy_env: Vec<(String, String)>,
    labels: HashMap<String, String>,
    log_dir: PathBuf,
    timeout: Duration,
    max_upload_bytes: u64,
}

impl Installer {
    /// Connects to the engine named by `DOCKER_HOST`, or the local socket when it is unset.
    pub async fn connect(base_image: &str) -> Result<Self, ValidateError> {
        Self::connect_to(crate::docker::docker_host_from_env().as_deref(), base_image).await
    }

    /// Like [`connect`](Self::connect) with the engine address given (`None`: the local socket).
    pub async fn connect_to(host: Option<&str>, base_image: &str) -> Result<Self, ValidateError> {
        let docker = crate::docker::connect_engine(host).await?;
        Ok(Self {
            docker,
            base_image: base_image.to_owned(),
            proxy_env: Vec::new(),
            labels: HashMap::new(),
            log_dir: std::env::temp_dir().join("selfheal-install"),
            timeout: DEFAULT_TIMEOUT,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        })
    }

    /// The host's proxy settings, as the caller read them; names outside
    /// [`PROXY_ENV_VARS`] are ignored. They reach only the install, never an image.
    #[must_use]
    pub fn with_proxy_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.proxy_env = vars
            .into_iter()
            .filter(|(k, _)| PROXY_ENV_VARS.contains(&k.as_str()))
            .collect();
        self
    }

    /// Adds a label to the install container (and so to the image committed from it).
    #[must_use]
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Where install logs are written (default: `selfheal-install` in the temp directory).
    #[must_use]
    pub fn with_log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = dir.into();
        self
    }

    /// Bounds the install's run time (default 20 minutes).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Bounds the bytes of manifests copied in (default 256 MiB).
    #[must_use]
    pub fn with_max_upload_bytes(mut self, bytes: u64) -> Self {
        self.max_upload_bytes = bytes;
        self
    }

    pub fn base_image(&self) -> &str {
        &self.base_image
    }

    /// The image for `spec` on top of the base image: the cached one if its key
    /// matches, or a fresh install committed under that key. `ca_bundle` is the
    /// host's CA file (a TLS-intercepting proxy needs it); it is copied in for
    /// the install only.
    pub async fn prepare(
        &self,
        tree: &Path,
        spec: &InstallSpec,
        ca_bundle: Option<&Path>,
    ) -> Result<Prepared, ValidateError> {
        let started = Instant::now();
        let base = match self.docker.inspect_image(&self.base_image).await {
            Ok(base) => base,
            Err(e) if status_code(&e) == Some(404) => {
                return Err(ValidateError::ImageMissing {
                    image: self.base_image.clone(),
                });
            }
            Err(source) => {
                return Err(ValidateError::Engine {
                    action: "inspect the base image",
                    source,
                });
            }
        };
        let base_id = base.id.clone().unwrap_or_default();
        let base_config = base.config.unwrap_or_default();

        let root = tree.to_path_buf();
        let manifests = spec.manifests.clone();
        let limit = self.max_upload_bytes;
        let entries = tokio::task::spawn_blocking(move || collect(&root, &manifests, limit))
            .await
            .map_err(|join| ValidateError::ReadTree {
                path: tree.to_path_buf(),
                source: std::io::Error::other(join.to_string()),
            })??;
        let key = cache_key(&base_id, spec, &entries);
        let image = format!("{PREPARED_REPO}:{}", &key[..16]);

        match self.docker.inspect_image(&image).await {
            Ok(found) => {
                let found_key = found
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|mut l| l.remove(PREPARED_KEY_LABEL));
                if found_key.as_deref() == Some(key.as_str()) {
                    return Ok(Prepared {
                        image,
                        cached: true,
                        duration: started.elapsed(),
                        log_path: None,
                    });
                }
                tracing::warn!(%image, "prepared image has another key (a 64-bit collision?); installing again");
            }
            Err(e) if status_code(&e) == Some(404) => {}
            Err(source) => {
                return Err(ValidateError::Engine {
                    action: "inspect a prepared image",
                    source,
                });
            }
        }

        let ca = match ca_bundle {
            Some(path) => Some(
                std::fs::read(path).map_err(|source| ValidateError::ReadTree {
                    path: path.to_path_buf(),
                    source,
                })?,
            ),
            None => None,
        };
        let env = command_env(spec, base_config.env.as_deref().unwrap_or_default());
        let mut secrets: Vec<(String, String)> = Vec::new();
        if ca.is_some() {
            secrets.extend(
                CA_ENV_VARS
                    .iter()
                    .map(|k| ((*k).to_owned(), CA_PATH.to_owned())),
            );
        }
        secrets.extend(self.proxy_env.iter().cloned());
        let archive = upload_archive(&entries, ca.as_deref(), &secrets).map_err(|source| {
            ValidateError::ReadTree {
                path: tree.to_path_buf(),
                source,
            }
        })?;

        let workdir = if spec.workdir.is_empty() {
            PROJECT_DIR.to_owned()
        } else {
            format!("{PROJECT_DIR}/{}", spec.workdir.trim_matches('/'))
        };
        let mut cmd = vec![
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            WRAPPER.to_owned(),
            "selfheal-install".to_owned(),
        ];
        cmd.extend(spec.command.iter().cloned());
        let config = ContainerCreateBody {
            image: Some(self.base_image.clone()),
            cmd: Some(cmd),
            entrypoint: Some(Vec::new()),
            user: Some(INSTALL_USER.to_owned()),
            working_dir: Some(workdir),
            env: Some(env.clone()),
            labels: Some(self.labels.clone()),
            // The default bridge: the network is on for the install, and only for it.
            host_config: Some(HostConfig {
                cap_drop: Some(vec!["ALL".to_owned()]),
                security_opt: Some(vec!["no-new-privileges".to_owned()]),
                init: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = format!("selfheal-install-{}-{}", &key[..16], std::process::id());
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(options), config)
            .await
            .map_err(|source| ValidateError::Container {
                action: "create",
                container: name.clone(),
                source,
            })?;
        let guard = Guard {
            docker: self.docker.clone(),
            id: created.id,
            removed: false,
        };
        let result = self
            .install(
                &guard,
                &name,
                archive,
                spec,
                &key,
                &image,
                &env,
                &base_config,
            )
            .await;
        guard.remove().await;
        let log_path = result?;
        Ok(Prepared {
            image,
            cached: false,
            duration: started.elapsed(),
            log_path: Some(log_path),
        })
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the pieces are computed by prepare in order"
    )]
    async fn install(
        &self,
        guard: &Guard,
        name: &str,
        archive: Vec<u8>,
        spec: &InstallSpec,
        key: &str,
        image: &str,
        env: &[String],
        base_config: &ImageConfig,
    ) -> Result<PathBuf, ValidateError> {
        let failed = |action: &'static str| {
            let container = name.to_owned();
            move |source| ValidateError::Container {
                action,
                container,
                source,
            }
        };
        let upload = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(&guard.id, Some(upload), bollard::body_full(archive.into()))
            .await
            .map_err(failed("copy the manifests into"))?;
        self.docker
            .start_container(&guard.id, None)
            .await
            .map_err(failed("start"))?;

        let mut waits = self.docker.wait_container(
            &guard.id,
            None::<bollard::query_parameters::WaitContainerOptions>,
        );
        let code = match tokio::time::timeout(self.timeout, waits.next()).await {
            Err(_elapsed) => {
                let kill = KillContainerOptionsBuilder::default()
                    .signal("SIGKILL")
                    .build();
                let _ = self.docker.kill_container(&guard.id, Some(kill)).await;
                None
            }
            Ok(Some(Ok(done))) => Some(done.status_code),
            Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => {
                Some(code)
            }
            Ok(Some(Err(source))) => return Err(failed("wait for")(source)),
            Ok(None) => None,
        };
        let output = self
            .output(&guard.id)
            .await
            .map_err(failed("read the output of"))?;
        let command = shell_words(&spec.command);
        let log_path = self.write_log(key, image, &command, code, &output);

        if code != Some(0) {
            let outcome = code.map_or_else(
                || format!("did not finish within {}s", self.timeout.as_secs()),
                |c| format!("exited with {c}"),
            );
            let log = log_path.as_ref().map_or_else(
                |e| format!("the log could not be written: {e}"),
                |p| format!("full output in {}", p.display()),
            );
            return Err(ValidateError::Container {
                action: "install dependencies in",
                container: format!(
                    "{name} from {} (`{command}` {outcome}; {log})",
                    self.base_image
                ),
                source: bollard::errors::Error::DockerContainerWaitError {
                    error: last_lines(&output, ERROR_TAIL_LINES),
                    code: code.unwrap_or(-1),
                },
            });
        }
        let log_path = log_path.map_err(|source| ValidateError::ReadTree {
            path: self.log_dir.clone(),
            source,
        })?;

        let (repo, tag) = image.split_once(':').unwrap_or((image, "latest"));
        let mut labels = base_config.labels.clone().unwrap_or_default();
        labels.extend(self.labels.clone());
        labels.insert(PREPARED_KEY_LABEL.to_owned(), key.to_owned());
        let committed = ContainerConfig {
            // Set in full: Docker's commit adds back any container variable not named here.
            env: Some(env.to_vec()),
            cmd: Some(
                base_config
                    .cmd
                    .clone()
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| vec!["/bin/sh".to_owned()]),
            ),
            entrypoint: base_config.entrypoint.clone(),
            user: base_config.user.clone().filter(|u| !u.is_empty()),
            working_dir: Some(
                base_config
                    .working_dir
                    .clone()
                    .filter(|w| !w.is_empty())
                    .unwrap_or_else(|| PROJECT_DIR.to_owned()),
            ),
            labels: Some(labels),
            ..Default::default()
        };
        let options = CommitContainerOptionsBuilder::default()
            .container(&guard.id)
            .repo(repo)
            .tag(tag)
            .comment(&format!("selfheal install: {command}"))
            .build();
        self.docker
            .commit_container(options, committed)
            .await
            .map_err(failed("commit"))?;
        Ok(log_path)
    }

    async fn output(&self, id: &str) -> Result<Vec<u8>, bollard::errors::Error> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .build();
        let mut logs = self.docker.logs(id, Some(options));
        let mut out = Vec::new();
        while let Some(chunk) = logs.next().await {
            match chunk? {
                LogOutput::StdOut { message }
                | LogOutput::StdErr { message }
                | LogOutput::Console { message } => out.extend_from_slice(&message),
                LogOutput::StdIn { .. } => {}
            }
        }
        Ok(out)
    }

    fn write_log(
        &self,
        key: &str,
        image: &str,
        command: &str,
        code: Option<i64>,
        output: &[u8],
    ) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.log_dir)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let path = self.log_dir.join(format!("{}-{stamp}.log", &key[..16]));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            text,
            "# selfheal install for {image}\n# base image: {}\n# command: {command}\n# exit code: {}\n",
            self.base_image,
            code.map_or_else(|| "none (timed out)".to_owned(), |c| c.to_string())
        );
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(output);
        std::fs::write(&path, bytes)?;
        Ok(path)
    }
}

fn set(env: &mut Vec<(String, String)>, k: &str, v: String) {
    match env.iter_mut().find(|(key, _)| key == k) {
        Some(slot) => slot.1 = v,
        None => env.push((k.to_owned(), v)),
    }
}

/// The command's environment, which is also the prepared image's: the base
/// image's, then the spec's, with the venv's `bin` first on `PATH`.
fn command_env(spec: &InstallSpec, base_env: &[String]) -> Vec<String> {
    let mut env: Vec<(String, String)> = base_env
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    for (k, v) in &spec.env {
        set(&mut env, k, v.clone());
    }
    if let Some((_, venv)) = spec.env.iter().find(|(k, _)| k == "VIRTUAL_ENV") {
        let path = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map_or_else(|| DEFAULT_PATH.to_owned(), |(_, v)| v.clone());
        set(&mut env, "PATH", format!("{venv}/bin:{path}"));
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// A file, directory or link to copy, by repo-relative path.
#[derive(Debug)]
enum Entry {
    Dir(String),
    File {
        path: String,
        mode: u32,
        bytes: Vec<u8>,
    },
    Link {
        path: String,
        target: String,
    },
}

/// Reads every manifest (directories recursively, skipping [`SKIPPED_NAMES`]) in a stable order.
fn collect(tree: &Path, manifests: &[String], limit: u64) -> Result<Vec<Entry>, ValidateError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ValidateError::ReadTree { path, source }
    };
    let mut entries = Vec::new();
    let mut total = 0u64;
    let mut sorted: Vec<&String> = manifests.iter().collect();
    sorted.sort();
    sorted.dedup();
    for manifest in sorted {
        let clean = manifest.trim_matches('/');
        if manifest.starts_with('/') || clean.split('/').any(|c| c == "..") {
            return Err(ValidateError::ReadTree {
                path: tree.join(manifest),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a manifest must be a path inside the tree",
                ),
            });
        }
        let clean = if clean == WHOLE_TREE { "" } else { clean };
        let mut pending = vec![clean.to_owned()];
        while let Some(rel_path) = pending.pop() {
            let path = if rel_path.is_empty() {
                tree.to_path_buf()
            } else {
                tree.join(&rel_path)
            };
            let meta = std::fs::symlink_metadata(&path).map_err(err(&path))?;
            if meta.is_dir() {
                if !rel_path.is_empty() {
                    entries.push(Entry::Dir(rel_path.clone()));
                }
                let mut names: Vec<String> = std::fs::read_dir(&path)
                    .map_err(err(&path))?
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| !SKIPPED_NAMES.contains(&n.as_str()))
                    .collect();
                names.sort();
                pending.extend(names.iter().rev().map(|n| {
                    if rel_path.is_empty() {
                        n.clone()
                    } else {
                        format!("{rel_path}/{n}")
                    }
                }));
            } else if meta.is_file() {
                total = total.saturating_add(meta.len());
                if total > limit {
                    return Err(ValidateError::TreeTooLarge {
                        path: tree.to_path_buf(),
                        bytes: total,
                        limit,
                    });
                }
                let bytes = std::fs::read(&path).map_err(err(&path))?;
                #[cfg(unix)]
                let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
                #[cfg(not(unix))]
                let mode = 0o644;
                entries.push(Entry::File {
                    path: rel_path,
                    mode,
                    bytes,
                });
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&path).map_err(err(&path))?;
                entries.push(Entry::Link {
                    path: rel_path,
                    target: target.display().to_string(),
                });
            }
        }
    }
    Ok(entries)
}

/// sha256 over everything that decides what gets installed; each field is
/// length-prefixed so that no two different inputs hash the same bytes.
fn cache_key(base_id: &str, spec: &InstallSpec, entries: &[Entry]) -> String {
    let mut h = Sha256::new();
    let mut field = |tag: &str, bytes: &[u8]| {
        h.update(tag.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field("recipe", RECIPE_VERSION.as_bytes());
    field("base", base_id.as_bytes());
    for arg in &spec.command {
        field("arg", arg.as_bytes());
    }
    for (k, v) in &spec.env {
        field("envk", k.as_bytes());
        field("envv", v.as_bytes());
    }
    field("workdir", spec.workdir.as_bytes());
    for entry in entries {
        match entry {
            Entry::Dir(path) => field("dir", path.as_bytes()),
            Entry::File { path, mode, bytes } => {
                field("file", path.as_bytes());
                field("mode", &mode.to_le_bytes());
                field("bytes", bytes);
            }
            Entry::Link { path, target } => {
                field("link", path.as_bytes());
                field("target", target.as_bytes());
            }
        }
    }
    hex::encode(h.finalize())
}

/// The tar extracted at `/`: the manifests under `/work`, `/opt/selfheal` for
/// the venv, and `/etc/selfheal` with the CA bundle and the secret
/// environment, all owned by the install user so it can delete the secrets.
fn upload_archive(
    entries: &[Entry],
    ca: Option<&[u8]>,
    secrets: &[(String, String)],
) -> std::io::Result<Vec<u8>> {
    let project = PROJECT_DIR.trim_start_matches('/');
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs: Vec<String> = vec![
        project.to_owned(),
        "opt/selfheal".to_owned(),
        "etc/selfheal".to_owned(),
    ];
    for entry in entries {
        let path = match entry {
            Entry::Dir(p) | Entry::File { path: p, .. } | Entry::Link { path: p, .. } => p,
        };
        // Parents first, so a manifest in a subdirectory lands in a directory the user owns.
        let mut parent = Path::new(path).parent();
        let mut chain = Vec::new();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            chain.push(format!("{project}/{}", p.display()));
            parent = p.parent();
        }
        dirs.extend(chain.into_iter().rev());
        if let Entry::Dir(p) = entry {
            dirs.push(format!("{project}/{p}"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for dir in dirs.into_iter().filter(|d| seen.insert(d.clone())) {
        append(
            &mut b,
            tar::EntryType::Directory,
            &format!("{dir}/"),
            0o755,
            &[],
        )?;
    }
    for entry in entries {
        match entry {
            Entry::Dir(_) => {}
            Entry::File { path, mode, bytes } => append(
                &mut b,
                tar::EntryType::Regular,
                &format!("{project}/{path}"),
                *mode,
                bytes,
            )?,
            Entry::Link { path, target } => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                b.append_link(&mut h, format!("{project}/{path}"), target)?;
            }
        }
    }
    if let Some(ca) = ca {
        append(
            &mut b,
            tar::EntryType::Regular,
            CA_PATH.trim_start_matches('/'),
            0o644,
            ca,
        )?;
    }
    let mut env_file = String::new();
    for (k, v) in secrets {
        let _ = writeln!(env_file, "{k}={}", quote(v));
    }
    append(
        &mut b,
        tar::EntryType::Regular,
        SECRET_ENV_FILE.trim_start_matches('/'),
        0o600,
        env_file.as_bytes(),
    )?;
    b.into_inner()
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(INSTALL_UID);
    h.set_gid(INSTALL_UID);
    // A fixed time: the archive depends only on the inputs, like the key.
    h.set_mtime(0);
    h
}

fn append(
    b: &mut tar::Builder<Vec<u8>>,
    kind: tar::EntryType,
    path: &str,
    mode: u32,
    bytes: &[u8],
) -> std::io::Result<()> {
    let mut h = header(kind, mode, bytes.len() as u64);
    b.append_data(&mut h, path, bytes)
}

fn shell_words(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

/// The last `n` non-empty lines of `output`, on one line.
fn last_lines(output: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Removes the install container however `prepare` ends, a dropped future included.
struct Guard {
    docker: Docker,
    id: String,
    removed: bool,
}

impl Guard {
    async fn remove(mut self) {
        self.removed = true;
        remove(&self.docker, &self.id).await;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let docker = self.docker.clone();
        let id = std::mem::take(&mut self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { remove(&docker, &id).await });
        }
    }
}

async fn remove(docker: &Docker, id: &str) {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => {}
        Err(e) if matches!(status_code(&e), Some(404 | 409)) => {}
        Err(e) => tracing::warn!(container = %id, error = %e, "could not remove install container"),
    }
}

/// Whether a Python project's metadata names anything to install:
/// `[project] dependencies` or `optional-dependencies`, PEP 735
/// `[dependency-groups]`, Poetry's dependencies beyond `python`, or
/// setuptools' `install_requires`/`extras_require`/`tests_require`.
fn python_declares_dependencies(dir: &Path) -> bool {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    if let Some(text) = read("pyproject.toml") {
        let Ok(doc) = text.parse::<toml::Table>() else {
            // Unreadable metadata: let pip say what is wrong with it.
            return true;
        };
        let non_empty = |v: Option<&toml::Value>| match v {
            Some(toml::Value::Array(a)) => !a.is_empty(),
            Some(toml::Value::Table(t)) => !t.is_empty(),
            _ => false,
        };
        let project = doc.get("project");
        if non_empty(project.and_then(|p| p.get("dependencies")))
            || non_empty(project.and_then(|p| p.get("optional-dependencies")))
            || non_empty(doc.get("dependency-groups"))
        {
            return true;
        }
        let poetry = doc
            .get("tool")
            .and_then(|t| t.get("poetry"))
            .and_then(|p| p.get("dependencies"))
            .and_then(toml::Value::as_table);
        if poetry.is_some_and(|deps| deps.keys().any(|k| k != "python")) {
            return true;
        }
    }
    ["setup.py", "setup.cfg"].iter().any(|name| {
        read(name).is_some_and(|text| {
            ["install_requires", "extras_require", "tests_require"]
                .iter()
                .any(|key| text.contains(key))
        })
    })
}
