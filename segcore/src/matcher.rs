//! The bitmap matcher: answers a predicate for a whole audience with set operations over the
//! indexes, and hands the conditions no index answers to the reference evaluator — one
//! candidate at a time, over only the candidates the rest of the plan leaves.
//!
//! Each step takes the set of profiles it may still match (its input) and returns the subset
//! that does. So `and` narrows step by step (index sets first, in the order
//! [`Prepared::order`] explains, scans last, stopping when nothing is left), `or` runs each part on what earlier parts did not match, and `not` is
//! the complement within the input — at the top, the live profiles.
//!
//! It must return exactly the reference evaluator's answers; the property tests and the
//! conformance corpus check that.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::time::{Duration, Instant};

use crate::explain::{Method, PlanStep};
use crate::geo::EARTH_RADIUS_KM;
use crate::index::{
    at_most, day_of, AttributeIndex, Bitmap, DayBucket, Indexes, NumKey, Values, DAY_NS,
};
use crate::language::{
    AggFunc, CmpOp, CountTest, Filter, Interval, Literal, Name, Near, Predicate, Test, Window,
};
use crate::reference::{text_test, Accumulator, Reference};
use crate::Audience;

pub(crate) struct Matcher<'a> {
    audience: &'a Audience,
    reference: Reference<'a>,
    /// Segments evaluated so far by this matcher: the input each ran on and its members
    /// there. A later reference on a subset of that input reuses them (`segments_of` on
    /// segments that share sub-segments, a segment named twice in one query).
    evaluated: RefCell<HashMap<String, (Bitmap, Bitmap)>>,
}

/// Runs a step and records how long it took.
fn timed(run: impl FnOnce() -> (Bitmap, PlanStep)) -> (Bitmap, PlanStep) {
    let started = Instant::now();
    let (out, mut s) = run();
    s.elapsed = started.elapsed();
    (out, s)
}

/// A plan step of `input` profiles given, `actual` found (its time is set by the caller).
fn step(
    label: String,
    method: Method,
    input: u64,
    estimated: u64,
    actual: u64,
    children: Vec<PlanStep>,
) -> PlanStep {
    PlanStep {
        label,
        method,
        input,
        estimated,
        actual,
        children,
        elapsed: Duration::ZERO,
    }
}

fn skipped(p: &Predicate) -> PlanStep {
    step(p.to_string(), Method::Skipped, 0, 0, 0, Vec::new())
}

/// The profiles whose coordinates fall in a box around `within r of (lat, lon)` — a band of
/// latitudes and, unless the circle nears a pole or the date line, a band of longitudes — as
/// a superset of the circle for the distance test to decide. Stored positions outside plain
/// degrees never match (they are no position), so only the circle's own centre and radius
/// matter. `None` when the box would not be a superset: a radius of a quarter of the globe
/// or more, or a box the index cannot answer.
fn near_box<'a>(
    near: &Near,
    lat: &'a AttributeIndex,
    lon: &'a AttributeIndex,
) -> Option<IndexSet<'a>> {
    // A point within angular distance `angle` of the centre differs from it by at most `angle`
    // in latitude, and by at most asin(sin(angle) / cos(latitude)) in longitude while the
    // circle stays clear of the poles. A margin covers rounding in the distance test.
    let angle = near.radius * near.unit.kilometres() / EARTH_RADIUS_KM;
    // Also refuses NaN.
    if angle.partial_cmp(&std::f64::consts::FRAC_PI_2) != Some(std::cmp::Ordering::Less) {
        return None;
    }
    const MARGIN_DEGREES: f64 = 1e-6;
    let dlat = angle.max(0.0).to_degrees() + MARGIN_DEGREES;
    let latitudes = lat.number_band(near.latitude - dlat, near.latitude + dlat)?;
    let farthest = near.latitude.abs() + dlat;
    let longitudes = if farthest < 89.0 {
        let ratio = (angle.max(0.0).sin() / farthest.to_radians().cos()).min(1.0);
        let dlon = ratio.asin().to_degrees() + MARGIN_DEGREES;
        let (west, east) = (near.longitude - dlon, near.longitude + dlon);
        if west >= -180.0 && east <= 180.0 {
            lon.number_band(west, east)?
        } else {
            vec![&lon.present]
        }
    } else {
        vec![&lon.present]
    };
    Some(IndexSet::Intersection(vec![latitudes, longitudes]))
}

/// Day buckets wholly inside a window, and those it covers in part with their first instant.
type DaysIn<'a> = (Vec<&'a DayBucket>, Vec<(i128, &'a DayBucket)>);

/// Above this many rows to tally per candidate to visit, a scan is cheaper than a tally.
const ROWS_PER_CANDIDATE: u64 = 64;

/// The same for aggregates, whose scan visits properties too and whose tally skips rows
/// outside the input with a bit test.
const ROWS_PER_AGGREGATE_CANDIDATE: u64 = 256;

/// The rows of the day buckets a window touches (edge days counted whole).
fn rows_in(whole: &[&DayBucket], part: &[(i128, &DayBucket)]) -> u64 {
    whole
        .iter()
        .chain(part.iter().map(|(_, b)| b))
        .map(|b| b.slots.len() as u64)
        .sum()
}

/// One profile's aggregate so far, and whether its values came in time order.
#[derive(Clone, Copy)]
struct SlotTally {
    accumulator: Accumulator,
    last: (usize, u64),
    in_time_order: bool,
}

impl SlotTally {
    fn new(func: AggFunc) -> SlotTally {
        SlotTally {
            accumulator: Accumulator::new(func),
            last: (0, 0),
            in_time_order: true,
        }
    }

    /// Adds a value from the `day`-th bucket of the window (in day order) at `offset`.
    fn add(&mut self, day: usize, offset: u64, x: f64) {
        self.in_time_order &= (day, offset) >= self.last;
        self.last = (day, offset);
        self.accumulator.add(x);
    }
}

/// An aggregate condition, resolved: the function, the property's key id (`None`: no event
/// ever had it) and the test.
struct Aggregate<'p> {
    func: AggFunc,
    key: Option<u32>,
    test: &'p Test,
}

