//! The reference evaluator: the definition of what a predicate means for one profile.
//!
//! It is deliberately plain — loops over a profile's values, tags and events — so that it can
//! be read as a specification. Every faster engine must return exactly its answers. The
//! rules it implements are written down in `docs/segment-language.md`.

use hashbrown::HashMap;
use std::cell::RefCell;
use std::cmp::Ordering;

use jiff::Timestamp;
use regex::Regex;

use crate::column::AttrRef;
use crate::geo;
use crate::language::{
    AggFunc, CmpOp, CountTest, Filter, Interval, Literal, Nanos, Near, Predicate, Test,
    TextPattern, TimeRef, Which, Window,
};
use crate::store::{PropValue, Record, RecordRef, StoredEvent};
use crate::Audience;

/// A value as a test sees it: borrowed, with times as nanoseconds.
#[derive(Debug, Clone, Copy)]
enum Operand<'v> {
    Str(&'v str),
    Num(f64),
    Bool(bool),
    Time(Nanos),
    List(&'v [String]),
}

impl<'v> From<AttrRef<'v>> for Operand<'v> {
    fn from(v: AttrRef<'v>) -> Self {
        match v {
            AttrRef::Str(s) => Operand::Str(s),
            AttrRef::Num(n) => Operand::Num(n),
            AttrRef::Bool(b) => Operand::Bool(b),
            AttrRef::Time(t) => Operand::Time(t.as_nanosecond()),
            AttrRef::List(items) => Operand::List(items),
        }
    }
}

/// Evaluates predicates for profiles of one audience at one `now`.
///
/// Windows, time literals and regexes are resolved once per evaluator and reused across
/// profiles; that is a cache, not a change of meaning.
pub(crate) struct Reference<'a> {
    audience: &'a Audience,
    now: Timestamp,
    now_ns: Nanos,
    windows: RefCell<HashMap<Window, Interval>>,
    times: RefCell<HashMap<TimeRef, Option<Nanos>>>,
    regexes: RefCell<HashMap<String, Option<Regex>>>,
}

impl<'a> Reference<'a> {
    pub(crate) fn new(audience: &'a Audience, now: Timestamp) -> Self {
        Reference {
            audience,
            now,
            now_ns: now.as_nanosecond(),
            windows: RefCell::default(),
            times: RefCell::default(),
            regexes: RefCell::default(),
        }
    }

    /// Whether the live profile in `slot` matches `p`. Erased or unknown slots never match.
    fn tag_name(&self, id: u32) -> &str {
        self.audience.store.tag_names.name(id)
    }

    /// The evaluation time in nanoseconds.
    pub(crate) fn now_ns(&self) -> Nanos {
        self.now_ns
    }

