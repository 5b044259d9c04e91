//! The over-segmentation advisor: reviews a catalog and its decisions against an outcome and
//! says which segments are worth their upkeep. A segment pays only if its people respond
//! differently and there are enough of them to prove it; the advisor reports, with the numbers
//! behind each finding:
//!
//! - **empty**: no members;
//! - **too small to test**: fewer members than an A/B test inside it needs;
//! - **near duplicate**: most members shared with an earlier segment (Jaccard at or above the
//!   threshold) — the later one is reviewed no further;
//! - **no difference**: responds like the rest of the audience (Benjamini–Hochberg adjusted
//!   p-value at or above α);
//! - **merge with sibling**: responds like a segment built on the same parent segment;
//! - **differs**: responds differently from the rest — keep it;
//! - **shadowed rule**: a decision rule whose members earlier rules all take;
//!
//! and suggests a coarser catalog: the testable segments in groups whose rates (or means) do
//! not differ from one another.

use std::collections::BTreeMap;

use jiff::Timestamp;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::{Error, Result};
use crate::index::Bitmap;
use crate::insight::kpi::{Measure, Outcome};
use crate::insight::stats::{benjamini_hochberg, sample_size_per_arm, Test};
use crate::matcher::Matcher;
use crate::Audience;

/// What the advisor reviews against, and its thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Advisor {
    /// The outcome segments should differ on.
    pub outcome: Outcome,
    /// When membership is taken.
    pub now: Timestamp,
    /// The smallest difference worth detecting, absolute: in rate points for a conversion
    /// (0.02), in the value's units for a sum.
    pub minimum_effect: f64,
    /// Significance level, 0.05 by default.
    pub alpha: f64,
    /// Power of the test a segment must be able to carry, 0.8 by default.
    pub power: f64,
    /// Jaccard similarity from which two segments are near duplicates, 0.9 by default.
    pub duplicate_jaccard: f64,
}

impl Advisor {
    /// An advisor with the usual thresholds (α 0.05, power 0.8, duplicates from Jaccard 0.9).
    pub fn new(outcome: Outcome, now: Timestamp, minimum_effect: f64) -> Advisor {
        Advisor {
            outcome,
            now,
            minimum_effect,
            alpha: 0.05,
            power: 0.8,
            duplicate_jaccard: 0.9,
        }
    }
}

/// What a finding says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// No members.
    Empty,
    /// Too few members to carry a test.
    TooSmall,
    /// Most members shared with another segment.
    NearDuplicate,
    /// Responds like the rest of the audience.
    NoDifference,
    /// Responds like a sibling segment: a merge candidate.
    MergeWithSibling,
    /// Responds differently from the rest: worth keeping.
    Differs,
    /// A decision rule that never fires: earlier rules take all its members.
    ShadowedRule,
}

impl FindingKind {
    /// A stable snake_case name, the same in every binding.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Empty => "empty",
            FindingKind::TooSmall => "too_small",
            FindingKind::NearDuplicate => "near_duplicate",
            FindingKind::NoDifference => "no_difference",
            FindingKind::MergeWithSibling => "merge_with_sibling",
            FindingKind::Differs => "differs",
            FindingKind::ShadowedRule => "shadowed_rule",
        }
    }
}

/// One finding: what, about which segments (and decision), why in plain words, and the
/// numbers behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What it says.
    pub kind: FindingKind,
    /// The segments it is about (two for a duplicate or a merge).
    pub segments: Vec<String>,
    /// The decision, for a shadowed rule.
    pub decision: Option<String>,
    /// The reason, as a sentence.
    pub reason: String,
    /// The numbers behind it, by name.
    pub numbers: BTreeMap<String, f64>,
}

/// A group of the suggested catalog: segments whose outcomes do not differ, merged.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestedGroup {
    /// The segments merged (one: keep it as it is).
    pub segments: Vec<String>,
    /// The outcome over their members together.
    pub measure: Measure,
}

