//! `sum/avg/min/max(e.v [in <window>]) <test>`: the values in the window's day buckets,
//! accumulated per profile of the input in time order and tested.

use super::filters::RowFilter;
use super::occurrences::few_beside;
use crate::explain::{Method, PlanStep};
use crate::index::{day_of, Bitmap, DayBucket};
use crate::language::{AggFunc, Filter, Interval, Predicate, Test, Which};
use crate::reference::Accumulator;

use super::days::rows_in;
use super::dense::Words;
use super::plan::step;
use super::slot_tallies::SlotTallies;
use super::Matcher;

/// The same for aggregates, whose scan visits properties too and whose tally skips rows
/// outside the input with a bit test.
pub(super) const ROWS_PER_AGGREGATE_CANDIDATE: u64 = 256;

/// A row picked for a tally: its slot, its day in the window, its offset and its value.
type Picked = (u32, usize, u64, f64);

/// Rows picked before they are tallied.
const PICKED_AT_ONCE: usize = 4096;

/// What testing one profile by the reference costs, in tally rows.
const SPILL_COST_IN_ROWS: u64 = 200;

/// An aggregate condition, resolved: the function, the property's key id (`None`: no event
/// ever had it) and the test.
pub(super) struct Aggregate<'p> {
    pub(super) func: AggFunc,
    pub(super) key: Option<u32>,
    pub(super) test: &'p Test,
}

