//! One journal record: a write that succeeded, as it is replayed. Records name the public
//! call they stand for and carry its arguments, so replay goes through the same checks as the
//! original call; a record the audience refuses on replay is corruption, since only writes that
//! succeeded are journaled.
//!
//! The variant order is the wire format (postcard writes the index): new kinds go at the end.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::language::Predicate;
use crate::profile::Event;
use crate::storage::values::{
    event_from_image, event_to_image, values, values_to_image, EventImage, Instant, ValueImage,
};
use crate::value::{AttrType, Value};
use crate::Audience;

#[derive(Serialize, Deserialize)]
pub(crate) enum Record {
    Upsert {
        id: String,
        attributes: Vec<(String, ValueImage)>,
    },
    UpsertTagged {
        id: String,
        attributes: Vec<(String, ValueImage)>,
        tags: Vec<String>,
        at: Instant,
    },
    Unset {
        id: String,
        attribute: String,
    },
    Tag {
        id: String,
        tag: String,
        at: Instant,
    },
    Untag {
        id: String,
        tag: String,
    },
    Track {
        id: String,
        event: EventImage,
    },
    Consent {
        id: String,
        channel: String,
        granted: bool,
        at: Instant,
    },
    Erase {
        id: String,
    },
    DeclareAttribute {
        name: String,
        ty: AttrType,
    },
    DeclareEvent {
        name: String,
    },
    DeclareEventProperty {
        event: String,
        key: String,
        ty: AttrType,
    },
    DeclareTagNamespace {
        namespace: String,
    },
    DeclareChannel {
        channel: String,
    },
    TimeZone {
        name: String,
    },
    /// The definition in canonical text, re-parsed on replay.
    DefineSegment {
        name: String,
        text: String,
    },
    RemoveSegment {
        name: String,
    },
    /// The decision's JSON form.
    DefineDecision {
        name: String,
        json: String,
    },
    RemoveDecision {
        name: String,
    },
    /// Closes a batch: the records before it since the last standalone record are applied on
    /// replay only if this one is present.
    EndBatch,
    /// Not a write: the journal's first `upto` bytes were on disk (fsynced) when the frames
    /// after this one were written. It tells a damaged acknowledged frame (before a later
    /// marker's `upto`: corruption) from a torn, never-acknowledged tail (past every marker).
    /// It may stand between the records of a batch.
    Synced {
        upto: u64,
    },
}

impl Record {
    pub(crate) fn upsert<K: AsRef<str>>(id: &str, attributes: &[(K, Value)]) -> Record {
        Record::Upsert {
            id: id.to_owned(),
            attributes: named(attributes),
        }
    }

    pub(crate) fn upsert_tagged<K: AsRef<str>>(
        id: &str,
        attributes: &[(K, Value)],
        tags: &[String],
        at: jiff::Timestamp,
    ) -> Record {
        Record::UpsertTagged {
            id: id.to_owned(),
            attributes: named(attributes),
            tags: tags.to_vec(),
            at: at.into(),
        }
    }

    pub(crate) fn track(id: &str, event: &Event) -> Record {
        Record::Track {
            id: id.to_owned(),
            event: event_to_image(event),
        }
    }

    /// The record's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a record always serializes")
    }

    /// Applies the record to an audience that is not journaling.
    pub(crate) fn replay(self, a: &mut Audience) -> Result<()> {
        match self {
            Record::Upsert { id, attributes } => a.upsert(&id, values(attributes)?).map(drop),
            Record::UpsertTagged {
                id,
                attributes,
                tags,
                at,
            } => a
                .upsert_tagged(&id, values(attributes)?, &tags, at.try_into()?)
                .map(drop),
            Record::Unset { id, attribute } => a.unset(&id, &attribute).map(drop),
            Record::Tag { id, tag, at } => a.tag(&id, &tag, at.try_into()?),
            Record::Untag { id, tag } => a.untag(&id, &tag).map(drop),
            Record::Track { id, event } => a.track(&id, event_from_image(event)?),
            Record::Consent {
                id,
                channel,
                granted,
                at,
            } => a.set_consent(&id, &channel, granted, at.try_into()?),
            Record::Erase { id } => a.erase(&id).map(drop),
            Record::DeclareAttribute { name, ty } => a.declare_attribute(&name, ty),
            Record::DeclareEvent { name } => a.declare_event(&name),
            Record::DeclareEventProperty { event, key, ty } => {
                a.declare_event_property(&event, &key, ty)
            }
            Record::DeclareTagNamespace { namespace } => a.declare_tag_namespace(&namespace),
            Record::DeclareChannel { channel } => a.declare_channel(&channel),
            Record::TimeZone { name } => a.set_time_zone(&name),
            Record::DefineSegment { name, text } => {
                a.define_segment(&name, Predicate::parse(&text)?)
            }
            Record::RemoveSegment { name } => a.remove_segment(&name).map(drop),
            Record::DefineDecision { name, json } => {
                a.define_decision(&name, crate::decide::Decision::from_json(&json)?)
            }
            Record::RemoveDecision { name } => a.remove_decision(&name).map(drop),
            Record::EndBatch | Record::Synced { .. } => Ok(()),
        }
    }
}

fn named<K: AsRef<str>>(attributes: &[(K, Value)]) -> Vec<(String, ValueImage)> {
    values_to_image(attributes.iter().map(|(k, v)| (k.as_ref(), v)))
}
