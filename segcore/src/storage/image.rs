//! An audience as bytes, and back: for pickling into worker processes (Dask), for `save`, and
//! as the snapshot of a durable directory.
//!
//! The image holds what the audience means, not how it is stored: the time zone, the schema,
//! the live profiles in slot order, the segment definitions and the decisions. Loading replays
//! it through the same checked writes a caller would make, so indexes are rebuilt, and a
//! damaged or hostile image gets a typed error — never a panic and never a half-built audience.
//! Live membership is not in it: it is derived, and restarted with `start_live`.
//!
//! Version 3 (written now) is the sectioned container of `format.rs` with one section per part
//! (`docs/format.md`). Versions 1 and 2 (an 8-byte label, a CRC-32, one postcard body) are
//! still read; `testdata/images/` holds one of each.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ingest::EventRows;
use crate::language::Predicate;
use crate::storage::format::{self, corrupt, Kind};
use crate::storage::values::{
    event_from_image, values, values_to_image, EventImage, Instant, ValueImage,
};
use crate::store::{PropRef, Store};
use crate::value::AttrType;
use crate::Audience;

/// The label of version 2: version 1's body followed by the decisions.
const MAGIC_V2: &[u8; 8] = b"SEGCORE2";
/// The label of version 1: no decisions.
const MAGIC_V1: &[u8; 8] = b"SEGCORE1";

/// Section tags of version 3, in the order they are written.
const ZONE: &[u8; 4] = b"ZONE";
const SCHEMA: &[u8; 4] = b"SCHM";
const PROFILES: &[u8; 4] = b"PROF";
const SEGMENTS: &[u8; 4] = b"SEGS";
const DECISIONS: &[u8; 4] = b"DECS";
/// Only in a durable directory's snapshot: which journal generation follows it.
const GENERATION: &[u8; 4] = b"GENR";

/// The schema: declared attribute types, events with their property types, tag namespaces
/// and channels.
/// Also what shards exchange (`Audience::schema_json`).
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct SchemaImage {
    pub(crate) attributes: Vec<(String, AttrType)>,
    pub(crate) events: Vec<(String, Vec<(String, AttrType)>)>,
    pub(crate) tag_namespaces: Vec<String>,
    pub(crate) channels: Vec<String>,
}

impl SchemaImage {
    /// The declarations of `schema`.
    pub(crate) fn of(schema: &crate::Schema) -> SchemaImage {
        SchemaImage {
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
        }
    }

    /// Declares all of it on `audience` (through the public, journaled declarations).
    pub(crate) fn declare_into(&self, audience: &mut Audience) -> Result<()> {
        for (name, ty) in &self.attributes {
            audience.declare_attribute(name, *ty)?;
        }
        for (event, props) in &self.events {
            audience.declare_event(event)?;
            for (key, ty) in props {
                audience.declare_event_property(event, key, *ty)?;
            }
        }
        for ns in &self.tag_namespaces {
            audience.declare_tag_namespace(ns)?;
        }
        for channel in &self.channels {
            audience.declare_channel(channel)?;
        }
        Ok(())
    }
}

/// The one body of versions 1 and 2.
#[derive(Deserialize)]
struct LegacyImage {
    time_zone: String,
    attributes: Vec<(String, AttrType)>,
    events: Vec<(String, Vec<(String, AttrType)>)>,
    tag_namespaces: Vec<String>,
    channels: Vec<String>,
    profiles: Vec<ProfileImage>,
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

/// The live profiles of `slots` as they are written: one [`ProfileOut`] at a time, made as it
/// is serialized, so an image never holds a second copy of every profile's events.
struct ProfilesOut<'a> {
    store: &'a Store,
    slots: Vec<u32>,
}

/// [`ProfileImage`] as it is written: events borrowed from the store (an owned string per
/// event name, key and value made writing 10M events take ~9 s). Serializes to the same bytes:
/// postcard writes a `&str` as a `String` and an enum by its variant index.
#[derive(Serialize)]
struct ProfileOut<'a> {
    id: String,
    attributes: Vec<(String, ValueImage)>,
    tags: Vec<(String, Instant)>,
    events: Vec<EventOut<'a>>,
    consent: Vec<(String, bool, Instant)>,
}

