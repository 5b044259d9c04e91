//! Bulk loads from any table that exposes the Arrow C stream interface
//! (`__arrow_c_stream__`: pandas 2.2+, polars, pyarrow, DuckDB results), without segcore
//! itself needing pyarrow. Each record batch is converted column by column into core values,
//! then written row by row with the GIL released.
//!
//! Nulls (and NaN in float columns, pandas' missing value) mean "no value": the attribute or
//! property is not written. A row the core refuses stops the load with that error, its `row`
//! attribute set to the row's 0-based number; the rows before it stay loaded (each row is
//! written whole or not at all).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use jiff::Timestamp;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use segcore::ingest::{EventColumns, PropertyColumn};
use segcore::{Event, Value};

use crate::errors::to_py;

/// Columns of values by name, one batch long.
pub(crate) type Columns = Vec<(String, Vec<Option<Value>>)>;

/// A batch of profiles: ids, tag lists (if a tags column was named), attribute columns.
pub(crate) type ProfileRows = (Vec<String>, Option<Vec<Option<Value>>>, Columns);

/// A batch of events: ids and names (as Arrow string arrays, read in place), times, and the
/// property columns.
pub(crate) struct EventRows {
    pub ids: ArrayRef,
    pub names: ArrayRef,
    pub times: Vec<Timestamp>,
    pub properties: Vec<(String, PropertyValues)>,
}

/// One property column of an events table, as the core's bulk load takes it.
pub(crate) enum PropertyValues {
    /// Numbers; nulls and NaN are no value.
    Numbers(Vec<Option<f64>>),
    /// Strings, read in place from the Arrow array.
    Strings(ArrayRef),
    /// Anything else (booleans, times, lists): no event property can hold it, so the first
    /// row with a value is refused by the core, with the reason `track` gives.
    Other(Vec<Option<Value>>),
}

/// The rows of a table, batch by batch.
pub(crate) fn stream(table: &Bound<'_, PyAny>) -> PyResult<ArrowArrayStreamReader> {
    if !table.hasattr("__arrow_c_stream__")? {
        return Err(PyTypeError::new_err(format!(
            "expected a table with the Arrow C stream interface (a pandas 2.2+ or polars \
             DataFrame, a pyarrow Table), not {}",
            table.get_type().name()?
        )));
    }
    let capsule = table.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let pointer = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
    let raw = pointer.cast::<FFI_ArrowArrayStream>().as_ptr();
    // SAFETY: the Arrow PyCapsule interface promises that a capsule named
    // "arrow_array_stream" holds a valid, initialised ArrowArrayStream, and the name was
    // checked above. `from_raw` moves the stream out and leaves a released one behind, which
    // the capsule's destructor then leaves alone; the capsule is alive for the call.
    #[allow(unsafe_code)]
    let reader = unsafe { ArrowArrayStreamReader::from_raw(raw) };
    reader.map_err(|e| PyValueError::new_err(format!("cannot read the table's Arrow stream: {e}")))
}

/// The next batch, with Arrow's error as a Python one.
pub(crate) fn next_batch(reader: &mut ArrowArrayStreamReader) -> PyResult<Option<RecordBatch>> {
    reader
        .next()
        .transpose()
        .map_err(|e| PyValueError::new_err(format!("reading the table failed: {e}")))
}

/// A batch's column by name, or a KeyError-like message naming the columns there are.
pub(crate) fn column<'b>(batch: &'b RecordBatch, name: &str) -> PyResult<&'b ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        pyo3::exceptions::PyKeyError::new_err(format!(
            "the table has no column `{name}`; it has {}",
            names.join(", ")
        ))
    })
}

fn cast(array: &ArrayRef, to: &DataType, name: &str) -> PyResult<ArrayRef> {
    arrow_cast::cast(array, to).map_err(|e| {
        PyTypeError::new_err(format!(
            "column `{name}` ({}) cannot be read as {to}: {e}",
            array.data_type()
        ))
    })
}

