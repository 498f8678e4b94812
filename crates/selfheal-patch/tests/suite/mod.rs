mod api;
mod fuzz_regressions;
mod robustness;
mod scenarios;