/// [`EventImage`] as it is written.
type EventOut<'a> = (&'a str, Instant, Vec<(&'a str, PropOut<'a>)>);

/// The variants of [`ValueImage`] an event property takes, in its order (the wire format).
#[derive(Serialize)]
enum PropOut<'a> {
    String(&'a str),
    Number(f64),
}

impl Serialize for ProfilesOut<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.slots.len()))?;
        for &slot in &self.slots {
            let p = self
                .store
                .snapshot_without_events(slot)
                .expect("the slots are live");
            let events = self
                .store
                .events_of(slot)
                .into_iter()
                .map(|(name, at, properties)| {
                    let properties = properties
                        .into_iter()
                        .map(|(key, value)| {
                            let value = match value {
                                PropRef::Number(x) => PropOut::Number(x),
                                PropRef::String(s) => PropOut::String(s),
                            };
                            (key, value)
                        })
                        .collect();
                    (name, Instant::from(at), properties)
                })
                .collect();
            seq.serialize_element(&ProfileOut {
                id: p.id,
                attributes: values_to_image(&p.attributes),
                tags: p.tags.into_iter().map(|(t, at)| (t, at.into())).collect(),
                events,
                consent: p
                    .consent
                    .into_iter()
                    .map(|(c, d)| (c, d.granted, d.at.into()))
                    .collect(),
            })?;
        }
        seq.end()
    }
}

/// Everything an image holds, whichever version it came from.
struct Contents {
    time_zone: String,
    schema: SchemaImage,
    profiles: Vec<ProfileImage>,
    /// Definitions as canonical text: read back through the parser, whose nesting limit keeps
    /// a hostile image from exhausting the stack.
    segments: Vec<(String, String)>,
    /// Name and JSON form.
    decisions: Vec<(String, String)>,
    generation: Option<u64>,
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
        self.image_bytes(None)
    }

    /// The image, with the journal generation that follows it when it is a snapshot.
    pub(crate) fn image_bytes(&self, generation: Option<u64>) -> Vec<u8> {
        self.image_of(generation, |_| true)
    }

    /// The image holding only the profiles `keep` accepts (everything else whole): what
    /// [`Audience::split`](crate::Audience::split) loads as each shard.
    pub(crate) fn image_of(&self, generation: Option<u64>, keep: impl Fn(&str) -> bool) -> Vec<u8> {
        let schema = SchemaImage::of(self.schema());
        let profiles = ProfilesOut {
            store: &self.store,
            slots: self
                .store
                .live_slots()
                .filter(|&slot| self.store.record(slot).is_some_and(|r| keep(r.id.as_str())))
                .collect(),
        };
        let segments: Vec<(String, String)> = self
            .catalog()
            .iter()
            .map(|(n, p)| (n.to_owned(), p.to_string()))
            .collect();
        let decisions: Vec<(String, String)> = self
            .decision_names()
            .filter_map(|n| Some((n.to_owned(), self.decision(n)?.to_json())))
            .collect();

        let mut parts: Vec<(&[u8; 4], Vec<u8>)> = vec![
            (ZONE, encode(self.time_zone())),
            (SCHEMA, encode(&schema)),
            (PROFILES, encode(&profiles)),
            (SEGMENTS, encode(&segments)),
            (DECISIONS, encode(&decisions)),
        ];
        if let Some(g) = generation {
            parts.push((GENERATION, encode(&g)));
        }
        let size: usize = parts.iter().map(|(_, p)| p.len() + 16).sum();
        let mut out = Vec::with_capacity(format::HEADER_LEN + size);
        out.extend_from_slice(&format::header(Kind::Image, parts.len() as u32));
        for (tag, payload) in &parts {
            format::push_section(&mut out, tag, payload);
        }
        out
    }

    /// An audience from [`Audience::to_bytes`] (any version since 1). Damaged, truncated or
    /// foreign bytes give [`Error::Corrupt`](crate::Error::Corrupt), a version this code
    /// cannot read [`Error::Version`](crate::Error::Version); an image whose content breaks
    /// the schema's rules gives the error the offending write would.
    pub fn from_bytes(bytes: &[u8]) -> Result<Audience> {
        Ok(read_image(bytes)?.0)
    }
}

