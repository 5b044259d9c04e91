//! Per-profile tallies of an aggregate over a window's rows: a map while few profiles can have
//! rows, a slot-indexed table of positions once many can (a load instead of a hash per row:
//! `max(purchase.amount in last 365d)` over 3M rows took 13× the plain loop with the map).

use std::collections::HashMap;

use crate::language::AggFunc;
use crate::reference::Accumulator;

/// One profile's aggregate so far, and whether its values came in time order.
#[derive(Clone, Copy)]
pub(super) struct SlotTally {
    accumulator: Accumulator,
    last: (usize, u64),
    in_time_order: bool,
}

impl SlotTally {
    fn new(func: AggFunc) -> SlotTally {
        SlotTally {
            accumulator: Accumulator::new(func),
            last: (0, 0),
            in_time_order: true,
        }
    }

    /// Adds a value from the `day`-th bucket of the window (in day order) at `offset`.
    fn add(&mut self, day: usize, offset: u64, x: f64) {
        self.in_time_order &= (day, offset) >= self.last;
        self.last = (day, offset);
        self.accumulator.add(x);
    }

    /// The aggregate, if its values came in time order (as the reference adds them).
    pub(super) fn in_time_order(&self) -> Option<Accumulator> {
        self.in_time_order.then_some(self.accumulator)
    }
}

/// Below this many slots per profile that may have rows, the positions table is used.
const DENSE_SLOTS_PER_PROFILE: u64 = 32;

/// No tally yet, in the positions table.
const NONE: u32 = u32::MAX;

/// In [`Kind::Sums`]' last keys: a row came out of time order.
const OUT_OF_ORDER: u64 = 1 << 63;

/// Offsets within a day (< 86,400 × 10⁹ ns) fit below this bit; days above it.
const DAY_SHIFT: u32 = 47;

/// Windows of fewer days than this have their (day, offset) keys in 63 bits.
const SUMS_MAX_DAYS: usize = 1 << 15;

/// The tallies of the profiles seen so far.
pub(super) struct SlotTallies {
    func: AggFunc,
    kind: Kind,
    /// For the slot-indexed kinds, the slots with a tally in the order first seen: what is
    /// read back and reset, so a query's cost follows its rows, not the audience's size.
    touched: Touched,
    /// For min and max over many rows: the slots with a value are found by a scan of the
    /// column at the end rather than noted row by row (see [`SCAN_BACK_ROWS_PER_SLOT`]).
    scan_back: bool,
}

/// Min and max scan their column back (one sequential pass over all slots) rather than note
/// each new slot when the rows are at least this share of the slots (1/n). Noting a slot
/// waits on its value coming from memory; over a year of rows at a million profiles
/// (`max(purchase.amount in last 365d)`) it took 4× the plain loop, the scan a millisecond.
const SCAN_BACK_ROWS_PER_SLOT: u64 = 8;

enum Kind {
    Sparse(HashMap<u32, SlotTally, BuildSlotHasher>),
    /// For min and max, which no order of the values changes (but for the sign of a zero,
    /// which no test tells apart): each slot's best value so far, NaN for none — the plain
    /// loop itself.
    Best(Vec<f64>),
    /// For sum and avg: each slot's sum so far (added in the order of the rows, as the map's
    /// accumulators would), the count for avg, and the (day, offset) key of its last row plus
    /// one (0: none), with [`OUT_OF_ORDER`] set once a row came before the one before it.
    Sums {
        sums: Vec<f64>,
        counts: Option<Vec<u32>>,
        last: Vec<u64>,
    },
    /// Slot → position in `list` (or [`NONE`]); the tallies in the order first seen.
    Dense {
        positions: Vec<u32>,
        list: Vec<(u32, SlotTally)>,
    },
}

