//! Attribute values as CSV cells and JSON values.

use serde_json::Value as Json;

use crate::column::AttrRef;

/// A value as CSV text: numbers without a needless `.0`, instants in RFC 3339, lists joined
/// with commas.
pub(crate) fn text(value: AttrRef<'_>) -> String {
    match value {
        AttrRef::Str(s) => s.to_owned(),
        AttrRef::Num(x) => x.to_string(),
        AttrRef::Bool(b) => b.to_string(),
        AttrRef::Time(t) => t.to_string(),
        AttrRef::List(items) => items.join(","),
    }
}

/// A value as JSON.
pub(crate) fn json(value: AttrRef<'_>) -> Json {
    match value {
        AttrRef::Str(s) => Json::String(s.to_owned()),
        AttrRef::Num(x) => serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number),
        AttrRef::Bool(b) => Json::Bool(b),
        AttrRef::Time(t) => Json::String(t.to_string()),
        AttrRef::List(items) => Json::Array(items.iter().cloned().map(Json::String).collect()),
    }
}