/// The advisor's review.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    /// Findings, segment by segment in name order, then decision rules.
    pub findings: Vec<Finding>,
    /// The suggested coarser catalog, by rate or mean, highest first.
    pub suggested: Vec<SuggestedGroup>,
}

fn numbers<const N: usize>(pairs: [(&str, f64); N]) -> BTreeMap<String, f64> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn describe(m: &Measure) -> String {
    match (m, m.estimate()) {
        (Measure::Rate(_), Some(r)) => format!("{:.1}%", r * 100.0),
        (Measure::Value(_), Some(v)) => format!("{v:.2} a member"),
        (_, None) => "nothing".to_owned(),
    }
}

impl Audience {
    /// Reviews every segment of the catalog, and every decision's rules, against the
    /// advisor's outcome: see [`FindingKind`] for what it reports and why.
    pub fn advise(&self, advisor: &Advisor) -> Result<Advice> {
        for (x, what) in [(advisor.alpha, "alpha"), (advisor.power, "the power")] {
            if !(x > 0.0 && x < 1.0) {
                return Err(Error::InvalidValue(format!(
                    "{what} must lie strictly between 0 and 1, not {x}"
                )));
            }
        }
        if !(advisor.minimum_effect.is_finite() && advisor.minimum_effect > 0.0) {
            return Err(Error::InvalidValue(format!(
                "the minimum effect must be a positive number, not {}",
                advisor.minimum_effect
            )));
        }
        let names: Vec<&str> = self.catalog.iter().map(|(n, _)| n).collect();
        let sets = self.member_sets(&names, advisor.now)?;
        let per_profile = self.outcome_per_profile(&advisor.outcome)?;
        let overall = self.measure_of(&per_profile, &self.store.index.live);
        let needed = needed_per_arm(&overall, advisor);
        let mut findings = Vec::new();
        let mut reviewed: Vec<usize> = Vec::new();

        for (i, name) in names.iter().enumerate() {
            let members = sets[i].cardinality();
            if members == 0 {
                findings.push(Finding {
                    kind: FindingKind::Empty,
                    segments: vec![(*name).to_owned()],
                    decision: None,
                    reason: format!("`{name}` has no members"),
                    numbers: numbers([("members", 0.0)]),
                });
                continue;
            }
            if let Some(&j) = reviewed.iter().find(|&&j| {
                jaccard(&sets[i], &sets[j]).is_some_and(|s| s >= advisor.duplicate_jaccard)
            }) {
                let similarity = jaccard(&sets[i], &sets[j]).unwrap_or(0.0);
                findings.push(Finding {
                    kind: FindingKind::NearDuplicate,
                    segments: vec![names[j].to_owned(), (*name).to_owned()],
                    decision: None,
                    reason: format!(
                        "`{name}` shares {:.0}% of its members with `{}` (Jaccard {similarity:.2}): \
                         keep one",
                        100.0 * sets[i].and_cardinality(&sets[j]) as f64 / members as f64,
                        names[j]
                    ),
                    numbers: numbers([
                        ("jaccard", similarity),
                        ("members", members as f64),
                        ("other_members", sets[j].cardinality() as f64),
                        ("shared", sets[i].and_cardinality(&sets[j]) as f64),
                    ]),
                });
                continue;
            }
            if let Some(n) = needed.filter(|&n| members < 2 * n) {
                findings.push(Finding {
                    kind: FindingKind::TooSmall,
                    segments: vec![(*name).to_owned()],
                    decision: None,
                    reason: format!(
                        "`{name}` has {members} members; a test that detects a change of {} \
                         needs {n} a group, {} in all",
                        advisor.minimum_effect,
                        2 * n
                    ),
                    numbers: numbers([("members", members as f64), ("needed_per_arm", n as f64)]),
                });
                continue;
            }
            reviewed.push(i);
        }

        // Each reviewed segment against the rest, adjusted together.
        let measures: Vec<Measure> = reviewed
            .iter()
            .map(|&i| self.measure_of(&per_profile, &sets[i]))
            .collect();
        let tests: Vec<Option<Test>> = measures
            .iter()
            .map(|m| m.test(&rest(&overall, m)))
            .collect();
        let raw: Vec<f64> = tests.iter().flatten().map(|t| t.p_value).collect();
        let mut adjusted = benjamini_hochberg(&raw).into_iter();
        for (k, &i) in reviewed.iter().enumerate() {
            let name = names[i];
            let m = &measures[k];
            let others = rest(&overall, m);
            let Some(test) = tests[k] else {
                continue;
            };
            let p = adjusted.next().unwrap_or(1.0);
            let differs = p < advisor.alpha;
            findings.push(Finding {
                kind: if differs {
                    FindingKind::Differs
                } else {
                    FindingKind::NoDifference
                },
                segments: vec![name.to_owned()],
                decision: None,
                reason: if differs {
                    format!(
                        "`{name}` responds differently: {} against {} for everyone else \
                         (adjusted p = {p:.2e}): keep it",
                        describe(m),
                        describe(&others)
                    )
                } else {
                    format!(
                        "`{name}` responds like everyone else: {} against {} (adjusted p = \
                         {p:.2}): it costs upkeep without a different response",
                        describe(m),
                        describe(&others)
                    )
                },
                numbers: numbers([
                    ("members", m.members() as f64),
                    ("estimate", m.estimate().unwrap_or(f64::NAN)),
                    ("rest_estimate", others.estimate().unwrap_or(f64::NAN)),
                    ("difference", test.difference),
                    ("p_value", test.p_value),
                    ("adjusted_p_value", p),
                ]),
            });
        }
        findings.extend(self.sibling_merges(&names, &reviewed, &measures, advisor));
        findings.extend(self.shadowed_rules(advisor.now)?);
        let suggested = suggest(&names, &reviewed, &sets, &measures, advisor, |set| {
            self.measure_of(&per_profile, set)
        });
        Ok(Advice {
            findings,
            suggested,
        })
    }

