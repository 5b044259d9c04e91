//! Reverse matching: which of many segments one profile is in, without testing every segment.
//!
//! What it decides:
//! - **which segments are candidates** (`keys.rs`, `postings.rs`): from each definition,
//!   references followed, sets of simple facts every member must have (an attribute value, a
//!   held tag, a granted channel, an event ever done). Up to two of the rarest sets per segment
//!   go into posting lists, as ad-targeting indexes (k-index, BE-tree) index boolean
//!   expressions; a profile walks the lists of its own facts, and only segments whose every
//!   indexed set it hits — plus the few with no such set — are candidates;
//! - **how a candidate is decided** (`program.rs`): through the reference evaluator, with each
//!   distinct leaf condition of the catalog evaluated at most once per profile, since
//!   real catalogs repeat the same windows and values across many segments.
//!
//! Both halves only narrow or share work: the answer is the reference's for every segment.

mod keys;
mod postings;
mod program;
mod values;

use std::cell::RefCell;
use std::collections::HashMap;

use jiff::Timestamp;

use crate::language::{Literal, Predicate, Test, TextPattern};
use crate::limits::LATEST_INSTANT;
use crate::matcher::Matcher;
use crate::reference::Reference;
use crate::value::AttrType;
use crate::Audience;

use keys::{Key, Necessary};
use postings::{Hits, Postings};
use program::{Memo, Program};

/// A segment that no profile can be in (a key set no fact satisfies) needs bits it never gets.
const NEVER: u8 = u8::MAX;

/// The catalog indexed for reverse matching. Built from the catalog (and, to pick the rarest
/// key sets, the audience's current counts); rebuilt when the catalog changes.
#[derive(Debug, Clone)]
pub(crate) struct Reverse {
    program: Program,
    postings: Postings,
    /// Per segment, the bits of its indexed key sets (0: not indexed, always a candidate).
    need: Vec<u8>,
    /// Per segment, whether hitting its key sets is membership itself (no evaluation).
    exact: Vec<bool>,
    unguarded: Vec<u32>,
}

thread_local! {
    /// Reused per-profile scratch: hit bits and the memo, each cleared by what it touched.
    static SCRATCH: RefCell<(Hits, Memo)> = RefCell::default();
}

impl Reverse {
    pub(crate) fn build(audience: &Audience) -> Reverse {
        let program = Program::compile(&audience.catalog);
        let no_events = Reference::new(audience, Timestamp::UNIX_EPOCH);
        let necessary = Necessary {
            catalog: &audience.catalog,
            schema: &audience.schema,
            reference: &no_events,
        };
        let everything = Matcher::new(audience, LATEST_INSTANT);
        let mut counts: HashMap<Key, u64> = HashMap::new();
        let mut count = |key: &Key| -> u64 {
            *counts
                .entry(key.clone())
                .or_insert_with(|| everything.count(&key_predicate(audience, key)))
        };
        let live = audience.len() as u64;
        let mut postings = Postings::default();
        let mut need = vec![0u8; program.len()];
        let mut unguarded = Vec::new();
        let mut exact = vec![false; program.len()];
        for (id, (_, p)) in audience.catalog.iter().enumerate() {
            let id = id as u32;
            let mut slots = necessary.slots(p);
            for s in &mut slots {
                s.sort();
                s.dedup();
            }
            slots.sort();
            slots.dedup();
            if slots.iter().any(Vec::is_empty) {
                need[id as usize] = NEVER;
                continue;
            }
            // The rarest sets first: a set's size is at most the sum of its keys' counts.
            let mut sized: Vec<(u64, Vec<Key>)> = slots
                .into_iter()
                .map(|s| (s.iter().map(&mut count).sum(), s))
                .collect();
            sized.sort();
            // A second set costs a touch per profile holding it (whether or not the first set
            // is hit) and saves an evaluation per profile it rules out among the first set's:
            // index it only when that pays, with an evaluation worth ~16 touches.
            let share = |n: u64| n.min(live) as f64 / live.max(1) as f64;
            let second_pays = match (sized.first(), sized.get(1)) {
                (Some((first, _)), Some((second, _))) => {
                    share(*second) < 16.0 * share(*first) * (1.0 - share(*second))
                }
                _ => false,
            };
            let indexed = 1 + usize::from(second_pays);
            // A conjunction of key tests whose every set is indexed needs no evaluation.
            let is_exact = sized.len() <= indexed && necessary.exact(p);
            for (bit, (_, keys)) in sized.iter().take(indexed).enumerate() {
                let bit = 1u8 << bit;
                for key in keys {
                    postings.add(key, id, bit);
                }
                need[id as usize] |= bit;
            }
            exact[id as usize] = is_exact;
            if need[id as usize] == 0 {
                unguarded.push(id);
            }
        }
        Reverse {
            program,
            postings,
            need,
            exact,
            unguarded,
        }
    }

