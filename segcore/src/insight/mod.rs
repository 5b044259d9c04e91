//! Insight: what a marketer needs to decide which segments are worth keeping. What it decides:
//! the statistics (`stats.rs`: rates with Wilson intervals, values with t intervals, the
//! two-proportion and Welch tests, Benjamini–Hochberg, sample sizes — all from sufficient
//! statistics that merge across partitions), segment sizes and overlaps on the member bitmaps
//! (`overlap.rs`), outcomes and KPIs per segment (`kpi.rs`), and whether a segment can carry a
//! test at all (`testability.rs`), and the advisor that reviews a catalog with all of it
//! (`advisor.rs`); RFM scores and the standard RFM segments (`rfm.rs`); and segments of one
//! (`together.rs`: co-occurrence over an event's items, and recommendations that weigh a
//! person's own history).

mod advisor;
mod kpi;
mod overlap;
mod rfm;
mod sampling;
mod stats;
mod testability;
mod together;

pub use advisor::{Advice, Advisor, Finding, FindingKind, SuggestedGroup};
pub use kpi::{KpiParts, KpiRow, Kpis, Measure, Outcome};
pub use overlap::{Overlap, SegmentSize};
pub use rfm::{quintiles, RfmSummary, RFM_FREQUENCY, RFM_MONETARY, RFM_RECENCY, RFM_SEGMENTS};
pub use stats::{
    benjamini_hochberg, sample_size_per_arm, two_proportion_test, welch_test, Interval, Proportion,
    Summary, Test,
};
pub use testability::{TestPlan, Testability};
pub use together::{Because, CoOccurrence, ItemPair, Recommendation};

use crate::error::{Error, Result};
use crate::validate::{check_event, event_property_type};
use crate::value::AttrType;

/// Checks that `event.property` is known and holds `wanted` values; `use_` says what the
/// values are for, in the error ("it cannot be summed").
fn check_event_value(
    schema: &crate::Schema,
    event: &str,
    property: &str,
    wanted: AttrType,
    use_: &str,
) -> Result<()> {
    check_event(schema, event)?;
    let ty = event_property_type(schema, event, property)?;
    if ty != wanted {
        return Err(Error::Type(format!(
            "`{event}.{property}` holds {}, not {}: {use_}",
            ty.name(),
            plural(wanted)
        )));
    }
    Ok(())
}

fn plural(ty: AttrType) -> &'static str {
    match ty {
        AttrType::Number => "numbers",
        _ => "strings",
    }
}