impl<'a> Matcher<'a> {
    /// `sum(e.v [in <window>]) <test>` and the other aggregates, from the day buckets' value
    /// columns: the input's profiles' values in the window are accumulated, then tested;
    /// profiles with no values get the aggregate of nothing.
    ///
    /// Floating-point sums depend on the order of the additions, and the reference adds in time
    /// order. Days come in order, and a profile's rows within a day in arrival order, which is
    /// time order unless its events for that day arrived out of order: such profiles (rare; a
    /// tie keeps arrival order in both) are handed to the reference instead.
    pub(super) fn tally_values(
        &self,
        p: &Predicate,
        aggregate: &Aggregate<'_>,
        filter: &[Filter],
        w: Option<Interval>,
        (whole, part): (&[&DayBucket], &[(i128, &DayBucket)]),
        input: &Bitmap,
    ) -> (Bitmap, PlanStep) {
        let wanted = Words::of(input, self.audience.store.slot_bound());
        let slot_bound = self.audience.store.slot_bound();
        let days = whole.len() + part.len();
        let rows = rows_in(whole, part);
        let mut tallies = SlotTallies::new(
            aggregate.func,
            input.cardinality().min(rows),
            slot_bound,
            days,
        );
        let mut filter = RowFilter::new(&self.audience.store, filter);
        if let (Some(key), Some(w)) = (aggregate.key, w) {
            // In day order: the window's first day if it is covered in part, the whole days,
            // then its last day if covered in part.
            fn edge<'b>(&(first, bucket): &(i128, &'b DayBucket)) -> (Option<i128>, &'b DayBucket) {
                (Some(first), bucket)
            }
            let days = part
                .iter()
                .filter(|(first, _)| *first <= w.start)
                .map(edge)
                .chain(whole.iter().map(|b| (None, *b)))
                .chain(part.iter().filter(|(first, _)| *first > w.start).map(edge));
            // The rows that count are picked first, then tallied in runs: the tally's loop is
            // then short enough for many of its loads at random slots to be waited on at once.
            let mut picked: Vec<Picked> = Vec::with_capacity(PICKED_AT_ONCE);
            for (day, (edge, bucket)) in days.enumerate() {
                let Some(values) = bucket.numbers(key) else {
                    continue;
                };
                let pass = filter.passing(&self.reference, bucket);
                for (row, (&slot, &x)) in bucket.slots.iter().zip(values).enumerate() {
                    if x.is_nan()
                        || !wanted.contains(slot)
                        || pass.as_ref().is_some_and(|p| !p[row])
                        || edge.is_some_and(|first| !bucket.row_within(row, first, w))
                    {
                        continue;
                    }
                    picked.push((slot, day, bucket.offsets[row], x));
                    if picked.len() == PICKED_AT_ONCE {
                        tallies.add_all(&picked);
                        picked.clear();
                    }
                }
            }
            tallies.add_all(&picked);
        }
        let check = self.reference.number_check(aggregate.test);
        let passes = |acc: Accumulator| self.reference.check_number(&check, acc.result());
        let empty_passes = passes(Accumulator::new(aggregate.func));
        let exceptions: Vec<u32> = tallies
            .iter()
            .filter(|(slot, tally)| {
                let matched = match tally.in_time_order() {
                    Some(accumulator) => passes(accumulator),
                    None => self.reference.matches(p, *slot),
                };
                matched != empty_passes
            })
            .map(|(slot, _)| slot)
            .collect();
        let out = from_exceptions(exceptions, empty_passes, input);
        let s = step(
            p.to_string(),
            Method::Tally,
            input.cardinality(),
            rows_in(whole, part),
            out.cardinality(),
            Vec::new(),
        );
        (out, s)
    }

    /// An aggregate over all of `event`, or over a window, from the running aggregates: for a
    /// profile whose events of that name all lie in the window (and none after now), the
    /// window's aggregate is its running one, added in the same order. The others — with an
    /// event before the window, after it, or after now — are found from the first/last day
    /// sets and tested by the reference. `None` when they are too many for that to pay
    /// (`rows`: what a tally would read instead), or nothing is kept for the property.
    pub(super) fn read_totals(
        &self,
        p: &Predicate,
        aggregate: &Aggregate<'_>,
        event: &str,
        w: Interval,
        rows: u64,
        input: &Bitmap,
    ) -> Option<(Bitmap, PlanStep)> {
        let id = self.audience.store.event_names.get(event)?;
        let totals = self.index().totals.get(&(id, aggregate.key?))?;
        let occurrences = self.index().occurrences.get(&id)?;
        if few_beside(input, occurrences) {
            return None;
        }
        // The profiles whose first event is on a day before the window's: all of them would be
        // handed to the reference. When they alone cost more than a tally (history longer
        // than the window, as in any real shop), say so before building any set.
        let first_before: u64 = occurrences
            .first
            .range(..day_of(w.start))
            .map(|(_, set)| set.cardinality())
            .sum();
        if first_before.saturating_mul(SPILL_COST_IN_ROWS) > rows {
            return None;
        }
        let now = self.reference.now_ns();
        let mut spill = self.later_than_now(id, input);
        // Values not added in time order are the reference's to sum.
        spill.or_inplace(&totals.stale.and(input));
        if w.start > i128::MIN {
            let before = Interval {
                start: i128::MIN,
                end: w.start - 1,
            };
            spill.or_inplace(&self.in_range(&occurrences.first, Which::First, id, before, input));
        }
        if w.end < now {
            let after = Interval {
                start: w.end + 1,
                end: now,
            };
            spill.or_inplace(&self.in_range(&occurrences.last, Which::Last, id, after, input));
        }
        // A reference test visits a profile's events (about a microsecond); a tally row costs
        // a few nanoseconds.
        if spill.cardinality().saturating_mul(SPILL_COST_IN_ROWS) > rows {
            return None;
        }
        let check = self.reference.number_check(aggregate.test);
        let func = aggregate.func;
        let passes = |value: Option<f64>| self.reference.check_number(&check, value);
        let empty_passes = passes(Accumulator::new(func).result());
        // The rest's answers, from the columns: walked as plain words, so each profile costs
        // a bit scan, a load or two and a comparison. Past the columns' end nobody has values.
        // Only profiles that did the event can have values (the others' aggregate is empty).
        let mut rest = self
            .index()
            .events
            .get(&id)
            .map_or_else(Bitmap::new, |did| did.and(input));
        rest.andnot_inplace(&spill);
        let covered = totals.len();
        let mut exceptions: Vec<u32> = Vec::new();
        if let Some(bits) = rest.to_bitset() {
            let words = bits.as_slice();
            let out = &mut exceptions;
            // One loop per function, so reading the value is a plain load in each.
            match func {
                AggFunc::Sum => {
                    differing(words, covered, |i| totals.sum(i), passes, empty_passes, out)
                }
                AggFunc::Avg => {
                    differing(words, covered, |i| totals.avg(i), passes, empty_passes, out)
                }
                AggFunc::Min => {
                    differing(words, covered, |i| totals.min(i), passes, empty_passes, out)
                }
                AggFunc::Max => {
                    differing(words, covered, |i| totals.max(i), passes, empty_passes, out)
                }
            }
        }
        exceptions.extend(
            spill
                .iter()
                .filter(|&slot| self.reference.matches(p, slot) != empty_passes),
        );
        let out = from_exceptions(exceptions, empty_passes, input);
        let s = step(
            p.to_string(),
            Method::Totals,
            input.cardinality(),
            spill.cardinality(),
            out.cardinality(),
            Vec::new(),
        );
        Some((out, s))
    }
}

/// The members of `input`, given the profiles whose answer differs from that of a profile
/// with no values (`empty_passes`): all but them, or just them.
fn from_exceptions(mut exceptions: Vec<u32>, empty_passes: bool, input: &Bitmap) -> Bitmap {
    exceptions.sort_unstable();
    let exceptions = Bitmap::of(&exceptions);
    if empty_passes {
        input.andnot(&exceptions)
    } else {
        exceptions
    }
}

/// The slots set in `words` (below `covered`) whose value passes differently from an empty
/// aggregate, appended to `out` in order.
#[inline]
fn differing(
    words: &[u64],
    covered: usize,
    value: impl Fn(usize) -> Option<f64>,
    passes: impl Fn(Option<f64>) -> bool,
    empty_passes: bool,
    out: &mut Vec<u32>,
) {
    for (w, &word) in words.iter().enumerate() {
        let base = w * 64;
        if base >= covered {
            break;
        }
        let mut word = word;
        while word != 0 {
            let i = base + word.trailing_zeros() as usize;
            word &= word - 1;
            if i < covered && passes(value(i)) != empty_passes {
                out.push(i as u32);
            }
        }
    }
}
