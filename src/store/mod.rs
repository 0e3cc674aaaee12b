//! Everything that reads and writes the per-agent state files: `auth-profiles.json` and `sessions.json`
//! (SPEC §2, §8). Writes are locked and atomic, files are `0600`, unknown fields survive, secrets are
//! [`Secret`]s.

pub mod atomic;
pub mod auth;
pub mod auth_edit;
pub mod dupkeys;
pub mod error;
pub mod failure;
pub mod fence;
pub mod hash;
pub mod ids;
pub mod json;
pub mod lock;
pub mod quota;
pub mod secret;
pub mod refresh_note;
pub mod secret_ref;
pub mod sessions;
pub mod stamp;

pub use auth::{
    AuthProfiles, CredentialKind, FAILURE_REASONS, FailureReason, MAX_WINDOW_MS, Profile, RefreshNote, UsageStats,
};
pub use auth_edit::{AuthEdit, NewCredential, ROUTING_FIELDS};
pub(crate) use auth::usage_from;
pub use error::{RedisProblem, StoreError};
pub use hash::{IdHashBuilder, IdHasher};
pub use ids::{AgentId, IdError, ProfileId, ProviderId, display_id, is_format};
pub use json::Document;
pub use quota::{Lane, Ledger, QUOTA_FIELD, QuotaState, Tokens, Window, WindowStatus};
pub use fence::{Fence, FenceState};
pub use secret::Secret;
pub use secret_ref::{RefSource, SecretRef};
pub use sessions::{OverrideSource, SessionRecord};
pub use stamp::FileStamp;
