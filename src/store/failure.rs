//! Why a profile failed: the failure reasons of SPEC §2, as `usageStats` stores them.

use std::fmt;

/// Why a profile failed (SPEC §2 failure reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// Rejected credential (401/403).
    Auth,
    /// A credential that will never work for this use (e.g. Claude-Code-only tokens).
    AuthPermanent,
    /// The request was malformed for this provider.
    Format,
    /// The provider is overloaded (503/529).
    Overloaded,
    /// Rate limited (429).
    RateLimit,
    /// Out of credit (402).
    Billing,
    /// The request timed out.
    Timeout,
    /// The model does not exist for this credential.
    ModelNotFound,
    /// The provider session expired.
    SessionExpired,
    /// The provider answered with nothing.
    EmptyResponse,
    /// The provider gave no error details.
    NoErrorDetails,
    /// An error that could not be classified.
    Unclassified,
    /// Unknown.
    Unknown,
}

/// Every failure reason, in SPEC order.
pub const FAILURE_REASONS: [FailureReason; 13] = [
    FailureReason::Auth,
    FailureReason::AuthPermanent,
    FailureReason::Format,
    FailureReason::Overloaded,
    FailureReason::RateLimit,
    FailureReason::Billing,
    FailureReason::Timeout,
    FailureReason::ModelNotFound,
    FailureReason::SessionExpired,
    FailureReason::EmptyResponse,
    FailureReason::NoErrorDetails,
    FailureReason::Unclassified,
    FailureReason::Unknown,
];

impl FailureReason {
    /// The on-disk name, e.g. `rate_limit`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Auth => "auth",
            FailureReason::AuthPermanent => "auth_permanent",
            FailureReason::Format => "format",
            FailureReason::Overloaded => "overloaded",
            FailureReason::RateLimit => "rate_limit",
            FailureReason::Billing => "billing",
            FailureReason::Timeout => "timeout",
            FailureReason::ModelNotFound => "model_not_found",
            FailureReason::SessionExpired => "session_expired",
            FailureReason::EmptyResponse => "empty_response",
            FailureReason::NoErrorDetails => "no_error_details",
            FailureReason::Unclassified => "unclassified",
            FailureReason::Unknown => "unknown",
        }
    }

    /// Reads an on-disk name; `None` for names this version does not know.
    pub fn parse(name: &str) -> Option<FailureReason> {
        FAILURE_REASONS.iter().copied().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