/// A set as plain bits over every slot: a membership test is one load, for tallies that test
/// millions of rows against a small input.
struct DenseSet(Vec<u64>);

impl DenseSet {
    fn of(set: &Bitmap, slots: usize) -> DenseSet {
        let mut words = vec![0u64; slots.div_ceil(64)];
        for slot in set.iter() {
            words[slot as usize / 64] |= 1 << (slot % 64);
        }
        DenseSet(words)
    }

    fn contains(&self, slot: u32) -> bool {
        self.0
            .get(slot as usize / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }
}

/// Slots are dense small integers: one multiplication spreads them well enough for a map, at
/// a fraction of the default hasher's cost.
#[derive(Default, Clone, Copy)]
struct BuildSlotHasher;

struct SlotHasher(u64);

impl std::hash::BuildHasher for BuildSlotHasher {
    type Hasher = SlotHasher;
    fn build_hasher(&self) -> SlotHasher {
        SlotHasher(0)
    }
}

impl std::hash::Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The slots whose tally is not zero, in order (zero words of eight tallies are skipped whole).
fn nonzero(tallies: &[u8]) -> impl Iterator<Item = u32> + '_ {
    tallies
        .chunks(8)
        .enumerate()
        .filter(|(_, chunk)| chunk.iter().any(|&t| t != 0))
        .flat_map(|(c, chunk)| {
            chunk
                .iter()
                .enumerate()
                .filter(|(_, &t)| t != 0)
                .map(move |(i, _)| (c * 8 + i) as u32)
        })
}

/// The members of a condition the indexes answer exactly: a computed set, or a union of index
/// sets left uncomputed until it meets its input. Intersecting a small input with each part is
/// much cheaper than building a large union (an in-list of big values, a wide numeric range)
/// only to cut it down, and a single part is used in place, never copied.
enum IndexSet<'a> {
    Owned(Bitmap),
    Union(Vec<&'a Bitmap>),
    /// The first set without the second, where the second is a subset of the first (as with
    /// range-encoded sets): intersected with the input before subtracting.
    Difference(&'a Bitmap, Option<&'a Bitmap>),
    /// The intersection of unions (`tag all [...]`, with wildcards), taken from the input down.
    Intersection(Vec<Vec<&'a Bitmap>>),
}

fn lazy<'b>(sets: impl IntoIterator<Item = &'b Bitmap>) -> IndexSet<'b> {
    IndexSet::Union(sets.into_iter().collect())
}

impl IndexSet<'_> {
    /// The set's size, or for a union the sum of its parts' sizes (an upper bound).
    fn estimate(&self) -> u64 {
        match self {
            IndexSet::Owned(set) => set.cardinality(),
            IndexSet::Union(parts) => parts.iter().map(|p| p.cardinality()).sum(),
            IndexSet::Difference(all, minus) => {
                all.cardinality() - minus.map_or(0, |m| m.cardinality())
            }
            IndexSet::Intersection(unions) => unions
                .iter()
                .map(|parts| parts.iter().map(|p| p.cardinality()).sum())
                .min()
                .unwrap_or(u64::MAX),
        }
    }

    fn and(&self, input: &Bitmap) -> Bitmap {
        match self {
            IndexSet::Owned(set) => input.and(set),
            IndexSet::Union(parts) => match parts.as_slice() {
                [] => Bitmap::new(),
                [one] => input.and(one),
                // Part by part only when the input is tiny beside the union: each part costs a
                // pass over the input's containers, while building the union is one pass
                // over the parts.
                many if input.cardinality().saturating_mul(8 * many.len() as u64)
                    < self.estimate() =>
                {
                    let mut out = Bitmap::new();
                    for part in many {
                        out.or_inplace(&input.and(part));
                    }
                    out
                }
                many => input.and(&Bitmap::fast_or(many)),
            },
            IndexSet::Difference(all, minus) => {
                let mut out = input.and(all);
                if let Some(minus) = minus {
                    out.andnot_inplace(minus);
                }
                out
            }
            IndexSet::Intersection(unions) => {
                let mut out = input.clone();
                for parts in unions {
                    if out.is_empty() {
                        break;
                    }
                    out = IndexSet::Union(parts.clone()).and(&out);
                }
                out
            }
        }
    }

    /// The whole set, built; an intersection is taken within `universe`.
    fn to_bitmap(&self, universe: &Bitmap) -> Bitmap {
        match self {
            IndexSet::Owned(set) => set.clone(),
            IndexSet::Union(parts) => Bitmap::fast_or(parts),
            IndexSet::Difference(all, minus) => minus.map_or((*all).clone(), |m| all.andnot(m)),
            IndexSet::Intersection(_) => self.and(universe),
        }
    }

    /// `|input ∩ self|` without building the intersection where the set allows it.
    fn and_cardinality(&self, input: &Bitmap) -> u64 {
        match self {
            IndexSet::Owned(set) => input.and_cardinality(set),
            IndexSet::Union(parts) if parts.len() == 1 => input.and_cardinality(parts[0]),
            IndexSet::Difference(all, minus) => {
                input.and_cardinality(all) - minus.map_or(0, |m| input.and_cardinality(m))
            }
            union => union.and(input).cardinality(),
        }
    }
}

