//! The bitmap matcher: answers a predicate for a whole audience with set operations over the
//! indexes, and hands the conditions no index answers to the reference evaluator — one
//! candidate at a time, over only the candidates the rest of the plan leaves.
//!
//! Each step takes the set of profiles it may still match (its input) and returns the subset
//! that does. So `and` narrows step by step (most selective index first, scans last, stopping
//! when nothing is left), `or` runs each part on what earlier parts did not match, and `not` is
//! the complement within the input — at the top, the live profiles.
//!
//! It must return exactly the reference evaluator's answers; the property tests and the
//! conformance corpus check that.

use std::ops::Bound;

use crate::explain::{Method, PlanStep};
use crate::index::{day_of, Bitmap, Indexes, NumKey, Values, DAY_NS};
use crate::language::{CmpOp, Interval, Literal, Name, Predicate, Test, Window};
use crate::reference::{text_test, Reference};
use crate::Audience;

pub(crate) struct Matcher<'a> {
    audience: &'a Audience,
    reference: Reference<'a>,
}

fn step(
    label: String,
    method: Method,
    input: &Bitmap,
    estimated: u64,
    out: &Bitmap,
    children: Vec<PlanStep>,
) -> PlanStep {
    PlanStep {
        label,
        method,
        input: input.cardinality(),
        estimated,
        actual: out.cardinality(),
        children,
    }
}

fn skipped(p: &Predicate) -> PlanStep {
    PlanStep {
        label: p.to_string(),
        method: Method::Skipped,
        input: 0,
        estimated: 0,
        actual: 0,
        children: Vec::new(),
    }
}

fn union<'b>(sets: impl IntoIterator<Item = &'b Bitmap>) -> Bitmap {
    let sets: Vec<&Bitmap> = sets.into_iter().collect();
    Bitmap::fast_or(&sets)
}

