//! Outcomes and KPIs per segment: for each segment, the outcome's rate (or mean value) among
//! its members with an interval, and how it compares with the rest of the audience, with the
//! p-values adjusted for the number of segments compared at once.
//!
//! Everything is computed from sufficient statistics (`stats.rs`): a rate's successes and
//! trials, a value's count, mean and squared deviations. The rest of the audience's statistics
//! come from the whole audience's minus the segment's, exactly, so each segment costs its own
//! members, not the audience's.

use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::index::Bitmap;
use crate::insight::check_event_value;
use crate::insight::stats::{
    benjamini_hochberg, two_proportion_test, welch_test, Interval, Proportion, Summary, Test,
};
use crate::language::Predicate;
use crate::limits::check_instant;
use crate::matcher::Matcher;
use crate::store::PropValue;
use crate::value::AttrType;
use crate::Audience;

/// What a segment's members are measured on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// A member converts when they match `predicate` at `at`: `did purchase in last 14d` at a
    /// reference time plus 14 days is "bought within the 14 days up to then".
    Converts {
        /// The condition.
        predicate: Predicate,
        /// When it is evaluated.
        at: Timestamp,
    },
    /// A value per member: the sum of the numeric property `property` of the member's `event`s
    /// at or after `from` and before `to` — 0 for a member without any (revenue per member).
    Sum {
        /// The event.
        event: String,
        /// Its numeric property.
        property: String,
        /// The first instant counted.
        from: Timestamp,
        /// The first instant not counted.
        to: Timestamp,
    },
}

/// An outcome measured on a group: a rate, or a value's summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// Members who converted, of members.
    Rate(Proportion),
    /// Members' values.
    Value(Summary),
}

impl Measure {
    /// The rate or the mean; `None` for an empty group.
    pub fn estimate(&self) -> Option<f64> {
        match self {
            Measure::Rate(p) => p.rate(),
            Measure::Value(s) => (s.n > 0).then_some(s.mean),
        }
    }

    /// The Wilson interval of a rate, the t interval of a mean.
    pub fn interval(&self, confidence: f64) -> Result<Option<Interval>> {
        match self {
            Measure::Rate(p) => p.wilson(confidence),
            Measure::Value(s) => s.t_interval(confidence),
        }
    }

    /// How many members were measured.
    pub fn members(&self) -> u64 {
        match self {
            Measure::Rate(p) => p.trials,
            Measure::Value(s) => s.n,
        }
    }

    /// Both partitions' members together (the same kind of measure, or `None`).
    pub fn merge(&self, other: &Measure) -> Option<Measure> {
        match (self, other) {
            (Measure::Rate(a), Measure::Rate(b)) => Some(Measure::Rate(a.merge(b))),
            (Measure::Value(a), Measure::Value(b)) => Some(Measure::Value(a.merge(b))),
            _ => None,
        }
    }

    /// The two-proportion test of two rates, Welch's test of two values.
    pub fn test(&self, other: &Measure) -> Option<Test> {
        match (self, other) {
            (Measure::Rate(a), Measure::Rate(b)) => two_proportion_test(a, b),
            (Measure::Value(a), Measure::Value(b)) => welch_test(a, b),
            _ => None,
        }
    }
}

/// One segment's KPI.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRow {
    /// The segment, as given.
    pub segment: String,
    /// Its members at the reference time.
    pub members: u64,
    /// Members as a share of the live profiles.
    pub share: f64,
    /// The outcome among its members.
    pub measure: Measure,
    /// The rate or mean (`None` for an empty segment).
    pub estimate: Option<f64>,
    /// Its interval at the report's confidence.
    pub interval: Option<Interval>,
    /// The outcome among the live profiles not in the segment.
    pub rest: Measure,
    /// The segment against the rest (`None` when either side is too small to test).
    pub vs_rest: Option<Test>,
    /// `vs_rest`'s p-value adjusted by Benjamini–Hochberg over the report's rows.
    pub adjusted_p_value: Option<f64>,
}

