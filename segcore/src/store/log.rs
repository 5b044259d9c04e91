//! One profile's events, in sorted runs: what keeps a late event cheap.
//!
//! An event at or after the newest one extends the last run; an earlier (late) one starts a
//! new run. Adjacent runs merge as in a binary counter — whenever a run is no more than twice
//! as long as the one after it — so a log holds at most log₂(n + 1) runs and n events cost
//! O(n log n) in all,
//! whatever their order. (Inserting each late event at its place cost O(n) each: a customer
//! with 100k events loaded out of time order took 38 s.) Readers see the events in time order
//! by merging the runs as they go; ties keep arrival order, because runs are in arrival order
//! and a merge takes the earlier run's event first.

use jiff::Timestamp;
use smallvec::SmallVec;

use super::StoredProp;

/// A log's runs as a reader holds them: inline for the few a log has, so reading a profile
/// allocates nothing.
pub(super) type Runs<'a> = SmallVec<[&'a [StoredEvent]; 4]>;

/// An event as stored: interned name, time (jiff's parts side by side), and where its
/// properties sit in the log's property arena. 24 bytes, no allocation of its own: a
/// profile's events share two vectors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredEvent {
    pub name: u32,
    pub(super) second: i64,
    pub(super) nanosecond: i32,
    /// Start of this event's properties in `EventLog::props`, sorted by key id.
    pub(super) props_start: u32,
    pub(super) props_len: u16,
}

impl StoredEvent {
    /// An event named `name` at `at`, whose `props_len` properties start at `props_start` in
    /// its arena.
    pub(super) fn new(
        name: u32,
        at: Timestamp,
        props_start: usize,
        props_len: usize,
    ) -> StoredEvent {
        StoredEvent {
            name,
            second: at.as_second(),
            nanosecond: at.subsec_nanosecond(),
            props_start: u32::try_from(props_start)
                .expect("fewer than 2^32 properties in an arena"),
            props_len: u16::try_from(props_len).expect("fewer than 2^16 properties per event"),
        }
    }

    /// The same event with its properties copied to `props_start` of another arena.
    pub(super) fn moved(&self, props_start: usize) -> StoredEvent {
        StoredEvent {
            props_start: u32::try_from(props_start)
                .expect("fewer than 2^32 properties in an arena"),
            ..*self
        }
    }

    /// Its properties, in `arena`, the one that holds them.
    pub(super) fn props_in<'a>(&self, arena: &'a [StoredProp]) -> &'a [StoredProp] {
        &arena[self.props_start as usize..][..usize::from(self.props_len)]
    }

    pub fn at(&self) -> Timestamp {
        Timestamp::new(self.second, self.nanosecond).expect("stored from a valid timestamp")
    }

    /// The time in nanoseconds since the epoch.
    pub fn ns(&self) -> i128 {
        i128::from(self.second) * 1_000_000_000 + i128::from(self.nanosecond)
    }

    /// The time as a pair that orders like it, cheaper to compare than [`StoredEvent::ns`].
    pub(super) fn key(&self) -> (i64, i32) {
        (self.second, self.nanosecond)
    }
}

/// An instant as the pair [`StoredEvent::key`] gives for an event at it.
pub(super) fn key_of(at: Timestamp) -> (i64, i32) {
    (at.as_second(), at.subsec_nanosecond())
}

/// A profile's events and their properties.
#[derive(Debug, Clone, Default)]
pub(super) struct EventLog {
    /// Runs of events, each sorted by time with ties in arrival order; the runs themselves
    /// in arrival order.
    pub(super) events: Vec<StoredEvent>,
    /// Where each run after the first starts in `events`, ascending. Empty (no allocation)
    /// while the log is one sorted run, as it is for events that arrive in time order.
    starts: Vec<u32>,
    /// The events' properties, appended in arrival order (so no merge moves them).
    pub(super) props: Vec<StoredProp>,
}

/// What [`EventLog::push`] did beyond appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pushed {
    /// The runs are as they were, or merged a little.
    Appended,
    /// A merge rewrote at least half of the log: the moment to redo per-profile work whose
    /// cost is the log's length, since the merge just paid as much.
    MergedMost,
}

