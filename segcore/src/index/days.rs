//! Day buckets: one event name's events on one UTC day, as a member set and as rows (slot, time
//! within the day, property columns) that counts, aggregates, `where` filters and first/last
//! read without visiting any profile.

use crate::language::Interval;

use super::Bitmap;

/// One event name's events on one UTC day: who did it (for `did e in <window>` as a union of
/// days), and one row per event — slot, time within the day, numeric properties — so that
/// counts, aggregates and `where` filters in a window are answered from these columns without
/// visiting any profile. A single write appends its row (a history tracked customer by
/// customer arrives in no time order at all); a bulk load leaves the rows in time order. A
/// tally that needs time order checks it.
#[derive(Debug, Clone, Default)]
pub(crate) struct DayBucket {
    pub members: Bitmap,
    pub slots: Vec<u32>,
    /// Nanoseconds since the start of the day, beside `slots`.
    pub offsets: Vec<u64>,
    /// Numeric property columns by key id, beside `slots`; NaN (never a stored value) where
    /// an event lacks the property.
    pub numbers: Vec<(u32, Vec<f64>)>,
    /// String property columns by key id (interned value ids), beside `slots`; [`NO_STRING`]
    /// where an event lacks the property.
    pub strings: Vec<(u32, Vec<u32>)>,
}

/// No string value, in a string column (ids are dense from zero; this one is never reached).
pub(crate) const NO_STRING: u32 = u32::MAX;

/// Appends one row's values to the columns (by key), creating a column the first time its key
/// is seen, filled with `missing` for the rows before.
fn append<T: Copy>(
    columns: &mut Vec<(u32, Vec<T>)>,
    rows_before: usize,
    row: &[(u32, T)],
    missing: T,
) {
    for &(key, _) in row {
        if !columns.iter().any(|(k, _)| *k == key) {
            columns.push((key, vec![missing; rows_before]));
        }
    }
    for (key, column) in columns {
        let value = row
            .iter()
            .find(|(k, _)| k == key)
            .map_or(missing, |(_, v)| *v);
        column.push(value);
    }
}

/// Appends a block of `added` rows to the columns: the block's columns extend theirs (a new key
/// gets a column, `missing` for the rows before), the others get `missing`.
pub(crate) fn extend_columns<T: Copy>(
    columns: &mut Vec<(u32, Vec<T>)>,
    before: usize,
    added: usize,
    block: Vec<(u32, Vec<T>)>,
    missing: T,
) {
    for (key, values) in block {
        match columns.iter_mut().find(|(k, _)| *k == key) {
            Some((_, column)) => {
                column.reserve_exact(values.len());
                column.extend_from_slice(&values);
            }
            None => {
                let mut column = Vec::with_capacity(before + added);
                column.resize(before, missing);
                column.extend_from_slice(&values);
                columns.push((key, column));
            }
        }
    }
    for (_, column) in columns {
        column.reserve_exact((before + added).saturating_sub(column.len()));
        column.resize(before + added, missing);
    }
}

/// `column` rearranged so that row `i` is the old row `order[i]`.
fn permute<T: Copy>(column: &mut Vec<T>, order: &[u32]) {
    let moved: Vec<T> = order.iter().map(|&r| column[r as usize]).collect();
    *column = moved;
}

impl DayBucket {
    pub(super) fn insert(
        &mut self,
        slot: u32,
        offset: u64,
        numbers: &[(u32, f64)],
        strings: &[(u32, u32)],
    ) {
        self.members.add(slot);
        self.push_row(slot, offset, numbers, strings);
    }

    /// Appends a block of rows (a bulk load's rows of this day), without adding their slots to
    /// the members (the caller adds them as a set). Each column given holds a value or the
    /// missing marker for every row of the block; a column not given is missing in all.
    pub(super) fn append_block(
        &mut self,
        slots: &[u32],
        offsets: &[u64],
        numbers: Vec<(u32, Vec<f64>)>,
        strings: Vec<(u32, Vec<u32>)>,
    ) {
        let before = self.slots.len();
        // Exactly: a bucket grows once per load, and doubling would leave up to half of
        // every column spare (large blocks are grown in place by the allocator).
        self.slots.reserve_exact(slots.len());
        self.offsets.reserve_exact(offsets.len());
        self.slots.extend_from_slice(slots);
        self.offsets.extend_from_slice(offsets);
        extend_columns(&mut self.numbers, before, slots.len(), numbers, f64::NAN);
        extend_columns(&mut self.strings, before, slots.len(), strings, NO_STRING);
        self.sort_by_time();
    }

    /// Puts the rows in time order, ties in their order (a stable sort: a bucket of two
    /// sorted parts, as a load leaves it, is merged in one pass). A profile whose rows of a
    /// day came in two loads then still reads them in time order, so its sums need not go
    /// to the reference.
    fn sort_by_time(&mut self) {
        if self.offsets.is_sorted() {
            return;
        }
        let mut order: Vec<u32> = (0..self.offsets.len() as u32).collect();
        order.sort_by_key(|&r| self.offsets[r as usize]);
        permute(&mut self.slots, &order);
        permute(&mut self.offsets, &order);
        for (_, column) in &mut self.numbers {
            permute(column, &order);
        }
        for (_, column) in &mut self.strings {
            permute(column, &order);
        }
    }

    fn push_row(&mut self, slot: u32, offset: u64, numbers: &[(u32, f64)], strings: &[(u32, u32)]) {
        let before = self.slots.len();
        self.slots.push(slot);
        self.offsets.push(offset);
        append(&mut self.numbers, before, numbers, f64::NAN);
        append(&mut self.strings, before, strings, NO_STRING);
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
            for (_, column) in &mut self.strings {
                column.remove(row);
            }
        }
    }

    /// The column of string property `key` (value ids), if any row has it.
    pub fn strings(&self, key: u32) -> Option<&[u32]> {
        self.strings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, c)| c.as_slice())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two loads' blocks of one day end up as one run in time order, ties in arrival order,
    /// every column moved with its row.
    #[test]
    fn blocks_of_two_loads_merge_in_time_order() {
        let mut bucket = DayBucket::default();
        bucket.append_block(
            &[1, 2, 1],
            &[10, 20, 30],
            vec![(7, vec![1.0, 2.0, 3.0])],
            vec![],
        );
        bucket.append_block(&[1, 3], &[20, 5], vec![], vec![(8, vec![4, 5])]);
        assert_eq!(bucket.offsets, [5, 10, 20, 20, 30]);
        assert_eq!(bucket.slots, [3, 1, 2, 1, 1]);
        let numbers = bucket.numbers(7).unwrap();
        assert!(numbers[0].is_nan() && numbers[3].is_nan());
        assert_eq!([numbers[1], numbers[2], numbers[4]], [1.0, 2.0, 3.0]);
        assert_eq!(
            bucket.strings(8).unwrap(),
            [5, NO_STRING, NO_STRING, 4, NO_STRING]
        );
    }
}
