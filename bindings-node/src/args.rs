//! Reading JavaScript arguments. Every argument arrives as an `Unknown` and is checked here,
//! so a wrong type is a `SEGCORE_ARGUMENT` error naming the argument (never napi's own
//! codes), and text is read as UTF-16 so that a lone surrogate is refused rather than turned
//! into U+FFFD (which would make different ids one).

use jiff::Timestamp;
use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, JsValue, Object, Unknown, ValueType};
use napi::{JsDate, JsString};
use segcore::Value;

use crate::errors::{argument, napi_failure, Read};

/// What a value is, for messages: `a number`, `undefined`, `an array`, ...
pub(crate) fn describe(v: &Unknown<'_>) -> &'static str {
    match v.get_type() {
        Ok(ValueType::Undefined) => "undefined",
        Ok(ValueType::Null) => "null",
        Ok(ValueType::Boolean) => "a boolean",
        Ok(ValueType::Number) => "a number",
        Ok(ValueType::String) => "a string",
        Ok(ValueType::Symbol) => "a symbol",
        Ok(ValueType::BigInt) => "a bigint",
        Ok(ValueType::Function) => "a function",
        Ok(ValueType::Object) if v.is_array().unwrap_or(false) => "an array",
        Ok(ValueType::Object) if v.is_date().unwrap_or(false) => "a Date",
        Ok(ValueType::Object) => "an object",
        _ => "an unreadable value",
    }
}

fn is(v: &Unknown<'_>, t: ValueType) -> bool {
    v.get_type().is_ok_and(|got| got == t)
}

/// Refuses `v` unless it is of type `t` (called `noun` in the message).
fn require(v: &Unknown<'_>, t: ValueType, what: &str, noun: &str) -> Read<()> {
    if is(v, t) {
        Ok(())
    } else {
        Err(argument(format!(
            "{what} must be {noun}, not {}",
            describe(v)
        )))
    }
}

/// `undefined` and `null` stand for a missing optional argument.
pub(crate) fn given<'a>(v: Option<Unknown<'a>>) -> Option<Unknown<'a>> {
    v.filter(|v| !is(v, ValueType::Undefined) && !is(v, ValueType::Null))
}

/// A string; `what` names the argument in the message.
pub(crate) fn string(v: Unknown<'_>, what: &str) -> Read<String> {
    require(&v, ValueType::String, what, "a string")?;
    let utf16 = JsString::from_unknown(v)
        .and_then(JsString::into_utf16)
        .map_err(napi_failure)?;
    utf16.as_str().map_err(|_| {
        argument(format!(
            "{what} holds a lone surrogate (half of a UTF-16 pair), which is not text"
        ))
    })
}

/// A finite number.
pub(crate) fn number(v: Unknown<'_>, what: &str) -> Read<f64> {
    require(&v, ValueType::Number, what, "a number")?;
    f64::from_unknown(v).map_err(napi_failure)
}

/// A whole number from 0 to `most`.
pub(crate) fn whole(v: Unknown<'_>, what: &str, most: u64) -> Read<u64> {
    let x = number(v, what)?;
    if x.fract() == 0.0 && (0.0..=most as f64).contains(&x) {
        Ok(x as u64)
    } else {
        Err(argument(format!(
            "{what} must be a whole number from 0 to {most}, not {x}"
        )))
    }
}

/// A boolean.
pub(crate) fn boolean(v: Unknown<'_>, what: &str) -> Read<bool> {
    require(&v, ValueType::Boolean, what, "a boolean")?;
    bool::from_unknown(v).map_err(napi_failure)
}

fn millis(ms: f64, what: &str) -> Read<Timestamp> {
    // Far past every representable instant (±3.2e17 ms), and small enough that the
    // arithmetic below cannot overflow: 1e300 must be refused, not wrapped into some date.
    if !ms.is_finite() || ms.abs() > 1e18 {
        return Err(argument(format!(
            "{what} is not a time: {ms} ms since the epoch"
        )));
    }
    // Whole milliseconds and the fraction apart: `ms * 1e6` would pass 2^53 for any date of
    // this century and land tens of nanoseconds off.
    let whole = ms.floor();
    let nanos = whole as i128 * 1_000_000 + ((ms - whole) * 1e6).round() as i128;
    Timestamp::from_nanosecond(nanos)
        .map_err(|e| argument(format!("{what}: {ms} ms since the epoch: {e}")))
}

fn date(v: Unknown<'_>, what: &str) -> Read<Timestamp> {
    let ms = JsDate::from_unknown(v)
        .and_then(|d| d.value_of())
        .map_err(napi_failure)?;
    millis(ms, what)
}

