//! `modelauth`: decides which credential (auth profile) a conversation uses for a model provider, and
//! lets chat users and operators steer it. Start at [`Gateway`]: it hands out [`Agent`]s whose verbs
//! (`next`, `report`, `chat`, `status`, orders, credentials) are everything a gateway runtime needs.
//! See `SPEC.md` and the README for behaviour.

pub mod backend;
pub mod cli;
pub mod config;
pub mod gateway;
pub mod interpreter;
pub mod parser;
pub mod resolver;
pub mod session;
pub mod store;

pub use gateway::{
    Agent, AgentError, Decision, Explanation, Gateway, GatewayBuilder, GatewayError, OrderView,
};
pub use interpreter::{Change, ChatOutcome, DirectiveStatus};
pub use resolver::{
    Applied, Candidate, Clock, ManualClock, OrderSource, Outcome, Reason, SystemClock,
};
pub use store::{
    AgentId, CredentialKind, FailureReason, ProfileId, ProviderId, Secret, StoreError,
};
