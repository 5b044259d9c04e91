//! The predicate AST: what a segment *is*, independent of its text or JSON spelling.
//!
//! The serde derive here *is* the JSON form: externally tagged, snake_case names, unknown
//! fields refused. `Display` (in `display.rs`) prints the canonical text form.

use serde::{Deserialize, Serialize};

use super::time::{Duration, TimeRef, Window};

/// The deepest nesting of `and` / `or` / `not` the language accepts.
///
/// Marketers' segments nest a handful of levels; the limit keeps the parser, the JSON reader
/// and every recursive walk far from the stack's end.
pub const MAX_DEPTH: usize = 48;

/// A boolean condition over one profile: the segment language's AST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Predicate {
    /// All of the conditions hold (at least two).
    And(Vec<Predicate>),
    /// At least one of the conditions holds (at least two).
    Or(Vec<Predicate>),
    /// The condition does not hold: the complement within the live profiles.
    Not(Box<Predicate>),
    /// A test of a profile attribute, e.g. `country in ["SE", "DK"]`.
    Attribute {
        /// The attribute's name.
        name: String,
        /// The test applied to its value.
        test: Test,
    },
    /// The profile holds a tag, e.g. `tag "vip"`; `interest:*` holds any tag of a namespace.
    Tag {
        /// The tag, or a namespace wildcard `ns:*`.
        tag: String,
        /// Only if the tag was added within this window.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within: Option<Window>,
    },
    /// The profile holds at least one of these tags (or wildcards).
    TagAny(Vec<String>),
    /// The profile holds all of these tags (or wildcards).
    TagAll(Vec<String>),
    /// The profile did an event, e.g. `did purchase at least 2 times in last 30d`.
    Event {
        /// The event name.
        event: String,
        /// How many times; absent means at least once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<CountTest>,
        /// Only events within this window count.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<Window>,
        /// Only events whose properties pass all these filters count.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filter: Vec<Filter>,
    },
    /// An aggregate of a numeric event value, e.g. `sum(purchase.amount in last 365d) > 500`.
    Aggregate {
        /// sum, avg, min or max.
        func: AggFunc,
        /// The event name.
        event: String,
        /// The numeric property aggregated.
        value: String,
        /// Only events within this window count.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<Window>,
        /// Only events whose properties pass all these filters count.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filter: Vec<Filter>,
        /// The test applied to the aggregate (a number, missing when undefined).
        test: Test,
    },
    /// The time of the first or last occurrence of an event, e.g. `last(purchase) before 90d ago`.
    Occurrence {
        /// First or last occurrence.
        which: Which,
        /// The event name.
        event: String,
        /// Only events whose properties pass all these filters count.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filter: Vec<Filter>,
        /// The test applied to the occurrence's timestamp (missing when it never happened).
        test: Test,
    },
    /// The profile's location lies within a radius of a point.
    Near(Near),
    /// The profile has granted consent on a channel.
    Consent(String),
    /// The profile is a member of another named segment.
    Segment(String),
}

/// A test applied to one value: an attribute, an event property, an aggregate or a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Test {
    /// `== != < <= > >=` against a literal.
    Cmp {
        /// The operator.
        op: CmpOp,
        /// The right-hand side.
        value: Literal,
    },
    /// `between low and high`, inclusive at both ends.
    Between {
        /// Lower bound (inclusive).
        low: Literal,
        /// Upper bound (inclusive).
        high: Literal,
    },
    /// Equal to one of the literals.
    In(Vec<Literal>),
    /// Present and equal to none of the literals.
    NotIn(Vec<Literal>),
    /// The value is present.
    Exists,
    /// The value is absent.
    Missing,
    /// A string contains the text; a list contains the element.
    Contains(TextPattern),
    /// A string starts with the text.
    StartsWith(TextPattern),
    /// A string ends with the text.
    EndsWith(TextPattern),
    /// A string matches the regular expression (unanchored, `regex` crate syntax).
    Matches(String),
    /// A list holds at least one of the strings.
    ContainsAny(Vec<String>),
    /// A list holds all of the strings.
    ContainsAll(Vec<String>),
    /// A timestamp lies within the window.
    Within(Window),
}

/// Text to look for, optionally ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextPattern {
    /// The text.
    pub value: String,
    /// Compare after lower-casing both sides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_case: bool,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CmpOp {
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=` (false when the value is missing)
    #[serde(rename = "!=")]
    Ne,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl CmpOp {
    /// The operator as written in the text form.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether `ordering` (left compared with right) satisfies the operator.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ordering == Equal,
            CmpOp::Ne => ordering != Equal,
            CmpOp::Lt => ordering == Less,
            CmpOp::Le => ordering != Greater,
            CmpOp::Gt => ordering == Greater,
            CmpOp::Ge => ordering != Less,
        }
    }
}

/// A literal on the right-hand side of a test.
///
/// In JSON a string, number or bool is written as itself; a time as an object
/// (`{"ago": "30d"}`, `{"at": "2024-05-01"}`, `{"now": {}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Literal {
    /// `true` / `false`.
    Bool(bool),
    /// A finite number.
    Number(f64),
    /// A string.
    String(String),
    /// A point in time, absolute or relative to now.
    Time(TimeRef),
}

/// `at least N times` and its siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountTest {
    /// How the count compares with `times`.
    pub op: CmpOp,
    /// The number of times.
    pub times: u32,
}

/// A filter on an event's properties: `where category == "shoes"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// The property (or numeric value) name.
    pub key: String,
    /// The test applied to it.
    pub test: Test,
}

/// An aggregate function over numeric event values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggFunc {
    /// The sum; 0 when no event counts.
    Sum,
    /// The mean; missing when no event counts.
    Avg,
    /// The smallest value; missing when no event counts.
    Min,
    /// The largest value; missing when no event counts.
    Max,
}

