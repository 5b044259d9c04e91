//! First and last occurrence of each event name per profile, by UTC day: `last(purchase) before
//! 90d ago`, `first(visit) within last 30d` and `did purchase` become unions of day sets, with
//! only the (at most two) edge days read row by row.

use std::collections::BTreeMap;

use super::{day_of, Bitmap};

/// For one event name: the profiles by the UTC day of their first such event, and by the day of
/// their last (at any time, future ones included; the matcher deals with "at or before now").
/// Each profile is in exactly one set of each map while it has such an event.
#[derive(Debug, Clone, Default)]
pub(crate) struct Occurrences {
    pub first: BTreeMap<i64, Bitmap>,
    pub last: BTreeMap<i64, Bitmap>,
}

/// A profile's first and last time of one event name, in nanoseconds since the epoch.
pub(crate) type Span = (i128, i128);

impl Occurrences {
    /// Moves `slot` from the days of `old` to those of `new` (`None`: no such event).
    pub(super) fn update(&mut self, slot: u32, old: Option<Span>, new: Option<Span>) {
        let day = |ns: i128| day_of(ns);
        move_slot(
            &mut self.first,
            slot,
            old.map(|o| day(o.0)),
            new.map(|n| day(n.0)),
        );
        move_slot(
            &mut self.last,
            slot,
            old.map(|o| day(o.1)),
            new.map(|n| day(n.1)),
        );
    }

    /// Whether no profile is left.
    pub(super) fn is_empty(&self) -> bool {
        self.first.is_empty() && self.last.is_empty()
    }
}

/// Moves `slot` from the set of day `from` to that of day `to`, dropping a set that empties.
fn move_slot(days: &mut BTreeMap<i64, Bitmap>, slot: u32, from: Option<i64>, to: Option<i64>) {
    if from == to {
        return;
    }
    if let Some(day) = from {
        if let Some(set) = days.get_mut(&day) {
            set.remove(slot);
            if set.is_empty() {
                days.remove(&day);
            }
        }
    }
    if let Some(day) = to {
        days.entry(day).or_default().add(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::DAY_NS;

    fn view(days: &BTreeMap<i64, Bitmap>) -> Vec<(i64, Vec<u32>)> {
        days.iter().map(|(d, s)| (*d, s.to_vec())).collect()
    }

    #[test]
    fn profiles_move_between_days_and_leave_no_empty_sets() {
        let mut o = Occurrences::default();
        o.update(1, None, Some((DAY_NS, DAY_NS)));
        o.update(2, None, Some((DAY_NS + 5, 3 * DAY_NS)));
        // Profile 1 gets a later event: its last moves, its first stays.
        o.update(1, Some((DAY_NS, DAY_NS)), Some((DAY_NS, 2 * DAY_NS)));
        assert_eq!(view(&o.first), [(1, vec![1, 2])]);
        assert_eq!(view(&o.last), [(2, vec![1]), (3, vec![2])]);
        o.update(2, Some((DAY_NS + 5, 3 * DAY_NS)), None);
        assert_eq!(view(&o.last), [(2, vec![1])]);
        o.update(1, Some((DAY_NS, 2 * DAY_NS)), None);
        assert!(o.is_empty());
    }
}
