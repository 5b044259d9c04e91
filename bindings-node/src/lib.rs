//! `segcore` for Node: the native addon. It reads arguments, calls the Rust core, and
//! converts results and errors — nothing else.
//!
//! Errors are JavaScript `Error`s whose `code` is `SEGCORE_` and the core's stable kind in
//! capitals (`SEGCORE_PARSE`, `SEGCORE_UNKNOWN_NAME`, ...); `SEGCORE_ARGUMENT` marks an
//! argument of the wrong type or shape, or text holding a lone surrogate.
#![deny(missing_docs)]

mod args;
mod audience;
mod decide;
mod errors;
mod events;
mod ingest;
mod insight;
mod live;
mod storage;
mod tasks;

use napi_derive::napi;

pub use audience::Audience;
pub use decide::{holdout_fraction, Assign, Assignment, Why};
pub use errors::{ErrorCode, Failure};
pub use events::{EventRow, PlanStep};
pub use ingest::{ContactMapping, ExportReport, IngestReport, Ingested, Load, Rejection};
pub use insight::{
    benjamini_hochberg, sample_size_per_arm, t_interval, two_proportion_test, welch_test,
    wilson_interval, AdviseTask, CoOccurrence, CoOccurrenceTask, KpisTask,
};
pub use live::{Advance, Transition};
pub use tasks::{Answer, Query, TrackMany};

/// The crate's version, the same as the npm package's.
#[napi]
pub fn version() -> String {
    segcore::VERSION.to_owned()
}
