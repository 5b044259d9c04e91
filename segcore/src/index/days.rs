//! Day buckets: one event name's events on one UTC day, as a member set and as rows (slot, time
//! within the day, numeric properties) that counts, aggregates and first/last read without
//! visiting any profile.

use crate::language::Interval;

use super::Bitmap;

/// One event name's events on one UTC day: who did it (for `did e in <window>` as a union of
/// days), and one row per event — slot, time within the day, numeric properties — so that
/// counts and aggregates in a window are tallied from these columns without visiting any
/// profile. Rows are in arrival order, so any write is an append (a history loaded customer by
/// customer arrives in no time order at all); a tally that needs time order checks it.
#[derive(Debug, Clone, Default)]
pub(crate) struct DayBucket {
    pub members: Bitmap,
    pub slots: Vec<u32>,
    /// Nanoseconds since the start of the day, beside `slots`.
    pub offsets: Vec<u64>,
    /// Numeric property columns by key id, beside `slots`; NaN (never a stored value) where
    /// an event lacks the property.
    pub numbers: Vec<(u32, Vec<f64>)>,
}

impl DayBucket {
    pub(super) fn insert(&mut self, slot: u32, offset: u64, numbers: &[(u32, f64)]) {
        self.members.add(slot);
        self.slots.push(slot);
        self.offsets.push(offset);
        for &(key, _) in numbers {
            if !self.numbers.iter().any(|(k, _)| *k == key) {
                self.numbers
                    .push((key, vec![f64::NAN; self.slots.len() - 1]));
            }
        }
        for (key, column) in &mut self.numbers {
            let value = numbers
                .iter()
                .find(|(k, _)| k == key)
                .map_or(f64::NAN, |(_, v)| *v);
            column.push(value);
        }
    }

    /// Drops `slot`'s row at `offset` and its membership (the whole profile is being erased).
    /// The other rows keep their order.
    pub(super) fn remove(&mut self, slot: u32, offset: u64) {
        self.members.remove(slot);
        let found =
            (0..self.slots.len()).find(|&r| self.slots[r] == slot && self.offsets[r] == offset);
        if let Some(row) = found {
            self.slots.remove(row);
            self.offsets.remove(row);
            for (_, column) in &mut self.numbers {
                column.remove(row);
            }
        }
    }

    /// The column of numeric property `key`, if any row has it.
    pub fn numbers(&self, key: u32) -> Option<&[f64]> {
        self.numbers
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, c)| c.as_slice())
    }

    /// Whether row `row` is inside `w`, for the day starting at `first` (ns).
    pub fn row_within(&self, row: usize, first: i128, w: Interval) -> bool {
        w.contains(first + i128::from(self.offsets[row]))
    }

    /// The slots of the rows whose time falls in `w`, the day starting at `first` (ns).
    pub fn slots_within(&self, first: i128, w: Interval) -> impl Iterator<Item = u32> + '_ {
        (0..self.slots.len())
            .filter(move |&r| self.row_within(r, first, w))
            .map(|r| self.slots[r])
    }
}

pub(crate) fn offset_in_day(ns: i128) -> u64 {
    ns.rem_euclid(DAY_NS) as u64
}

/// Nanoseconds in a day bucket.
pub(crate) const DAY_NS: i128 = 86_400 * 1_000_000_000;

/// The UTC day bucket of an instant given in nanoseconds.
pub(crate) fn day_of(ns: i128) -> i64 {
    // Clamped: an unbounded window start (`i128::MIN`) is before every day.
    ns.div_euclid(DAY_NS)
        .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}
