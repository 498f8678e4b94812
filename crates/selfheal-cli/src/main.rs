//! The `selfheal` binary.
fn main() {}