    /// The record of a live slot.
    pub(crate) fn record(&self, slot: u32) -> Option<RecordRef<'a>> {
        self.audience.store.record(slot)
    }

    pub(crate) fn matches(&self, p: &Predicate, slot: u32) -> bool {
        match self.audience.store.record(slot) {
            Some(record) => self.eval(p, slot, record),
            None => false,
        }
    }

    /// Whether an event, aggregate or occurrence condition holds for a profile with no events
    /// (e.g. `did x exactly 0 times`, `sum(x.v) < 5`). When it does not, only profiles that
    /// ever did the event can match, which lets the matcher narrow its candidates.
    pub(crate) fn holds_without_events(&self, p: &Predicate) -> bool {
        let empty = Record::default();
        self.eval(p, u32::MAX, RecordRef::without_sealed(&empty))
    }

    fn eval(&self, p: &Predicate, slot: u32, record: RecordRef<'_>) -> bool {
        match p {
            Predicate::And(parts) => parts.iter().all(|q| self.eval(q, slot, record)),
            Predicate::Or(parts) => parts.iter().any(|q| self.eval(q, slot, record)),
            Predicate::Not(inner) => !self.eval(inner, slot, record),
            Predicate::Attribute { name, test } => {
                let value = self.audience.store.attribute(slot, name);
                self.test(test, value.map(Operand::from))
            }
            Predicate::Tag { tag, within } => {
                let window = within.map(|w| self.window(w));
                record.tags.iter().any(|(held, added)| {
                    tag_matches(tag, self.tag_name(*held))
                        && window.is_none_or(|w| w.contains(added.as_nanosecond()))
                })
            }
            Predicate::TagAny(tags) => tags.iter().any(|t| {
                record
                    .tags
                    .iter()
                    .any(|(held, _)| tag_matches(t, self.tag_name(*held)))
            }),
            Predicate::TagAll(tags) => tags.iter().all(|t| {
                record
                    .tags
                    .iter()
                    .any(|(held, _)| tag_matches(t, self.tag_name(*held)))
            }),
            Predicate::Event {
                event,
                count,
                window,
                filter,
            } => {
                let n = self.events(record, event, window.as_ref(), filter).count();
                count_passes(*count, n)
            }
            Predicate::Aggregate {
                func,
                event,
                value,
                window,
                filter,
                test,
            } => {
                let result = self.aggregate(record, *func, event, value, window.as_ref(), filter);
                self.test(test, result.map(Operand::Num))
            }
            Predicate::Occurrence {
                which,
                event,
                filter,
                test,
            } => {
                let t = self.occurrence(record, *which, event, filter);
                self.test(test, t.map(|e| Operand::Time(e.ns())))
            }
            Predicate::Near(near) => self.near(near, slot),
            Predicate::Consent(channel) => self
                .audience
                .store
                .channels
                .get(channel)
                .and_then(|c| record.consent(c))
                .is_some_and(|c| c.granted),
            Predicate::Segment(name) => match self.audience.catalog.get(name) {
                Some(q) => self.eval(q, slot, record),
                None => false,
            },
        }
    }

    /// The aggregate of `value` over the events an aggregate condition sees (`None` where it
    /// is undefined): what `sum(event.value in window where filter)` compares.
    pub(crate) fn aggregate(
        &self,
        record: RecordRef<'_>,
        func: AggFunc,
        event: &str,
        value: &str,
        window: Option<&Window>,
        filter: &[Filter],
    ) -> Option<f64> {
        let key = self.audience.store.keys.get(value);
        let values = self.events(record, event, window, filter).filter_map(|e| {
            match key.and_then(|k| record.property(e, k)) {
                Some(PropValue::Number(x)) => Some(x),
                _ => None,
            }
        });
        aggregate(func, values)
    }

    /// The first or last matching event at or before now, if any.
    pub(crate) fn occurrence<'r>(
        &'r self,
        record: RecordRef<'r>,
        which: Which,
        event: &str,
        filter: &'r [Filter],
    ) -> Option<&'r StoredEvent> {
        let mut events = self.events(record, event, None, filter);
        match which {
            Which::First => events.next(),
            Which::Last => events.last(),
        }
    }

    /// The profile's events named `event`, at or before now, within `window`, passing `filter`,
    /// in time order.
    pub(crate) fn events<'r>(
        &'r self,
        record: RecordRef<'r>,
        event: &str,
        window: Option<&Window>,
        filter: &'r [Filter],
    ) -> impl Iterator<Item = &'r StoredEvent> + 'r {
        let name = self.audience.store.event_names.get(event);
        let window = window.map(|w| self.window(*w));
        // Events are sorted by time, so those outside the window or after now are cut off by
        // two searches; the tests below still state the whole rule.
        let start = window.map_or(i128::MIN, |w| w.start);
        let end = window.map_or(self.now_ns, |w| w.end.min(self.now_ns));
        let events = record.events().cut(|e| e.ns() < start, |e| e.ns() <= end);
        events.filter(move |e| {
            let t = e.ns();
            Some(e.name) == name
                && t <= self.now_ns
                && window.is_none_or(|w| w.contains(t))
                && filter.iter().all(|f| {
                    let key = self.audience.store.keys.get(&f.key);
                    let value = key.and_then(|k| record.property(e, k));
                    self.property_passes(&f.test, value)
                })
        })
    }

    /// Whether `test` holds for a number (or a missing value).
    pub(crate) fn number_test(&self, test: &Test, value: Option<f64>) -> bool {
        self.test(test, value.map(Operand::Num))
    }

    /// A test on numbers made ready for millions of values: comparisons with a number literal
    /// become one comparison each, exactly the ones [`Reference::number_test`] makes (the
    /// property tests hold the two equal); other tests go through it.
    pub(crate) fn number_check<'t>(&self, test: &'t Test) -> NumberCheck<'t> {
        match test {
            Test::Cmp {
                op,
                value: Literal::Number(b),
            } => NumberCheck::Cmp(*op, *b),
            Test::Between {
                low: Literal::Number(low),
                high: Literal::Number(high),
            } => NumberCheck::Between(*low, *high),
            other => NumberCheck::Other(other),
        }
    }

    /// Whether `value` passes a test made ready by [`Reference::number_check`].
    #[inline]
    pub(crate) fn check_number(&self, check: &NumberCheck<'_>, value: Option<f64>) -> bool {
        match (check, value) {
            (NumberCheck::Cmp(op, b), Some(x)) => x.partial_cmp(b).is_some_and(|o| op.holds(o)),
            (NumberCheck::Between(low, high), Some(x)) => {
                matches!(
                    x.partial_cmp(low),
                    Some(Ordering::Greater | Ordering::Equal)
                ) && matches!(x.partial_cmp(high), Some(Ordering::Less | Ordering::Equal))
            }
            (NumberCheck::Cmp(..) | NumberCheck::Between(..), None) => false,
            (NumberCheck::Other(test), value) => self.number_test(test, value),
        }
    }

    /// Whether an event property (`None`: the event lacks it) passes a `where` filter's test:
    /// the one rule for stored events and day-bucket rows alike.
    pub(crate) fn property_passes(&self, test: &Test, value: Option<PropValue>) -> bool {
        self.test(test, value.map(|v| self.prop_operand(v)))
    }

    fn prop_operand(&self, v: PropValue) -> Operand<'a> {
        match v {
            PropValue::Number(x) => Operand::Num(x),
            PropValue::String(id) => Operand::Str(self.audience.store.prop_strings.name(id)),
        }
    }

    fn near(&self, near: &Near, slot: u32) -> bool {
        let store = &self.audience.store;
        let lat = store.attribute(slot, &near.latitude_attribute);
        let lon = store.attribute(slot, &near.longitude_attribute);
        geo::position(lat, lon).is_some_and(|at| geo::within(near, at))
    }

    /// A window resolved at this evaluator's `now` (cached).
    pub(crate) fn window(&self, w: Window) -> Interval {
        *self
            .windows
            .borrow_mut()
            .entry(w)
            .or_insert_with(|| w.resolve(self.now, &self.audience.time_zone))
    }

    /// A time literal resolved at this evaluator's `now` (cached).
    pub(crate) fn time(&self, t: TimeRef) -> Option<Nanos> {
        *self
            .times
            .borrow_mut()
            .entry(t)
            .or_insert_with(|| t.resolve(self.now, &self.audience.time_zone))
    }

    pub(crate) fn regex_matches(&self, pattern: &str, text: &str) -> bool {
        let mut cache = self.regexes.borrow_mut();
        let re = cache
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(pattern).ok());
        re.as_ref().is_some_and(|re| re.is_match(text))
    }

    /// Compares a value with a literal of the same kind; `None` when the kinds differ.
    fn compare(&self, v: Operand<'_>, lit: &Literal) -> Option<Ordering> {
        match (v, lit) {
            (Operand::Str(a), Literal::String(b)) => Some(a.cmp(b.as_str())),
            (Operand::Num(a), Literal::Number(b)) => a.partial_cmp(b),
            (Operand::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
            (Operand::Time(a), Literal::Time(t)) => self.time(*t).map(|b| a.cmp(&b)),
            _ => None,
        }
    }

    /// Applies a test to a value; a missing value passes only `missing`.
    fn test(&self, test: &Test, value: Option<Operand<'_>>) -> bool {
        let Some(v) = value else {
            return matches!(test, Test::Missing);
        };
        match test {
            Test::Exists => true,
            Test::Missing => false,
            Test::Cmp { op, value } => self.compare(v, value).is_some_and(|o| op.holds(o)),
            Test::Between { low, high } => {
                matches!(
                    self.compare(v, low),
                    Some(Ordering::Greater | Ordering::Equal)
                ) && matches!(
                    self.compare(v, high),
                    Some(Ordering::Less | Ordering::Equal)
                )
            }
            Test::In(items) => items
                .iter()
                .any(|l| self.compare(v, l) == Some(Ordering::Equal)),
            Test::NotIn(items) => items
                .iter()
                .all(|l| matches!(self.compare(v, l), Some(Ordering::Less | Ordering::Greater))),
            Test::Contains(p) => match v {
                Operand::Str(s) => text_test(s, p, |s, x| s.contains(x)),
                Operand::List(items) => items.iter().any(|s| text_test(s, p, |s, x| s == x)),
                _ => false,
            },
            Test::StartsWith(p) => {
                matches!(v, Operand::Str(s) if text_test(s, p, |s, x| s.starts_with(x)))
            }
            Test::EndsWith(p) => {
                matches!(v, Operand::Str(s) if text_test(s, p, |s, x| s.ends_with(x)))
            }
            Test::Matches(pattern) => {
                matches!(v, Operand::Str(s) if self.regex_matches(pattern, s))
            }
            Test::ContainsAny(wanted) => {
                matches!(v, Operand::List(items) if wanted.iter().any(|w| items.contains(w)))
            }
            Test::ContainsAll(wanted) => {
                matches!(v, Operand::List(items) if wanted.iter().all(|w| items.contains(w)))
            }
            Test::Within(w) => matches!(v, Operand::Time(t) if self.window(*w).contains(t)),
        }
    }
}