/// KPIs for a list of segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpis {
    /// One row per segment, in the order given.
    pub rows: Vec<KpiRow>,
    /// The outcome over every live profile.
    pub overall: Measure,
    /// The confidence level of the intervals.
    pub confidence: f64,
}

impl Audience {
    /// An outcome measured per live profile: the converted profiles, or each slot's value.
    pub(crate) fn outcome_per_profile(&self, outcome: &Outcome) -> Result<PerProfile> {
        match outcome {
            Outcome::Converts { predicate, at } => {
                check_instant(*at, "the outcome's instant")?;
                self.validate(predicate)?;
                Ok(PerProfile::Converted(
                    Matcher::new(self, *at).run(predicate).0,
                ))
            }
            Outcome::Sum {
                event,
                property,
                from,
                to,
            } => {
                check_instant(*from, "the outcome's start")?;
                check_instant(*to, "the outcome's end")?;
                if from > to {
                    return Err(Error::InvalidValue(format!(
                        "the outcome's window ends ({to}) before it starts ({from})"
                    )));
                }
                check_event_value(
                    &self.schema,
                    event,
                    property,
                    AttrType::Number,
                    "it cannot be summed",
                )?;
                let mut values = vec![0.0; self.store.slot_bound()];
                let (Some(name), Some(key)) = (
                    self.store.event_names.get(event),
                    self.store.keys.get(property),
                ) else {
                    return Ok(PerProfile::Values(values)); // declared, never recorded
                };
                let (from, to) = (from.as_nanosecond(), to.as_nanosecond());
                for slot in self.store.live_slots() {
                    let Some(record) = self.store.record(slot) else {
                        continue;
                    };
                    let mut sum = 0.0;
                    for e in record.events() {
                        if e.name == name && e.ns() >= from && e.ns() < to {
                            if let Some(PropValue::Number(x)) = record.property(e, key) {
                                sum += x;
                            }
                        }
                    }
                    values[slot as usize] = sum;
                }
                Ok(PerProfile::Values(values))
            }
        }
    }

    /// The outcome among the members of `set`.
    pub(crate) fn measure_of(&self, per_profile: &PerProfile, set: &Bitmap) -> Measure {
        match per_profile {
            PerProfile::Converted(converted) => Measure::Rate(Proportion {
                successes: set.and_cardinality(converted),
                trials: set.cardinality(),
            }),
            PerProfile::Values(values) => {
                Measure::Value(Summary::of(set.iter().map(|slot| values[slot as usize])))
            }
        }
    }

