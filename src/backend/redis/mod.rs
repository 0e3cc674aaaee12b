//! The shared backend: several gateway instances keep their routing state — session pins and model
//! overrides, per-profile usage and cooldowns, `lastGood`, order overrides — in one Redis server,
//! so a 429 seen by one instance cools the profile for all, and a pin holds whichever instance gets
//! the chat's next message. Credentials (secrets) stay in each host's own store; they are never
//! written to Redis.
//!
//! # Data model
//!
//! Every key starts with the prefix (default `modelauth:`, `--redis-prefix`), then the agent id:
//!
//! | key | type | holds | expires |
//! |---|---|---|---|
//! | `<p><agent>:rev` | integer | the agent's change counter | never |
//! | `<p><agent>:order` | hash | provider → JSON list of profile ids (`order`) | never |
//! | `<p><agent>:lastgood` | hash | provider → profile id (`lastGood`) | never |
//! | `<p><agent>:usage:<profile>` | string | the profile's `usageStats` entry (JSON, as in the file) | by itself, when nothing in it matters: its windows are over and its counters have reset (24 h after the last failure); a success 30 days after it |
//! | `<p><agent>:session:<key>` | string | the session's owned fields (JSON, as in `sessions.json`) | never |
//! | `<p><agent>:lock:<name>` | string | a lock holder's token | with the lease |
//! | `<p>epoch` | string | a random id; its absence tells that the server lost its data | never |
//!
//! Every change is one Lua script: all its values are checked against what the instance read, then
//! written, the agent's counter increased and a notice (`<p>changes` channel: agent, counter, new
//! values) published. A check that fails means another instance changed the record first; the change
//! is recomputed on the new value — so the backoff schedule of concurrent reports is exactly that of
//! one gateway, computed by the same code ([`crate::resolver::outcome::apply`]).
//!
//! Each instance keeps every agent's records in memory and applies the notices in counter order, so a
//! resolve makes no round trip. No call waits more than the bound (50 ms by default) for the
//! server; while it is out of reach an instance serves from what it knows, applies its own changes
//! locally, keeps them, and writes them back when the server returns (reported outcomes replayed
//! through the same atomic step at their own time; pins and orders as they were set).

pub mod cache;
pub mod conn;
pub mod keys;
pub mod link;
pub mod lock;
pub mod migrate;
pub mod profiles;
pub mod routing;
pub mod script;
pub mod sessions;
pub mod watch;

pub use conn::{DEFAULT_PREFIX, DEFAULT_TIMEOUT, RedisSettings, redact};
pub use link::{Link, SharedHealth};
pub use lock::RedisLocks;
pub use migrate::{Migration, MigrationParts};
pub use profiles::RedisProfiles;
pub use routing::AgentRouting;
pub use sessions::RedisSessions;
pub use watch::{SharedState, Watcher};
