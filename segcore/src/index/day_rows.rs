//! A bulk load's rows put into their day buckets a day at a time: grouped by (event, UTC day)
//! with a counting sort, sorted by time within the day, each group appended to its bucket as one block of columns and its
//! slots added to the bucket's members as one set. Adding them row by row cost a bucket lookup,
//! a column search and a bitmap insert per event.

use hashbrown::HashMap;

use super::{day_of, offset_in_day, Bitmap, Indexes, NO_STRING};

/// The checked rows of a bulk load, by row: each one's slot, interned event name and time (ns
/// since the epoch), and its property columns by key id — numbers with NaN where a row has
/// none, strings as interned value ids with [`NO_STRING`] where it has none.
pub(crate) struct LoadedRows<'a> {
    pub slots: &'a [u32],
    pub names: &'a [u32],
    pub times: &'a [i128],
    pub numbers: &'a [(u32, Vec<f64>)],
    pub strings: &'a [(u32, Vec<u32>)],
}

/// Above this many (event, day) cells per row, cells are numbered through a map instead of
/// densely: a few rows spread over millennia would otherwise count into millions of empty
/// cells.
const CELLS_PER_ROW: usize = 4;

/// Each row's (event, day) cell, numbered in (event, day) order, and the number of cells.
fn cells_of(rows: &LoadedRows<'_>) -> (Vec<u32>, usize) {
    let days: Vec<i64> = rows.times.iter().map(|&t| day_of(t)).collect();
    // Each event's day range, by name id (ids are dense from zero).
    let names = rows.names.iter().max().map_or(0, |&m| m as usize + 1);
    let mut ranges: Vec<Option<(i64, i64)>> = vec![None; names];
    for (&name, &d) in rows.names.iter().zip(&days) {
        let range = &mut ranges[name as usize];
        *range = Some(range.map_or((d, d), |(lo, hi)| (lo.min(d), hi.max(d))));
    }
    let mut bases: Vec<(i64, usize)> = vec![(0, 0); names];
    let mut cells = 0usize;
    for (name, range) in ranges.iter().enumerate() {
        if let Some((lo, hi)) = *range {
            bases[name] = (lo, cells);
            let width = usize::try_from(hi.abs_diff(lo)).unwrap_or(usize::MAX);
            cells = cells.saturating_add(width.saturating_add(1));
        }
    }
    if cells <= rows.names.len().saturating_mul(CELLS_PER_ROW).max(1 << 16) {
        let of = rows
            .names
            .iter()
            .zip(&days)
            .map(|(&name, &d)| {
                let (lo, base) = bases[name as usize];
                (base + d.abs_diff(lo) as usize) as u32
            })
            .collect();
        return (of, cells);
    }
    let mut distinct: Vec<(u32, i64)> = rows
        .names
        .iter()
        .copied()
        .zip(days.iter().copied())
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let number: HashMap<(u32, i64), u32> = distinct
        .iter()
        .enumerate()
        .map(|(i, &cell)| (cell, i as u32))
        .collect();
    let of = rows
        .names
        .iter()
        .zip(&days)
        .map(|(&name, &d)| number[&(name, d)])
        .collect();
    (of, distinct.len())
}

/// The rows' columns regrouped by cell, in one sequential pass that writes each value where
/// its cell's rows go (gathering a cell's rows from all over the input instead cost a cache
/// miss per value). Within a cell the rows keep their order.
struct Grouped {
    /// Where each cell's rows start; one more entry than cells.
    starts: Vec<usize>,
    rows: Vec<u32>,
    slots: Vec<u32>,
    offsets: Vec<u64>,
    numbers: Vec<(u32, Vec<f64>)>,
    strings: Vec<(u32, Vec<u32>)>,
}

/// `column` with each value moved to its row's place.
pub(crate) fn scatter<T: Copy>(column: &[T], place: &[u32]) -> Vec<T> {
    let Some(&filler) = column.first() else {
        return Vec::new();
    };
    let mut out = vec![filler; column.len()];
    for (&value, &i) in column.iter().zip(place) {
        out[i as usize] = value;
    }
    out
}

