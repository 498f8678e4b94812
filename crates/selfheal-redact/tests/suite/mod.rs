mod api;
mod corpus;
mod false_positives;
mod fuzz_regressions;
mod known_values;
pub mod samples;