impl EventLog {
    /// The runs, each sorted by time.
    pub(super) fn runs(&self) -> impl Iterator<Item = &[StoredEvent]> + '_ {
        (0..=self.starts.len()).map(move |i| {
            let start = i.checked_sub(1).map_or(0, |j| self.starts[j] as usize);
            let end = self
                .starts
                .get(i)
                .map_or(self.events.len(), |&s| s as usize);
            &self.events[start..end]
        })
    }

    /// Whether the log is one sorted run.
    #[cfg(test)]
    fn is_sorted(&self) -> bool {
        self.starts.is_empty()
    }

    /// Adds an event after every one at or before its time.
    pub(super) fn push(&mut self, event: StoredEvent) -> Pushed {
        let late = self.events.last().is_some_and(|e| event.key() < e.key());
        if late {
            self.starts
                .push(u32::try_from(self.events.len()).expect("fewer than 2^32 events"));
        }
        push_compact(&mut self.events, event);
        let mut pushed = Pushed::Appended;
        // Merge while the run before the last is not more than twice as long as the last:
        // each run then holds more than twice the next, so there are at most log₂(n + 1).
        while let Some(&last_start) = self.starts.last() {
            let before_start = self
                .starts
                .len()
                .checked_sub(2)
                .map_or(0, |i| self.starts[i]);
            let last_len = self.events.len() - last_start as usize;
            let before_len = (last_start - before_start) as usize;
            if before_len > 2 * last_len {
                break;
            }
            merge(&mut self.events[before_start as usize..], before_len);
            self.starts.pop();
            if (before_len + last_len) * 2 >= self.events.len() {
                pushed = Pushed::MergedMost;
            }
        }
        if self.starts.is_empty() {
            self.starts = Vec::new();
        }
        pushed
    }

    /// The events in time order, ties in arrival order.
    #[cfg(test)]
    pub(super) fn in_time_order(&self) -> TimeOrder<'_> {
        TimeOrder::new(self.runs().collect())
    }
}

/// Merges the sorted `items[..mid]` and `items[mid..]` into one sorted run, taking from the
/// first on ties. The shorter part is copied out and the merge fills the gap from its end.
fn merge(items: &mut [StoredEvent], mid: usize) {
    if mid <= items.len() - mid {
        merge_from_front(items, mid);
    } else {
        merge_from_back(items, mid);
    }
}

/// [`merge`] with the first part copied out, filling from the front.
fn merge_from_front(items: &mut [StoredEvent], mid: usize) {
    let left: Vec<StoredEvent> = items[..mid].to_vec();
    let (mut l, mut r, mut out) = (0, mid, 0);
    while l < left.len() && r < items.len() {
        if items[r].key() < left[l].key() {
            items[out] = items[r];
            r += 1;
        } else {
            items[out] = left[l];
            l += 1;
        }
        out += 1;
    }
    // What is left of the second part is already in place.
    items[out..out + left.len() - l].copy_from_slice(&left[l..]);
}

/// [`merge`] with the second part copied out, filling from the back.
fn merge_from_back(items: &mut [StoredEvent], mid: usize) {
    let right: Vec<StoredEvent> = items[mid..].to_vec();
    let (mut l, mut r, mut out) = (mid, right.len(), items.len());
    while l > 0 && r > 0 {
        out -= 1;
        // From the back, the second part's event goes last on ties.
        if right[r - 1].key() < items[l - 1].key() {
            items[out] = items[l - 1];
            l -= 1;
        } else {
            items[out] = right[r - 1];
            r -= 1;
        }
    }
    // What is left of the first part is already in place.
    items[..r].copy_from_slice(&right[..r]);
}

/// Appends to a per-profile vector, growing it by a quarter rather than doubling: amortised
/// constant time still, with at most a fifth of it spare (millions of profiles each keep one).
pub(super) fn push_compact<T>(items: &mut Vec<T>, item: T) {
    if items.len() == items.capacity() {
        items.reserve_exact((items.len() / 4).max(4));
    }
    items.push(item);
}

/// Sorted runs read as one sequence in time order: at each step the earliest head, the
/// earliest run's on ties. A log is nearly always one run, read as a plain slice.
#[derive(Debug, Clone)]
pub(crate) struct TimeOrder<'a> {
    runs: Runs<'a>,
}

