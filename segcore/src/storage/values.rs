//! Values, instants and events as they are written to files: a closed set of serde types kept
//! apart from the in-memory ones, so that changing a type in memory cannot silently change the
//! bytes on disk. Shared by images (`image.rs`) and journal records (`record.rs`).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::profile::Event;
use crate::storage::format::corrupt;
use crate::value::Value;

/// An instant as seconds and nanoseconds, exact and compact.
#[derive(Serialize, Deserialize, Clone, Copy)]
pub(crate) struct Instant(i64, i32);

impl From<Timestamp> for Instant {
    fn from(t: Timestamp) -> Self {
        Instant(t.as_second(), t.subsec_nanosecond())
    }
}

impl TryFrom<Instant> for Timestamp {
    type Error = crate::Error;
    fn try_from(i: Instant) -> Result<Timestamp> {
        Timestamp::new(i.0, i.1).map_err(|e| corrupt(format!("an instant out of range: {e}")))
    }
}

/// A value; the variant order is the wire format's enum index.
#[derive(Serialize, Deserialize)]
pub(crate) enum ValueImage {
    String(String),
    Number(f64),
    Bool(bool),
    Timestamp(Instant),
    List(Vec<String>),
}

impl From<&Value> for ValueImage {
    fn from(v: &Value) -> Self {
        match v {
            Value::String(s) => ValueImage::String(s.clone()),
            Value::Number(x) => ValueImage::Number(*x),
            Value::Bool(b) => ValueImage::Bool(*b),
            Value::Timestamp(t) => ValueImage::Timestamp((*t).into()),
            Value::List(items) => ValueImage::List(items.clone()),
        }
    }
}

impl TryFrom<ValueImage> for Value {
    type Error = crate::Error;
    fn try_from(v: ValueImage) -> Result<Value> {
        Ok(match v {
            ValueImage::String(s) => Value::String(s),
            ValueImage::Number(x) => Value::Number(x),
            ValueImage::Bool(b) => Value::Bool(b),
            ValueImage::Timestamp(t) => Value::Timestamp(t.try_into()?),
            ValueImage::List(items) => Value::List(items),
        })
    }
}

/// Named values, in order.
pub(crate) fn values_to_image<'a, K: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, &'a Value)>,
) -> Vec<(String, ValueImage)> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.as_ref().to_owned(), v.into()))
        .collect()
}

/// Named values read back.
pub(crate) fn values(pairs: Vec<(String, ValueImage)>) -> Result<Vec<(String, Value)>> {
    pairs
        .into_iter()
        .map(|(k, v)| Ok((k, v.try_into()?)))
        .collect()
}

/// An event: name, instant, properties.
pub(crate) type EventImage = (String, Instant, Vec<(String, ValueImage)>);

pub(crate) fn event_to_image(e: &Event) -> EventImage {
    (
        e.name.clone(),
        e.at.into(),
        values_to_image(e.properties.iter().map(|(k, v)| (k, v))),
    )
}

pub(crate) fn event_from_image((name, at, props): EventImage) -> Result<Event> {
    let mut event = Event::new(name, at.try_into()?);
    event.properties = values(props)?;
    Ok(event)
}