/// An audience from an image, and the journal generation that follows it (snapshots only).
pub(crate) fn read_image(bytes: &[u8]) -> Result<(Audience, Option<u64>)> {
    let contents = if let Some(rest) = bytes.strip_prefix(MAGIC_V2.as_slice()) {
        legacy(rest, 2)?
    } else if let Some(rest) = bytes.strip_prefix(MAGIC_V1.as_slice()) {
        legacy(rest, 1)?
    } else {
        sectioned(bytes)?
    };
    let generation = contents.generation;
    Ok((build(contents)?, generation))
}

fn unreadable(what: &str) -> impl Fn(postcard::Error) -> crate::Error + '_ {
    move |e| corrupt(format!("unreadable {what}: {e}"))
}

/// Versions 1 and 2: a CRC-32 and one postcard body.
fn legacy(rest: &[u8], version: u8) -> Result<Contents> {
    if rest.len() < 4 {
        return Err(corrupt("the image is truncated"));
    }
    let (crc, body) = rest.split_at(4);
    let expected = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != expected {
        return Err(corrupt("the image's checksum does not match its content"));
    }
    let (image, decisions): (LegacyImage, Vec<(String, String)>) = if version == 1 {
        (
            postcard::from_bytes(body).map_err(unreadable("image"))?,
            Vec::new(),
        )
    } else {
        postcard::from_bytes(body).map_err(unreadable("image"))?
    };
    Ok(Contents {
        time_zone: image.time_zone,
        schema: SchemaImage {
            attributes: image.attributes,
            events: image.events,
            tag_namespaces: image.tag_namespaces,
            channels: image.channels,
        },
        profiles: image.profiles,
        segments: image.segments,
        decisions,
        generation: None,
    })
}

/// Version 3: the sectioned container. Unknown sections are skipped (a writer that adds one
/// old readers must not ignore raises the file's oldest readable version instead).
fn sectioned(bytes: &[u8]) -> Result<Contents> {
    let (count, rest) = format::read_header(Kind::Image, bytes)?;
    let sections = format::read_sections(count, rest)?;
    let find = |tag: &[u8; 4]| -> Result<Option<&[u8]>> {
        let mut found = sections.iter().filter(|(t, _)| t == tag).map(|(_, p)| *p);
        let first = found.next();
        if found.next().is_some() {
            return Err(corrupt(format!(
                "section {} appears twice",
                format::tag_name(tag)
            )));
        }
        Ok(first)
    };
    let required = |tag: &[u8; 4]| -> Result<&[u8]> {
        find(tag)?.ok_or_else(|| {
            corrupt(format!(
                "the image has no {} section",
                format::tag_name(tag)
            ))
        })
    };
    fn decode<'a, T: Deserialize<'a>>(payload: &'a [u8], tag: &[u8; 4]) -> Result<T> {
        postcard::from_bytes(payload)
            .map_err(|e| corrupt(format!("unreadable {} section: {e}", format::tag_name(tag))))
    }
    Ok(Contents {
        time_zone: decode(required(ZONE)?, ZONE)?,
        schema: decode(required(SCHEMA)?, SCHEMA)?,
        profiles: decode(required(PROFILES)?, PROFILES)?,
        segments: decode(required(SEGMENTS)?, SEGMENTS)?,
        decisions: decode(required(DECISIONS)?, DECISIONS)?,
        generation: find(GENERATION)?
            .map(|p| decode(p, GENERATION))
            .transpose()?,
    })
}

