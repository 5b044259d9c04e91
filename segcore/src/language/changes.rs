//! When time alone changes an answer: for a stored instant `x` (an event's time, a tag's time,
//! a timestamp attribute) and a window or time literal that moves with `now`, the first instant
//! after `now` at which `x`'s test may give a different answer.
//!
//! Live membership sleeps until the earliest of these instants instead of re-checking on a
//! schedule. Each rule returns every instant at which the answer *can* change (it may not,
//! when another part of the window decides), so that re-checking there misses nothing; an
//! instant is the first one at which the new answer holds, to the nanosecond.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::ast::{Literal, Test};
use super::civil::start_of_date;
use super::time::{CalendarUnit, Nanos, TimeRef, Window};

/// The least of `candidates` after `now`.
pub(crate) fn earliest_after(
    now: Nanos,
    candidates: impl IntoIterator<Item = Nanos>,
) -> Option<Nanos> {
    candidates.into_iter().filter(|&t| t > now).min()
}

impl TimeRef {
    /// `Some(c)` when this instant is `now + c` (it moves with now); `None` when it is fixed.
    fn offset(self) -> Option<Nanos> {
        match self {
            TimeRef::Now {} => Some(0),
            TimeRef::Ago(d) => Some(-d.nanos()),
            TimeRef::FromNow(d) => Some(d.nanos()),
            TimeRef::At(_) => None,
        }
    }

    /// Where comparing `x` with this instant can change: with `r = now + c`, `x` is after `r`
    /// until `now = x - c`, equal to it then, and before it from `x - c + 1` on.
    fn crossings(self, x: Nanos) -> [Option<Nanos>; 2] {
        match self.offset() {
            Some(c) => [Some(x - c), Some(x - c + 1)],
            None => [None, None],
        }
    }
}

impl CalendarUnit {
    /// The start, in `tz`, of the period `k` periods after the one holding `x`: where a
    /// calendar window of this unit takes `x` in (`k = 1` for `last calendar ...`) or lets it go.
    fn start_after(self, x: Nanos, k: u32, tz: &TimeZone) -> Option<Nanos> {
        let x = Timestamp::from_nanosecond(x).ok()?;
        let start = self.period_start(x.to_zoned_datetime(tz.clone()).date());
        let next = start.checked_add(self.periods(k)?).ok()?;
        Some(start_of_date(next, tz)?.as_nanosecond())
    }
}

impl Window {
    /// The first instant after `now` at which whether `x` lies in this window may change.
    pub(crate) fn changes_at(self, x: Nanos, now: Nanos, tz: &TimeZone) -> Option<Nanos> {
        // Every window but `between` ends at now: `x` enters it when now reaches `x`.
        match self {
            // From now - d: `x` leaves once now passes x + d.
            Window::Last(d) => earliest_after(now, [x, x + d.nanos() + 1]),
            Window::Since(start) => {
                let leaves = start.offset().map(|c| x - c + 1);
                earliest_after(now, [Some(x), leaves].into_iter().flatten())
            }
            Window::Between { start, end } => {
                // start(now) <= x holds until now passes x - c; x <= end(now) from now = x - c.
                let leaves = start.offset().map(|c| x - c + 1);
                let enters = end.offset().map(|c| x - c);
                earliest_after(now, [leaves, enters].into_iter().flatten())
            }
            // In from `x` itself until the next period begins.
            Window::This(unit) => earliest_after(
                now,
                [Some(x), unit.start_after(x, 1, tz)].into_iter().flatten(),
            ),
            // The whole periods before the current one: in once the period after `x`'s
            // begins, out once `count` more have begun.
            Window::LastCalendar { unit, count } => earliest_after(
                now,
                [
                    unit.start_after(x, 1, tz),
                    unit.start_after(x, count.saturating_add(1), tz),
                ]
                .into_iter()
                .flatten(),
            ),
        }
    }
}

