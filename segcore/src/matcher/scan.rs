//! The last resort: conditions no index or tally answers are tested one candidate at a time
//! by the reference evaluator, over the narrowest superset the indexes give (profiles active
//! in the window, with a matching event property, inside the box, with the attribute...).

use crate::explain::{Method, PlanStep};
use crate::index::{Bitmap, Values};
use crate::language::{CmpOp, Filter, Literal, Predicate, Test};

use super::geography::near_box;
use super::plan::step;
use super::sets::{lazy, IndexSet};
use super::Matcher;

impl<'a> Matcher<'a> {
    /// Tests each candidate with the reference evaluator.
    pub(super) fn scan(&self, p: &Predicate, input: &Bitmap) -> (Bitmap, PlanStep) {
        let candidates = self.candidates(p, input);
        let out: Bitmap = candidates
            .iter()
            .filter(|&slot| self.reference.matches(p, slot))
            .collect();
        let s = step(
            p.to_string(),
            Method::Scan,
            input.cardinality(),
            candidates.cardinality(),
            out.cardinality(),
            Vec::new(),
        );
        (out, s)
    }

    /// A superset of a scanned condition's members, to scan fewer of `input`'s profiles; left
    /// uncomputed (see [`IndexSet`]), so asking for it to estimate costs little.
    pub(super) fn narrowing(&self, p: &Predicate, input: &Bitmap) -> Option<IndexSet<'a>> {
        let ix = self.index();
        let present = |name: &str| ix.attributes.get(name).map(|a| &a.present);
        match p {
            Predicate::Event {
                event,
                window,
                filter,
                ..
            }
            | Predicate::Aggregate {
                event,
                window,
                filter,
                ..
            } => {
                if self.reference.holds_without_events(p) {
                    return None;
                }
                // Events outside the window do not count, so only profiles active in it can
                // match a condition that fails with no events.
                let Some(window) = window else {
                    return Some(self.with_filters(lazy(self.ever_did(event)), event, filter));
                };
                let Some(w) = self.visible(window) else {
                    return Some(IndexSet::Owned(Bitmap::new()));
                };
                let (whole, part) = self.days(event, w);
                let days: Vec<&Bitmap> = whole
                    .iter()
                    .chain(part.iter().map(|(_, b)| b))
                    .map(|b| &b.members)
                    .collect();
                // Many days and few candidates: uniting the days would cost more than testing
                // the candidates who ever did the event.
                // (Summed only as far as needed: a year of days costs microseconds to count.)
                let enough = input.cardinality().saturating_mul(8);
                let mut rows = 0u64;
                for d in &days {
                    if rows > enough {
                        break;
                    }
                    rows += d.cardinality();
                }
                let active = if days.len() > 8 && enough < rows {
                    lazy(self.ever_did(event))
                } else {
                    IndexSet::Union(days)
                };
                Some(self.with_filters(active, event, filter))
            }
            Predicate::Occurrence { event, filter, .. } => {
                if self.reference.holds_without_events(p) {
                    return None;
                }
                Some(self.with_filters(lazy(self.ever_did(event)), event, filter))
            }
            Predicate::Tag {
                tag,
                within: Some(_),
            } => Some(IndexSet::Union(ix.tag_sets(tag))),
            Predicate::Near(near) => {
                let lat = ix.attributes.get(&near.latitude_attribute);
                let lon = ix.attributes.get(&near.longitude_attribute);
                Some(match (lat, lon) {
                    (Some(lat), Some(lon)) => near_box(near, lat, lon).unwrap_or_else(|| {
                        IndexSet::Intersection(vec![vec![&lat.present], vec![&lon.present]])
                    }),
                    _ => IndexSet::Owned(Bitmap::new()),
                })
            }
            Predicate::Attribute { name, test } if !matches!(test, Test::Missing) => {
                match ix.attributes.get(name).map(|a| &a.values) {
                    Some(Values::Timestamps(days)) => match self.time_days(test) {
                        Some(Some(range)) => Some(lazy(days.range(range).map(|(_, s)| s))),
                        Some(None) => Some(IndexSet::Owned(Bitmap::new())),
                        None => Some(lazy(present(name))),
                    },
                    _ => Some(lazy(present(name))),
                }
            }
            _ => None,
        }
    }

    /// `active` narrowed further by the `where` filters that compare a string property for
    /// equality (`== "x"`, `in [...]`): a profile can only match if it ever had such an event.
    pub(super) fn with_filters(
        &self,
        active: IndexSet<'a>,
        event: &str,
        filter: &[Filter],
    ) -> IndexSet<'a> {
        let sets = self.filter_sets(event, filter);
        match active {
            IndexSet::Union(parts) if !sets.is_empty() => {
                IndexSet::Intersection(std::iter::once(parts).chain(sets).collect())
            }
            other => other,
        }
    }

    /// For each equality filter on strings, the sets of profiles that ever had `event` with
    /// one of its values (none if the property or value never occurred).
    pub(super) fn filter_sets(&self, event: &str, filter: &[Filter]) -> Vec<Vec<&'a Bitmap>> {
        let store = &self.audience.store;
        let Some(event) = store.event_names.get(event) else {
            return Vec::new();
        };
        fn strings(items: &[Literal]) -> Option<Vec<&str>> {
            items
                .iter()
                .map(|l| match l {
                    Literal::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect()
        }
        filter
            .iter()
            .filter_map(|f| {
                let values = match &f.test {
                    Test::Cmp {
                        op: CmpOp::Eq,
                        value: Literal::String(s),
                    } => vec![s.as_str()],
                    Test::In(items) => strings(items)?,
                    _ => return None,
                };
                let Some(key) = store.keys.get(&f.key) else {
                    return Some(Vec::new());
                };
                let sets = values
                    .iter()
                    .filter_map(|v| store.prop_strings.get(v))
                    .filter_map(|v| self.index().event_strings.get(&(event, key, v)))
                    .collect();
                Some(sets)
            })
            .collect()
    }

    /// The profiles `narrowing` leaves of `input`, and how many there are.
    pub(super) fn candidates(&self, p: &Predicate, input: &Bitmap) -> Bitmap {
        match self.narrowing(p, input) {
            Some(superset) => superset.and(input),
            None => input.clone(),
        }
    }

    /// How many of `input` a scan of `p` would test, or an upper bound.
    pub(super) fn estimate_candidates(&self, p: &Predicate, input: &Bitmap) -> u64 {
        let all = input.cardinality();
        match self.narrowing(p, input) {
            Some(IndexSet::Union(parts)) if parts.len() == 1 => parts[0].and_cardinality(input),
            Some(superset) => superset.estimate().min(all),
            None => all,
        }
    }

    pub(super) fn ever_did(&self, event: &str) -> Option<&'a Bitmap> {
        let id = self.audience.store.event_names.get(event);
        id.and_then(|id| self.index().events.get(&id))
    }
}
