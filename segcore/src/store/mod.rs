//! In-memory storage: the id ↔ slot map, attribute columns, and per-profile tags, events and
//! consent. It checks nothing; the [`Audience`](crate::Audience) validates before writing.

use hashbrown::HashMap;

use jiff::Timestamp;

use compact_str::CompactString;

use crate::column::{AttrRef, ColumnRef, Columns};
use crate::geo;
use crate::index::{Indexes, Span, NO_STRING};
use crate::profile::{Consent, Event, Profile};
use crate::value::Value;

mod bulk;
mod log;
mod sealed;
mod slots_by_id;
mod view;

pub(crate) use bulk::{row_props, RunEvent};
use sealed::Sealed;
use slots_by_id::SlotsById;
pub(crate) use view::RecordRef;

use log::{push_compact, EventLog, Pushed};
pub(crate) use log::{StoredEvent, TimeOrder};

/// Strings mapped to dense ids, so events store `u32`s instead of repeated names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Interner {
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// One event property as stored, in 16 bytes: a number, or the id of an interned string.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredProp {
    key: u32,
    /// The string's id, or [`NO_STRING`] for a number.
    string: u32,
    number: f64,
}

impl StoredProp {
    fn new(key: u32, value: PropValue) -> StoredProp {
        match value {
            PropValue::Number(number) => StoredProp {
                key,
                string: NO_STRING,
                number,
            },
            PropValue::String(string) => StoredProp {
                key,
                string,
                number: 0.0,
            },
        }
    }

    fn value(self) -> PropValue {
        match self.string {
            NO_STRING => PropValue::Number(self.number),
            id => PropValue::String(id),
        }
    }
}

/// A late event in a log of at most this many events recomputes the profile's running
/// aggregates at once; a longer log waits for its next large merge.
const REFRESH_AT_ONCE: usize = 256;

/// An event property value: a number, or a string interned in `Store::prop_strings` (skus,
/// categories and campaigns repeat across millions of events).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PropValue {
    Number(f64),
    String(u32),
}

/// A property value borrowed from the store.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PropRef<'a> {
    Number(f64),
    String(&'a str),
}

impl PropRef<'_> {
    fn to_value(self) -> Value {
        match self {
            PropRef::Number(x) => Value::Number(x),
            PropRef::String(s) => Value::from(s),
        }
    }
}

/// An event borrowed from the store: name, time, properties sorted by key name.
pub(crate) type EventRef<'a> = (&'a str, Timestamp, Vec<(&'a str, PropRef<'a>)>);

/// An event's properties as the index takes them: numbers (key, value), strings (key, value id).
type SplitProps = (Vec<(u32, f64)>, Vec<(u32, u32)>);

fn split_props(props: impl IntoIterator<Item = (u32, PropValue)>) -> SplitProps {
    let mut numbers = Vec::new();
    let mut strings = Vec::new();
    for (key, value) in props {
        match value {
            PropValue::Number(x) => numbers.push((key, x)),
            PropValue::String(id) => strings.push((key, id)),
        }
    }
    (numbers, strings)
}

/// The times of the first and the last of `events` named `name`, in nanoseconds. Scans each
/// run from both ends, so a profile's recent events cost little to find.
fn first_and_last(events: &TimeOrder<'_>, name: u32) -> Option<Span> {
    let first = events.first_where(|e| e.name == name)?.ns();
    let last = events.last_where(|e| e.name == name)?.ns();
    Some((first, last))
}

/// Where `id` is in `pairs` sorted by id: `Ok(index)`, or `Err(where it would go)`.
fn position<V>(pairs: &[(u32, V)], id: u32) -> Result<usize, usize> {
    pairs.binary_search_by_key(&id, |(k, _)| *k)
}

/// The value paired with `id` in `pairs` sorted by id.
fn lookup<V>(pairs: &[(u32, V)], id: u32) -> Option<&V> {
    position(pairs, id).ok().map(|i| &pairs[i].1)
}

/// Everything but the attributes of one live profile. Small sorted vectors of interned ids
/// rather than maps: most profiles hold a few tags and channels, and a map's first node alone
/// would cost hundreds of bytes per profile.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    /// Short ids (most) are kept inline, without an allocation of their own.
    pub id: CompactString,
    /// Held tags (ids in `Store::tag_names`) with the time each was added, sorted by id;
    /// exactly sized.
    pub tags: Box<[(u32, Timestamp)]>,
    /// Latest decision per channel (ids in `Store::channels`), sorted by id; exactly sized.
    pub consent: Box<[(u32, Consent)]>,
    /// Events and their properties: none until the first event, since many profiles (a
    /// contact list's) have none.
    log: Option<Box<EventLog>>,
}

