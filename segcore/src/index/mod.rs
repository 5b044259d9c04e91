//! Indexes beside the store, kept current on every write: which slots are live, hold a tag, have
//! an attribute, have a given value, ever did an event, or granted consent on a channel.
//!
//! Member sets are CRoaring bitmaps: measured at the memory-bandwidth floor for dense sets and
//! far below it for sparse ones (`docs/performance.md`, B1).

use std::collections::{BTreeMap, HashMap};

use crate::value::Value;

mod attributes;
mod day_rows;
mod days;
mod grid;
mod occurrences;
mod pending;
mod totals;

#[cfg(test)]
pub(crate) use attributes::RANGE_ENCODE_LIMIT;
pub(crate) use attributes::{at_most, bucket, AttributeIndex, NumKey, Values, VALUE_LIMIT};
pub(crate) use day_rows::{day_blocks, scatter, LoadedRows};
pub(crate) use days::{day_of, extend_columns, offset_in_day, DayBucket, DAY_NS, NO_STRING};
pub(crate) use grid::{coarse_of, Cell, Grid, Located, FINE_PER_COARSE, FINE_PER_DEGREE};
pub(crate) use occurrences::{Occurrences, Span};
pub(crate) use pending::PendingSets;
pub(crate) use totals::{Running, Totals};

/// A set of slots.
pub(crate) type Bitmap = croaring::Bitmap;

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

    /// Indexes `name` for slots that hold no value of it yet (slots ascending): what
    /// [`Indexes::set_attribute`] of each would answer, built a set at a time.
    pub fn add_new_attribute(&mut self, name: &str, pairs: &[(u32, &Value)]) {
        let Some(&(_, first)) = pairs.first() else {
            return;
        };
        let limit = match self.value_limit {
            0 => VALUE_LIMIT,
            n => n,
        };
        self.attributes
            .entry(name.to_owned())
            .or_insert_with(|| AttributeIndex::new(first, limit))
            .add_new(pairs);
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