impl AggFunc {
    /// The function's name in the text form.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
        }
    }
}

/// First or last occurrence of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// The earliest occurrence.
    First,
    /// The latest occurrence (at or before now).
    Last,
}

impl Which {
    /// The keyword in the text form.
    pub fn name(self) -> &'static str {
        match self {
            Which::First => "first",
            Which::Last => "last",
        }
    }
}

/// Units of a radius.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistanceUnit {
    /// Kilometres.
    Km,
    /// Statute miles.
    Mi,
}

impl DistanceUnit {
    /// The suffix in the text form.
    pub fn name(self) -> &'static str {
        match self {
            DistanceUnit::Km => "km",
            DistanceUnit::Mi => "mi",
        }
    }

    /// How many kilometres one unit is.
    pub fn kilometres(self) -> f64 {
        match self {
            DistanceUnit::Km => 1.0,
            DistanceUnit::Mi => 1.609_344,
        }
    }
}

/// The attribute names a [`Near`] reads when none are given.
pub const DEFAULT_LATITUDE: &str = "latitude";
/// See [`DEFAULT_LATITUDE`].
pub const DEFAULT_LONGITUDE: &str = "longitude";

fn default_latitude() -> String {
    DEFAULT_LATITUDE.to_owned()
}

fn default_longitude() -> String {
    DEFAULT_LONGITUDE.to_owned()
}

fn is_default_latitude(s: &str) -> bool {
    s == DEFAULT_LATITUDE
}

fn is_default_longitude(s: &str) -> bool {
    s == DEFAULT_LONGITUDE
}

/// `within 50km of (59.33, 18.07)`: great-circle distance from a point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Near {
    /// Latitude of the centre, in degrees.
    pub latitude: f64,
    /// Longitude of the centre, in degrees.
    pub longitude: f64,
    /// The radius (inclusive).
    pub radius: f64,
    /// The radius's unit.
    pub unit: DistanceUnit,
    /// The number attribute holding the profile's latitude.
    #[serde(
        default = "default_latitude",
        skip_serializing_if = "is_default_latitude"
    )]
    pub latitude_attribute: String,
    /// The number attribute holding the profile's longitude.
    #[serde(
        default = "default_longitude",
        skip_serializing_if = "is_default_longitude"
    )]
    pub longitude_attribute: String,
}

impl Predicate {
    /// `attribute name <test>`.
    pub fn attribute(name: impl Into<String>, test: Test) -> Predicate {
        Predicate::Attribute {
            name: name.into(),
            test,
        }
    }

    /// `tag "<tag>"`.
    pub fn tag(tag: impl Into<String>) -> Predicate {
        Predicate::Tag {
            tag: tag.into(),
            within: None,
        }
    }

    /// `did <event>` (at least once, ever).
    pub fn did(event: impl Into<String>) -> Predicate {
        Predicate::Event {
            event: event.into(),
            count: None,
            window: None,
            filter: Vec::new(),
        }
    }

    /// `segment <name>`.
    pub fn segment(name: impl Into<String>) -> Predicate {
        Predicate::Segment(name.into())
    }

    /// All of `parts`; a single part is returned as itself.
    pub fn all(mut parts: Vec<Predicate>) -> Predicate {
        if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Predicate::And(parts)
        }
    }

    /// Any of `parts`; a single part is returned as itself.
    pub fn any(mut parts: Vec<Predicate>) -> Predicate {
        if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Predicate::Or(parts)
        }
    }

    /// The negation.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Predicate {
        Predicate::Not(Box::new(self))
    }

    /// The names of the segments this predicate refers to directly.
    pub fn segment_references(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.visit(&mut |p| {
            if let Predicate::Segment(name) = p {
                out.push(name.as_str());
            }
        });
        out
    }

    /// Calls `f` on this predicate and every predicate nested in it, parents first.
    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Predicate)) {
        f(self);
        match self {
            Predicate::And(parts) | Predicate::Or(parts) => {
                for p in parts {
                    p.visit(f);
                }
            }
            Predicate::Not(inner) => inner.visit(f),
            _ => {}
        }
    }

    /// How deeply `and` / `or` / `not` nest (a lone condition has depth 1).
    pub fn depth(&self) -> usize {
        match self {
            Predicate::And(parts) | Predicate::Or(parts) => {
                1 + parts.iter().map(Predicate::depth).max().unwrap_or(0)
            }
            Predicate::Not(inner) => 1 + inner.depth(),
            _ => 1,
        }
    }
}

impl Test {
    /// `== value`
    pub fn eq(value: impl Into<Literal>) -> Test {
        Test::Cmp {
            op: CmpOp::Eq,
            value: value.into(),
        }
    }

    /// `<op> value`
    pub fn cmp(op: CmpOp, value: impl Into<Literal>) -> Test {
        Test::Cmp {
            op,
            value: value.into(),
        }
    }
}

impl From<&str> for Literal {
    fn from(s: &str) -> Self {
        Literal::String(s.to_owned())
    }
}

impl From<String> for Literal {
    fn from(s: String) -> Self {
        Literal::String(s)
    }
}

impl From<f64> for Literal {
    fn from(n: f64) -> Self {
        Literal::Number(n)
    }
}

impl From<bool> for Literal {
    fn from(b: bool) -> Self {
        Literal::Bool(b)
    }
}

impl From<TimeRef> for Literal {
    fn from(t: TimeRef) -> Self {
        Literal::Time(t)
    }
}

impl From<Duration> for TimeRef {
    /// A duration alone means that long ago.
    fn from(d: Duration) -> Self {
        TimeRef::Ago(d)
    }
}
