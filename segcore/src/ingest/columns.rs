//! Events as columns — the shape Arrow tables, DataFrames and Parquet files hand over — loaded
//! in bulk: checked a column at a time, then written profile by profile in time order, so a
//! history in any order costs one sort and sequential work rather than a late insert per event.

use hashbrown::HashMap;
use jiff::Timestamp;

use crate::audience::{Audience, MAX_EVENT_PROPERTIES};
use crate::error::Error;
use crate::limits::check_instant;
use crate::profile::Event;
use crate::schema::check_name;
use crate::value::{AttrType, Value};

/// Events as columns of equal length: row `i` of each is one event of profile `ids[i]`.
///
/// ```
/// use segcore::ingest::{EventColumns, PropertyColumn};
/// use segcore::Audience;
///
/// let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
/// let times = [t("2026-03-02T10:00:00Z"), t("2026-01-05T09:00:00Z"), t("2026-02-01T12:00:00Z")];
/// let amounts = [Some(120.0), None, Some(40.0)];
/// let columns = EventColumns {
///     ids: &["ada", "bob", "ada"],
///     names: &["purchase", "page_view", "purchase"],
///     times: &times,
///     properties: &[("amount", PropertyColumn::Numbers(&amounts))],
/// };
/// let mut audience = Audience::new();
/// assert_eq!(audience.load_events(&columns)?, 3);
/// let now = t("2026-03-03T00:00:00Z");
/// let big = audience.predicate("sum(purchase.amount) > 100")?;
/// assert_eq!(audience.members(&big, now)?, ["ada"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EventColumns<'a> {
    /// Each event's profile id; a new id creates its profile.
    pub ids: &'a [&'a str],
    /// Each event's name.
    pub names: &'a [&'a str],
    /// When each event happened, in any order.
    pub times: &'a [Timestamp],
    /// Property columns by key; `None` in a row means the event has no such property.
    pub properties: &'a [(&'a str, PropertyColumn<'a>)],
}

/// One property's values, row by row.
#[derive(Debug, Clone, Copy)]
pub enum PropertyColumn<'a> {
    /// Numbers (finite ones; NaN is refused, as in [`Audience::track`]).
    Numbers(&'a [Option<f64>]),
    /// Strings.
    Strings(&'a [Option<&'a str>]),
}

impl PropertyColumn<'_> {
    fn len(&self) -> usize {
        match self {
            PropertyColumn::Numbers(v) => v.len(),
            PropertyColumn::Strings(v) => v.len(),
        }
    }

    pub(super) fn attr_type(&self) -> AttrType {
        match self {
            PropertyColumn::Numbers(_) => AttrType::Number,
            PropertyColumn::Strings(_) => AttrType::String,
        }
    }

    fn is_present(&self, row: usize) -> bool {
        match self {
            PropertyColumn::Numbers(v) => v[row].is_some(),
            PropertyColumn::Strings(v) => v[row].is_some(),
        }
    }

    fn value(&self, row: usize) -> Option<Value> {
        match self {
            PropertyColumn::Numbers(v) => v[row].map(Value::Number),
            PropertyColumn::Strings(v) => v[row].map(Value::from),
        }
    }
}

/// A row that could not be loaded, and why. The rows before it are loaded; it and the rows
/// after it are not.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("row {row}: {error}")]
pub struct RowError {
    /// The 0-based row.
    pub row: usize,
    /// What was wrong with it.
    pub error: Error,
}

impl EventColumns<'_> {
    /// Row `row` as an [`Event`].
    pub fn event(&self, row: usize) -> Event {
        let mut event = Event::new(self.names[row], self.times[row]);
        for (key, column) in self.properties {
            if let Some(value) = column.value(row) {
                event.properties.push(((*key).to_owned(), value));
            }
        }
        event
    }

    /// The number of rows, or what is wrong with the columns' lengths.
    pub(super) fn rows(&self) -> Result<usize, Error> {
        let rows = self.ids.len();
        let mut lengths = vec![("names", self.names.len()), ("times", self.times.len())];
        lengths.extend(self.properties.iter().map(|(k, c)| (*k, c.len())));
        match lengths.iter().find(|(_, n)| *n != rows) {
            Some((column, n)) => Err(Error::InvalidValue(format!(
                "the columns differ in length: ids has {rows} rows, {column} has {n}"
            ))),
            None => Ok(rows),
        }
    }
}

/// For one event name: each property column's problem with it (its type against the schema),
/// and whether any row of the name has a value in the column.
pub(super) struct NameColumns {
    refused: Vec<Option<Error>>,
    pub(super) present: Vec<bool>,
}

