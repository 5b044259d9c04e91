//! Times filed by UTC day — first/last occurrences of events, timestamp attributes — tested
//! against a range of instants: days wholly inside the range are members outright, the (at
//! most two) days it covers in part are decided exactly by the caller, and when most days are
//! inside, the members are everyone filed minus the days outside.

use std::collections::BTreeMap;

use crate::column::AttrRef;
use crate::explain::{Method, PlanStep};
use crate::index::{day_of, Bitmap, Values, DAY_NS};
use crate::language::{CmpOp, Interval, Literal, Predicate, Test};

use super::plan::exact;
use super::sets::lazy;
use super::Matcher;

/// Every instant.
pub(super) const ALWAYS: Interval = Interval {
    start: i128::MIN,
    end: i128::MAX,
};

/// The profiles of `input` filed in `days` under a time in `range` (not empty). `all` is the
/// union of every day's set, where the caller knows it, which allows the complement; `exact`
/// decides the candidates of a day `range` covers only in part, given the day.
pub(super) fn on_days(
    days: &BTreeMap<i64, Bitmap>,
    all: Option<&Bitmap>,
    range: Interval,
    input: &Bitmap,
    mut exact: impl FnMut(i64, &Bitmap) -> Bitmap,
) -> Bitmap {
    let (low, high) = (day_of(range.start), day_of(range.end));
    let mut inside = Vec::new();
    let mut edges = Vec::new();
    for (&day, set) in days.range(low..=high) {
        let first = i128::from(day) * DAY_NS;
        if range.start <= first && first + DAY_NS - 1 <= range.end {
            inside.push(set);
        } else {
            edges.push((day, set));
        }
    }
    let outside = days.len() - inside.len() - edges.len();
    let mut out = match all {
        // Most days inside: everyone filed, minus the days outside and the edge days' sets
        // (decided below).
        Some(all) if outside < inside.len() => {
            let mut out = all.and(input);
            let before = days.range(..low).map(|(_, s)| s);
            let after = days.range(high.saturating_add(1)..).map(|(_, s)| s);
            let excluded: Vec<&Bitmap> = before
                .chain(after)
                .chain(edges.iter().map(|(_, s)| *s))
                .collect();
            if !excluded.is_empty() {
                out.andnot_inplace(&Bitmap::fast_or(&excluded));
            }
            out
        }
        _ => lazy(inside).and(input),
    };
    for (day, set) in edges {
        let candidates = set.and(input);
        if !candidates.is_empty() {
            out.or_inplace(&exact(day, &candidates));
        }
    }
    out
}

impl Matcher<'_> {
    /// A test on a timestamp attribute (`signed_up_at within this month`) from its day sets,
    /// the edge days decided by the stored values; `None` if the attribute holds no
    /// timestamps or the test is not one range.
    pub(super) fn timestamps(
        &self,
        p: &Predicate,
        name: &str,
        test: &Test,
        input: &Bitmap,
    ) -> Option<(Bitmap, PlanStep)> {
        let Values::Timestamps(days) = &self.index().attributes.get(name)?.values else {
            return None;
        };
        let range = self.time_range(test)?;
        let out = if range.start <= range.end {
            let column = self.audience.store.column(name);
            on_days(days, None, range, input, |_, candidates| {
                candidates
                    .iter()
                    .filter(|&slot| {
                        matches!(
                            column.get(slot),
                            Some(AttrRef::Time(t)) if range.contains(t.as_nanosecond())
                        )
                    })
                    .collect()
            })
        } else {
            Bitmap::new()
        };
        Some(exact(p, Method::Buckets, input, out))
    }

    /// A time test as the inclusive range of instants that pass it; `None` for tests that are
    /// not one range (`!=`, lists, a literal that is not a time).
    pub(super) fn time_range(&self, test: &Test) -> Option<Interval> {
        let time = |l: &Literal| match l {
            Literal::Time(t) => self.reference.time(*t),
            _ => None,
        };
        let range = |start, end| Some(Interval { start, end });
        match test {
            Test::Exists => Some(ALWAYS),
            Test::Cmp { op, value } => {
                let x = time(value)?;
                match op {
                    CmpOp::Lt => range(i128::MIN, x - 1),
                    CmpOp::Le => range(i128::MIN, x),
                    CmpOp::Gt => range(x + 1, i128::MAX),
                    CmpOp::Ge => range(x, i128::MAX),
                    CmpOp::Eq => range(x, x),
                    CmpOp::Ne => None,
                }
            }
            Test::Between { low, high } => range(time(low)?, time(high)?),
            Test::Within(w) => Some(self.reference.window(*w)),
            _ => None,
        }
    }
}
