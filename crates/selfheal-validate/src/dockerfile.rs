//! The repository's own Dockerfile, built as the sandbox's base image.
//!
//! Where a project's CI runs its tests in an image it builds itself, the
//! closest selfheal can get to that CI is the same image. [`RepoImageBuilder`]
//! builds `[validate] dockerfile` from the *unpatched* failing commit's tree
//! through the engine's `/build` endpoint and tags it
//! `selfheal-repo:<first 16 hex digits of the key>`; the image is then used
//! like a configured one (the install phase and the tests run on it).
//!
//! The cache key is a sha256 of the Dockerfile's text, the ids of the local
//! images it starts from, and every file of the build context that is sent
//! (path, executable bit, bytes; links by target), so the build is skipped
//! while none of them changes: a second call walks the context and inspects
//! one image. Files the context's `.dockerignore` excludes are neither sent nor
//! hashed, as with `docker build`.
//!
//! No registry is used: the base images must already be in the engine. Each
//! `FROM` (and `COPY --from` of an image) is looked up before anything is
//! sent, so a missing one is a one-line error with a hint instead of a pull
//! that fails on DNS. The build itself keeps the engine's default network, as
//! a Dockerfile's `RUN apt-get`/`pip install` steps need it; the proxy
//! variables the caller passes go in as Docker's predefined proxy build
//! arguments, which stay out of the image's history and the layer cache.
//!
//! The build uses the engine's classic builder (API builder version 1), which
//! every engine since 17.x speaks and needs no `BuildKit` session; `BuildKit`-only
//! syntax (`RUN --mount`, heredocs) is not supported.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::status_code;
use crate::tree::{self, Found};
use crate::{PROXY_ENV_VARS, ValidateError};

/// Repository of the images [`RepoImageBuilder::build`] tags; the tag is the first 16 hex digits of the key.
pub const REPO_IMAGE_REPO: &str = "selfheal-repo";
/// Label on a built image holding its full cache key.
pub const REPO_IMAGE_KEY_LABEL: &str = "org.selfheal.repo-image.key";
/// Name under which a Dockerfile that lies outside its build context is sent.
pub const OUTSIDE_DOCKERFILE_NAME: &str = ".selfheal.Dockerfile";

/// Bumped whenever the way an image is built changes, so images built the old way are not reused.
const RECIPE_VERSION: &str = "selfheal-repo-image-1";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const DEFAULT_MAX_CONTEXT_BYTES: u64 = 256 * 1024 * 1024;
/// A Dockerfile is text a person wrote; anything bigger is not one.
const MAX_DOCKERFILE_BYTES: u64 = 1024 * 1024;
/// Longest quoted message in an error, so that it stays one readable line.
const MESSAGE_MAX_CHARS: usize = 300;

/// One finished step of a Dockerfile build (`Step 2/4 : RUN ...`), for a one-line progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    /// 1-based.
    pub number: usize,
    pub total: usize,
    /// The instruction as the engine echoed it (`RUN echo ok > /opt/marker`).
    pub instruction: String,
    pub duration: Duration,
}

/// An image built from the repository's Dockerfile, ready for
/// [`DockerSandbox`](crate::DockerSandbox) or as an [`Installer`](crate::Installer)'s base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// `selfheal-repo:<first 16 hex digits of the key>`.
    pub image: String,
    /// The engine's image id (`sha256:...`).
    pub id: String,
    /// The full cache key (also the [`REPO_IMAGE_KEY_LABEL`] label).
    pub key: String,
    /// Whether the image already existed and nothing was built.
    pub cached: bool,
    /// Time `build` took, the context walk and lookups included.
    pub duration: Duration,
    /// Bytes of files in the build context that was hashed (and sent, when built).
    pub context_bytes: u64,
    /// The build's full output; `None` when cached.
    pub log_path: Option<PathBuf>,
    /// The Dockerfile's steps with their times; empty when cached.
    pub steps: Vec<BuildStep>,
}

type Progress = Arc<dyn Fn(&BuildStep) + Send + Sync>;

/// Builds repositories' Dockerfiles in a local Docker Engine and caches them as images.
#[derive(Clone)]
pub struct RepoImageBuilder {
    docker: Docker,
    labels: HashMap<String, String>,
    proxy_env: Vec<(String, String)>,
    log_dir: PathBuf,
    timeout: Duration,
    max_context_bytes: u64,
    progress: Option<Progress>,
}

