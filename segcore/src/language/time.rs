//! Time in the segment language: durations, time literals, windows, and how they resolve to
//! instants for an explicit `now` in the audience's time zone.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ast::{Literal, Test};
use super::civil::{civil_instant, start_of_date};
use crate::limits::{EARLIEST_INSTANT, LATEST_INSTANT, MAX_SPAN_DAYS};

/// Nanoseconds since the Unix epoch: the unit every window edge is resolved to.
pub(crate) type Nanos = i128;

/// An exact length of time: `30d`, `12h`, `90m`, `45s`, `2w`.
///
/// Durations are exact: a day is 86,400 seconds even across a daylight-saving change. Calendar
/// periods (`this month`, `last calendar week`) are separate and follow the audience's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    /// How many units.
    pub amount: u32,
    /// The unit.
    pub unit: DurationUnit,
}

/// The unit of a [`Duration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationUnit {
    /// `s`
    Second,
    /// `m`
    Minute,
    /// `h`
    Hour,
    /// `d` (exactly 24 hours)
    Day,
    /// `w` (exactly 7 days)
    Week,
}

impl DurationUnit {
    fn suffix(self) -> char {
        match self {
            DurationUnit::Second => 's',
            DurationUnit::Minute => 'm',
            DurationUnit::Hour => 'h',
            DurationUnit::Day => 'd',
            DurationUnit::Week => 'w',
        }
    }

    pub(crate) fn from_suffix(s: &str) -> Option<DurationUnit> {
        Some(match s {
            "s" => DurationUnit::Second,
            "m" => DurationUnit::Minute,
            "h" => DurationUnit::Hour,
            "d" => DurationUnit::Day,
            "w" => DurationUnit::Week,
            _ => return None,
        })
    }

    /// The largest amount of this unit a duration may have: [`MAX_SPAN_DAYS`] (10,000 years),
    /// or `u32::MAX` where that is less.
    pub fn max_amount(self) -> u32 {
        let most = i128::from(MAX_SPAN_DAYS) * 86_400 / self.seconds();
        u32::try_from(most).unwrap_or(u32::MAX)
    }

    fn seconds(self) -> i128 {
        match self {
            DurationUnit::Second => 1,
            DurationUnit::Minute => 60,
            DurationUnit::Hour => 3_600,
            DurationUnit::Day => 86_400,
            DurationUnit::Week => 604_800,
        }
    }
}

impl Duration {
    /// `amount` days.
    pub fn days(amount: u32) -> Duration {
        Duration {
            amount,
            unit: DurationUnit::Day,
        }
    }

    /// `amount` hours.
    pub fn hours(amount: u32) -> Duration {
        Duration {
            amount,
            unit: DurationUnit::Hour,
        }
    }

    pub(crate) fn nanos(self) -> Nanos {
        i128::from(self.amount) * self.unit.seconds() * 1_000_000_000
    }

    /// Refuses a duration longer than its unit's [`DurationUnit::max_amount`], naming the
    /// largest allowed.
    pub fn check(self) -> Result<(), String> {
        let most = self.unit.max_amount();
        if self.amount <= most {
            Ok(())
        } else {
            Err(format!(
                "the duration {self} is too long: at most {most}{} (10,000 years) is allowed",
                self.unit.suffix()
            ))
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.suffix())
    }
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, suffix) = s.split_at(split);
        let unit = DurationUnit::from_suffix(suffix)
            .ok_or_else(|| format!("`{s}` is not a duration such as 30d, 12h, 90m, 45s or 2w"))?;
        let amount = digits
            .parse::<u32>()
            .map_err(|_| format!("`{s}` is not a duration such as 30d, 12h, 90m, 45s or 2w"))?;
        Ok(Duration { amount, unit })
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A calendar period in the audience's time zone. Weeks start on Monday (ISO 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarUnit {
    /// A calendar day.
    Day,
    /// A week from Monday 00:00.
    Week,
    /// A calendar month.
    Month,
    /// A quarter (January, April, July, October).
    Quarter,
    /// A calendar year.
    Year,
}