/// What the check of the columns found: how many rows are good, the first bad row's error,
/// and for each name (in order of first appearance) which columns its rows use.
pub(super) struct Checked<'a> {
    pub(super) good: usize,
    pub(super) refused: Option<Error>,
    pub(super) names: Vec<(&'a str, NameColumns)>,
}

impl Audience {
    /// Loads events given as columns (see [`EventColumns`]): the bulk twin of
    /// [`Audience::track`], with the same checks and the same result. The columns are checked
    /// first; the rows before the first refused one are loaded, sorted by profile and time and
    /// written in that order, so no arrival order costs more than a sort.
    ///
    /// Returns the number of rows loaded: all of them, or a [`RowError`] naming the first
    /// refused row (the rows before it are loaded). A durable or live audience loads the
    /// checked rows one by one through [`Audience::track`], journaling and notifying each.
    ///
    /// A table in many batches loads faster as one load: see [`Audience::event_load`].
    pub fn load_events(&mut self, columns: &EventColumns<'_>) -> Result<usize, RowError> {
        self.event_load().add(columns)
    }

    /// Checks the rows in order, as [`Audience::track`] would check each, up to the first
    /// refused one.
    pub(super) fn check_columns<'a>(&self, columns: &EventColumns<'a>, rows: usize) -> Checked<'a> {
        let mut names: Vec<(&'a str, NameColumns)> = Vec::new();
        let mut by_name: HashMap<&'a str, usize> = HashMap::new();
        let keys: Vec<&str> = columns.properties.iter().map(|(k, _)| *k).collect();
        let twice = keys
            .iter()
            .enumerate()
            .find(|(i, k)| keys[..*i].contains(k))
            .map(|(_, k)| *k);
        let too_many = columns.properties.len() > MAX_EVENT_PROPERTIES;
        let mut last: Option<(&str, usize)> = None;
        for row in 0..rows {
            let name = columns.names[row];
            let n = match last {
                Some((previous, n)) if previous == name => n,
                _ => *by_name.entry(name).or_insert_with(|| {
                    names.push((name, self.name_columns(name, columns)));
                    names.len() - 1
                }),
            };
            last = Some((name, n));
            let problem = check_name(columns.ids[row], "a profile id")
                .and_then(|()| check_name(name, "an event name"))
                .and_then(|()| check_instant(columns.times[row], "the event's time"))
                .and_then(|()| match twice {
                    Some(key) => Err(Error::InvalidValue(format!(
                        "event `{name}` has property `{key}` twice"
                    ))),
                    None => Ok(()),
                })
                .and_then(|()| check_count(columns, row, too_many))
                .and_then(|()| check_values(columns, row, &names[n].1));
            if let Err(error) = problem {
                return Checked {
                    good: row,
                    refused: Some(error),
                    names,
                };
            }
            let present = &mut names[n].1.present;
            for (c, (_, column)) in columns.properties.iter().enumerate() {
                present[c] |= column.is_present(row);
            }
        }
        Checked {
            good: rows,
            refused: None,
            names,
        }
    }

    /// Each property column's problem with event `name`, before any row is looked at.
    fn name_columns(&self, name: &str, columns: &EventColumns<'_>) -> NameColumns {
        let refused = columns
            .properties
            .iter()
            .map(|(key, column)| {
                self.schema
                    .check_event_property(name, key, column.attr_type())
                    .err()
            })
            .collect();
        NameColumns {
            refused,
            present: vec![false; columns.properties.len()],
        }
    }
}

/// At most [`MAX_EVENT_PROPERTIES`] properties in a row (only counted when there are more
/// columns than that).
fn check_count(columns: &EventColumns<'_>, row: usize, too_many: bool) -> Result<(), Error> {
    if !too_many {
        return Ok(());
    }
    let n = columns
        .properties
        .iter()
        .filter(|(_, c)| c.is_present(row))
        .count();
    if n > MAX_EVENT_PROPERTIES {
        return Err(Error::InvalidValue(format!(
            "event `{}` has {n} properties; at most {MAX_EVENT_PROPERTIES} are allowed",
            columns.names[row]
        )));
    }
    Ok(())
}

/// Each value of the row: finite numbers, and types that fit the schema.
fn check_values(columns: &EventColumns<'_>, row: usize, name: &NameColumns) -> Result<(), Error> {
    for (c, (key, column)) in columns.properties.iter().enumerate() {
        if !column.is_present(row) {
            continue;
        }
        if let PropertyColumn::Numbers(v) = column {
            Value::Number(v[row].expect("present")).check(key)?;
        }
        if let Some(error) = &name.refused[c] {
            return Err(error.clone());
        }
    }
    Ok(())
}