/// How a part of an `and` will run, for ordering: index sets first (smallest first), then
/// compound parts as written, then scans (fewest candidates first).
enum Prepared<'p> {
    Set(&'p Predicate, Bitmap),
    Compound(&'p Predicate),
    Scan(&'p Predicate, u64),
}

impl Prepared<'_> {
    fn order(&self) -> (u8, u64) {
        match self {
            Prepared::Set(_, set) => (0, set.cardinality()),
            Prepared::Compound(_) => (1, 0),
            Prepared::Scan(_, candidates) => (2, *candidates),
        }
    }
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(audience: &'a Audience, now: jiff::Timestamp) -> Self {
        Matcher {
            audience,
            reference: Reference::new(audience, now),
        }
    }

    fn index(&self) -> &'a Indexes {
        &self.audience.store.index
    }

    /// The live profiles matching `p`, and the plan as run.
    pub(crate) fn run(&self, p: &Predicate) -> (Bitmap, PlanStep) {
        self.eval(p, &self.index().live)
    }

    fn eval(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        match p {
            Predicate::And(parts) => self.and(parts, input),
            Predicate::Or(parts) => self.or(parts, input),
            Predicate::Not(inner) => {
                let (matched, inner_step) = self.eval(inner, input);
                let out = input.andnot(&matched);
                let estimated = input.cardinality().saturating_sub(inner_step.estimated);
                let s = step(
                    "not".into(),
                    Method::Not,
                    input,
                    estimated,
                    &out,
                    vec![inner_step],
                );
                (out, s)
            }
            Predicate::Segment(name) => {
                let label = format!("segment {}", Name(name));
                match self.audience.catalog.get(name) {
                    Some(definition) => {
                        let (out, inner) = self.eval(definition, input);
                        let s = step(
                            label,
                            Method::Segment,
                            input,
                            inner.estimated,
                            &out,
                            vec![inner],
                        );
                        (out, s)
                    }
                    None => {
                        let out = Bitmap::new();
                        (
                            out.clone(),
                            step(label, Method::Segment, input, 0, &out, Vec::new()),
                        )
                    }
                }
            }
            leaf => match (self.indexed(leaf), leaf) {
                (Some(set), _) => self.apply_set(leaf, &set, input),
                (
                    None,
                    Predicate::Event {
                        event,
                        count: None,
                        window: Some(window),
                        filter,
                    },
                ) if filter.is_empty() => self.did_in_window(leaf, event, window, input),
                (None, _) => self.scan(leaf, input),
            },
        }
    }

    /// A window clipped to `now` (later events do not exist yet); `None` if it is empty.
    fn visible(&self, window: &Window) -> Option<Interval> {
        let w = self.reference.window(*window);
        let end = w.end.min(self.reference.now_ns());
        (w.start <= end).then_some(Interval {
            start: w.start,
            end,
        })
    }

    /// The day buckets of `event` that overlap `w`, split into days wholly inside it and the
    /// (at most two) days it covers only in part.
    fn days(&self, event: &str, w: Interval) -> (Vec<&'a Bitmap>, Vec<&'a Bitmap>) {
        let (mut whole, mut part) = (Vec::new(), Vec::new());
        let id = self.audience.store.event_names.get(event);
        if let Some(days) = id.and_then(|id| self.index().event_days.get(&id)) {
            for (&day, set) in days.range(day_of(w.start)..=day_of(w.end)) {
                let first = i128::from(day) * DAY_NS;
                if w.start <= first && first + DAY_NS - 1 <= w.end {
                    whole.push(set);
                } else {
                    part.push(set);
                }
            }
        }
        (whole, part)
    }

    /// `did e in <window>`: profiles with an event on a day wholly inside the window are members
    /// outright; those seen only on the partly covered edge days are checked one by one.
    fn did_in_window(
        &self,
        p: &Predicate,
        event: &str,
        window: &Window,
        input: &Bitmap,
    ) -> (Bitmap, PlanStep) {
        let (sure, edge) = match self.visible(window) {
            Some(w) => {
                let (whole, part) = self.days(event, w);
                let sure = union(whole).and(input);
                let edge = union(part).and(input).andnot(&sure);
                (sure, edge)
            }
            None => (Bitmap::new(), Bitmap::new()),
        };
        let estimated = sure.cardinality() + edge.cardinality();
        let mut out: Bitmap = edge
            .iter()
            .filter(|&slot| self.reference.matches(p, slot))
            .collect();
        out.or_inplace(&sure);
        let s = step(
            p.to_string(),
            Method::Buckets,
            input,
            estimated,
            &out,
            Vec::new(),
        );
        (out, s)
    }

    fn apply_set(&self, p: &Predicate, set: &Bitmap, input: &Bitmap) -> (Bitmap, PlanStep) {
        let out = input.and(set);
        let s = step(
            p.to_string(),
            Method::Index,
            input,
            set.cardinality(),
            &out,
            Vec::new(),
        );
        (out, s)
    }

    /// Tests each candidate with the reference evaluator.
    fn scan(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        let candidates = match self.narrowing(p) {
            Some(superset) => input.and(&superset),
            None => input.clone(),
        };
        let out: Bitmap = candidates
            .iter()
            .filter(|&slot| self.reference.matches(p, slot))
            .collect();
        let s = step(
            p.to_string(),
            Method::Scan,
            input,
            candidates.cardinality(),
            &out,
            Vec::new(),
        );
        (out, s)
    }

    fn and(&self, parts: &[Predicate], input: &Bitmap) -> (Bitmap, PlanStep) {
        let mut prepared: Vec<Prepared<'_>> = parts
            .iter()
            .map(|p| match p {
                Predicate::And(_)
                | Predicate::Or(_)
                | Predicate::Not(_)
                | Predicate::Segment(_) => Prepared::Compound(p),
                leaf => match self.indexed(leaf) {
                    Some(set) => Prepared::Set(leaf, set),
                    None => {
                        let candidates = self
                            .narrowing(leaf)
                            .map_or(input.cardinality(), |s| s.and_cardinality(input));
                        Prepared::Scan(leaf, candidates)
                    }
                },
            })
            .collect();
        prepared.sort_by_key(Prepared::order);
        let estimated = prepared
            .iter()
            .map(|p| match p {
                Prepared::Set(_, set) => set.cardinality(),
                Prepared::Scan(_, candidates) => *candidates,
                Prepared::Compound(_) => input.cardinality(),
            })
            .min()
            .unwrap_or(0);
        let mut current = input.clone();
        let mut steps = Vec::with_capacity(prepared.len());
        for part in prepared {
            let p = match &part {
                Prepared::Set(p, _) | Prepared::Compound(p) | Prepared::Scan(p, _) => *p,
            };
            if current.is_empty() {
                steps.push(skipped(p));
                continue;
            }
            let (out, s) = match &part {
                Prepared::Set(p, set) => self.apply_set(p, set, &current),
                _ => self.eval(p, &current),
            };
            current = out;
            steps.push(s);
        }
        let s = step("and".into(), Method::And, input, estimated, &current, steps);
        (current, s)
    }

    fn or(&self, parts: &[Predicate], input: &Bitmap) -> (Bitmap, PlanStep) {
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
        let estimated = steps
            .iter()
            .map(|s| s.estimated)
            .sum::<u64>()
            .min(input.cardinality());
        let s = step("or".into(), Method::Or, input, estimated, &matched, steps);
        (matched, s)
    }

    /// The full member set of a condition the indexes answer exactly; `None` for the rest.
    fn indexed(&self, p: &Predicate) -> Option<Bitmap> {
        let ix = self.index();
        match p {
            Predicate::Attribute { name, test } => self.attribute(name, test),
            Predicate::Tag { tag, within: None } => Some(ix.tag_members(tag)),
            Predicate::TagAny(tags) => {
                let sets: Vec<Bitmap> = tags.iter().map(|t| ix.tag_members(t)).collect();
                Some(union(&sets))
            }
            Predicate::TagAll(tags) => {
                let mut acc = ix.live.clone();
                for t in tags {
                    if acc.is_empty() {
                        break;
                    }
                    acc.and_inplace(&ix.tag_members(t));
                }
                Some(acc)
            }
            Predicate::Consent(channel) => {
                Some(ix.consent.get(channel).cloned().unwrap_or_default())
            }
            _ => None,
        }
    }

    /// A superset of a scanned condition's members, to scan fewer candidates.
    fn narrowing(&self, p: &Predicate) -> Option<Bitmap> {
        let ix = self.index();
        let present = |name: &str| {
            ix.attributes
                .get(name)
                .map(|a| a.present.clone())
                .unwrap_or_default()
        };
        match p {
            Predicate::Event { event, window, .. } | Predicate::Aggregate { event, window, .. } => {
                if self.reference.holds_without_events(p) {
                    return None;
                }
                // Events outside the window do not count, so only profiles active in it can
                // match a condition that fails with no events.
                match window {
                    Some(w) => Some(match self.visible(w) {
                        Some(w) => {
                            let (whole, part) = self.days(event, w);
                            union(whole.into_iter().chain(part))
                        }
                        None => Bitmap::new(),
                    }),
                    None => Some(self.ever_did(event)),
                }
            }
            Predicate::Occurrence { event, .. } => {
                if self.reference.holds_without_events(p) {
                    return None;
                }
                Some(self.ever_did(event))
            }
            Predicate::Tag {
                tag,
                within: Some(_),
            } => Some(ix.tag_members(tag)),
            Predicate::Near(near) => {
                Some(present(&near.latitude_attribute).and(&present(&near.longitude_attribute)))
            }
            Predicate::Attribute { name, test } if !matches!(test, Test::Missing) => {
                Some(present(name))
            }
            _ => None,
        }
    }

    fn ever_did(&self, event: &str) -> Bitmap {
        let id = self.audience.store.event_names.get(event);
        id.and_then(|id| self.index().events.get(&id))
            .cloned()
            .unwrap_or_default()
    }

    /// Attribute tests the value indexes answer exactly; `None` sends the test to a scan.
    fn attribute(&self, name: &str, test: &Test) -> Option<Bitmap> {
        let ix = self.index();
        let Some(attr) = ix.attributes.get(name) else {
            // Never written: no profile has a value.
            return Some(match test {
                Test::Missing => ix.live.clone(),
                _ => Bitmap::new(),
            });
        };
        let present = &attr.present;
        let get_str = |m: &std::collections::HashMap<String, Bitmap>, s: &str| {
            m.get(s).cloned().unwrap_or_default()
        };
        let get_num = |m: &std::collections::BTreeMap<NumKey, Bitmap>, x: f64| {
            m.get(&NumKey::new(x)).cloned().unwrap_or_default()
        };
        Some(match (test, &attr.values) {
            (Test::Exists, _) => present.clone(),
            (Test::Missing, _) => ix.live.andnot(present),
            (Test::Cmp { op, value }, values) => match (values, value) {
                (Values::Strings(m), Literal::String(s)) => match op {
                    CmpOp::Eq => get_str(m, s),
                    CmpOp::Ne => present.andnot(&get_str(m, s)),
                    _ => return None,
                },
                (Values::Numbers(m), Literal::Number(x)) => {
                    let key = NumKey::new(*x);
                    match op {
                        CmpOp::Eq => get_num(m, *x),
                        CmpOp::Ne => present.andnot(&get_num(m, *x)),
                        CmpOp::Lt => union(m.range(..key).map(|(_, s)| s)),
                        CmpOp::Le => union(m.range(..=key).map(|(_, s)| s)),
                        CmpOp::Gt => union(
                            m.range((Bound::Excluded(key), Bound::Unbounded))
                                .map(|(_, s)| s),
                        ),
                        CmpOp::Ge => union(m.range(key..).map(|(_, s)| s)),
                    }
                }
                (Values::Bools(sets), Literal::Bool(b)) => match op {
                    CmpOp::Eq => sets[usize::from(*b)].clone(),
                    CmpOp::Ne => sets[usize::from(!*b)].clone(),
                    _ => return None,
                },
                _ => return None,
            },
            (
                Test::Between {
                    low: Literal::Number(lo),
                    high: Literal::Number(hi),
                },
                Values::Numbers(m),
            ) => {
                let (lo, hi) = (NumKey::new(*lo), NumKey::new(*hi));
                if lo > hi {
                    Bitmap::new()
                } else {
                    union(m.range(lo..=hi).map(|(_, s)| s))
                }
            }
            (Test::In(items), values) => match values {
                Values::Strings(m) => union(items.iter().filter_map(|l| match l {
                    Literal::String(s) => m.get(s),
                    _ => None,
                })),
                Values::Numbers(m) => union(items.iter().filter_map(|l| match l {
                    Literal::Number(x) => m.get(&NumKey::new(*x)),
                    _ => None,
                })),
                Values::Bools(sets) => union(items.iter().filter_map(|l| match l {
                    Literal::Bool(b) => Some(&sets[usize::from(*b)]),
                    _ => None,
                })),
                _ => return None,
            },
            (Test::NotIn(items), values) => {
                let kind_fits = |l: &Literal| {
                    matches!(
                        (values, l),
                        (Values::Strings(_), Literal::String(_))
                            | (Values::Numbers(_), Literal::Number(_))
                            | (Values::Bools(_), Literal::Bool(_))
                    )
                };
                if !matches!(
                    values,
                    Values::Strings(_) | Values::Numbers(_) | Values::Bools(_)
                ) {
                    return None;
                }
                if !items.iter().all(kind_fits) {
                    // Some item can never compare with these values: nobody passes.
                    Bitmap::new()
                } else {
                    present.andnot(&self.attribute(name, &Test::In(items.clone()))?)
                }
            }
            (Test::Contains(pattern), Values::Strings(m)) => union(
                m.iter()
                    .filter(|(v, _)| text_test(v, pattern, |s, x| s.contains(x)))
                    .map(|(_, s)| s),
            ),
            (Test::Contains(pattern), Values::Lists(m)) => union(
                m.iter()
                    .filter(|(v, _)| text_test(v, pattern, |s, x| s == x))
                    .map(|(_, s)| s),
            ),
            (Test::StartsWith(pattern), Values::Strings(m)) => union(
                m.iter()
                    .filter(|(v, _)| text_test(v, pattern, |s, x| s.starts_with(x)))
                    .map(|(_, s)| s),
            ),
            (Test::EndsWith(pattern), Values::Strings(m)) => union(
                m.iter()
                    .filter(|(v, _)| text_test(v, pattern, |s, x| s.ends_with(x)))
                    .map(|(_, s)| s),
            ),
            (Test::Matches(re), Values::Strings(m)) => union(
                m.iter()
                    .filter(|(v, _)| self.reference.regex_matches(re, v))
                    .map(|(_, s)| s),
            ),
            (Test::ContainsAny(items), Values::Lists(m)) => {
                union(items.iter().filter_map(|i| m.get(i)))
            }
            (Test::ContainsAll(items), Values::Lists(m)) => {
                let mut acc = present.clone();
                for i in items {
                    if acc.is_empty() {
                        break;
                    }
                    acc.and_inplace(&get_str(m, i));
                }
                acc
            }
            _ => return None,
        })
    }
}
