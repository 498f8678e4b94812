//! Shared by the end-to-end suite (`tests/all.rs`) and the model tier
//! (`tests/model_tier.rs`): a sample repository in a temporary directory, an
//! OpenAI-compatible server on loopback, the `selfheal` binary run with an
//! explicit environment, and snapshots of a checkout.
//!
//! Everything here drives real parts: `prepare.sh` builds a real git
//! repository, the binary is the one cargo just built, Docker is the real
//! engine. Only the model is scripted, because a real one would make the
//! suite slow and its answers unpredictable; the model tier covers that.

// Two test binaries include this module and each uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod git;
pub mod model;
pub mod sample;
pub mod selfheal;

pub use git::{Snapshot, git, git_ok};
pub use model::{ModelServer, Reply};
pub use sample::{SampleRepo, prepare, require_docker, workspace_root};
pub use selfheal::{Output, Selfheal};
