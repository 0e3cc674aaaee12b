//! `modelauth`: decides which credential (auth profile) a conversation uses for a model provider, and lets
//! chat users and operators steer it. See `SPEC.md` and the README for behaviour.

pub mod parser;
pub mod store;
pub mod config;
pub mod resolver;
pub mod session;
pub mod interpreter;
pub mod cli;
