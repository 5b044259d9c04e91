//! What a caller writes into an audience and reads back: events, consent, a profile snapshot.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::value::Value;

/// Something a profile did at a time, with properties (strings or numbers).
///
/// ```
/// use segcore::Event;
/// let e = Event::new("purchase", "2024-05-01T10:00:00Z".parse().unwrap())
///     .value("amount", 49.5)
///     .property("category", "shoes");
/// assert_eq!(e.properties.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's name, e.g. `purchase`.
    pub name: String,
    /// When it happened. Events may arrive in any order.
    pub at: Timestamp,
    /// Properties and numeric values, by key (a key appears once); read back from an audience,
    /// sorted by key.
    pub properties: Vec<(String, Value)>,
}

impl Event {
    /// An event with no properties.
    pub fn new(name: impl Into<String>, at: Timestamp) -> Event {
        Event {
            name: name.into(),
            at,
            properties: Vec::new(),
        }
    }

    /// Adds a numeric value, such as `amount`.
    pub fn value(self, key: impl Into<String>, value: f64) -> Event {
        self.property(key, Value::Number(value))
    }

    /// Adds a property (a string or a number).
    pub fn property(mut self, key: impl Into<String>, value: impl Into<Value>) -> Event {
        self.properties.push((key.into(), value.into()));
        self
    }
}

/// The latest consent decision on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consent {
    /// Whether the profile may be contacted on the channel.
    pub granted: bool,
    /// When the decision was made.
    pub at: Timestamp,
}

/// A snapshot of one profile, as read back from an audience.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The external id.
    pub id: String,
    /// The dense internal slot.
    pub slot: u32,
    /// Attribute values by name.
    pub attributes: BTreeMap<String, Value>,
    /// Tags with the time each was added.
    pub tags: BTreeMap<String, Timestamp>,
    /// Events in time order.
    pub events: Vec<Event>,
    /// Consent by channel.
    pub consent: BTreeMap<String, Consent>,
}
