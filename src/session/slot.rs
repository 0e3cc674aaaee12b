//! The compact form in which the registry keeps a session: the pinned profile id as a 4-byte symbol
//! (profile ids are bounded by the user's store), model and runtime overrides out of line and owned by
//! the session (text typed in chat is never interned, so it is freed with the session), sources and
//! flags in one byte, an access tick for eviction. 56 bytes, so a boxed slot takes one 64-byte heap chunk.

use std::sync::Arc;

use uuid::Uuid;

use crate::store::{OverrideSource, StoreError};

use super::state::{Pin, Session};
use super::symbols::{Sym, Symbols};

/// The model override was set by the user (else automatically).
const MODEL_USER: u8 = 1;
/// The pin was typed by the user (else automatic).
const PIN_USER: u8 = 1 << 1;
/// The pin rotates on the next resolution.
const PIN_ROTATE: u8 = 1 << 2;
/// Changed since the last write to `sessions.json`.
const DIRTY: u8 = 1 << 3;
/// `session_id` holds the session's id (a canonical UUID); else the id is out of line or absent.
const HAS_UUID: u8 = 1 << 4;
/// The configured default was chosen explicitly (`modelOverrideSource: "default"`).
const MODEL_DEFAULT: u8 = 1 << 5;

/// One session in the registry.
#[derive(Debug)]
pub(super) struct Slot {
    session_id: Uuid,
    updated_at: i64,
    /// Model and runtime overrides (most sessions have neither: no allocation).
    extra: Option<Box<Overrides>>,
    pin_profile: Option<Sym>,
    compaction_count: u32,
    pin_compaction: u32,
    pin_order_hash: u32,
    /// Access tick (wrapping) for least-recently-used eviction.
    pub(super) tick: u32,
    /// When this process last resolved a credential for the session, in 16-second steps of a clock
    /// that wraps every 12 days (0: not yet): enough to tell a warm prompt cache from a cold one
    /// without growing the slot past its 56 bytes.
    pub(super) seen: u16,
    flags: u8,
}

/// A session's model and runtime overrides, and a session id that is not a canonical UUID.
#[derive(Debug)]
struct Overrides {
    model: Option<Arc<str>>,
    runtime: Option<Arc<str>>,
    session_text: Option<Arc<str>>,
}

/// The UUID `text` spells in canonical form (lower-case, hyphenated), if it does.
fn canonical_uuid(text: &str) -> Option<Uuid> {
    let id = Uuid::parse_str(text).ok()?;
    (id.hyphenated().to_string() == text).then_some(id)
}

/// The bit of `flag` when `on`.
fn bit(on: bool, flag: u8) -> u8 {
    if on { flag } else { 0 }
}

/// `user` when `flags` has `flag`, else `auto`.
fn source(flags: u8, flag: u8) -> OverrideSource {
    if flags & flag != 0 {
        OverrideSource::User
    } else {
        OverrideSource::Auto
    }
}

impl Slot {
    /// The compact form of `session`, interning its strings in `symbols`.
    pub(super) fn new(session: &Session, tick: u32, symbols: &Symbols) -> Result<Slot, StoreError> {
        let mut slot = Slot {
            session_id: Uuid::nil(),
            updated_at: 0,
            extra: None,
            pin_profile: None,
            compaction_count: 0,
            pin_compaction: 0,
            pin_order_hash: 0,
            tick,
            seen: 0,
            flags: 0,
        };
        slot.assign(session, symbols)?;
        Ok(slot)
    }

    /// The session as callers see it.
    pub(super) fn session(&self, symbols: &Symbols) -> Session {
        let model_override = self.extra.as_ref().and_then(|e| e.model.clone());
        Session {
            model_source: model_override
                .as_ref()
                .map(|_| source(self.flags, MODEL_USER)),
            model_default: model_override.is_none() && self.flags & MODEL_DEFAULT != 0,
            model_override,
            pin: self.pin(symbols),
            runtime_override: self.extra.as_ref().and_then(|e| e.runtime.clone()),
            session_id: if self.flags & HAS_UUID != 0 {
                Some(self.session_id.hyphenated().to_string().into())
            } else {
                self.extra.as_ref().and_then(|e| e.session_text.clone())
            },
            updated_at: self.updated_at,
            compaction_count: self.compaction_count,
        }
    }

