//! A live profile as readers see it: its record, and its events — those sealed by bulk loads
//! (one run in the store-wide arena) followed by those logged since (its own runs).

use std::ops::Deref;

use super::log::Runs;
use super::sealed::Sealed;
use super::{PropValue, Record, StoredEvent, StoredProp, TimeOrder};

/// One live profile's record and sealed events. Dereferences to the [`Record`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'a> {
    record: &'a Record,
    sealed: &'a Sealed,
    slot: u32,
}

impl<'a> Deref for RecordRef<'a> {
    type Target = Record;

    fn deref(&self) -> &Record {
        self.record
    }
}

impl<'a> RecordRef<'a> {
    pub(super) fn new(record: &'a Record, sealed: &'a Sealed, slot: u32) -> RecordRef<'a> {
        RecordRef {
            record,
            sealed,
            slot,
        }
    }

    /// `record` alone, with no sealed events (a profile that has none).
    pub fn without_sealed(record: &'a Record) -> RecordRef<'a> {
        RecordRef::new(record, &super::sealed::NONE_SEALED, u32::MAX)
    }

    /// The profile's id, for as long as the store is borrowed.
    pub fn id(&self) -> &'a str {
        &self.record.id
    }

    /// The events in time order; events with equal times keep their arrival order (sealed
    /// events arrived before logged ones, so their run comes first).
    pub fn events(&self) -> TimeOrder<'a> {
        let mut runs = Runs::new();
        runs.push(self.sealed.events_of(self.slot));
        if let Some(log) = &self.record.log {
            runs.extend(log.runs());
        }
        TimeOrder::new(runs)
    }

    /// Property `key` of `event`, one of this profile's events.
    pub fn property(&self, event: &StoredEvent, key: u32) -> Option<PropValue> {
        let props = self.props_of(event);
        let i = props.binary_search_by_key(&key, |p| p.key).ok()?;
        Some(props[i].value())
    }

    /// An event's properties, sorted by key id.
    pub fn properties_of(
        &self,
        event: &StoredEvent,
    ) -> impl Iterator<Item = (u32, PropValue)> + 'a {
        self.props_of(event).iter().map(|p| (p.key, p.value()))
    }

    /// The properties of `event`, from the arena that holds it.
    fn props_of(&self, event: &StoredEvent) -> &'a [StoredProp] {
        let props: &'a [StoredProp] = if self.sealed.holds(self.slot, event) {
            self.sealed.props_of(self.slot)
        } else {
            self.record
                .log
                .as_ref()
                .map_or(&[][..], |log| log.props.as_slice())
        };
        event.props_in(props)
    }
}