impl std::fmt::Debug for RepoImageBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoImageBuilder")
            .field("labels", &self.labels)
            .field("log_dir", &self.log_dir)
            .field("timeout", &self.timeout)
            .field("max_context_bytes", &self.max_context_bytes)
            .field("progress", &self.progress.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds `dockerfile` from `tree` with the engine `DOCKER_HOST` names (or
/// the local socket), logging under `log_dir` (default: `selfheal-build` in
/// the temp directory). A shorthand for [`RepoImageBuilder`] with its defaults.
pub async fn build_repo_image(
    tree: &Path,
    dockerfile: &str,
    context: Option<&str>,
    log_dir: Option<&Path>,
) -> Result<BuiltImage, ValidateError> {
    let mut builder = RepoImageBuilder::connect().await?;
    if let Some(dir) = log_dir {
        builder = builder.with_log_dir(dir);
    }
    builder.build(tree, dockerfile, context).await
}

impl RepoImageBuilder {
    /// Connects to the engine named by `DOCKER_HOST`, or the local socket when it is unset.
    pub async fn connect() -> Result<Self, ValidateError> {
        Self::connect_to(crate::docker::docker_host_from_env().as_deref()).await
    }

    /// Like [`connect`](Self::connect) with the engine address given (`None`: the local socket).
    pub async fn connect_to(host: Option<&str>) -> Result<Self, ValidateError> {
        let docker = crate::docker::connect_engine(host).await?;
        Ok(Self {
            docker,
            labels: HashMap::new(),
            proxy_env: Vec::new(),
            log_dir: std::env::temp_dir().join("selfheal-build"),
            timeout: DEFAULT_TIMEOUT,
            max_context_bytes: DEFAULT_MAX_CONTEXT_BYTES,
            progress: None,
        })
    }

    /// Adds a label to the built image. Labels are not part of the cache key.
    #[must_use]
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// The host's proxy settings, as the caller read them, for the build's `RUN`
    /// steps; names outside [`PROXY_ENV_VARS`] are ignored. Docker keeps these
    /// predefined build arguments out of the image's history.
    #[must_use]
    pub fn with_proxy_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.proxy_env = vars
            .into_iter()
            .filter(|(k, _)| PROXY_ENV_VARS.contains(&k.as_str()))
            .collect();
        self
    }

    /// Where build logs are written (default: `selfheal-build` in the temp directory).
    #[must_use]
    pub fn with_log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = dir.into();
        self
    }

    /// Bounds the build's run time (default 30 minutes).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Bounds the bytes of files sent as the build context (default 256 MiB).
    #[must_use]
    pub fn with_max_context_bytes(mut self, bytes: u64) -> Self {
        self.max_context_bytes = bytes;
        self
    }

    /// Called as each step of the Dockerfile finishes (a library does not
    /// print; the CLI turns this into one line per step).
    #[must_use]
    pub fn with_progress(mut self, progress: impl Fn(&BuildStep) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// The image for the Dockerfile at `dockerfile` (repo-relative) built with
    /// the directory `context` (repo-relative; `None`: the repository root, as
    /// `docker build -f ci/Dockerfile .` in CI) of `tree` as its context: the
    /// cached one if its key matches, or a fresh build tagged with that key.
    /// `tree` must be the unpatched checkout, so that patches do not rebuild it.
    pub async fn build(
        &self,
        tree: &Path,
        dockerfile: &str,
        context: Option<&str>,
    ) -> Result<BuiltImage, ValidateError> {
        let started = Instant::now();
        let input = |reason: String| ValidateError::DockerfileInput {
            dockerfile: dockerfile.to_owned(),
            reason,
        };
        let root = tree
            .canonicalize()
            .map_err(|source| ValidateError::ReadTree {
                path: tree.to_path_buf(),
                source,
            })?;
        let dockerfile_path = resolve(&root, dockerfile, false).map_err(input)?;
        let context_rel = context.unwrap_or("");
        let context_dir = resolve(&root, context_rel, true).map_err(|reason| {
            input(format!(
                "build context {}: {reason}",
                display_rel(context_rel)
            ))
        })?;
        let text = std::fs::read(&dockerfile_path).map_err(|source| ValidateError::ReadTree {
            path: dockerfile_path.clone(),
            source,
        })?;
        let text = String::from_utf8(text)
            .map_err(|_| input("the Dockerfile is not UTF-8 text".to_owned()))?;

        let bases = self.base_image_ids(dockerfile, &text).await?;

        let limit = self.max_context_bytes;
        let dir = context_dir.clone();
        let file = dockerfile_path.clone();
        let packed = tokio::task::spawn_blocking(move || pack_context(&dir, &file, limit))
            .await
            .map_err(|join| ValidateError::ReadTree {
                path: context_dir.clone(),
                source: std::io::Error::other(join.to_string()),
            })??;

        let key = cache_key(&text, &bases, &packed);
        let image = format!("{REPO_IMAGE_REPO}:{}", &key[..16]);
        if let Some(id) = self.cached_id(&image, &key).await? {
            return Ok(BuiltImage {
                image,
                id,
                key,
                cached: true,
                duration: started.elapsed(),
                context_bytes: packed.bytes,
                log_path: None,
                steps: Vec::new(),
            });
        }

        let log_path = self.log_dir.join(format!(
            "{}-{}.log",
            &key[..16],
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        ));
        let mut log = Log::create(&log_path)?;
        log.line(&format!(
            "# selfheal build of {dockerfile} (context {}) as {image}",
            display_rel(context_rel)
        ))?;
        let (steps, context_bytes) = self
            .run_build(dockerfile, &image, &key, packed, &mut log)
            .await?;
        let id = self
            .cached_id(&image, &key)
            .await?
            .ok_or_else(|| ValidateError::ImageBuild {
                dockerfile: dockerfile.to_owned(),
                step: "the end".to_owned(),
                message: format!(
                    "the engine reported success but has no image {image} with this key"
                ),
                log: log_path.clone(),
            })?;
        Ok(BuiltImage {
            image,
            id,
            key,
            cached: false,
            duration: started.elapsed(),
            context_bytes,
            log_path: Some(log_path),
            steps,
        })
    }

    /// The ids of the local images the Dockerfile starts from, by name; a
    /// missing one is [`ValidateError::BaseImageMissing`]. Names that use a
    /// build argument without a default cannot be known here; the build
    /// itself reports those.
    async fn base_image_ids(
        &self,
        dockerfile: &str,
        text: &str,
    ) -> Result<BTreeMap<String, String>, ValidateError> {
        let mut ids = BTreeMap::new();
        for name in external_images(text) {
            match self.docker.inspect_image(&name).await {
                Ok(found) => {
                    ids.insert(name, found.id.unwrap_or_default());
                }
                Err(e) if status_code(&e) == Some(404) => {
                    return Err(ValidateError::BaseImageMissing {
                        dockerfile: dockerfile.to_owned(),
                        image: name,
                    });
                }
                Err(source) => {
                    return Err(ValidateError::Engine {
                        action: "inspect a base image",
                        source,
                    });
                }
            }
        }
        Ok(ids)
    }

    /// The id of `image` when it exists with `key` as its label.
    async fn cached_id(&self, image: &str, key: &str) -> Result<Option<String>, ValidateError> {
        match self.docker.inspect_image(image).await {
            Ok(found) => {
                let found_key = found
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|mut l| l.remove(REPO_IMAGE_KEY_LABEL));
                if found_key.as_deref() == Some(key) {
                    return Ok(Some(found.id.unwrap_or_default()));
                }
                tracing::warn!(%image, "repository image has another key (a 64-bit collision?); building again");
                Ok(None)
            }
            Err(e) if status_code(&e) == Some(404) => Ok(None),
            Err(source) => Err(ValidateError::Engine {
                action: "inspect a repository image",
                source,
            }),
        }
    }

    /// Sends the context and follows the build's output into `log`; the
    /// finished steps and the bytes sent on success.
    async fn run_build(
        &self,
        dockerfile: &str,
        image: &str,
        key: &str,
        packed: Packed,
        log: &mut Log,
    ) -> Result<(Vec<BuildStep>, u64), ValidateError> {
        let mut labels = self.labels.clone();
        labels.insert(REPO_IMAGE_KEY_LABEL.to_owned(), key.to_owned());
        let build_args: HashMap<String, String> = self.proxy_env.iter().cloned().collect();
        let options = BuildImageOptionsBuilder::default()
            .dockerfile(&packed.dockerfile_name)
            .t(image)
            // Never pull: the base images were found locally above, and no registry is assumed.
            .pull("false")
            .rm(true)
            .forcerm(true)
            .labels(&labels)
            .buildargs(&build_args)
            .build();
        let bytes = packed.bytes;
        let mut stream =
            self.docker
                .build_image(options, None, Some(bollard::body_full(packed.tar.into())));
        let deadline = tokio::time::Instant::now() + self.timeout;
        // The classic builder runs each label as a `LABEL` step after the
        // Dockerfile's own; those are not the user's, so they are not reported.
        let mut progress = StepTracker {
            appended: labels.len(),
            ..StepTracker::default()
        };
        let failure = loop {
            let item = match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_elapsed) => {
                    // Dropping the stream closes the connection, which cancels the build.
                    break Some(format!("did not finish within {}s", self.timeout.as_secs()));
                }
                Ok(None) => break None,
                Ok(Some(item)) => item,
            };
            match item {
                Ok(info) => {
                    for text in [info.stream, info.status].into_iter().flatten() {
                        log.text(&text)?;
                        for step in progress.feed(&text) {
                            self.report(&step);
                        }
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    log.line(&format!("# error: {error}"))?;
                    break Some(error);
                }
                Err(source) => {
                    let _ = log.line(&format!("# engine error: {source}"));
                    return Err(ValidateError::Engine {
                        action: "build an image",
                        source,
                    });
                }
            }
        };
        drop(stream);
        let Some(message) = failure else {
            for step in progress.finish() {
                self.report(&step);
            }
            return Ok((progress.done, bytes));
        };
        let current = progress.current.as_ref();
        if let Some((_, _, instruction, _)) = current
            && let Some(base) = from_image(instruction)
        {
            // A base named through a build argument, missed by the lookup before the build.
            return Err(ValidateError::BaseImageMissing {
                dockerfile: dockerfile.to_owned(),
                image: base,
            });
        }
        let step = current.map_or_else(
            || "the start".to_owned(),
            |(n, total, instruction, _)| {
                if n > total {
                    format!("the labels selfheal adds ({})", one_line(instruction, 120))
                } else {
                    format!("step {n}/{total} ({})", one_line(instruction, 120))
                }
            },
        );
        let mut message = one_line(&message, MESSAGE_MAX_CHARS);
        if let Some(last) = progress.last_output.as_deref() {
            message = format!(
                "{message} (last output: {})",
                one_line(last, MESSAGE_MAX_CHARS)
            );
        }
        Err(ValidateError::ImageBuild {
            dockerfile: dockerfile.to_owned(),
            step,
            message,
            log: log.path.clone(),
        })
    }

    fn report(&self, step: &BuildStep) {
        tracing::info!(step = step.number, total = step.total, instruction = %step.instruction, ms = step.duration.as_millis(), "image build step done");
        if let Some(progress) = &self.progress {
            progress(step);
        }
    }
}

