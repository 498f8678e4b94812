//! Which toolchain a project needs, and the commands that run its tests.

/// A project's build and test toolchain, as far as selfheal can tell from its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    Python,
    Rust,
    Go,
    Node,
    Maven,
    Gradle,
}

/// How to run a project's tests, and in which image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCommands {
    pub ecosystem: Ecosystem,
    /// The default selfheal sandbox image for the ecosystem.
    pub image: String,
    /// Shell command that runs the whole suite.
    pub full: String,
    /// Shell command with `{tests}` where the ids go, or `""` when the runner
    /// cannot select tests by the ids selfheal has.
    pub failing: String,
}
