//! Typed values of profile attributes and event properties.

use std::fmt;

use jiff::Timestamp;

use crate::limits::check_instant;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The type of an attribute or event property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrType {
    /// UTF-8 text.
    String,
    /// A finite 64-bit float.
    Number,
    /// `true` or `false`.
    Bool,
    /// An instant in time.
    Timestamp,
    /// A list of strings (e.g. interests).
    List,
}

impl AttrType {
    /// The type's name with an article, for messages ("a number").
    pub fn with_article(self) -> &'static str {
        match self {
            AttrType::String => "a string",
            AttrType::Number => "a number",
            AttrType::Bool => "a bool",
            AttrType::Timestamp => "a timestamp",
            AttrType::List => "a list",
        }
    }

    /// The type named `name` (`string`, `number`, `bool`, `timestamp` or `list`), for the
    /// bindings' declarations.
    pub fn from_name(name: &str) -> Result<AttrType> {
        const ALL: [AttrType; 5] = [
            AttrType::String,
            AttrType::Number,
            AttrType::Bool,
            AttrType::Timestamp,
            AttrType::List,
        ];
        ALL.into_iter().find(|t| t.name() == name).ok_or_else(|| {
            Error::InvalidValue(format!(
                "`{name}` is not a type; expected one of string, number, bool, timestamp, list"
            ))
        })
    }

    /// The lower-case name of the type.
    pub fn name(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Number => "number",
            AttrType::Bool => "bool",
            AttrType::Timestamp => "timestamp",
            AttrType::List => "list",
        }
    }
}

impl fmt::Display for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.with_article())
    }
}

/// A value held by a profile attribute or an event property.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// UTF-8 text.
    String(String),
    /// A finite number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// An instant.
    Timestamp(Timestamp),
    /// A list of strings.
    List(Vec<String>),
}

impl Value {
    /// The type of this value.
    pub fn attr_type(&self) -> AttrType {
        match self {
            Value::String(_) => AttrType::String,
            Value::Number(_) => AttrType::Number,
            Value::Bool(_) => AttrType::Bool,
            Value::Timestamp(_) => AttrType::Timestamp,
            Value::List(_) => AttrType::List,
        }
    }

    /// Refuses values that no predicate could compare sensibly (NaN and infinities) and
    /// instants outside [`limits`](crate::limits).
    pub(crate) fn check(&self, field: &str) -> Result<()> {
        match self {
            Value::Number(n) if !n.is_finite() => Err(Error::InvalidValue(format!(
                "`{field}` must be a finite number, got {n}"
            ))),
            Value::Timestamp(t) => check_instant(*t, &format!("`{field}`")),
            _ => Ok(()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n as f64)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Number(f64::from(n))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Self {
        Value::Timestamp(t)
    }
}

impl From<Vec<String>> for Value {
    fn from(items: Vec<String>) -> Self {
        Value::List(items)
    }
}

impl From<Vec<&str>> for Value {
    fn from(items: Vec<&str>) -> Self {
        Value::List(items.into_iter().map(str::to_owned).collect())
    }
}