impl<'a> TimeOrder<'a> {
    pub(crate) fn new(mut runs: Runs<'a>) -> TimeOrder<'a> {
        runs.retain(|r| !r.is_empty());
        TimeOrder { runs }
    }

    /// The same events, cut to those with `keep_from(e)` false before and `keep_to(e)` true:
    /// for predicates monotone in time, two searches per run.
    pub(crate) fn cut(
        &self,
        before: impl Fn(&StoredEvent) -> bool,
        up_to: impl Fn(&StoredEvent) -> bool,
    ) -> TimeOrder<'a> {
        TimeOrder::new(
            self.runs
                .iter()
                .map(|run| {
                    let first = run.partition_point(&before);
                    let last = run.partition_point(&up_to).max(first);
                    &run[first..last]
                })
                .collect(),
        )
    }

    /// The first event (in time order) with `pick`, without merging: each run's first match,
    /// the earliest of them.
    pub(crate) fn first_where(
        &self,
        pick: impl Fn(&StoredEvent) -> bool,
    ) -> Option<&'a StoredEvent> {
        self.runs
            .iter()
            .filter_map(|run| run.iter().find(|e| pick(e)))
            .min_by_key(|e| e.key())
    }

    /// The last event (in time order) with `pick`: each run's last match, the latest of them
    /// (the latest run's on ties, as it arrived last).
    pub(crate) fn last_where(
        &self,
        pick: impl Fn(&StoredEvent) -> bool,
    ) -> Option<&'a StoredEvent> {
        self.runs
            .iter()
            .filter_map(|run| run.iter().rfind(|e| pick(e)))
            .max_by_key(|e| e.key())
    }
}

impl<'a> Iterator for TimeOrder<'a> {
    type Item = &'a StoredEvent;

    fn next(&mut self) -> Option<&'a StoredEvent> {
        let mut best: Option<usize> = None;
        for (i, run) in self.runs.iter().enumerate() {
            if let Some(head) = run.first() {
                if best.is_none_or(|b| head.key() < self.runs[b][0].key()) {
                    best = Some(i);
                }
            }
        }
        let run = &mut self.runs[best?];
        let (head, rest) = run.split_first()?;
        *run = rest;
        Some(head)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.runs.iter().map(|r| r.len()).sum();
        (n, Some(n))
    }
}

impl ExactSizeIterator for TimeOrder<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(second: i64, name: u32) -> StoredEvent {
        StoredEvent {
            name,
            second,
            nanosecond: 0,
            props_start: 0,
            props_len: 0,
        }
    }

    /// Any arrival order reads back sorted by time with ties in arrival order, with at most
    /// log₂(n) + 1 runs at any point.
    #[test]
    fn runs_read_in_time_order_with_ties_in_arrival_order() {
        let mut rng = fastrand::Rng::with_seed(7);
        for n in [0usize, 1, 2, 3, 10, 100, 1000] {
            let mut log = EventLog::default();
            // The name records arrival order; times repeat so ties are common.
            let arrivals: Vec<StoredEvent> =
                (0..n).map(|i| event(rng.i64(0..50), i as u32)).collect();
            for e in &arrivals {
                log.push(*e);
                let bound = (log.events.len() as f64).log2().floor() as usize + 1;
                assert!(log.runs().count() <= bound.max(1), "n {n}");
            }
            let mut want = arrivals.clone();
            want.sort_by_key(|e| e.second); // stable: ties keep arrival order
            let got: Vec<(i64, u32)> = log.in_time_order().map(|e| (e.second, e.name)).collect();
            let want: Vec<(i64, u32)> = want.iter().map(|e| (e.second, e.name)).collect();
            assert_eq!(got, want, "n {n}");
            let first = log.in_time_order().first_where(|e| e.name % 3 == 1);
            let last = log.in_time_order().last_where(|e| e.name % 3 == 1);
            let matching: Vec<&(i64, u32)> = want.iter().filter(|e| e.1 % 3 == 1).collect();
            assert_eq!(
                first.map(|e| (e.second, e.name)),
                matching.first().map(|e| **e)
            );
            assert_eq!(
                last.map(|e| (e.second, e.name)),
                matching.last().map(|e| **e)
            );
        }
    }

    #[test]
    fn events_in_time_order_stay_one_run() {
        let mut log = EventLog::default();
        for s in [1, 2, 2, 5, 9] {
            assert_eq!(log.push(event(s, 0)), Pushed::Appended);
        }
        assert!(log.is_sorted());
        log.push(event(3, 0));
        assert!(!log.is_sorted());
        let cut = log.in_time_order().cut(|e| e.second < 2, |e| e.second <= 5);
        let seconds: Vec<i64> = cut.map(|e| e.second).collect();
        assert_eq!(seconds, [2, 2, 3, 5]);
    }
}