impl SlotTallies {
    /// Tallies of `func` for up to `profiles` profiles (those of the input, or the rows if
    /// fewer) among `slot_bound` slots, over rows from `days` day buckets.
    pub(super) fn new(func: AggFunc, profiles: u64, slot_bound: usize, days: usize) -> SlotTallies {
        let dense = profiles.saturating_mul(DENSE_SLOTS_PER_PROFILE) >= slot_bound as u64;
        let kind = if dense && matches!(func, AggFunc::Min | AggFunc::Max) {
            Kind::Best(pool::take(&pool::NANS, slot_bound, f64::NAN))
        } else if dense && days < SUMS_MAX_DAYS {
            Kind::Sums {
                // Zero rather than the accumulator's -0.0: only the sign of a zero sum can
                // differ, which no test tells apart.
                sums: pool::take(&pool::ZEROS, slot_bound, 0.0),
                counts: (func == AggFunc::Avg).then(|| pool::take(&pool::COUNTS, slot_bound, 0)),
                last: pool::take(&pool::KEYS, slot_bound, 0),
            }
        } else if dense {
            Kind::Dense {
                positions: vec![NONE; slot_bound],
                list: Vec::new(),
            }
        } else {
            Kind::Sparse(HashMap::with_hasher(BuildSlotHasher))
        };
        let scan_back = matches!(kind, Kind::Best(_))
            && profiles.saturating_mul(SCAN_BACK_ROWS_PER_SLOT) >= slot_bound as u64;
        SlotTallies {
            func,
            kind,
            touched: Touched::default(),
            scan_back,
        }
    }

    /// Adds `slot`'s value `x`, from the `day`-th bucket of the window at `offset`.
    #[inline]
    pub(super) fn add(&mut self, slot: u32, day: usize, offset: u64, x: f64) {
        let func = self.func;
        match &mut self.kind {
            Kind::Sparse(map) => map
                .entry(slot)
                .or_insert_with(|| SlotTally::new(func))
                .add(day, offset, x),
            Kind::Best(best) => {
                let b = &mut best[slot as usize];
                let new = b.is_nan();
                *b = better(func, *b, x);
                if !self.scan_back {
                    self.touched.note(slot, new);
                }
            }
            Kind::Sums { sums, counts, last } => {
                let i = slot as usize;
                let key = ((day as u64) << DAY_SHIFT | offset) + 1;
                let l = &mut last[i];
                self.touched.note(slot, *l == 0);
                let flag = if key < (*l & !OUT_OF_ORDER) {
                    OUT_OF_ORDER
                } else {
                    *l & OUT_OF_ORDER
                };
                *l = key | flag;
                sums[i] += x;
                if let Some(counts) = counts {
                    counts[i] += 1;
                }
            }
            Kind::Dense { positions, list } => {
                let at = &mut positions[slot as usize];
                if *at == NONE {
                    *at = u32::try_from(list.len()).expect("fewer than 2^32 slots");
                    list.push((slot, SlotTally::new(func)));
                }
                list[*at as usize].1.add(day, offset, x);
            }
        }
    }

    /// Adds each row's value: [`SlotTallies::add`] over rows (slot, day, offset, value), the
    /// kind matched once rather than once a row.
    pub(super) fn add_all(&mut self, rows: &[(u32, usize, u64, f64)]) {
        let (func, scan_back, touched) = (self.func, self.scan_back, &mut self.touched);
        match &mut self.kind {
            Kind::Best(best) => {
                for &(slot, _, _, x) in rows {
                    let b = &mut best[slot as usize];
                    let new = b.is_nan();
                    *b = better(func, *b, x);
                    if !scan_back {
                        touched.note(slot, new);
                    }
                }
            }
            _ => {
                for &(slot, day, offset, x) in rows {
                    self.add(slot, day, offset, x);
                }
            }
        }
    }

    /// Each profile seen, with its tally.
    pub(super) fn iter(&self) -> Box<dyn Iterator<Item = (u32, SlotTally)> + '_> {
        match &self.kind {
            Kind::Sparse(map) => Box::new(map.iter().map(|(&slot, t)| (slot, *t))),
            Kind::Dense { list, .. } => Box::new(list.iter().map(|(slot, t)| (*slot, *t))),
            Kind::Sums { sums, counts, last } => {
                Box::new(self.touched.slots().iter().map(move |&slot| {
                    let i = slot as usize;
                    let n = counts.as_ref().map_or(1, |c| u64::from(c[i]));
                    let tally = SlotTally {
                        accumulator: Accumulator::from_parts(self.func, sums[i], n, None),
                        last: (0, 0),
                        in_time_order: last[i] & OUT_OF_ORDER == 0,
                    };
                    (slot, tally)
                }))
            }
            Kind::Best(best) if self.scan_back => Box::new(
                best.iter()
                    .enumerate()
                    .filter(|(_, b)| !b.is_nan())
                    .map(|(slot, &b)| {
                        let mut tally = SlotTally::new(self.func);
                        tally.accumulator.add(b);
                        (slot as u32, tally)
                    }),
            ),
            Kind::Best(best) => Box::new(self.touched.slots().iter().map(move |&slot| {
                let mut tally = SlotTally::new(self.func);
                tally.accumulator.add(best[slot as usize]);
                (slot, tally)
            })),
        }
    }
}

