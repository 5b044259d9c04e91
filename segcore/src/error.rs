//! The one error type of the crate.
//!
//! Every fallible call returns [`Error`]; each variant is a kind of mistake a caller can act on,
//! so the bindings can map them onto their own exception classes and error codes one to one.

use std::fmt;
use std::ops::Range;

use crate::value::AttrType;

/// What kind of name an [`Error::UnknownName`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameKind {
    /// A profile attribute, such as `country`.
    Attribute,
    /// An event name, such as `purchase`.
    Event,
    /// A property or numeric value of an event, such as `purchase.amount`.
    EventProperty,
    /// The namespace of a tag, such as `interest` in `interest:outdoor`.
    TagNamespace,
    /// A named segment in the catalog.
    Segment,
    /// A consent channel, such as `email`.
    Channel,
    /// A profile's external id.
    Profile,
    /// An IANA time zone name.
    TimeZone,
    /// A named decision.
    Decision,
    /// A variant of a decision.
    Variant,
    /// An item of a co-occurrence index (a sku, a title).
    Item,
    /// A contact-list preset (`mailchimp`, `klaviyo`).
    Preset,
}

impl NameKind {
    /// The lower-case noun used in messages ("attribute", "event", ...).
    pub fn noun(self) -> &'static str {
        match self {
            NameKind::Attribute => "attribute",
            NameKind::Event => "event",
            NameKind::EventProperty => "event property",
            NameKind::TagNamespace => "tag namespace",
            NameKind::Segment => "segment",
            NameKind::Channel => "consent channel",
            NameKind::Profile => "profile",
            NameKind::TimeZone => "time zone",
            NameKind::Decision => "decision",
            NameKind::Variant => "variant",
            NameKind::Item => "item",
            NameKind::Preset => "contact preset",
        }
    }
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// A syntax error in the text form of the segment language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte range of the offending input.
    pub span: Range<usize>,
    /// 1-based line of the start of `span`.
    pub line: usize,
    /// 1-based column (in characters) of the start of `span`.
    pub column: usize,
    /// What was found there, as written (or `end of input`).
    pub found: String,
    /// What the parser expected instead.
    pub expected: String,
}

impl ParseError {
    pub(crate) fn new(source: &str, span: Range<usize>, found: String, expected: String) -> Self {
        let (line, column) = line_column(source, span.start);
        ParseError {
            span,
            line,
            column,
            found,
            expected,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: expected {}, found {}",
            self.line, self.column, self.expected, self.found
        )
    }
}

