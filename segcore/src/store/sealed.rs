//! Sealed events: every profile's events in one arena, profile after profile in slot order,
//! each profile's in time order — what a bulk load writes, in one sequential pass, instead of
//! growing millions of per-profile logs (an allocation, a copy and often a merge per profile
//! per batch was most of a load's time).
//!
//! A profile's events are its sealed run followed by its log (events that arrived since, one
//! by one). A seal merges, for every profile, its sealed run, its log and the load's new rows
//! into the new arena, empties the logs, and rebuilds every profile's running totals and
//! first/last occurrence sets from its events in time order (none is left stale), all in one
//! pass in slot order. It copies every event, so a load seals only when its rows (with the
//! logs) are a fair share of what is sealed; smaller loads go to the logs.

use jiff::Timestamp;
use smallvec::SmallVec;

use super::log::{key_of, Runs};
use super::{PropValue, Store, StoredEvent, StoredProp, TimeOrder};
use std::collections::BTreeMap;

use crate::index::{
    day_of, Bitmap, Indexes, LoadedRows, Occurrences, PendingSets, Running, Span, Totals,
};

/// All profiles' sealed events, in chunks of [`CHUNK_SLOTS`] slots.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sealed {
    chunks: Vec<Chunk>,
    /// How many events the chunks hold in all.
    len: usize,
}

/// Slots per chunk: a seal rebuilds one chunk at a time and frees the old one as it goes, so
/// it needs room for one chunk more rather than for a second arena.
#[cfg(not(test))]
const CHUNK_SLOTS: usize = 1 << 16;
/// A few slots per chunk in the unit tests, so that they cross chunks.
#[cfg(test)]
const CHUNK_SLOTS: usize = 4;

/// The sealed events of one chunk's slots.
#[derive(Debug, Clone, Default)]
struct Chunk {
    /// Where each slot's events start in `events` (slot minus the chunk's first), with one
    /// more entry after the last slot sealed; slots past it have none.
    starts: Vec<u32>,
    /// Each slot's events in time order, ties in arrival order.
    events: Vec<StoredEvent>,
    /// The events' properties, each event's sorted by key id.
    props: Vec<StoredProp>,
}

/// A load seals when its rows and the logged events together are at least this fraction of
/// the sealed events (1/n), so each event is copied a bounded number of times on average.
const SEAL_SHARE: usize = 8;

/// No sealed events, for a record read on its own.
pub(super) static NONE_SEALED: Sealed = Sealed {
    chunks: Vec::new(),
    len: 0,
};

impl Sealed {
    fn chunk_of(&self, slot: u32) -> Option<&Chunk> {
        self.chunks.get(slot as usize / CHUNK_SLOTS)
    }

    /// `slot`'s sealed events.
    pub(super) fn events_of(&self, slot: u32) -> &[StoredEvent] {
        self.chunk_of(slot)
            .map_or(&[], |c| c.events_of(slot as usize % CHUNK_SLOTS))
    }

    /// The property arena of `slot`'s sealed events.
    pub(super) fn props_of(&self, slot: u32) -> &[StoredProp] {
        self.chunk_of(slot).map_or(&[], |c| &c.props[..])
    }

    /// Whether `event` is one of `slot`'s sealed events (rather than in its log).
    pub(super) fn holds(&self, slot: u32, event: &StoredEvent) -> bool {
        self.chunk_of(slot).is_some_and(|c| c.holds(event))
    }
}

impl Chunk {
    fn events_of(&self, local: usize) -> &[StoredEvent] {
        match (self.starts.get(local), self.starts.get(local + 1)) {
            (Some(&start), Some(&end)) => &self.events[start as usize..end as usize],
            _ => &[],
        }
    }

    fn holds(&self, event: &StoredEvent) -> bool {
        self.events
            .as_ptr_range()
            .contains(&std::ptr::from_ref(event))
    }