/// The first instant after `now` at which `test` applied to the instant `x` may change.
/// Tests without time literals or windows never change with time.
pub(crate) fn test_changes_at(test: &Test, x: Nanos, now: Nanos, tz: &TimeZone) -> Option<Nanos> {
    let literal = |l: &Literal| match l {
        Literal::Time(r) => r.crossings(x),
        _ => [None, None],
    };
    match test {
        Test::Cmp { value, .. } => earliest_after(now, literal(value).into_iter().flatten()),
        Test::Between { low, high } => {
            earliest_after(now, literal(low).into_iter().chain(literal(high)).flatten())
        }
        Test::In(items) | Test::NotIn(items) => {
            earliest_after(now, items.iter().flat_map(literal).flatten())
        }
        Test::Within(w) => w.changes_at(x, now, tz),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::time::{Duration, Interval};

    fn ns(s: &str) -> Nanos {
        s.parse::<Timestamp>().unwrap().as_nanosecond()
    }

    fn contains(w: Window, x: Nanos, now: Nanos, tz: &TimeZone) -> bool {
        let now = Timestamp::from_nanosecond(now).unwrap();
        let Interval { start, end } = w.resolve(now, tz);
        start <= x && x <= end
    }

    /// At each instant returned the answer may differ from the one just before it, and nothing
    /// changes between `now` and that instant (checked at many points in between). Follows up
    /// to a dozen candidates: one may be a moment where nothing changes (another edge decides),
    /// and the next is then asked from there.
    fn check_window(w: Window, x: Nanos, mut now: Nanos, tz: &TimeZone) {
        for _ in 0..12 {
            let before = contains(w, x, now, tz);
            let Some(at) = w.changes_at(x, now, tz) else {
                for k in 1..=400i128 {
                    let t = now + k * 86_400_000_000_000 / 4;
                    assert_eq!(
                        contains(w, x, t, tz),
                        before,
                        "{w} changed at {t}, none due"
                    );
                }
                return;
            };
            assert!(at > now);
            let step = ((at - now) / 97).max(1);
            let mut t = now;
            while t < at {
                assert_eq!(contains(w, x, t, tz), before, "{w}: changed before {at}");
                t += step;
            }
            assert_eq!(
                contains(w, x, at - 1, tz),
                before,
                "{w}: changed before {at}"
            );
            now = at;
        }
    }

    #[test]
    fn window_changes_are_found_to_the_nanosecond() {
        let tz = TimeZone::get("Europe/Stockholm").unwrap();
        let now = ns("2024-03-30T12:00:00Z");
        let windows = [
            Window::Last(Duration::days(7)),
            Window::Last(Duration::hours(1)),
            Window::This(CalendarUnit::Day),
            Window::This(CalendarUnit::Month),
            Window::LastCalendar {
                unit: CalendarUnit::Day,
                count: 1,
            },
            Window::LastCalendar {
                unit: CalendarUnit::Week,
                count: 2,
            },
            Window::LastCalendar {
                unit: CalendarUnit::Month,
                count: 1,
            },
            Window::This(CalendarUnit::Week),
            Window::This(CalendarUnit::Quarter),
            Window::Since(TimeRef::Ago(Duration::days(3))),
            Window::Between {
                start: TimeRef::Ago(Duration::days(10)),
                end: TimeRef::Ago(Duration::days(2)),
            },
            Window::Between {
                start: TimeRef::Ago(Duration::days(1)),
                end: TimeRef::FromNow(Duration::days(1)),
            },
        ];
        let xs = [
            "2024-03-30T11:59:59Z",
            "2024-03-30T12:00:00Z",
            "2024-03-31T01:30:00Z",
            "2024-03-20T00:00:00Z",
            "2024-03-29T23:00:00Z",
            "2024-04-02T00:00:00Z",
        ];
        for w in windows {
            for x in xs {
                check_window(w, ns(x), now, &tz);
            }
        }
    }

    #[test]
    fn comparisons_with_moving_literals_change_twice() {
        let tz = TimeZone::UTC;
        let x = ns("2024-03-01T00:00:00Z");
        let test = Test::cmp(crate::language::CmpOp::Le, TimeRef::Ago(Duration::days(1)));
        let day = 86_400_000_000_000;
        // x <= now - 1d from now = x + 1d on; the equality starts then too.
        assert_eq!(test_changes_at(&test, x, x, &tz), Some(x + day));
        assert_eq!(test_changes_at(&test, x, x + day, &tz), Some(x + day + 1));
        assert_eq!(test_changes_at(&test, x, x + day + 1, &tz), None);
        let fixed = Test::cmp(
            crate::language::CmpOp::Le,
            TimeRef::At("2024-05-01".parse().unwrap()),
        );
        assert_eq!(test_changes_at(&fixed, x, x, &tz), None);
    }
}
