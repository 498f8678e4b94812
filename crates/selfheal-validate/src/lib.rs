//! Proves a patch by running the project's tests in a locked-down Docker sandbox.
//!
//! The orchestrator hands a patched working tree and a [`ValidationPlan`] to a
//! [`Sandbox`] and gets back a [`ValidationReport`](selfheal_types::ValidationReport):
//! which steps ran, their exit codes, the tail of their output, and the test
//! tool's own failure section cut from the whole output (pytest's `FAILURES`
//! block, cargo's panics, go's `--- FAIL` blocks), which is what the model is
//! shown when it must try again. Each step runs `sh -c` on a script from
//! configuration; test ids read from CI logs are passed as its arguments, never
//! as script text, and each step has its own wall-clock limit. What to run is policy
//! ([`ValidationPlan::failing_then_full`]: the tests CI saw fail, then the whole
//! suite); how it is enforced is the sandbox's business, so tests of the repair
//! loop can swap in another [`Sandbox`].
//!
//! [`DockerSandbox`] is the real one. The tree is copied into a fresh container
//! (never bind-mounted), which runs with the network off, every capability
//! dropped, no privilege escalation, memory/CPU/pids limits and an
//! unprivileged user, a size-limited in-memory `/tmp`, and is removed on every path out, including a dropped
//! future. The images are built offline by `scripts/build-sandbox-image.sh` or,
//! with a registry, from the root `Dockerfile`: one per ecosystem (Python,
//! Rust on Debian 13, Go, Node, and Java with Maven reading Debian's packaged
//! plugins offline), each with its toolchain, uid 1000 and `/work`. With
//! [`DockerSandbox::with_git_metadata`] the failing commit's `.git` (one
//! commit, written by `selfheal-git`) goes in too, root-owned and read-only.
//!
//! [`LocalSandbox`] is for users without Docker (`--sandbox local`): a
//! temporary copy of the tree, each step a subprocess in its own process
//! group with the same time limit, a scrubbed environment and the same
//! report. It does not isolate the code, and must never be chosen silently
//! ([`LocalSandbox::WARNING`]).
//!
//! Where the project's CI runs in an image built from its own Dockerfile,
//! [`RepoImageBuilder`] builds that Dockerfile from the unpatched tree, without
//! a registry, cached as `selfheal-repo:<hash>`; the install phase and the tests
//! then run on it as on a configured image.
//!
//! Dependencies are installed once per manifest set, before any patch, by an
//! [`Installer`] that commits the result as an image: the ecosystem's default
//! ([`detect_install_in`]), the failing job's own install lines
//! ([`install_from_workflow`]), or a configured `setup_command`
//! ([`InstallSpec::from_setup_command`]).
//!
//! What to run comes from the project itself: [`detect_tests`] reads the files
//! at the project's directory (`Cargo.toml`, `go.mod`, `pom.xml`,
//! `build.gradle*`, a `package.json` with a `test` script, Python markers) and
//! gives its [`Ecosystem`], that ecosystem's image and [`TestCommands`]: the
//! whole suite, and a failing-tests command when the runner can select tests
//! by the ids selfheal has. [`format_test_ids`] turns ids as the analyser
//! reports them (`pkg.TestX`, `Class#method`, `path::name`) into that runner's
//! arguments, dropping any whose shape it does not take, so that a hostile id
//! from a log can neither pass for an option nor widen a pattern.
//!
//! A test run that fails or overruns is a report, not an error: [`ValidateError`]
//! means the sandbox could not run at all (no engine, no image, an unreadable tree).
//! Between the two sits the environment error: the sandbox ran, but the image
//! lacks what a step needs (`sh: 1: cargo: not found`, `No module named pytest`
//! for `python -m pytest`), so the tests never ran. That is a report with
//! [`ValidationOutcome::EnvironmentError`](selfheal_types::ValidationOutcome) and
//! a one-line `environment_error` on the step, never a failing test, because no
//! patch can fix it; the rule that tells them apart is conservative and written
//! down in the `environment` module.

mod docker;
mod dockerfile;
mod environment;
mod error;
mod failures;
mod install;
mod local;
mod plan;
mod project;
mod step;
mod tail;
mod tree;
mod workflow;

pub use docker::{
    CONTAINER_LABEL, DEFAULT_DOCKER_HOST, DEFAULT_IMAGE, DEFAULT_TMP_BYTES, DockerSandbox,
    Leftover, Limits, PROJECT_DIR, PhaseTimings,
};
pub use dockerfile::{
    BuildStep, BuiltImage, OUTSIDE_DOCKERFILE_NAME, REPO_IMAGE_KEY_LABEL, REPO_IMAGE_REPO,
    RepoImageBuilder, build_repo_image,
};
pub use error::ValidateError;
pub use failures::{SECTION_CUT_MARKER, SECTION_MAX_BYTES, SECTION_MAX_LINES};
pub use install::{
    CA_ENV_VARS, CA_PATH, InstallSpec, Installer, PREPARED_KEY_LABEL, PREPARED_REPO,
    PROXY_ENV_VARS, Prepared, VENV_DIR, WHOLE_TREE, detect_install, detect_install_in,
    install_from_workflow,
};
pub use local::{LOCAL_SANDBOX, LocalSandbox, TOOLCHAIN_ENV_VARS};
pub use plan::{FAILING_STEP, FULL_STEP, TestStep, ValidationPlan, shell_quote};
pub use project::{
    Ecosystem, GO_IMAGE, JAVA_IMAGE, NODE_IMAGE, RUST_IMAGE, TestCommands, detect_tests,
    format_test_ids,
};
pub use tail::{
    CAPTURE_MAX_BYTES, MIDDLE_OMITTED_MARKER, OMITTED_MARKER, TAIL_MAX_BYTES, TAIL_MAX_LINES,
};
pub use tree::SKIPPED_NAMES;
pub use workflow::{CiStep, WORKFLOW_MAX_BYTES, WORKFLOWS_DIR, find_ci_step, install_steps};

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
