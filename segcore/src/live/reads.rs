//! What a segment reads, with the segments it refers to counted in, and the index from each
//! thing a write can change to the segments that read it: a write re-evaluates only those.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::catalog::Catalog;
use crate::language::{Predicate, Test, Window};

/// The attributes, tags, events and channels a segment's definition reads, and whether time
/// alone can change its answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Reads {
    pub attributes: BTreeSet<String>,
    /// Tags named exactly.
    pub tags: BTreeSet<String>,
    /// Namespaces read through a wildcard (`interest` of `interest:*`).
    pub namespaces: BTreeSet<String>,
    pub events: BTreeSet<String>,
    pub channels: BTreeSet<String>,
    /// The conditions whose answer can change with no write, by their text: a window, a time
    /// literal that moves with now, or an event condition (an event stamped later than the
    /// clock appears when the clock reaches it). Each is reduced to what decides *when* it
    /// can change, so segments that share a window share one clock.
    pub clocks: BTreeMap<String, Predicate>,
}

impl Reads {
    /// What `p` reads, following `segment` references through `catalog`.
    pub(crate) fn of(p: &Predicate, catalog: &Catalog) -> Reads {
        let mut reads = Reads::default();
        reads.add(p, catalog);
        reads
    }

    fn add(&mut self, p: &Predicate, catalog: &Catalog) {
        match p {
            Predicate::And(parts) | Predicate::Or(parts) => {
                parts.iter().for_each(|q| self.add(q, catalog));
            }
            Predicate::Not(inner) => self.add(inner, catalog),
            Predicate::Attribute { name, test } => {
                self.attributes.insert(name.clone());
                if moves_with_now(test) {
                    self.clock(p.clone());
                }
            }
            Predicate::Tag { tag, within } => {
                self.tag(tag);
                if within.is_some() {
                    self.clock(p.clone());
                }
            }
            Predicate::TagAny(tags) | Predicate::TagAll(tags) => {
                tags.iter().for_each(|t| self.tag(t))
            }
            // Counts, filters and functions do not move the instants: only the events' times
            // against the window (or the test) do.
            Predicate::Event { event, window, .. } | Predicate::Aggregate { event, window, .. } => {
                self.events.insert(event.clone());
                self.clock(Predicate::Event {
                    event: event.clone(),
                    count: None,
                    window: *window,
                    filter: Vec::new(),
                });
            }
            Predicate::Occurrence { event, test, .. } => {
                self.events.insert(event.clone());
                self.clock(Predicate::Occurrence {
                    which: crate::language::Which::Last,
                    event: event.clone(),
                    filter: Vec::new(),
                    test: test.clone(),
                });
            }
            Predicate::Near(near) => {
                self.attributes.insert(near.latitude_attribute.clone());
                self.attributes.insert(near.longitude_attribute.clone());
            }
            Predicate::Consent(channel) => {
                self.channels.insert(channel.clone());
            }
            Predicate::Segment(name) => {
                if let Some(q) = catalog.get(name) {
                    self.add(q, catalog);
                }
            }
        }
    }

    fn clock(&mut self, p: Predicate) {
        self.clocks.entry(p.to_string()).or_insert(p);
    }

    fn tag(&mut self, pattern: &str) {
        match pattern.strip_suffix(":*") {
            Some(ns) => self.namespaces.insert(ns.to_owned()),
            None => self.tags.insert(pattern.to_owned()),
        };
    }
}

/// Whether a test's answer for a fixed value can change as now moves.
fn moves_with_now(test: &Test) -> bool {
    use crate::language::{Literal, TimeRef};
    let moving = |l: &Literal| matches!(l, Literal::Time(t) if !matches!(t, TimeRef::At(_)));
    match test {
        Test::Cmp { value, .. } => moving(value),
        Test::Between { low, high } => moving(low) || moving(high),
        Test::In(items) | Test::NotIn(items) => items.iter().any(moving),
        Test::Within(w) => !matches!(
            w,
            Window::Between {
                start: TimeRef::At(_),
                end: TimeRef::At(_)
            }
        ),
        _ => false,
    }
}

/// For each attribute, tag, namespace, event and channel, the segments (by live id) that read it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Readers {
    attributes: HashMap<String, Vec<u32>>,
    tags: HashMap<String, Vec<u32>>,
    namespaces: HashMap<String, Vec<u32>>,
    events: HashMap<String, Vec<u32>>,
    channels: HashMap<String, Vec<u32>>,
}

const NONE: &[u32] = &[];

impl Readers {
    pub(crate) fn add(&mut self, id: u32, reads: &Reads) {
        self.each(reads, |list| list.entry().or_default().push(id));
    }

    pub(crate) fn remove(&mut self, id: u32, reads: &Reads) {
        self.each(reads, |list| {
            if let std::collections::hash_map::Entry::Occupied(mut e) = list.entry() {
                e.get_mut().retain(|&x| x != id);
                if e.get().is_empty() {
                    e.remove();
                }
            }
        });
    }

    fn each(&mut self, reads: &Reads, mut f: impl FnMut(Key<'_>)) {
        let groups = [
            (&mut self.attributes, &reads.attributes),
            (&mut self.tags, &reads.tags),
            (&mut self.namespaces, &reads.namespaces),
            (&mut self.events, &reads.events),
            (&mut self.channels, &reads.channels),
        ];
        for (map, names) in groups {
            for name in names {
                f(Key { map, name });
            }
        }
    }

    pub(crate) fn of_attribute(&self, name: &str) -> &[u32] {
        self.attributes.get(name).map_or(NONE, Vec::as_slice)
    }

    pub(crate) fn of_event(&self, name: &str) -> &[u32] {
        self.events.get(name).map_or(NONE, Vec::as_slice)
    }

    pub(crate) fn of_channel(&self, name: &str) -> &[u32] {
        self.channels.get(name).map_or(NONE, Vec::as_slice)
    }

    /// The segments reading `tag` by name or through a wildcard on any namespace that holds it
    /// (`a` and `a:b` for `a:b:c`).
    pub(crate) fn of_tag<'s>(&'s self, tag: &'s str) -> impl Iterator<Item = u32> + 's {
        let namespaces = tag
            .match_indices(':')
            .filter_map(|(i, _)| self.namespaces.get(&tag[..i]));
        self.tags
            .get(tag)
            .into_iter()
            .chain(namespaces)
            .flatten()
            .copied()
    }
}

/// One name's list in one of the maps.
struct Key<'m> {
    map: &'m mut HashMap<String, Vec<u32>>,
    name: &'m String,
}

impl<'m> Key<'m> {
    fn entry(self) -> std::collections::hash_map::Entry<'m, String, Vec<u32>> {
        self.map.entry(self.name.clone())
    }
}
