//! Integration tests over cache folders built in temp dirs.
mod suite;