fn nanos_per(unit: &TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

fn instant(nanos: i128, name: &str) -> PyResult<Timestamp> {
    Timestamp::from_nanosecond(nanos)
        .map_err(|e| PyValueError::new_err(format!("column `{name}`: {e}")))
}

/// One column of a batch as core values (`None` for nulls and NaN).
pub(crate) fn values(array: &ArrayRef, name: &str) -> PyResult<Vec<Option<Value>>> {
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    match array.data_type() {
        DataType::Boolean => {
            let a = array.as_boolean();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| Value::Bool(a.value(i)))));
        }
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => {
            let floats = cast(array, &DataType::Float64, name)?;
            let a = floats.as_primitive::<Float64Type>();
            out.extend((0..n).map(|i| {
                let x = a.value(i);
                (a.is_valid(i) && !x.is_nan()).then_some(Value::Number(x))
            }));
        }
        DataType::Timestamp(unit, _) => {
            let per = nanos_per(unit);
            let ints = cast(array, &DataType::Int64, name)?;
            let a = ints.as_primitive::<Int64Type>();
            for i in 0..n {
                out.push(match a.is_valid(i) {
                    true => Some(Value::Timestamp(instant(
                        i128::from(a.value(i)) * per,
                        name,
                    )?)),
                    false => None,
                });
            }
        }
        DataType::Date32 | DataType::Date64 => {
            let ts = cast(
                array,
                &DataType::Timestamp(TimeUnit::Millisecond, None),
                name,
            )?;
            return values(&ts, name);
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::ListView(_) => {
            let lists = cast(
                array,
                &DataType::List(Arc::new(arrow_schema::Field::new_list_field(
                    DataType::Utf8,
                    true,
                ))),
                name,
            )?;
            let a = lists.as_list::<i32>();
            for i in 0..n {
                if a.is_null(i) {
                    out.push(None);
                    continue;
                }
                let items = a.value(i);
                let items = items.as_string::<i32>();
                let strings = (0..items.len())
                    .filter(|&j| items.is_valid(j))
                    .map(|j| items.value(j).to_owned())
                    .collect();
                out.push(Some(Value::List(strings)));
            }
        }
        _ => {
            let strings = cast(array, &DataType::Utf8, name)?;
            let a = strings.as_string::<i32>();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| Value::String(a.value(i).to_owned()))));
        }
    }
    Ok(out)
}

/// A property column of an events table (see [`PropertyValues`]).
pub(crate) fn property_values(array: &ArrayRef, name: &str) -> PyResult<PropertyValues> {
    let numeric = array.data_type().is_numeric();
    let stringy = matches!(
        array.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _)
    );
    if numeric {
        let floats = cast(array, &DataType::Float64, name)?;
        let a = floats.as_primitive::<Float64Type>();
        return Ok(PropertyValues::Numbers(
            (0..a.len())
                .map(|i| {
                    let x = a.value(i);
                    (a.is_valid(i) && !x.is_nan()).then_some(x)
                })
                .collect(),
        ));
    }
    if stringy {
        if let Ok(strings) = cast(array, &DataType::Utf8, name) {
            return Ok(PropertyValues::Strings(strings));
        }
    }
    Ok(PropertyValues::Other(values(array, name)?))
}

/// The non-null strings of a Utf8 array, borrowed in place; `None` for nulls.
pub(crate) fn optional_strs(array: &ArrayRef) -> Vec<Option<&str>> {
    let a = array.as_string::<i32>();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

/// The strings of a Utf8 array without nulls (checked by [`required_utf8`]), borrowed in place.
pub(crate) fn strs(array: &ArrayRef) -> Vec<&str> {
    let a = array.as_string::<i32>();
    (0..a.len()).map(|i| a.value(i)).collect()
}

/// A column of ids or names as a Utf8 array (numbers are written in decimal); nulls are refused.
pub(crate) fn required_utf8(array: &ArrayRef, name: &str) -> PyResult<ArrayRef> {
    let strings = cast(array, &DataType::Utf8, name)?;
    if let Some(i) = (0..strings.len()).find(|&i| strings.is_null(i)) {
        return Err(PyValueError::new_err(format!(
            "column `{name}` is null in row {i}"
        )));
    }
    Ok(strings)
}

/// A column of ids or names as strings (numbers are written in decimal); nulls are refused.
pub(crate) fn required_strings(array: &ArrayRef, name: &str) -> PyResult<Vec<String>> {
    let strings = cast(array, &DataType::Utf8, name)?;
    let a = strings.as_string::<i32>();
    (0..a.len())
        .map(|i| match a.is_valid(i) {
            true => Ok(a.value(i).to_owned()),
            false => Err(PyValueError::new_err(format!(
                "column `{name}` is null in row {i}"
            ))),
        })
        .collect()
}

/// A column of instants: timestamps, dates, RFC 3339 strings, or epoch seconds; nulls refused.
pub(crate) fn required_instants(array: &ArrayRef, name: &str) -> PyResult<Vec<Timestamp>> {
    let parsed = values(array, name)?;
    parsed
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(Value::Timestamp(t)) => Ok(t),
            Some(Value::Number(s)) => instant((s * 1e9).round() as i128, name),
            Some(Value::String(s)) => s.parse().map_err(|e| {
                PyValueError::new_err(format!(
                    "column `{name}`, row {i}: `{s}` is not an instant: {e}"
                ))
            }),
            Some(other) => Err(PyTypeError::new_err(format!(
                "column `{name}`, row {i}: {other:?} is not an instant"
            ))),
            None => Err(PyValueError::new_err(format!(
                "column `{name}` is null in row {i}"
            ))),
        })
        .collect()
}