/// Replays the contents through the checked writes: the profiles in order (so slots come
/// out as they were), then their events through the bulk load.
fn build(contents: Contents) -> Result<Audience> {
    let mut audience = Audience::with_time_zone(&contents.time_zone)?;
    contents.schema.declare_into(&mut audience)?;
    let mut events = Vec::with_capacity(contents.profiles.len());
    for p in contents.profiles {
        if audience.slot(&p.id).is_some() {
            return Err(corrupt(format!("profile `{}` appears twice", p.id)));
        }
        audience.upsert(&p.id, values(p.attributes)?)?;
        for (tag, at) in p.tags {
            audience.tag(&p.id, &tag, at.try_into()?)?;
        }
        for (channel, granted, at) in p.consent {
            audience.set_consent(&p.id, &channel, granted, at.try_into()?)?;
        }
        if !p.events.is_empty() {
            events.push((p.id, p.events));
        }
    }
    load_events(&mut audience, events)?;
    for (name, predicate) in in_dependency_order(contents.segments)? {
        audience.define_segment(&name, predicate)?;
    }
    for (name, json) in contents.decisions {
        if audience.decision(&name).is_some() {
            return Err(corrupt(format!("decision `{name}` appears twice")));
        }
        audience.define_decision(&name, crate::decide::Decision::from_json(&json)?)?;
    }
    Ok(audience)
}

/// Each profile's events, written through one bulk load (one sort and sequential
/// passes, not a `track` per event: reading 10M events of a snapshot took 6.1 s that way). An
/// event the columns cannot hold as it is goes through `track` on its own, which answers it as
/// before; the first refused event's error is the image's.
fn load_events(audience: &mut Audience, profiles: Vec<(String, Vec<EventImage>)>) -> Result<()> {
    let mut rows = EventRows::default();
    let mut load = audience.event_load();
    for (id, events) in profiles {
        rows.start_profile(id);
        for event in events {
            rows.gather(&mut load, event_from_image(event)?, 0)
                .map_err(|refused| refused.error)?;
        }
    }
    rows.hand_to(&mut load).map_err(|refused| refused.error)
}

/// One section's payload.
fn encode<T: Serialize + ?Sized>(part: &T) -> Vec<u8> {
    postcard::to_allocvec(part).expect("an in-memory image always serializes")
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

#[cfg(test)]
mod tests {
    use super::{encode, ProfileImage, ProfilesOut};
    use crate::storage::values::{event_to_image, values_to_image};
    use crate::{Audience, Event};

    /// Profiles written borrowed from the store are the bytes the owned image types write
    /// (what the reader decodes): the sample shop's, and events whose properties were
    /// interned in another order than their names sort in.
    #[test]
    fn borrowed_profiles_write_the_owned_bytes() {
        let mut audience = crate::sample::SampleShop::new(300).build();
        let at = "2026-01-02T03:04:05.678Z".parse().unwrap();
        audience
            .track(
                "c0000001",
                Event::new("visit", at)
                    .property("zone", "north")
                    .value("amount", 3.5)
                    .property("aisle", "b"),
            )
            .unwrap();
        let store = &audience.store;
        let slots: Vec<u32> = store.live_slots().collect();
        let owned: Vec<ProfileImage> = slots
            .iter()
            .map(|&slot| {
                let p = store.snapshot(slot).unwrap();
                ProfileImage {
                    id: p.id,
                    attributes: values_to_image(&p.attributes),
                    tags: p.tags.into_iter().map(|(t, at)| (t, at.into())).collect(),
                    events: p.events.iter().map(event_to_image).collect(),
                    consent: p
                        .consent
                        .into_iter()
                        .map(|(c, d)| (c, d.granted, d.at.into()))
                        .collect(),
                }
            })
            .collect();
        assert!(owned.iter().map(|p| p.events.len()).sum::<usize>() > 1_000);
        let borrowed = ProfilesOut { store, slots };
        assert_eq!(encode(&borrowed), encode(&owned));
        let _ = Audience::from_bytes(&audience.to_bytes()).unwrap();
    }
}
