//! A bulk load's writes to the per-profile side of the store: each profile's events arrive as
//! one run in time order and are appended at once — its log grown once, its running totals and
//! first/last spans read and written once per event name rather than once per event. The day
//! buckets (the by-time side) are filled by the caller, a day's rows at a time.

use jiff::Timestamp;
use smallvec::SmallVec;

use super::{PropValue, Pushed, Store, StoredEvent, StoredProp, REFRESH_AT_ONCE};
use crate::index::{LoadedRows, PendingSets, Running, Span, NO_STRING};

/// Appends the properties of `row` to `props`, in key id order.
pub(crate) fn row_props(rows: &LoadedRows<'_>, row: usize, props: &mut Vec<(u32, PropValue)>) {
    let mut numbers = rows.numbers.iter().peekable();
    let mut strings = rows.strings.iter().peekable();
    loop {
        // Merge the two column lists by key, so the properties come out sorted.
        let take_number = match (numbers.peek(), strings.peek()) {
            (Some((n, _)), Some((s, _))) => n < s,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_number {
            let (key, column) = numbers.next().expect("peeked");
            let x = column[row];
            if !x.is_nan() {
                props.push((*key, PropValue::Number(x)));
            }
        } else {
            let (key, column) = strings.next().expect("peeked");
            let id = column[row];
            if id != NO_STRING {
                props.push((*key, PropValue::String(id)));
            }
        }
    }
}

/// Below this many ids per thread, looking them up on one thread is as quick.
const LOOKUPS_PER_THREAD: usize = 1 << 15;

/// Room for `more` items in a per-profile vector: exactly as many for a new one, else at least
/// a quarter more (as [`super::log::push_compact`] grows), so that a profile met in every batch
/// of a load is not copied at each.
fn reserve_compact<T>(items: &mut Vec<T>, more: usize) {
    if items.capacity() - items.len() < more {
        items.reserve_exact(more.max(items.len() / 4));
    }
}

/// One event of a profile's run: its interned name, its time, and where its properties (sorted
/// by key id) end in the run's property list; they start where the previous event's end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunEvent {
    pub name: u32,
    pub at: Timestamp,
    pub props_end: u32,
}

/// The running aggregate of one (event name, property key) over a run, and whether any of its
/// events came before the profile's last one of that name (a late event).
struct RunTotal {
    name: u32,
    key: u32,
    running: Running,
    late: bool,
}

/// What a run does to one event name of its profile: the span before it, and after it.
struct RunSpan {
    name: u32,
    before: Option<Span>,
    after: Span,
}

impl Store {
    /// The slot of each id, creating the profiles that are new, in the order their ids first
    /// appear. Known ids are looked up on every core first: each lookup waits on memory (the
    /// table, then the profile's id to compare), ~400 ns at a million profiles, and two
    /// cores wait on twice as many at once.
    pub fn slots_or_insert(&mut self, ids: &[&str]) -> Vec<u32> {
        let found = self.find_all(ids);
        let mut slots = Vec::with_capacity(ids.len());
        let mut last: Option<(&str, u32)> = None;
        for (&id, found) in ids.iter().zip(found) {
            let slot = match (found, last) {
                (Some(slot), _) => slot,
                (None, Some((previous, slot))) if previous == id => slot,
                (None, _) => self.slot_or_insert(id),
            };
            last = Some((id, slot));
            slots.push(slot);
        }
        slots
    }

