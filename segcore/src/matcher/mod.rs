//! The bitmap matcher: answers a predicate for a whole audience with set operations over the
//! indexes, and hands the conditions no index answers to the reference evaluator — one
//! candidate at a time, over only the candidates the rest of the plan leaves.
//!
//! Each step takes the set of profiles it may still match (its input) and returns the subset
//! that does. So `and` narrows step by step (index sets first, in the order
//! `plan::Prepared::order` explains, scans last, stopping when nothing is left), `or` runs each part on what earlier parts did not match, and `not` is
//! the complement within the input — at the top, the live profiles.
//!
//! It must return exactly the reference evaluator's answers; the property tests and the
//! conformance corpus check that.
//!
//! By concern: `plan` orders and combines steps, `sets` holds the set algebra, `attributes`
//! the exact value indexes, `days` event windows, `counts` and `aggregates` the tallies over
//! day rows, `geography` the coordinate box, and `scan` the candidate-by-candidate fallback.

mod aggregates;
mod attributes;
mod counts;
mod days;
mod dense;
mod filters;
mod geography;
mod numbers;
mod occurrences;
mod plan;
mod scan;
mod sets;
mod slot_tallies;
#[cfg(test)]
mod tests;
mod times;

use std::cell::RefCell;
use std::collections::HashMap;

use crate::explain::{Method, PlanStep};
use crate::index::{Bitmap, Indexes};
use crate::language::{CmpOp, CountTest, Name, Predicate, Test, Which};
use crate::reference::Reference;
use crate::Audience;

use self::aggregates::{Aggregate, ROWS_PER_AGGREGATE_CANDIDATE};
use self::days::{rows_in, ROWS_PER_CANDIDATE};
use self::plan::{step, timed};