/// The build log, written as the output arrives so that a killed run leaves what it had.
struct Log {
    path: PathBuf,
    file: std::fs::File,
}

impl Log {
    fn create(path: &Path) -> Result<Self, ValidateError> {
        let err = |source| ValidateError::BuildLog {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let file = std::fs::File::create(path).map_err(err)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    fn text(&mut self, text: &str) -> Result<(), ValidateError> {
        self.file
            .write_all(text.as_bytes())
            .map_err(|source| ValidateError::BuildLog {
                path: self.path.clone(),
                source,
            })
    }

    fn line(&mut self, line: &str) -> Result<(), ValidateError> {
        self.text(&format!("{line}\n"))
    }
}

/// Follows the classic builder's `Step N/M : INSTRUCTION` lines through the output.
#[derive(Default)]
struct StepTracker {
    /// An unfinished line of output.
    partial: String,
    /// Number, total, instruction, start of the step under way.
    current: Option<(usize, usize, String, Instant)>,
    done: Vec<BuildStep>,
    /// The last line the step under way printed itself (not the builder's bookkeeping).
    last_output: Option<String>,
    /// Steps the builder adds after the Dockerfile's own (one per label).
    appended: usize,
}

impl StepTracker {
    /// Takes a chunk of output; the steps it shows finished.
    fn feed(&mut self, text: &str) -> Vec<BuildStep> {
        self.partial.push_str(text);
        let mut finished = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            let line = line.trim_end();
            if let Some((number, total, instruction)) = step_header(line) {
                finished.extend(self.close());
                let total = total.saturating_sub(self.appended);
                self.current = Some((number, total, instruction.to_owned(), Instant::now()));
                self.last_output = None;
            } else if !line.trim().is_empty()
                && !line.starts_with(" ---> ")
                && !line.starts_with("Removing intermediate container")
            {
                self.last_output = Some(line.to_owned());
            }
        }
        finished
    }

    fn finish(&mut self) -> Vec<BuildStep> {
        self.close().into_iter().collect()
    }

    fn close(&mut self) -> Option<BuildStep> {
        let (number, total, instruction, started) = self.current.take()?;
        if number > total {
            return None;
        }
        let step = BuildStep {
            number,
            total,
            instruction,
            duration: started.elapsed(),
        };
        self.done.push(step.clone());
        Some(step)
    }
}

/// `Step 2/4 : RUN echo ok` → (2, 4, "RUN echo ok").
fn step_header(line: &str) -> Option<(usize, usize, &str)> {
    let rest = line.strip_prefix("Step ")?;
    let (counts, instruction) = rest.split_once(" : ")?;
    let (n, total) = counts.split_once('/')?;
    Some((n.parse().ok()?, total.parse().ok()?, instruction.trim()))
}

/// The image a `FROM` instruction names, if `instruction` is one.
fn from_image(instruction: &str) -> Option<String> {
    let (keyword, rest) = split_keyword(instruction);
    if !keyword.eq_ignore_ascii_case("FROM") {
        return None;
    }
    rest.split_whitespace()
        .find(|w| !w.starts_with("--"))
        .map(str::to_owned)
}

/// `text` on one line (whitespace runs become one space), cut to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= max {
        joined
    } else {
        let cut: String = joined.chars().take(max).collect();
        format!("{cut}...")
    }
}

