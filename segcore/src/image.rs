//! An audience as bytes, and back: for pickling into worker processes (Dask) and for saving.
//!
//! The image holds what the audience means, not how it is stored: the time zone, the schema,
//! the live profiles in slot order, the segment definitions and the decisions. Loading replays
//! it through the same checked writes a caller would make, so indexes are rebuilt, and a
//! damaged or hostile image gets a typed error — never a panic and never a half-built audience.
//! Live membership is not in it: it is derived, and restarted with `start_live`.
//!
//! Layout: 8 bytes naming the version, a little-endian CRC-32 of the rest, then a postcard
//! body. `SEGCORE2` (written now): the version-1 body followed by the decisions, each as its
//! name and JSON form. `SEGCORE1` (still read; `testdata/images/v1-small.bin` is one): the
//! body without decisions.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::language::Predicate;
use crate::profile::Event;
use crate::value::{AttrType, Value};
use crate::Audience;

/// The version written.
const MAGIC: &[u8; 8] = b"SEGCORE2";
/// The oldest version still read: no decisions.
const MAGIC_V1: &[u8; 8] = b"SEGCORE1";

#[derive(Serialize, Deserialize)]
struct Image {
    time_zone: String,
    attributes: Vec<(String, AttrType)>,
    events: Vec<(String, Vec<(String, AttrType)>)>,
    tag_namespaces: Vec<String>,
    channels: Vec<String>,
    profiles: Vec<ProfileImage>,
    /// Definitions as canonical text: read back through the parser, whose nesting limit keeps
    /// a hostile image from exhausting the stack.
    segments: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct ProfileImage {
    id: String,
    attributes: Vec<(String, ValueImage)>,
    tags: Vec<(String, Instant)>,
    events: Vec<EventImage>,
    consent: Vec<(String, bool, Instant)>,
}

/// An event: name, instant, properties.
type EventImage = (String, Instant, Vec<(String, ValueImage)>);

/// An instant as seconds and nanoseconds, exact and compact.
#[derive(Serialize, Deserialize, Clone, Copy)]
struct Instant(i64, i32);

impl From<Timestamp> for Instant {
    fn from(t: Timestamp) -> Self {
        Instant(t.as_second(), t.subsec_nanosecond())
    }
}

impl TryFrom<Instant> for Timestamp {
    type Error = Error;
    fn try_from(i: Instant) -> Result<Timestamp> {
        Timestamp::new(i.0, i.1).map_err(|e| corrupt(format!("an instant out of range: {e}")))
    }
}

#[derive(Serialize, Deserialize)]
enum ValueImage {
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
    type Error = Error;
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

fn corrupt(why: impl Into<String>) -> Error {
    Error::Corrupt(why.into())
}

fn values(pairs: Vec<(String, ValueImage)>) -> Result<Vec<(String, Value)>> {
    pairs
        .into_iter()
        .map(|(k, v)| Ok((k, v.try_into()?)))
        .collect()
}

impl Audience {
    /// The audience as bytes: time zone, schema, live profiles, segments and decisions. Read
    /// it back with [`Audience::from_bytes`]; slots are renumbered densely, in the same order.
    ///
    /// ```
    /// use segcore::Audience;
    /// let mut a = Audience::new();
    /// a.upsert("ada", [("country", "SE".into())])?;
    /// let copy = Audience::from_bytes(&a.to_bytes())?;
    /// assert_eq!(copy.profile("ada"), a.profile("ada"));
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let schema = self.schema();
        let image = Image {
            time_zone: self.time_zone().to_owned(),
            attributes: schema
                .attributes()
                .map(|(k, t)| (k.to_owned(), t))
                .collect(),
            events: schema
                .events()
                .map(|e| {
                    let props = schema
                        .event_properties(e)
                        .map(|(k, t)| (k.to_owned(), t))
                        .collect();
                    (e.to_owned(), props)
                })
                .collect(),
            tag_namespaces: schema.tag_namespaces().map(str::to_owned).collect(),
            channels: schema.channels().map(str::to_owned).collect(),
            profiles: self
                .store
                .live_slots()
                .filter_map(|slot| self.store.snapshot(slot))
                .map(|p| ProfileImage {
                    id: p.id,
                    attributes: p
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), v.into()))
                        .collect(),
                    tags: p.tags.into_iter().map(|(t, at)| (t, at.into())).collect(),
                    events: p
                        .events
                        .into_iter()
                        .map(|e| {
                            let props = e
                                .properties
                                .iter()
                                .map(|(k, v)| (k.clone(), v.into()))
                                .collect();
                            (e.name, e.at.into(), props)
                        })
                        .collect(),
                    consent: p
                        .consent
                        .into_iter()
                        .map(|(c, d)| (c, d.granted, d.at.into()))
                        .collect(),
                })
                .collect(),
            segments: self
                .catalog()
                .iter()
                .map(|(n, p)| (n.to_owned(), p.to_string()))
                .collect(),
        };
        let decisions: Vec<(String, String)> = self
            .decision_names()
            .filter_map(|n| Some((n.to_owned(), self.decision(n)?.to_json())))
            .collect();
        let body = postcard::to_allocvec(&(&image, &decisions))
            .expect("an in-memory image always serializes");
        let mut out = Vec::with_capacity(body.len() + 12);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// An audience from [`Audience::to_bytes`]. Damaged, truncated or foreign bytes give
    /// [`Error::Corrupt`]; an image whose content breaks the schema's rules gives the error
    /// the offending write would.
    pub fn from_bytes(bytes: &[u8]) -> Result<Audience> {
        let (rest, version) = match (
            bytes.strip_prefix(MAGIC.as_slice()),
            bytes.strip_prefix(MAGIC_V1.as_slice()),
        ) {
            (Some(rest), _) => (rest, 2),
            (None, Some(rest)) => (rest, 1),
            (None, None) => return Err(corrupt("not a segcore audience image (wrong header)")),
        };
        if rest.len() < 4 {
            return Err(corrupt("the image is truncated"));
        }
        let (crc, body) = rest.split_at(4);
        let expected = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(body) != expected {
            return Err(corrupt("the image's checksum does not match its content"));
        }
        let unreadable = |e: postcard::Error| corrupt(format!("unreadable image: {e}"));
        let (image, decisions): (Image, Vec<(String, String)>) = if version == 1 {
            (postcard::from_bytes(body).map_err(unreadable)?, Vec::new())
        } else {
            postcard::from_bytes(body).map_err(unreadable)?
        };
        let mut audience = Audience::with_time_zone(&image.time_zone)?;
        for (name, ty) in &image.attributes {
            audience.declare_attribute(name, *ty)?;
        }
        for (event, props) in &image.events {
            audience.declare_event(event)?;
            for (key, ty) in props {
                audience.declare_event_property(event, key, *ty)?;
            }
        }
        for ns in &image.tag_namespaces {
            audience.declare_tag_namespace(ns)?;
        }
        for channel in &image.channels {
            audience.declare_channel(channel)?;
        }
        for p in image.profiles {
            if audience.slot(&p.id).is_some() {
                return Err(corrupt(format!("profile `{}` appears twice", p.id)));
            }
            audience.upsert(&p.id, values(p.attributes)?)?;
            for (tag, at) in p.tags {
                audience.tag(&p.id, &tag, at.try_into()?)?;
            }
            for (name, at, props) in p.events {
                let mut event = Event::new(name, at.try_into()?);
                event.properties = values(props)?;
                audience.track(&p.id, event)?;
            }
            for (channel, granted, at) in p.consent {
                audience.set_consent(&p.id, &channel, granted, at.try_into()?)?;
            }
        }
        for (name, predicate) in in_dependency_order(image.segments)? {
            audience.define_segment(&name, predicate)?;
        }
        for (name, json) in decisions {
            if audience.decision(&name).is_some() {
                return Err(corrupt(format!("decision `{name}` appears twice")));
            }
            audience.define_decision(&name, crate::decide::Decision::from_json(&json)?)?;
        }
        Ok(audience)
    }
}

