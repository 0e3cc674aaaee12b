//! Named locks on the shared server (one OAuth refresh at a time across every instance), falling
//! back to this host's lock files while the server is out of reach.

use std::sync::Arc;
use std::time::Duration;

use once_cell::sync::Lazy;
use redis::Script;

use crate::backend::{LockGuard, StateLock};
use crate::store::StoreError;

use super::conn::is_outage;
use super::keys::Keys;
use super::link::Link;

/// Deletes the lock only while it still holds this holder's token.
static RELEASE: Lazy<Script> = Lazy::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
    )
});

/// Locks of one agent: `SET key token NX PX lease` on the server; the holder's token releases it.
#[derive(Debug)]
pub struct RedisLocks {
    link: Arc<Link>,
    keys: Keys,
    /// Used while the server is out of reach (excludes this host's processes only).
    fallback: Arc<dyn StateLock>,
}

impl RedisLocks {
    /// Locks of `agent`, with `fallback` for outages.
    pub fn new(link: Arc<Link>, agent: &str, fallback: Arc<dyn StateLock>) -> RedisLocks {
        RedisLocks {
            keys: Keys::new(&link.settings().prefix, agent),
            link,
            fallback,
        }
    }
}

#[derive(Debug)]
struct Held {
    link: Arc<Link>,
    key: String,
    token: String,
}

impl LockGuard for Held {}

impl Drop for Held {
    fn drop(&mut self) {
        let r = self
            .link
            .pool
            .call(|con| RELEASE.key(&self.key).arg(&self.token).invoke::<i64>(con));
        if let Err(e) = r {
            tracing::debug!(lock = %self.key, "lock not released ({e}); it lapses with its lease");
        }
    }
}

impl StateLock for RedisLocks {
    fn acquire(
        &self,
        name: &str,
        lease: Duration,
        deadline: Duration,
    ) -> Result<Box<dyn LockGuard>, StoreError> {
        let key = self.keys.lock(name);
        let token = uuid::Uuid::new_v4().to_string();
        let lease_ms = lease.as_millis().max(1) as u64;
        let mut waited = Duration::ZERO;
        let step = Duration::from_millis(10);
        loop {
            let taken = self.link.pool.call(|con| {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(lease_ms)
                    .query::<Option<String>>(con)
            });
            match taken {
                Ok(Some(_)) => {
                    return Ok(Box::new(Held {
                        link: Arc::clone(&self.link),
                        key,
                        token,
                    }));
                }
                Ok(None) if waited < deadline => {
                    std::thread::sleep(step);
                    waited += step;
                }
                Ok(None) => {
                    return Err(StoreError::LockTimeout {
                        path: key.into(),
                        holder: format!("another instance ({})", self.link.settings().display_url()),
                        waited_ms: waited.as_millis() as u64,
                    });
                }
                Err(e) if is_outage(&e) => {
                    tracing::debug!(lock = name, "shared lock unavailable ({e}); using this host's");
                    return self.fallback.acquire(name, lease, deadline.saturating_sub(waited));
                }
                Err(e) => return Err(e),
            }
        }
    }
}