    /// Reviewed segments built on the same parent segment whose outcomes do not differ.
    fn sibling_merges(
        &self,
        names: &[&str],
        reviewed: &[usize],
        measures: &[Measure],
        advisor: &Advisor,
    ) -> Vec<Finding> {
        let parents = |i: usize| -> Vec<&str> {
            self.catalog
                .get(names[i])
                .map(|p| p.segment_references())
                .unwrap_or_default()
        };
        let mut pairs = Vec::new();
        for (x, &i) in reviewed.iter().enumerate() {
            for (y, &j) in reviewed.iter().enumerate().skip(x + 1) {
                let (pi, pj) = (parents(i), parents(j));
                if let Some(parent) = pi.iter().find(|p| pj.contains(p)) {
                    if let Some(t) = measures[x].test(&measures[y]) {
                        pairs.push((i, j, (*parent).to_owned(), t, x, y));
                    }
                }
            }
        }
        let raw: Vec<f64> = pairs.iter().map(|p| p.3.p_value).collect();
        pairs
            .into_iter()
            .zip(benjamini_hochberg(&raw))
            .filter(|(_, p)| *p >= advisor.alpha)
            .map(|((i, j, parent, t, x, y), p)| Finding {
                kind: FindingKind::MergeWithSibling,
                segments: vec![names[i].to_owned(), names[j].to_owned()],
                decision: None,
                reason: format!(
                    "`{}` and `{}`, both built on `{parent}`, respond alike: {} and {} \
                     (adjusted p = {p:.2}): merge them",
                    names[i],
                    names[j],
                    describe(&measures[x]),
                    describe(&measures[y])
                ),
                numbers: numbers([
                    ("difference", t.difference),
                    ("p_value", t.p_value),
                    ("adjusted_p_value", p),
                ]),
            })
            .collect()
    }

