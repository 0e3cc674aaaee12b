//! The hasher for the short, locally stored keys of the credential store (profile ids) and for
//! in-memory fingerprints of id sequences: `foldhash`'s fast hasher with a fixed seed (deterministic,
//! fast on short strings, good spread). Not DoS-resistant; the keys come from the user's own files.

use std::hash::Hasher;

use foldhash::fast::{FixedState, FoldHasher};

/// A deterministic hasher for ids. Use it through [`IdHashBuilder`] for maps keyed by ids, or directly
/// to fingerprint a sequence of ids (values are stable within a build, never written to disk).
#[derive(Clone)]
pub struct IdHasher(FoldHasher<'static>);

/// The fixed seed of every [`IdHasher`].
static STATE: FixedState = FixedState::with_seed(0x9e37_79b9_7f4a_7c15);

impl Default for IdHasher {
    #[inline]
    fn default() -> Self {
        IdHasher(std::hash::BuildHasher::build_hasher(&STATE))
    }
}

impl std::fmt::Debug for IdHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdHasher({:#x})", self.0.finish())
    }
}

impl IdHasher {
    /// A hasher whose start state also depends on `seed`.
    pub fn seeded(seed: u64) -> Self {
        let mut h = IdHasher::default();
        h.0.write_u64(seed);
        h
    }

    /// The hash of a sequence of ids: each id's bytes written in turn, then [`Hasher::finish`]. Feeding
    /// the same ids one by one to [`IdHasher::default`] (each followed by `write_u8(0xff)`, as `str`'s
    /// `Hash` does) gives the same value.
    pub fn of_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> u64 {
        let mut h = IdHasher::default();
        ids.into_iter().for_each(|id| {
            h.write(id.as_bytes());
            h.write_u8(0xff);
        });
        h.finish()
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0.finish()
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.0.write_u8(b);
    }
}

/// Builds [`IdHasher`]s for `HashMap`s keyed by profile ids.
pub type IdHashBuilder = std::hash::BuildHasherDefault<IdHasher>;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn similar_ids_spread_over_buckets() {
        let builder = IdHashBuilder::default();
        let ids: Vec<String> = (0..4096).map(|i| format!("anthropic:p{i:04}")).collect();
        let hashes: HashSet<u64> = ids.iter().map(|id| builder.hash_one(id)).collect();
        assert_eq!(
            hashes.len(),
            ids.len(),
            "no collisions among 4096 similar ids"
        );
        // Low bits pick the bucket, the top 7 bits the control byte: both must vary.
        let low: HashSet<u64> = hashes.iter().map(|h| h & 0xFFF).collect();
        let top: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(low.len() > 2000, "{} distinct low-bit buckets", low.len());
        assert_eq!(top.len(), 128);
    }

    #[test]
    fn length_is_part_of_the_hash() {
        let h = |b: &[u8]| {
            let mut s = IdHasher::default();
            s.write(b);
            s.finish()
        };
        assert_ne!(h(b"ab"), h(b"ab\0"));
        assert_ne!(h(b"12345678"), h(b"12345678\0\0\0\0\0\0\0\0"));
    }
}
