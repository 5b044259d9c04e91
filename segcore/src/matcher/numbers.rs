//! Comparisons on numbers with too many distinct values for a set each (coordinates, amounts):
//! from the coarse buckets of tenths. A bucket whose every possible value passes is a member
//! set outright; the few buckets at the comparison's edges are decided by the stored values.

use crate::column::AttrRef;
use crate::explain::{Method, PlanStep};
use crate::index::{bucket, Bitmap, Values};
use crate::language::{CmpOp, Literal, Predicate, Test};

use super::plan::step;
use super::sets::lazy;
use super::Matcher;

/// Beyond this magnitude a bucket's bounds (tenths, as `f64`, off by one bucket for rounding)
/// are no longer trustworthy; such comparisons are scanned.
const TRUSTED: f64 = 1e14;

impl Matcher<'_> {
    /// `score > 3.5`, `latitude between 59 and 60`, `amount == 12` on a continuous number
    /// attribute; `None` for other attributes and tests (`!=`, lists), which are scanned.
    pub(super) fn continuous(
        &self,
        p: &Predicate,
        name: &str,
        test: &Test,
        input: &Bitmap,
    ) -> Option<(Bitmap, PlanStep)> {
        let attr = self.index().attributes.get(name)?;
        let (Values::Continuous, Some(buckets)) = (&attr.values, &attr.coarse) else {
            return None;
        };
        let number = |l: &Literal| match l {
            Literal::Number(x) if x.abs() < TRUSTED => Some(*x),
            _ => None,
        };
        // The buckets that may hold a passing value, widened by one for rounding.
        let (low, high) = match test {
            Test::Cmp { op, value } => {
                let x = number(value)?;
                match op {
                    CmpOp::Lt | CmpOp::Le => (i64::MIN, bucket(x) + 1),
                    CmpOp::Gt | CmpOp::Ge => (bucket(x) - 1, i64::MAX),
                    CmpOp::Eq => (bucket(x) - 1, bucket(x) + 1),
                    CmpOp::Ne => return None,
                }
            }
            Test::Between { low, high } => (bucket(number(low)?) - 1, bucket(number(high)?) + 1),
            _ => return None,
        };
        let check = self.reference.number_check(test);
        let passes = |x: f64| self.reference.check_number(&check, Some(x));
        let mut inside = Vec::new();
        let mut edges = Vec::new();
        if low <= high {
            for (&b, set) in buckets.range(low..=high) {
                // Every value filed under `b` lies within these bounds, with a bucket to spare
                // for the rounding of the floor that filed it; the comparisons pass on an
                // interval, so passing at both bounds means passing throughout.
                let (lo, hi) = (
                    b.saturating_sub(1) as f64 / 10.0,
                    b.saturating_add(2) as f64 / 10.0,
                );
                if lo.abs() < TRUSTED && hi.abs() < TRUSTED && passes(lo) && passes(hi) {
                    inside.push(set);
                } else {
                    edges.push(set);
                }
            }
        }
        let mut out = lazy(inside).and(input);
        let edge = lazy(edges).and(input);
        let column = self.audience.store.column(name);
        let exact: Bitmap = edge
            .iter()
            .filter(|&slot| matches!(column.get(slot), Some(AttrRef::Num(x)) if passes(x)))
            .collect();
        out.or_inplace(&exact);
        let s = step(
            p.to_string(),
            Method::Index,
            input.cardinality(),
            out.cardinality() - exact.cardinality() + edge.cardinality(),
            out.cardinality(),
            Vec::new(),
        );
        Some((out, s))
    }
}