    /// For each of `segments` (names of defined segments or predicates' text), who is in it at
    /// `now` and how they do on `outcome`: the rate or mean with its interval at `confidence`,
    /// and the comparison with everyone else (the two-proportion z test for rates, Welch's t
    /// test for values) with Benjamini–Hochberg adjusted p-values across the segments.
    ///
    /// ```
    /// use segcore::insight::Outcome;
    /// use segcore::{Audience, Event};
    /// let t = |s: &str| -> jiff::Timestamp { s.parse().unwrap() };
    /// let mut a = Audience::new();
    /// for i in 0..200 {
    ///     let id = format!("p{i}");
    ///     a.upsert(&id, [("vip", (i % 2 == 0).into())])?;
    ///     // VIPs buy 3 times as often within the fortnight after June 1st.
    ///     if i % 10 < if i % 2 == 0 { 6 } else { 2 } {
    ///         a.track(&id, Event::new("purchase", t("2024-06-05T00:00:00Z")))?;
    ///     }
    /// }
    /// let bought = Outcome::Converts {
    ///     predicate: a.predicate("did purchase in last 14d")?,
    ///     at: t("2024-06-15T00:00:00Z"),
    /// };
    /// let kpis = a.kpis(&["vip == true"], &bought, t("2024-06-01T00:00:00Z"), 0.95)?;
    /// let vips = &kpis.rows[0];
    /// assert_eq!((vips.members, vips.estimate), (100, Some(0.6)));
    /// assert_eq!(vips.rest.estimate(), Some(0.2));
    /// assert!(vips.adjusted_p_value.unwrap() < 1e-6);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn kpis(
        &self,
        segments: &[&str],
        outcome: &Outcome,
        now: Timestamp,
        confidence: f64,
    ) -> Result<Kpis> {
        // The interval's checks run before any work.
        Measure::Rate(Proportion::default()).interval(confidence)?;
        self.kpi_parts(segments, outcome, now)?.report(confidence)
    }

    /// The sufficient statistics of a KPI report — each segment's measure, the overall
    /// measure, the live profiles — which merge across shards ([`KpiParts::merge`]) into the
    /// report one audience holding everyone would give ([`KpiParts::report`]).
    ///
    /// ```
    /// use segcore::insight::Outcome;
    /// let shop = segcore::sample::SampleShop::new(400);
    /// let whole = shop.build();
    /// let bought = Outcome::Converts { predicate: whole.predicate("did purchase in last 30d")?, at: shop.now };
    /// let segments = [r#"country == "SE""#, "age < 30"];
    /// let mut parts = whole.split(2)?.iter().map(|s| s.kpi_parts(&segments, &bought, shop.now)).collect::<Result<Vec<_>, _>>()?;
    /// let merged = parts.pop().unwrap().merge(&parts.pop().unwrap())?;
    /// assert_eq!(merged.report(0.95)?, whole.kpis(&segments, &bought, shop.now, 0.95)?);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn kpi_parts(
        &self,
        segments: &[&str],
        outcome: &Outcome,
        now: Timestamp,
    ) -> Result<KpiParts> {
        let sets = self.member_sets(segments, now)?;
        let per_profile = self.outcome_per_profile(outcome)?;
        Ok(KpiParts {
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            measures: sets
                .iter()
                .map(|set| self.measure_of(&per_profile, set))
                .collect(),
            overall: self.measure_of(&per_profile, &self.store.index.live),
            live: self.len() as u64,
        })
    }

    /// Segment `a` against segment `b` on `outcome` (members at `now`; both names of defined
    /// segments or predicates' text), or against everyone not in `a` when `b` is `None`.
    /// `Ok(None)` when a side is too small to test.
    pub fn compare(
        &self,
        a: &str,
        b: Option<&str>,
        outcome: &Outcome,
        now: Timestamp,
    ) -> Result<Option<Test>> {
        let names: Vec<&str> = std::iter::once(a).chain(b).collect();
        Ok(self.kpi_parts(&names, outcome, now)?.compare())
    }
}

/// What a KPI report is computed from, and what shards add up: see
/// [`Audience::kpi_parts`](crate::Audience::kpi_parts).
#[derive(Debug, Clone, PartialEq)]
pub struct KpiParts {
    /// The segments, as given.
    pub segments: Vec<String>,
    /// Each segment's measure, in the same order.
    pub measures: Vec<Measure>,
    /// The measure over every live profile.
    pub overall: Measure,
    /// Live profiles.
    pub live: u64,
}

impl KpiParts {
    /// Both shards' statistics together: counts add, summaries merge exactly (never an
    /// average of averages). Refused unless both list the same segments and outcome kind.
    pub fn merge(&self, other: &KpiParts) -> Result<KpiParts> {
        let mismatch = || {
            Error::InvalidValue(
                "KPI parts of different segments or outcomes cannot be merged".to_owned(),
            )
        };
        if self.segments != other.segments {
            return Err(mismatch());
        }
        let measures = self
            .measures
            .iter()
            .zip(&other.measures)
            .map(|(a, b)| a.merge(b).ok_or_else(mismatch))
            .collect::<Result<Vec<_>>>()?;
        Ok(KpiParts {
            segments: self.segments.clone(),
            measures,
            overall: self.overall.merge(&other.overall).ok_or_else(mismatch)?,
            live: self.live + other.live,
        })
    }

