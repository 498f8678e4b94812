use std::path::PathBuf;

/// Everything that can stop a validation from producing a report.
///
/// A failing or timed-out test run is not an error: it is a
/// [`selfheal_types::ValidationReport`] with that outcome. These variants mean
/// the sandbox itself could not do its job. [`Engine`](Self::Engine) and
/// [`Container`](Self::Container) can be transient (a busy daemon) and are worth
/// one retry; the others need the user to act.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(
        "unsupported docker host {host}; hint: use a unix:// socket or tcp:// address in DOCKER_HOST"
    )]
    UnsupportedHost { host: String },

    #[error(
        "cannot reach the docker engine at {host}: {source}; hint: run scripts/ensure-docker.sh, or point DOCKER_HOST at a running engine"
    )]
    EngineUnreachable {
        host: String,
        #[source]
        source: bollard::errors::Error,
    },

    #[error(
        "sandbox image {image} is not in the docker engine; hint: run scripts/build-sandbox-image.sh, or pass another image with --image"
    )]
    ImageMissing { image: String },

    #[error("the validation plan has no steps; refusing to report a pass without running anything")]
    EmptyPlan,

    #[error("cannot read the project tree at {path}: {source}")]
    ReadTree {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "the project tree at {path} holds more than {limit} bytes of files (stopped at {bytes}); hint: remove build outputs from the checkout, or raise the sandbox upload limit"
    )]
    TreeTooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },

    #[error("local sandbox failed to {action} {path}: {source}")]
    Local {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A `[validate] dockerfile` or its build context that cannot be used as given.
    #[error("cannot build an image from {dockerfile}: {reason}")]
    DockerfileInput { dockerfile: String, reason: String },

    /// A `FROM` (or `COPY --from`) names an image the engine does not have; selfheal never pulls.
    #[error(
        "base image {image} named in {dockerfile} is not in the local docker engine, and selfheal uses no registry; hint: build or load {image} on this machine first (docker build, docker load, or scripts/build-sandbox-image.sh for selfheal's own images), or point FROM at an image that `docker images` lists"
    )]
    BaseImageMissing { dockerfile: String, image: String },

    /// A step of the repository's Dockerfile failed, or the build overran its time limit.
    #[error("building {dockerfile} failed at {step}: {message}; full output in {log}")]
    ImageBuild {
        dockerfile: String,
        step: String,
        message: String,
        log: PathBuf,
    },

    #[error("cannot write the build log {path}: {source}; hint: pass a writable log directory")]
    BuildLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("docker engine failed to {action}: {source}")]
    Engine {
        action: &'static str,
        #[source]
        source: bollard::errors::Error,
    },

    #[error("docker failed to {action} sandbox container {container}: {source}")]
    Container {
        action: &'static str,
        container: String,
        #[source]
        source: bollard::errors::Error,
    },
}

impl ValidateError {
    /// Whether trying the same validation again may succeed without the user doing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Engine { .. } | Self::Container { .. })
    }
}

/// The HTTP status of a response the engine did send, if that is what the error is.
pub(crate) fn status_code(err: &bollard::errors::Error) -> Option<u16> {
    match err {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}