pub(crate) struct Matcher<'a> {
    audience: &'a Audience,
    reference: Reference<'a>,
    /// Segments evaluated so far by this matcher: the input each ran on and its members
    /// there. A later reference on a subset of that input reuses them (`segments_of` on
    /// segments that share sub-segments, a segment named twice in one query).
    evaluated: RefCell<HashMap<String, (Bitmap, Bitmap)>>,
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(audience: &'a Audience, now: jiff::Timestamp) -> Self {
        Matcher {
            audience,
            reference: Reference::new(audience, now),
            evaluated: RefCell::default(),
        }
    }

    fn index(&self) -> &'a Indexes {
        &self.audience.store.index
    }

    /// The live profiles matching `p`, and the plan as run.
    pub(crate) fn run(&self, p: &Predicate) -> (Bitmap, PlanStep) {
        self.eval(p, &self.index().live)
    }

    /// Whether the live profile in `slot` matches `p`: the plan run on that profile alone.
    pub(crate) fn matches(&self, p: &Predicate, slot: u32) -> bool {
        self.index().live.contains(slot) && !self.eval(p, &Bitmap::of(&[slot])).0.is_empty()
    }

    /// How many live profiles match `p`. An `and` of index sets is counted over plain words
    /// when that is cheaper ([`Matcher::dense_count`]); otherwise, when the last step of a
    /// top-level `and` is an index set, it is counted against what the earlier steps left
    /// without being built. A segment is counted by its definition.
    pub(crate) fn count(&self, p: &Predicate) -> u64 {
        match p {
            Predicate::And(parts) => self
                .dense_count(parts)
                .unwrap_or_else(|| self.and(parts, &self.index().live, true).1.actual),
            Predicate::Segment(name) if !self.evaluated.borrow().contains_key(name.as_str()) => {
                match self.audience.catalog.get(name) {
                    Some(definition) => self.count(definition),
                    None => 0,
                }
            }
            _ => self.run(p).0.cardinality(),
        }
    }

    /// The live profiles matching every part, when every part is a condition the indexes
    /// answer and folding them over plain words (a pass over every slot per part) costs less
    /// than the sets' members; `None` otherwise.
    fn dense_count(&self, parts: &[Predicate]) -> Option<u64> {
        let sets: Vec<_> = parts
            .iter()
            .map(|p| self.indexed(p))
            .collect::<Option<_>>()?;
        let slots = self.audience.store.slot_bound();
        let members: u64 = sets
            .iter()
            .map(|s| s.estimate())
            .fold(0, u64::saturating_add);
        let passes = (sets.len() as u64 + 1).saturating_mul(slots.div_ceil(64) as u64);
        if sets.len() < 2 || members < passes.saturating_mul(2) {
            return None;
        }
        // While the running result stays dense (a sixteenth of the slots or more, assuming
        // independence), CRoaring intersects at memory speed in its bitset containers; from the
        // first step that would leave it sparse, plain words take over.
        let mut sets = sets;
        sets.sort_by_key(|s| std::cmp::Reverse(s.estimate()));
        let live = &self.index().live;
        let mut current: Option<Bitmap> = None;
        let mut rest = sets.iter();
        for set in rest.by_ref() {
            let size = current.as_ref().unwrap_or(live).cardinality();
            let expected = (size as f64) * (set.estimate() as f64) / (slots.max(1) as f64);
            if expected * 16.0 < slots as f64 {
                let mut words = dense::Words::of(current.as_ref().unwrap_or(live), slots);
                words.and(set);
                for set in rest {
                    words.and(set);
                }
                return Some(words.count());
            }
            current = Some(set.and(current.as_ref().unwrap_or(live)));
        }
        Some(current.as_ref().unwrap_or(live).cardinality())
    }

    fn eval(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        timed(|| self.eval_untimed(p, input))
    }

    fn eval_untimed(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        match p {
            Predicate::And(parts) => self.and(parts, input, false),
            Predicate::Or(parts) => self.or(parts, input),
            Predicate::Not(inner) => {
                let (matched, inner_step) = self.eval(inner, input);
                let out = input.andnot(&matched);
                let estimated = input.cardinality().saturating_sub(inner_step.estimated);
                let s = step(
                    "not".into(),
                    Method::Not,
                    input.cardinality(),
                    estimated,
                    out.cardinality(),
                    vec![inner_step],
                );
                (out, s)
            }
            Predicate::Segment(name) => {
                let label = format!("segment {}", Name(name));
                let reused = self
                    .evaluated
                    .borrow()
                    .get(name.as_str())
                    .filter(|(ran_on, _)| input.is_subset(ran_on))
                    .map(|(_, members)| members.and(input));
                if let Some(out) = reused {
                    let n = out.cardinality();
                    return (
                        out,
                        step(label, Method::Reused, input.cardinality(), n, n, Vec::new()),
                    );
                }
                match self.audience.catalog.get(name) {
                    Some(definition) => {
                        let (out, inner) = self.eval(definition, input);
                        self.evaluated
                            .borrow_mut()
                            .insert(name.clone(), (input.clone(), out.clone()));
                        let s = step(
                            label,
                            Method::Segment,
                            input.cardinality(),
                            inner.estimated,
                            out.cardinality(),
                            vec![inner],
                        );
                        (out, s)
                    }
                    // Validation keeps this from happening; an unknown segment matches no one.
                    None => (
                        Bitmap::new(),
                        step(
                            label,
                            Method::Segment,
                            input.cardinality(),
                            0,
                            0,
                            Vec::new(),
                        ),
                    ),
                }
            }
            leaf => match self.indexed(leaf) {
                Some(set) => self.apply_set(leaf, &set, input),
                None => self.unindexed(leaf, input),
            },
        }
    }

    /// A condition no index answers: `did e in <window>` from day buckets, `did e` and
    /// `first/last(e)` from the first/last day sets, counts, `where` filters and aggregates by
    /// a tally of day rows where that is cheaper than a scan, anything else by a scan.
    fn unindexed(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        match p {
            Predicate::Event {
                event,
                count: None,
                window: Some(window),
                filter,
            } if filter.is_empty() => self.did_in_window(p, event, window, input),
            // Ever, at or before now: a first occurrence exists.
            Predicate::Event {
                event,
                count: None,
                window: None,
                filter,
            } if filter.is_empty() => self
                .occurrence(p, Which::First, event, &Test::Exists, input)
                .unwrap_or_else(|| self.scan(p, input)),
            Predicate::Event {
                event,
                count,
                window,
                filter,
            } if count.is_none_or(|c| c.times < u32::from(u8::MAX)) => {
                // `did e where ...` is `did e at least 1 times where ...`.
                let count = count.unwrap_or(CountTest {
                    op: CmpOp::Ge,
                    times: 1,
                });
                let w = self.window_or_all_time(window.as_ref());
                let (whole, part) = w.map(|w| self.days(event, w)).unwrap_or_default();
                let rows = rows_in(&whole, &part);
                let candidates = self.estimate_candidates(p, input);
                // A tally costs a few nanoseconds a row; testing a candidate costs a visit to
                // its profile, hundreds of nanoseconds.
                if rows < candidates.saturating_mul(ROWS_PER_CANDIDATE) {
                    self.tally(p, count, filter, w, (&whole, &part), input)
                } else {
                    self.scan(p, input)
                }
            }
            Predicate::Aggregate {
                func,
                event,
                value,
                window,
                filter,
                test,
            } => {
                let w = self.window_or_all_time(window.as_ref());
                let (whole, part) = w.map(|w| self.days(event, w)).unwrap_or_default();
                let rows = rows_in(&whole, &part);
                let candidates = self.estimate_candidates(p, input);
                let aggregate = Aggregate {
                    func: *func,
                    key: self.audience.store.keys.get(value),
                    test,
                };
                // A row costs a bit test and, for the input's profiles, an addition; a
                // candidate costs a visit to its profile's events and properties.
                let tally = rows < candidates.saturating_mul(ROWS_PER_AGGREGATE_CANDIDATE);
                let fallback_rows =
                    rows.min(candidates.saturating_mul(ROWS_PER_AGGREGATE_CANDIDATE));
                let totals = match w {
                    Some(w) if filter.is_empty() => {
                        self.read_totals(p, &aggregate, event, w, fallback_rows, input)
                    }
                    _ => None,
                };
                match totals {
                    Some(answer) => answer,
                    None if tally => {
                        self.tally_values(p, &aggregate, filter, w, (&whole, &part), input)
                    }
                    None => self.scan(p, input),
                }
            }
            Predicate::Occurrence {
                which,
                event,
                filter,
                test,
            } if filter.is_empty() => self
                .occurrence(p, *which, event, test, input)
                .unwrap_or_else(|| self.scan(p, input)),
            Predicate::Attribute { name, test } => self
                .timestamps(p, name, test, input)
                .or_else(|| self.continuous(p, name, test, input))
                .unwrap_or_else(|| self.scan(p, input)),
            Predicate::Near(near) => self
                .near(p, near, input)
                .unwrap_or_else(|| self.scan(p, input)),
            _ => self.scan(p, input),
        }
    }
}
