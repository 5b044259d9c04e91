//! Running aggregates of each numeric event property per profile — count, sum, min and max of
//! `purchase.amount` over all of a profile's purchases, added in time order exactly as the
//! reference adds them — so `avg(purchase.amount) >= 200`, or a sum over a window that holds
//! all of a profile's purchases, is read from one value per profile instead of its events.

#[cfg(test)]
use crate::language::AggFunc;
#[cfg(test)]
use crate::reference::Accumulator;

/// One profile's values of one (event, property) so far, in time order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Running {
    sum: f64,
    min: f64,
    max: f64,
    n: u32,
}

impl Running {
    /// No values.
    pub(crate) const EMPTY: Running = Running {
        // As the accumulator: -0.0 is the identity of addition.
        sum: -0.0,
        min: f64::NAN,
        max: f64::NAN,
        n: 0,
    };

    /// Adds the next value in time order.
    pub(crate) fn add(&mut self, x: f64) {
        if self.n == 0 {
            (self.min, self.max) = (x, x);
        } else {
            (self.min, self.max) = (self.min.min(x), self.max.max(x));
        }
        self.sum += x;
        self.n = self.n.saturating_add(1);
    }

    /// The aggregate as the reference's accumulator would hold it after the same values.
    #[cfg(test)]
    fn accumulator(&self, func: AggFunc) -> Accumulator {
        let best = (self.n > 0).then_some(match func {
            AggFunc::Max => self.max,
            _ => self.min,
        });
        Accumulator::from_parts(func, self.sum, u64::from(self.n), best)
    }
}

/// The running aggregates of one (event, property) for every slot, column by column, so a test
/// on one function reads one or two dense columns. Slots past the end have no values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Totals {
    sums: Vec<f64>,
    mins: Vec<f64>,
    maxs: Vec<f64>,
    counts: Vec<u32>,
    /// Slots whose values were not added in time order (a late event in a long history): their
    /// columns are not to be read until [`Totals::refresh`].
    pub(crate) stale: super::Bitmap,
}

impl Totals {
    pub(crate) fn get(&self, slot: u32) -> Running {
        let i = slot as usize;
        match self.counts.get(i) {
            Some(&n) => Running {
                sum: self.sums[i],
                min: self.mins[i],
                max: self.maxs[i],
                n,
            },
            None => Running::EMPTY,
        }
    }

    pub(crate) fn set(&mut self, slot: u32, r: Running) {
        let i = slot as usize;
        if self.counts.len() <= i {
            let len = i + 1;
            self.sums.resize(len, Running::EMPTY.sum);
            self.mins.resize(len, Running::EMPTY.min);
            self.maxs.resize(len, Running::EMPTY.max);
            self.counts.resize(len, 0);
        }
        (self.sums[i], self.mins[i], self.maxs[i], self.counts[i]) = (r.sum, r.min, r.max, r.n);
    }

    /// Replaces a stale slot's aggregate with one added in time order.
    pub(crate) fn refresh(&mut self, slot: u32, r: Running) {
        self.set(slot, r);
        self.stale.remove(slot);
    }

    /// How many slots the columns cover.
    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }

    /// `func` of the values of the slot at `i` (< [`Totals::len`]), as the reference's
    /// accumulator would give it: sums of nothing are (negative) zero, the others missing.
    #[cfg(test)]
    pub(crate) fn result(&self, func: AggFunc, i: usize) -> Option<f64> {
        match func {
            AggFunc::Sum => self.sum(i),
            AggFunc::Avg => self.avg(i),
            AggFunc::Min => self.min(i),
            AggFunc::Max => self.max(i),
        }
    }

    /// The sum of the values of the slot at `i` (< [`Totals::len`]); of none, -0.0.
    #[inline]
    pub(crate) fn sum(&self, i: usize) -> Option<f64> {
        Some(self.sums[i])
    }

    /// Their mean; missing for none.
    #[inline]
    pub(crate) fn avg(&self, i: usize) -> Option<f64> {
        (self.counts[i] > 0).then(|| self.sums[i] / f64::from(self.counts[i]))
    }

    /// The least; missing for none.
    #[inline]
    pub(crate) fn min(&self, i: usize) -> Option<f64> {
        (self.counts[i] > 0).then(|| self.mins[i])
    }

    /// The greatest; missing for none.
    #[inline]
    pub(crate) fn max(&self, i: usize) -> Option<f64> {
        (self.counts[i] > 0).then(|| self.maxs[i])
    }
}

/// The running aggregates as the store keeps them current, one (event, property) pair at a
/// time.
impl super::Indexes {
    /// The running aggregate of `slot`'s values of property `key` of `event`.
    pub fn running(&self, event: u32, key: u32, slot: u32) -> Running {
        self.totals
            .get(&(event, key))
            .map_or(Running::EMPTY, |t| t.get(slot))
    }

    /// Replaces the running aggregate of `slot`'s values of property `key` of `event`.
    pub fn set_running(&mut self, event: u32, key: u32, slot: u32, running: Running) {
        self.totals
            .entry((event, key))
            .or_default()
            .set(slot, running);
    }

    /// Notes that `slot`'s running aggregate of property `key` of `event` no longer follows
    /// time order.
    pub fn mark_stale(&mut self, event: u32, key: u32, slot: u32) {
        self.totals.entry((event, key)).or_default().stale.add(slot);
    }

    /// The (event, property) pairs whose running aggregate of `slot` is stale.
    pub fn stale_totals(&self, slot: u32) -> Vec<(u32, u32)> {
        self.totals
            .iter()
            .filter(|(_, t)| t.stale.contains(slot))
            .map(|(pair, _)| *pair)
            .collect()
    }

    /// Replaces a stale running aggregate with one added in time order.
    pub fn refresh_running(&mut self, event: u32, key: u32, slot: u32, running: Running) {
        self.totals
            .entry((event, key))
            .or_default()
            .refresh(slot, running);
    }

    /// Forgets every running aggregate of `slot` (it is being erased).
    pub fn forget_totals(&mut self, slot: u32) {
        for totals in self.totals.values_mut() {
            if (slot as usize) < totals.len() {
                totals.refresh(slot, Running::EMPTY);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The running values give what the accumulator gives for the same values in the same
    /// order, for every function, signed zeros and all.
    #[test]
    fn running_values_equal_the_accumulator() {
        let values = [0.1, -0.0, 0.2, 0.0, 1e16, -1e16, 3.5, 0.30000000000000004];
        for func in [AggFunc::Sum, AggFunc::Avg, AggFunc::Min, AggFunc::Max] {
            for len in 0..=values.len() {
                let mut running = Running::EMPTY;
                let mut acc = Accumulator::new(func);
                for &x in &values[..len] {
                    running.add(x);
                    acc.add(x);
                }
                let (got, want) = (running.accumulator(func).result(), acc.result());
                assert_eq!(
                    got.map(f64::to_bits),
                    want.map(f64::to_bits),
                    "{func:?} {len}"
                );
                // The columns give the same, slot by slot.
                let mut totals = Totals::default();
                totals.set(3, running);
                let column = totals.result(func, 3);
                assert_eq!(
                    column.map(f64::to_bits),
                    want.map(f64::to_bits),
                    "{func:?} {len}"
                );
            }
        }
    }
}
