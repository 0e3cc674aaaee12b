//! Session state (SPEC §4 pin lifecycle): the registry of every session's model override and auth pin,
//! persisted to the agent's `sessions.json`.

pub mod registry;
mod slot;
pub mod state;
mod symbols;

pub use registry::{Registry, RegistryOptions};
pub use state::{Pin, Session};
