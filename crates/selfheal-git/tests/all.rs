//! Integration tests on real repositories built with the `git` CLI in temp dirs.
mod suite;