/// How a part of an `and` will run, for ordering: index sets first, then compound parts as
/// written, then scans (fewest candidates first).
///
/// Index sets go sparse ones first, smallest first (each shrinks the result and costs in
/// proportion to its size), then dense ones largest first. The order among dense sets matters
/// because of the set representation: a result below 1/16 of the slots is held as sorted arrays,
/// and intersecting those with a dense set costs per element, whereas two dense sets intersect
/// word by word at memory speed. Largest first keeps the result dense for as long as possible
/// (measured on B2 at 10M profiles, `docs/performance.md`).
enum Prepared<'p> {
    Set(&'p Predicate, IndexSet<'p>),
    Compound(&'p Predicate),
    /// With an estimate of the candidates it will test.
    Scan(&'p Predicate, u64),
}

impl Prepared<'_> {
    fn order(&self, universe: u64) -> (u8, u64) {
        match self {
            Prepared::Set(_, set) => {
                let size = set.estimate();
                if size.saturating_mul(16) < universe {
                    (0, size)
                } else {
                    (1, u64::MAX - size)
                }
            }
            Prepared::Compound(_) => (2, 0),
            Prepared::Scan(_, candidates) => (3, *candidates),
        }
    }
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(audience: &'a Audience, now: jiff::Timestamp) -> Self {
        Matcher {
            audience,
            reference: Reference::new(audience, now),
            evaluated: RefCell::default(),
        }
    }

    fn index(&self) -> &'a Indexes {
        &self.audience.store.index
    }

    /// The live profiles matching `p`, and the plan as run.
    pub(crate) fn run(&self, p: &Predicate) -> (Bitmap, PlanStep) {
        self.eval(p, &self.index().live)
    }

    /// Whether the live profile in `slot` matches `p`: the plan run on that profile alone.
    pub(crate) fn matches(&self, p: &Predicate, slot: u32) -> bool {
        self.index().live.contains(slot) && !self.eval(p, &Bitmap::of(&[slot])).0.is_empty()
    }

    /// How many live profiles match `p`. When the last step of a top-level `and` is an index
    /// set, it is counted against what the earlier steps left without being built.
    pub(crate) fn count(&self, p: &Predicate) -> u64 {
        match p {
            Predicate::And(parts) => self.and(parts, &self.index().live, true).1.actual,
            _ => self.run(p).0.cardinality(),
        }
    }

    fn eval(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        timed(|| self.eval_untimed(p, input))
    }

    fn eval_untimed(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        match p {
            Predicate::And(parts) => self.and(parts, input, false),
            Predicate::Or(parts) => self.or(parts, input),
            Predicate::Not(inner) => {
                let (matched, inner_step) = self.eval(inner, input);
                let out = input.andnot(&matched);
                let estimated = input.cardinality().saturating_sub(inner_step.estimated);
                let s = step(
                    "not".into(),
                    Method::Not,
                    input.cardinality(),
                    estimated,
                    out.cardinality(),
                    vec![inner_step],
                );
                (out, s)
            }
            Predicate::Segment(name) => {
                let label = format!("segment {}", Name(name));
                let reused = self
                    .evaluated
                    .borrow()
                    .get(name.as_str())
                    .filter(|(ran_on, _)| input.is_subset(ran_on))
                    .map(|(_, members)| members.and(input));
                if let Some(out) = reused {
                    let n = out.cardinality();
                    return (
                        out,
                        step(label, Method::Reused, input.cardinality(), n, n, Vec::new()),
                    );
                }
                match self.audience.catalog.get(name) {
                    Some(definition) => {
                        let (out, inner) = self.eval(definition, input);
                        self.evaluated
                            .borrow_mut()
                            .insert(name.clone(), (input.clone(), out.clone()));
                        let s = step(
                            label,
                            Method::Segment,
                            input.cardinality(),
                            inner.estimated,
                            out.cardinality(),
                            vec![inner],
                        );
                        (out, s)
                    }
                    // Validation keeps this from happening; an unknown segment matches no one.
                    None => (
                        Bitmap::new(),
                        step(
                            label,
                            Method::Segment,
                            input.cardinality(),
                            0,
                            0,
                            Vec::new(),
                        ),
                    ),
                }
            }
            leaf => match self.indexed(leaf) {
                Some(set) => self.apply_set(leaf, &set, input),
                None => self.unindexed(leaf, input),
            },
        }
    }

    /// A condition no index answers: `did e in <window>` from day buckets, `did e <count>
    /// times` by a tally where that is cheaper than a scan, anything else by a scan.
    fn unindexed(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        match p {
            Predicate::Event {
                event,
                count: None,
                window: Some(window),
                filter,
            } if filter.is_empty() => self.did_in_window(p, event, window, input),
            Predicate::Event {
                event,
                count: Some(count),
                window,
                filter,
            } if filter.is_empty() && count.times < u32::from(u8::MAX) => {
                let w = self.window_or_all_time(window.as_ref());
                let (whole, part) = w.map(|w| self.days(event, w)).unwrap_or_default();
                let rows = rows_in(&whole, &part);
                let candidates = self.estimate_candidates(p, input);
                // A tally costs a few nanoseconds a row; testing a candidate costs a visit to
                // its profile, hundreds of nanoseconds.
                if rows < candidates.saturating_mul(ROWS_PER_CANDIDATE) {
                    self.tally(p, *count, w, (&whole, &part), input)
                } else {
                    self.scan(p, input)
                }
            }
            Predicate::Aggregate {
                func,
                event,
                value,
                window,
                filter,
                test,
            } if filter.is_empty() => {
                let w = self.window_or_all_time(window.as_ref());
                let (whole, part) = w.map(|w| self.days(event, w)).unwrap_or_default();
                let rows = rows_in(&whole, &part);
                let candidates = self.estimate_candidates(p, input);
                // A row costs a bit test and, for the input's profiles, an addition; a
                // candidate costs a visit to its profile's events and properties.
                if rows < candidates.saturating_mul(ROWS_PER_AGGREGATE_CANDIDATE) {
                    let aggregate = Aggregate {
                        func: *func,
                        key: self.audience.store.keys.get(value),
                        test,
                    };
                    self.tally_values(p, &aggregate, w, (&whole, &part), input)
                } else {
                    self.scan(p, input)
                }
            }
            _ => self.scan(p, input),
        }
    }

    /// A window clipped to now, or all time up to now when there is no window.
    fn window_or_all_time(&self, window: Option<&Window>) -> Option<Interval> {
        match window {
            Some(w) => self.visible(w),
            None => Some(Interval {
                start: i128::MIN,
                end: self.reference.now_ns(),
            }),
        }
    }

    /// `sum(e.v [in <window>]) <test>` and the other aggregates, from the day buckets' value
    /// columns: the input's profiles' values in the window are accumulated, then tested;
    /// profiles with no values get the aggregate of nothing.
    ///
    /// Floating-point sums depend on the order of the additions, and the reference adds in time
    /// order. Days come in order, and a profile's rows within a day in arrival order, which is
    /// time order unless its events for that day arrived out of order: such profiles (rare; a
    /// tie keeps arrival order in both) are handed to the reference instead.
    fn tally_values(
        &self,
        p: &Predicate,
        aggregate: &Aggregate<'_>,
        w: Option<Interval>,
        (whole, part): (&[&DayBucket], &[(i128, &DayBucket)]),
        input: &Bitmap,
    ) -> (Bitmap, PlanStep) {
        let wanted = DenseSet::of(input, self.audience.store.slot_bound());
        let mut tallies: HashMap<u32, SlotTally, BuildSlotHasher> =
            HashMap::with_hasher(BuildSlotHasher);
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
            for (day, (edge, bucket)) in days.enumerate() {
                let Some(values) = bucket.numbers(key) else {
                    continue;
                };
                for (row, (&slot, &x)) in bucket.slots.iter().zip(values).enumerate() {
                    if x.is_nan()
                        || !wanted.contains(slot)
                        || edge.is_some_and(|first| !bucket.row_within(row, first, w))
                    {
                        continue;
                    }
                    let offset = bucket.offsets[row];
                    tallies
                        .entry(slot)
                        .or_insert_with(|| SlotTally::new(aggregate.func))
                        .add(day, offset, x);
                }
            }
        }
        let passes = |acc: Accumulator| self.reference.number_test(aggregate.test, acc.result());
        let empty_passes = passes(Accumulator::new(aggregate.func));
        let mut exceptions: Vec<u32> = tallies
            .iter()
            .filter(|(&slot, tally)| {
                let matched = if tally.in_time_order {
                    passes(tally.accumulator)
                } else {
                    self.reference.matches(p, slot)
                };
                matched != empty_passes
            })
            .map(|(slot, _)| *slot)
            .collect();
        exceptions.sort_unstable();
        let exceptions = Bitmap::of(&exceptions);
        let out = if empty_passes {
            input.andnot(&exceptions)
        } else {
            exceptions
        };
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

    /// `did e <count> times [in <window>]` from the day buckets' rows: each profile's events in
    /// the window are tallied (saturating at 255, above any count this is used for), and the
    /// tallies compared — with profiles that have none counted as zero.
    fn tally(
        &self,
        p: &Predicate,
        count: CountTest,
        w: Option<Interval>,
        (whole, part): (&[&DayBucket], &[(i128, &DayBucket)]),
        input: &Bitmap,
    ) -> (Bitmap, PlanStep) {
        let mut tallies = vec![0u8; self.audience.store.slot_bound()];
        let mut add = |slot: u32| {
            let t = &mut tallies[slot as usize];
            *t = t.saturating_add(1);
        };
        for bucket in whole {
            bucket.slots.iter().for_each(|&slot| add(slot));
        }
        if let Some(w) = w {
            for (first, bucket) in part {
                bucket.slots_within(*first, w).for_each(&mut add);
            }
        }
        let holds = |n: u8| count.op.holds(u32::from(n).cmp(&count.times));
        let rows = rows_in(whole, part);
        // Profiles with no rows have a tally of zero: collect whichever side is the exception.
        let zero_holds = holds(0);
        let exceptions: Vec<u32> = nonzero(&tallies)
            .filter(|&slot| holds(tallies[slot as usize]) != zero_holds)
            .collect();
        let exceptions = Bitmap::of(&exceptions);
        let out = if zero_holds {
            input.andnot(&exceptions)
        } else {
            exceptions.and(input)
        };
        let s = step(
            p.to_string(),
            Method::Tally,
            input.cardinality(),
            rows,
            out.cardinality(),
            Vec::new(),
        );
        (out, s)
    }

    /// A window clipped to `now` (later events do not exist yet); `None` if it is empty.
    fn visible(&self, window: &Window) -> Option<Interval> {
        let w = self.reference.window(*window);
        let end = w.end.min(self.reference.now_ns());
        (w.start <= end).then_some(Interval {
            start: w.start,
            end,
        })
    }

    /// The day buckets of `event` that overlap `w`, split into days wholly inside it and the
    /// (at most two) days it covers only in part, with the instant each of those starts.
    fn days(&self, event: &str, w: Interval) -> DaysIn<'a> {
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
    fn did_in_window(
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

    fn apply_set(&self, p: &Predicate, set: &IndexSet<'_>, input: &Bitmap) -> (Bitmap, PlanStep) {
        timed(|| {
            let out = set.and(input);
            let s = step(
                p.to_string(),
                Method::Index,
                input.cardinality(),
                set.estimate(),
                out.cardinality(),
                Vec::new(),
            );
            (out, s)
        })
    }

    /// Tests each candidate with the reference evaluator.
    fn scan(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        let candidates = self.candidates(p, input);
        let out: Bitmap = candidates
            .iter()
            .filter(|&slot| self.reference.matches(p, slot))
            .collect();
        let s = step(
            p.to_string(),
            Method::Scan,
            input.cardinality(),
            candidates.cardinality(),
            out.cardinality(),
            Vec::new(),
        );
        (out, s)
    }

    /// `count_only`: the caller reads only the step's `actual`; a last index step is then
    /// counted without building the result, and the returned set is not the members.
    fn and(&self, parts: &[Predicate], input: &Bitmap, count_only: bool) -> (Bitmap, PlanStep) {
        let started = Instant::now();
        let mut prepared: Vec<Prepared<'_>> = parts
            .iter()
            .map(|p| match p {
                Predicate::And(_)
                | Predicate::Or(_)
                | Predicate::Not(_)
                | Predicate::Segment(_) => Prepared::Compound(p),
                leaf => match self.indexed(leaf) {
                    Some(set) => Prepared::Set(leaf, set),
                    None => Prepared::Scan(leaf, self.estimate_candidates(leaf, input)),
                },
            })
            .collect();
        let universe = self.index().live.cardinality();
        prepared.sort_by_key(|p| p.order(universe));
        let estimated = prepared
            .iter()
            .map(|p| match p {
                Prepared::Set(_, set) => set.estimate(),
                Prepared::Scan(_, candidates) => *candidates,
                Prepared::Compound(_) => input.cardinality(),
            })
            .min()
            .unwrap_or(0);
        // What the steps so far left; `None` until the first step ran (the input, uncopied).
        let mut narrowed: Option<Bitmap> = None;
        let mut steps = Vec::with_capacity(prepared.len());
        let last = prepared.len().saturating_sub(1);
        for (i, part) in prepared.into_iter().enumerate() {
            let current = narrowed.as_ref().unwrap_or(input);
            let p = match &part {
                Prepared::Set(p, _) | Prepared::Compound(p) | Prepared::Scan(p, _) => *p,
            };
            if current.is_empty() {
                steps.push(skipped(p));
                continue;
            }
            if let (true, true, Prepared::Set(p, set)) = (count_only, i == last, &part) {
                let step_started = Instant::now();
                let actual = set.and_cardinality(current);
                let mut last_step = step(
                    p.to_string(),
                    Method::Index,
                    current.cardinality(),
                    set.estimate(),
                    actual,
                    Vec::new(),
                );
                last_step.elapsed = step_started.elapsed();
                steps.push(last_step);
                let mut s = step(
                    "and".into(),
                    Method::And,
                    input.cardinality(),
                    estimated,
                    actual,
                    steps,
                );
                s.elapsed = started.elapsed();
                return (Bitmap::new(), s);
            }
            let (out, s) = match part {
                Prepared::Set(p, set) => self.apply_set(p, &set, current),
                Prepared::Compound(p) => self.eval(p, current),
                Prepared::Scan(p, _) => timed(|| self.unindexed(p, current)),
            };
            narrowed = Some(out);
            steps.push(s);
        }
        let current = narrowed.unwrap_or_else(|| input.clone());
        let mut s = step(
            "and".into(),
            Method::And,
            input.cardinality(),
            estimated,
            current.cardinality(),
            steps,
        );
        s.elapsed = started.elapsed();
        (current, s)
    }

    fn or(&self, parts: &[Predicate], input: &Bitmap) -> (Bitmap, PlanStep) {
        let mut matched = Bitmap::new();
        let mut rest = input.clone();
        let mut steps = Vec::with_capacity(parts.len());
        for p in parts {
            if rest.is_empty() {
                steps.push(skipped(p));
                continue;
            }
            let (out, s) = self.eval(p, &rest);
            rest.andnot_inplace(&out);
            matched.or_inplace(&out);
            steps.push(s);
        }
        // Saturating: an estimate may be "everyone" (u64::MAX), as for `tag all []`.
        let estimated = steps
            .iter()
            .fold(0u64, |sum, s| sum.saturating_add(s.estimated))
            .min(input.cardinality());
        let s = step(
            "or".into(),
            Method::Or,
            input.cardinality(),
            estimated,
            matched.cardinality(),
            steps,
        );
        (matched, s)
    }

    /// The members of a condition the indexes answer exactly; `None` for the rest.
    fn indexed(&self, p: &Predicate) -> Option<IndexSet<'a>> {
        let ix = self.index();
        match p {
            Predicate::Attribute { name, test } => self.attribute(name, test),
            Predicate::Tag { tag, within: None } => Some(IndexSet::Union(ix.tag_sets(tag))),
            Predicate::TagAny(tags) => Some(lazy(tags.iter().flat_map(|t| ix.tag_sets(t)))),
            Predicate::TagAll(tags) => Some(IndexSet::Intersection(
                tags.iter().map(|t| ix.tag_sets(t)).collect(),
            )),
            Predicate::Consent(channel) => Some(lazy(ix.consent.get(channel))),
            _ => None,
        }
    }

    /// A superset of a scanned condition's members, to scan fewer of `input`'s profiles; left
    /// uncomputed (see [`IndexSet`]), so asking for it to estimate costs little.
    fn narrowing(&self, p: &Predicate, input: &Bitmap) -> Option<IndexSet<'a>> {
        let ix = self.index();
        let present = |name: &str| ix.attributes.get(name).map(|a| &a.present);
        match p {
            Predicate::Event {
                event,
                window,
                filter,
                ..
            }
            | Predicate::Aggregate {
                event,
                window,
                filter,
                ..
            } => {
                if self.reference.holds_without_events(p) {
                    return None;
                }
                // Events outside the window do not count, so only profiles active in it can
                // match a condition that fails with no events.
                let Some(window) = window else {
                    return Some(self.with_filters(lazy(self.ever_did(event)), event, filter));
                };
                let Some(w) = self.visible(window) else {
                    return Some(IndexSet::Owned(Bitmap::new()));
                };
                let (whole, part) = self.days(event, w);
                let days: Vec<&Bitmap> = whole
                    .iter()
                    .chain(part.iter().map(|(_, b)| b))
                    .map(|b| &b.members)
                    .collect();
                // Many days and few candidates: uniting the days would cost more than testing
                // the candidates who ever did the event.
                // (Summed only as far as needed: a year of days costs microseconds to count.)
                let enough = input.cardinality().saturating_mul(8);
                let mut rows = 0u64;
                for d in &days {
                    if rows > enough {
                        break;
                    }
                    rows += d.cardinality();
                }
                let active = if days.len() > 8 && enough < rows {
                    lazy(self.ever_did(event))
                } else {
                    IndexSet::Union(days)
                };
                Some(self.with_filters(active, event, filter))
            }
            Predicate::Occurrence { event, filter, .. } => {
                if self.reference.holds_without_events(p) {
                    return None;
                }
                Some(self.with_filters(lazy(self.ever_did(event)), event, filter))
            }
            Predicate::Tag {
                tag,
                within: Some(_),
            } => Some(IndexSet::Union(ix.tag_sets(tag))),
            Predicate::Near(near) => {
                let lat = ix.attributes.get(&near.latitude_attribute);
                let lon = ix.attributes.get(&near.longitude_attribute);
                Some(match (lat, lon) {
                    (Some(lat), Some(lon)) => near_box(near, lat, lon).unwrap_or_else(|| {
                        IndexSet::Intersection(vec![vec![&lat.present], vec![&lon.present]])
                    }),
                    _ => IndexSet::Owned(Bitmap::new()),
                })
            }
            Predicate::Attribute { name, test } if !matches!(test, Test::Missing) => {
                match ix.attributes.get(name).map(|a| &a.values) {
                    Some(Values::Timestamps(days)) => match self.time_days(test) {
                        Some(Some(range)) => Some(lazy(days.range(range).map(|(_, s)| s))),
                        Some(None) => Some(IndexSet::Owned(Bitmap::new())),
                        None => Some(lazy(present(name))),
                    },
                    _ => Some(lazy(present(name))),
                }
            }
            _ => None,
        }
    }

    /// `active` narrowed further by the `where` filters that compare a string property for
    /// equality (`== "x"`, `in [...]`): a profile can only match if it ever had such an event.
    fn with_filters(&self, active: IndexSet<'a>, event: &str, filter: &[Filter]) -> IndexSet<'a> {
        let sets = self.filter_sets(event, filter);
        match active {
            IndexSet::Union(parts) if !sets.is_empty() => {
                IndexSet::Intersection(std::iter::once(parts).chain(sets).collect())
            }
            other => other,
        }
    }

    /// For each equality filter on strings, the sets of profiles that ever had `event` with
    /// one of its values (none if the property or value never occurred).
    fn filter_sets(&self, event: &str, filter: &[Filter]) -> Vec<Vec<&'a Bitmap>> {
        let store = &self.audience.store;
        let Some(event) = store.event_names.get(event) else {
            return Vec::new();
        };
        fn strings(items: &[Literal]) -> Option<Vec<&str>> {
            items
                .iter()
                .map(|l| match l {
                    Literal::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect()
        }
        filter
            .iter()
            .filter_map(|f| {
                let values = match &f.test {
                    Test::Cmp {
                        op: CmpOp::Eq,
                        value: Literal::String(s),
                    } => vec![s.as_str()],
                    Test::In(items) => strings(items)?,
                    _ => return None,
                };
                let Some(key) = store.keys.get(&f.key) else {
                    return Some(Vec::new());
                };
                let sets = values
                    .iter()
                    .filter_map(|v| store.prop_strings.get(v))
                    .filter_map(|v| self.index().event_strings.get(&(event, key, v)))
                    .collect();
                Some(sets)
            })
            .collect()
    }

    /// The UTC days a time test can hold on (a superset: days it covers in part included;
    /// `Some(None)`: no day), or `None` if it is not bounded that way (`!=`, lists, a non-time
    /// literal).
    fn time_days(&self, test: &Test) -> Option<Option<(Bound<i64>, Bound<i64>)>> {
        let time = |l: &Literal| match l {
            Literal::Time(t) => self.reference.time(*t),
            _ => None,
        };
        let day = |ns| Bound::Included(day_of(ns));
        match test {
            Test::Cmp { op, value } => {
                let at = time(value)?;
                match op {
                    CmpOp::Lt | CmpOp::Le => Some(Some((Bound::Unbounded, day(at)))),
                    CmpOp::Gt | CmpOp::Ge => Some(Some((day(at), Bound::Unbounded))),
                    CmpOp::Eq => Some(Some((day(at), day(at)))),
                    CmpOp::Ne => None,
                }
            }
            Test::Between { low, high } => {
                let (low, high) = (time(low)?, time(high)?);
                // A reversed range holds on no day (and must not reach BTreeMap::range).
                Some((low <= high).then(|| (day(low), day(high))))
            }
            Test::Within(w) => {
                let w = self.reference.window(*w);
                Some((w.start <= w.end).then(|| (day(w.start), day(w.end))))
            }
            _ => None,
        }
    }

    /// The profiles `narrowing` leaves of `input`, and how many there are.
    fn candidates(&self, p: &Predicate, input: &Bitmap) -> Bitmap {
        match self.narrowing(p, input) {
            Some(superset) => superset.and(input),
            None => input.clone(),
        }
    }

    /// How many of `input` a scan of `p` would test, or an upper bound.
    fn estimate_candidates(&self, p: &Predicate, input: &Bitmap) -> u64 {
        let all = input.cardinality();
        match self.narrowing(p, input) {
            Some(IndexSet::Union(parts)) if parts.len() == 1 => parts[0].and_cardinality(input),
            Some(superset) => superset.estimate().min(all),
            None => all,
        }
    }

    fn ever_did(&self, event: &str) -> Option<&'a Bitmap> {
        let id = self.audience.store.event_names.get(event);
        id.and_then(|id| self.index().events.get(&id))
    }

    /// Attribute tests the value indexes answer exactly; `None` sends the test to a scan.
    fn attribute(&self, name: &str, test: &Test) -> Option<IndexSet<'a>> {
        use IndexSet::Owned;
        let ix = self.index();
        let Some(attr) = ix.attributes.get(name) else {
            // Never written: no profile has a value.
            return Some(match test {
                Test::Missing => lazy([&ix.live]),
                _ => Owned(Bitmap::new()),
            });
        };
        let present = &attr.present;
        let values_of = |m: &'a HashMap<String, Bitmap>, pass: &dyn Fn(&str) -> bool| {
            lazy(m.iter().filter(|(v, _)| pass(v)).map(|(_, s)| s))
        };
        let number = |m: &'a BTreeMap<NumKey, Bitmap>, x: f64| m.get(&NumKey::new(x));
        let string = |m: &'a HashMap<String, Bitmap>, s: &str| m.get(s);
        Some(match (test, &attr.values) {
            (Test::Exists, _) => lazy([present]),
            (Test::Missing, _) => Owned(ix.live.andnot(present)),
            (Test::Cmp { op, value }, values) => match (values, value) {
                (Values::Strings(m), Literal::String(s)) => match op {
                    CmpOp::Eq => lazy(string(m, s)),
                    CmpOp::Ne => Owned(minus(present, string(m, s))),
                    _ => return None,
                },
                (Values::Numbers(m), Literal::Number(x)) => {
                    let key = NumKey::new(*x);
                    if let (Some(cumulative), CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) =
                        (&attr.at_most, op)
                    {
                        let at_most = |b| at_most(cumulative, b);
                        return Some(match op {
                            CmpOp::Lt => lazy(at_most(Bound::Excluded(key))),
                            CmpOp::Le => lazy(at_most(Bound::Included(key))),
                            CmpOp::Gt => {
                                IndexSet::Difference(present, at_most(Bound::Included(key)))
                            }
                            _ => IndexSet::Difference(present, at_most(Bound::Excluded(key))),
                        });
                    }
                    let range =
                        |r: (Bound<NumKey>, Bound<NumKey>)| lazy(m.range(r).map(|(_, s)| s));
                    match op {
                        CmpOp::Eq => lazy(number(m, *x)),
                        CmpOp::Ne => Owned(minus(present, number(m, *x))),
                        CmpOp::Lt => range((Bound::Unbounded, Bound::Excluded(key))),
                        CmpOp::Le => range((Bound::Unbounded, Bound::Included(key))),
                        CmpOp::Gt => range((Bound::Excluded(key), Bound::Unbounded)),
                        CmpOp::Ge => range((Bound::Included(key), Bound::Unbounded)),
                    }
                }
                (Values::Bools(sets), Literal::Bool(b)) => match op {
                    CmpOp::Eq => lazy([&sets[usize::from(*b)]]),
                    CmpOp::Ne => lazy([&sets[usize::from(!*b)]]),
                    _ => return None,
                },
                _ => return None,
            },
            (
                Test::Between {
                    low: Literal::Number(lo),
                    high: Literal::Number(hi),
                },
                Values::Numbers(m),
            ) => {
                let (lo, hi) = (NumKey::new(*lo), NumKey::new(*hi));
                if lo > hi {
                    Owned(Bitmap::new())
                } else if let Some(cumulative) = &attr.at_most {
                    let at_most = |b| at_most(cumulative, b);
                    match at_most(Bound::Included(hi)) {
                        Some(all) => IndexSet::Difference(all, at_most(Bound::Excluded(lo))),
                        None => Owned(Bitmap::new()),
                    }
                } else {
                    lazy(m.range(lo..=hi).map(|(_, s)| s))
                }
            }
            (Test::In(items), values) => match values {
                Values::Strings(m) => lazy(items.iter().filter_map(|l| match l {
                    Literal::String(s) => m.get(s),
                    _ => None,
                })),
                Values::Numbers(m) => lazy(items.iter().filter_map(|l| match l {
                    Literal::Number(x) => m.get(&NumKey::new(*x)),
                    _ => None,
                })),
                Values::Bools(sets) => lazy(items.iter().filter_map(|l| match l {
                    Literal::Bool(b) => Some(&sets[usize::from(*b)]),
                    _ => None,
                })),
                _ => return None,
            },
            (Test::NotIn(items), values) => {
                let kind_fits = |l: &Literal| {
                    matches!(
                        (values, l),
                        (Values::Strings(_), Literal::String(_))
                            | (Values::Numbers(_), Literal::Number(_))
                            | (Values::Bools(_), Literal::Bool(_))
                    )
                };
                if !matches!(
                    values,
                    Values::Strings(_) | Values::Numbers(_) | Values::Bools(_)
                ) {
                    return None;
                }
                if !items.iter().all(kind_fits) {
                    // Some item can never compare with these values: nobody passes.
                    Owned(Bitmap::new())
                } else {
                    let excluded = self
                        .attribute(name, &Test::In(items.clone()))?
                        .to_bitmap(present);
                    Owned(present.andnot(&excluded))
                }
            }
            (Test::Contains(pattern), Values::Strings(m)) => {
                values_of(m, &|v| text_test(v, pattern, |s, x| s.contains(x)))
            }
            (Test::Contains(pattern), Values::Lists(m)) => {
                values_of(m, &|v| text_test(v, pattern, |s, x| s == x))
            }
            (Test::StartsWith(pattern), Values::Strings(m)) => {
                values_of(m, &|v| text_test(v, pattern, |s, x| s.starts_with(x)))
            }
            (Test::EndsWith(pattern), Values::Strings(m)) => {
                values_of(m, &|v| text_test(v, pattern, |s, x| s.ends_with(x)))
            }
            (Test::Matches(re), Values::Strings(m)) => {
                values_of(m, &|v| self.reference.regex_matches(re, v))
            }
            (Test::ContainsAny(items), Values::Lists(m)) => {
                lazy(items.iter().filter_map(|i| m.get(i)))
            }
            (Test::ContainsAll(items), Values::Lists(m)) => {
                let mut acc = present.clone();
                for i in items {
                    if acc.is_empty() {
                        break;
                    }
                    match m.get(i) {
                        Some(set) => acc.and_inplace(set),
                        None => acc.clear(),
                    }
                }
                Owned(acc)
            }
            _ => return None,
        })
    }
}