/// An instant: a `Date`, an ISO 8601 string with an offset, or epoch milliseconds.
pub(crate) fn instant(v: Unknown<'_>, what: &str) -> Read<Timestamp> {
    match v.get_type() {
        Ok(ValueType::String) => {
            let text = string(v, what)?;
            text.parse().map_err(|e| {
                argument(format!(
                    "{what}: `{text}` is not a time with an offset: {e}"
                ))
            })
        }
        Ok(ValueType::Number) => millis(number(v, what)?, what),
        Ok(ValueType::Object) if v.is_date().unwrap_or(false) => date(v, what),
        _ => Err(argument(format!(
            "{what} must be a Date, an ISO 8601 string or epoch milliseconds, not {}",
            describe(&v)
        ))),
    }
}

/// An optional instant; now when it is missing.
pub(crate) fn instant_or_now(v: Option<Unknown<'_>>, what: &str) -> Read<Timestamp> {
    given(v).map_or_else(|| Ok(Timestamp::now()), |v| instant(v, what))
}

/// An attribute value: a string, a boolean, a finite number, an array of strings or a Date.
pub(crate) fn value(v: Unknown<'_>, what: &str) -> Read<Value> {
    Ok(match v.get_type() {
        Ok(ValueType::String) => Value::String(string(v, what)?),
        Ok(ValueType::Boolean) => Value::Bool(boolean(v, what)?),
        Ok(ValueType::Number) => Value::Number(number(v, what)?),
        Ok(ValueType::Object) if v.is_date().unwrap_or(false) => Value::Timestamp(date(v, what)?),
        Ok(ValueType::Object) if v.is_array().unwrap_or(false) => {
            let items = elements(v, what)?
                .into_iter()
                .enumerate()
                .map(|(i, item)| string(item, &format!("{what}[{i}]")))
                .collect::<Read<Vec<_>>>()?;
            Value::List(items)
        }
        _ => {
            return Err(argument(format!(
                "{what} must be a string, a boolean, a number, an array of strings or a Date, \
                 not {}",
                describe(&v)
            )))
        }
    })
}

/// The elements of an array.
pub(crate) fn elements<'a>(v: Unknown<'a>, what: &str) -> Read<Vec<Unknown<'a>>> {
    if !(is(&v, ValueType::Object) && v.is_array().unwrap_or(false)) {
        return Err(argument(format!(
            "{what} must be an array, not {}",
            describe(&v)
        )));
    }
    let array = Object::from_unknown(v).map_err(napi_failure)?;
    let len = array.get_array_length().map_err(napi_failure)?;
    (0..len)
        .map(|i| array.get_element::<Unknown>(i).map_err(napi_failure))
        .collect()
}

/// The entries of a plain object (not an array, a Date or a function), keys checked as text.
pub(crate) fn entries<'a>(v: Unknown<'a>, what: &str) -> Read<Vec<(String, Unknown<'a>)>> {
    let plain =
        is(&v, ValueType::Object) && !v.is_array().unwrap_or(true) && !v.is_date().unwrap_or(true);
    if !plain {
        return Err(argument(format!(
            "{what} must be an object of names to values, not {}",
            describe(&v)
        )));
    }
    let object = Object::from_unknown(v).map_err(napi_failure)?;
    let names = object.get_property_names().map_err(napi_failure)?;
    let len = names.get_array_length().map_err(napi_failure)?;
    (0..len)
        .map(|i| {
            let key = names.get_element::<Unknown>(i).map_err(napi_failure)?;
            let name = string(key, &format!("a key of {what}"))?;
            let value: Unknown = object.get_property(key).map_err(napi_failure)?;
            Ok((name, value))
        })
        .collect()
}

/// An optional object's entries (none when it is missing).
pub(crate) fn optional_entries<'a>(
    v: Option<Unknown<'a>>,
    what: &str,
) -> Read<Vec<(String, Unknown<'a>)>> {
    given(v).map_or_else(|| Ok(Vec::new()), |v| entries(v, what))
}

/// A named field of an object, `None` when it is undefined or null.
pub(crate) fn field<'a>(object: &Object<'a>, name: &str) -> Read<Option<Unknown<'a>>> {
    let v = object
        .get_named_property::<Unknown>(name)
        .map_err(napi_failure)?;
    Ok(given(Some(v)))
}

/// An object (for rows of bulk calls).
pub(crate) fn object<'a>(v: Unknown<'a>, what: &str) -> Read<Object<'a>> {
    let plain = is(&v, ValueType::Object) && !v.is_array().unwrap_or(true);
    if !plain {
        return Err(argument(format!(
            "{what} must be an object, not {}",
            describe(&v)
        )));
    }
    Object::from_unknown(v).map_err(napi_failure)
}