impl CalendarUnit {
    /// The singular keyword.
    pub fn name(self) -> &'static str {
        match self {
            CalendarUnit::Day => "day",
            CalendarUnit::Week => "week",
            CalendarUnit::Month => "month",
            CalendarUnit::Quarter => "quarter",
            CalendarUnit::Year => "year",
        }
    }

    pub(crate) fn from_word(s: &str) -> Option<CalendarUnit> {
        Some(match s {
            "day" | "days" => CalendarUnit::Day,
            "week" | "weeks" => CalendarUnit::Week,
            "month" | "months" => CalendarUnit::Month,
            "quarter" | "quarters" => CalendarUnit::Quarter,
            "year" | "years" => CalendarUnit::Year,
            _ => return None,
        })
    }

    /// The most periods a calendar window may reach back: 10,000 years' worth.
    pub fn max_count(self) -> u32 {
        match self {
            CalendarUnit::Day => MAX_SPAN_DAYS,
            CalendarUnit::Week => MAX_SPAN_DAYS / 7,
            CalendarUnit::Month => 120_000,
            CalendarUnit::Quarter => 40_000,
            CalendarUnit::Year => 10_000,
        }
    }

    /// The first day of the period that holds `date`.
    pub(super) fn period_start(self, date: Date) -> Date {
        match self {
            CalendarUnit::Day => date,
            CalendarUnit::Week => date
                .checked_sub(Span::new().days(date.weekday().to_monday_zero_offset()))
                .unwrap_or(date),
            CalendarUnit::Month => date.first_of_month(),
            CalendarUnit::Quarter => {
                let month = (date.month() - 1) / 3 * 3 + 1;
                Date::new(date.year(), month, 1).unwrap_or(date)
            }
            CalendarUnit::Year => date.first_of_year(),
        }
    }

    /// `date` moved back by `periods` whole periods; `None` if that leaves the calendar jiff
    /// can represent (checked, never a panic, whatever `periods` is).
    pub(super) fn back(self, date: Date, periods: u32) -> Option<Date> {
        date.checked_sub(self.periods(periods)?).ok()
    }

    /// `periods` whole periods as a calendar span; `None` past what jiff can hold.
    pub(super) fn periods(self, periods: u32) -> Option<Span> {
        let n = i64::from(periods);
        let span = match self {
            CalendarUnit::Day => Span::new().try_days(n),
            CalendarUnit::Week => Span::new().try_weeks(n),
            CalendarUnit::Month => Span::new().try_months(n),
            CalendarUnit::Quarter => Span::new().try_months(n * 3),
            CalendarUnit::Year => Span::new().try_years(n),
        };
        span.ok()
    }
}

/// An absolute time as written after `@`: a date (`@2024-05-01`, midnight in the audience's
/// zone), a civil date-time (`@2024-05-01T09:30:00`, in the audience's zone) or an instant
/// with an offset (`@2024-05-01T09:30:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeLiteral {
    /// A calendar date.
    Date(Date),
    /// A wall-clock date and time.
    DateTime(DateTime),
    /// An exact instant.
    Instant(Timestamp),
}

impl TimeLiteral {
    /// Refuses a literal outside the years 1 to 9999, or an instant outside
    /// [`EARLIEST_INSTANT`]..=[`LATEST_INSTANT`].
    pub fn check(self) -> Result<(), String> {
        let ok = match self {
            TimeLiteral::Date(d) => (1..=9999).contains(&d.year()),
            TimeLiteral::DateTime(dt) => (1..=9999).contains(&dt.year()),
            TimeLiteral::Instant(t) => (EARLIEST_INSTANT..=LATEST_INSTANT).contains(&t),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "the time @{self} is outside the supported range, the years 1 to 9999"
            ))
        }
    }

    /// The instant this literal names in `tz`. A wall-clock time that a daylight-saving change
    /// skips resolves to the instant just after the gap; a repeated one to its first
    /// occurrence ([`civil_instant`]).
    pub(crate) fn resolve(self, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            TimeLiteral::Instant(t) => Some(t),
            TimeLiteral::Date(d) => start_of_date(d, tz),
            TimeLiteral::DateTime(dt) => civil_instant(dt, tz),
        }
    }
}

impl fmt::Display for TimeLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeLiteral::Date(d) => write!(f, "{d}"),
            TimeLiteral::DateTime(dt) => write!(f, "{dt}"),
            TimeLiteral::Instant(t) => write!(f, "{t}"),
        }
    }
}

impl FromStr for TimeLiteral {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains('T') || s.contains('t') {
            if let Ok(t) = s.parse::<Timestamp>() {
                return Ok(TimeLiteral::Instant(t));
            }
            if let Ok(dt) = s.parse::<DateTime>() {
                return Ok(TimeLiteral::DateTime(dt));
            }
        } else if let Ok(d) = s.parse::<Date>() {
            return Ok(TimeLiteral::Date(d));
        }
        Err(format!(
            "`{s}` is not a date (2024-05-01), a date-time (2024-05-01T09:30:00) \
             or an instant (2024-05-01T09:30:00Z)"
        ))
    }
}

