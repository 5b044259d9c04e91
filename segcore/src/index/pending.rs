//! Member-set changes collected over a bulk load and applied at its end, set by set: adding a
//! slot to a bitmap one at a time costs a search each (a quarter of a bulk load's time went to
//! that), while a whole sorted list goes in as one union.

use hashbrown::HashMap;

use super::{day_of, Bitmap, Indexes, Span};

/// Slots to add to the string-value sets, and the first/last occurrence moves, of one bulk
/// load (the day buckets and the event sets take their slots a day at a time, in
/// [`Indexes::append_day_rows`]).
#[derive(Debug, Default)]
pub(crate) struct PendingSets {
    /// (event, property key, string value) → slots.
    strings: HashMap<(u32, u32, u32), Vec<u32>>,
    /// (event, slot, span before, span after) for each run of a profile's events.
    occurrences: Vec<(u32, u32, Option<Span>, Option<Span>)>,
}

/// Appends `slot` unless it is the last one already there (rows come slot by slot).
fn push(list: &mut Vec<u32>, slot: u32) {
    if list.last() != Some(&slot) {
        list.push(slot);
    }
}

/// The slots as a set (sorted first, in case they did not come in order).
fn set_of(mut slots: Vec<u32>) -> Bitmap {
    slots.sort_unstable();
    slots.dedup();
    Bitmap::of(&slots)
}

impl PendingSets {
    /// Notes that `slot` did `event` with string property `key` valued `value`.
    pub(crate) fn string(&mut self, event: u32, key: u32, value: u32, slot: u32) {
        push(self.strings.entry((event, key, value)).or_default(), slot);
    }

    /// Notes that `slot`'s first and last `event` moved from `before` to `after`.
    pub(crate) fn occurrence(
        &mut self,
        event: u32,
        slot: u32,
        before: Option<Span>,
        after: Option<Span>,
    ) {
        self.occurrences.push((event, slot, before, after));
    }

    /// Applies every change to `indexes`.
    pub(crate) fn apply(self, indexes: &mut Indexes) {
        for (key, slots) in self.strings {
            indexes
                .event_strings
                .entry(key)
                .or_default()
                .or_inplace(&set_of(slots));
        }
        apply_occurrences(self.occurrences, indexes);
    }
}

/// One side (first or last) of the occurrence moves: slots leaving each day's set, slots
/// joining each day's set.
#[derive(Default)]
struct Moves {
    leave: HashMap<i64, Vec<u32>>,
    join: HashMap<i64, Vec<u32>>,
}

impl Moves {
    fn note(&mut self, slot: u32, from: Option<i64>, to: Option<i64>) {
        if from == to {
            return;
        }
        if let Some(day) = from {
            self.leave.entry(day).or_default().push(slot);
        }
        if let Some(day) = to {
            self.join.entry(day).or_default().push(slot);
        }
    }

    /// Leaves first, then joins: each slot moves once per load, so the order is safe.
    fn apply(self, days: &mut std::collections::BTreeMap<i64, Bitmap>) {
        for (day, slots) in self.leave {
            if let Some(set) = days.get_mut(&day) {
                set.andnot_inplace(&set_of(slots));
                if set.is_empty() {
                    days.remove(&day);
                }
            }
        }
        for (day, slots) in self.join {
            days.entry(day).or_default().or_inplace(&set_of(slots));
        }
    }
}

/// The occurrence moves of a load, grouped by event and by day.
fn apply_occurrences(moves: Vec<(u32, u32, Option<Span>, Option<Span>)>, indexes: &mut Indexes) {
    let mut by_event: HashMap<u32, (Moves, Moves)> = HashMap::new();
    for (event, slot, before, after) in moves {
        let (first, last) = by_event.entry(event).or_default();
        first.note(
            slot,
            before.map(|s| day_of(s.0)),
            after.map(|s| day_of(s.0)),
        );
        last.note(
            slot,
            before.map(|s| day_of(s.1)),
            after.map(|s| day_of(s.1)),
        );
    }
    for (event, (first, last)) in by_event {
        let occurrences = indexes.occurrences.entry(event).or_default();
        first.apply(&mut occurrences.first);
        last.apply(&mut occurrences.last);
        if occurrences.is_empty() {
            indexes.occurrences.remove(&event);
        }
    }
}
