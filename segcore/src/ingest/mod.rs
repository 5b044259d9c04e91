//! Ingest decides how data in the shapes marketing tools send becomes profiles: Segment-spec
//! messages (one at a time, or JSONL streamed line by line) and contact lists as CSV. It
//! owns the rules for ids and merges, first and last touch, amounts and instants written as
//! text, and what a bad row does: every row or message read is loaded or rejected with its
//! line and reason, and a rejected one changes nothing.
//!
//! ```
//! use segcore::ingest::{IngestOptions, OnError};
//! use segcore::Audience;
//!
//! let jsonl = r#"{"type":"identify","userId":"ada","traits":{"plan":"pro"},"timestamp":"2024-06-01T10:00:00Z"}
//! {"type":"track","userId":"ada","event":"Order Completed","properties":{"revenue":"49.50"},"timestamp":"2024-06-01T10:05:00Z"}
//! {"type":"track","userId":"bob","event":"Order Completed","properties":{"revenue":"12,50"},"timestamp":"2024-06-01T11:00:00Z"}
//! "#;
//! let mut audience = Audience::new();
//! let report = audience.ingest_jsonl(std::io::Cursor::new(jsonl), "orders.jsonl", &IngestOptions::default())?;
//! assert_eq!((report.read, report.loaded, report.rejected), (3, 2, 1));
//! assert_eq!(report.rejections[0].to_string(),
//!     "line 3: `revenue` is \"12,50\", not a number (decimals take a dot, and no thousands separators)");
//!
//! let strict = IngestOptions { on_error: OnError::Fail, ..IngestOptions::default() };
//! let err = Audience::new().ingest_jsonl(std::io::Cursor::new(jsonl), "orders.jsonl", &strict).unwrap_err();
//! assert_eq!(err.to_string(), "orders.jsonl, line 3: `revenue` is \"12,50\", not a number (decimals take a dot, and no thousands separators)");
//! # Ok::<(), segcore::Error>(())
//! ```

mod audience;
mod campaign;
mod check;
mod columns;
mod contacts;
mod csv_lines;
mod event_load;
mod event_rows;
mod identity;
mod lines;
mod message;
mod profile_load;
mod report;
mod values;

pub use audience::Ingested;
pub use campaign::{FIRST_TOUCH, LAST_TOUCH};
pub use columns::{EventColumns, PropertyColumn, RowError};
pub use contacts::{AttributeColumn, ConsentColumn, ContactMapping, PRESETS};
pub use event_load::EventLoad;
pub(crate) use event_rows::EventRows;
pub use identity::MERGED_IDS;
pub use message::MESSAGE_TYPES;
pub use profile_load::ProfileColumns;
pub use report::{Rejection, Report, MAX_KEPT_REJECTIONS};
pub use values::NUMERIC_PROPERTIES;

pub(crate) use identity::Aliases;

/// The instant of a Segment-spec message as ingest reads it (`timestamp`, else
/// `originalTimestamp`, else `receivedAt`); `None` when it has no readable one.
pub fn message_instant(message: &serde_json::Value) -> Option<jiff::Timestamp> {
    values::message_time(message.as_object()?).ok()
}

/// What a load does with a bad row or message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Load the rest and report each rejected one with its line and reason.
    #[default]
    Skip,
    /// Load nothing if any is bad: the whole input is checked first, and the first bad one
    /// is returned as [`Error::Input`](crate::Error::Input).
    Fail,
}

impl OnError {
    /// `skip` or `fail`, as the bindings and the command line name them.
    pub fn from_name(name: &str) -> crate::Result<OnError> {
        match name {
            "skip" => Ok(OnError::Skip),
            "fail" => Ok(OnError::Fail),
            other => Err(crate::Error::InvalidValue(format!(
                "`{other}` is not an error policy; expected skip or fail"
            ))),
        }
    }
}

/// How a load reads its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// What a bad row or message does.
    pub on_error: OnError,
    /// The longest JSONL line read; a longer one is rejected without being held in memory.
    pub max_line_bytes: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            on_error: OnError::Skip,
            max_line_bytes: 1 << 20,
        }
    }
}
