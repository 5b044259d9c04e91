//! Civil (wall-clock) times as instants in a time zone: the one rule every literal, calendar
//! window and contact-list date goes through, so that a time a daylight-saving change skips or
//! repeats means the same everywhere (`docs/segment-language.md`, "Time").

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;

/// The instant a civil (wall-clock) time names in `tz`: the earliest instant whose local time
/// is at or after it. So a civil time that a daylight-saving change skips (`02:30` on a
/// spring-forward night in Stockholm) is the instant just after the gap (`03:00` local, the
/// moment of the change), and a repeated one (`02:30` on a fall-back night) its first
/// occurrence. Comparisons keep their order this way: every instant whose local time reads
/// `02:30` or later is at or after it. Every place a civil time becomes an instant — time
/// literals, calendar windows, contact lists' civil dates — goes through here.
pub(crate) fn civil_instant(dt: DateTime, tz: &TimeZone) -> Option<Timestamp> {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the offset after the gap, the civil time lands before the change;
            // the change itself is the first instant whose local time is past the gap.
            let before_change = after.to_timestamp(dt).ok()?;
            tz.following(before_change)
                .next()
                .map(|transition| transition.timestamp())
        }
        // Unambiguous: the one instant; a fold: the earlier of the two.
        _ => ambiguous.earlier().ok(),
    }
}

/// Local midnight at the start of `date` in `tz` (see [`civil_instant`] for a skipped one).
pub(crate) fn start_of_date(date: Date, tz: &TimeZone) -> Option<Timestamp> {
    civil_instant(date.to_datetime(Time::midnight()), tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::{CalendarUnit, TimeLiteral, Window};

    fn instant(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn civil_times_in_gaps_and_folds() {
        let stockholm = TimeZone::get("Europe/Stockholm").unwrap();
        let civil = |s: &str| civil_instant(s.parse().unwrap(), &stockholm).unwrap();
        // Spring: 02:00-02:59 do not exist; each is the change itself, 01:00Z.
        assert_eq!(civil("2024-03-31T02:00"), instant("2024-03-31T01:00:00Z"));
        assert_eq!(civil("2024-03-31T02:30"), instant("2024-03-31T01:00:00Z"));
        assert_eq!(
            civil("2024-03-31T01:59:59"),
            instant("2024-03-31T00:59:59Z")
        );
        assert_eq!(civil("2024-03-31T03:00"), instant("2024-03-31T01:00:00Z"));
        // Autumn: 02:30 happens twice; the first (still summer time) is meant.
        assert_eq!(civil("2023-10-29T02:30"), instant("2023-10-29T00:30:00Z"));
        assert_eq!(civil("2023-10-29T03:00"), instant("2023-10-29T02:00:00Z"));

        // Santiago skips midnight itself (00:00 -> 01:00, -04 to -03): that day starts at
        // 01:00 local, and a calendar window of that day starts there too.
        let santiago = TimeZone::get("America/Santiago").unwrap();
        let date: Date = "2024-09-08".parse().unwrap();
        assert_eq!(
            start_of_date(date, &santiago).unwrap(),
            instant("2024-09-08T04:00:00Z")
        );
        let now = instant("2024-09-08T15:00:00Z");
        let today = Window::This(CalendarUnit::Day).resolve(now, &santiago);
        assert_eq!(today.start, instant("2024-09-08T04:00:00Z").as_nanosecond());
        let literal: TimeLiteral = "2024-09-08T00:30:00".parse().unwrap();
        assert_eq!(
            literal.resolve(&santiago).unwrap(),
            instant("2024-09-08T04:00:00Z")
        );
    }
}
