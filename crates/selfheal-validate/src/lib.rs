//! Proves a patch by running the project's tests in a locked-down Docker sandbox.
//!
//! The orchestrator hands a patched working tree and a [`ValidationPlan`] to a
//! [`Sandbox`] and gets back a [`ValidationReport`](selfheal_types::ValidationReport):
//! which steps ran, their exit codes, and the tail of their output, which is
//! what the model is shown when it must try again. What to run is policy
//! ([`ValidationPlan::failing_then_full`]: the tests CI saw fail, then the whole
//! suite); how it is enforced is the sandbox's business, so tests of the repair
//! loop can swap in another [`Sandbox`].
//!
//! [`DockerSandbox`] is the real one. The tree is copied into a fresh container
//! (never bind-mounted), which runs with the network off, every capability
//! dropped, no privilege escalation, memory/CPU/pids limits and an
//! unprivileged user, and is removed on every path out, including a dropped
//! future. The image is built offline by `scripts/build-sandbox-image.sh` or,
//! with a registry, from the root `Dockerfile`.
//!
//! A test run that fails or overruns is a report, not an error: [`ValidateError`]
//! means the sandbox could not run at all (no engine, no image, an unreadable tree).

mod docker;
mod error;
mod install;
mod plan;
mod tail;
mod tree;

pub use docker::{
    CONTAINER_LABEL, DEFAULT_DOCKER_HOST, DEFAULT_IMAGE, DockerSandbox, Limits, PROJECT_DIR,
};
pub use error::ValidateError;
pub use install::{InstallSpec, detect_install};
pub use plan::{FAILING_STEP, FULL_STEP, TestStep, ValidationPlan, shell_quote};
pub use tail::{OMITTED_MARKER, TAIL_MAX_BYTES, TAIL_MAX_LINES};
pub use tree::SKIPPED_NAMES;

/// Somewhere to prove a patch.
#[async_trait::async_trait]
pub trait Sandbox: Send + Sync {
    /// Runs `plan` against a copy of the tree at `workdir`; never touches `workdir` itself.
    async fn validate(
        &self,
        workdir: &std::path::Path,
        plan: &ValidationPlan,
    ) -> Result<selfheal_types::ValidationReport, ValidateError>;
}
