//! Event windows from the day buckets: `did e in <window>` is the union of the days wholly
//! inside the window, plus the rows of the (at most two) edge days whose time falls inside it.

use crate::explain::{Method, PlanStep};
use crate::index::{day_of, Bitmap, DayBucket, DAY_NS};
use crate::language::{Interval, Predicate, Window};

use super::plan::step;
use super::sets::lazy;
use super::Matcher;

/// Day buckets wholly inside a window, and those it covers in part with their first instant.
pub(super) type DaysIn<'a> = (Vec<&'a DayBucket>, Vec<(i128, &'a DayBucket)>);

/// Above this many rows to tally per candidate to visit, a scan is cheaper than a tally.
pub(super) const ROWS_PER_CANDIDATE: u64 = 64;

/// The rows of the day buckets a window touches (edge days counted whole).
pub(super) fn rows_in(whole: &[&DayBucket], part: &[(i128, &DayBucket)]) -> u64 {
    whole
        .iter()
        .chain(part.iter().map(|(_, b)| b))
        .map(|b| b.slots.len() as u64)
        .sum()
}

impl<'a> Matcher<'a> {
    /// A window clipped to now, or all time up to now when there is no window.
    pub(super) fn window_or_all_time(&self, window: Option<&Window>) -> Option<Interval> {
        match window {
            Some(w) => self.visible(w),
            None => Some(Interval {
                start: i128::MIN,
                end: self.reference.now_ns(),
            }),
        }
    }

    /// A window clipped to `now` (later events do not exist yet); `None` if it is empty.
    pub(super) fn visible(&self, window: &Window) -> Option<Interval> {
        let w = self.reference.window(*window);
        let end = w.end.min(self.reference.now_ns());
        (w.start <= end).then_some(Interval {
            start: w.start,
            end,
        })
    }

    /// The day buckets of `event` that overlap `w`, split into days wholly inside it and the
    /// (at most two) days it covers only in part, with the instant each of those starts.
    pub(super) fn days(&self, event: &str, w: Interval) -> DaysIn<'a> {
        let (mut whole, mut part) = (Vec::new(), Vec::new());
        let id = self.audience.store.event_names.get(event);
        if let Some(days) = id.and_then(|id| self.index().event_days.get(&id)) {
            for (&day, bucket) in days.range(day_of(w.start)..=day_of(w.end)) {
                let first = i128::from(day) * DAY_NS;
                if w.start <= first && first + DAY_NS - 1 <= w.end {
                    whole.push(bucket);
                } else {
                    part.push((first, bucket));
                }
            }
        }
        (whole, part)
    }

    /// `did e in <window>`: profiles with an event on a day wholly inside the window are members
    /// outright; on the partly covered edge days, the rows whose time is inside count.
    pub(super) fn did_in_window(
        &self,
        p: &Predicate,
        event: &str,
        window: &Window,
        input: &Bitmap,
    ) -> (Bitmap, PlanStep) {
        let (sure, edge) = match self.visible(window) {
            Some(w) => {
                let (whole, part) = self.days(event, w);
                // Lazy: a small input (one profile, for `matches`) meets each day's set
                // instead of a union of them all being built.
                let sure = lazy(whole.iter().map(|b| &b.members)).and(input);
                let edge_rows: u64 = part.iter().map(|(_, b)| b.slots.len() as u64).sum();
                let edge = if input.cardinality().saturating_mul(ROWS_PER_CANDIDATE) < edge_rows {
                    // A few candidates (one profile, for `matches`): test them rather than
                    // read the edge days' rows.
                    lazy(part.iter().map(|(_, b)| &b.members))
                        .and(input)
                        .iter()
                        .filter(|&slot| self.reference.matches(p, slot))
                        .collect()
                } else {
                    let mut edge: Vec<u32> = part
                        .iter()
                        .flat_map(|(first, bucket)| bucket.slots_within(*first, w))
                        .collect();
                    edge.sort_unstable();
                    Bitmap::of(&edge).and(input)
                };
                (sure, edge)
            }
            None => (Bitmap::new(), Bitmap::new()),
        };
        let estimated = sure.cardinality() + edge.cardinality();
        let out = sure.or(&edge);
        let s = step(
            p.to_string(),
            Method::Buckets,
            input.cardinality(),
            estimated,
            out.cardinality(),
            Vec::new(),
        );
        (out, s)
    }
}