/// Segment definitions ordered so that each comes after the segments it refers to (a
/// topological sort, linear in the definitions' size). References to segments the image
/// does not hold are left for `define_segment` to refuse by name; a cycle is corruption.
fn in_dependency_order(segments: Vec<(String, String)>) -> Result<Vec<(String, Predicate)>> {
    let parsed = segments
        .into_iter()
        .map(|(name, text)| Ok((name, Predicate::parse(&text)?)))
        .collect::<Result<Vec<_>>>()?;
    let index: HashMap<&str, usize> = parsed
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.as_str(), i))
        .collect();
    if index.len() != parsed.len() {
        return Err(corrupt("a segment is defined twice"));
    }
    // For each definition, how many image segments it waits for; for each, who waits on it.
    let mut waiting = vec![0usize; parsed.len()];
    let mut waiters: Vec<Vec<usize>> = vec![Vec::new(); parsed.len()];
    for (i, (_, predicate)) in parsed.iter().enumerate() {
        let refs: HashSet<&str> = predicate.segment_references().into_iter().collect();
        for r in refs {
            if let Some(&j) = index.get(r) {
                waiting[i] += 1;
                waiters[j].push(i);
            }
        }
    }
    let mut ready: Vec<usize> = (0..parsed.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(parsed.len());
    while let Some(i) = ready.pop() {
        order.push(i);
        for &w in &waiters[i] {
            waiting[w] -= 1;
            if waiting[w] == 0 {
                ready.push(w);
            }
        }
    }
    if order.len() != parsed.len() {
        let mut stuck: Vec<&str> = (0..parsed.len())
            .filter(|&i| waiting[i] > 0)
            .map(|i| parsed[i].0.as_str())
            .collect();
        stuck.sort_unstable();
        return Err(corrupt(format!(
            "segments refer to each other in a cycle: {}",
            stuck.join(", ")
        )));
    }
    let mut slots: Vec<Option<(String, Predicate)>> = parsed.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}
