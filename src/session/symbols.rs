//! Interned strings addressed by a 4-byte symbol, so a million sessions that name the same few profile
//! ids and models store 4 bytes per name instead of a 16-byte shared pointer.
//!
//! Symbols are never freed; the strings interned are profile ids, model names and runtimes, which a
//! gateway has few of.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use dashmap::DashMap;
use once_cell::sync::OnceCell;

/// A handle to an interned string of one [`Symbols`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Sym(NonZeroU32);

/// Slots in the first chunk; chunk `k` holds `FIRST << k`, so 23 chunks cover every `u32` index.
const FIRST: u64 = 1024;
const CHUNKS: usize = 23;

/// Chunk number and offset of index `i`.
fn locate(i: u32) -> (usize, usize) {
    let v = u64::from(i) + FIRST;
    let chunk = (63 - v.leading_zeros()) as usize - FIRST.trailing_zeros() as usize;
    (chunk, (v - (FIRST << chunk)) as usize)
}

/// One chunk of the table: a cell per symbol, filled once.
type Chunk = Box<[OnceCell<Arc<str>>]>;

/// An append-only string table: lock-free reads by symbol, interning through a concurrent map.
#[derive(Debug)]
pub(super) struct Symbols {
    ids: DashMap<Arc<str>, Sym>,
    chunks: [OnceCell<Chunk>; CHUNKS],
    next: AtomicU32,
}

impl Default for Symbols {
    fn default() -> Self {
        Symbols {
            ids: DashMap::new(),
            chunks: std::array::from_fn(|_| OnceCell::new()),
            next: AtomicU32::new(0),
        }
    }
}

impl Symbols {
    /// The symbol of `s`, interning it on first sight. `None` only if 4 billion strings were interned.
    pub(super) fn intern(&self, s: &str) -> Option<Sym> {
        if let Some(sym) = self.ids.get(s) {
            return Some(*sym);
        }
        self.intern_new(Arc::from(s))
    }

    /// The symbol of a string already shared as `s` (no copy when it is new).
    pub(super) fn intern_arc(&self, s: &Arc<str>) -> Option<Sym> {
        if let Some(sym) = self.ids.get(&**s) {
            return Some(*sym);
        }
        self.intern_new(Arc::clone(s))
    }

    fn intern_new(&self, s: Arc<str>) -> Option<Sym> {
        // The entry guard makes "allocate an index and publish it" atomic per string.
        let entry = self.ids.entry(Arc::clone(&s));
        let sym = match entry {
            dashmap::Entry::Occupied(e) => *e.get(),
            dashmap::Entry::Vacant(e) => {
                let i = self
                    .next
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1))
                    .ok()
                    .filter(|&i| i < u32::MAX)?;
                let (chunk, offset) = locate(i);
                let slots = self.chunks[chunk].get_or_init(|| {
                    let len = (FIRST << chunk) as usize;
                    (0..len).map(|_| OnceCell::new()).collect()
                });
                // Each index is handed out once, so this cell is empty.
                let _ = slots[offset].set(s);
                *e.insert(Sym(NonZeroU32::new(i + 1)?))
            }
        };
        Some(sym)
    }

    /// The string of `sym`.
    pub(super) fn get(&self, sym: Sym) -> Option<&Arc<str>> {
        let (chunk, offset) = locate(sym.0.get() - 1);
        self.chunks[chunk].get()?.get(offset)?.get()
    }

    /// Strings interned so far.
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_tile_the_index_space() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1023), (0, 1023));
        assert_eq!(locate(1024), (1, 0));
        assert_eq!(locate(3071), (1, 2047));
        assert_eq!(locate(3072), (2, 0));
        let (chunk, offset) = locate(u32::MAX - 1);
        assert!(chunk < CHUNKS);
        assert!((offset as u64) < FIRST << chunk);
    }

    #[test]
    fn same_text_same_symbol_across_threads() {
        let table = Arc::new(Symbols::default());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let table = Arc::clone(&table);
                std::thread::spawn(move || {
                    (0..3000)
                        .map(|i| {
                            let text = format!("profile:{}", (i * 7 + t) % 2500);
                            (text.clone(), table.intern(&text).unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let all: Vec<(String, Sym)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(table.len(), 2500);
        for (text, sym) in all {
            assert_eq!(&**table.get(sym).unwrap(), text.as_str());
            assert_eq!(table.intern(&text), Some(sym));
        }
    }
}
