//! Attribute indexes: per attribute, who has it and who has each value — by string, number (with
//! range-encoded "at most v" sets while there are few distinct values, coarse buckets once there
//! are many), boolean, list element, or UTC day of a timestamp.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::value::Value;

use super::{day_of, Bitmap};

/// A finite number ordered totally, with `-0.0` folded into `0.0` so that equal numbers are one key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NumKey(pub(super) f64);

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

/// Adds the sorted `slots` to the set at `key`, allocating the key only the first time.
fn add_run(map: &mut HashMap<String, Bitmap>, key: &str, slots: &[u32]) {
    match map.get_mut(key) {
        Some(set) => set.add_many(slots),
        None => {
            map.insert(key.to_owned(), Bitmap::of(slots));
        }
    }
}

/// The slots of `pairs` (ascending) by the key `key_of` gives each value (values without one
/// are left out), each key's slots ascending; keys in order.
fn grouped<'v, K: Ord>(
    pairs: &[(u32, &'v Value)],
    key_of: impl Fn(&'v Value) -> Option<K>,
) -> BTreeMap<K, Vec<u32>> {
    let mut groups: BTreeMap<K, Vec<u32>> = BTreeMap::new();
    for &(slot, value) in pairs {
        if let Some(key) = key_of(value) {
            groups.entry(key).or_default().push(slot);
        }
    }
    groups
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
    pub(super) fn new(first: &Value, value_limit: usize) -> AttributeIndex {
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
    pub(super) fn add(&mut self, slot: u32, value: &Value, held_from: Option<NumKey>) {
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

    /// Adds many slots, none of which holds a value yet, with their values (slots ascending):
    /// what [`AttributeIndex::add`] of each would leave, answer for answer, built a set at a
    /// time — each value's slots added as one sorted run, the "at most" sets rebuilt from the
    /// value sets once. The choices that depend on how many distinct values there are (a set
    /// per value or none, range-encoded sets, coarse buckets) are made on the counts at the
    /// end rather than along the way; each kind of index answers exactly either way.
    pub(super) fn add_new(&mut self, pairs: &[(u32, &Value)]) {
        let slots: Vec<u32> = pairs.iter().map(|&(slot, _)| slot).collect();
        self.present.add_many(&slots);
        let present = self.present.cardinality();
        match &mut self.values {
            Values::Strings(m) => {
                for (value, slots) in grouped(pairs, |v| match v {
                    Value::String(s) => Some(s.as_str()),
                    _ => None,
                }) {
                    add_run(m, value, &slots);
                }
                if m.len() > self.value_limit && m.len() as u64 * 2 > present {
                    self.values = Values::Unindexed;
                }
            }
            Values::Lists(m) => {
                let items = pairs.iter().flat_map(|&(slot, v)| match v {
                    Value::List(items) => items.iter().map(move |i| (slot, i.as_str())).collect(),
                    _ => Vec::new(),
                });
                let mut by_item: HashMap<&str, Vec<u32>> = HashMap::new();
                for (slot, item) in items {
                    let slots = by_item.entry(item).or_default();
                    // An item twice in one list is one membership.
                    if slots.last() != Some(&slot) {
                        slots.push(slot);
                    }
                }
                for (item, slots) in by_item {
                    add_run(m, item, &slots);
                }
            }
            Values::Bools(sets) => {
                for (value, slots) in grouped(pairs, |v| match v {
                    Value::Bool(b) => Some(*b),
                    _ => None,
                }) {
                    sets[usize::from(value)].add_many(&slots);
                }
            }
            Values::Timestamps(days) => {
                for (day, slots) in grouped(pairs, |v| match v {
                    Value::Timestamp(t) => Some(day_of(t.as_nanosecond())),
                    _ => None,
                }) {
                    days.entry(day).or_default().add_many(&slots);
                }
            }
            Values::Numbers(_) | Values::Continuous => self.add_new_numbers(pairs, present),
            Values::Unindexed => {}
        }
    }

    /// [`AttributeIndex::add_new`] for numbers.
    fn add_new_numbers(&mut self, pairs: &[(u32, &Value)], present: u64) {
        let groups = grouped(pairs, |v| match v {
            Value::Number(x) => Some(NumKey::new(*x)),
            _ => None,
        });
        if let Some(buckets) = &mut self.coarse {
            for (key, slots) in &groups {
                buckets.entry(bucket(key.0)).or_default().add_many(slots);
            }
        }
        let Values::Numbers(m) = &mut self.values else {
            return;
        };
        for (key, slots) in groups {
            m.entry(key).or_default().add_many(&slots);
        }
        let continuous = m.len() > self.value_limit && m.len() as u64 * 2 > present;
        if self.coarse.is_none() && (m.len() > RANGE_ENCODE_LIMIT || continuous) {
            let mut buckets: BTreeMap<i64, Bitmap> = BTreeMap::new();
            for (value, set) in m.iter() {
                buckets.entry(bucket(value.0)).or_default().or_inplace(set);
            }
            self.coarse = Some(buckets);
        }
        if m.len() > RANGE_ENCODE_LIMIT || continuous {
            self.at_most = None;
        } else if self.at_most.is_some() {
            let mut running = Bitmap::new();
            let cumulative = m
                .iter()
                .map(|(&key, set)| {
                    running.or_inplace(set);
                    (key, running.clone())
                })
                .collect();
            self.at_most = Some(cumulative);
        }
        if continuous {
            self.values = Values::Continuous;
        }
    }

    /// Removes `slot`'s `value`. In the range-encoded sets it leaves those of its value and
    /// greater ones below `kept_from`, from where it stays (it is taking a greater value;
    /// `None`: it leaves them all).
    pub(super) fn remove(&mut self, slot: u32, value: &Value, kept_from: Option<NumKey>) {
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
