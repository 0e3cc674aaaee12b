//! The one integration-test binary: every test module is declared here.

pub mod backends;
pub mod cli;
mod common;
mod faults;
#[path = "../fuzz/fuzz_input.rs"]
mod fuzz_input;
mod fuzz_replay;
mod house;
pub mod interop;
mod interop_aliases;
mod interop_refs;
mod interop_vault;
mod interop_writes;
mod json_contract;
mod keyring_service;
mod lock_protocol;
mod monitoring;
mod oauth;
mod onboard;
mod operator_ux;
mod parser_cases;
mod parser_props;
mod probe;
mod quota;
#[path = "../benches/quota_sim.rs"]
#[allow(
    dead_code,
    reason = "the bench prints every figure; the test checks the targets"
)]
mod quota_sim;
mod readme_tour;
mod redesign_defects;
pub mod redis_server;
pub mod resolver_rules;
mod runtime_agent;
mod secret_refs;
mod secrets_systemd;
pub mod secrets_vault;
mod serve;
mod serve_common;
mod serve_locked;
mod sessions_splice;
mod shared_procs;
mod shared_state;
mod shell_env;
mod sqlite_behaviour;
mod sqlite_journal;
pub mod sqlite_state;
mod store_files;
pub mod store_procs;
mod time_fields_props;
mod token_server;
