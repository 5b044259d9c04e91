//! `next_change_at`: the earliest instant at which time alone changes some segment's
//! membership. The timers hold, for each profile and clock, the first instant at which the
//! clock's condition *may* turn (`schedule.rs`); at many of them nothing changes (a second
//! purchase still inside the window, another condition deciding). So the earliest are checked
//! — the clock's segments evaluated for that profile just before the instant and at it — and
//! one where nothing changes is passed over: its pair is moved on to its next instant.
//!
//! Passing over is work that advancing would do anyway (it would find nothing to change
//! there), done early. It stays exact because an answer at an instant depends only on the
//! profile's data and the instant: a pair passed over is remembered, and a write to its
//! profile (or a segment joining a clock) computes its instant again from the clock.
//!
//! One call checks at most [`MAX_CHECKS`] instants; past that, it answers the next unchecked
//! one, where advancing may find nothing to do (a lower bound, the only case it is one).

use jiff::Timestamp;

use super::schedule::next_change;
use super::Live;
use crate::Audience;

/// Instants one `next_change_at` call checks before answering the next one unchecked.
pub const MAX_CHECKS: usize = 10_000;

impl Live {
    /// The earliest instant at which time alone changes some membership (see the module).
    pub(crate) fn next_change_at(&mut self, audience: &Audience) -> Option<Timestamp> {
        for _ in 0..MAX_CHECKS {
            let (due, slot, c) = self.timers.peek()?;
            if self.changes_at(audience, c, slot, due) {
                return Timestamp::from_nanosecond(due).ok();
            }
            // Nothing changes there: move the pair on, as advancing through it would.
            self.timers.pop_until(due);
            let next = self.clocks[c as usize]
                .as_ref()
                .and_then(|clock| next_change(audience, &clock.predicate, slot, due));
            self.timers.set(slot, c, next);
            let held = self.passed_over.entry(slot).or_default();
            if !held.contains(&c) {
                held.push(c);
            }
        }
        self.timers
            .next()
            .and_then(|t| Timestamp::from_nanosecond(t).ok())
    }

    /// Whether a segment holding clock `c` answers differently for `slot` at `due` than just
    /// before it.
    fn changes_at(&mut self, audience: &Audience, c: u32, slot: u32, due: i128) -> bool {
        let (Ok(before), Ok(at)) = (
            Timestamp::from_nanosecond(due - 1),
            Timestamp::from_nanosecond(due),
        ) else {
            return true;
        };
        let (reverse, map) = self.index_for(audience);
        let Some(clock) = self.clocks[c as usize].as_ref() else {
            return true;
        };
        // Tracked segments are the catalog's, so each has an id in its index.
        let among: Vec<u32> = clock
            .segments
            .iter()
            .filter_map(|&id| map.get(id as usize).copied())
            .filter(|&r| r != u32::MAX)
            .collect();
        let (mut then, mut now) = (Vec::new(), Vec::new());
        reverse.check(audience, slot, before, &among, &mut then);
        reverse.check(audience, slot, at, &among, &mut now);
        then != now
    }

    /// Computes again, from the clock, the instants of every pair passed over.
    pub(super) fn recheck_passed_over(&mut self, audience: &Audience) {
        let now = self.clock.as_nanosecond();
        for (slot, clocks) in std::mem::take(&mut self.passed_over) {
            for c in clocks {
                self.reschedule(audience, c, slot, now);
            }
        }
    }
}
