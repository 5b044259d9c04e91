//! Events as the `Audience` methods read them: one event's parts, the rows of a bulk
//! `trackMany`, and the plan steps `explain` returns.

use jiff::Timestamp;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use segcore::Event;

use crate::args::{elements, field, instant, number, object, optional_entries, string};
use crate::errors::{at_row, Read};

/// One event of a bulk `trackMany`: the profile, the event's name, its time (a `Date`, an
/// ISO 8601 string with an offset or epoch milliseconds; default now), numeric values and
/// properties.
#[napi(object)]
pub struct EventRow {
    /// The profile's id.
    pub id: String,
    /// The event's name.
    pub name: String,
    /// When it happened.
    #[napi(ts_type = "Date | string | number")]
    pub at: Option<Either<String, f64>>,
    /// Numeric values, such as an amount.
    pub values: Option<std::collections::HashMap<String, f64>>,
    /// String or number properties.
    pub properties: Option<std::collections::HashMap<String, Either<String, f64>>>,
}

/// A plan step of `explain`.
#[napi(object)]
pub struct PlanStep {
    /// What the step tests.
    pub label: String,
    /// How: index, scan, buckets, tally, and, or, not, segment, reused, skipped.
    pub method: String,
    /// Profiles the step was given.
    pub input: f64,
    /// The planner's estimate of its result.
    pub estimated: f64,
    /// Its result's size.
    pub actual: f64,
    /// Microseconds it took.
    pub elapsed_us: f64,
    /// Its parts.
    pub children: Vec<PlanStep>,
}

pub(crate) fn plan(step: &segcore::PlanStep) -> PlanStep {
    PlanStep {
        label: step.label.clone(),
        method: step.method.name().to_owned(),
        input: step.input as f64,
        estimated: step.estimated as f64,
        actual: step.actual as f64,
        elapsed_us: step.elapsed.as_secs_f64() * 1e6,
        children: step.children.iter().map(plan).collect(),
    }
}

/// An event from a name, a time, numeric values and string or number properties.
pub(crate) fn event(
    name: String,
    at: Timestamp,
    values: Option<Unknown<'_>>,
    properties: Option<Unknown<'_>>,
) -> Read<Event> {
    let mut event = Event::new(name, at);
    for (key, v) in optional_entries(values, "values")? {
        let x = number(v, &format!("values.{key}"))?;
        event = event.value(key, x);
    }
    for (key, v) in optional_entries(properties, "properties")? {
        let what = format!("properties.{key}");
        event = match v.get_type() {
            Ok(ValueType::Number) => event.property(key, number(v, &what)?),
            _ => event.property(key, string(v, &what)?),
        };
    }
    Ok(event)
}

/// One row of `trackMany`.
fn event_row(row: Unknown<'_>) -> Read<(String, Event)> {
    let row = object(row, "the row")?;
    let required = |name: &str| -> Read<String> {
        match field(&row, name)? {
            Some(v) => string(v, name),
            None => Err(crate::errors::argument(format!("`{name}` is missing"))),
        }
    };
    let id = required("id")?;
    let name = required("name")?;
    let at = match field(&row, "at")? {
        Some(v) => instant(v, "at")?,
        None => Timestamp::now(),
    };
    let event = event(name, at, field(&row, "values")?, field(&row, "properties")?)?;
    Ok((id, event))
}

/// The rows of a bulk `trackMany`, read on the main thread; a bad row's error has its index.
pub(crate) fn event_rows(rows: Unknown<'_>) -> Read<Vec<(String, Event)>> {
    elements(rows, "events")?
        .into_iter()
        .enumerate()
        .map(|(i, row)| event_row(row).map_err(at_row(i)))
        .collect()
}