    /// The slot of each id that has one, looked up in parallel over chunks of the ids.
    fn find_all(&self, ids: &[&str]) -> Vec<Option<u32>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(ids.len() / LOOKUPS_PER_THREAD + 1);
        if threads <= 1 || self.live_count() == 0 {
            return self.ids.get_all(&self.records, ids);
        }
        let chunk = ids.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = ids
                .chunks(chunk)
                .map(|part| scope.spawn(move || self.ids.get_all(&self.records, part)))
                .collect();
            parts
                .into_iter()
                .flat_map(|part| -> Vec<Option<u32>> {
                    part.join().expect("a lookup does not panic")
                })
                .collect()
        })
    }

    /// Appends `events` (one profile's, in time order with ties in arrival order) to `slot`:
    /// to its log, its running totals and its first/last spans, whose set moves go into
    /// `pending` with the strings' member-set additions. `props` holds every event's
    /// properties, each event's sorted by key id.
    pub fn append_run(
        &mut self,
        slot: u32,
        events: &[RunEvent],
        props: &[(u32, PropValue)],
        pending: &mut PendingSets,
    ) {
        let mut spans: SmallVec<[RunSpan; 4]> = SmallVec::new();
        for e in events {
            let at = e.at.as_nanosecond();
            match spans.iter_mut().find(|s| s.name == e.name) {
                // In time order: each event is the run's last so far.
                Some(span) => span.after.1 = span.after.1.max(at),
                None => {
                    let before = self.occurrence_span(slot, e.name);
                    let after =
                        before.map_or((at, at), |(first, last)| (first.min(at), last.max(at)));
                    spans.push(RunSpan {
                        name: e.name,
                        before,
                        after,
                    });
                }
            }
        }
        let mut totals: SmallVec<[RunTotal; 4]> = SmallVec::new();
        let record = self.records[slot as usize]
            .as_mut()
            .expect("a slot from the id map is live");
        let log = record.log.get_or_insert_with(Box::default);
        reserve_compact(&mut log.events, events.len());
        reserve_compact(&mut log.props, props.len());
        let mut merged_most = false;
        let mut start = 0usize;
        for e in events {
            let end = e.props_end as usize;
            let own = &props[start..end];
            start = end;
            let stored = StoredEvent::new(e.name, e.at, log.props.len(), own.len());
            log.props
                .extend(own.iter().map(|&(key, value)| StoredProp::new(key, value)));
            merged_most |= log.push(stored) == Pushed::MergedMost;
            let span = spans
                .iter()
                .find(|s| s.name == e.name)
                .expect("every name of the run has a span");
            let late = span
                .before
                .is_some_and(|(_, last)| e.at.as_nanosecond() < last);
            for &(key, value) in own {
                match value {
                    PropValue::Number(x) => {
                        let total = match totals
                            .iter_mut()
                            .position(|t| (t.name, t.key) == (e.name, key))
                        {
                            Some(i) => &mut totals[i],
                            None => {
                                totals.push(RunTotal {
                                    name: e.name,
                                    key,
                                    running: self.index.running(e.name, key, slot),
                                    late: false,
                                });
                                totals.last_mut().expect("just pushed")
                            }
                        };
                        total.running.add(x);
                        total.late |= late;
                    }
                    PropValue::String(id) => pending.string(e.name, key, id, slot),
                }
            }
        }
        let logged = log.events.len();
        self.logged += events.len();
        let mut any_late = false;
        for t in &totals {
            self.index.set_running(t.name, t.key, slot, t.running);
            if t.late {
                self.index.mark_stale(t.name, t.key, slot);
                any_late = true;
            }
        }
        // As for a single late event: a short log is recomputed now, a long one when a merge
        // next rewrites most of it.
        if (any_late && logged <= REFRESH_AT_ONCE) || merged_most {
            self.refresh_totals(slot);
        }
        for s in spans {
            pending.occurrence(s.name, slot, s.before, Some(s.after));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Enough ids for the lookups to run on every core: the slots, and the order new profiles
    /// are created in, are those of creating them one by one.
    #[test]
    fn bulk_slots_are_those_of_one_by_one() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut bulk = Store::default();
        for i in 0..1_000 {
            bulk.slot_or_insert(&format!("known{i}"));
        }
        let mut one_by_one = bulk.clone();
        let ids: Vec<String> = (0..3 * LOOKUPS_PER_THREAD)
            .map(|_| match rng.u8(0..3) {
                0 => format!("known{}", rng.u32(0..1_000)),
                1 => format!("new{}", rng.u32(0..50_000)),
                _ => format!("new{}", rng.u32(0..5)),
            })
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let want: Vec<u32> = ids.iter().map(|id| one_by_one.slot_or_insert(id)).collect();
        assert_eq!(bulk.slots_or_insert(&ids), want);
        assert_eq!(bulk.live_count(), one_by_one.live_count());
    }
}
