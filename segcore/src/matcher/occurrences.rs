//! `first(e) <test>`, `last(e) <test>` and `did e` (ever, at or before now) from the first/last
//! day sets: profiles whose first (last) event falls on a day wholly inside the tested range are
//! members outright; on the (at most two) edge days a profile's exact time is the earliest
//! (latest) of its rows in that day's bucket. Only events at or before now count: a profile
//! with a later event has another last occurrence, so the reference tests those few.

use std::collections::{BTreeMap, HashMap};

use crate::explain::{Method, PlanStep};
use crate::index::{day_of, Bitmap, Occurrences, DAY_NS};
use crate::language::{Interval, Predicate, Test, Which};

use super::days::ROWS_PER_CANDIDATE;
use super::plan::exact;
use super::sets::lazy;
use super::times::{on_days, ALWAYS};
use super::Matcher;

/// Whether `input` is so small beside the days profiles are filed under that testing each of
/// its profiles (a visit to its events) costs less than walking the day sets (`segments_of`
/// and `matches` run on one profile).
pub(super) fn few_beside(input: &Bitmap, occurrences: &Occurrences) -> bool {
    input.cardinality().saturating_mul(PROFILE_COST_IN_DAYS) < occurrences.first.len() as u64
}

/// What testing one profile costs, in day sets walked.
const PROFILE_COST_IN_DAYS: u64 = 8;

impl<'a> Matcher<'a> {
    /// The profiles of `input` whose first (or last) `event` at or before now passes `test`;
    /// `None` for tests this does not answer (`!=`, lists, a literal that is not a time), which
    /// the caller scans.
    pub(super) fn occurrence(
        &self,
        p: &Predicate,
        which: Which,
        event: &str,
        test: &Test,
        input: &Bitmap,
    ) -> Option<(Bitmap, PlanStep)> {
        // `missing`: no such event at or before now, i.e. no first one.
        let (range, missing) = match test {
            Test::Missing => (ALWAYS, true),
            test => (self.time_range(test)?, false),
        };
        let which = if missing { Which::First } else { which };
        let now = self.reference.now_ns();
        let range = Interval {
            start: range.start,
            end: range.end.min(now),
        };
        let id = self.audience.store.event_names.get(event);
        let occurrences = id.and_then(|id| Some((id, self.index().occurrences.get(&id)?)));
        if occurrences.is_some_and(|(_, o)| few_beside(input, o)) {
            return None;
        }
        let mut found = match occurrences {
            Some((id, o)) if range.start <= range.end => {
                let days = match which {
                    Which::First => &o.first,
                    Which::Last => &o.last,
                };
                self.in_range(days, which, id, range, input)
            }
            _ => Bitmap::new(),
        };
        if let (Which::Last, Some(id)) = (which, id) {
            // Their last event is after now, so they are not in `found`; their last one at or
            // before now is some earlier event.
            let later = self.later_than_now(id, input);
            found.or_inplace(
                &later
                    .iter()
                    .filter(|&slot| self.reference.matches(p, slot))
                    .collect(),
            );
        }
        let out = if missing { input.andnot(&found) } else { found };
        Some(exact(p, Method::Occurrence, input, out))
    }

    /// The profiles of `input` whose first (last) event `event` — on the day `days` files them
    /// under — falls in `range` (not empty).
    pub(super) fn in_range(
        &self,
        days: &'a BTreeMap<i64, Bitmap>,
        which: Which,
        event: u32,
        range: Interval,
        input: &Bitmap,
    ) -> Bitmap {
        let all = self.index().events.get(&event);
        on_days(days, all, range, input, |day, candidates| {
            self.exact_on(day, candidates, which, event, range)
        })
    }

    /// Of `candidates`, whose first (last) `event` is on `day`, those whose exact time is in
    /// `range`: from the day's rows, or from the profiles themselves when they are few.
    fn exact_on(
        &self,
        day: i64,
        candidates: &Bitmap,
        which: Which,
        event: u32,
        range: Interval,
    ) -> Bitmap {
        let store = &self.audience.store;
        let bucket = self
            .index()
            .event_days
            .get(&event)
            .and_then(|days| days.get(&day));
        let rows = bucket.map_or(0, |b| b.slots.len() as u64);
        let Some(bucket) =
            bucket.filter(|_| candidates.cardinality().saturating_mul(ROWS_PER_CANDIDATE) >= rows)
        else {
            return candidates
                .iter()
                .filter(|&slot| {
                    store
                        .occurrence_span(slot, event)
                        .is_some_and(|(first, last)| {
                            range.contains(match which {
                                Which::First => first,
                                Which::Last => last,
                            })
                        })
                })
                .collect();
        };
        let mut times: HashMap<u32, u64> = HashMap::new();
        for (&slot, &offset) in bucket.slots.iter().zip(&bucket.offsets) {
            if candidates.contains(slot) {
                times
                    .entry(slot)
                    .and_modify(|t| {
                        *t = match which {
                            Which::First => (*t).min(offset),
                            Which::Last => (*t).max(offset),
                        }
                    })
                    .or_insert(offset);
            }
        }
        let start = i128::from(day) * DAY_NS;
        let mut slots: Vec<u32> = times
            .into_iter()
            .filter(|&(_, offset)| range.contains(start + i128::from(offset)))
            .map(|(slot, _)| slot)
            .collect();
        slots.sort_unstable();
        Bitmap::of(&slots)
    }

    /// The profiles of `input` with an `event` after now.
    pub(super) fn later_than_now(&self, event: u32, input: &Bitmap) -> Bitmap {
        let Some(days) = self.index().event_days.get(&event) else {
            return Bitmap::new();
        };
        let now = self.reference.now_ns();
        let today = day_of(now);
        let mut later = lazy(days.range(today + 1..).map(|(_, b)| &b.members)).and(input);
        if let Some(bucket) = days.get(&today) {
            let after = Interval {
                start: now + 1,
                end: i128::MAX,
            };
            let first = i128::from(today) * DAY_NS;
            let mut slots: Vec<u32> = bucket
                .slots_within(first, after)
                .filter(|&slot| input.contains(slot))
                .collect();
            slots.sort_unstable();
            later.or_inplace(&Bitmap::of(&slots));
        }
        later
    }
}
