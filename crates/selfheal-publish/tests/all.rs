//! Integration tests: publishing against a recording in-memory forge and
//! real git repositories in temp dirs, and the text reviewers read.
mod suite;
