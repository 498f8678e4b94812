//! End-to-end tests of the `selfheal` binary: real sample repositories, the
//! real Docker sandbox, and a scripted OpenAI-compatible server on loopback.
//!
//! Needs a Docker Engine and the sandbox image (`scripts/ensure-docker.sh`,
//! `scripts/build-sandbox-image.sh`); the tests fail with that hint otherwise.
//! Each test has its own repository, server and home directory, so they run
//! in parallel.

mod harness;
mod suite;