    /// The compaction count.
    pub(super) fn compaction_count(&self) -> u32 {
        self.compaction_count
    }

    /// The pin alone (cheaper than [`Slot::session`]).
    pub(super) fn pin(&self, symbols: &Symbols) -> Option<Pin> {
        let profile = symbols.get(self.pin_profile?)?.clone();
        Some(Pin {
            profile,
            source: source(self.flags, PIN_USER),
            compaction_at_pin: self.pin_compaction,
            order_hash: self.pin_order_hash,
            rotate: self.flags & PIN_ROTATE != 0,
        })
    }

    /// Overwrites this slot with `session` (all or nothing), keeping the tick and the dirty flag.
    pub(super) fn assign(
        &mut self,
        session: &Session,
        symbols: &Symbols,
    ) -> Result<(), StoreError> {
        let sym = |text: Option<&std::sync::Arc<str>>| -> Result<Option<Sym>, StoreError> {
            match text {
                None => Ok(None),
                Some(t) => symbols
                    .intern_arc(t)
                    .map(Some)
                    .ok_or(StoreError::TooManyNames),
            }
        };
        let pin_profile = sym(session.pin.as_ref().map(|p| &p.profile))?;
        let pin = session.pin.as_ref();
        let user = |s: Option<OverrideSource>| s == Some(OverrideSource::User);
        let uuid = session.session_id.as_deref().and_then(canonical_uuid);
        let session_text = match uuid {
            Some(_) => None,
            None => session.session_id.clone(),
        };
        self.session_id = uuid.unwrap_or_else(Uuid::nil);
        self.updated_at = session.updated_at;
        self.extra = match (&session.model_override, &session.runtime_override, session_text) {
            (None, None, None) => None,
            (model, runtime, session_text) => Some(Box::new(Overrides {
                model: model.clone(),
                runtime: runtime.clone(),
                session_text,
            })),
        };
        self.pin_profile = pin_profile;
        self.compaction_count = session.compaction_count;
        self.pin_compaction = pin.map_or(0, |p| p.compaction_at_pin);
        self.pin_order_hash = pin.map_or(0, |p| p.order_hash);
        self.flags = (self.flags & DIRTY)
            | bit(user(session.model_source), MODEL_USER)
            | bit(session.model_override.is_none() && session.model_default, MODEL_DEFAULT)
            | bit(user(pin.map(|p| p.source)), PIN_USER)
            | bit(pin.is_some_and(|p| p.rotate), PIN_ROTATE)
            | bit(uuid.is_some(), HAS_UUID);
        Ok(())
    }

    /// True when changed since the last write.
    pub(super) fn is_dirty(&self) -> bool {
        self.flags & DIRTY != 0
    }

    /// Marks the slot changed (`true`) or saved (`false`); returns whether it was dirty before.
    pub(super) fn set_dirty(&mut self, dirty: bool) -> bool {
        let was = self.is_dirty();
        self.flags = (self.flags & !DIRTY) | bit(dirty, DIRTY);
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_fits_a_64_byte_heap_chunk() {
        assert!(std::mem::size_of::<Slot>() <= 56);
    }

    #[test]
    fn every_field_round_trips() {
        let symbols = Symbols::default();
        let mut s = Session::new(5);
        assert_eq!(Slot::new(&s, 0, &symbols).unwrap().session(&symbols), s);
        for (model_source, pin_source, rotate) in [
            (OverrideSource::User, OverrideSource::Auto, true),
            (OverrideSource::Auto, OverrideSource::User, false),
        ] {
            s.model_override = Some(Arc::from("anthropic/opus"));
            s.model_source = Some(model_source);
            s.runtime_override = Some(Arc::from("codex"));
            s.pin = Some(Pin {
                profile: Arc::from("anthropic:work"),
                source: pin_source,
                compaction_at_pin: 3,
                order_hash: 0xdead_beef,
                rotate,
            });
            s.compaction_count = 4;
            s.updated_at = 1_800_000_000_000;
            let mut slot = Slot::new(&s, 9, &symbols).unwrap();
            assert_eq!(slot.session(&symbols), s);
            assert_eq!(slot.pin(&symbols), s.pin);
            assert!(!slot.set_dirty(true));
            slot.assign(&Session::new(1), &symbols).unwrap();
            assert!(slot.is_dirty(), "assign keeps the dirty flag");
            assert_eq!(slot.tick, 9);
        }
    }
}
