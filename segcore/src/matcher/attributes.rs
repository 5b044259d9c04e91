//! Attribute, tag and consent conditions answered exactly from the value indexes: equality and
//! ranges (range-encoded for few distinct numbers), lists, and string tests evaluated once per
//! distinct value rather than once per profile.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::index::{at_most, day_of, Bitmap, NumKey, Values};
use crate::language::{CmpOp, Literal, Predicate, Test};
use crate::reference::text_test;

use super::sets::{lazy, minus, IndexSet};
use super::Matcher;

impl<'a> Matcher<'a> {
    /// The members of a condition the indexes answer exactly; `None` for the rest.
    pub(super) fn indexed(&self, p: &Predicate) -> Option<IndexSet<'a>> {
        let ix = self.index();
        match p {
            Predicate::Attribute { name, test } => self.attribute(name, test),
            Predicate::Tag { tag, within: None } => Some(IndexSet::Union(ix.tag_sets(tag))),
            Predicate::TagAny(tags) => Some(lazy(tags.iter().flat_map(|t| ix.tag_sets(t)))),
            Predicate::TagAll(tags) => Some(IndexSet::Intersection(
                tags.iter().map(|t| ix.tag_sets(t)).collect(),
            )),
            Predicate::Consent(channel) => Some(lazy(ix.consent.get(channel))),
            _ => None,
        }
    }

    /// Attribute tests the value indexes answer exactly; `None` sends the test to a scan.
    pub(super) fn attribute(&self, name: &str, test: &Test) -> Option<IndexSet<'a>> {
        use IndexSet::Owned;
        let ix = self.index();
        let Some(attr) = ix.attributes.get(name) else {
            // Never written: no profile has a value.
            return Some(match test {
                Test::Missing => lazy([&ix.live]),
                _ => Owned(Bitmap::new()),
            });
        };
        let present = &attr.present;
        let values_of = |m: &'a HashMap<String, Bitmap>, pass: &dyn Fn(&str) -> bool| {
            lazy(m.iter().filter(|(v, _)| pass(v)).map(|(_, s)| s))
        };
        let number = |m: &'a BTreeMap<NumKey, Bitmap>, x: f64| m.get(&NumKey::new(x));
        let string = |m: &'a HashMap<String, Bitmap>, s: &str| m.get(s);
        Some(match (test, &attr.values) {
            (Test::Exists, _) => lazy([present]),
            (Test::Missing, _) => Owned(ix.live.andnot(present)),
            (Test::Cmp { op, value }, values) => match (values, value) {
                (Values::Strings(m), Literal::String(s)) => match op {
                    CmpOp::Eq => lazy(string(m, s)),
                    CmpOp::Ne => Owned(minus(present, string(m, s))),
                    _ => return None,
                },
                (Values::Numbers(m), Literal::Number(x)) => {
                    let key = NumKey::new(*x);
                    if let (Some(cumulative), CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) =
                        (&attr.at_most, op)
                    {
                        let at_most = |b| at_most(cumulative, b);
                        return Some(match op {
                            CmpOp::Lt => lazy(at_most(Bound::Excluded(key))),
                            CmpOp::Le => lazy(at_most(Bound::Included(key))),
                            CmpOp::Gt => {
                                IndexSet::Difference(present, at_most(Bound::Included(key)))
                            }
                            _ => IndexSet::Difference(present, at_most(Bound::Excluded(key))),
                        });
                    }
                    let range =
                        |r: (Bound<NumKey>, Bound<NumKey>)| lazy(m.range(r).map(|(_, s)| s));
                    match op {
                        CmpOp::Eq => lazy(number(m, *x)),
                        CmpOp::Ne => Owned(minus(present, number(m, *x))),
                        CmpOp::Lt => range((Bound::Unbounded, Bound::Excluded(key))),
                        CmpOp::Le => range((Bound::Unbounded, Bound::Included(key))),
                        CmpOp::Gt => range((Bound::Excluded(key), Bound::Unbounded)),
                        CmpOp::Ge => range((Bound::Included(key), Bound::Unbounded)),
                    }
                }
                (Values::Bools(sets), Literal::Bool(b)) => match op {
                    CmpOp::Eq => lazy([&sets[usize::from(*b)]]),
                    CmpOp::Ne => lazy([&sets[usize::from(!*b)]]),
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
                    Owned(Bitmap::new())
                } else if let Some(cumulative) = &attr.at_most {
                    let at_most = |b| at_most(cumulative, b);
                    match at_most(Bound::Included(hi)) {
                        Some(all) => IndexSet::Difference(all, at_most(Bound::Excluded(lo))),
                        None => Owned(Bitmap::new()),
                    }
                } else {
                    lazy(m.range(lo..=hi).map(|(_, s)| s))
                }
            }
            (Test::In(items), values) => match values {
                Values::Strings(m) => lazy(items.iter().filter_map(|l| match l {
                    Literal::String(s) => m.get(s),
                    _ => None,
                })),
                Values::Numbers(m) => lazy(items.iter().filter_map(|l| match l {
                    Literal::Number(x) => m.get(&NumKey::new(*x)),
                    _ => None,
                })),
                Values::Bools(sets) => lazy(items.iter().filter_map(|l| match l {
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
                    Owned(Bitmap::new())
                } else {
                    let excluded = self
                        .attribute(name, &Test::In(items.clone()))?
                        .to_bitmap(present);
                    Owned(present.andnot(&excluded))
                }
            }
            (Test::Contains(pattern), Values::Strings(m)) => {
                values_of(m, &|v| text_test(v, pattern, |s, x| s.contains(x)))
            }
            (Test::Contains(pattern), Values::Lists(m)) => {
                values_of(m, &|v| text_test(v, pattern, |s, x| s == x))
            }
            (Test::StartsWith(pattern), Values::Strings(m)) => {
                values_of(m, &|v| text_test(v, pattern, |s, x| s.starts_with(x)))
            }
            (Test::EndsWith(pattern), Values::Strings(m)) => {
                values_of(m, &|v| text_test(v, pattern, |s, x| s.ends_with(x)))
            }
            (Test::Matches(re), Values::Strings(m)) => {
                values_of(m, &|v| self.reference.regex_matches(re, v))
            }
            (Test::ContainsAny(items), Values::Lists(m)) => {
                lazy(items.iter().filter_map(|i| m.get(i)))
            }
            (Test::ContainsAll(items), Values::Lists(m)) => {
                let mut acc = present.clone();
                for i in items {
                    if acc.is_empty() {
                        break;
                    }
                    match m.get(i) {
                        Some(set) => acc.and_inplace(set),
                        None => acc.clear(),
                    }
                }
                Owned(acc)
            }
            _ => return None,
        })
    }

    /// The UTC days a time test can hold on (a superset: days it covers in part included;
    /// `Some(None)`: no day), or `None` if it is not bounded that way (`!=`, lists, a non-time
    /// literal).
    pub(super) fn time_days(&self, test: &Test) -> Option<Option<(Bound<i64>, Bound<i64>)>> {
        let time = |l: &Literal| match l {
            Literal::Time(t) => self.reference.time(*t),
            _ => None,
        };
        let day = |ns| Bound::Included(day_of(ns));
        match test {
            Test::Cmp { op, value } => {
                let at = time(value)?;
                match op {
                    CmpOp::Lt | CmpOp::Le => Some(Some((Bound::Unbounded, day(at)))),
                    CmpOp::Gt | CmpOp::Ge => Some(Some((day(at), Bound::Unbounded))),
                    CmpOp::Eq => Some(Some((day(at), day(at)))),
                    CmpOp::Ne => None,
                }
            }
            Test::Between { low, high } => {
                let (low, high) = (time(low)?, time(high)?);
                // A reversed range holds on no day (and must not reach BTreeMap::range).
                Some((low <= high).then(|| (day(low), day(high))))
            }
            Test::Within(w) => {
                let w = self.reference.window(*w);
                Some((w.start <= w.end).then(|| (day(w.start), day(w.end))))
            }
            _ => None,
        }
    }
}
