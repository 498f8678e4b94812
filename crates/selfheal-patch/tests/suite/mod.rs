mod paths;
mod scenarios;
