//! Events that arrive one by one as owned values (an image's profiles, a journal's records)
//! gathered into columns, so that they are written through the bulk path rather than one
//! [`Audience::track`] at a time: handed to one [`EventLoad`] a batch at a time, as a table's
//! record batches are (the load groups them).

use hashbrown::HashMap;
use jiff::Timestamp;

use super::columns::{EventColumns, PropertyColumn, RowError};
use super::event_load::EventLoad;
use crate::error::Error;
use crate::profile::Event;
use crate::value::Value;

/// Owned events gathered as columns: see [`EventRows::push`].
#[derive(Debug, Default)]
pub(crate) struct EventRows {
    /// The profile ids given to [`EventRows::start_profile`], each once.
    profiles: Vec<String>,
    /// Each row's profile (an index into `profiles`).
    owner: Vec<u32>,
    /// Each row's source, as its caller numbers them (a journal offset), for errors.
    sources: Vec<usize>,
    names: Vec<String>,
    times: Vec<Timestamp>,
    /// Property columns, each as long as the rows were when it was last written to.
    columns: Vec<(String, Column)>,
    by_key: HashMap<String, usize>,
}

/// Rows gathered before they are handed to the load, as a table's record batch would be:
/// owned rows cost several times the load's own, so they are handed over early.
const BATCH_ROWS: usize = 1 << 20;

/// An event refused when it was written: its source (see [`EventRows::gather`]) and why.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) source: usize,
    pub(crate) error: Error,
}

#[derive(Debug)]
enum Column {
    Numbers(Vec<Option<f64>>),
    Strings(Vec<Option<String>>),
}

impl Column {
    fn pad_to(&mut self, rows: usize) {
        match self {
            Column::Numbers(v) => v.resize(rows, None),
            Column::Strings(v) => v.resize(rows, None),
        }
    }
}

impl EventRows {
    /// The rows gathered.
    pub(crate) fn len(&self) -> usize {
        self.owner.len()
    }

    /// Makes `id` the profile of the events gathered next (nothing changes when it is already).
    pub(crate) fn start_profile(&mut self, id: String) {
        if self.profiles.last() != Some(&id) {
            self.profiles.push(id);
        }
    }

    /// Gathers `event` (whose `source` a refusal names) for the current profile, handing
    /// what is gathered to `load` once it is a batch. When the columns cannot hold the event,
    /// what is gathered is handed over and written first, and the event then written alone
    /// through [`Audience::track`](crate::Audience::track), which gives the answer it deserves.
    ///
    /// # Panics
    ///
    /// Before the first [`EventRows::start_profile`].
    pub(crate) fn gather(
        &mut self,
        load: &mut EventLoad<'_>,
        event: Event,
        source: usize,
    ) -> Result<(), Refused> {
        if let Err(event) = self.push(event, source) {
            self.hand_to(load)?;
            let id = self.profiles.last().expect("a profile was started");
            return load
                .audience()
                .track(id, event)
                .map_err(|error| Refused { source, error });
        }
        if self.len() >= BATCH_ROWS {
            self.hand_to(load)?;
        }
        Ok(())
    }

    /// Hands what is gathered to `load` (which checks it, and writes it with its group),
    /// keeping the current profile.
    pub(crate) fn hand_to(&mut self, load: &mut EventLoad<'_>) -> Result<(), Refused> {
        let added = self.add_to(load);
        let sources = std::mem::take(&mut self.sources);
        added.map_err(|e| Refused {
            source: sources[e.row],
            error: e.error,
        })
    }

    /// Adds `event` as a row of the current profile, or gives it back when columns cannot
    /// hold it as it is — a property that is neither a number nor a string, a key twice, or a
    /// key whose column holds the other type — for the caller to write what is gathered and
    /// then the event on its own (through [`Audience::track`](crate::Audience::track), which
    /// gives whatever answer the event deserves). Rows are checked when they are written.
    fn push(&mut self, event: Event, source: usize) -> Result<(), Event> {
        let row = self.len();
        if !self.fits(&event.properties) {
            return Err(event);
        }
        for (key, value) in event.properties {
            let c = match self.by_key.get(&key) {
                Some(&c) => c,
                None => {
                    let column = match value {
                        Value::Number(_) => Column::Numbers(Vec::new()),
                        _ => Column::Strings(Vec::new()),
                    };
                    self.by_key.insert(key.clone(), self.columns.len());
                    self.columns.push((key, column));
                    self.columns.len() - 1
                }
            };
            let column = &mut self.columns[c].1;
            column.pad_to(row);
            match (column, value) {
                (Column::Numbers(v), Value::Number(x)) => v.push(Some(x)),
                (Column::Strings(v), Value::String(s)) => v.push(Some(s)),
                _ => unreachable!("checked by `fits`"),
            }
        }
        self.owner.push(self.profiles.len() as u32 - 1);
        self.sources.push(source);
        self.names.push(event.name);
        self.times.push(event.at);
        Ok(())
    }