/// Whether `n` matching events pass a `did` condition's count (at least once when it has none).
pub(crate) fn count_passes(count: Option<CountTest>, n: usize) -> bool {
    match count {
        None => n >= 1,
        Some(c) => c.op.holds((n as u64).cmp(&u64::from(c.times))),
    }
}

/// Whether a held tag matches a pattern: the tag itself, or `ns:*` for any tag of namespace `ns`.
pub(crate) fn tag_matches(pattern: &str, held: &str) -> bool {
    match pattern.strip_suffix(":*") {
        Some(ns) => held
            .strip_prefix(ns)
            .is_some_and(|rest| rest.starts_with(':')),
        None => pattern == held,
    }
}

pub(crate) fn text_test(s: &str, p: &TextPattern, f: impl Fn(&str, &str) -> bool) -> bool {
    if p.ignore_case {
        f(&s.to_lowercase(), &p.value.to_lowercase())
    } else {
        f(s, &p.value)
    }
}

/// The aggregate of `values` (in time order); `None` where it is undefined.
fn aggregate(func: AggFunc, values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut acc = Accumulator::new(func);
    values.for_each(|x| acc.add(x));
    acc.result()
}

/// A numeric test made ready by [`Reference::number_check`].
pub(crate) enum NumberCheck<'t> {
    /// `<op> <number>`.
    Cmp(CmpOp, f64),
    /// `between <low> and <high>`.
    Between(f64, f64),
    /// Any other test.
    Other(&'t Test),
}

