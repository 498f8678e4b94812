//! Integration tests for selfheal-analyze: one binary, modules under `suite/`.

mod suite;
