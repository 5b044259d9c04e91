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
mod stats;
mod testability;
mod together;

pub use advisor::{Advice, Advisor, Finding, FindingKind, SuggestedGroup};
pub use kpi::{KpiRow, Kpis, Measure, Outcome};
pub use overlap::{Overlap, SegmentSize};
pub use rfm::{quintiles, RfmSummary, RFM_FREQUENCY, RFM_MONETARY, RFM_RECENCY, RFM_SEGMENTS};
pub use stats::{
    benjamini_hochberg, sample_size_per_arm, two_proportion_test, welch_test, Interval, Proportion,
    Summary, Test,
};
pub use testability::{TestPlan, Testability};
pub use together::{Because, CoOccurrence, ItemPair, Recommendation};
