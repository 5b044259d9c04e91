//! Profile id → slot: an open-addressing table of slots (linear probing), whose ids are hashed
//! and compared where the records keep them, so each id is stored once.
//!
//! Hand-written rather than hashbrown's `HashTable` for one reason: a bulk load looks up
//! millions of ids, each a wait on memory (the table's entry, then the record holding the id),
//! and with the entries' places known the lookups of the rows ahead are prefetched, so the
//! waits overlap instead of following one another (at 1M profiles a lookup took ~480 ns of a
//! core, most of a load's time).

use hashbrown::DefaultHashBuilder;
use std::hash::BuildHasher;

use super::Record;

/// Slots by id. An entry holds the top 32 bits of its id's hash (which also give its home
/// place, so the table grows and deletes without reading any record) and its slot plus one;
/// zero is an empty place.
#[derive(Debug, Clone, Default)]
pub(super) struct SlotsById {
    entries: Vec<u64>,
    len: usize,
    hasher: DefaultHashBuilder,
}

const EMPTY: u64 = 0;

/// How far ahead of the row being looked up the next rows' entries and records are prefetched.
const AHEAD: usize = 16;

fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

fn entry(tag: u32, slot: u32) -> u64 {
    (u64::from(tag) << 32) | (u64::from(slot) + 1)
}

fn entry_tag(e: u64) -> u32 {
    (e >> 32) as u32
}

fn entry_slot(e: u64) -> u32 {
    (e as u32).wrapping_sub(1)
}

/// The id of the live profile in `slot`.
fn id_of(records: &[Option<Record>], slot: u32) -> &str {
    &records[slot as usize]
        .as_ref()
        .expect("the table holds live slots")
        .id
}

/// Asks the processor to bring `item`'s cache line in; a hint, nothing is read.
#[inline]
fn prefetch<T>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: `_mm_prefetch` only hints the cache; it reads nothing into the program and
    // never faults. The pointer comes from a live reference. SSE is in every x86_64.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(item).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

impl SlotsById {
    pub fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    fn mask(&self) -> usize {
        self.entries.len().wrapping_sub(1)
    }

    /// Where an entry with `tag` starts looking.
    fn home(&self, tag: u32) -> usize {
        tag as usize & self.mask()
    }

    pub fn get(&self, records: &[Option<Record>], id: &str) -> Option<u32> {
        self.get_hashed(records, self.hash(id), id)
    }

    /// [`SlotsById::get`] with the id's hash already known.
    pub fn get_hashed(&self, records: &[Option<Record>], hash: u64, id: &str) -> Option<u32> {
        if self.entries.is_empty() {
            return None;
        }
        let tag = tag_of(hash);
        let mut at = self.home(tag);
        loop {
            let e = self.entries[at];
            if e == EMPTY {
                return None;
            }
            if entry_tag(e) == tag && id_of(records, entry_slot(e)) == id {
                return Some(entry_slot(e));
            }
            at = (at + 1) & self.mask();
        }
    }

    /// The slot of each id that has one, the lookups of the rows ahead prefetched: each id is
    /// hashed and its entry prefetched [`AHEAD`] rows before it is looked up (so its string is
    /// still in the cache then), and the record its entry names half as many rows before.
    pub fn get_all(&self, records: &[Option<Record>], ids: &[&str]) -> Vec<Option<u32>> {
        if self.entries.is_empty() {
            return vec![None; ids.len()];
        }
        let mut tags: Vec<u32> = Vec::with_capacity(ids.len());
        let hash_ahead = |tags: &mut Vec<u32>, row: usize| {
            if let Some(id) = ids.get(row) {
                let tag = tag_of(self.hash(id));
                prefetch(&self.entries[self.home(tag)]);
                tags.push(tag);
            }
        };
        for row in 0..AHEAD {
            hash_ahead(&mut tags, row);
        }
        let mut slots = Vec::with_capacity(ids.len());
        for (i, &id) in ids.iter().enumerate() {
            hash_ahead(&mut tags, i + AHEAD);
            if let Some(&tag) = tags.get(i + AHEAD / 2) {
                let e = self.entries[self.home(tag)];
                if e != EMPTY && entry_tag(e) == tag {
                    if let Some(record) = records.get(entry_slot(e) as usize) {
                        prefetch(record);
                    }
                }
            }
            slots.push(self.get_hashed(records, u64::from(tags[i]) << 32, id));
        }
        slots
    }