    /// The ids (in name order) of the segments the profile in `slot` is in at `now`.
    pub(crate) fn segments_of(&self, audience: &Audience, slot: u32, now: Timestamp) -> Vec<u32> {
        SCRATCH.with(|scratch| {
            let (hits, memo) = &mut *scratch.borrow_mut();
            hits.fit(self.program.len());
            self.postings.walk(audience, slot, hits);
            let mut candidates = Vec::new();
            hits.complete(&self.need, &mut candidates);
            candidates.extend_from_slice(&self.unguarded);
            let reference = Reference::new(audience, now);
            self.program.fit(memo);
            candidates.retain(|&id| {
                self.exact[id as usize] || self.program.matches(id, slot, &reference, memo)
            });
            memo.clear();
            candidates.sort_unstable();
            candidates
        })
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        self.program.name(id)
    }

    /// The id of a segment (its place in name order).
    pub(crate) fn id(&self, name: &str) -> Option<u32> {
        self.program.id(name)
    }

    /// Whether the profile in `slot` is in each of the segments `among` at `now`, in order:
    /// what live membership asks after a write or when a clock fires. Many segments are first
    /// narrowed by the profile's keys; each shared leaf is evaluated once.
    pub(crate) fn check(
        &self,
        audience: &Audience,
        slot: u32,
        now: Timestamp,
        among: &[u32],
        out: &mut Vec<bool>,
    ) {
        // Walking the profile's postings pays only when there are many segments to rule out.
        const WALK_FROM: usize = 32;
        SCRATCH.with(|scratch| {
            let (hits, memo) = &mut *scratch.borrow_mut();
            let walked = among.len() >= WALK_FROM;
            if walked {
                hits.fit(self.program.len());
                self.postings.walk(audience, slot, hits);
            }
            let reference = Reference::new(audience, now);
            self.program.fit(memo);
            out.clear();
            out.extend(among.iter().map(|&id| {
                let need = self.need[id as usize];
                if walked && need != 0 && hits.bits(id) != need {
                    return false;
                }
                if walked && self.exact[id as usize] {
                    return true;
                }
                self.program.matches(id, slot, &reference, memo)
            }));
            if walked {
                hits.clear();
            }
            memo.clear();
        })
    }

    /// What the index holds: segments, distinct leaves, postings, and unindexed segments.
    pub(crate) fn stats(&self) -> ReverseStats {
        ReverseStats {
            segments: self.program.len(),
            exact: self.exact.iter().filter(|&&e| e).count(),
            leaves: self.program.leaf_count(),
            postings: self.postings.count(),
            unindexed: self.unguarded.len(),
            bytes: self.program.bytes()
                + self.postings.bytes()
                + self.need.len()
                + self.exact.len()
                + self.unguarded.capacity() * 4,
        }
    }
}

/// The size of a reverse index, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReverseStats {
    /// Segments indexed.
    pub segments: usize,
    /// Segments answered by their keys alone: conjunctions of value, tag and consent tests.
    pub exact: usize,
    /// Distinct leaf conditions across the catalog (each evaluated at most once per profile).
    pub leaves: usize,
    /// Entries in the posting lists.
    pub postings: usize,
    /// Segments with no necessary key, checked for every profile.
    pub unindexed: usize,
    /// Approximate heap bytes of the index (the catalog's own definitions not included).
    pub bytes: usize,
}

/// The condition that holds exactly for profiles having `key`, to count them.
fn key_predicate(audience: &Audience, key: &Key) -> Predicate {
    match key {
        Key::Text { attribute, value } => {
            let test = if audience.schema.attribute(attribute) == Some(AttrType::List) {
                Test::Contains(TextPattern {
                    value: value.clone(),
                    ignore_case: false,
                })
            } else {
                Test::eq(value.as_str())
            };
            Predicate::attribute(attribute.as_str(), test)
        }
        Key::Number { attribute, bits } => Predicate::attribute(
            attribute.as_str(),
            Test::eq(Literal::Number(f64::from_bits(*bits))),
        ),
        Key::Bool { attribute, value } => {
            Predicate::attribute(attribute.as_str(), Test::eq(*value))
        }
        Key::Tag(t) => Predicate::tag(t.as_str()),
        Key::Namespace(ns) => Predicate::tag(format!("{ns}:*")),
        Key::Consent(c) => Predicate::Consent(c.clone()),
        Key::Did(e) => Predicate::did(e.as_str()),
    }
}
