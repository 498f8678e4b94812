mod capture;
mod e2e;
mod harness;
mod output;
mod parse;
mod prepare;
