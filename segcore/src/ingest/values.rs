//! JSON and CSV text into typed values: ids, instants, numbers, and objects flattened into
//! attribute or property names.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value as Json;

use crate::value::{AttrType, Value};

/// Event properties that hold amounts: a string there must read as a number, so that
/// `"12,50"` is rejected rather than stored as text no `sum(...)` would count.
pub const NUMERIC_PROPERTIES: &[&str] = &[
    "revenue", "value", "price", "total", "subtotal", "tax", "shipping", "discount", "quantity",
];

/// A profile id from a JSON value: a non-empty string, or a number's decimal text.
pub(crate) fn id_of(value: Option<&Json>) -> Option<String> {
    match value? {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The instant of a message: `timestamp`, else `originalTimestamp`, else `receivedAt`.
/// A field that is present but unreadable is an error, not skipped.
pub(crate) fn message_time(message: &serde_json::Map<String, Json>) -> Result<Timestamp, String> {
    for field in ["timestamp", "originalTimestamp", "receivedAt"] {
        match message.get(field) {
            None | Some(Json::Null) => continue,
            Some(Json::String(s)) => {
                return parse_instant(s)
                    .ok_or_else(|| format!("`{field}` is {}, not an ISO 8601 instant", quoted(s)))
            }
            Some(other) => {
                return Err(format!(
                    "`{field}` is {}, not an ISO 8601 instant",
                    json_kind(other)
                ))
            }
        }
    }
    Err("no `timestamp`, `originalTimestamp` or `receivedAt`".to_owned())
}

/// An RFC 3339 / ISO 8601 instant with an offset (`2024-06-01T10:00:00Z`).
pub(crate) fn parse_instant(s: &str) -> Option<Timestamp> {
    s.trim().parse::<Timestamp>().ok()
}

/// An instant as a contact list writes it: RFC 3339, or a civil date-time (`2024-06-01
/// 10:00:00`) or date (`2024-06-01`) read in the audience's zone.
pub(crate) fn parse_local_instant(s: &str, zone: &TimeZone) -> Option<Timestamp> {
    if let Some(t) = parse_instant(s) {
        return Some(t);
    }
    let civil: DateTime = s.trim().parse().ok()?;
    crate::language::civil_instant(civil, zone)
}

/// A number written as text: digits with an optional sign, a dot for decimals and an
/// exponent. `12,50`, `inf` and `NaN` are refused.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let plain = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    let n: f64 = if plain { t.parse().ok()? } else { return None };
    n.is_finite().then_some(n)
}

/// `yes`/`no`-like text as a bool.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// A string for messages: quoted, and cut short when long.
pub(crate) fn quoted(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// What kind of JSON value this is, with an article.
pub(crate) fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// An object's scalar leaves, nested objects flattened with `_` (`address.city` →
/// `address_city`), in document order.
pub(crate) fn flatten<'a>(
    prefix: &str,
    object: &'a serde_json::Map<String, Json>,
    out: &mut Vec<(String, &'a Json)>,
) {
    for (key, value) in object {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}_{key}")
        };
        match value {
            Json::Object(inner) => flatten(&name, inner, out),
            _ => out.push((name, value)),
        }
    }
}

/// What became of one JSON value written to a typed field.
pub(crate) enum Converted {
    /// Store this value.
    Value(Value),
    /// JSON null: the field has no value.
    Null,
    /// No attribute or property type holds it (an array of objects, say).
    NotStored,
}

/// A JSON value as an attribute value. A string becomes a number or an instant when the
/// attribute is declared so (the schema decides, not a guess from the text).
pub(crate) fn attribute_value(
    name: &str,
    value: &Json,
    declared: Option<AttrType>,
) -> Result<Converted, String> {
    Ok(Converted::Value(match (value, declared) {
        (Json::Null, _) => return Ok(Converted::Null),
        (Json::String(s), Some(AttrType::Number)) => {
            Value::Number(parse_number(s).ok_or_else(|| not_a_number(name, s))?)
        }
        (Json::String(s), Some(AttrType::Timestamp)) => Value::Timestamp(
            parse_instant(s)
                .ok_or_else(|| format!("`{name}` is {}, not an ISO 8601 instant", quoted(s)))?,
        ),
        (Json::String(s), _) => Value::String(s.clone()),
        (Json::Number(n), _) => Value::Number(number(name, n)?),
        (Json::Bool(b), _) => Value::Bool(*b),
        (Json::Array(items), _) => {
            let strings: Option<Vec<String>> = items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect();
            match strings {
                Some(list) => Value::List(list),
                None => return Ok(Converted::NotStored),
            }
        }
        (Json::Object(_), _) => return Ok(Converted::NotStored),
    }))
}

/// A JSON value as an event property (a string or a number). Amounts
/// ([`NUMERIC_PROPERTIES`]) and properties declared as numbers must read as numbers; a
/// boolean is kept as the text `true` or `false`.
pub(crate) fn property_value(
    name: &str,
    value: &Json,
    declared: Option<AttrType>,
) -> Result<Converted, String> {
    let numeric = declared == Some(AttrType::Number) || NUMERIC_PROPERTIES.contains(&name);
    Ok(Converted::Value(match value {
        Json::Null => return Ok(Converted::Null),
        Json::String(s) if numeric => {
            Value::Number(parse_number(s).ok_or_else(|| not_a_number(name, s))?)
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Number(n) => Value::Number(number(name, n)?),
        Json::Bool(b) => Value::String(b.to_string()),
        Json::Array(_) | Json::Object(_) => return Ok(Converted::NotStored),
    }))
}

fn number(name: &str, n: &serde_json::Number) -> Result<f64, String> {
    n.as_f64()
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("`{name}` is {n}, beyond a finite 64-bit number"))
}

fn not_a_number(name: &str, s: &str) -> String {
    let hint = if s.contains(',') {
        " (decimals take a dot, and no thousands separators)"
    } else {
        ""
    };
    format!("`{name}` is {}, not a number{hint}", quoted(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(parse_number("12.50"), Some(12.5));
        assert_eq!(parse_number(" -3e2 "), Some(-300.0));
        assert_eq!(parse_number("12,50"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("1e999"), None);
    }

    #[test]
    fn instants_need_an_offset_unless_local() {
        assert!(parse_instant("2024-06-01T10:00:00Z").is_some());
        assert!(parse_instant("2024-06-01T10:00:00.123+02:00").is_some());
        assert!(parse_instant("yesterday").is_none());
        assert!(parse_instant("2024-06-01 10:00:00").is_none());
        let zone = TimeZone::get("Europe/Stockholm").unwrap();
        let t = parse_local_instant("2024-06-01 10:00:00", &zone).unwrap();
        assert_eq!(t.to_string(), "2024-06-01T08:00:00Z");
        let d = parse_local_instant("2024-06-01", &zone).unwrap();
        assert_eq!(d.to_string(), "2024-05-31T22:00:00Z");
    }

    #[test]
    fn amounts_must_be_numbers() {
        let v = serde_json::json!("12,50");
        let err = property_value("revenue", &v, None).err().unwrap();
        assert_eq!(
            err,
            "`revenue` is \"12,50\", not a number (decimals take a dot, and no thousands separators)"
        );
        let v = serde_json::json!("12.50");
        assert!(matches!(
            property_value("revenue", &v, None),
            Ok(Converted::Value(Value::Number(x))) if x == 12.5
        ));
        assert!(matches!(
            property_value("color", &serde_json::json!("12,50"), None),
            Ok(Converted::Value(Value::String(_)))
        ));
    }
}
