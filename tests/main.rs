//! The one integration-test binary: every test module is declared here.

mod fuzz_replay;
mod parser_cases;
mod parser_props;