/// `items` with `item` inserted at `at`, still exactly sized.
fn inserted<T>(items: &mut Box<[T]>, at: usize, item: T) {
    let mut v = std::mem::take(items).into_vec();
    v.reserve_exact(1);
    v.insert(at, item);
    *items = v.into_boxed_slice();
}

/// `items` without the one at `at`, still exactly sized.
fn removed<T>(items: &mut Box<[T]>, at: usize) {
    let mut v = std::mem::take(items).into_vec();
    v.remove(at);
    *items = v.into_boxed_slice();
}

impl Record {
    pub fn consent(&self, channel: u32) -> Option<&Consent> {
        lookup(&self.consent, channel)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    ids: SlotsById,
    records: Vec<Option<Record>>,
    live: usize,
    columns: Columns,
    pub event_names: Interner,
    pub keys: Interner,
    pub prop_strings: Interner,
    pub tag_names: Interner,
    pub channels: Interner,
    /// Kept current by every method that writes.
    pub index: Indexes,
    /// Events sealed by bulk loads; each record's log holds those since.
    sealed: Sealed,
    /// How many events the records' logs hold (since the last seal).
    logged: usize,
}

impl Store {
    pub fn slot(&self, id: &str) -> Option<u32> {
        self.ids.get(&self.records, id)
    }

    /// The slot of `id`, created if the profile is new.
    pub fn slot_or_insert(&mut self, id: &str) -> u32 {
        self.slot_or_create(id).0
    }

    /// The slot of `id`, and whether the profile was created now: one lookup.
    pub fn slot_or_create(&mut self, id: &str) -> (u32, bool) {
        let hash = self.ids.hash(id);
        match self.ids.get_hashed(&self.records, hash, id) {
            Some(slot) => (slot, false),
            None => (self.create(id, hash), true),
        }
    }

    /// A new profile `id`, whose hash is `hash`: its slot.
    fn create(&mut self, id: &str, hash: u64) -> u32 {
        let slot = u32::try_from(self.records.len()).expect("fewer than 2^32 profiles");
        self.records.push(Some(Record {
            id: CompactString::from(id),
            ..Record::default()
        }));
        self.ids.insert_hashed(hash, slot);
        self.live += 1;
        self.index.live.add(slot);
        slot
    }

    /// One more than the largest slot ever given out.
    pub fn slot_bound(&self) -> usize {
        self.records.len()
    }

    pub fn live_count(&self) -> usize {
        self.live
    }

    pub fn record(&self, slot: u32) -> Option<RecordRef<'_>> {
        let record = self.records.get(slot as usize)?.as_ref()?;
        Some(RecordRef::new(record, &self.sealed, slot))
    }

    fn record_mut(&mut self, slot: u32) -> &mut Record {
        self.records[slot as usize]
            .as_mut()
            .expect("a slot from the id map is live")
    }

