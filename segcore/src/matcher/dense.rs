//! Dense intermediates for counting an `and` of index sets: the running result is kept as
//! plain words over every slot, each set is folded in word by word, and the last step is a
//! popcount. CRoaring would otherwise store a result that drops below 1/16 of a chunk as a
//! sorted array, at a few nanoseconds per member (B2, `docs/performance.md`); plain words cost
//! the same whatever the density. Index sets themselves stay compressed. The same words make
//! membership a single load, for tallies that test millions of rows against an input.

use crate::index::Bitmap;

use super::sets::IndexSet;

/// A set as plain words over slots `0..64 * len`.
pub(super) struct Words(Vec<u64>);

/// `target[i] op= source[i]`, with `source` zero past its end.
fn fold(target: &mut [u64], set: &Bitmap, op: impl Fn(u64, u64) -> u64) {
    let bits = set.to_bitset();
    let source = bits.as_ref().map_or(&[][..], |b| b.as_slice());
    let shared = source.len().min(target.len());
    // Two plain loops the compiler vectorises: over the words both have, then the rest.
    for (t, &s) in target[..shared].iter_mut().zip(&source[..shared]) {
        *t = op(*t, s);
    }
    for t in &mut target[shared..] {
        *t = op(*t, 0);
    }
}

impl Words {
    /// `set` as words covering `slots` slots.
    pub(super) fn of(set: &Bitmap, slots: usize) -> Words {
        let mut words = vec![u64::MAX; slots.div_ceil(64)];
        fold(&mut words, set, |t, s| t & s);
        Words(words)
    }

    /// Keeps only the members of `set`.
    pub(super) fn and(&mut self, set: &IndexSet<'_>) {
        match set {
            IndexSet::Owned(s) => fold(&mut self.0, s, |t, s| t & s),
            IndexSet::Union(parts) => self.and_union(parts),
            IndexSet::Difference(all, minus) => {
                fold(&mut self.0, all, |t, s| t & s);
                if let Some(minus) = minus {
                    fold(&mut self.0, minus, |t, s| t & !s);
                }
            }
            IndexSet::Intersection(unions) => {
                for parts in unions {
                    self.and_union(parts);
                }
            }
        }
    }

    fn and_union(&mut self, parts: &[&Bitmap]) {
        match parts {
            [] => self.0.fill(0),
            [one] => fold(&mut self.0, one, |t, s| t & s),
            many => {
                let mut union = vec![0u64; self.0.len()];
                for part in many {
                    fold(&mut union, part, |t, s| t | s);
                }
                for (t, u) in self.0.iter_mut().zip(&union) {
                    *t &= u;
                }
            }
        }
    }

    pub(super) fn contains(&self, slot: u32) -> bool {
        self.0
            .get(slot as usize / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    pub(super) fn count(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}
