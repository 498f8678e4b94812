mod api;
mod corpus;
mod false_positives;
mod known_values;
pub mod samples;
