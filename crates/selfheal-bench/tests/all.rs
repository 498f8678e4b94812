//! Tests of `selfheal bench`: case preparation against `prepare.sh`, suite
//! parsing, the report's shapes, and end to end through the real binary,
//! the real Docker sandbox and a scripted OpenAI-compatible server.
//!
//! The end-to-end tests run `target/<profile>/selfheal`, which cargo builds
//! for `cargo test --workspace`; alone, build it first with
//! `cargo build -p selfheal-cli`. They need Docker and the sandbox image
//! (`scripts/ensure-docker.sh`, `scripts/build-sandbox-image.sh`) and fail
//! with that hint otherwise.

mod suite;
