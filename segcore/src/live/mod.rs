//! Live membership: the members of every defined segment kept current as profiles change and
//! as time passes, with each change reported as a [`Transition`]. The user's guide is
//! `docs/live.md`.
//!
//! What it decides:
//! - **which segments a write touches**: only those whose definitions (with the segments they
//!   refer to) read the attribute, tag, event or channel written (`reads.rs`); a new profile is
//!   checked against every segment, an erased one leaves all of its segments;
//! - **when time alone changes membership**: each time-dependent condition, reduced to what
//!   decides *when* it can turn (an event name and window, a windowed tag, a moving time test),
//!   is a clock shared by every segment holding it; for each profile and clock, the first
//!   instant it may turn is computed from the profile's stored times (`schedule.rs`) and kept
//!   in a heap (`timers.rs`), so advancing re-checks exactly those profiles' segments, each at
//!   its own instant, and the number of timers grows with distinct windows, not segments;
//!   `next_change_at` checks the earliest instants and passes over those where no segment
//!   changes (`next.rs`), so the instant it names is one where membership changes;
//! - **what "member" means**: always the reference evaluator's answer at the audience clock, so
//!   live membership equals a full recomputation after every step.

mod audience;
mod feed;
mod next;
mod reads;
mod schedule;
mod timers;
mod transition;

use std::collections::HashMap;
use std::sync::Arc;

use croaring::Bitmap;
use jiff::Timestamp;

use crate::language::Predicate;
use crate::matcher::Matcher;
use crate::reverse::Reverse;
use crate::Audience;

pub(crate) use feed::Feed;
pub use feed::DEFAULT_QUEUE_CAPACITY;
pub use next::MAX_CHECKS;
use reads::{Readers, Reads};
use schedule::next_change;
use timers::Timers;
pub use transition::{Direction, Transition};

