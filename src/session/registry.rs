//! The session registry: a cheap-to-clone handle over a concurrent map of session key → state, with
//! batched persistence to the agent's `sessions.json` and a bound on sessions kept in memory.
//!
//! Every operation takes one short map guard and releases it before touching the map again or the disk.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use dashmap::DashMap;

use crate::backend::{SessionStore, SessionWatch};
use crate::resolver::SharedClock;
use crate::store::{OverrideSource, SessionRecord, StoreError};

use super::slot::Slot;
use super::state::{Pin, Session};
use super::symbols::Symbols;

/// Settings of the session registry of each agent ([`crate::GatewayBuilder::registry`]).
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Sessions kept in memory; idle ones beyond this are evicted (they stay on disk).
    pub max_sessions: usize,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            max_sessions: 100_000,
        }
    }
}

#[derive(Debug)]
struct Inner {
    map: DashMap<Box<str>, Box<Slot>>,
    symbols: Symbols,
    dirty: Mutex<Vec<Box<str>>>,
    file: Option<Arc<dyn SessionStore>>,
    clock: SharedClock,
    options: RegistryOptions,
    ticks: AtomicU32,
    writes: AtomicU64,
    /// A background save for eviction is running.
    saving: AtomicBool,
}

/// A handle to one agent's sessions. Clone it freely; clones share the same state.
#[derive(Debug, Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl Registry {
    /// A registry persisted to `file` (or memory-only with `None`). Nothing is read until a session is asked for.
    pub fn new(
        file: Option<Arc<dyn SessionStore>>,
        clock: SharedClock,
        options: RegistryOptions,
    ) -> Registry {
        let registry = Registry {
            inner: Arc::new(Inner {
                map: DashMap::new(),
                symbols: Symbols::default(),
                dirty: Mutex::new(Vec::new()),
                file,
                clock,
                options,
                ticks: AtomicU32::new(0),
                writes: AtomicU64::new(0),
                saving: AtomicBool::new(false),
            }),
        };
        if let Some(file) = &registry.inner.file {
            let weak = Arc::downgrade(&registry.inner);
            file.watch(weak as std::sync::Weak<dyn SessionWatch>);
        }
        registry
    }

    /// Profile ids interned so far (bounded by the ids the store and `sessions.json` hold).
    pub fn interned(&self) -> usize {
        self.inner.symbols.len()
    }

    /// Sessions in memory now.
    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    /// True when no session is in memory.
    pub fn is_empty(&self) -> bool {
        self.inner.map.is_empty()
    }

    /// Writes to `sessions.json` so far (batching makes this much smaller than the number of changes).
    pub fn writes(&self) -> u64 {
        self.inner.writes.load(Ordering::Relaxed)
    }

    /// A shared copy of profile id `s`, reusing an earlier copy of the same id. Only for profile ids
    /// (bounded by the store): text typed in chat is never interned.
    pub fn intern(&self, s: &str) -> Arc<str> {
        let symbols = &self.inner.symbols;
        match symbols.intern(s).and_then(|sym| symbols.get(sym)) {
            Some(shared) => Arc::clone(shared),
            None => Arc::from(s),
        }
    }

    /// The session `key`, loading it from `sessions.json` when it is not in memory.
    pub fn get(&self, key: &str) -> Result<Option<Session>, StoreError> {
        if let Some(mut slot) = self.inner.map.get_mut(key) {
            slot.tick = self.tick();
            return Ok(Some(slot.session(&self.inner.symbols)));
        }
        self.get_from_disk(key)
    }

    /// [`Registry::get`] for a session not in memory (kept out of line: the in-memory path is hot).
    #[cold]
    #[inline(never)]
    fn get_from_disk(&self, key: &str) -> Result<Option<Session>, StoreError> {
        let Some(record) = self.load_record(key)? else {
            return Ok(None);
        };
        let session = Session::from_record(&record);
        self.insert_loaded(key, &session)?;
        self.evict_if_needed();
        Ok(Some(session))
    }

    /// The pin of session `key` (cheap: no disk access when the session is in memory).
    pub fn pin(&self, key: &str) -> Result<Option<Pin>, StoreError> {
        if let Some(slot) = self.inner.map.get(key) {
            return Ok(slot.pin(&self.inner.symbols));
        }
        Ok(self.get(key)?.and_then(|s| s.pin))
    }

    /// The pin and compaction count of session `key`, and how long ago (ms) this process last asked
    /// this for it (`None`: not since it was loaded): what resolution reads. Marks the session seen at
    /// `now_ms`. `(None, 0, None)` for an unknown session; no disk access when it is in memory.
    pub fn pin_for_resolve(
        &self,
        key: &str,
        now_ms: i64,
    ) -> Result<(Option<Pin>, u32, Option<i64>), StoreError> {
        let now_step = ((now_ms.max(0) / 16_000) as u16).max(1);
        if let Some(mut slot) = self.inner.map.get_mut(key) {
            slot.tick = self.tick();
            let idle = (slot.seen != 0).then(|| i64::from(now_step.wrapping_sub(slot.seen)) * 16_000);
            slot.seen = now_step;
            return Ok((slot.pin(&self.inner.symbols), slot.compaction_count(), idle));
        }
        let found = self.get(key)?;
        if let Some(mut slot) = self.inner.map.get_mut(key) {
            slot.seen = now_step;
        }
        Ok(found.map_or((None, 0, None), |s| (s.pin, s.compaction_count, None)))
    }

    /// Changes session `key` (created when it does not exist) with `change`, marks it for the next
    /// write and returns `change`'s value. `change` must not call back into the registry.
    pub fn update<T>(
        &self,
        key: &str,
        change: impl FnOnce(&mut Session) -> T,
    ) -> Result<T, StoreError> {
        self.modify(key, |s| (change(s), true))
    }

    /// [`Registry::update`] where `change` also says whether it changed anything; an unchanged session
    /// is not marked for writing.
    fn modify<T>(
        &self,
        key: &str,
        change: impl FnOnce(&mut Session) -> (T, bool),
    ) -> Result<T, StoreError> {
        let now = self.inner.clock.now_ms();
        let tick = self.tick();
        let symbols = &self.inner.symbols;
        // Loaded from disk when not in memory (again, should another thread evict it meanwhile).
        let mut slot = loop {
            if let Some(slot) = self.inner.map.get_mut(key) {
                break slot;
            }
            let loaded = self.load_record(key)?.map(|r| Session::from_record(&r));
            self.insert_loaded(key, &loaded.unwrap_or_else(|| Session::new(now)))?;
        };
        let mut session = slot.session(symbols);
        slot.tick = tick;
        let (value, changed) = change(&mut session);
        if !changed {
            return Ok(value);
        }
        session.updated_at = now;
        slot.assign(&session, symbols)?;
        // A memory-only registry has nothing to save: its sessions never count as dirty.
        let newly_dirty = self.inner.file.is_some() && !slot.set_dirty(true);
        drop(slot);
        if newly_dirty {
            self.inner
                .dirty
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(key.into());
        }
        if self.inner.file.as_ref().is_some_and(|f| f.write_through()) {
            self.flush()?;
        }
        self.evict_if_needed();
        Ok(value)
    }

    /// Pins `profile` with `source` on session `key`.
    pub fn set_pin(
        &self,
        key: &str,
        profile: &str,
        source: OverrideSource,
        order_hash: u32,
    ) -> Result<(), StoreError> {
        let profile = self.intern(profile);
        self.update(key, |s| {
            s.pin = Some(Pin {
                profile,
                source,
                compaction_at_pin: s.compaction_count,
                order_hash,
                rotate: false,
            });
        })
    }

    /// Sets (`Some((profile, source, order_hash))`) or clears (`None`) the pin of session `key`, but
    /// only when its pin is still `seen`: a pin changed since it was read (a user's `/model x@p` racing
    /// a resolution) is kept. Atomic: the check and the change happen under the session's guard.
    /// Returns whether the change was made.
    pub fn compare_and_set_pin(
        &self,
        key: &str,
        seen: Option<&Pin>,
        new: Option<(&str, OverrideSource, u32)>,
    ) -> Result<bool, StoreError> {
        let profile = new.map(|(p, _, _)| self.intern(p));
        let applied = self.modify(key, |s| {
            if s.pin.as_ref() != seen {
                return (false, false);
            }
            s.pin = new
                .zip(profile)
                .map(|((_, source, order_hash), profile)| Pin {
                    profile,
                    source,
                    compaction_at_pin: s.compaction_count,
                    order_hash,
                    rotate: false,
                });
            (true, true)
        })?;
        Ok(applied)
    }

    /// Puts session `key` back as `before` (or forgets it when it did not exist), undoing a change
    /// whose commit failed.
    pub fn restore(&self, key: &str, before: Option<Session>) -> Result<(), StoreError> {
        match before {
            Some(old) => self.update(key, |s| *s = old),
            None => {
                self.inner.map.remove(key);
                Ok(())
            }
        }
    }

    /// Removes the pin of session `key`.
    pub fn clear_pin(&self, key: &str) -> Result<(), StoreError> {
        self.update(key, |s| s.pin = None)
    }

    /// Sets (`Some`) or clears (`None`) the model override (`provider/model`) of session `key`.
    pub fn set_model(
        &self,
        key: &str,
        model: Option<&str>,
        source: OverrideSource,
    ) -> Result<(), StoreError> {
        let model: Option<Arc<str>> = model.map(Arc::from);
        self.update(key, |s| {
            s.model_source = model.as_ref().map(|_| source);
            s.model_default = false;
            s.model_override = model;
        })
    }

    /// Starts a new conversation (`/new`, `/reset`): a new session id; the model override carries over;
    /// a pin carries over as `auto` and rotates to the next profile on the next resolution.
    pub fn new_session(&self, key: &str) -> Result<uuid::Uuid, StoreError> {
        let id = uuid::Uuid::new_v4();
        self.update(key, |s| {
            s.session_id = Some(id.to_string().into());
            if let Some(pin) = &mut s.pin {
                pin.source = OverrideSource::Auto;
                pin.rotate = true;
            }
        })?;
        Ok(id)
    }

    /// Records that the gateway compacted session `key`'s history (auto pins move on afterwards).
    pub fn note_compaction(&self, key: &str) -> Result<u32, StoreError> {
        self.update(key, |s| {
            s.compaction_count = s.compaction_count.saturating_add(1);
            s.compaction_count
        })
    }

    /// Writes every changed session to `sessions.json` now (one locked write). Returns how many.
    pub fn flush(&self) -> Result<usize, StoreError> {
        let keys = std::mem::take(&mut *self.inner.dirty.lock().unwrap_or_else(|e| e.into_inner()));
        if keys.is_empty() {
            return Ok(0);
        }
        let mut records: Vec<(Box<str>, SessionRecord)> = Vec::with_capacity(keys.len());
        for key in keys {
            let record = self.inner.map.get_mut(&*key).map(|mut slot| {
                slot.set_dirty(false);
                slot.session(&self.inner.symbols).to_record()
            });
            if let Some(r) = record {
                records.push((key, r));
            }
        }
        let Some(file) = &self.inner.file else {
            return Ok(records.len());
        };
        let batch: Vec<(&str, &SessionRecord)> = records.iter().map(|(k, r)| (&**k, r)).collect();
        let result = file.store(&batch);
        drop(batch);
        if let Err(e) = result {
            // Put the keys back so the next flush retries them.
            let mut dirty = self.inner.dirty.lock().unwrap_or_else(|e| e.into_inner());
            for (key, _) in records {
                if let Some(mut slot) = self.inner.map.get_mut(&*key) {
                    slot.set_dirty(true);
                }
                dirty.push(key);
            }
            return Err(e);
        }
        self.inner.writes.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(sessions = records.len(), "sessions flushed");
        Ok(records.len())
    }

    /// Starts a background task on the current tokio runtime that flushes changes at most once per
    /// `window` (or per ten times the last flush's duration, when that is longer), so a burst of
    /// changes becomes one write. Dropping the returned handle does not stop it;
    /// abort it and call [`Registry::flush`] at shutdown.
    pub fn spawn_autosave(&self, window: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let registry = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(window);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let r = registry.clone();
                let started = tokio::time::Instant::now();
                match tokio::task::spawn_blocking(move || r.flush()).await {
                    Ok(Err(e)) => tracing::warn!("saving sessions failed (will retry): {e}"),
                    Err(e) => tracing::warn!("session autosave task failed: {e}"),
                    Ok(Ok(_)) => {}
                }
                // A large sessions.json costs its rewrite: save at most a tenth of the time (a
                // 250 MB file every few seconds instead of every second). Shutdown saves the rest.
                let spent = started.elapsed();
                if spent * 10 > window {
                    tokio::time::sleep(spent * 10 - window).await;
                }
            }
        })
    }

    /// Every session in memory, as (key, session). Takes each shard's guard briefly.
    pub fn snapshot(&self) -> Vec<(String, Session)> {
        self.inner
            .map
            .iter()
            .map(|e| (e.key().to_string(), e.value().session(&self.inner.symbols)))
            .collect()
    }

    /// The next access tick (wrapping; eviction compares ages, not raw ticks).
    fn tick(&self) -> u32 {
        self.inner.ticks.fetch_add(1, Ordering::Relaxed)
    }

    /// Reads one entry from disk (none without a file). When the file has to be read for it, the
    /// other sessions in it are kept in memory too, up to three quarters of the cap (the most recently
    /// updated ones; the last quarter stays free for new chats, so warming never forces an eviction),
    /// and a restarted gateway parses a large `sessions.json` once, not once per chat.
    #[inline(never)]
    fn load_record(&self, key: &str) -> Result<Option<SessionRecord>, StoreError> {
        let Some(file) = &self.inner.file else {
            return Ok(None);
        };
        let cap = self.inner.options.max_sessions.max(1);
        let room = (cap - cap / 4).saturating_sub(self.inner.map.len() + 1);
        if room == 0 {
            return file.load_one(key);
        }
        let Some(all) = file.load_all_unless_absent(key)? else {
            return Ok(None);
        };
        let mut wanted = None;
        let mut others = Vec::with_capacity(all.len());
        for (k, record) in all {
            if k == key {
                wanted = Some(record);
            } else {
                others.push((k, record));
            }
        }
        // Newest first, filling free places only; the newest get the latest ticks (evicted last).
        others.sort_by_key(|(_, r)| std::cmp::Reverse(r.updated_at.unwrap_or(0)));
        let newest = self.inner.ticks.fetch_add(room as u32, Ordering::Relaxed);
        let mut placed = 0usize;
        for (k, record) in others {
            if placed == room {
                break;
            }
            // Built before the entry is taken: no work under the shard's guard.
            let tick = newest.wrapping_add((room - placed - 1) as u32);
            let slot = Slot::new(&Session::from_record(&record), tick, &self.inner.symbols)?;
            if let dashmap::Entry::Vacant(place) = self.inner.map.entry(k.into_boxed_str()) {
                place.insert(Box::new(slot));
                placed += 1;
            }
        }
        Ok(wanted)
    }

    /// Inserts a session read from disk unless another thread inserted it meanwhile. The caller
    /// evicts afterwards, once it no longer needs the entry.
    fn insert_loaded(&self, key: &str, session: &Session) -> Result<(), StoreError> {
        let slot = Slot::new(session, self.tick(), &self.inner.symbols)?;
        self.inner.map.entry(key.into()).or_insert(Box::new(slot));
        Ok(())
    }

    /// Evicts the least recently used quarter of the sessions when over the cap. Only saved sessions
    /// are evicted: a caller's thread never writes `sessions.json` here. When unsaved sessions hold the
    /// registry over its cap, one background thread saves them and evicts afterwards.
    fn evict_if_needed(&self) {
        let cap = self.inner.options.max_sessions.max(1);
        if self.inner.map.len() <= cap {
            return;
        }
        let unsaved = !self
            .inner
            .dirty
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        if unsaved && self.inner.file.is_some() && !self.inner.saving.swap(true, Ordering::AcqRel) {
            let registry = self.clone();
            std::thread::spawn(move || {
                if let Err(e) = registry.flush() {
                    tracing::warn!("saving sessions before evicting them failed (will retry): {e}");
                }
                registry.inner.saving.store(false, Ordering::Release);
                registry.evict_clean();
            });
        }
        self.evict_clean();
    }

    /// Evicts the least recently used quarter of the saved sessions when over the cap.
    fn evict_clean(&self) {
        let cap = self.inner.options.max_sessions.max(1);
        if self.inner.map.len() <= cap {
            return;
        }
        let now = self.inner.ticks.load(Ordering::Relaxed);
        let mut ages: Vec<(u32, Box<str>)> = self
            .inner
            .map
            .iter()
            .filter(|e| !e.is_dirty())
            .map(|e| (now.wrapping_sub(e.tick), e.key().clone()))
            .collect();
        let excess = self.inner.map.len().saturating_sub(cap) + cap / 4;
        let n = excess.min(ages.len());
        if n == 0 {
            return;
        }
        // Oldest first: the n largest ages.
        ages.select_nth_unstable_by_key(n - 1, |(age, _)| std::cmp::Reverse(*age));
        for (_, key) in ages.into_iter().take(n) {
            self.inner.map.remove_if(&key, |_, slot| !slot.is_dirty());
        }
        tracing::debug!(evicted = n, "idle sessions evicted from memory");
    }
}

impl SessionWatch for Inner {
    /// Drops the copy in memory (unless it has changes not yet stored): the next read loads the
    /// other instance's version.
    fn changed_elsewhere(&self, key: &str) {
        self.map.remove_if(key, |_, slot| !slot.is_dirty());
    }

    fn held(&self) -> Vec<(String, SessionRecord)> {
        self.map
            .iter()
            .map(|e| (e.key().to_string(), e.value().session(&self.symbols).to_record()))
            .collect()
    }
}
