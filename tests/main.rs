//! The one integration-test binary: every test module is declared here.

mod common;
#[path = "../fuzz/fuzz_input.rs"]
mod fuzz_input;
mod fuzz_replay;
mod parser_cases;
mod parser_props;
mod resolver_rules;
mod store_files;
mod store_procs;
