//! `modelauth`: decides which credential (auth profile) a conversation uses for a model provider, and
//! lets chat users and operators steer it.
//!
//! Start at [`Gateway`]: it hands out [`Agent`]s whose verbs (`next`, `report`, `chat`, `status`,
//! orders, credentials, `doctor`) are everything a gateway runtime, the CLI and `serve` need. The state
//! is OpenClaw's own files in a state directory, or memory ([`GatewayBuilder::in_memory`]); with
//! [`GatewayBuilder::redis`] (or `MODELAUTH_REDIS_URL`) several instances share pins and cooldowns.
//!
//! # Quick start
//!
//! ```no_run
//! use modelauth::{Decision, Gateway, Outcome, FailureReason};
//! let gateway = Gateway::open(std::path::Path::new("/home/me/.openclaw"))?;
//! let agent = gateway.default_agent()?;
//! // A chat message first: `/model opus@anthropic:work` pins the session, other text comes back cleaned.
//! let chat = agent.chat("telegram:42", "/model opus@anthropic:work")?;
//! println!("{}", chat.reply.unwrap_or_default());
//! // Before each model request: which credential?
//! if let Decision::Ready { profile: Some(p), secret, .. } = agent.next(Some("telegram:42"), "anthropic", None)? {
//!     let _api_key = secret.expose_secret(); // into the request, nowhere else
//!     // … the provider answered 429:
//!     agent.report(&p, None, Outcome::Failure { reason: FailureReason::RateLimit, retry_after_ms: None })?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where the rules are
//!
//! The behaviour rules (grammar, resolution, the backoff schedule, status and check) are in
//! `docs/rules.md`, numbered like the specification the code cites ("SPEC §5"); the choices where the
//! specification was silent are in `docs/DECISIONS.md`; the shared state's data model in
//! `docs/shared-state.md`; the CLI's JSON documents in `docs/json.md`.

/// Declares internal modules: `pub(crate)`, or public but hidden with the `internals` feature, which
/// only the white-box tests and benchmarks of this crate enable.
macro_rules! internal {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg(feature = "internals")]
            #[doc(hidden)]
            pub mod $name;
            #[cfg(not(feature = "internals"))]
            #[allow(unreachable_pub, unused_imports)]
            pub(crate) mod $name;
        )*
    };
}

internal!(backend, config, interpreter, resolver, session, store);

pub mod gateway;
mod http;
pub mod oauth;
pub mod parser;
pub mod probe;
pub mod secrets;
#[cfg(feature = "server")]
pub mod server;

pub use backend::redis::{RedisSettings, SharedHealth};
pub use config::{DotenvWarning, Env, QuotaPolicy, Thresholds};
pub use gateway::doctor::{DoctorReport, Finding, Severity};
pub use gateway::probe::{ProbeOptions, ProbeReport, ProbeResult};
pub use gateway::status::{ProviderStatus, Status};
pub use gateway::{
    Agent, AgentError, Decision, Explanation, Gateway, GatewayBuilder, GatewayError, Lanes,
    LoggedIn, Login, LoginError, ModelList, OrderView, SessionView, StateLayout,
};
pub use interpreter::status::{ProfileStatus, State, quota_line};
pub use interpreter::{Change, ChatOutcome, DirectiveStatus};
pub use parser::{Aliases, ParseResult, parse};
pub use resolver::{
    Answer, Applied, Candidate, Clock, LaneCrossing, ManualClock, Observed, OrderSource, Outcome,
    Reason, ReportError, SystemClock, classify, format_time, short_duration,
};
pub use session::RegistryOptions;
pub use store::secret::{has_key_prefix, looks_like_secret, redact_secret_like};
pub use store::{
    AgentId, CredentialKind, FailureReason, IdError, Lane, NewCredential, ProfileId, ProviderId,
    QuotaState, RedisProblem, Secret, StoreError, Tokens, display_id,
};