impl Drop for SlotTallies {
    /// Gives the slot-indexed columns back, their touched entries blank again.
    fn drop(&mut self) {
        let touched = self.touched.slots();
        match &mut self.kind {
            Kind::Best(best) if self.scan_back => {
                best.fill(f64::NAN);
                pool::give(&pool::NANS, std::mem::take(best), &[], f64::NAN);
            }
            Kind::Best(best) => pool::give(&pool::NANS, std::mem::take(best), touched, f64::NAN),
            Kind::Sums { sums, counts, last } => {
                pool::give(&pool::ZEROS, std::mem::take(sums), touched, 0.0);
                if let Some(counts) = counts.take() {
                    pool::give(&pool::COUNTS, counts, touched, 0);
                }
                pool::give(&pool::KEYS, std::mem::take(last), touched, 0);
            }
            Kind::Sparse(_) | Kind::Dense { .. } => {}
        }
    }
}

/// The better of a profile's best value so far (NaN: none yet) and `x` for min or max: `min`
/// and `max` give the other value when one is NaN, so a first value needs no branch.
#[inline]
fn better(func: AggFunc, best: f64, x: f64) -> f64 {
    if func == AggFunc::Min {
        best.min(x)
    } else {
        best.max(x)
    }
}

/// Slots in the order first seen, noted without a branch on whether a slot is new: such a
/// branch waits on the slot's entry coming from memory, and mispredicted (as often as not in
/// a long window) it stalls the loop once a row — `max(purchase.amount in last 365d)` took 15×
/// the plain loop with it. Each slot is written past the end and kept only when new.
#[derive(Default)]
struct Touched {
    buffer: Vec<u32>,
    len: usize,
}

impl Touched {
    #[inline]
    fn note(&mut self, slot: u32, new: bool) {
        if self.len == self.buffer.len() {
            self.buffer.resize(self.buffer.len() * 2 + 64, 0);
        }
        self.buffer[self.len] = slot;
        self.len += usize::from(new);
    }

    fn slots(&self) -> &[u32] {
        &self.buffer[..self.len]
    }
}

/// Slot-indexed columns kept between queries on each thread, every entry blank (NaN, zero):
/// a fresh column per query cost a page fault per 4 KiB it touched, or a fill of all of it,
/// and a scan of all of it to read back — at a million profiles, most of a short window's
/// time.
mod pool {
    use std::cell::RefCell;
    use std::thread::LocalKey;

    /// Columns kept per kind and thread.
    const KEPT: usize = 2;

    pub(super) type Pool<T> = LocalKey<RefCell<Vec<Vec<T>>>>;

    thread_local! {
        pub(super) static NANS: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
        pub(super) static ZEROS: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
        pub(super) static COUNTS: RefCell<Vec<Vec<u32>>> = const { RefCell::new(Vec::new()) };
        pub(super) static KEYS: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
    }

    /// A column of at least `len` entries, all `blank`.
    pub(super) fn take<T: Copy>(pool: &'static Pool<T>, len: usize, blank: T) -> Vec<T> {
        let mut column = pool.with(|p| p.borrow_mut().pop()).unwrap_or_default();
        if column.len() < len {
            column.resize(len, blank);
        }
        column
    }

    /// Returns `column` to the pool once the `touched` entries are `blank` again.
    pub(super) fn give<T: Copy>(
        pool: &'static Pool<T>,
        mut column: Vec<T>,
        touched: &[u32],
        blank: T,
    ) {
        for &slot in touched {
            column[slot as usize] = blank;
        }
        pool.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < KEPT {
                p.push(column);
            }
        });
    }
}

/// Slots are dense small integers: one multiplication spreads them well enough for a map, at
/// a fraction of the default hasher's cost.
#[derive(Default, Clone, Copy)]
struct BuildSlotHasher;

struct SlotHasher(u64);

impl std::hash::BuildHasher for BuildSlotHasher {
    type Hasher = SlotHasher;
    fn build_hasher(&self) -> SlotHasher {
        SlotHasher(0)
    }
}

impl std::hash::Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
