//! Posting lists from keys to the segments that need them, and the walk over one profile's own
//! keys that finds the candidates: the segments whose every indexed key set the profile hits.
//! The walk costs what the profile has (its values, tags, channels, event names) and the
//! lists those reach, not the catalog's size.

use hashbrown::HashMap;

use super::keys::{number_bits, Key};
use crate::column::AttrRef;
use crate::Audience;

/// A segment id and the bit of the key set a key belongs to.
type Post = (u32, u8);

#[derive(Debug, Clone, Default)]
struct AttributePostings {
    text: HashMap<Box<str>, Vec<Post>>,
    numbers: HashMap<u64, Vec<Post>>,
    bools: [Vec<Post>; 2],
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Postings {
    attributes: HashMap<Box<str>, AttributePostings>,
    tags: HashMap<Box<str>, Vec<Post>>,
    namespaces: HashMap<Box<str>, Vec<Post>>,
    consents: HashMap<Box<str>, Vec<Post>>,
    events: HashMap<Box<str>, Vec<Post>>,
    /// How many postings in all (for the memory report).
    count: usize,
}

/// Per-profile hit bits by segment, cleared after each profile through the touched list.
#[derive(Debug, Default)]
pub(crate) struct Hits {
    bits: Vec<u8>,
    touched: Vec<u32>,
}

impl Hits {
    pub(crate) fn fit(&mut self, segments: usize) {
        self.clear();
        self.bits.resize(segments, 0);
    }

    fn hit(&mut self, list: &[Post]) {
        for &(segment, bit) in list {
            let b = &mut self.bits[segment as usize];
            if *b == 0 {
                self.touched.push(segment);
            }
            *b |= bit;
        }
    }

    /// The touched segments whose bits equal `need`'s, then cleared.
    pub(crate) fn complete(&mut self, need: &[u8], out: &mut Vec<u32>) {
        for &s in &self.touched {
            if self.bits[s as usize] == need[s as usize] {
                out.push(s);
            }
        }
        self.clear();
    }

    /// The hit bits of one segment (before [`Hits::clear`]).
    pub(crate) fn bits(&self, segment: u32) -> u8 {
        self.bits[segment as usize]
    }

    pub(crate) fn clear(&mut self) {
        for &s in &self.touched {
            self.bits[s as usize] = 0;
        }
        self.touched.clear();
    }
}

impl Postings {
    pub(crate) fn add(&mut self, key: &Key, segment: u32, bit: u8) {
        let list = match key {
            Key::Text { attribute, value } => self
                .attributes
                .entry(attribute.as_str().into())
                .or_default()
                .text
                .entry(value.as_str().into())
                .or_default(),
            Key::Number { attribute, bits } => self
                .attributes
                .entry(attribute.as_str().into())
                .or_default()
                .numbers
                .entry(*bits)
                .or_default(),
            Key::Bool { attribute, value } => {
                &mut self
                    .attributes
                    .entry(attribute.as_str().into())
                    .or_default()
                    .bools[usize::from(*value)]
            }
            Key::Tag(t) => self.tags.entry(t.as_str().into()).or_default(),
            Key::Namespace(ns) => self.namespaces.entry(ns.as_str().into()).or_default(),
            Key::Consent(c) => self.consents.entry(c.as_str().into()).or_default(),
            Key::Did(e) => self.events.entry(e.as_str().into()).or_default(),
        };
        list.push((segment, bit));
        self.count += 1;
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Approximate heap bytes: the postings, plus each list's and each key's own overhead.
    pub(crate) fn bytes(&self) -> usize {
        let lists = |m: &HashMap<Box<str>, Vec<Post>>| -> usize {
            m.iter()
                .map(|(k, v)| k.len() + v.capacity() * size_of::<Post>() + 48)
                .sum()
        };
        let attributes: usize = self
            .attributes
            .values()
            .map(|a| {
                lists(&a.text)
                    + a.numbers
                        .values()
                        .map(|v| v.capacity() * size_of::<Post>() + 40)
                        .sum::<usize>()
                    + a.bools
                        .iter()
                        .map(|v| v.capacity() * size_of::<Post>())
                        .sum::<usize>()
            })
            .sum();
        attributes
            + lists(&self.tags)
            + lists(&self.namespaces)
            + lists(&self.consents)
            + lists(&self.events)
    }

    /// Hits every list reached by one of the profile's keys.
    pub(crate) fn walk(&self, audience: &Audience, slot: u32, hits: &mut Hits) {
        let store = &audience.store;
        let Some(record) = store.record(slot) else {
            return;
        };
        for (name, lists) in &self.attributes {
            match store.attribute(slot, name) {
                Some(AttrRef::Str(s)) => hit(hits, lists.text.get(s)),
                Some(AttrRef::List(items)) => {
                    for item in items {
                        hit(hits, lists.text.get(item.as_str()));
                    }
                }
                Some(AttrRef::Num(x)) => hit(hits, lists.numbers.get(&number_bits(x))),
                Some(AttrRef::Bool(b)) => hits.hit(&lists.bools[usize::from(b)]),
                Some(AttrRef::Time(_)) | None => {}
            }
        }
        if !(self.tags.is_empty() && self.namespaces.is_empty()) {
            for (tag, _) in record.tags.iter() {
                let tag = store.tag_names.name(*tag);
                hit(hits, self.tags.get(tag));
                for (i, _) in tag.match_indices(':') {
                    hit(hits, self.namespaces.get(&tag[..i]));
                }
            }
        }
        for (channel, decision) in record.consent.iter() {
            if decision.granted {
                hit(hits, self.consents.get(store.channels.name(*channel)));
            }
        }
        if !self.events.is_empty() {
            let mut seen: Vec<u32> = Vec::new();
            for e in record.events() {
                if !seen.contains(&e.name) {
                    seen.push(e.name);
                    hit(hits, self.events.get(store.event_names.name(e.name)));
                }
            }
        }
    }
}

fn hit(hits: &mut Hits, list: Option<&Vec<Post>>) {
    if let Some(list) = list {
        hits.hit(list);
    }
}
