//! `did e <count> times [in <window>]`: a tally of each profile's rows in the window's day
//! buckets, compared without visiting any profile.

use super::filters::RowFilter;
use crate::explain::{Method, PlanStep};
use crate::index::{Bitmap, DayBucket};
use crate::language::{CmpOp, CountTest, Filter, Interval, Predicate};

use super::days::rows_in;
use super::plan::step;
use super::Matcher;

/// The slots whose tally is not zero, in order: eight tallies are read as one word, and zero
/// words (most, for a window of a few days) are skipped whole.
pub(super) fn nonzero(tallies: &[u8]) -> Vec<u32> {
    let mut slots = Vec::new();
    let (words, tail) = tallies.as_chunks::<8>();
    for (c, word) in words.iter().enumerate() {
        if u64::from_ne_bytes(*word) != 0 {
            for (i, &t) in word.iter().enumerate() {
                if t != 0 {
                    slots.push((c * 8 + i) as u32);
                }
            }
        }
    }
    let start = words.len() * 8;
    for (i, &t) in tail.iter().enumerate() {
        if t != 0 {
            slots.push((start + i) as u32);
        }
    }
    slots
}

impl<'a> Matcher<'a> {
    /// `did e <count> times [in <window>]` from the day buckets' rows: each profile's events in
    /// the window are tallied (saturating at 255, above any count this is used for), and the
    /// tallies compared — with profiles that have none counted as zero.
    pub(super) fn tally(
        &self,
        p: &Predicate,
        count: CountTest,
        filter: &[Filter],
        w: Option<Interval>,
        (whole, part): (&[&DayBucket], &[(i128, &DayBucket)]),
        input: &Bitmap,
    ) -> (Bitmap, PlanStep) {
        let mut tallies = vec![0u8; self.audience.store.slot_bound()];
        // For "at least n" (and "more than n"), the members are the slots whose tally reaches
        // a threshold: noted as it happens, so the tallies need no scan afterwards.
        let threshold = match count.op {
            CmpOp::Ge => Some(count.times),
            CmpOp::Gt => Some(count.times + 1),
            _ => None,
        }
        .filter(|&t| t >= 1)
        .map(|t| t as u8);
        let mut reached: Vec<u32> = Vec::new();
        let mut add = |slot: u32| {
            let t = &mut tallies[slot as usize];
            *t = t.saturating_add(1);
            if Some(*t) == threshold {
                reached.push(slot);
            }
        };
        let mut filter = RowFilter::new(&self.audience.store, filter);
        for bucket in whole {
            match filter.passing(&self.reference, bucket) {
                None => bucket.slots.iter().for_each(|&slot| add(slot)),
                Some(pass) => bucket
                    .slots
                    .iter()
                    .zip(pass)
                    .filter(|(_, ok)| *ok)
                    .for_each(|(&slot, _)| add(slot)),
            }
        }
        if let Some(w) = w {
            for &(first, bucket) in part {
                let pass = filter.passing(&self.reference, bucket);
                for (row, &slot) in bucket.slots.iter().enumerate() {
                    if bucket.row_within(row, first, w) && pass.as_ref().is_none_or(|p| p[row]) {
                        add(slot);
                    }
                }
            }
        }
        let holds = |n: u8| count.op.holds(u32::from(n).cmp(&count.times));
        let rows = rows_in(whole, part);
        // Profiles with no rows have a tally of zero: collect whichever side is the exception.
        let zero_holds = holds(0);
        let exceptions = if threshold.is_some() {
            reached.sort_unstable();
            reached
        } else {
            let mut exceptions = nonzero(&tallies);
            exceptions.retain(|&slot| holds(tallies[slot as usize]) != zero_holds);
            exceptions
        };
        let exceptions = Bitmap::of(&exceptions);
        let out = if zero_holds {
            input.andnot(&exceptions)
        } else {
            exceptions.and(input)
        };
        let s = step(
            p.to_string(),
            Method::Tally,
            input.cardinality(),
            rows,
            out.cardinality(),
            Vec::new(),
        );
        (out, s)
    }
}