fn display_rel(rel: &str) -> &str {
    if rel.trim_matches('/').is_empty() || rel == "." {
        "the repository root"
    } else {
        rel
    }
}

/// The path `rel` names under `root` (canonical), refusing what leaves the
/// tree: absolute paths, `..`, and links that resolve outside it.
fn resolve(root: &Path, rel: &str, want_dir: bool) -> Result<PathBuf, String> {
    let as_path = Path::new(rel);
    if as_path.is_absolute() {
        return Err("the path must be relative to the repository root".to_owned());
    }
    if as_path.components().any(|c| c == Component::ParentDir) {
        return Err("the path must not use `..` to leave the repository".to_owned());
    }
    if !want_dir && as_path.components().all(|c| c == Component::CurDir) {
        return Err("no Dockerfile path given".to_owned());
    }
    let joined = root.join(as_path);
    let resolved = joined
        .canonicalize()
        .map_err(|e| format!("{} cannot be read: {e}", joined.display()))?;
    if !resolved.starts_with(root) {
        return Err(format!(
            "{} leads outside the repository (a symbolic link to {})",
            joined.display(),
            resolved.display()
        ));
    }
    let meta = std::fs::metadata(&resolved).map_err(|e| format!("{}: {e}", resolved.display()))?;
    if want_dir && !meta.is_dir() {
        return Err(format!("{} is not a directory", resolved.display()));
    }
    if !want_dir {
        if !meta.is_file() {
            return Err(format!("{} is not a regular file", resolved.display()));
        }
        if meta.len() > MAX_DOCKERFILE_BYTES {
            return Err(format!(
                "{} holds {} bytes, more than a Dockerfile's {MAX_DOCKERFILE_BYTES}",
                resolved.display(),
                meta.len()
            ));
        }
    }
    Ok(resolved)
}

