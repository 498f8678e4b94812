mod api;
mod robustness;
mod scenarios;