/// An aggregate built one value at a time, in time order. The matcher's tallies use the same
/// accumulator in the same order, so their sums are bit-for-bit the reference's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accumulator {
    func: AggFunc,
    sum: f64,
    n: u64,
    best: Option<f64>,
}

impl Accumulator {
    pub(crate) fn new(func: AggFunc) -> Self {
        Accumulator {
            func,
            // -0.0 is the identity of addition, so a sum of nothing is (negative) zero.
            sum: -0.0,
            n: 0,
            best: None,
        }
    }

    /// An accumulator that has taken `n` values adding up to `sum`, the best of which (the
    /// least for min, the greatest for max) is `best`.
    pub(crate) fn from_parts(func: AggFunc, sum: f64, n: u64, best: Option<f64>) -> Self {
        Accumulator { func, sum, n, best }
    }

    pub(crate) fn add(&mut self, x: f64) {
        self.sum += x;
        self.n += 1;
        self.best = Some(match (self.func, self.best) {
            (_, None) => x,
            (AggFunc::Min, Some(b)) => b.min(x),
            (AggFunc::Max, Some(b)) => b.max(x),
            (_, Some(b)) => b,
        });
    }

    /// Sum: the sum (zero for no values); avg, min, max: missing for no values.
    pub(crate) fn result(self) -> Option<f64> {
        match self.func {
            AggFunc::Sum => Some(self.sum),
            AggFunc::Avg => (self.n > 0).then(|| self.sum / self.n as f64),
            AggFunc::Min | AggFunc::Max => self.best,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tag_matches;

    #[test]
    fn wildcards_match_a_whole_namespace_only() {
        assert!(tag_matches("interest:*", "interest:outdoor"));
        assert!(!tag_matches("interest:*", "interests:outdoor"));
        assert!(!tag_matches("interest:*", "interest"));
        assert!(tag_matches("vip", "vip"));
        assert!(!tag_matches("vip", "vip:gold"));
    }
}
