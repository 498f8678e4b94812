//! The fake against octocrab's strict models, and its HTTP behaviour seen raw.

mod octocrab_models;
mod protocol;
