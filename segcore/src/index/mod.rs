//! Indexes beside the store, kept current on every write: which slots are live, hold a tag, have
//! an attribute, have a given value, ever did an event, or granted consent on a channel.
//!
//! Member sets are CRoaring bitmaps: measured at the memory-bandwidth floor for dense sets and
//! far below it for sparse ones (`docs/performance.md`, B1).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::value::Value;

mod days;
mod grid;
mod occurrences;
mod pending;
mod totals;

pub(crate) use days::{day_of, offset_in_day, DayBucket, DAY_NS, NO_STRING};
pub(crate) use grid::{coarse_of, Cell, Grid, Located, FINE_PER_COARSE, FINE_PER_DEGREE};
pub(crate) use occurrences::{Occurrences, Span};
pub(crate) use pending::PendingSets;
pub(crate) use totals::{Running, Totals};

/// A set of slots.
pub(crate) type Bitmap = croaring::Bitmap;

/// A finite number ordered totally, with `-0.0` folded into `0.0` so that equal numbers are one key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NumKey(f64);

impl NumKey {
    pub(crate) fn new(x: f64) -> NumKey {
        NumKey(if x == 0.0 { 0.0 } else { x })
    }
}

impl PartialEq for NumKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NumKey {}

impl PartialOrd for NumKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NumKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Value → members, by the attribute's type. Strings lose theirs when they turn out to be
/// nearly unique (emails, ids): a set per value would cost more than it saves; tests on them run
/// on the candidates the other conditions leave. Timestamps are nearly unique by nature, so
/// they are kept per UTC day: a time test's members are among the days it touches.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    Strings(HashMap<String, Bitmap>),
    Numbers(BTreeMap<NumKey, Bitmap>),
    /// Members with `false`, members with `true`.
    Bools([Bitmap; 2]),
    /// Element → members whose list holds it.
    Lists(HashMap<String, Bitmap>),
    /// UTC day (days since the epoch) → members whose value falls on it.
    Timestamps(BTreeMap<i64, Bitmap>),
    /// Strings with too many distinct values to index.
    Unindexed,
    /// Numbers with too many distinct values for a set each (coordinates, amounts): the coarse
    /// buckets of [`AttributeIndex::coarse`] are their index.
    Continuous,
}

/// A string or number attribute stops keeping a set per value once it has more distinct values
/// than this *and* more than half its present profiles hold a value of their own (numbers keep
/// their coarse buckets).
pub(crate) const VALUE_LIMIT: usize = 65_536;

/// A number attribute keeps range-encoded sets while it has at most this many distinct values.
pub(crate) const RANGE_ENCODE_LIMIT: usize = 128;

#[derive(Debug, Clone)]
pub(crate) struct AttributeIndex {
    pub present: Bitmap,
    pub values: Values,
    /// For numbers with few distinct values (ages, scores, counts): for each distinct value `v`,
    /// the profiles whose value is at most `v`. Any range is then one set minus another,
    /// however many values it spans. Dropped for good past [`RANGE_ENCODE_LIMIT`] values.
    pub at_most: Option<BTreeMap<NumKey, Bitmap>>,
    /// For numbers past [`RANGE_ENCODE_LIMIT`] distinct values (coordinates, amounts): the
    /// members per bucket of width 0.1, so a band of values (a latitude band around a point)
    /// is a union of a few sets rather than one per distinct value.
    pub coarse: Option<BTreeMap<i64, Bitmap>>,
    /// [`VALUE_LIMIT`], lowered in tests.
    value_limit: usize,
}

/// The coarse bucket of a number: tenths, rounded down (saturating for huge values).
pub(crate) fn bucket(x: f64) -> i64 {
    (x * 10.0).floor() as i64
}

/// Adds `slot` to the set at `key`, allocating the key only the first time it is seen.
fn add_to(map: &mut HashMap<String, Bitmap>, key: &str, slot: u32) {
    match map.get_mut(key) {
        Some(set) => set.add(slot),
        None => {
            map.insert(key.to_owned(), Bitmap::of(&[slot]));
        }
    }
}