    /// Live slots in ascending order.
    pub fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_some())
            .map(|(i, _)| i as u32)
    }

    /// Every attribute value `slot` holds, by name.
    pub fn attributes_of(&self, slot: u32) -> impl Iterator<Item = (&str, AttrRef<'_>)> {
        self.columns.all(slot)
    }

    pub fn attribute(&self, slot: u32, name: &str) -> Option<AttrRef<'_>> {
        self.columns.get(slot, name)
    }

    /// The position of `slot` in the `latitude` and `longitude` attributes, if it has one.
    pub fn position(&self, slot: u32) -> Option<(f64, f64)> {
        geo::position(
            self.attribute(slot, geo::LATITUDE),
            self.attribute(slot, geo::LONGITUDE),
        )
    }

    /// The values of attribute `name` by slot.
    pub fn column(&self, name: &str) -> ColumnRef<'_> {
        self.columns.column(name)
    }

    pub fn set_attribute(&mut self, slot: u32, name: &str, value: Option<Value>) {
        let located = name == geo::LATITUDE || name == geo::LONGITUDE;
        let old_position = if located { self.position(slot) } else { None };
        let old = self.columns.set(slot, name, value.as_ref());
        self.index
            .set_attribute(name, slot, old.as_ref(), value.as_ref());
        if located {
            let new_position = self.position(slot);
            self.index.set_position(slot, old_position, new_position);
        }
    }

    /// Sets `name` on slots that hold no value of it (slots ascending), the index built a set
    /// at a time. Not for the coordinates, whose positions are indexed together.
    pub fn set_new_attribute(&mut self, name: &str, pairs: &[(u32, &Value)]) {
        debug_assert!(name != geo::LATITUDE && name != geo::LONGITUDE);
        for &(slot, value) in pairs {
            let old = self.columns.set(slot, name, Some(value));
            debug_assert!(old.is_none(), "a slot with a value of `{name}`");
        }
        self.index.add_new_attribute(name, pairs);
    }

    /// Adds a tag unless held; a held tag keeps the time it was first added.
    pub fn add_tag(&mut self, slot: u32, tag: &str, at: Timestamp) {
        let id = self.tag_names.intern(tag);
        let tags = &mut self.record_mut(slot).tags;
        if let Err(i) = position(tags, id) {
            // Exactly sized: a profile holds a few tags, and doubling would waste most of it.
            inserted(tags, i, (id, at));
            self.index.add_tag(tag, slot);
        }
    }

    pub fn remove_tag(&mut self, slot: u32, tag: &str) -> bool {
        let Some(id) = self.tag_names.get(tag) else {
            return false;
        };
        let tags = &mut self.record_mut(slot).tags;
        match position(tags, id) {
            Ok(i) => {
                removed(tags, i);
                self.index.remove_tag(tag, slot);
                true
            }
            Err(_) => false,
        }
    }

    /// The first and last time of the live profile in `slot`'s events named `event`.
    pub fn occurrence_span(&self, slot: u32, event: u32) -> Option<Span> {
        first_and_last(&self.record(slot)?.events(), event)
    }

    /// Records a consent decision unless a newer one is held.
    pub fn set_consent(&mut self, slot: u32, channel: &str, decision: Consent) {
        let id = self.channels.intern(channel);
        let consent = &mut self.record_mut(slot).consent;
        match position(consent, id) {
            Ok(i) if consent[i].1.at > decision.at => return,
            Ok(i) => consent[i].1 = decision,
            Err(i) => inserted(consent, i, (id, decision)),
        }
        self.index.set_consent(channel, slot, decision.granted);
    }

    pub fn insert_event(&mut self, slot: u32, event: &Event) {
        let name = self.event_names.intern(&event.name);
        let mut props: Vec<(u32, PropValue)> = event
            .properties
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::Number(x) => PropValue::Number(*x),
                    Value::String(s) => PropValue::String(self.prop_strings.intern(s)),
                    other => unreachable!(
                        "the audience admits string and number properties, not {other:?}"
                    ),
                };
                (self.keys.intern(k), value)
            })
            .collect();
        props.sort_by_key(|(k, _)| *k);
        self.insert_resolved(slot, name, event.at, &props);
    }

    /// Records an event whose name and properties are interned: `props` sorted by key id,
    /// each key once.
    pub fn insert_resolved(
        &mut self,
        slot: u32,
        name: u32,
        at_time: Timestamp,
        props: &[(u32, PropValue)],
    ) {
        let before = self.occurrence_span(slot, name);
        let at = at_time.as_nanosecond();
        let new = before.map_or((at, at), |(first, last)| (first.min(at), last.max(at)));
        self.index.set_occurrence(name, slot, before, Some(new));
        let (numbers, strings) = split_props(props.iter().copied());
        self.index
            .add_event(name, at_time, slot, &numbers, &strings);
        let log = self.record_mut(slot).log.get_or_insert_with(Box::default);
        let stored = StoredEvent::new(name, at_time, log.props.len(), props.len());
        for &(key, value) in props {
            push_compact(&mut log.props, StoredProp::new(key, value));
        }
        let pushed = log.push(stored);
        let logged = log.events.len();
        self.logged += 1;
        // Running aggregates add in time order. An event at or after the last one of its name
        // is added; an earlier one means adding the profile's values again, in order: at once
        // for a short log, and for a long one when a merge next rewrites most of it (until
        // then the matcher asks the reference about the profile), so that a long history
        // arriving out of order costs O(n log n), not O(n²).
        let late = before.is_some_and(|(_, last)| at < last);
        for &(key, x) in &numbers {
            let mut running = self.index.running(name, key, slot);
            running.add(x);
            self.index.set_running(name, key, slot, running);
            if late {
                self.index.mark_stale(name, key, slot);
            }
        }
        if (late && logged <= REFRESH_AT_ONCE) || pushed == Pushed::MergedMost {
            self.refresh_totals(slot);
        }
    }

    /// Recomputes `slot`'s stale running aggregates from its events, in time order.
    fn refresh_totals(&mut self, slot: u32) {
        let stale = self.index.stale_totals(slot);
        if stale.is_empty() {
            return;
        }
        let record = self.record(slot).expect("a live slot");
        let fresh: Vec<(u32, u32, crate::index::Running)> = stale
            .into_iter()
            .map(|(name, key)| {
                let mut running = crate::index::Running::EMPTY;
                for e in record.events().filter(|e| e.name == name) {
                    if let Some(PropValue::Number(x)) = record.property(e, key) {
                        running.add(x);
                    }
                }
                (name, key, running)
            })
            .collect();
        for (name, key, running) in fresh {
            self.index.refresh_running(name, key, slot, running);
        }
    }

    pub fn erase(&mut self, id: &str) -> bool {
        let Some(slot) = self.ids.remove(&self.records, id) else {
            return false;
        };
        let position = self.position(slot);
        self.index.set_position(slot, position, None);
        self.index.forget_totals(slot);
        let record = self.records[slot as usize]
            .take()
            .expect("a slot from the id map is live");
        let record = RecordRef::new(&record, &self.sealed, slot);
        for (name, old) in self.columns.take_all(slot) {
            self.index.set_attribute(name, slot, Some(&old), None);
        }
        for (tag, _) in record.tags.iter() {
            self.index.remove_tag(self.tag_names.name(*tag), slot);
        }
        for (channel, _) in record.consent.iter() {
            self.index
                .set_consent(self.channels.name(*channel), slot, false);
        }
        let mut names: Vec<u32> = record.events().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let old = first_and_last(&record.events(), name);
            self.index.set_occurrence(name, slot, old, None);
        }
        for event in record.events() {
            let (_, strings) = split_props(record.properties_of(event));
            self.index
                .remove_event(event.name, event.at(), slot, &strings);
        }
        self.index.live.remove(slot);
        self.live -= 1;
        true
    }

    /// `slot`'s events in time order, borrowed from the store: name, time, and properties
    /// sorted by key name (the stored order follows interning, which depends on history).
    /// What an image writes, without an allocation per name and string value.
    pub fn events_of(&self, slot: u32) -> Vec<EventRef<'_>> {
        let Some(record) = self.record(slot) else {
            return Vec::new();
        };
        record
            .events()
            .map(|e| {
                let mut properties: Vec<(&str, PropRef<'_>)> = record
                    .properties_of(e)
                    .map(|(k, v)| {
                        let value = match v {
                            PropValue::Number(x) => PropRef::Number(x),
                            PropValue::String(id) => PropRef::String(self.prop_strings.name(id)),
                        };
                        (self.keys.name(k), value)
                    })
                    .collect();
                properties.sort_by(|a, b| a.0.cmp(b.0));
                (self.event_names.name(e.name), e.at(), properties)
            })
            .collect()
    }

    pub fn snapshot(&self, slot: u32) -> Option<Profile> {
        let mut profile = self.snapshot_without_events(slot)?;
        profile.events = self
            .events_of(slot)
            .into_iter()
            .map(|(name, at, properties)| Event {
                name: name.to_owned(),
                at,
                properties: properties
                    .into_iter()
                    .map(|(key, value)| (key.to_owned(), value.to_value()))
                    .collect(),
            })
            .collect();
        Some(profile)
    }

    /// [`Store::snapshot`] with no events.
    pub fn snapshot_without_events(&self, slot: u32) -> Option<Profile> {
        let record = self.record(slot)?;
        let attributes = self
            .columns
            .all(slot)
            .map(|(name, v)| (name.to_owned(), v.to_value()))
            .collect();
        Some(Profile {
            id: record.id.to_string(),
            slot,
            attributes,
            tags: record
                .tags
                .iter()
                .map(|(t, at)| (self.tag_names.name(*t).to_owned(), *at))
                .collect(),
            events: Vec::new(),
            consent: record
                .consent
                .iter()
                .map(|(c, d)| (self.channels.name(*c).to_owned(), *d))
                .collect(),
        })
    }
}
