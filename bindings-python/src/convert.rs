//! Python values to core values and back: attribute values, instants, events.
//!
//! Instants: an aware `datetime` (or pandas `Timestamp`) is exact; a naive one is read as UTC;
//! a string must be RFC 3339 with an offset (`2024-05-01T10:00:00Z`); an `int` or `float` is
//! seconds since the Unix epoch. The abi3 build cannot use CPython's datetime C API, so a
//! `datetime` is read through its `isoformat()`.

use jiff::civil::DateTime;
use jiff::Timestamp;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString, PyTuple};
use segcore::Value;

/// An instant from a `datetime`, an RFC 3339 string or epoch seconds.
pub(crate) fn instant(v: &Bound<'_, PyAny>) -> PyResult<Timestamp> {
    if let Ok(s) = v.cast::<PyString>() {
        let text = s.to_str()?;
        return text.parse::<Timestamp>().map_err(|e| {
            PyValueError::new_err(format!(
                "`{text}` is not an instant with an offset, such as 2024-05-01T10:00:00Z: {e}"
            ))
        });
    }
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err("an instant cannot be a bool"));
    }
    if v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>() {
        let seconds: f64 = v.extract()?;
        let nanos = seconds * 1e9;
        if !nanos.is_finite() || nanos.abs() > 2e26 {
            return Err(PyValueError::new_err(format!(
                "{seconds} seconds since the epoch is not a representable instant"
            )));
        }
        return Timestamp::from_nanosecond(nanos.round() as i128)
            .map_err(|e| PyValueError::new_err(format!("{seconds} s since the epoch: {e}")));
    }
    if v.hasattr("isoformat")? && v.hasattr("tzinfo")? {
        let iso: String = v.call_method0("isoformat")?.extract()?;
        let naive = v.getattr("tzinfo")?.is_none();
        let parsed = if naive {
            iso.parse::<DateTime>()
                .and_then(|dt| dt.to_zoned_datetime(jiff::tz::TimeZone::UTC))
                .map(|z| z.timestamp())
        } else {
            iso.parse::<Timestamp>()
        };
        return parsed
            .map_err(|e| PyValueError::new_err(format!("cannot read the datetime `{iso}`: {e}")));
    }
    Err(PyTypeError::new_err(format!(
        "expected a datetime, an RFC 3339 string or epoch seconds, not {}",
        v.get_type().name()?
    )))
}

/// The instant `v`, or now when it is `None`.
pub(crate) fn instant_or_now(v: Option<&Bound<'_, PyAny>>) -> PyResult<Timestamp> {
    match v {
        Some(v) if !v.is_none() => instant(v),
        _ => Ok(Timestamp::now()),
    }
}

/// An attribute or property value: str, bool, int or float, a datetime, or a list of str.
pub(crate) fn value(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>() {
        return Ok(Value::Number(v.extract()?));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items: Vec<String> = v.extract().map_err(|_| {
            PyTypeError::new_err(format!("`{key}`: a list value holds strings only"))
        })?;
        return Ok(Value::List(items));
    }
    if v.is_none() {
        return Err(PyTypeError::new_err(format!(
            "`{key}` is None: use Audience.unset to remove a value"
        )));
    }
    if v.hasattr("isoformat")? && v.hasattr("tzinfo")? {
        return Ok(Value::Timestamp(instant(v)?));
    }
    // numpy scalars and the like: anything that turns into a float.
    if let Ok(x) = v.call_method0("__float__").and_then(|f| f.extract::<f64>()) {
        return Ok(Value::Number(x));
    }
    Err(PyTypeError::new_err(format!(
        "`{key}`: expected str, bool, int, float, datetime or a list of str, not {}",
        v.get_type().name()?
    )))
}

/// A core value as a Python object.
pub(crate) fn to_object<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Number(x) => x.into_pyobject(py)?.into_any(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Timestamp(t) => datetime(py, *t)?,
        Value::List(items) => items.into_pyobject(py)?.into_any(),
    })
}

/// An instant as an aware UTC `datetime`, rounded *up* to Python's microseconds: for instants
/// something happens at (a transition, a change due), so that `advance_to` the value reaches
/// it. The last storable microsecond stays as it is.
pub(crate) fn datetime_ceil<'py>(py: Python<'py>, t: Timestamp) -> PyResult<Bound<'py, PyAny>> {
    let ceil = jiff::TimestampRound::new()
        .smallest(jiff::Unit::Microsecond)
        .mode(jiff::RoundMode::Ceil);
    datetime(py, t.round(ceil).unwrap_or(t))
}

/// An instant as an aware UTC `datetime` (microseconds: Python's resolution).
pub(crate) fn datetime<'py>(py: Python<'py>, t: Timestamp) -> PyResult<Bound<'py, PyAny>> {
    let dt = py.import("datetime")?;
    let utc = dt.getattr("timezone")?.getattr("utc")?;
    // Floored to Python's microseconds: rounding could carry the last storable instant
    // (…59.999999999) past the end of the calendar.
    let floored = jiff::TimestampRound::new()
        .smallest(jiff::Unit::Microsecond)
        .mode(jiff::RoundMode::Floor);
    let text = t
        .round(floored)
        .map_err(|e| PyValueError::new_err(e.to_string()))?
        .strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string();
    dt.getattr("datetime")?
        .call_method1("fromisoformat", (text,))?
        .call_method1("astimezone", (utc,))
}
