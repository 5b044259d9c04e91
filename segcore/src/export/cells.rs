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

/// Whether a spreadsheet would take text beginning so for a formula (OWASP's list for CSV
/// injection: `=`, `+`, `-`, `@`, tab, carriage return).
fn looks_like_formula(text: &str) -> bool {
    matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// A text cell made safe to open in a spreadsheet: a `'` in front of what would be a formula.
pub(crate) fn neutralized(text: String) -> String {
    if looks_like_formula(&text) {
        format!("'{text}")
    } else {
        text
    }
}

/// A value as a CSV cell: [`text`], neutralised when `neutralize` is on and the value is text
/// (numbers, booleans and instants are never formulas).
pub(crate) fn cell(value: AttrRef<'_>, neutralize: bool) -> String {
    let is_text = matches!(value, AttrRef::Str(_) | AttrRef::List(_));
    let written = text(value);
    if neutralize && is_text {
        neutralized(written)
    } else {
        written
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_that_would_run_is_neutralized() {
        for formula in ["=1+2", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(cell(AttrRef::Str(formula), true), format!("'{formula}"));
            assert_eq!(cell(AttrRef::Str(formula), false), formula);
        }
        for plain in ["ada", "", " =1", "'=1", "1=1"] {
            assert_eq!(cell(AttrRef::Str(plain), true), plain);
        }
        assert_eq!(cell(AttrRef::Num(-5.0), true), "-5");
        let list = ["=cmd".to_owned(), "b".to_owned()];
        assert_eq!(cell(AttrRef::List(&list), true), "'=cmd,b");
    }
}
