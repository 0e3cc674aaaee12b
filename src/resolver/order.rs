//! SPEC §5 step 1 and the final sort: which ids are candidates, where they came from, and their order.
//!
//! Nothing here allocates: ids are walked straight from the store or config, and the sort works on
//! packed integer keys in a stack buffer before the candidates are permuted in place.

use std::collections::btree_map;

use crate::config::{Config, ProfileMeta};
use std::hash::Hasher;
use std::sync::Arc;

use crate::store::{AuthProfiles, CredentialKind, IdHasher, Profile, ProviderId};

use super::types::{Candidate, OrderSource, Reason};

/// The candidate ids of one provider, each with its stored profile (`None`: not in the store).
pub(super) enum Ids<'a> {
    /// An explicit order (override or config), as written.
    Listed {
        ids: std::slice::Iter<'a, String>,
        store: &'a AuthProfiles,
    },
    /// The ids of config `auth.profiles` for the provider.
    Configured {
        metas: btree_map::Iter<'a, String, ProfileMeta>,
        provider: &'a ProviderId,
        store: &'a AuthProfiles,
    },
    /// Every stored profile of the provider, with the hash of their ids made when the store was read.
    Stored {
        profiles: std::slice::Iter<'a, Arc<Profile>>,
        ids_hash: u64,
    },
}

impl<'a> Ids<'a> {
    /// Calls `f` with each id, its stored profile (`None`: not in the store) and whether that profile is
    /// known to be of the provider asked for. One tight loop per source.
    #[inline(always)]
    pub(super) fn for_each(self, mut f: impl FnMut(&'a str, Option<&'a Profile>, bool)) {
        match self {
            Ids::Listed { ids, store } => {
                ids.for_each(|id| f(id.as_str(), store.profiles.get(id).map(|p| &**p), false));
            }
            Ids::Configured {
                metas,
                provider,
                store,
            } => metas
                .filter(|(_, m)| same_text(m.provider.as_str(), provider.as_str()))
                .for_each(|(id, _)| f(id.as_str(), store.profiles.get(id).map(|p| &**p), false)),
            Ids::Stored { profiles, .. } => {
                profiles.for_each(|p| f(p.id.as_str(), Some(p), true));
            }
        }
    }

    /// At most how many ids [`Ids::for_each`] will visit.
    pub(super) fn upper_bound(&self) -> usize {
        match self {
            Ids::Listed { ids, .. } => ids.len(),
            Ids::Configured { metas, .. } => metas.len(),
            Ids::Stored { profiles, .. } => profiles.len(),
        }
    }

    /// True when some id has a stored profile.
    fn any_stored(self) -> bool {
        let mut any = false;
        self.for_each(|_, p, _| any |= p.is_some());
        any
    }
}

/// Equality of two short texts (provider ids) without a call into the C library's `memcmp`: two
/// overlapping 8-byte loads for lengths 8 to 16, bytes below that.
#[inline(always)]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| -> u64 {
        u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or_default())
    };
    match n {
        0..8 => a.iter().zip(b).all(|(x, y)| x == y),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// Step 1: the candidate ids of `provider` and where they came from. An explicit order that names only
/// ids missing from the store, or config profiles none of which is stored, fall back to the stored ones.
pub(super) fn candidate_ids<'a>(
    store: &'a AuthProfiles,
    config: &'a Config,
    provider: &'a ProviderId,
) -> (Ids<'a>, OrderSource) {
    let explicit = match (store.order.get(provider), config.auth_order.get(provider)) {
        (Some(ids), _) if !ids.is_empty() => Some((ids, OrderSource::OrderOverride)),
        (_, Some(ids)) if !ids.is_empty() => Some((ids, OrderSource::ConfigOrder)),
        _ => None,
    };
    let (profiles, ids_hash) = store.provider_profiles_hashed(provider);
    let stored = Ids::Stored {
        profiles: profiles.iter(),
        ids_hash,
    };
    if let Some((ids, source)) = explicit {
        if ids.iter().any(|id| store.profiles.contains_key(id)) {
            let ids = ids.iter();
            return (Ids::Listed { ids, store }, source);
        }
        return (stored, OrderSource::Stored);
    }
    let configured = Ids::Configured {
        metas: config.auth_profiles.iter(),
        provider,
        store,
    };
    if configured.clone_ids().any_stored() {
        return (configured, OrderSource::ConfigProfiles);
    }
    (stored, OrderSource::Stored)
}