/// `base` without the members of `set` (if any).
fn minus(base: &Bitmap, set: Option<&Bitmap>) -> Bitmap {
    match set {
        Some(set) => base.andnot(set),
        None => base.clone(),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Audience, Value};

    /// A tiny input meeting a wide union (an in-list, a wildcard, a range over many distinct
    /// numbers) is intersected part by part; the answers must not change.
    #[test]
    fn small_inputs_meet_unions_part_by_part() {
        let mut a = Audience::new();
        let t = "2024-01-01T00:00:00Z".parse().unwrap();
        let countries = ["SE", "DK", "NO", "FI", "DE"];
        for i in 0..2000 {
            let id = format!("p{i}");
            let interests = vec![["yoga", "run", "tech"][i % 3], ["ski", "golf"][i % 2]];
            a.upsert(
                &id,
                [
                    ("country", Value::from(countries[i % 5])),
                    ("age", Value::from((18 + i % 40) as i64)),
                    ("score", Value::from(i as f64 * 0.5)),
                    ("interests", Value::from(interests)),
                ],
            )
            .unwrap();
            a.tag(&id, &format!("interest:{}", i % 7), t).unwrap();
            if i % 400 == 7 {
                a.tag(&id, "vip", t).unwrap();
            }
        }
        for text in [
            r#"tag "vip" and country in ["SE", "DK", "NO", "FI"]"#,
            r#"tag "vip" and age between 20 and 50"#,
            r#"tag "vip" and age > 19"#,
            r#"tag "vip" and interests contains any ["yoga", "run", "ski"]"#,
            r#"tag "vip" and tag "interest:*""#,
            r#"tag "vip" and tag any ["interest:1", "interest:2", "interest:3", "interest:0"]"#,
            r#"tag "vip" and country starts with "D""#,
            r#"tag "vip" and score between 100 and 900"#,
            r#"tag "vip" and score < 500"#,
            "score >= 999.5",
            "score between 3 and 2",
            "age between 20 and 30 and score > 100",
        ] {
            let p = a.predicate(text).unwrap();
            let plan = a.explain(&p, t).unwrap();
            assert_eq!(
                a.member_slots(&p, t).unwrap(),
                a.member_slots_by_reference(&p, t).unwrap(),
                "{text}"
            );
            assert_eq!(a.count(&p, t).unwrap(), plan.root.actual, "{text}");
        }
    }

    /// Strings that lost their value index (nearly unique ones) are answered by scanning the
    /// profiles that have a value, with the same answers.
    #[test]
    fn unindexed_strings_scan_with_the_same_answers() {
        let mut a = Audience::new();
        a.store.index.string_value_limit = 4;
        for i in 0..40 {
            let email = if i % 5 == 0 {
                "shared@x.se".to_owned()
            } else {
                format!("p{i}@Example.com")
            };
            a.upsert(&format!("p{i}"), [("email", Value::from(email))])
                .unwrap();
        }
        a.upsert("none", [("age", Value::from(1))]).unwrap();
        a.upsert("p3", [("email", Value::from("changed@x.se"))])
            .unwrap();
        a.erase("p7");
        assert!(matches!(
            a.store.index.attributes["email"].values,
            crate::index::Values::Unindexed
        ));
        let now = "2024-01-01T00:00:00Z".parse().unwrap();
        for text in [
            r#"email == "shared@x.se""#,
            r#"email != "shared@x.se""#,
            r#"email in ["p1@Example.com", "changed@x.se"]"#,
            r#"email not in ["shared@x.se"]"#,
            r#"email contains "example" ignore case"#,
            r#"email starts with "p1""#,
            r#"email ends with ".se""#,
            r#"email matches "^p[0-9]+@""#,
            "email exists",
            "email missing",
            r#"not email == "shared@x.se""#,
        ] {
            let p = a.predicate(text).unwrap();
            assert_eq!(
                a.member_slots(&p, now).unwrap(),
                a.member_slots_by_reference(&p, now).unwrap(),
                "{text}"
            );
        }
    }
}
