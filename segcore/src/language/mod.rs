//! The segment language: the predicate AST, its text and JSON forms, and time windows.
//!
//! ```
//! use segcore::Predicate;
//!
//! let p = Predicate::parse(r#"country in ["SE", "DK"] and tag "vip""#)?;
//! assert_eq!(p.to_string(), r#"country in ["SE", "DK"] and tag "vip""#);
//! assert_eq!(Predicate::from_json(&p.to_json())?, p);
//! # Ok::<(), segcore::Error>(())
//! ```

mod ast;
mod changes;
mod civil;
mod display;
mod lexer;
mod parser;
mod time;

pub use ast::{
    AggFunc, CmpOp, CountTest, DistanceUnit, Filter, Literal, Near, Predicate, Test, TextPattern,
    Which, DEFAULT_LATITUDE, DEFAULT_LONGITUDE, MAX_DEPTH,
};
use time::check_test_times;
pub use time::{CalendarUnit, Duration, DurationUnit, TimeLiteral, TimeRef, Window};

pub(crate) use changes::{earliest_after, test_changes_at};
pub(crate) use civil::civil_instant;
pub(crate) use display::Name;
pub(crate) use time::{Interval, Nanos};

use std::str::FromStr;

use crate::error::{Error, Result};

impl Predicate {
    /// Parses the text form.
    ///
    /// ```
    /// use segcore::{Error, Predicate};
    ///
    /// let err = Predicate::parse("age >").unwrap_err();
    /// let Error::Parse(e) = err else { panic!() };
    /// assert_eq!((e.line, e.column), (1, 6));
    /// assert_eq!(e.found, "end of input");
    /// ```
    pub fn parse(text: &str) -> Result<Predicate> {
        parser::parse(text)
    }

    /// Reads the JSON form. Structure is checked too: `and` / `or` need two or more parts and
    /// nesting is limited to [`MAX_DEPTH`].
    pub fn from_json(json: &str) -> Result<Predicate> {
        let pred: Predicate = serde_json::from_str(json).map_err(|e| Error::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        pred.check_structure().map_err(|e| Error::Json {
            line: 1,
            column: 1,
            message: e.to_string(),
        })?;
        Ok(pred)
    }

    /// The JSON form (compact).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a predicate always serializes")
    }

    /// The JSON form as a `serde_json::Value`.
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a predicate always serializes")
    }

    /// Checks what the text parser guarantees but a hand-built or JSON AST may lack:
    /// bounded depth, `and` / `or` with at least two parts, and durations, calendar counts
    /// and time literals within [`limits`](crate::limits).
    pub fn check_structure(&self) -> Result<()> {
        if self.depth() > MAX_DEPTH {
            return Err(Error::TooDeep { limit: MAX_DEPTH });
        }
        let mut problem = None;
        self.visit(&mut |p| match p {
            Predicate::And(parts) | Predicate::Or(parts)
                if parts.len() < 2 && problem.is_none() =>
            {
                let word = if matches!(p, Predicate::And(_)) {
                    "and"
                } else {
                    "or"
                };
                problem = Some(Error::InvalidValue(format!(
                    "`{word}` needs at least two conditions, got {}",
                    parts.len()
                )));
            }
            _ => {}
        });
        if problem.is_none() {
            self.visit(&mut |p| {
                if problem.is_none() {
                    problem = check_times(p).err().map(Error::InvalidValue);
                }
            });
        }
        problem.map_or(Ok(()), Err)
    }
}

/// The range checks of one condition's windows and time literals (not of its parts).
fn check_times(p: &Predicate) -> std::result::Result<(), String> {
    let window = |w: &Option<Window>| w.map_or(Ok(()), Window::check);
    let filters = |filter: &[Filter]| filter.iter().try_for_each(|f| check_test_times(&f.test));
    match p {
        Predicate::Attribute { test, .. } => check_test_times(test),
        Predicate::Tag { within, .. } => window(within),
        Predicate::Event {
            window: w, filter, ..
        } => window(w).and_then(|()| filters(filter)),
        Predicate::Aggregate {
            window: w,
            filter,
            test,
            ..
        } => window(w)
            .and_then(|()| filters(filter))
            .and_then(|()| check_test_times(test)),
        Predicate::Occurrence { filter, test, .. } => {
            filters(filter).and_then(|()| check_test_times(test))
        }
        _ => Ok(()),
    }
}

impl FromStr for Predicate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Predicate::parse(s)
    }
}
