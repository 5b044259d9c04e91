//! When each (profile, clock) pair is next due for a re-check: a min-heap of instants with
//! the current instant per pair beside it. Replaced and forgotten instants stay in the heap
//! until they reach its top and are found stale; the heap is rebuilt when they outnumber the
//! live ones, so it never grows without bound.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::language::Nanos;

/// One pair due at one instant: `(due, slot, clock)`, ordered by time, then slot, then
/// clock, so that equal instants come out in a stable order.
type Due = (Nanos, u32, u32);

#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Due>>,
    /// Per slot, the clocks it is due on and when.
    due: HashMap<u32, Vec<(u32, Nanos)>>,
    count: usize,
}

impl Timers {
    /// Sets (or, with `None`, clears) when `slot` is next due on `clock`.
    pub(crate) fn set(&mut self, slot: u32, clock: u32, at: Option<Nanos>) {
        let list = self.due.entry(slot).or_default();
        let held = list.iter().position(|&(s, _)| s == clock);
        match (held, at) {
            (Some(i), Some(at)) if list[i].1 == at => return,
            (Some(i), Some(at)) => list[i].1 = at,
            (None, Some(at)) => {
                list.push((clock, at));
                self.count += 1;
            }
            (Some(i), None) => {
                list.swap_remove(i);
                self.count -= 1;
            }
            (None, None) => {}
        }
        if list.is_empty() {
            self.due.remove(&slot);
        }
        if let Some(at) = at {
            self.heap.push(Reverse((at, slot, clock)));
        }
        self.tidy();
    }

    /// Forgets every instant of an erased profile.
    pub(crate) fn forget_slot(&mut self, slot: u32) {
        if let Some(list) = self.due.remove(&slot) {
            self.count -= list.len();
            self.tidy();
        }
    }

    /// Forgets every instant of a clock no segment holds any more.
    pub(crate) fn forget_clock(&mut self, clock: u32) {
        let mut dropped = 0;
        self.due.retain(|_, list| {
            let before = list.len();
            list.retain(|&(s, _)| s != clock);
            dropped += before - list.len();
            !list.is_empty()
        });
        self.count -= dropped;
        self.tidy();
    }

    /// The earliest instant any pair is due.
    pub(crate) fn next(&self) -> Option<Nanos> {
        self.peek().map(|(at, _, _)| at)
    }

    /// The earliest pair due (never a stale one: [`Timers::tidy`] keeps the top current).
    pub(crate) fn peek(&self) -> Option<Due> {
        self.heap.peek().map(|&Reverse(due)| due)
    }

    /// Takes the earliest pair due at or before `until`; it is due nowhere after this.
    pub(crate) fn pop_until(&mut self, until: Nanos) -> Option<Due> {
        let &Reverse(due) = self.heap.peek()?;
        if due.0 > until {
            return None;
        }
        self.heap.pop();
        self.set(due.1, due.2, None);
        Some(due)
    }

    fn current(&self, (at, slot, clock): Due) -> bool {
        self.due
            .get(&slot)
            .is_some_and(|list| list.contains(&(clock, at)))
    }

    /// Drops stale instants from the top (so [`Timers::next`] is exact), and rebuilds the heap
    /// once stale ones are most of it.
    fn tidy(&mut self) {
        if self.heap.len() > 2 * self.count + 64 {
            self.heap = self
                .due
                .iter()
                .flat_map(|(&slot, list)| list.iter().map(move |&(s, at)| Reverse((at, slot, s))))
                .collect();
        }
        while let Some(&Reverse(top)) = self.heap.peek() {
            if self.current(top) {
                break;
            }
            self.heap.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Timers;

    #[test]
    fn replaced_and_forgotten_instants_never_come_out() {
        let mut t = Timers::default();
        t.set(1, 0, Some(50));
        t.set(1, 0, Some(70));
        t.set(2, 0, Some(60));
        t.set(3, 1, Some(40));
        t.forget_slot(3);
        assert_eq!(t.next(), Some(60));
        assert_eq!(t.pop_until(65), Some((60, 2, 0)));
        assert_eq!(t.pop_until(65), None);
        t.set(4, 2, Some(10));
        t.forget_clock(2);
        assert_eq!(t.pop_until(100), Some((70, 1, 0)));
        assert_eq!(t.pop_until(100), None);
        assert_eq!(t.next(), None);
    }

    #[test]
    fn the_heap_stays_small_under_constant_rescheduling() {
        let mut t = Timers::default();
        for i in 0..100_000i128 {
            t.set(7, 3, Some(1_000_000 - i));
        }
        assert!(t.heap.len() <= 2 * t.count + 65);
        assert_eq!(t.next(), Some(1_000_000 - 99_999));
    }
}