impl Serialize for TimeLiteral {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeLiteral {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A point in time, absolute or relative to the evaluation's `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TimeRef {
    /// The evaluation time itself (`now`).
    Now {},
    /// `30d ago`
    Ago(Duration),
    /// `30d from now`
    FromNow(Duration),
    /// `@2024-05-01`
    At(TimeLiteral),
}

impl TimeRef {
    /// Refuses a duration or literal out of range (see [`Duration::check`] and
    /// [`TimeLiteral::check`]).
    pub fn check(self) -> Result<(), String> {
        match self {
            TimeRef::Now {} => Ok(()),
            TimeRef::Ago(d) | TimeRef::FromNow(d) => d.check(),
            TimeRef::At(lit) => lit.check(),
        }
    }

    /// The instant in nanoseconds; `None` only for a wall-clock time jiff cannot place.
    pub(crate) fn resolve(self, now: Timestamp, tz: &TimeZone) -> Option<Nanos> {
        let now_ns = now.as_nanosecond();
        match self {
            TimeRef::Now {} => Some(now_ns),
            TimeRef::Ago(d) => Some(now_ns - d.nanos()),
            TimeRef::FromNow(d) => Some(now_ns + d.nanos()),
            TimeRef::At(lit) => lit.resolve(tz).map(Timestamp::as_nanosecond),
        }
    }
}

impl fmt::Display for TimeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeRef::Now {} => f.write_str("now"),
            TimeRef::Ago(d) => write!(f, "{d} ago"),
            TimeRef::FromNow(d) => write!(f, "{d} from now"),
            TimeRef::At(lit) => write!(f, "@{lit}"),
        }
    }
}

/// A span of time that events, tag times or timestamp attributes must fall in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Window {
    /// `last 30d`: from `now - 30d` to `now`, both inclusive.
    Last(Duration),
    /// `this month`: from the start of the current period to `now`, both inclusive.
    This(CalendarUnit),
    /// `last calendar month` / `last 3 calendar months`: the whole periods before the current one.
    LastCalendar {
        /// The period.
        unit: CalendarUnit,
        /// How many whole periods (at least 1).
        count: u32,
    },
    /// `between A and B`, inclusive at both ends.
    Between {
        /// Start (inclusive).
        start: TimeRef,
        /// End (inclusive).
        end: TimeRef,
    },
    /// `since A`: from A to `now`, both inclusive.
    Since(TimeRef),
}

/// An instant before every instant jiff can represent (about 37,000 years before the epoch):
/// where a window reaching further back than the calendar starts.
const BEFORE_ALL: Nanos = -(1 << 70);

/// The range checks of a test's windows and time literals.
pub(crate) fn check_test_times(test: &Test) -> Result<(), String> {
    let literal = |l: &Literal| match l {
        Literal::Time(t) => t.check(),
        _ => Ok(()),
    };
    match test {
        Test::Cmp { value, .. } => literal(value),
        Test::Between { low, high } => literal(low).and_then(|()| literal(high)),
        Test::In(items) | Test::NotIn(items) => items.iter().try_for_each(literal),
        Test::Within(w) => w.check(),
        _ => Ok(()),
    }
}

/// A resolved window: nanosecond instants, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
    pub start: Nanos,
    pub end: Nanos,
}

impl Interval {
    pub(crate) fn contains(self, t: Nanos) -> bool {
        self.start <= t && t <= self.end
    }

    const EMPTY: Interval = Interval { start: 1, end: 0 };
}

impl Window {
    /// Refuses a window whose duration or calendar count is out of range, or that has no
    /// periods at all; the message names the largest allowed value.
    pub fn check(self) -> Result<(), String> {
        match self {
            Window::Last(d) => d.check(),
            Window::This(_) => Ok(()),
            Window::LastCalendar { count: 0, .. } => {
                Err("a calendar window needs at least 1 period".to_owned())
            }
            Window::LastCalendar { unit, count } if count > unit.max_count() => Err(format!(
                "`last {count} calendar {}s` reaches too far back: at most {} (10,000 years) \
                 is allowed",
                unit.name(),
                unit.max_count()
            )),
            Window::LastCalendar { .. } => Ok(()),
            Window::Between { start, end } => start.check().and_then(|()| end.check()),
            Window::Since(start) => start.check(),
        }
    }

