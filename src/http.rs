//! One HTTP client setting for the calls modelauth makes to providers (OAuth token endpoints,
//! probes): bounded in time, no redirects, no proxy for loopback endpoints, HTTP errors as answers.

use std::time::Duration;

/// A ureq agent for one call to `url`: `timeout` bounds the whole exchange and `connect` the
/// connection; no proxy for loopback endpoints (tests, local proxies), the environment's otherwise;
/// HTTP errors are answers, not `Err`; redirects are not followed.
pub(crate) fn agent_for(url: &str, timeout: Duration, connect: Duration) -> ureq::Agent {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(connect))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("modelauth/", env!("CARGO_PKG_VERSION")));
    if loopback {
        config = config.proxy(None);
    }
    config.build().into()
}
