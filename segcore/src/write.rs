//! One write to an audience as a value: what [`Audience::apply`](crate::Audience::apply)
//! takes, so a write can be stored, sent or replayed.

use jiff::Timestamp;

use crate::profile::Event;
use crate::value::Value;

/// A single write, the same as the method of the same name on [`Audience`](crate::Audience).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Write {
    /// [`Audience::upsert`](crate::Audience::upsert).
    Upsert {
        /// The profile's id.
        id: String,
        /// Attribute values to set.
        attributes: Vec<(String, Value)>,
    },
    /// [`Audience::unset`](crate::Audience::unset).
    Unset {
        /// The profile's id.
        id: String,
        /// The attribute to remove.
        attribute: String,
    },
    /// [`Audience::tag`](crate::Audience::tag).
    Tag {
        /// The profile's id.
        id: String,
        /// The tag.
        tag: String,
        /// When it was added.
        at: Timestamp,
    },
    /// [`Audience::untag`](crate::Audience::untag).
    Untag {
        /// The profile's id.
        id: String,
        /// The tag.
        tag: String,
    },
    /// [`Audience::track`](crate::Audience::track).
    Track {
        /// The profile's id.
        id: String,
        /// The event.
        event: Event,
    },
    /// [`Audience::set_consent`](crate::Audience::set_consent).
    Consent {
        /// The profile's id.
        id: String,
        /// The channel.
        channel: String,
        /// Granted or withdrawn.
        granted: bool,
        /// When the decision was made.
        at: Timestamp,
    },
    /// [`Audience::erase`](crate::Audience::erase).
    Erase {
        /// The profile's id.
        id: String,
    },
}