    /// Decision rules whose members the rules before them all take, at `now`.
    fn shadowed_rules(&self, now: Timestamp) -> Result<Vec<Finding>> {
        let matcher = Matcher::new(self, now);
        let mut findings = Vec::new();
        for (decision, compiled) in &self.decisions {
            let mut taken = Bitmap::new();
            for (index, rule) in compiled.rules.iter().enumerate() {
                let members = matcher.run(&rule.predicate).0;
                let own = members.andnot_cardinality(&taken);
                if index > 0 && own == 0 && !members.is_empty() {
                    findings.push(Finding {
                        kind: FindingKind::ShadowedRule,
                        segments: rule_segment(compiled, index),
                        decision: Some(decision.clone()),
                        reason: format!(
                            "rule {} of `{decision}` (variant `{}`) never fires: all {} of its \
                             members are taken by the rules before it",
                            index + 1,
                            rule.variant,
                            members.cardinality()
                        ),
                        numbers: numbers([
                            ("rule", index as f64),
                            ("members", members.cardinality() as f64),
                        ]),
                    });
                }
                taken.or_inplace(&members);
            }
        }
        Ok(findings)
    }
}

/// The segment a rule names, if it names one.
fn rule_segment(compiled: &crate::decide::Compiled, index: usize) -> Vec<String> {
    compiled
        .spec
        .rules
        .get(index)
        .and_then(|r| r.segment.clone())
        .into_iter()
        .collect()
}

fn jaccard(a: &Bitmap, b: &Bitmap) -> Option<f64> {
    let both = a.and_cardinality(b);
    let either = a.cardinality() + b.cardinality() - both;
    (either > 0).then(|| both as f64 / either as f64)
}

fn rest(overall: &Measure, part: &Measure) -> Measure {
    crate::insight::kpi::rest_of(overall, part)
}

/// Members each arm of a test inside a segment needs: from the overall rate for a
/// conversion, from the overall variance for a value (two-sample z approximation).
fn needed_per_arm(overall: &Measure, advisor: &Advisor) -> Option<u64> {
    match overall {
        Measure::Rate(p) => {
            let baseline = p.rate()?;
            let up = sample_size_per_arm(
                baseline,
                advisor.minimum_effect,
                advisor.alpha,
                advisor.power,
            );
            let down = sample_size_per_arm(
                baseline,
                -advisor.minimum_effect,
                advisor.alpha,
                advisor.power,
            );
            up.ok().or(down.ok())
        }
        Measure::Value(s) => {
            let variance = s.variance()?;
            let z = |q: f64| Normal::standard().inverse_cdf(q);
            let n = 2.0 * (z(1.0 - advisor.alpha / 2.0) + z(advisor.power)).powi(2) * variance
                / advisor.minimum_effect.powi(2);
            Some(n.ceil().max(1.0) as u64)
        }
    }
}

/// Groups the reviewed segments, by estimate, into runs whose members together do not differ
/// from the next segment's.
fn suggest(
    names: &[&str],
    reviewed: &[usize],
    sets: &[Bitmap],
    measures: &[Measure],
    advisor: &Advisor,
    measure_of: impl Fn(&Bitmap) -> Measure,
) -> Vec<SuggestedGroup> {
    let mut order: Vec<usize> = (0..reviewed.len()).collect();
    order.sort_by(|&a, &b| {
        let (ea, eb) = (
            measures[a].estimate().unwrap_or(f64::NEG_INFINITY),
            measures[b].estimate().unwrap_or(f64::NEG_INFINITY),
        );
        eb.total_cmp(&ea)
            .then(names[reviewed[a]].cmp(names[reviewed[b]]))
    });
    let mut groups: Vec<(Vec<usize>, Bitmap)> = Vec::new();
    for k in order {
        let i = reviewed[k];
        let joins = groups.last().is_some_and(|(_, union)| {
            measure_of(union)
                .test(&measures[k])
                .is_some_and(|t| t.p_value >= advisor.alpha)
        });
        match groups.last_mut() {
            Some((members, union)) if joins => {
                members.push(i);
                union.or_inplace(&sets[i]);
            }
            _ => groups.push((vec![i], sets[i].clone())),
        }
    }
    groups
        .into_iter()
        .map(|(members, union)| SuggestedGroup {
            segments: members.iter().map(|&i| names[i].to_owned()).collect(),
            measure: measure_of(&union),
        })
        .collect()
}
