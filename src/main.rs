//! `modelauth` command-line entry point.
fn main() {}