/// 1-based line and character column of a byte offset.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Every error segcore returns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text form of a predicate is malformed.
    #[error("syntax error at {0}")]
    Parse(ParseError),

    /// The JSON form of a predicate is malformed or does not describe a predicate.
    #[error("invalid predicate JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line in the JSON text.
        line: usize,
        /// 1-based column in the JSON text.
        column: usize,
        /// What serde_json or the structure check said.
        message: String,
    },

    /// A name that the audience does not know; `suggestion` is the nearest known one.
    #[error("unknown {kind} `{name}`{}", suggestion_text(.suggestion))]
    UnknownName {
        /// What kind of name it is.
        kind: NameKind,
        /// The name as given.
        name: String,
        /// The closest known name of the same kind, if one is close enough.
        suggestion: Option<String>,
    },

    /// A written value does not fit the schema (e.g. a string into a number attribute).
    #[error("`{field}` is {expected}, but {found} was given")]
    Schema {
        /// The attribute or `event.property` written.
        field: String,
        /// The type the schema holds for it.
        expected: AttrType,
        /// The type of the value given.
        found: AttrType,
    },

    /// A predicate uses a value or an operator that does not fit a field's type.
    #[error("type error: {0}")]
    Type(String),

    /// A value is not acceptable (NaN, an empty id, a malformed regex, a bad duration, ...).
    #[error("invalid value: {0}")]
    InvalidValue(String),

    /// A predicate nests deeper than the language allows ([`MAX_DEPTH`](crate::limits::MAX_DEPTH)),
    /// or a segment does once the segments it refers to are counted in
    /// ([`MAX_EXPANDED_DEPTH`](crate::limits::MAX_EXPANDED_DEPTH)).
    #[error("the predicate nests deeper than {limit} levels")]
    TooDeep {
        /// The maximum depth.
        limit: usize,
    },

    /// Defining a segment would make segments refer to each other in a circle.
    #[error("segment reference cycle: {}", .path.join(" -> "))]
    Cycle {
        /// The segments on the cycle, starting and ending with the same name.
        path: Vec<String>,
    },

    /// A segment cannot be removed because other segments refer to it.
    #[error("segment `{segment}` is used by {}", .used_by.join(", "))]
    SegmentInUse {
        /// The segment that was to be removed.
        segment: String,
        /// The segments that refer to it.
        used_by: Vec<String>,
    },

    /// Bytes given to [`Audience::from_bytes`](crate::Audience::from_bytes) are not an intact
    /// audience image (wrong header, bad checksum, truncated or unreadable).
    #[error("corrupt audience image: {0}")]
    Corrupt(String),

    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the operating system said.
        message: String,
    },

    /// A file was written in a format version this code cannot read.
    #[error("unsupported {file} version: expected {expected}, found {found}")]
    Version {
        /// What kind of file (`audience image`, `journal`).
        file: String,
        /// The versions this code reads.
        expected: String,
        /// The version the file holds.
        found: String,
    },

    /// A durable directory is open for writing in another process (or elsewhere in this one).
    #[error("{path} is locked by {}", .pid.map_or_else(|| "another process".to_owned(), |p| format!("process {p}")))]
    Locked {
        /// The directory.
        path: String,
        /// The process holding it, when its lock file names one.
        pid: Option<u32>,
    },

    /// A message template does not compile, or failed while rendering.
    #[error("template error at line {line}, column {column}: {message}")]
    Template {
        /// 1-based line in the template.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What minijinja said.
        message: String,
    },

    /// A row or message of an input (a JSONL file, a CSV, one message) that cannot be loaded.
    #[error("{origin}{}: {reason}", .line.map_or_else(String::new, |l| format!(", line {l}")))]
    Input {
        /// The file or stream (`message` for one message, `records` for a list).
        origin: String,
        /// The 1-based line the row or message starts on, when there are lines.
        line: Option<u64>,
        /// What is wrong with it.
        reason: String,
    },

    /// A live-membership call while live membership is off
    /// ([`Audience::start_live`](crate::Audience::start_live) turns it on).
    #[error("live membership is off: start it with start_live first")]
    NotLive,

    /// The clock was asked to move backwards.
    #[error("the clock is at {clock} and cannot move back to {to}")]
    ClockBackwards {
        /// The audience clock.
        clock: jiff::Timestamp,
        /// The instant asked for.
        to: jiff::Timestamp,
    },

    /// A write was refused because the transition queue is full: drain it
    /// ([`Audience::drain_transitions`](crate::Audience::drain_transitions)) and write again.
    #[error("the transition queue is full ({capacity} transitions): drain it before writing")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
}

impl Error {
    /// A stable snake_case name for the kind of error, the same in every binding:
    /// `parse`, `json`, `unknown_name`, `schema`, `type`, `invalid_value`, `too_deep`,
    /// `cycle`, `segment_in_use`, `corrupt`, `io`, `version`, `locked`, `template`, `input`,
    /// `not_live`, `clock_backwards` or `queue_full`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Parse(_) => "parse",
            Error::Json { .. } => "json",
            Error::UnknownName { .. } => "unknown_name",
            Error::Schema { .. } => "schema",
            Error::Type(_) => "type",
            Error::InvalidValue(_) => "invalid_value",
            Error::TooDeep { .. } => "too_deep",
            Error::Cycle { .. } => "cycle",
            Error::SegmentInUse { .. } => "segment_in_use",
            Error::Corrupt(_) => "corrupt",
            Error::Io { .. } => "io",
            Error::Version { .. } => "version",
            Error::Locked { .. } => "locked",
            Error::Template { .. } => "template",
            Error::Input { .. } => "input",
            Error::NotLive => "not_live",
            Error::ClockBackwards { .. } => "clock_backwards",
            Error::QueueFull { .. } => "queue_full",
        }
    }
}

impl Error {
    /// An I/O failure on `path`.
    pub(crate) fn io(path: &std::path::Path, e: &std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::Parse(e)
    }
}

/// The result type of segcore.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_column("abc", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é x", 3), (1, 3));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn messages_name_the_suggestion() {
        let e = Error::UnknownName {
            kind: NameKind::Attribute,
            name: "contry".into(),
            suggestion: Some("country".into()),
        };
        assert_eq!(
            e.to_string(),
            "unknown attribute `contry` (did you mean `country`?)"
        );
    }
}