    /// The first segment against the second, or against everyone else when there is one
    /// segment (what [`Audience::compare`](crate::Audience::compare) answers); `None` when a
    /// side is too small to test.
    pub fn compare(&self) -> Option<Test> {
        let first = self.measures.first()?;
        match self.measures.get(1) {
            Some(second) => first.test(second),
            None => first.test(&rest_of(&self.overall, first)),
        }
    }

    /// The report: each segment's estimate and interval at `confidence`, against the rest,
    /// p-values adjusted by Benjamini–Hochberg over the rows.
    pub fn report(&self, confidence: f64) -> Result<Kpis> {
        Measure::Rate(Proportion::default()).interval(confidence)?;
        let live = self.live as f64;
        let mut rows = Vec::with_capacity(self.segments.len());
        for (segment, measure) in self.segments.iter().zip(&self.measures) {
            let rest = rest_of(&self.overall, measure);
            let members = measure.members();
            rows.push(KpiRow {
                segment: segment.clone(),
                members,
                share: if live > 0.0 {
                    members as f64 / live
                } else {
                    0.0
                },
                estimate: measure.estimate(),
                interval: measure.interval(confidence)?,
                vs_rest: measure.test(&rest),
                measure: *measure,
                rest,
                adjusted_p_value: None,
            });
        }
        let tested: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].vs_rest.is_some())
            .collect();
        let p: Vec<f64> = tested
            .iter()
            .filter_map(|&i| rows[i].vs_rest.map(|t| t.p_value))
            .collect();
        for (&i, adjusted) in tested.iter().zip(benjamini_hochberg(&p)) {
            rows[i].adjusted_p_value = Some(adjusted);
        }
        Ok(Kpis {
            rows,
            overall: self.overall,
            confidence,
        })
    }
}

/// An outcome over every live profile: converted profiles, or values by slot.
pub(crate) enum PerProfile {
    Converted(Bitmap),
    Values(Vec<f64>),
}

/// The measure of everyone outside a group, from the whole's and the group's.
pub(crate) fn rest_of(whole: &Measure, part: &Measure) -> Measure {
    match (whole, part) {
        (Measure::Rate(w), Measure::Rate(p)) => Measure::Rate(Proportion {
            successes: w.successes - p.successes,
            trials: w.trials - p.trials,
        }),
        (Measure::Value(w), Measure::Value(p)) => Measure::Value(unmerge(w, p)),
        // The same outcome measures both.
        _ => *whole,
    }
}

/// The summary of the values in `whole` but not in `part` (Chan's merge, solved for the other
/// half).
fn unmerge(whole: &Summary, part: &Summary) -> Summary {
    let n = whole.n - part.n;
    if n == 0 {
        return Summary::default();
    }
    if part.n == 0 {
        return *whole;
    }
    let (nw, np, nr) = (whole.n as f64, part.n as f64, n as f64);
    let mean = (nw * whole.mean - np * part.mean) / nr;
    let delta = mean - part.mean;
    Summary {
        n,
        mean,
        m2: (whole.m2 - part.m2 - delta * delta * np * nr / nw).max(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmerge_undoes_merge() {
        let a = Summary::of([1.0, 5.0, 2.5, 9.0]);
        let b = Summary::of([3.0, 3.5, 100.0]);
        let back = unmerge(&a.merge(&b), &a);
        assert_eq!(back.n, b.n);
        assert!((back.mean - b.mean).abs() < 1e-12);
        assert!((back.m2 - b.m2).abs() < 1e-9);
        assert_eq!(unmerge(&a, &a), Summary::default());
        assert_eq!(unmerge(&a, &Summary::default()), a);
    }
}