/// The build context as sent: a tar, what its key needs, and the Dockerfile's name in it.
#[derive(Debug)]
struct Packed {
    tar: Vec<u8>,
    /// sha256 over every entry sent, in order.
    digest: [u8; 32],
    bytes: u64,
    dockerfile_name: String,
}

/// Packs `context` (canonical) with [`tree::walk`]'s rules (no `.git`,
/// caches or installed dependencies; links stored as links, never followed)
/// less what its `.dockerignore` excludes, and makes sure the Dockerfile is in
/// it: under its own path when it lies inside the context, else as
/// [`OUTSIDE_DOCKERFILE_NAME`]. Entries get fixed owners and times
/// (`HeaderMode::Deterministic`), so only what the key covers reaches the
/// builder.
fn pack_context(context: &Path, dockerfile: &Path, limit: u64) -> Result<Packed, ValidateError> {
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ValidateError::ReadTree { path, source }
    };
    let ignore = match std::fs::read_to_string(context.join(".dockerignore")) {
        Ok(text) => Ignore::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore::default(),
        Err(e) => return Err(read_err(&context.join(".dockerignore"))(e)),
    };
    let inside = dockerfile
        .strip_prefix(context)
        .ok()
        .and_then(Path::to_str)
        .map(str::to_owned);
    let dockerfile_name = inside
        .clone()
        .unwrap_or_else(|| OUTSIDE_DOCKERFILE_NAME.to_owned());

    // The limit is applied to what is sent, below, not to what .dockerignore drops.
    let found = tree::walk(context, u64::MAX)?;
    let mut builder = tar::Builder::new(Vec::new());
    let mut hasher = Sha256::new();
    let mut bytes: u64 = 0;
    let mut dockerfile_sent = false;
    for Found { path, rel, meta } in &found {
        if ignore.excludes(rel) && Some(rel) != inside.as_ref() {
            continue;
        }
        let kind = meta.file_type();
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(meta, tar::HeaderMode::Deterministic);
        if kind.is_dir() {
            hash_entry(&mut hasher, b'd', rel, b"");
            header.set_size(0);
            builder
                .append_data(&mut header, format!("{rel}/"), std::io::empty())
                .map_err(read_err(path))?;
        } else if kind.is_file() {
            let body = std::fs::read(path).map_err(read_err(path))?;
            bytes = bytes.saturating_add(body.len() as u64);
            if bytes > limit {
                return Err(ValidateError::TreeTooLarge {
                    path: context.to_path_buf(),
                    bytes,
                    limit,
                });
            }
            // The executable bit changes what COPY makes; the other mode bits
            // depend on the checkout's umask, so they are left out of the key.
            let tag = if header.mode().unwrap_or(0) & 0o111 == 0 {
                b'f'
            } else {
                b'x'
            };
            hash_entry(&mut hasher, tag, rel, &body);
            header.set_size(body.len() as u64);
            builder
                .append_data(&mut header, rel, body.as_slice())
                .map_err(read_err(path))?;
            dockerfile_sent |= Some(rel) == inside.as_ref();
        } else {
            let target = std::fs::read_link(path).map_err(read_err(path))?;
            hash_entry(&mut hasher, b'l', rel, target.to_string_lossy().as_bytes());
            header.set_size(0);
            builder
                .append_link(&mut header, rel, &target)
                .map_err(read_err(path))?;
        }
    }
    if !dockerfile_sent {
        // Outside the context, or skipped by the walk (under `.selfheal/`, say):
        // the builder still needs it, as `docker build -f` sends it.
        let body = std::fs::read(dockerfile).map_err(read_err(dockerfile))?;
        hash_entry(&mut hasher, b'D', &dockerfile_name, &body);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(body.len() as u64);
        builder
            .append_data(&mut header, &dockerfile_name, body.as_slice())
            .map_err(read_err(dockerfile))?;
    }
    let tar = builder.into_inner().map_err(read_err(context))?;
    Ok(Packed {
        tar,
        digest: hasher.finalize().into(),
        bytes,
        dockerfile_name,
    })
}