    /// Appends `event` with `props` (as many as it has) as the next event of the slot being
    /// written.
    fn push(&mut self, event: &StoredEvent, props: impl IntoIterator<Item = StoredProp>) {
        let start = self.props.len();
        self.props.extend(props);
        self.events.push(event.moved(start));
    }

    /// Ends the slot being written.
    fn end_slot(&mut self) {
        self.starts
            .push(u32::try_from(self.events.len()).expect("fewer than 2^32 events in a chunk"));
    }
}

/// What a seal found of one event name of a profile: the span of its events and the running
/// aggregate of each numeric property, in time order.
struct NameSeen {
    name: u32,
    span: Span,
    totals: SmallVec<[(u32, Running); 2]>,
}

/// What a seal rebuilds of one event name: each profile's (day of its first event, slot) and
/// (day of its last, slot), and the running totals of each numeric property.
#[derive(Default)]
struct NameRebuilt {
    first: Vec<(i64, u32)>,
    last: Vec<(i64, u32)>,
    totals: Vec<(u32, Totals)>,
}

/// The first/last occurrence sets and running totals a seal rebuilds, by event name id (ids
/// are dense from zero). Slots come in ascending order, so columns grow at their end.
#[derive(Default)]
struct Rebuilt {
    names: Vec<NameRebuilt>,
}

impl Rebuilt {
    /// Notes what `slot`'s events showed.
    fn add(&mut self, slot: u32, seen: &[NameSeen]) {
        for s in seen {
            let i = s.name as usize;
            if self.names.len() <= i {
                self.names.resize_with(i + 1, NameRebuilt::default);
            }
            let name = &mut self.names[i];
            name.first.push((day_of(s.span.0), slot));
            name.last.push((day_of(s.span.1), slot));
            for &(key, running) in &s.totals {
                let at = match name.totals.iter().position(|(k, _)| *k == key) {
                    Some(at) => at,
                    None => {
                        name.totals.push((key, Totals::default()));
                        name.totals.len() - 1
                    }
                };
                name.totals[at].1.set(slot, running);
            }
        }
    }

    /// Replaces the indexes' occurrence sets and running totals.
    fn install(self, index: &mut Indexes) {
        index.occurrences.clear();
        index.totals.clear();
        for (name, rebuilt) in self.names.into_iter().enumerate() {
            if rebuilt.first.is_empty() {
                continue;
            }
            let name = name as u32;
            index.occurrences.insert(
                name,
                Occurrences {
                    first: day_sets(rebuilt.first),
                    last: day_sets(rebuilt.last),
                },
            );
            for (key, totals) in rebuilt.totals {
                index.totals.insert((name, key), totals);
            }
        }
    }
}

