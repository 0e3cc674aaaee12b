//! A fast hasher for the short, locally stored keys of the credential store (profile ids), eight bytes
//! per step. Not DoS-resistant; the keys come from the user's own files.

use std::hash::Hasher;

/// The multiplier of each step (the 64-bit golden ratio, odd).
const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// Word-at-a-time multiply–rotate hasher. Use it through [`IdHashBuilder`] for maps keyed by ids, or
/// directly to fingerprint a sequence of ids.
#[derive(Debug, Clone, Copy)]
pub struct IdHasher(u64);

impl Default for IdHasher {
    fn default() -> Self {
        IdHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl IdHasher {
    /// A hasher whose start state also depends on `seed`.
    pub fn seeded(seed: u64) -> Self {
        IdHasher(0xcbf2_9ce4_8422_2325 ^ seed)
    }

    /// The hash of a sequence of ids: each id's bytes written in turn, then [`Hasher::finish`]. Feeding
    /// the same ids one by one to [`IdHasher::default`] gives the same value.
    pub fn of_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> u64 {
        let mut h = IdHasher::default();
        ids.into_iter().for_each(|id| h.write(id.as_bytes()));
        h.finish()
    }

    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(K).rotate_left(29);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        let h = self.0 ^ (self.0 >> 32);
        h.wrapping_mul(K) ^ (h >> 29)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word: [u8; 8] = chunk.try_into().unwrap_or_default();
            self.mix(u64::from_le_bytes(word));
        }
        // Byte by byte, not through a temporary buffer: a short copy into the stack followed by a
        // wide load stalls the CPU (failed store forwarding) on the resolver's hot path.
        let tail = chunks
            .remainder()
            .iter()
            .rev()
            .fold(0u64, |w, &b| (w << 8) | u64::from(b));
        self.mix(tail ^ ((bytes.len() as u64) << 56));
    }

    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.mix(u64::from(b));
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