/// Feeds one entry, length-prefixed so that no two different contexts hash alike.
fn hash_entry(hasher: &mut Sha256, kind: u8, rel: &str, body: &[u8]) {
    hasher.update([kind]);
    hasher.update((rel.len() as u64).to_le_bytes());
    hasher.update(rel.as_bytes());
    hasher.update((body.len() as u64).to_le_bytes());
    hasher.update(body);
}

fn cache_key(dockerfile_text: &str, bases: &BTreeMap<String, String>, packed: &Packed) -> String {
    let mut hasher = Sha256::new();
    for part in [RECIPE_VERSION, &packed.dockerfile_name, dockerfile_text] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    for (name, id) in bases {
        for part in [name, id] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    hasher.update(packed.digest);
    hex::encode(hasher.finalize())
}

// ---- Dockerfile reading -------------------------------------------------

/// The Dockerfile's instructions, continuation lines joined and comments
/// dropped, honouring an `# escape=` parser directive.
fn instructions(text: &str) -> Vec<String> {
    let mut escape = '\\';
    let mut lines = text.lines().peekable();
    // Parser directives: `# key=value` lines at the very top.
    while let Some(line) = lines.peek() {
        let Some(directive) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = directive.split_once('=') else {
            break;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            break;
        }
        if key.eq_ignore_ascii_case("escape") {
            escape = value.trim().chars().next().unwrap_or('\\');
        }
        lines.next();
    }
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for line in lines {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (body, continues) = match line.trim_end().strip_suffix(escape) {
            Some(body) => (body, true),
            None => (line, false),
        };
        let joined = match pending.take() {
            Some(mut acc) => {
                acc.push(' ');
                acc.push_str(body.trim());
                acc
            }
            None => body.trim().to_owned(),
        };
        if continues {
            pending = Some(joined);
        } else {
            out.push(joined);
        }
    }
    out.extend(pending);
    out
}

fn split_keyword(instruction: &str) -> (&str, &str) {
    let instruction = instruction.trim_start();
    match instruction.split_once(char::is_whitespace) {
        Some((keyword, rest)) => (keyword, rest.trim()),
        None => (instruction, ""),
    }
}

/// The images outside the Dockerfile it needs from the engine: each `FROM`
/// that is not an earlier stage or `scratch`, and each `COPY`/`ADD --from=`
/// that names an image. Names built from `ARG`s declared before the first
/// `FROM` are expanded with their defaults; names that still hold a variable
/// are left for the build to report.
fn external_images(text: &str) -> Vec<String> {
    let mut args: HashMap<String, String> = HashMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut seen_from = false;
    let mut images: Vec<String> = Vec::new();
    let mut add = |name: String, stages: &[String]| {
        let known_stage = stages.iter().any(|s| s.eq_ignore_ascii_case(&name));
        if !known_stage
            && !name.eq_ignore_ascii_case("scratch")
            && !name.contains('$')
            && !images.contains(&name)
        {
            images.push(name);
        }
    };
    for instruction in instructions(text) {
        let (keyword, rest) = split_keyword(&instruction);
        if keyword.eq_ignore_ascii_case("ARG") && !seen_from {
            for word in rest.split_whitespace() {
                if let Some((name, value)) = word.split_once('=') {
                    args.insert(name.to_owned(), unquote(value).to_owned());
                }
            }
        } else if keyword.eq_ignore_ascii_case("FROM") {
            seen_from = true;
            let words: Vec<&str> = rest
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let Some(name) = words.first() else {
                continue;
            };
            if let Some(name) = expand(name, &args) {
                add(name, &stages);
            }
            if words.len() >= 3 && words[1].eq_ignore_ascii_case("AS") {
                stages.push(words[2].to_owned());
            }
        } else if keyword.eq_ignore_ascii_case("COPY") || keyword.eq_ignore_ascii_case("ADD") {
            for word in rest.split_whitespace() {
                if let Some(from) = word.strip_prefix("--from=") {
                    let from = unquote(from);
                    if from.parse::<usize>().is_err() {
                        add(from.to_owned(), &stages);
                    }
                }
            }
        }
    }
    images
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// `$NAME`, `${NAME}` and `${NAME:-default}` expanded from `args`; `None` when a
/// variable has no value here (it may come from a `--build-arg`).
fn expand(word: &str, args: &HashMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, default, consumed) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}')?;
            let inner = &braced[..end];
            match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default), end + 2),
                None => (inner, None, end + 2),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], None, end)
        };
        match args.get(name).filter(|v| !v.is_empty()).map(String::as_str) {
            Some(value) => out.push_str(value),
            None => out.push_str(default?),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Some(out)
}

// ---- .dockerignore --------------------------------------------------------

/// A `.dockerignore`, read as `docker build` reads it: one pattern a line,
/// `#` comments, `!` exceptions, the last matching line deciding, `**` for
/// any number of directories, and a pattern that matches a directory
/// excluding everything under it.
#[derive(Debug, Default)]
struct Ignore {
    /// (is an exception, pattern split on `/`)
    patterns: Vec<(bool, Vec<String>)>,
}

