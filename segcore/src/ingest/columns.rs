//! Events as columns — the shape Arrow tables, DataFrames and Parquet files hand over — loaded
//! in bulk: checked a column at a time, then written profile by profile in time order, so a
//! history in any order costs one sort and sequential work rather than a late insert per event.

use hashbrown::HashMap;
use jiff::Timestamp;

use crate::audience::{Audience, MAX_EVENT_PROPERTIES};
use crate::error::Error;
use crate::index::{day_blocks, scatter, LoadedRows, PendingSets, NO_STRING};
use crate::limits::check_instant;
use crate::profile::Event;
use crate::schema::check_name;
use crate::store::{row_props, PropValue, RunEvent, Store};
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

    fn attr_type(&self) -> AttrType {
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
    fn rows(&self) -> Result<usize, Error> {
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
struct NameColumns {
    refused: Vec<Option<Error>>,
    present: Vec<bool>,
}

/// What the check of the columns found: how many rows are good, the first bad row's error,
/// and for each name (in order of first appearance) which columns its rows use.
struct Checked<'a> {
    good: usize,
    refused: Option<Error>,
    names: Vec<(&'a str, NameColumns)>,
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
    pub fn load_events(&mut self, columns: &EventColumns<'_>) -> Result<usize, RowError> {
        let rows = columns.rows().map_err(|error| RowError { row: 0, error })?;
        let checked = self.check_columns(columns, rows);
        if self.directory().is_some() || self.live.is_some() {
            for row in 0..checked.good {
                self.track(columns.ids[row], columns.event(row))
                    .map_err(|error| RowError { row, error })?;
            }
        } else {
            self.write_columns(columns, &checked);
        }
        match checked.refused {
            Some(error) => Err(RowError {
                row: checked.good,
                error,
            }),
            None => Ok(rows),
        }
    }

    /// Checks the rows in order, as [`Audience::track`] would check each, up to the first
    /// refused one.
    fn check_columns<'a>(&self, columns: &EventColumns<'a>, rows: usize) -> Checked<'a> {
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

    /// Writes the checked rows: the schema first, then each profile's events in time order.
    fn write_columns(&mut self, columns: &EventColumns<'_>, checked: &Checked<'_>) {
        let rows = checked.good;
        let mut name_ids: HashMap<&str, u32> = HashMap::new();
        for (name, used) in &checked.names {
            self.schema
                .declare_event(name)
                .expect("checked: a non-empty name");
            for (c, (key, column)) in columns.properties.iter().enumerate() {
                if used.present[c] {
                    self.schema
                        .declare_event_property(name, key, column.attr_type())
                        .expect("checked against the schema");
                }
            }
            name_ids.insert(name, self.store.event_names.intern(name));
        }
        // Property columns in key id order, so each row's properties come out sorted; numbers
        // with NaN (never a stored value) for none, strings interned.
        let mut keyed: Vec<(u32, &PropertyColumn<'_>)> = columns
            .properties
            .iter()
            .map(|(key, column)| (self.store.keys.intern(key), column))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let mut numbers: Vec<(u32, Vec<f64>)> = Vec::new();
        let mut strings: Vec<(u32, Vec<u32>)> = Vec::new();
        for &(key, column) in &keyed {
            match column {
                PropertyColumn::Numbers(v) => numbers.push((
                    key,
                    v[..rows].iter().map(|x| x.unwrap_or(f64::NAN)).collect(),
                )),
                PropertyColumn::Strings(v) => strings.push((
                    key,
                    v[..rows]
                        .iter()
                        .map(|s| s.map_or(NO_STRING, |s| self.store.prop_strings.intern(s)))
                        .collect(),
                )),
            }
        }
        let slots = self.store.slots_or_insert(&columns.ids[..rows]);
        let names = names_of(&columns.names[..rows], &name_ids);
        let times: Vec<i128> = columns.times[..rows]
            .iter()
            .map(|t| t.as_nanosecond())
            .collect();
        // Every column moved into profile-and-time order once, so that what follows reads it
        // front to back (reading the rows in that order from the input cost a cache miss per
        // value).
        let place = places(&by_profile_and_time(&slots, &times));
        let at = scatter(&columns.times[..rows], &place);
        let numbers: Vec<(u32, Vec<f64>)> = numbers
            .into_iter()
            .map(|(key, column)| (key, scatter(&column, &place)))
            .collect();
        let strings: Vec<(u32, Vec<u32>)> = strings
            .into_iter()
            .map(|(key, column)| (key, scatter(&column, &place)))
            .collect();
        let loaded = LoadedRows {
            slots: &scatter(&slots, &place),
            names: &scatter(&names, &place),
            times: &scatter(&times, &place),
            numbers: &numbers,
            strings: &strings,
        };
        drop((slots, names, times));
        // The two sides of the store are written at once: the profiles' events here, the
        // day buckets' blocks (which read only the rows) on another core.
        let store = &mut self.store;
        // A large load (against what is sealed) seals; a small one goes to the logs.
        let seal = store.should_seal(rows);
        let write = |store: &mut Store| {
            if seal {
                let mut pending = PendingSets::default();
                store.seal(&loaded, &at, &mut pending);
                pending
            } else {
                write_runs(store, &loaded, &at)
            }
        };
        let (pending, blocks) = if rows >= ROWS_FOR_TWO_CORES && two_cores() {
            std::thread::scope(|scope| {
                let blocks = scope.spawn(|| day_blocks(&loaded));
                let pending = write(store);
                let blocks = blocks.join().expect("grouping rows does not panic");
                (pending, blocks)
            })
        } else {
            (write(store), day_blocks(&loaded))
        };
        self.store.index.append_day_blocks(blocks);
        pending.apply(&mut self.store.index);
    }
}

/// Below this many rows, a second thread costs more than it saves.
const ROWS_FOR_TWO_CORES: usize = 1 << 15;

fn two_cores() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// Appends each profile's run of `rows` (in profile-and-time order; `at` their times) to its
/// log, totals and spans; returns the member-set changes to apply.
fn write_runs(store: &mut Store, rows: &LoadedRows<'_>, at: &[Timestamp]) -> PendingSets {
    let mut pending = PendingSets::default();
    let mut run: Vec<RunEvent> = Vec::new();
    let mut props: Vec<(u32, PropValue)> = Vec::new();
    for (from, to) in runs_of(rows.slots) {
        run.clear();
        props.clear();
        for (row, &when) in (from..to).zip(&at[from..to]) {
            row_props(rows, row, &mut props);
            run.push(RunEvent {
                name: rows.names[row],
                at: when,
                props_end: u32::try_from(props.len()).expect("fewer than 2^32 properties"),
            });
        }
        store.append_run(rows.slots[from], &run, &props, &mut pending);
    }
    pending
}

/// Each row's interned event name.
fn names_of(names: &[&str], ids: &HashMap<&str, u32>) -> Vec<u32> {
    let mut last: Option<(&str, u32)> = None;
    names
        .iter()
        .map(|&name| {
            let id = match last {
                Some((previous, id)) if previous == name => id,
                _ => ids[name],
            };
            last = Some((name, id));
            id
        })
        .collect()
}

/// Where each row goes, given the rows in their new order.
fn places(order: &[u32]) -> Vec<u32> {
    let mut place = vec![0u32; order.len()];
    for (i, &row) in order.iter().enumerate() {
        place[row as usize] = i as u32;
    }
    place
}

/// The ranges of equal neighbours in `slots`: one profile's rows each.
fn runs_of(slots: &[u32]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let slot = *slots.get(from)?;
        let to = from + slots[from..].iter().take_while(|&&s| s == slot).count();
        let run = (from, to);
        from = to;
        Some(run)
    })
}

/// The rows ordered by slot (a counting sort: linear), then by time within a slot, ties in row
/// order: each profile's events together and in the order the store keeps them.
fn by_profile_and_time(slots: &[u32], times: &[i128]) -> Vec<u32> {
    let bound = slots.iter().max().map_or(0, |&s| s as usize + 1);
    let mut starts = vec![0u32; bound + 1];
    for &slot in slots {
        starts[slot as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut order = vec![0u32; slots.len()];
    let mut next = starts.clone();
    for (row, &slot) in slots.iter().enumerate() {
        let at = &mut next[slot as usize];
        order[*at as usize] = row as u32;
        *at += 1;
    }
    for w in starts.windows(2) {
        let group = &mut order[w[0] as usize..w[1] as usize];
        if group.len() > 1 && !group.is_sorted_by_key(|&r| times[r as usize]) {
            // Stable: ties keep row order.
            group.sort_by_key(|&r| times[r as usize]);
        }
    }
    order
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