    /// Adds `slot`, whose id (hashed to `hash`) is not in the table.
    pub fn insert_hashed(&mut self, hash: u64, slot: u32) {
        assert!(slot < u32::MAX, "fewer than 2^32 - 1 profiles");
        // At most three quarters full, so that probes stay short.
        if (self.len + 1) * 4 > self.entries.len() * 3 {
            self.grow();
        }
        self.place(entry(tag_of(hash), slot));
        self.len += 1;
    }

    fn place(&mut self, e: u64) {
        let mut at = self.home(entry_tag(e));
        while self.entries[at] != EMPTY {
            at = (at + 1) & self.mask();
        }
        self.entries[at] = e;
    }

    fn grow(&mut self) {
        let size = (self.entries.len() * 2).max(16);
        let old = std::mem::replace(&mut self.entries, vec![EMPTY; size]);
        for e in old.into_iter().filter(|&e| e != EMPTY) {
            self.place(e);
        }
    }

    pub fn remove(&mut self, records: &[Option<Record>], id: &str) -> Option<u32> {
        let slot = self.get(records, id)?;
        let tag = tag_of(self.hash(id));
        let mask = self.mask();
        let mut hole = self.home(tag);
        while self.entries[hole] != entry(tag, slot) {
            hole = (hole + 1) & mask;
        }
        // Backward shift: each entry after the hole, up to the next empty place, moves into
        // the hole if its home is not between the hole and it (probes would miss it).
        let mut next = (hole + 1) & mask;
        loop {
            let e = self.entries[next];
            if e == EMPTY {
                break;
            }
            let home = self.home(entry_tag(e));
            let distance_from_home = next.wrapping_sub(home) & mask;
            let distance_from_hole = next.wrapping_sub(hole) & mask;
            if distance_from_home >= distance_from_hole {
                self.entries[hole] = e;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.entries[hole] = EMPTY;
        self.len -= 1;
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn record(id: &str) -> Option<Record> {
        Some(Record {
            id: id.into(),
            tags: Box::default(),
            consent: Box::default(),
            log: None,
        })
    }

    /// Random inserts, removals and lookups (single and batched) against a map, on a table
    /// small enough to wrap around and grow many times.
    #[test]
    fn the_table_answers_as_a_map() {
        let mut rng = fastrand::Rng::with_seed(9);
        let mut table = SlotsById::default();
        let mut records: Vec<Option<Record>> = Vec::new();
        let mut model: HashMap<String, u32> = HashMap::new();
        for step in 0..20_000 {
            let id = format!("id{}", rng.u32(0..600));
            match rng.u8(0..3) {
                0 if !model.contains_key(&id) => {
                    let slot = records.len() as u32;
                    records.push(record(&id));
                    table.insert_hashed(table.hash(&id), slot);
                    model.insert(id, slot);
                }
                1 => {
                    let removed = table.remove(&records, &id);
                    assert_eq!(removed, model.remove(&id), "{step}: remove {id}");
                    if let Some(slot) = removed {
                        records[slot as usize] = None;
                    }
                }
                _ => assert_eq!(table.get(&records, &id), model.get(&id).copied(), "{step}"),
            }
            if step % 1_000 == 0 {
                let ids: Vec<String> = (0..700).map(|i| format!("id{i}")).collect();
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                let want: Vec<Option<u32>> = ids.iter().map(|id| model.get(*id).copied()).collect();
                assert_eq!(table.get_all(&records, &ids), want, "{step}");
            }
        }
        assert_eq!(table.len, model.len());
    }
}