impl Ignore {
    fn parse(text: &str) -> Self {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            // Like Go's filepath.Clean, which Docker applies: no leading `/`, no `.` segments.
            let segments: Vec<String> = pattern
                .split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .map(str::to_owned)
                .collect();
            if !segments.is_empty() {
                patterns.push((exception, segments));
            }
        }
        Self { patterns }
    }

    fn excludes(&self, rel: &str) -> bool {
        let parts: Vec<&str> = rel.split('/').collect();
        let mut excluded = false;
        for (exception, pattern) in &self.patterns {
            // The path itself or one of its parent directories.
            let hit = (1..=parts.len()).any(|n| segments_match(pattern, &parts[..n]));
            if hit {
                excluded = !exception;
            }
        }
        excluded
    }
}

fn segments_match(pattern: &[String], parts: &[&str]) -> bool {
    match pattern.split_first() {
        None => parts.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=parts.len()).any(|skip| segments_match(rest, &parts[skip..]))
        }
        Some((first, rest)) => match parts.split_first() {
            Some((part, parts)) => {
                glob(first.as_bytes(), part.as_bytes()) && segments_match(rest, parts)
            }
            None => false,
        },
    }
}

/// One path segment against a Go `filepath.Match` pattern: `*`, `?`,
/// `[a-z]`/`[^...]` classes and `\` escapes.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && glob(rest, &name[1..]),
        Some((b'[', rest)) => {
            let Some((&c, name_rest)) = name.split_first() else {
                return false;
            };
            let (negated, mut class) = match rest.split_first() {
                Some((b'^' | b'!', r)) => (true, r),
                _ => (false, rest),
            };
            let mut matched = false;
            let mut first = true;
            loop {
                match class.split_first() {
                    // An unclosed class is a bad pattern, which matches nothing.
                    None => return false,
                    Some((b']', r)) if !first => {
                        class = r;
                        break;
                    }
                    Some((&lo, r)) => {
                        let (lo, r) = if lo == b'\\' {
                            match r.split_first() {
                                Some((&e, r2)) => (e, r2),
                                None => return false,
                            }
                        } else {
                            (lo, r)
                        };
                        if let Some((b'-', r2)) = r.split_first()
                            && let Some((&hi, r3)) = r2.split_first()
                            && hi != b']'
                        {
                            matched |= lo <= c && c <= hi;
                            class = r3;
                        } else {
                            matched |= lo == c;
                            class = r;
                        }
                    }
                }
                first = false;
            }
            matched != negated && glob(class, name_rest)
        }
        Some((b'\\', rest)) => match (rest.split_first(), name.split_first()) {
            (Some((p, rest)), Some((n, name))) => p == n && glob(rest, name),
            _ => false,
        },
        Some((p, rest)) => name
            .split_first()
            .is_some_and(|(n, name)| p == n && glob(rest, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only if a build can run on a multi-threaded runtime (`tokio::spawn`).
    #[allow(dead_code, reason = "a compile-time check, never called")]
    fn build_is_send(builder: &RepoImageBuilder, tree: &Path) {
        fn send<T: Send>(_: T) {}
        send(builder.build(tree, "Dockerfile", None));
    }

    #[test]
    fn finds_the_images_a_dockerfile_starts_from() {
        let text = "# syntax=docker/dockerfile:1\n# escape=\\\n\
            ARG BASE=selfheal-sandbox-python\nARG TAG=\"bookworm\"\nARG FROM_ARG\n\
            FROM --platform=linux/amd64 ${BASE}:$TAG AS build\n\
            # a comment\n\
            RUN echo a \\\n  # comment inside a continuation\n  && echo b\n\
            FROM build AS test\n\
            COPY --from=build /a /b\n\
            COPY --from=0 /a /b\n\
            COPY --from=tools:1 /bin/t /bin/t\n\
            FROM scratch\n\
            from ${FROM_ARG}\n\
            FROM ${MISSING:-debian:bookworm}\n";
        assert_eq!(
            external_images(text),
            vec![
                "selfheal-sandbox-python:bookworm".to_owned(),
                "tools:1".to_owned(),
                "debian:bookworm".to_owned(),
            ]
        );
        assert_eq!(
            instructions("FROM a\nRUN x \\\n\n  # c\n  y\nCMD z \\"),
            vec!["FROM a", "RUN x y", "CMD z"]
        );
        assert_eq!(
            instructions("# escape=`\nFROM a\nRUN x `\n y\n"),
            vec!["FROM a", "RUN x y"]
        );
    }

    #[test]
    fn reads_dockerignore_like_docker_build() {
        let ignore = Ignore::parse(
            "# comment\n/build\n*.log\n!keep.log\n**/cache\ndocs/*.md\n!docs/README.md\nsecret?.txt\n[ab].tmp\n",
        );
        let cases = [
            ("build", true),
            ("build/out.bin", true),
            ("src/build", false),
            ("x.log", true),
            ("keep.log", false),
            ("a/x.log", false),
            ("cache", true),
            ("a/b/cache/f", true),
            ("docs/guide.md", true),
            ("docs/README.md", false),
            ("docs/sub/g.md", false),
            ("secret1.txt", true),
            ("secret12.txt", false),
            ("a.tmp", true),
            ("c.tmp", false),
            ("src/app.py", false),
        ];
        let got: Vec<(&str, bool)> = cases
            .iter()
            .map(|(p, _)| (*p, ignore.excludes(p)))
            .collect();
        assert_eq!(got, cases);
    }

    #[test]
    fn tracks_steps_and_the_failing_steps_last_output() {
        let mut tracker = StepTracker::default();
        let first = tracker.feed("Step 1/3 : FROM base\n ---> abc\nStep 2/3 : RUN ");
        assert!(first.is_empty());
        let second = tracker.feed("x\n ---> Running in 123\nboom: not found\n");
        assert_eq!(
            second
                .iter()
                .map(|s| (s.number, s.total, s.instruction.as_str()))
                .collect::<Vec<_>>(),
            vec![(1, 3, "FROM base")]
        );
        assert_eq!(tracker.last_output.as_deref(), Some("boom: not found"));
        assert_eq!(
            tracker.current.as_ref().map(|c| c.2.as_str()),
            Some("RUN x")
        );
        assert_eq!(
            from_image("FROM --platform=x img:1 AS a"),
            Some("img:1".to_owned())
        );
        assert_eq!(from_image("RUN false"), None);
        assert_eq!(one_line("a\n  b\tc", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc...");
    }

    #[test]
    fn packs_the_context_less_ignored_files_and_keys_what_it_sends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let write = |rel: &str, body: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, body).expect("write");
        };
        write("ci/Dockerfile", "FROM x\n");
        write("app/main.py", "print(1)\n");
        write("notes.log", "noise\n");
        write(".dockerignore", "*.log\nci\n");
        write(".git/HEAD", "ref\n");
        let names = |packed: &Packed| -> Vec<String> {
            tar::Archive::new(packed.tar.as_slice())
                .entries()
                .expect("entries")
                .map(|e| {
                    e.expect("entry")
                        .path()
                        .expect("path")
                        .display()
                        .to_string()
                })
                .collect()
        };
        let dockerfile = root.join("ci/Dockerfile");
        let packed = pack_context(&root, &dockerfile, 1 << 20).expect("packs");
        // ci/ is ignored, but the Dockerfile is still sent, as docker build does.
        assert_eq!(
            names(&packed),
            vec![".dockerignore", "app/", "app/main.py", "ci/Dockerfile"]
        );
        assert_eq!(packed.dockerfile_name, "ci/Dockerfile");
        let before = packed.digest;

        write("notes.log", "other noise\n");
        assert_eq!(
            pack_context(&root, &dockerfile, 1 << 20)
                .expect("packs")
                .digest,
            before,
            "an ignored file is not part of the key"
        );
        write("app/main.py", "print(2)\n");
        assert_ne!(
            pack_context(&root, &dockerfile, 1 << 20)
                .expect("packs")
                .digest,
            before
        );

        // A Dockerfile outside the context goes in under a name of its own.
        let outside = pack_context(&root.join("app"), &dockerfile, 1 << 20).expect("packs");
        assert_eq!(names(&outside), vec!["main.py", OUTSIDE_DOCKERFILE_NAME]);
        assert_eq!(outside.dockerfile_name, OUTSIDE_DOCKERFILE_NAME);

        let err = pack_context(&root, &dockerfile, 4).expect_err("too large");
        assert!(
            matches!(err, ValidateError::TreeTooLarge { limit: 4, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn refuses_paths_that_leave_the_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outer = dir.path().canonicalize().expect("canonical");
        let root = outer.join("repo");
        std::fs::create_dir_all(root.join("ci")).expect("mkdir");
        std::fs::write(root.join("ci/Dockerfile"), "FROM x\n").expect("write");
        std::fs::write(outer.join("Dockerfile"), "FROM x\n").expect("write");
        std::os::unix::fs::symlink("../../Dockerfile", root.join("ci/escape")).expect("symlink");
        std::os::unix::fs::symlink("..", root.join("up")).expect("symlink");

        assert_eq!(
            resolve(&root, "ci/Dockerfile", false),
            Ok(root.join("ci/Dockerfile"))
        );
        assert_eq!(resolve(&root, "", true), Ok(root.clone()));
        for (rel, dir, reason) in [
            ("/etc/passwd", false, "relative"),
            ("../Dockerfile", false, "`..`"),
            ("ci/escape", false, "outside the repository"),
            ("up", true, "outside the repository"),
            ("ci", false, "not a regular file"),
            ("ci/Dockerfile", true, "not a directory"),
            ("missing", false, "cannot be read"),
            ("", false, "no Dockerfile"),
        ] {
            let err = resolve(&root, rel, dir).expect_err(rel);
            assert!(err.contains(reason), "{rel}: {err}");
            assert!(!err.contains('\n'), "{rel}: {err}");
        }
    }
}