/// (day, slot) pairs, slots ascending, as each day's set: grouped by a counting sort over the
/// days' range (a plain sort when the days are spread far wider than there are pairs).
fn day_sets(pairs: Vec<(i64, u32)>) -> BTreeMap<i64, Bitmap> {
    let Some(low) = pairs.iter().map(|&(day, _)| day).min() else {
        return BTreeMap::new();
    };
    let high = pairs.iter().map(|&(day, _)| day).max().unwrap_or(low);
    let width = usize::try_from(high.abs_diff(low)).unwrap_or(usize::MAX);
    let grouped = if width <= pairs.len().saturating_mul(4).max(1 << 12) {
        let mut starts = vec![0usize; width + 2];
        for &(day, _) in &pairs {
            starts[day.abs_diff(low) as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut grouped = vec![(0i64, 0u32); pairs.len()];
        for &(day, slot) in &pairs {
            let at = &mut starts[day.abs_diff(low) as usize];
            grouped[*at] = (day, slot);
            *at += 1;
        }
        grouped
    } else {
        let mut pairs = pairs;
        // Stable: each day's slots stay ascending.
        pairs.sort_by_key(|&(day, _)| day);
        pairs
    };
    let mut sets = BTreeMap::new();
    for group in grouped.chunk_by(|a, b| a.0 == b.0) {
        let slots: Vec<u32> = group.iter().map(|&(_, slot)| slot).collect();
        sets.insert(group[0].0, Bitmap::of(&slots));
    }
    sets
}

impl Store {
    /// How many events are sealed.
    pub fn sealed_events(&self) -> usize {
        self.sealed.len
    }

    /// Whether a load of `rows` rows should seal (see [`SEAL_SHARE`]).
    pub fn should_seal(&self, rows: usize) -> bool {
        (rows + self.logged).saturating_mul(SEAL_SHARE) >= self.sealed.len
    }

    /// Seals every profile's events with the load's `rows` (in profile-and-time order; `at`
    /// their times), and rebuilds the first/last occurrence sets and the running totals from
    /// them in the same pass: see the module doc. The string-value set additions go into
    /// `pending`.
    pub fn seal(&mut self, rows: &LoadedRows<'_>, at: &[Timestamp], pending: &mut PendingSets) {
        let mut old = std::mem::take(&mut self.sealed);
        let mut rebuilt = Rebuilt::default();
        let mut seen: SmallVec<[NameSeen; 4]> = SmallVec::new();
        let mut row_props: Vec<(u32, PropValue)> = Vec::new();
        let slots = self.records.len();
        let mut from = 0;
        for c in 0..slots.div_ceil(CHUNK_SLOTS) {
            let first = c * CHUNK_SLOTS;
            let last = slots.min(first + CHUNK_SLOTS);
            let before = old
                .chunks
                .get_mut(c)
                .map(std::mem::take)
                .unwrap_or_default();
            let new_rows = rows.slots[from..].partition_point(|&s| (s as usize) < last);
            let mut chunk = Chunk {
                starts: Vec::with_capacity(last - first + 1),
                events: Vec::with_capacity(before.events.len() + new_rows),
                props: Vec::with_capacity(before.props.len() + new_rows),
            };
            chunk.starts.push(0);
            for slot in first as u32..last as u32 {
                let to = from
                    + rows.slots[from..]
                        .iter()
                        .take_while(|&&s| s == slot)
                        .count();
                let Some(record) = self.records[slot as usize].as_mut() else {
                    // Erased: its sealed events go.
                    chunk.end_slot();
                    continue;
                };
                seen.clear();
                // The profile's events so far, in time order, then the load's rows merged in
                // (after them on ties: they arrived last).
                let log = record.log.take();
                let mut runs = Runs::new();
                runs.push(before.events_of(slot as usize - first));
                if let Some(log) = &log {
                    runs.extend(log.runs());
                }
                let mut earlier = TimeOrder::new(runs).peekable();
                let mut row = from;
                loop {
                    let take_row = match (earlier.peek(), row < to) {
                        (Some(e), true) => key_of(at[row]) < e.key(),
                        (None, true) => true,
                        (Some(_), false) => false,
                        (None, false) => break,
                    };
                    if take_row {
                        row_props.clear();
                        super::bulk::row_props(rows, row, &mut row_props);
                        let event = StoredEvent::new(rows.names[row], at[row], 0, row_props.len());
                        for &(key, value) in &row_props {
                            if let PropValue::String(id) = value {
                                pending.string(event.name, key, id, slot);
                            }
                        }
                        note(&mut seen, &event, row_props.iter().copied());
                        let props = row_props.iter().map(|&(k, v)| StoredProp::new(k, v));
                        chunk.push(&event, props);
                        row += 1;
                    } else {
                        let e = earlier.next().expect("peeked");
                        let arena = if before.holds(e) {
                            &before.props[..]
                        } else {
                            &log.as_ref().expect("a logged event").props[..]
                        };
                        let props = e.props_in(arena);
                        note(&mut seen, e, props.iter().map(|p| (p.key, p.value())));
                        chunk.push(e, props.iter().copied());
                    }
                }
                chunk.end_slot();
                rebuilt.add(slot, &seen);
                from = to;
            }
            // Logged events and properties were not counted ahead: give back what is spare
            // (shrinking is done in place).
            chunk.events.shrink_to_fit();
            chunk.props.shrink_to_fit();
            self.sealed.len += chunk.events.len();
            self.sealed.chunks.push(chunk);
        }
        self.logged = 0;
        rebuilt.install(&mut self.index);
    }
}

/// Notes `event` (the next in time order of its profile) and its properties in what the seal
/// has seen of its name.
fn note(
    seen: &mut SmallVec<[NameSeen; 4]>,
    event: &StoredEvent,
    props: impl Iterator<Item = (u32, PropValue)>,
) {
    let at = event.ns();
    let i = match seen.iter().position(|s| s.name == event.name) {
        Some(i) => i,
        None => {
            seen.push(NameSeen {
                name: event.name,
                span: (at, at),
                totals: SmallVec::new(),
            });
            seen.len() - 1
        }
    };
    let s = &mut seen[i];
    s.span.1 = at;
    for (key, value) in props {
        if let PropValue::Number(x) = value {
            match s.totals.iter_mut().find(|(k, _)| *k == key) {
                Some((_, running)) => running.add(x),
                None => {
                    let mut running = Running::EMPTY;
                    running.add(x);
                    s.totals.push((key, running));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use crate::ingest::{EventColumns, PropertyColumn};
    use crate::{Audience, Event};

    /// Loads (sealing across chunks of four slots), a tracked event and an erasure between
    /// them leave what tracking every row one by one leaves.
    #[test]
    fn seals_across_chunks_keep_every_profile_and_answer() {
        let mut rng = fastrand::Rng::with_seed(11);
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let (mut bulk, mut one_by_one) = (Audience::new(), Audience::new());
        for load in 0..4 {
            let n = [300, 40, 200, 5][load];
            let ids: Vec<String> = (0..n).map(|_| format!("p{}", rng.u32(0..30))).collect();
            let names: Vec<&str> = (0..n).map(|_| ["buy", "view"][rng.usize(0..2)]).collect();
            let times: Vec<Timestamp> = (0..n)
                .map(|_| {
                    Timestamp::from_second(now.as_second() - rng.i64(0..2_000) * 40_000).unwrap()
                })
                .collect();
            let amounts: Vec<Option<f64>> = (0..n)
                .map(|_| Some(f64::from(rng.u32(0..9)) / 4.0))
                .collect();
            let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let properties = [("amount", PropertyColumn::Numbers(&amounts))];
            let columns = EventColumns {
                ids: &id_refs,
                names: &names,
                times: &times,
                properties: &properties,
            };
            bulk.load_events(&columns).unwrap();
            for row in 0..n {
                let e = Event::new(names[row], times[row]).value("amount", amounts[row].unwrap());
                one_by_one.track(&ids[row], e).unwrap();
            }
            let e = Event::new("buy", now).value("amount", 1.0);
            bulk.track("p3", e.clone()).unwrap();
            one_by_one.track("p3", e).unwrap();
            let gone = format!("p{}", 5 * load);
            assert_eq!(bulk.erase(&gone).unwrap(), one_by_one.erase(&gone).unwrap());
        }
        for i in 0..30 {
            let id = format!("p{i}");
            assert_eq!(bulk.profile(&id), one_by_one.profile(&id), "{id}");
        }
        for text in [
            "sum(buy.amount) > 3",
            "did view at least 3 times in last 365d",
            "last(buy) before 500d ago",
            "avg(view.amount in last 90d) >= 1",
        ] {
            let p = bulk.predicate(text).unwrap();
            let members = bulk.member_slots(&p, now).unwrap();
            assert_eq!(
                members,
                bulk.member_slots_by_reference(&p, now).unwrap(),
                "{text}"
            );
            let q = one_by_one.predicate(text).unwrap();
            assert_eq!(
                bulk.members(&p, now).unwrap(),
                one_by_one.members(&q, now).unwrap(),
                "{text}"
            );
        }
    }
}
