//! The background thread of a gateway with shared state: it listens for other instances' change
//! notices, and while the server is out of reach it probes it, then writes back what was kept,
//! repopulates a server that lost its data, and re-reads every cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Deserialize;

use crate::store::StoreError;

use super::cache::Change;
use super::keys;
use super::link::{Link, Pending};
use super::profiles::replay;

/// The link and the thread that keeps it current, shared by a gateway and every agent it opened (the
/// thread runs while any of them is alive).
#[derive(Debug)]
pub struct SharedState {
    /// The link.
    pub link: Arc<Link>,
    _watcher: Watcher,
}

impl SharedState {
    /// Starts watching `link`.
    pub fn start(link: Arc<Link>) -> Arc<SharedState> {
        Arc::new(SharedState {
            _watcher: Watcher::start(Arc::clone(&link)),
            link,
        })
    }
}

/// Stops the thread when dropped (and waits for it: at most one read timeout).
#[derive(Debug)]
pub struct Watcher {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Starts watching `link`.
    pub fn start(link: Arc<Link>) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("modelauth-redis".into())
            .spawn(move || run(&link, &flag))
            .ok();
        Watcher { stop, handle }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// How often the listener wakes to check for gaps, outages and the stop flag.
const TICK: Duration = Duration::from_millis(20);

fn run(link: &Arc<Link>, stop: &AtomicBool) {
    let mut backoff = Duration::from_millis(50);
    let mut first = true;
    while !stop.load(Ordering::Acquire) {
        let was_down = link.pool.is_down();
        match recover(link, first) {
            Ok(written) => {
                if was_down {
                    tracing::info!(
                        url = %link.settings().display_url(),
                        written,
                        "shared state reachable again; changes kept meanwhile written back"
                    );
                }
                backoff = Duration::from_millis(50);
                first = false;
            }
            Err(e) => {
                if link.pool.mark_down() {
                    tracing::warn!("shared state unavailable: {e}; serving from the last known state");
                }
                link.set_problem(Some(e.to_string()));
                sleep_unless(stop, backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        }
        if let Err(e) = listen(link, stop) {
            if link.pool.mark_down() {
                tracing::warn!("shared state unavailable: {e}; serving from the last known state");
            }
            link.set_problem(Some(e.to_string()));
        }
    }
}

fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let mut left = d;
    while !left.is_zero() && !stop.load(Ordering::Acquire) {
        let step = left.min(TICK);
        std::thread::sleep(step);
        left -= step;
    }
}

/// Probes the server; writes back kept changes; repopulates it when it lost its data; marks it up.
/// Returns how many kept changes were written.
fn recover(link: &Arc<Link>, first: bool) -> Result<usize, StoreError> {
    if !first && !link.pool.is_down() {
        return Ok(0);
    }
    let epoch_key = keys::epoch(&link.settings().prefix);
    let fresh = uuid::Uuid::new_v4().to_string();
    let (set, now): (bool, String) = link.pool.call_now(|con| {
        redis::pipe()
            .cmd("SET")
            .arg(&epoch_key)
            .arg(&fresh)
            .arg("NX")
            .cmd("GET")
            .arg(&epoch_key)
            .query::<(Option<String>, String)>(con)
            .map(|(s, g)| (s.is_some(), g))
    })?;
    let seen = link.epoch.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let lost = seen.is_some_and(|s| s != now) || (set && !first);
    let pending = link.take_pending();
    let written = pending.len();
    write_back(link, pending)?;
    if lost {
        tracing::warn!(
            url = %link.settings().display_url(),
            "the shared state's server lost its data (restarted empty or flushed); repopulating it from this instance's records"
        );
        for agent in link.agents() {
            agent.repopulate()?;
            if let Some(watch) = link.sessions_of(agent.agent()) {
                let ops: Vec<_> = watch
                    .held()
                    .iter()
                    .map(|(key, r)| super::sessions::absent_op(agent.keys(), key, r))
                    .collect();
                agent.write_back(&ops)?;
            }
        }
    }
    *link.epoch.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
    link.pool.mark_up();
    link.set_problem(None);
    Ok(written)
}

/// Writes back kept changes in order; what fails (and everything after it) is kept again.
fn write_back(link: &Link, pending: Vec<Pending>) -> Result<(), StoreError> {
    let mut rest = pending.into_iter();
    while let Some(change) = rest.next() {
        let agent = match &change {
            Pending::Ops { agent, .. } | Pending::Outcome { agent, .. } => agent.clone(),
        };
        let Some(routing) = link.agent(&agent) else {
            continue;
        };
        let result = match &change {
            Pending::Ops { ops, .. } => routing.write_back(ops),
            Pending::Outcome { .. } => replay(&routing, &change).map_err(|e| match e {
                crate::backend::ReportError::Store(s) => s,
                other => {
                    tracing::warn!("a kept outcome cannot be replayed ({other}); dropped");
                    link.settings().error(crate::store::RedisProblem::Protocol(other.to_string()))
                }
            }),
        };
        if let Err(e) = result {
            let mut kept = vec![change];
            kept.extend(rest);
            link.put_back(kept);
            return Err(e);
        }
    }
    Ok(())
}

/// Subscribes, re-reads every cache, and applies notices until the server fails or `stop`.
fn listen(link: &Arc<Link>, stop: &AtomicBool) -> Result<(), StoreError> {
    let mut con = link.pool.connect()?;
    let mut ps = con.as_pubsub();
    ps.subscribe(link.channel())
        .map_err(|e| link.pool.classify(&e))?;
    ps.set_read_timeout(Some(TICK))
        .map_err(|e| link.pool.classify(&e))?;
    for agent in link.agents() {
        agent.refresh_now(Vec::new())?;
    }
    loop {
        if stop.load(Ordering::Acquire) {
            return Ok(());
        }
        if link.pool.is_down() {
            // A caller's command failed meanwhile (e.g. a paused server): reconnect from scratch.
            return Err(link.settings().error(crate::store::RedisProblem::Down));
        }
        match ps.get_message() {
            Ok(msg) => dispatch(link, msg.get_payload_bytes()),
            Err(e) if e.is_timeout() => {
                for agent in link.agents().into_iter().filter(|a| a.has_gap()) {
                    agent.refresh_now(Vec::new())?;
                }
            }
            Err(e) => return Err(link.pool.classify(&e)),
        }
    }
}

/// A change notice as the server's script publishes it.
#[derive(Debug, Deserialize)]
struct Notice {
    a: String,
    o: String,
    r: u64,
    ops: Vec<NoticeOp>,
}

#[derive(Debug, Deserialize)]
struct NoticeOp {
    k: String,
    f: Option<String>,
    n: Option<String>,
}

fn dispatch(link: &Link, payload: &[u8]) {
    let notice: Notice = match serde_json::from_slice(payload) {
        Ok(n) => n,
        Err(e) => {
            tracing::debug!("ignoring a change notice that is not modelauth's ({e})");
            return;
        }
    };
    let Some(routing) = link.agent(&notice.a) else {
        return;
    };
    let keys = routing.keys();
    let changes: Vec<Change> = notice
        .ops
        .into_iter()
        .filter_map(|op| {
            Some(Change {
                kind: keys.kind(&op.k)?,
                field: op.f,
                value: op.n,
            })
        })
        .collect();
    if notice.o != link.origin
        && let Some(watch) = link.sessions_of(&notice.a)
    {
        for c in &changes {
            if let super::keys::Kind::Session(key) = &c.kind {
                watch.changed_elsewhere(key);
            }
        }
    }
    routing.announce(notice.r, changes, false);
}
