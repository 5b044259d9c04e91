//! Planning and ordering: how an `and` orders its parts (index sets first, sparse before dense,
//! scans last and fewest candidates first), how `or` runs each part on what earlier parts left,
//! and the plan steps `Audience::explain` reports.

use std::time::{Duration, Instant};

use crate::explain::{Method, PlanStep};
use crate::index::Bitmap;
use crate::language::Predicate;

use super::sets::IndexSet;
use super::Matcher;

/// Runs a step and records how long it took.
pub(super) fn timed(run: impl FnOnce() -> (Bitmap, PlanStep)) -> (Bitmap, PlanStep) {
    let started = Instant::now();
    let (out, mut s) = run();
    s.elapsed = started.elapsed();
    (out, s)
}

/// A plan step of `input` profiles given, `actual` found (its time is set by the caller).
pub(super) fn step(
    label: String,
    method: Method,
    input: u64,
    estimated: u64,
    actual: u64,
    children: Vec<PlanStep>,
) -> PlanStep {
    PlanStep {
        label,
        method,
        input,
        estimated,
        actual,
        children,
        elapsed: Duration::ZERO,
    }
}

/// An exact step's answer with its plan step (the estimate is the answer's size).
pub(super) fn exact(
    p: &Predicate,
    method: Method,
    input: &Bitmap,
    out: Bitmap,
) -> (Bitmap, PlanStep) {
    let n = out.cardinality();
    let s = step(p.to_string(), method, input.cardinality(), n, n, Vec::new());
    (out, s)
}

pub(super) fn skipped(p: &Predicate) -> PlanStep {
    step(p.to_string(), Method::Skipped, 0, 0, 0, Vec::new())
}

/// How a part of an `and` will run, for ordering: index sets first, then compound parts as
/// written, then scans (fewest candidates first).
///
/// Index sets go sparse ones first, smallest first (each shrinks the result and costs in
/// proportion to its size), then dense ones largest first. The order among dense sets matters
/// because of the set representation: a result below 1/16 of the slots is held as sorted arrays,
/// and intersecting those with a dense set costs per element, whereas two dense sets intersect
/// word by word at memory speed. Largest first keeps the result dense for as long as possible
/// (measured on B2 at 10M profiles, `docs/performance.md`).
pub(super) enum Prepared<'p> {
    Set(&'p Predicate, IndexSet<'p>),
    Compound(&'p Predicate),
    /// With an estimate of the candidates it will test.
    Scan(&'p Predicate, u64),
}

impl Prepared<'_> {
    pub(super) fn order(&self, universe: u64) -> (u8, u64) {
        match self {
            Prepared::Set(_, set) => {
                let size = set.estimate();
                if size.saturating_mul(16) < universe {
                    (0, size)
                } else {
                    (1, u64::MAX - size)
                }
            }
            Prepared::Compound(_) => (2, 0),
            Prepared::Scan(_, candidates) => (3, *candidates),
        }
    }
}

impl<'a> Matcher<'a> {
    pub(super) fn apply_set(
        &self,
        p: &Predicate,
        set: &IndexSet<'_>,
        input: &Bitmap,
    ) -> (Bitmap, PlanStep) {
        timed(|| {
            let out = set.and(input);
            let s = step(
                p.to_string(),
                Method::Index,
                input.cardinality(),
                set.estimate(),
                out.cardinality(),
                Vec::new(),
            );
            (out, s)
        })
    }

    /// `count_only`: the caller reads only the step's `actual`; a last index step is then
    /// counted without building the result, and the returned set is not the members.
    pub(super) fn and(
        &self,
        parts: &[Predicate],
        input: &Bitmap,
        count_only: bool,
    ) -> (Bitmap, PlanStep) {
        let started = Instant::now();
        let mut prepared: Vec<Prepared<'_>> = parts
            .iter()
            .map(|p| match p {
                Predicate::And(_)
                | Predicate::Or(_)
                | Predicate::Not(_)
                | Predicate::Segment(_) => Prepared::Compound(p),
                leaf => match self.indexed(leaf) {
                    Some(set) => Prepared::Set(leaf, set),
                    None => Prepared::Scan(leaf, self.estimate_candidates(leaf, input)),
                },
            })
            .collect();
        let universe = self.index().live.cardinality();
        prepared.sort_by_key(|p| p.order(universe));
        let estimated = prepared
            .iter()
            .map(|p| match p {
                Prepared::Set(_, set) => set.estimate(),
                Prepared::Scan(_, candidates) => *candidates,
                Prepared::Compound(_) => input.cardinality(),
            })
            .min()
            .unwrap_or(0);
        // What the steps so far left; `None` until the first step ran (the input, uncopied).
        let mut narrowed: Option<Bitmap> = None;
        let mut steps = Vec::with_capacity(prepared.len());
        let last = prepared.len().saturating_sub(1);
        for (i, part) in prepared.into_iter().enumerate() {
            let current = narrowed.as_ref().unwrap_or(input);
            let p = match &part {
                Prepared::Set(p, _) | Prepared::Compound(p) | Prepared::Scan(p, _) => *p,
            };
            if current.is_empty() {
                steps.push(skipped(p));
                continue;
            }
            if let (true, true, Prepared::Set(p, set)) = (count_only, i == last, &part) {
                let step_started = Instant::now();
                let actual = set.and_cardinality(current);
                let mut last_step = step(
                    p.to_string(),
                    Method::Index,
                    current.cardinality(),
                    set.estimate(),
                    actual,
                    Vec::new(),
                );
                last_step.elapsed = step_started.elapsed();
                steps.push(last_step);
                let mut s = step(
                    "and".into(),
                    Method::And,
                    input.cardinality(),
                    estimated,
                    actual,
                    steps,
                );
                s.elapsed = started.elapsed();
                return (Bitmap::new(), s);
            }
            let (out, s) = match part {
                Prepared::Set(p, set) => self.apply_set(p, &set, current),
                Prepared::Compound(p) => self.eval(p, current),
                Prepared::Scan(p, _) => timed(|| self.unindexed(p, current)),
            };
            narrowed = Some(out);
            steps.push(s);
        }
        let current = narrowed.unwrap_or_else(|| input.clone());
        let mut s = step(
            "and".into(),
            Method::And,
            input.cardinality(),
            estimated,
            current.cardinality(),
            steps,
        );
        s.elapsed = started.elapsed();
        (current, s)
    }

    pub(super) fn or(&self, parts: &[Predicate], input: &Bitmap) -> (Bitmap, PlanStep) {
        let mut matched = Bitmap::new();
        let mut rest = input.clone();
        let mut steps = Vec::with_capacity(parts.len());
        for p in parts {
            if rest.is_empty() {
                steps.push(skipped(p));
                continue;
            }
            let (out, s) = self.eval(p, &rest);
            rest.andnot_inplace(&out);
            matched.or_inplace(&out);
            steps.push(s);
        }
        // Saturating: an estimate may be "everyone" (u64::MAX), as for `tag all []`.
        let estimated = steps
            .iter()
            .fold(0u64, |sum, s| sum.saturating_add(s.estimated))
            .min(input.cardinality());
        let s = step(
            "or".into(),
            Method::Or,
            input.cardinality(),
            estimated,
            matched.cardinality(),
            steps,
        );
        (matched, s)
    }
}