impl Ids<'_> {
    /// A fresh copy of the walk (the iterators inside are cheap to copy).
    fn clone_ids(&self) -> Self {
        match self {
            Ids::Listed { ids, store } => Ids::Listed {
                ids: ids.clone(),
                store,
            },
            Ids::Configured {
                metas,
                provider,
                store,
            } => Ids::Configured {
                metas: metas.clone(),
                provider,
                store,
            },
            Ids::Stored { profiles, ids_hash } => Ids::Stored {
                profiles: profiles.clone(),
                ids_hash: *ids_hash,
            },
        }
    }
}

/// Fingerprint of the order source and ids: changes when `models auth order set` changes the order.
/// Feed ids with [`Fingerprint::add`] (unless the walk already knows their hash, see
/// [`Ids::known_hash`]), read it with [`Fingerprint::finish`].
#[derive(Default)]
pub(super) struct Fingerprint(IdHasher);

impl Fingerprint {
    /// Adds one id.
    pub(super) fn add(&mut self, id: &str) {
        // As [`IdHasher::of_ids`] feeds each id.
        self.0.write(id.as_bytes());
        self.0.write_u8(0xff);
    }

    /// The 32-bit fingerprint (never 0, which stands for "unknown") of `source` and the ids: those
    /// added, or `known` (an [`IdHasher::of_ids`] value) when given.
    pub(super) fn finish(&self, source: OrderSource, known: Option<u64>) -> u32 {
        let ids = known.unwrap_or_else(|| self.0.finish());
        let mut h = IdHasher::seeded(source as u64);
        h.write_u64(ids);
        let h = h.finish();
        (h ^ (h >> 32)) as u32 | 1
    }
}

impl Ids<'_> {
    /// The hash of the ids when it was computed in advance (the stored order), so the caller need not
    /// feed them to a [`Fingerprint`].
    pub(super) fn known_hash(&self) -> Option<u64> {
        match self {
            Ids::Stored { ids_hash, .. } => Some(*ids_hash),
            _ => None,
        }
    }
}

