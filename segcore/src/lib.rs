//! # segcore
//!
//! An embeddable customer-segmentation engine. An [`Audience`] holds profiles with typed
//! attributes, tags, timestamped events and consent; the **segment language** describes who is
//! in a segment, as readable text or as JSON; and queries answer who matches, how many, and
//! which segments a profile is in — always at an explicit `now`, so answers are reproducible.
//!
//! ```
//! use segcore::{Audience, Event, Predicate};
//!
//! let now: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
//! let mut audience = Audience::new();
//! audience.upsert("ada", [("country", "SE".into()), ("age", 36.into())])?;
//! audience.upsert("bob", [("country", "DK".into()), ("age", 19.into())])?;
//! audience.track("ada", Event::new("purchase", now).value("amount", 700.0))?;
//!
//! let big_spenders = audience.predicate(
//!     r#"country in ["SE", "DK"] and sum(purchase.amount in last 365d) > 500"#,
//! )?;
//! assert_eq!(audience.members(&big_spenders, now)?, ["ada"]);
//! # Ok::<(), segcore::Error>(())
//! ```
//!
//! What each construct means — missing values, window edges, time zones, late events — is
//! defined by the reference evaluator and written down in `docs/segment-language.md`.
#![deny(missing_docs)]

mod audience;
mod catalog;
mod column;
pub mod decide;
mod define_many;
mod error;
mod explain;
pub mod export;
mod geo;
mod index;
pub mod ingest;
pub mod insight;
pub mod language;
pub mod limits;
pub mod live;
mod matcher;
mod profile;
mod reference;
mod reverse;
pub mod sample;
mod schema;
mod shard;
mod storage;
mod store;
mod suggest;
mod validate;
mod value;
mod why;
mod write;

pub use audience::{Audience, MAX_EVENT_PROPERTIES};
pub use catalog::Catalog;
pub use decide::{Assignment, ChosenBy, Decided, Decision, Escape, Rule, Template, Variant};
pub use error::{Error, NameKind, ParseError, Result};
pub use explain::{Explain, Method, PlanStep};
pub use language::Predicate;
pub use live::{Direction, Transition};
pub use profile::{Consent, Event, Profile};
pub use reverse::ReverseStats;
pub use schema::{Schema, BUILTIN_CHANNELS};
pub use shard::{shard_of, MAX_SHARDS};
pub use storage::{Commit, OpenOptions, OpenReport, Recover, Sync};
pub use value::{AttrType, Value};
pub use why::{Clause, Why};
pub use write::Write;

/// The version of the crate, shared by the Python wheel and the npm package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Rust examples in README.md, compiled and run as doc tests so the front door stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The examples in docs/ingest.md, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/ingest.md")]
struct IngestDoctests;

/// The examples in docs/live.md, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/live.md")]
struct LiveDoctests;
