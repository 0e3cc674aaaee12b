//! `modelauth`: decides which credential (auth profile) a conversation uses for a model provider, and lets
//! chat users and operators steer it. See `SPEC.md` and the README for behaviour.

pub mod cli;
pub mod config;
pub mod interpreter;
pub mod parser;
pub mod resolver;
pub mod session;
pub mod store;
