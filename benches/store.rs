//! Placeholder bench (filled in by a later issue).
fn main() {}