/// What a write changed in one profile.
pub(crate) enum Change<'c> {
    /// The profile did not exist before the write.
    Created,
    /// Attribute values set or unset.
    Attributes(&'c [&'c str]),
    /// A tag added or removed.
    Tag(&'c str),
    /// An event recorded.
    Event(&'c str),
    /// A consent decision recorded.
    Consent(&'c str),
}

/// One tracked segment: its members at the clock and what its definition reads.
#[derive(Debug, Clone)]
struct Tracked {
    name: String,
    members: Bitmap,
    reads: Reads,
}

/// One time-dependent condition shared by segments: when it fires for a profile, those
/// segments are re-checked for that profile.
#[derive(Debug, Clone)]
struct Clock {
    predicate: Predicate,
    reads: Reads,
    /// The tracked segments holding it (by live id).
    segments: Vec<u32>,
}

/// The live state of an audience: the clock, each segment's members, who is due when.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    clock: Timestamp,
    /// By live id; `None` where a segment was removed (ids are reused).
    segments: Vec<Option<Tracked>>,
    ids: HashMap<String, u32>,
    readers: Readers,
    /// By clock id; `None` where no segment holds it any more (ids are reused).
    clocks: Vec<Option<Clock>>,
    clock_ids: HashMap<String, u32>,
    /// For each attribute, tag and event, the clocks whose instants it moves.
    clock_readers: Readers,
    /// When each (profile, clock) pair is next due.
    timers: Timers,
    /// The pairs `next_change_at` passed over, by slot: their instants were computed from a
    /// point past the clock, with the data of then, so a write to the slot recomputes them.
    passed_over: HashMap<u32, Vec<u32>>,
    /// The catalog's reverse index as last used, and each live id's segment id in it.
    index: Option<(Arc<Reverse>, Arc<[u32]>)>,
}

/// The first free place in `items`, or a new one at the end.
fn free_id<T>(items: &mut Vec<Option<T>>) -> u32 {
    match items.iter().position(Option::is_none) {
        Some(free) => free as u32,
        None => {
            items.push(None);
            (items.len() - 1) as u32
        }
    }
}

impl Live {
    /// Membership of every segment of the catalog at `clock`.
    pub(crate) fn start(audience: &Audience, clock: Timestamp) -> Live {
        let mut live = Live {
            clock,
            segments: Vec::new(),
            ids: HashMap::new(),
            readers: Readers::default(),
            clocks: Vec::new(),
            clock_ids: HashMap::new(),
            clock_readers: Readers::default(),
            timers: Timers::default(),
            passed_over: HashMap::new(),
            index: None,
        };
        for name in audience.catalog.names() {
            live.track(audience, name);
        }
        live
    }

    pub(crate) fn clock(&self) -> Timestamp {
        self.clock
    }

    /// The current members of a segment, if it is tracked.
    pub(crate) fn members(&self, segment: &str) -> Option<&Bitmap> {
        let id = *self.ids.get(segment)?;
        self.segments[id as usize].as_ref().map(|t| &t.members)
    }

    /// Starts (or restarts) tracking `name` as the catalog now defines it: its members at the
    /// clock become the baseline, with no transitions.
    pub(crate) fn track(&mut self, audience: &Audience, name: &str) {
        self.untrack(name);
        // Which segments hold a clock decides where nothing changes: check again from here.
        self.recheck_passed_over(audience);
        let Some(predicate) = audience.catalog.get(name) else {
            return;
        };
        let id = free_id(&mut self.segments);
        let reads = Reads::of(predicate, &audience.catalog);
        let members = Matcher::new(audience, self.clock).run(predicate).0;
        for (key, clock) in &reads.clocks {
            self.hold_clock(audience, key, clock, id);
        }
        self.readers.add(id, &reads);
        self.ids.insert(name.to_owned(), id);
        self.segments[id as usize] = Some(Tracked {
            name: name.to_owned(),
            members,
            reads,
        });
    }

    /// Adds segment `id` to the holders of a clock, starting the clock (every profile's next
    /// instant) if it is new.
    fn hold_clock(&mut self, audience: &Audience, key: &str, predicate: &Predicate, id: u32) {
        if let Some(&c) = self.clock_ids.get(key) {
            if let Some(clock) = self.clocks[c as usize].as_mut() {
                clock.segments.push(id);
            }
            return;
        }
        let c = free_id(&mut self.clocks);
        let now = self.clock.as_nanosecond();
        for slot in audience.store.live_slots() {
            let due = next_change(audience, predicate, slot, now);
            self.timers.set(slot, c, due);
        }
        let reads = Reads::of(predicate, &audience.catalog);
        self.clock_readers.add(c, &reads);
        self.clock_ids.insert(key.to_owned(), c);
        self.clocks[c as usize] = Some(Clock {
            predicate: predicate.clone(),
            reads,
            segments: vec![id],
        });
    }

    /// Stops tracking `name` (no transitions); clocks no other segment holds stop too.
    pub(crate) fn untrack(&mut self, name: &str) {
        let Some(id) = self.ids.remove(name) else {
            return;
        };
        let Some(tracked) = self.segments[id as usize].take() else {
            return;
        };
        self.readers.remove(id, &tracked.reads);
        for key in tracked.reads.clocks.keys() {
            let Some(&c) = self.clock_ids.get(key) else {
                continue;
            };
            let Some(clock) = self.clocks[c as usize].as_mut() else {
                continue;
            };
            clock.segments.retain(|&s| s != id);
            if clock.segments.is_empty() {
                self.clock_readers.remove(c, &clock.reads);
                self.clocks[c as usize] = None;
                self.clock_ids.remove(key);
                self.timers.forget_clock(c);
            }
        }
    }

    /// Re-checks the segments that read what a write changed in `slot`, at the clock, and
    /// moves the instants of the clocks it changed.
    pub(crate) fn on_write(
        &mut self,
        audience: &Audience,
        slot: u32,
        change: Change<'_>,
    ) -> Vec<Transition> {
        let (segments, clocks) = match change {
            Change::Created => (
                self.ids.values().copied().collect(),
                self.clock_ids.values().copied().collect(),
            ),
            Change::Attributes(names) => {
                let of = |r: &Readers| -> Vec<u32> {
                    names
                        .iter()
                        .flat_map(|n| r.of_attribute(n))
                        .copied()
                        .collect()
                };
                (of(&self.readers), of(&self.clock_readers))
            }
            Change::Tag(tag) => (
                self.readers.of_tag(tag).collect(),
                self.clock_readers.of_tag(tag).collect(),
            ),
            Change::Event(name) => (
                self.readers.of_event(name).to_vec(),
                self.clock_readers.of_event(name).to_vec(),
            ),
            Change::Consent(channel) => (self.readers.of_channel(channel).to_vec(), Vec::new()),
        };
        // Instants passed over for this profile were judged on the data before this write.
        let mut clocks = clocks;
        clocks.extend(self.passed_over.remove(&slot).unwrap_or_default());
        let mut out = Vec::new();
        self.settle(audience, &sorted(segments), slot, self.clock, &mut out);
        for c in sorted(clocks) {
            self.reschedule(audience, c, slot, self.clock.as_nanosecond());
        }
        out
    }

    /// An erased profile leaves every segment it was in, at the clock.
    pub(crate) fn on_erase(&mut self, slot: u32, profile: &str) -> Vec<Transition> {
        self.timers.forget_slot(slot);
        self.passed_over.remove(&slot);
        let mut out = Vec::new();
        for tracked in self.segments.iter_mut().flatten() {
            if tracked.members.remove_checked(slot) {
                out.push(Transition::new(
                    profile,
                    slot,
                    &tracked.name,
                    Direction::Left,
                    self.clock,
                ));
            }
        }
        out
    }

    /// Moves the clock to `to`: each (profile, clock) pair due on the way re-checks that
    /// clock's segments for that profile at the instant it is due, in time order. The caller
    /// has checked that `to` is not before the clock.
    pub(crate) fn advance(&mut self, audience: &Audience, to: Timestamp) -> Vec<Transition> {
        let until = to.as_nanosecond();
        let mut out = Vec::new();
        while let Some((due, slot, c)) = self.timers.pop_until(until) {
            let Ok(instant) = Timestamp::from_nanosecond(due) else {
                continue;
            };
            let segments = match &self.clocks[c as usize] {
                Some(clock) => clock.segments.clone(),
                None => continue,
            };
            self.settle(audience, &segments, slot, instant, &mut out);
            self.reschedule(audience, c, slot, due);
            // Recomputed from an instant the clock reaches: no longer ahead of it.
            if let Some(list) = self.passed_over.get_mut(&slot) {
                list.retain(|&held| held != c);
                if list.is_empty() {
                    self.passed_over.remove(&slot);
                }
            }
        }
        self.clock = to;
        out
    }

    /// Computes when clock `c` is next due for `slot` after `now`.
    fn reschedule(&mut self, audience: &Audience, c: u32, slot: u32, now: i128) {
        if let Some(clock) = &self.clocks[c as usize] {
            let due = next_change(audience, &clock.predicate, slot, now);
            self.timers.set(slot, c, due);
        }
    }

    /// Evaluates segments `ids` for `slot` at `instant` (through the catalog's reverse index:
    /// key guards, then each shared condition once), and records each change of membership
    /// as a transition stamped `instant`.
    fn settle(
        &mut self,
        audience: &Audience,
        ids: &[u32],
        slot: u32,
        instant: Timestamp,
        out: &mut Vec<Transition>,
    ) {
        let (reverse, map) = self.index_for(audience);
        // Tracked segments are the catalog's, so each has an id in its index.
        let ids: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|&id| map.get(id as usize).is_some_and(|&r| r != u32::MAX))
            .collect();
        let among: Vec<u32> = ids.iter().map(|&id| map[id as usize]).collect();
        let mut answers = Vec::with_capacity(among.len());
        reverse.check(audience, slot, instant, &among, &mut answers);
        for (&id, member) in ids.iter().zip(answers) {
            let Some(tracked) = self.segments[id as usize].as_mut() else {
                continue;
            };
            if member == tracked.members.contains(slot) {
                continue;
            }
            let direction = if member {
                tracked.members.add(slot);
                Direction::Entered
            } else {
                tracked.members.remove(slot);
                Direction::Left
            };
            let profile = audience.store.record(slot).map_or("", |r| r.id());
            out.push(Transition::new(
                profile,
                slot,
                &tracked.name,
                direction,
                instant,
            ));
        }
    }

    /// The catalog's reverse index, and each live id's segment id in it (remapped when the
    /// catalog has changed since the last use). Every tracked segment is in the catalog.
    fn index_for(&mut self, audience: &Audience) -> (Arc<Reverse>, Arc<[u32]>) {
        let current = audience.reverse_index();
        let stale = self
            .index
            .as_ref()
            .is_none_or(|(known, _)| !Arc::ptr_eq(known, current));
        if stale {
            let map = self
                .segments
                .iter()
                .map(|t| {
                    t.as_ref()
                        .and_then(|t| current.id(&t.name))
                        .unwrap_or(u32::MAX)
                })
                .collect();
            self.index = Some((Arc::clone(current), map));
        }
        let (reverse, map) = self.index.as_ref().expect("set above");
        (Arc::clone(reverse), Arc::clone(map))
    }
}

fn sorted(mut ids: Vec<u32>) -> Vec<u32> {
    ids.sort_unstable();
    ids.dedup();
    ids
}