    /// The instants this window covers at `now` in `tz`.
    ///
    /// Never panics: a calendar period that would start before the first date jiff can
    /// represent starts before every instant instead (no stored instant is that early).
    pub(crate) fn resolve(self, now: Timestamp, tz: &TimeZone) -> Interval {
        let now_ns = now.as_nanosecond();
        let calendar_start = |unit: CalendarUnit, back: u32| -> Option<Nanos> {
            let today = now.to_zoned_datetime(tz.clone()).date();
            let start = unit
                .back(unit.period_start(today), back)
                .and_then(|start| start_of_date(start, tz));
            Some(start.map_or(BEFORE_ALL, |t| t.as_nanosecond()))
        };
        let interval = match self {
            Window::Last(d) => Some(Interval {
                start: now_ns - d.nanos(),
                end: now_ns,
            }),
            Window::This(unit) => {
                calendar_start(unit, 0).map(|start| Interval { start, end: now_ns })
            }
            Window::LastCalendar { unit, count } => {
                match (calendar_start(unit, count), calendar_start(unit, 0)) {
                    (Some(start), Some(this_start)) => Some(Interval {
                        start,
                        end: this_start.saturating_sub(1),
                    }),
                    _ => None,
                }
            }
            Window::Between { start, end } => {
                match (start.resolve(now, tz), end.resolve(now, tz)) {
                    (Some(start), Some(end)) => Some(Interval { start, end }),
                    _ => None,
                }
            }
            Window::Since(start) => start
                .resolve(now, tz)
                .map(|start| Interval { start, end: now_ns }),
        };
        interval.unwrap_or(Interval::EMPTY)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Last(d) => write!(f, "last {d}"),
            Window::This(unit) => write!(f, "this {}", unit.name()),
            Window::LastCalendar { unit, count: 1 } => {
                write!(f, "last calendar {}", unit.name())
            }
            Window::LastCalendar { unit, count } => {
                write!(f, "last {count} calendar {}s", unit.name())
            }
            Window::Between { start, end } => write!(f, "between {start} and {end}"),
            Window::Since(start) => write!(f, "since {start}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn durations_print_and_parse() {
        for s in ["30d", "12h", "90m", "45s", "2w", "0d"] {
            assert_eq!(s.parse::<Duration>().unwrap().to_string(), s);
        }
        assert!("30".parse::<Duration>().is_err());
        assert!("d".parse::<Duration>().is_err());
        assert!("3mo".parse::<Duration>().is_err());
        assert!("99999999999d".parse::<Duration>().is_err());
    }

    #[test]
    fn time_literals_keep_their_kind() {
        for s in ["2024-05-01", "2024-05-01T09:30:00", "2024-05-01T09:30:00Z"] {
            assert_eq!(s.parse::<TimeLiteral>().unwrap().to_string(), s);
        }
        assert!("2024-13-01".parse::<TimeLiteral>().is_err());
        assert!("yesterday".parse::<TimeLiteral>().is_err());
    }

    #[test]
    fn last_calendar_month_spans_the_previous_month_in_the_zone() {
        let tz = TimeZone::get("Europe/Stockholm").unwrap();
        let now = ts("2024-03-15T12:00:00Z");
        let w = Window::LastCalendar {
            unit: CalendarUnit::Month,
            count: 1,
        }
        .resolve(now, &tz);
        // February 1st 00:00 in Stockholm is 23:00 UTC the day before.
        assert_eq!(w.start, ts("2024-01-31T23:00:00Z").as_nanosecond());
        assert_eq!(w.end, ts("2024-02-29T23:00:00Z").as_nanosecond() - 1);
    }

    #[test]
    fn a_calendar_day_across_spring_forward_has_23_hours() {
        let tz = TimeZone::get("Europe/Stockholm").unwrap();
        // 2024-03-31 is the spring-forward day in Sweden.
        let now = ts("2024-04-01T10:00:00Z");
        let w = Window::LastCalendar {
            unit: CalendarUnit::Day,
            count: 1,
        }
        .resolve(now, &tz);
        let hours = (w.end + 1 - w.start) / 3_600_000_000_000;
        assert_eq!(hours, 23);
    }

    #[test]
    fn weeks_start_on_monday() {
        let tz = TimeZone::UTC;
        // 2024-05-16 is a Thursday.
        let w = Window::This(CalendarUnit::Week).resolve(ts("2024-05-16T08:00:00Z"), &tz);
        assert_eq!(w.start, ts("2024-05-13T00:00:00Z").as_nanosecond());
    }

    #[test]
    fn quarters_start_in_january_april_july_october() {
        let w =
            Window::This(CalendarUnit::Quarter).resolve(ts("2024-08-20T00:00:00Z"), &TimeZone::UTC);
        assert_eq!(w.start, ts("2024-07-01T00:00:00Z").as_nanosecond());
    }
}