fn grouped(rows: &LoadedRows<'_>) -> Grouped {
    let (cell_of, cells) = cells_of(rows);
    let mut starts = vec![0usize; cells + 1];
    for &c in &cell_of {
        starts[c as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    // Each row's place, then every column moved there.
    let at: Vec<u32> = cell_of
        .iter()
        .map(|&c| {
            let place = next[c as usize];
            next[c as usize] += 1;
            place as u32
        })
        .collect();
    let indexes: Vec<u32> = (0..rows.slots.len() as u32).collect();
    let offsets: Vec<u64> = rows.times.iter().map(|&t| offset_in_day(t)).collect();
    Grouped {
        rows: scatter(&indexes, &at),
        slots: scatter(rows.slots, &at),
        offsets: scatter(&offsets, &at),
        numbers: rows
            .numbers
            .iter()
            .map(|(key, column)| (*key, scatter(column, &at)))
            .collect(),
        strings: rows
            .strings
            .iter()
            .map(|(key, column)| (*key, scatter(column, &at)))
            .collect(),
        starts,
    }
}

/// `column[range]` in the order `perm` gives (indexes into the range), or as it is.
fn permuted<T: Copy>(column: &[T], perm: Option<&[usize]>) -> Vec<T> {
    match perm {
        Some(perm) => perm.iter().map(|&i| column[i]).collect(),
        None => column.to_vec(),
    }
}

/// One day's rows of one event, ready to append to its bucket: in time order (ties in row
/// order), with the day's member set.
pub(crate) struct DayBlock {
    name: u32,
    day: i64,
    slots: Vec<u32>,
    offsets: Vec<u64>,
    numbers: Vec<(u32, Vec<f64>)>,
    strings: Vec<(u32, Vec<u32>)>,
    members: Bitmap,
}

/// The rows as day blocks. Reads only the rows, so it can run beside the writes of the
/// profiles' side of the load.
pub(crate) fn day_blocks(rows: &LoadedRows<'_>) -> Vec<DayBlock> {
    let g = grouped(rows);
    let mut blocks = Vec::new();
    for w in g.starts.windows(2) {
        let range = w[0]..w[1];
        if range.is_empty() {
            continue;
        }
        let first = g.rows[range.start] as usize;
        let offsets = &g.offsets[range.clone()];
        // Time order within the day (stable: ties keep row order), so each profile's rows in
        // the bucket follow time order as the tallies need.
        let perm: Option<Vec<usize>> = (!offsets.is_sorted()).then(|| {
            let mut perm: Vec<usize> = (0..offsets.len()).collect();
            perm.sort_by_key(|&i| offsets[i]);
            perm
        });
        let perm = perm.as_deref();
        let slots = permuted(&g.slots[range.clone()], perm);
        let numbers = g
            .numbers
            .iter()
            .map(|(key, column)| (*key, &column[range.clone()]))
            // NaN is never a stored value: it marks a row without the number.
            .filter(|(_, values)| values.iter().any(|x| !x.is_nan()))
            .map(|(key, values)| (key, permuted(values, perm)))
            .collect();
        let strings = g
            .strings
            .iter()
            .map(|(key, column)| (*key, &column[range.clone()]))
            .filter(|(_, values)| values.iter().any(|&v| v != NO_STRING))
            .map(|(key, values)| (key, permuted(values, perm)))
            .collect();
        let mut members = slots.clone();
        members.sort_unstable();
        members.dedup();
        blocks.push(DayBlock {
            name: rows.names[first],
            day: day_of(rows.times[first]),
            offsets: permuted(offsets, perm),
            slots,
            numbers,
            strings,
            members: Bitmap::of(&members),
        });
    }
    blocks
}

impl Indexes {
    /// Appends each block to its day bucket and its slots to the bucket's members and to the
    /// event sets.
    pub(crate) fn append_day_blocks(&mut self, blocks: Vec<DayBlock>) {
        let mut did: HashMap<u32, Vec<Bitmap>> = HashMap::new();
        for block in blocks {
            let bucket = self.day_bucket(block.name, block.day);
            bucket.append_block(&block.slots, &block.offsets, block.numbers, block.strings);
            bucket.members.or_inplace(&block.members);
            did.entry(block.name).or_default().push(block.members);
        }
        for (name, sets) in did {
            let sets: Vec<&Bitmap> = sets.iter().collect();
            self.events
                .entry(name)
                .or_default()
                .or_inplace(&Bitmap::fast_or(&sets));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::DAY_NS;

    /// Rows on day 10 (three of event 0, one of event 1) and one of event 0 on `far_day`.
    fn load(far_day: i64) -> Indexes {
        let day = |d: i64, offset: i128| i128::from(d) * DAY_NS + offset;
        let numbers = [(7, vec![1.0, 2.0, f64::NAN, 3.0, 4.0])];
        let rows = LoadedRows {
            slots: &[3, 1, 2, 1, 5],
            names: &[0, 0, 1, 0, 0],
            times: &[
                day(10, 500),
                day(10, 100),
                day(10, 7),
                day(10, 100),
                day(far_day, 0),
            ],
            numbers: &numbers,
            strings: &[],
        };
        let mut ix = Indexes::default();
        ix.append_day_blocks(day_blocks(&rows));
        ix
    }

    /// Each day's rows in time order (ties in row order), whether the days are numbered
    /// densely or, spread over millennia, through a map.
    #[test]
    fn rows_go_to_their_day_in_time_order_however_far_apart() {
        for far_day in [40, 3_000_000] {
            let ix = load(far_day);
            let purchase = &ix.event_days[&0];
            let day10 = &purchase[&10];
            assert_eq!(day10.slots, [1, 1, 3], "far day {far_day}");
            assert_eq!(day10.offsets, [100, 100, 500]);
            assert_eq!(day10.numbers(7), Some(&[2.0, 3.0, 1.0][..]));
            assert_eq!(day10.members.to_vec(), [1, 3]);
            assert_eq!(purchase[&far_day].slots, [5]);
            // No row of event 1 has the number: no column.
            let other = &ix.event_days[&1][&10];
            assert_eq!((other.slots.as_slice(), other.numbers(7)), (&[2][..], None));
            assert_eq!(ix.events[&0].to_vec(), [1, 3, 5]);
        }
    }
}