/// A core error from row `row` of the load (counted over the whole table).
pub(crate) fn row_error(py: Python<'_>, e: segcore::Error, row: usize) -> PyErr {
    let err = to_py(e);
    // The row number helps find the bad record; if setting it fails, the error still stands.
    let _ = err.value(py).setattr("row", row);
    err
}

/// Row `row` of an events batch as an event, every property column included.
pub(crate) fn event_of_row(
    rows: &EventRows,
    names: &[&str],
    strings: &[Vec<Option<&str>>],
    row: usize,
) -> Event {
    let mut event = Event::new(names[row], rows.times[row]);
    for ((key, values), strings) in rows.properties.iter().zip(strings) {
        let value = match values {
            PropertyValues::Numbers(v) => v[row].map(Value::Number),
            PropertyValues::Strings(_) => strings[row].map(Value::from),
            PropertyValues::Other(v) => v[row].clone(),
        };
        if let Some(value) = value {
            event = event.property(key.clone(), value);
        }
    }
    event
}

/// Writes a group of prepared record batches as one load (see `segcore::ingest::EventLoad`);
/// a row with a value no event property can hold goes through `track`, which refuses it with
/// its reason. Returns the rows written, or the error and its row in the group.
pub(crate) fn write_events(
    audience: &mut segcore::Audience,
    group: &[EventRows],
) -> Result<usize, (segcore::Error, usize)> {
    let mut load = audience.event_load();
    let mut offset = 0;
    for rows in group {
        let ids = strs(&rows.ids);
        let names = strs(&rows.names);
        let strings: Vec<Vec<Option<&str>>> = rows
            .properties
            .iter()
            .map(|(_, p)| match p {
                PropertyValues::Strings(a) => optional_strs(a),
                _ => Vec::new(),
            })
            .collect();
        let n = ids.len();
        let mut start = 0;
        while start < n {
            // Up to the next row with a value no event property can hold: that row goes
            // through `track`, which refuses it with its reason.
            let stop = rows
                .properties
                .iter()
                .filter_map(|(_, p)| match p {
                    PropertyValues::Other(v) => v[start..]
                        .iter()
                        .position(Option::is_some)
                        .map(|i| start + i),
                    _ => None,
                })
                .min()
                .unwrap_or(n);
            let properties: Vec<(&str, PropertyColumn<'_>)> = rows
                .properties
                .iter()
                .zip(&strings)
                .filter_map(|((key, p), s)| match p {
                    PropertyValues::Numbers(v) => {
                        Some((key.as_str(), PropertyColumn::Numbers(&v[start..stop])))
                    }
                    PropertyValues::Strings(_) => {
                        Some((key.as_str(), PropertyColumn::Strings(&s[start..stop])))
                    }
                    PropertyValues::Other(_) => None,
                })
                .collect();
            let columns = EventColumns {
                ids: &ids[start..stop],
                names: &names[start..stop],
                times: &rows.times[start..stop],
                properties: &properties,
            };
            load.add(&columns)
                .map_err(|e| (e.error, offset + start + e.row))?;
            if stop < n {
                // The rows before it are written first: they came first.
                load.finish();
                let event = event_of_row(rows, &names, &strings, stop);
                audience
                    .track(ids[stop], event)
                    .map_err(|e| (e, offset + stop))?;
                load = audience.event_load();
            }
            start = stop + 1;
        }
        offset += n;
    }
    Ok(offset)
}