    /// Whether columns can hold `properties` as they are.
    fn fits(&self, properties: &[(String, Value)]) -> bool {
        properties.iter().enumerate().all(|(i, (key, value))| {
            let column_takes = match (self.by_key.get(key), value) {
                (_, Value::Bool(_) | Value::Timestamp(_) | Value::List(_)) => false,
                (None, _) => true,
                (Some(&c), value) => matches!(
                    (&self.columns[c].1, value),
                    (Column::Numbers(_), Value::Number(_)) | (Column::Strings(_), Value::String(_))
                ),
            };
            column_takes && properties[..i].iter().all(|(k, _)| k != key)
        })
    }

    /// Adds the gathered rows to `load` (where they are checked as any batch is) and empties
    /// the gathering, keeping the current profile.
    fn add_to(&mut self, load: &mut EventLoad<'_>) -> Result<(), RowError> {
        let rows = self.len();
        if rows > 0 {
            let ids: Vec<&str> = self
                .owner
                .iter()
                .map(|&p| self.profiles[p as usize].as_str())
                .collect();
            let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
            for (_, column) in &mut self.columns {
                column.pad_to(rows);
            }
            let strings: Vec<Vec<Option<&str>>> = self
                .columns
                .iter()
                .map(|(_, column)| match column {
                    Column::Strings(v) => v.iter().map(Option::as_deref).collect(),
                    Column::Numbers(_) => Vec::new(),
                })
                .collect();
            let properties: Vec<(&str, PropertyColumn<'_>)> = self
                .columns
                .iter()
                .zip(&strings)
                .map(|((key, column), strings)| {
                    let column = match column {
                        Column::Numbers(v) => PropertyColumn::Numbers(v),
                        Column::Strings(_) => PropertyColumn::Strings(strings),
                    };
                    (key.as_str(), column)
                })
                .collect();
            load.add(&EventColumns {
                ids: &ids,
                names: &names,
                times: &self.times,
                properties: &properties,
            })?;
        }
        let current = self.profiles.pop();
        *self = EventRows::default();
        self.profiles.extend(current);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::EventRows;
    use crate::{Audience, Event, Value};

    /// Events gathered as rows and added as a load leave what tracking each leaves; events
    /// the columns cannot hold are given back.
    #[test]
    fn gathered_rows_load_as_tracked_events() {
        let t = |s: i64| Timestamp::from_second(1_800_000_000 - s * 3_600).unwrap();
        let events = [
            ("ada", Event::new("buy", t(5)).value("amount", 3.0)),
            ("ada", Event::new("view", t(9)).property("page", "home")),
            ("bob", Event::new("buy", t(2))),
            (
                "bob",
                Event::new("buy", t(1))
                    .value("amount", 4.0)
                    .property("page", "cart"),
            ),
        ];
        let mut tracked = Audience::new();
        let mut loaded = Audience::new();
        let mut rows = EventRows::default();
        let mut last = "";
        for (id, event) in &events {
            tracked.track(id, event.clone()).unwrap();
            if *id != last {
                rows.start_profile((*id).to_owned());
                last = id;
            }
            rows.push(event.clone(), 0).unwrap();
        }
        let mut load = loaded.event_load();
        rows.hand_to(&mut load).unwrap();
        load.finish();
        assert_eq!(rows.len(), 0);
        for id in ["ada", "bob"] {
            assert_eq!(loaded.profile(id), tracked.profile(id), "{id}");
        }
        // A string where the column holds numbers, a key twice, a flag: given back.
        rows.push(Event::new("buy", t(0)).value("amount", 1.0), 0)
            .unwrap();
        for refused in [
            Event::new("buy", t(0)).property("amount", "one"),
            Event::new("buy", t(0)).value("x", 1.0).value("x", 2.0),
            Event::new("buy", t(0)).property("gift", Value::Bool(true)),
        ] {
            assert_eq!(rows.push(refused.clone(), 0), Err(refused));
        }
        assert_eq!(rows.len(), 1);
    }
}