/// Removes `slot` from the set at `key`, dropping the set when it empties so scans over
/// distinct values only see values someone holds.
fn remove_from(map: &mut HashMap<String, Bitmap>, key: &str, slot: u32) {
    if let Some(set) = map.get_mut(key) {
        set.remove(slot);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

impl AttributeIndex {
    fn new(first: &Value, value_limit: usize) -> AttributeIndex {
        let values = match first {
            Value::String(_) => Values::Strings(HashMap::new()),
            Value::Number(_) => Values::Numbers(BTreeMap::new()),
            Value::Bool(_) => Values::Bools([Bitmap::new(), Bitmap::new()]),
            Value::List(_) => Values::Lists(HashMap::new()),
            Value::Timestamp(_) => Values::Timestamps(BTreeMap::new()),
        };
        let at_most = matches!(values, Values::Numbers(_)).then(BTreeMap::new);
        AttributeIndex {
            present: Bitmap::new(),
            values,
            value_limit,
            at_most,
            coarse: None,
        }
    }

    /// Sets whose union holds every profile with a number in `[low, high]` (and possibly
    /// others): coarse buckets for continuous numbers, the value sets otherwise. `None` if
    /// the attribute does not hold numbers.
    pub fn number_band(&self, low: f64, high: f64) -> Option<Vec<&Bitmap>> {
        if !matches!(self.values, Values::Numbers(_) | Values::Continuous) {
            return None;
        }
        if low.is_nan() || high.is_nan() || low > high {
            return Some(Vec::new());
        }
        Some(match (&self.coarse, &self.values) {
            (Some(buckets), _) => buckets
                .range(bucket(low)..=bucket(high))
                .map(|(_, s)| s)
                .collect(),
            (None, Values::Numbers(values)) => values
                .range(NumKey::new(low)..=NumKey::new(high))
                .map(|(_, s)| s)
                .collect(),
            // Continuous numbers always have their buckets.
            (None, _) => vec![&self.present],
        })
    }

    /// Adds `slot` with `value`. In the range-encoded sets it joins the set of its value and
    /// those of greater values below `held_from`, from where it is still held (it is replacing
    /// a greater value; `None`: it was held nowhere).
    fn add(&mut self, slot: u32, value: &Value, held_from: Option<NumKey>) {
        self.present.add(slot);
        match (&mut self.values, value) {
            (Values::Strings(m), Value::String(s)) => {
                add_to(m, s, slot);
                if m.len() > self.value_limit && m.len() as u64 * 2 > self.present.cardinality() {
                    self.values = Values::Unindexed;
                }
            }
            (Values::Numbers(m), Value::Number(x)) => {
                let key = NumKey::new(*x);
                m.entry(key).or_default().add(slot);
                if m.len() > RANGE_ENCODE_LIMIT {
                    self.at_most = None;
                }
                let continuous =
                    m.len() > self.value_limit && m.len() as u64 * 2 > self.present.cardinality();
                match &mut self.coarse {
                    // Kept from then on, even if values later drop below the limit.
                    Some(buckets) => buckets.entry(bucket(*x)).or_default().add(slot),
                    None if m.len() > RANGE_ENCODE_LIMIT || continuous => {
                        let mut buckets: BTreeMap<i64, Bitmap> = BTreeMap::new();
                        for (value, set) in m.iter() {
                            buckets.entry(bucket(value.0)).or_default().or_inplace(set);
                        }
                        self.coarse = Some(buckets);
                    }
                    None => {}
                }
                if continuous {
                    self.values = Values::Continuous;
                    self.at_most = None;
                } else if let Some(cumulative) = &mut self.at_most {
                    if !cumulative.contains_key(&key) {
                        // Nobody holds a value between the next lower key and this one.
                        let below = cumulative.range(..key).next_back().map(|(_, s)| s.clone());
                        cumulative.insert(key, below.unwrap_or_default());
                    }
                    match held_from {
                        Some(held) if held > key => {
                            for (_, set) in cumulative.range_mut(key..held) {
                                set.add(slot);
                            }
                        }
                        Some(_) => {
                            if let Some(set) = cumulative.get_mut(&key) {
                                set.add(slot);
                            }
                        }
                        None => {
                            for (_, set) in cumulative.range_mut(key..) {
                                set.add(slot);
                            }
                        }
                    }
                }
            }
            (Values::Continuous, Value::Number(x)) => {
                if let Some(buckets) = &mut self.coarse {
                    buckets.entry(bucket(*x)).or_default().add(slot);
                }
            }
            (Values::Bools(sets), Value::Bool(b)) => sets[usize::from(*b)].add(slot),
            (Values::Timestamps(days), Value::Timestamp(t)) => {
                days.entry(day_of(t.as_nanosecond())).or_default().add(slot);
            }
            (Values::Lists(m), Value::List(items)) => {
                for item in items {
                    add_to(m, item, slot);
                }
            }
            _ => {}
        }
    }

    /// Removes `slot`'s `value`. In the range-encoded sets it leaves those of its value and
    /// greater ones below `kept_from`, from where it stays (it is taking a greater value;
    /// `None`: it leaves them all).
    fn remove(&mut self, slot: u32, value: &Value, kept_from: Option<NumKey>) {
        self.present.remove(slot);
        match (&mut self.values, value) {
            (Values::Strings(m), Value::String(s)) => remove_from(m, s, slot),
            (Values::Numbers(m), Value::Number(x)) => {
                let key = NumKey::new(*x);
                if let Some(cumulative) = &mut self.at_most {
                    match kept_from {
                        Some(kept) if kept > key => {
                            for (_, set) in cumulative.range_mut(key..kept) {
                                set.remove(slot);
                            }
                        }
                        Some(_) => {}
                        None => {
                            for (_, set) in cumulative.range_mut(key..) {
                                set.remove(slot);
                            }
                        }
                    }
                }
                if let Some(buckets) = &mut self.coarse {
                    if let Some(set) = buckets.get_mut(&bucket(*x)) {
                        set.remove(slot);
                        if set.is_empty() {
                            buckets.remove(&bucket(*x));
                        }
                    }
                }
                if let Some(set) = m.get_mut(&key) {
                    set.remove(slot);
                    if set.is_empty() {
                        m.remove(&key);
                        // Its "at most" set now equals the next lower one's.
                        if let Some(cumulative) = &mut self.at_most {
                            cumulative.remove(&key);
                        }
                    }
                }
            }
            (Values::Continuous, Value::Number(x)) => {
                if let Some(buckets) = &mut self.coarse {
                    if let Some(set) = buckets.get_mut(&bucket(*x)) {
                        set.remove(slot);
                        if set.is_empty() {
                            buckets.remove(&bucket(*x));
                        }
                    }
                }
            }
            (Values::Bools(sets), Value::Bool(b)) => sets[usize::from(*b)].remove(slot),
            (Values::Timestamps(days), Value::Timestamp(t)) => {
                let day = day_of(t.as_nanosecond());
                if let Some(set) = days.get_mut(&day) {
                    set.remove(slot);
                    if set.is_empty() {
                        days.remove(&day);
                    }
                }
            }
            (Values::Lists(m), Value::List(items)) => {
                for item in items {
                    remove_from(m, item, slot);
                }
            }
            _ => {}
        }
    }
}

/// All indexes of one audience.
#[derive(Debug, Clone, Default)]
pub(crate) struct Indexes {
    /// See [`VALUE_LIMIT`]; zero means the default.
    pub value_limit: usize,
    pub live: Bitmap,
    pub attributes: HashMap<String, AttributeIndex>,
    /// Sorted, so a namespace's tags are one range of keys.
    pub tags: BTreeMap<String, Bitmap>,
    /// Event name id → profiles with at least one such event (at any time).
    pub events: HashMap<u32, Bitmap>,
    /// (event name id, property key id, interned string value id) → profiles with at least
    /// one such event, at any time: `did purchase where sku == "A12"` can only match them.
    pub event_strings: HashMap<(u32, u32, u32), Bitmap>,
    /// Event name id → UTC day (days since the epoch) → that day's events.
    pub event_days: HashMap<u32, BTreeMap<i64, DayBucket>>,
    /// Event name id → profiles by the day of their first and of their last such event.
    pub occurrences: HashMap<u32, Occurrences>,
    /// Channel → profiles whose latest decision grants consent.
    pub consent: HashMap<String, Bitmap>,
    /// Positions held in the `latitude` and `longitude` attributes, by cell.
    pub grid: Grid,
    /// (Event name id, numeric property key id) → each slot's running aggregate of its values.
    pub totals: HashMap<(u32, u32), Totals>,
}

impl Indexes {
    pub fn set_attribute(
        &mut self,
        name: &str,
        slot: u32,
        old: Option<&Value>,
        new: Option<&Value>,
    ) {
        // A number replacing a number: the range-encoded sets from the greater of the two up
        // hold the slot before and after, so only those between them change.
        let unchanged_from = match (old, new) {
            (Some(Value::Number(a)), Some(Value::Number(b))) => {
                Some(NumKey::new(*a).max(NumKey::new(*b)))
            }
            _ => None,
        };
        if let Some(old) = old {
            if let Some(index) = self.attributes.get_mut(name) {
                index.remove(slot, old, unchanged_from);
            }
        }
        if let Some(new) = new {
            self.attributes
                .entry(name.to_owned())
                .or_insert_with(|| {
                    let limit = match self.value_limit {
                        0 => VALUE_LIMIT,
                        n => n,
                    };
                    AttributeIndex::new(new, limit)
                })
                .add(slot, new, unchanged_from);
        }
    }

    pub fn add_tag(&mut self, tag: &str, slot: u32) {
        self.tags.entry(tag.to_owned()).or_default().add(slot);
    }

    pub fn remove_tag(&mut self, tag: &str, slot: u32) {
        if let Some(set) = self.tags.get_mut(tag) {
            set.remove(slot);
            if set.is_empty() {
                self.tags.remove(tag);
            }
        }
    }

    /// The member sets whose union holds `pattern`: the tag's own set, or the sets of every
    /// tag of a namespace for `ns:*`.
    pub fn tag_sets(&self, pattern: &str) -> Vec<&Bitmap> {
        match pattern.strip_suffix(":*") {
            Some(ns) => {
                let prefix = format!("{ns}:");
                self.tags
                    .range(prefix.clone()..)
                    .take_while(|(tag, _)| tag.starts_with(&prefix))
                    .map(|(_, set)| set)
                    .collect()
            }
            None => self.tags.get(pattern).into_iter().collect(),
        }
    }

    /// Records that `slot` did `event` at `at`, with these numeric properties (key ids) and
    /// string properties (key id, value id).
    pub fn add_event(
        &mut self,
        event: u32,
        at: jiff::Timestamp,
        slot: u32,
        numbers: &[(u32, f64)],
        strings: &[(u32, u32)],
    ) {
        self.events.entry(event).or_default().add(slot);
        for &(key, value) in strings {
            self.event_strings
                .entry((event, key, value))
                .or_default()
                .add(slot);
        }
        let ns = at.as_nanosecond();
        self.day_bucket(event, day_of(ns))
            .insert(slot, offset_in_day(ns), numbers, strings);
    }

    /// The bucket of `event` on `day`, created empty if there is none.
    pub(crate) fn day_bucket(&mut self, event: u32, day: i64) -> &mut DayBucket {
        self.event_days
            .entry(event)
            .or_default()
            .entry(day)
            .or_default()
    }

    /// [`Indexes::add_event`] in a bulk load: the row goes into its day bucket now, the
    /// member-set changes into `pending`.
    pub fn add_event_row(
        &mut self,
        event: u32,
        at: jiff::Timestamp,
        slot: u32,
        numbers: &[(u32, f64)],
        strings: &[(u32, u32)],
        pending: &mut PendingSets,
    ) {
        let ns = at.as_nanosecond();
        let day = day_of(ns);
        pending.event(event, day, slot, strings);
        self.day_bucket(event, day)
            .push_row(slot, offset_in_day(ns), numbers, strings);
    }

    /// Forgets that `slot` did `event` at `at` (it is being erased).
    pub fn remove_event(
        &mut self,
        event: u32,
        at: jiff::Timestamp,
        slot: u32,
        strings: &[(u32, u32)],
    ) {
        if let Some(set) = self.events.get_mut(&event) {
            set.remove(slot);
        }
        for &(key, value) in strings {
            if let Some(set) = self.event_strings.get_mut(&(event, key, value)) {
                set.remove(slot);
                if set.is_empty() {
                    self.event_strings.remove(&(event, key, value));
                }
            }
        }
        if let Some(days) = self.event_days.get_mut(&event) {
            let ns = at.as_nanosecond();
            let day = day_of(ns);
            if let Some(bucket) = days.get_mut(&day) {
                bucket.remove(slot, offset_in_day(ns));
                if bucket.slots.is_empty() {
                    days.remove(&day);
                }
            }
        }
    }

    /// Records that `slot`'s position moved from `old` to `new` (`None`: it has none).
    pub fn set_position(&mut self, slot: u32, old: Option<(f64, f64)>, new: Option<(f64, f64)>) {
        self.grid.update(slot, old, new);
    }

    /// Records that `slot`'s first and last `event` moved from `old` to `new` (`None`: it has
    /// no such event).
    pub fn set_occurrence(&mut self, event: u32, slot: u32, old: Option<Span>, new: Option<Span>) {
        let occurrences = self.occurrences.entry(event).or_default();
        occurrences.update(slot, old, new);
        if occurrences.is_empty() {
            self.occurrences.remove(&event);
        }
    }

    pub fn set_consent(&mut self, channel: &str, slot: u32, granted: bool) {
        let set = self.consent.entry(channel.to_owned()).or_default();
        if granted {
            set.add(slot);
        } else {
            set.remove(slot);
        }
    }
}

/// From range-encoded sets, the profiles whose value is within `bound` from below: the set of
/// the largest distinct value inside it (`None`: nobody).
pub(crate) fn at_most(
    cumulative: &BTreeMap<NumKey, Bitmap>,
    bound: Bound<NumKey>,
) -> Option<&Bitmap> {
    cumulative
        .range((Bound::Unbounded, bound))
        .next_back()
        .map(|(_, set)| set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_floor_towards_the_past() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_NS - 1), 0);
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_of(-DAY_NS), -1);
    }

    #[test]
    fn zero_and_negative_zero_are_one_key() {
        assert_eq!(NumKey::new(-0.0), NumKey::new(0.0));
        assert!(NumKey::new(-1.0) < NumKey::new(-0.0));
    }

    #[test]
    fn emptied_value_sets_disappear() {
        let mut ix = Indexes::default();
        ix.set_attribute("c", 1, None, Some(&Value::from("SE")));
        ix.set_attribute("c", 1, Some(&Value::from("SE")), Some(&Value::from("DK")));
        let Values::Strings(m) = &ix.attributes["c"].values else {
            panic!()
        };
        assert_eq!(m.keys().collect::<Vec<_>>(), ["DK"]);
        assert!(ix.attributes["c"].present.contains(1));
    }

    #[test]
    fn range_encoding_holds_everyone_at_or_below_each_value() {
        let mut ix = Indexes::default();
        let set = |ix: &mut Indexes, slot: u32, old: Option<f64>, new: Option<f64>| {
            let (old, new) = (old.map(Value::from), new.map(Value::from));
            ix.set_attribute("age", slot, old.as_ref(), new.as_ref());
        };
        set(&mut ix, 1, None, Some(30.0));
        set(&mut ix, 2, None, Some(20.0));
        set(&mut ix, 3, None, Some(40.0));
        set(&mut ix, 4, None, Some(30.0));
        set(&mut ix, 2, Some(20.0), Some(35.0));
        set(&mut ix, 3, Some(40.0), None);
        let cumulative = ix.attributes["age"].at_most.as_ref().unwrap();
        let view: Vec<(f64, Vec<u32>)> =
            cumulative.iter().map(|(k, s)| (k.0, s.to_vec())).collect();
        assert_eq!(view, [(30.0, vec![1, 4]), (35.0, vec![1, 2, 4])]);
    }

    /// Replacing numbers touches only the range-encoded sets between the old value and the new
    /// one; whatever the sequence, each set holds exactly the slots at or below its value.
    #[test]
    fn range_encoding_stays_exact_under_any_replacements() {
        let mut rng = fastrand::Rng::with_seed(4);
        let mut ix = Indexes::default();
        let mut held: Vec<Option<f64>> = vec![None; 40];
        for _ in 0..3_000 {
            let slot = rng.usize(0..held.len());
            let new = (rng.u32(0..10) > 0).then(|| f64::from(rng.u32(0..30)) - 10.0);
            let (old, new_value) = (held[slot].map(Value::from), new.map(Value::from));
            ix.set_attribute("n", slot as u32, old.as_ref(), new_value.as_ref());
            held[slot] = new;
            let cumulative = ix.attributes["n"].at_most.as_ref().unwrap();
            let mut distinct: Vec<f64> = held.iter().flatten().copied().collect();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            let keys: Vec<f64> = cumulative.keys().map(|k| k.0).collect();
            assert_eq!(keys, distinct);
            for (key, set) in cumulative {
                let want: Vec<u32> = (0..held.len() as u32)
                    .filter(|&s| held[s as usize].is_some_and(|v| v <= key.0))
                    .collect();
                assert_eq!(set.to_vec(), want, "at most {}", key.0);
            }
        }
    }

    #[test]
    fn many_distinct_numbers_drop_range_encoding() {
        let mut ix = Indexes::default();
        for slot in 0..=RANGE_ENCODE_LIMIT as u32 {
            ix.set_attribute("score", slot, None, Some(&Value::from(f64::from(slot))));
        }
        assert!(ix.attributes["score"].at_most.is_none());
    }

    #[test]
    fn nearly_unique_strings_lose_their_value_index() {
        let mut ix = Indexes {
            value_limit: 4,
            ..Indexes::default()
        };
        for slot in 0..4 {
            ix.set_attribute("country", slot, None, Some(&Value::from("SE")));
        }
        for slot in 0..6 {
            ix.set_attribute("email", slot, None, Some(&Value::from(format!("{slot}@x"))));
        }
        assert!(matches!(
            ix.attributes["country"].values,
            Values::Strings(_)
        ));
        assert!(matches!(ix.attributes["email"].values, Values::Unindexed));
        assert_eq!(ix.attributes["email"].present.cardinality(), 6);
    }

    #[test]
    fn wildcards_cover_a_namespace_only() {
        let mut ix = Indexes::default();
        ix.add_tag("interest:a", 1);
        ix.add_tag("interest:b", 2);
        ix.add_tag("interests:c", 3);
        ix.add_tag("interest", 4);
        assert_eq!(Bitmap::fast_or(&ix.tag_sets("interest:*")).to_vec(), [1, 2]);
        ix.remove_tag("interest:a", 1);
        assert_eq!(Bitmap::fast_or(&ix.tag_sets("interest:*")).to_vec(), [2]);
    }
}