/// Maps an `i64` to a `u64` with the same order.
fn ordered(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

/// The sort key of the candidate at `pos`, packed so that integer order is SPEC §5's order with the
/// quota rules of issue 29: usable first — those past a quota threshold behind those with headroom;
/// an explicit order as given; otherwise by lane (subscription, free, metered), then the plan-window
/// room lost soonest (use it or lose it), then OAuth, token, API key, then fresh before needing a
/// refresh, then least recently used — then cooling by soonest end, then ineligible; ties by position.
fn sort_key(c: &Candidate<'_>, pos: usize, explicit: bool) -> u128 {
    let pos = pos as u128;
    let group: u128 = if c.usable {
        0
    } else if c.eligible {
        1
    } else {
        2
    };
    let order = if !c.usable {
        u128::from(ordered(c.blocked_until)) << 32
    } else if explicit {
        u128::from(c.low) << 124
    } else {
        let rank: u128 = match c.kind {
            Some(CredentialKind::OAuth) => 0,
            Some(CredentialKind::Token) => 1,
            _ => 2,
        };
        let lane = c.lane as u128;
        // Nothing known of its windows: as a fresh account (the lowest band), after those whose
        // reset is known.
        let reset = match c.lose_rank {
            0 => (1 << 30) - 1,
            rank => u128::from(rank),
        };
        let last_used = match c.place {
            // 48 bits, order kept: ms since 1970 fit until the year 6429.
            Reason::RoundRobin { last_used } => (last_used.clamp(-(1 << 47), (1 << 47) - 1) + (1 << 47)) as u128,
            _ => 0,
        };
        (u128::from(c.low) << 124)
            | (lane << 122)
            | (reset << 90)
            | (rank << 88)
            | (u128::from(c.needs_refresh) << 87)
            | (last_used << 32)
    };
    (group << 126) | order | pos
}

/// Candidates per resolution that sort in a stack buffer; longer lists use the heap.
const STACK_KEYS: usize = 32;

/// Sorts `candidates` into SPEC §5 order (stable: equal keys keep their position).
pub(super) fn sort_candidates(candidates: &mut [Candidate<'_>], explicit: bool) {
    let n = candidates.len();
    let mut stack = [0u128; STACK_KEYS];
    let mut heap = Vec::new();
    let keys: &mut [u128] = if n <= STACK_KEYS {
        &mut stack[..n]
    } else {
        heap.resize(n, 0);
        &mut heap
    };
    for (pos, (key, c)) in keys.iter_mut().zip(candidates.iter()).enumerate() {
        *key = sort_key(c, pos, explicit);
    }
    keys.sort_unstable();
    const POS: u128 = 0xFFFF_FFFF;
    if n > STACK_KEYS {
        // Many candidates (a status view of thousands of profiles): a copy in the new order is
        // linear, where following chains of moves can be quadratic.
        let sorted: Vec<Candidate<'_>> = keys
            .iter()
            .map(|k| candidates[(k & POS) as usize].clone())
            .collect();
        candidates.clone_from_slice(&sorted);
        return;
    }
    // Apply the permutation in place: the element for slot i is at the end of i's chain of moves.
    for i in 0..n {
        let mut src = (keys[i] & POS) as usize;
        while src < i {
            src = (keys[src] & POS) as usize;
        }
        keys[i] = (keys[i] & !POS) | src as u128;
        candidates.swap(i, src);
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn candidate(id: usize, usable: bool, until: i64, last_used: i64) -> Candidate<'static> {
        Candidate {
            id: Cow::Owned(id.to_string()),
            kind: Some(CredentialKind::ApiKey),
            usable,
            eligible: true,
            needs_refresh: false,
            place: Reason::RoundRobin { last_used },
            problem: None,
            blocked_until: until,
            lane: crate::store::Lane::Metered,
            low: false,
            wall: false,
            lose_rank: 0,
        }
    }

    #[test]
    fn a_precomputed_ids_hash_gives_the_fingerprint_of_feeding_the_ids() {
        let ids = ["anthropic:a", "anthropic:work-account-2", "anthropic:b"];
        let mut fed = Fingerprint::default();
        ids.iter().for_each(|id| fed.add(id));
        let known = Some(IdHasher::of_ids(ids));
        for source in [OrderSource::Stored, OrderSource::ConfigOrder] {
            assert_eq!(fed.finish(source, None), fed.finish(source, known));
        }
        assert_ne!(
            fed.finish(OrderSource::Stored, None),
            fed.finish(OrderSource::ConfigProfiles, None),
            "the source is part of the fingerprint"
        );
        let mut reordered = Fingerprint::default();
        ids.iter().rev().for_each(|id| reordered.add(id));
        assert_ne!(
            fed.finish(OrderSource::Stored, None),
            reordered.finish(OrderSource::Stored, None)
        );
    }

    proptest::proptest! {
        #[test]
        fn sorts_like_a_stable_sort_by_the_spec_order(
            rows in proptest::collection::vec((proptest::bool::ANY, 0i64..4, -3i64..4), 0..80),
        ) {
            let mut got: Vec<_> = rows
                .iter()
                .enumerate()
                .map(|(i, &(usable, until, used))| candidate(i, usable, until, used))
                .collect();
            let mut want = got.clone();
            want.sort_by_key(|c| (!c.usable, if c.usable { 0 } else { c.blocked_until },
                match c.place { Reason::RoundRobin { last_used } if c.usable => last_used, _ => 0 }));
            sort_candidates(&mut got, false);
            proptest::prop_assert_eq!(got, want);
        }
    }
}
