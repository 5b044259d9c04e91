//! Running aggregates of each numeric event property per profile — count, sum, min and max of
//! `purchase.amount` over all of a profile's purchases, added in time order exactly as the
//! reference adds them — so `avg(purchase.amount) >= 200`, or a sum over a window that holds
//! all of a profile's purchases, is read from one value per profile instead of its events.

use crate::language::AggFunc;
use crate::reference::Accumulator;

/// One profile's values of one (event, property) so far, in time order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Running {
    sum: f64,
    min: f64,
    max: f64,
    n: u64,
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
        self.n += 1;
    }

    /// Whether there are values.
    pub(crate) fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The aggregate as the reference's accumulator would hold it after the same values.
    pub(crate) fn accumulator(&self, func: AggFunc) -> Accumulator {
        let best = (self.n > 0).then_some(match func {
            AggFunc::Min => self.min,
            AggFunc::Max => self.max,
            _ => self.min,
        });
        Accumulator::from_parts(func, self.sum, self.n, best)
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
            }
        }
    }
}
