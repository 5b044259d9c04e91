//! Insight on the `Audience` class — sizes, overlaps, KPIs, testability, the advisor, RFM,
//! co-occurrence and recommendations, with async twins for the heavy calls — and the
//! statistics functions. Arguments and results converted; the core decides everything.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use segcore::insight::{
    self, Advisor, Because, Outcome as CoreOutcome, Proportion, Summary, TestPlan,
};

use crate::args::{elements, field, given, instant, instant_or_now, number, object, string, whole};
use crate::audience::Audience;
use crate::errors::{argument, guard, guard_task, Read, Throw};

/// One segment's size.
#[napi(object)]
pub struct SegmentSize {
    /// The segment's name.
    pub segment: String,
    /// Its members.
    pub members: f64,
    /// Its members as a share of the live profiles.
    pub share: f64,
}

/// How segments overlap: `intersections[i][j]` profiles are in both segment `i` and `j`.
#[napi(object)]
pub struct Overlap {
    /// The segments, as given.
    pub names: Vec<String>,
    /// Members of each.
    pub sizes: Vec<f64>,
    /// Profiles in both, by pair (the diagonal is each size).
    pub intersections: Vec<Vec<f64>>,
}

/// A comparison of two groups.
#[napi(object)]
pub struct Comparison {
    /// The first group's estimate minus the second's.
    pub difference: f64,
    /// The difference relative to the second group's estimate (null when that is 0).
    pub relative_lift: Option<f64>,
    /// z for rates, Welch's t for values.
    pub statistic: f64,
    /// Degrees of freedom of Welch's t (null for the z test).
    pub freedom: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
}

impl From<insight::Test> for Comparison {
    fn from(t: insight::Test) -> Self {
        Comparison {
            difference: t.difference,
            relative_lift: t.relative_lift,
            statistic: t.statistic,
            freedom: t.freedom,
            p_value: t.p_value,
        }
    }
}

/// One segment's KPI.
#[napi(object)]
pub struct KpiRow {
    /// The segment, as given.
    pub segment: String,
    /// Its members.
    pub members: f64,
    /// Members as a share of the live profiles.
    pub share: f64,
    /// The rate or mean (null for an empty segment).
    pub estimate: Option<f64>,
    /// The interval's lower bound (Wilson for a rate, t for a mean).
    pub low: Option<f64>,
    /// The interval's upper bound.
    pub high: Option<f64>,
    /// Live profiles not in the segment.
    pub rest_members: f64,
    /// Their rate or mean.
    pub rest_estimate: Option<f64>,
    /// The segment against the rest (null when a side is too small to test).
    pub vs_rest: Option<Comparison>,
    /// `vsRest`'s p-value adjusted by Benjamini–Hochberg over the rows.
    pub adjusted_p_value: Option<f64>,
}

/// KPIs for a list of segments.
#[napi(object)]
pub struct Kpis {
    /// One row per segment, in the order given.
    pub rows: Vec<KpiRow>,
    /// The outcome over every live profile.
    pub overall: Option<f64>,
    /// The confidence level of the intervals.
    pub confidence: f64,
}

/// Whether a segment can carry a test.
#[napi(object)]
pub struct Testability {
    /// The segment.
    pub segment: String,
    /// Its members.
    pub members: f64,
    /// Profiles each arm needs.
    pub needed_per_arm: f64,
    /// Profiles the whole test needs.
    pub needed: f64,
    /// Members who did the traffic event in the look-back window.
    pub active: f64,
    /// Those per day.
    pub daily_traffic: f64,
    /// Days to enrol `needed` members (null: never).
    pub days_needed: Option<f64>,
    /// Whether that is within the period.
    pub reachable: bool,
}

/// One finding of the advisor.
#[napi(object)]
pub struct Finding {
    /// `empty`, `too_small`, `near_duplicate`, `no_difference`, `merge_with_sibling`,
    /// `differs` or `shadowed_rule`.
    pub kind: String,
    /// The segments it is about.
    pub segments: Vec<String>,
    /// The decision, for a shadowed rule.
    pub decision: Option<String>,
    /// Why, as a sentence.
    pub reason: String,
    /// The numbers behind it.
    pub numbers: BTreeMap<String, f64>,
}

/// A group of the suggested catalog.
#[napi(object)]
pub struct SuggestedGroup {
    /// The segments merged (one: keep as it is).
    pub segments: Vec<String>,
    /// Their members together.
    pub members: f64,
    /// The rate or mean over them.
    pub estimate: Option<f64>,
}

/// The advisor's review.
#[napi(object)]
pub struct Advice {
    /// Findings, segment by segment, then decision rules.
    pub findings: Vec<Finding>,
    /// The suggested coarser catalog.
    pub suggested: Vec<SuggestedGroup>,
}

impl From<insight::Advice> for Advice {
    fn from(a: insight::Advice) -> Self {
        Advice {
            findings: a
                .findings
                .into_iter()
                .map(|f| Finding {
                    kind: f.kind.name().to_owned(),
                    segments: f.segments,
                    decision: f.decision,
                    reason: f.reason,
                    numbers: f.numbers,
                })
                .collect(),
            suggested: a
                .suggested
                .into_iter()
                .map(|g| SuggestedGroup {
                    segments: g.segments,
                    members: g.measure.members() as f64,
                    estimate: g.measure.estimate(),
                })
                .collect(),
        }
    }
}

/// Two items bought together.
#[napi(object)]
pub struct ItemPair {
    /// The item bought.
    pub item: String,
    /// The item also bought.
    pub with: String,
    /// Baskets holding both.
    pub count: f64,
    /// Their share of all baskets.
    pub support: f64,
    /// The share of `item`'s baskets holding `with`.
    pub confidence: f64,
    /// Confidence over `with`'s own support.
    pub lift: f64,
}

impl From<insight::ItemPair> for ItemPair {
    fn from(p: insight::ItemPair) -> Self {
        ItemPair {
            item: p.item,
            with: p.with,
            count: p.count as f64,
            support: p.support,
            confidence: p.confidence,
            lift: p.lift,
        }
    }
}

/// One recommended item.
#[napi(object)]
pub struct Recommendation {
    /// The item.
    pub item: String,
    /// Its score.
    pub score: f64,
    /// The item of theirs whose buyers buy it; null for a popular item.
    pub because: Option<String>,
}

impl From<insight::Recommendation> for Recommendation {
    fn from(r: insight::Recommendation) -> Self {
        Recommendation {
            item: r.item,
            score: r.score,
            because: match r.because {
                Because::BoughtWith(item) => Some(item),
                Because::Popular => None,
            },
        }
    }
}

/// Which items are bought together: from `Audience.coOccurrence`.
#[napi]
pub struct CoOccurrence {
    inner: Arc<insight::CoOccurrence>,
}

#[napi]
impl CoOccurrence {
    /// Baskets counted (profiles with at least one item).
    #[napi(getter)]
    pub fn baskets(&self) -> f64 {
        self.inner.baskets() as f64
    }

    /// Distinct items seen.
    #[napi(getter)]
    pub fn items(&self) -> u32 {
        self.inner.items() as u32
    }

    /// The minimum support pairs were counted at.
    #[napi(getter)]
    pub fn min_support(&self) -> f64 {
        self.inner.min_support()
    }

    /// The share of baskets holding `item`.
    #[napi(ts_args_type = "item: string")]
    pub fn support(&self, env: Env, item: Unknown<'_>) -> Result<f64> {
        let item = string(item, "item").js(&env)?;
        Ok(self.inner.support(&item))
    }

    /// Every pair at or above the minimum support, once, by count.
    #[napi]
    pub fn pairs(&self) -> Vec<ItemPair> {
        self.inner.pairs().into_iter().map(ItemPair::from).collect()
    }

    /// The items most bought with `item`, by confidence then lift.
    #[napi(ts_args_type = "item: string, k?: number | undefined | null")]
    pub fn bought_with(
        &self,
        env: Env,
        item: Unknown<'_>,
        k: Option<Unknown<'_>>,
    ) -> Result<Vec<ItemPair>> {
        let run = || -> Read<Vec<ItemPair>> {
            let item = string(item, "item")?;
            let k = count(k, "k", 10)?;
            Ok(self
                .inner
                .bought_with(&item, k)?
                .into_iter()
                .map(ItemPair::from)
                .collect())
        };
        guard(run).js(&env)
    }
}

/// An outcome from its object form: `{ kind: 'converts', predicate, at }` or
/// `{ kind: 'sum', event, value, start, end }`.
fn outcome(v: Unknown<'_>) -> Read<CoreOutcome> {
    let o = object(v, "outcome")?;
    let required = |name: &str| -> Read<Unknown<'_>> {
        field(&o, name)?.ok_or_else(|| argument(format!("outcome.{name} is missing")))
    };
    let kind = string(required("kind")?, "outcome.kind")?;
    match kind.as_str() {
        "converts" => Ok(CoreOutcome::Converts {
            predicate: segcore::Predicate::parse(&string(
                required("predicate")?,
                "outcome.predicate",
            )?)?,
            at: instant(required("at")?, "outcome.at")?,
        }),
        "sum" => Ok(CoreOutcome::Sum {
            event: string(required("event")?, "outcome.event")?,
            property: string(required("value")?, "outcome.value")?,
            from: instant(required("start")?, "outcome.start")?,
            to: instant(required("end")?, "outcome.end")?,
        }),
        other => Err(argument(format!(
            "outcome.kind must be \"converts\" or \"sum\", not {other:?}"
        ))),
    }
}

fn strings(v: Unknown<'_>, what: &str) -> Read<Vec<String>> {
    elements(v, what)?
        .into_iter()
        .enumerate()
        .map(|(i, s)| string(s, &format!("{what}[{i}]")))
        .collect()
}

fn count(v: Option<Unknown<'_>>, what: &str, default: usize) -> Read<usize> {
    given(v).map_or(Ok(default), |v| Ok(whole(v, what, 1_000_000)? as usize))
}

fn optional_number(o: &Object<'_>, name: &str, what: &str, default: f64) -> Read<f64> {
    field(o, name)?.map_or(Ok(default), |v| number(v, what))
}

fn kpis_of(k: insight::Kpis) -> Kpis {
    Kpis {
        rows: k
            .rows
            .into_iter()
            .map(|r| KpiRow {
                segment: r.segment,
                members: r.members as f64,
                share: r.share,
                estimate: r.estimate,
                low: r.interval.map(|i| i.low),
                high: r.interval.map(|i| i.high),
                rest_members: r.rest.members() as f64,
                rest_estimate: r.rest.estimate(),
                vs_rest: r.vs_rest.map(Comparison::from),
                adjusted_p_value: r.adjusted_p_value,
            })
            .collect(),
        overall: k.overall.estimate(),
        confidence: k.confidence,
    }
}

/// What `kpis` and `kpisAsync` read.
struct KpiQuestion {
    segments: Vec<String>,
    outcome: CoreOutcome,
    now: Timestamp,
    confidence: f64,
}

fn kpi_question(
    segments: Unknown<'_>,
    outcome_arg: Unknown<'_>,
    now: Option<Unknown<'_>>,
    confidence: Option<Unknown<'_>>,
) -> Read<KpiQuestion> {
    Ok(KpiQuestion {
        segments: strings(segments, "segments")?,
        outcome: outcome(outcome_arg)?,
        now: instant_or_now(now, "now")?,
        confidence: given(confidence).map_or(Ok(0.95), |c| number(c, "confidence"))?,
    })
}

fn run_kpis(a: &segcore::Audience, q: &KpiQuestion) -> Read<Kpis> {
    let names: Vec<&str> = q.segments.iter().map(String::as_str).collect();
    Ok(kpis_of(a.kpis(&names, &q.outcome, q.now, q.confidence)?))
}

/// What `advise` and `adviseAsync` read.
fn advisor(
    outcome_arg: Unknown<'_>,
    minimum_effect: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Read<Advisor> {
    let outcome = outcome(outcome_arg)?;
    let effect = number(minimum_effect, "minimumEffect")?;
    let mut now = Timestamp::now();
    let (mut alpha, mut power, mut jaccard) = (0.05, 0.8, 0.9);
    if let Some(options) = given(options) {
        let o = object(options, "options")?;
        if let Some(v) = field(&o, "now")? {
            now = instant(v, "options.now")?;
        }
        alpha = optional_number(&o, "alpha", "options.alpha", alpha)?;
        power = optional_number(&o, "power", "options.power", power)?;
        jaccard = optional_number(&o, "duplicateJaccard", "options.duplicateJaccard", jaccard)?;
    }
    let mut advisor = Advisor::new(outcome, now, effect);
    advisor.alpha = alpha;
    advisor.power = power;
    advisor.duplicate_jaccard = jaccard;
    Ok(advisor)
}

/// `kpisAsync`'s work.
pub struct KpisTask {
    audience: Arc<RwLock<segcore::Audience>>,
    question: Option<Read<KpiQuestion>>,
}

impl Task for KpisTask {
    type Output = Read<Kpis>;
    type JsValue = Kpis;

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            Ok(match self.question.take() {
                Some(Ok(q)) => {
                    run_kpis(&self.audience.read().unwrap_or_else(|e| e.into_inner()), &q)
                }
                Some(Err(f)) => Err(f),
                None => Err(argument("the report already ran".to_owned())),
            })
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Kpis> {
        output.js(&env)
    }
}

/// `adviseAsync`'s work.
pub struct AdviseTask {
    audience: Arc<RwLock<segcore::Audience>>,
    advisor: Option<Read<Advisor>>,
}

impl Task for AdviseTask {
    type Output = Read<Advice>;
    type JsValue = Advice;

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            Ok(match self.advisor.take() {
                Some(Ok(advisor)) => self
                    .audience
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .advise(&advisor)
                    .map(Advice::from)
                    .map_err(Into::into),
                Some(Err(f)) => Err(f),
                None => Err(argument("the review already ran".to_owned())),
            })
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Advice> {
        output.js(&env)
    }
}

/// `coOccurrenceAsync`'s work.
pub struct CoOccurrenceTask {
    audience: Arc<RwLock<segcore::Audience>>,
    question: Option<Read<(String, String, f64)>>,
}

impl Task for CoOccurrenceTask {
    type Output = Read<insight::CoOccurrence>;
    type JsValue = CoOccurrence;

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            Ok(match self.question.take() {
                Some(Ok((event, value, support))) => self
                    .audience
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .co_occurrence(&event, &value, support)
                    .map_err(Into::into),
                Some(Err(f)) => Err(f),
                None => Err(argument("the count already ran".to_owned())),
            })
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<CoOccurrence> {
        output
            .map(|inner| CoOccurrence {
                inner: Arc::new(inner),
            })
            .js(&env)
    }
}

fn co_question(
    event: Unknown<'_>,
    value: Unknown<'_>,
    min_support: Unknown<'_>,
) -> Read<(String, String, f64)> {
    Ok((
        string(event, "event")?,
        string(value, "value")?,
        number(min_support, "minSupport")?,
    ))
}

#[napi]
impl Audience {
    /// Every segment's members and share of the live profiles at `now`, in name order.
    #[napi(ts_args_type = "now?: Date | string | number | undefined | null")]
    pub fn sizes(&self, env: Env, now: Option<Unknown<'_>>) -> Result<Vec<SegmentSize>> {
        let run = || -> Read<Vec<SegmentSize>> {
            let now = instant_or_now(now, "now")?;
            Ok(self
                .read()
                .sizes(now)?
                .into_iter()
                .map(|s| SegmentSize {
                    segment: s.name,
                    members: s.members as f64,
                    share: s.share,
                })
                .collect())
        };
        guard(run).js(&env)
    }

    /// How `segments` (names or predicates' text) overlap at `now`.
    #[napi(
        ts_args_type = "segments: Array<string>, now?: Date | string | number | undefined | null"
    )]
    pub fn overlap(
        &self,
        env: Env,
        segments: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<Overlap> {
        let run = || -> Read<Overlap> {
            let segments = strings(segments, "segments")?;
            let now = instant_or_now(now, "now")?;
            let names: Vec<&str> = segments.iter().map(String::as_str).collect();
            let o = self.read().overlap(&names, now)?;
            Ok(Overlap {
                names: o.names,
                sizes: o.sizes.iter().map(|&s| s as f64).collect(),
                intersections: o
                    .intersections
                    .iter()
                    .map(|row| row.iter().map(|&c| c as f64).collect())
                    .collect(),
            })
        };
        guard(run).js(&env)
    }

    /// Each segment's outcome at `now` with its interval, against everyone else, with
    /// Benjamini–Hochberg adjusted p-values.
    #[napi(
        ts_args_type = "segments: Array<string>, outcome: { kind: 'converts', predicate: string, at: Date | string | number } | { kind: 'sum', event: string, value: string, start: Date | string | number, end: Date | string | number }, now?: Date | string | number | undefined | null, confidence?: number | undefined | null"
    )]
    pub fn kpis(
        &self,
        env: Env,
        segments: Unknown<'_>,
        outcome: Unknown<'_>,
        now: Option<Unknown<'_>>,
        confidence: Option<Unknown<'_>>,
    ) -> Result<Kpis> {
        let run = || -> Read<Kpis> {
            let q = kpi_question(segments, outcome, now, confidence)?;
            run_kpis(&self.read(), &q)
        };
        guard(run).js(&env)
    }

    /// `kpis` on a worker thread.
    #[napi(
        ts_args_type = "segments: Array<string>, outcome: { kind: 'converts', predicate: string, at: Date | string | number } | { kind: 'sum', event: string, value: string, start: Date | string | number, end: Date | string | number }, now?: Date | string | number | undefined | null, confidence?: number | undefined | null",
        ts_return_type = "Promise<Kpis>"
    )]
    pub fn kpis_async(
        &self,
        segments: Unknown<'_>,
        outcome: Unknown<'_>,
        now: Option<Unknown<'_>>,
        confidence: Option<Unknown<'_>>,
    ) -> AsyncTask<KpisTask> {
        AsyncTask::new(KpisTask {
            audience: Arc::clone(&self.inner),
            question: Some(kpi_question(segments, outcome, now, confidence)),
        })
    }

    /// Segment `a` against segment `b` (or everyone else) on `outcome`; null when a side is
    /// too small to test.
    #[napi(
        ts_args_type = "a: string, outcome: { kind: 'converts', predicate: string, at: Date | string | number } | { kind: 'sum', event: string, value: string, start: Date | string | number, end: Date | string | number }, b?: string | undefined | null, now?: Date | string | number | undefined | null"
    )]
    pub fn compare(
        &self,
        env: Env,
        a: Unknown<'_>,
        outcome_arg: Unknown<'_>,
        b: Option<Unknown<'_>>,
        now: Option<Unknown<'_>>,
    ) -> Result<Option<Comparison>> {
        let run = || -> Read<Option<Comparison>> {
            let a = string(a, "a")?;
            let outcome = outcome(outcome_arg)?;
            let b = given(b).map(|b| string(b, "b")).transpose()?;
            let now = instant_or_now(now, "now")?;
            Ok(self
                .read()
                .compare(&a, b.as_deref(), &outcome, now)?
                .map(Comparison::from))
        };
        guard(run).js(&env)
    }

    /// Whether `segment` can carry an A/B test: `plan` is `{ baseline, minimumEffect, alpha?,
    /// power?, arms? }`; traffic is its members who did `trafficEvent` in the last
    /// `lookbackDays` (default 28), per day.
    #[napi(
        ts_args_type = "segment: string, plan: { baseline: number, minimumEffect: number, alpha?: number, power?: number, arms?: number }, trafficEvent: string, lookbackDays?: number | undefined | null, periodDays?: number | undefined | null, now?: Date | string | number | undefined | null"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn testability(
        &self,
        env: Env,
        segment: Unknown<'_>,
        plan: Unknown<'_>,
        traffic_event: Unknown<'_>,
        lookback_days: Option<Unknown<'_>>,
        period_days: Option<Unknown<'_>>,
        now: Option<Unknown<'_>>,
    ) -> Result<Testability> {
        let run = || -> Read<Testability> {
            let segment = string(segment, "segment")?;
            let p = object(plan, "plan")?;
            let required = |name: &str| -> Read<f64> {
                let v =
                    field(&p, name)?.ok_or_else(|| argument(format!("plan.{name} is missing")))?;
                number(v, &format!("plan.{name}"))
            };
            let plan = TestPlan {
                baseline: required("baseline")?,
                minimum_effect: required("minimumEffect")?,
                alpha: optional_number(&p, "alpha", "plan.alpha", 0.05)?,
                power: optional_number(&p, "power", "plan.power", 0.8)?,
                arms: field(&p, "arms")?.map_or(Ok(2), |v| whole(v, "plan.arms", 1_000))? as u32,
            };
            let traffic = string(traffic_event, "trafficEvent")?;
            let lookback =
                given(lookback_days).map_or(Ok(28), |v| whole(v, "lookbackDays", 36_500))? as u32;
            let period = given(period_days).map_or(Ok(30.0), |v| number(v, "periodDays"))?;
            let now = instant_or_now(now, "now")?;
            let t = self
                .read()
                .testability(&segment, &plan, &traffic, lookback, period, now)?;
            Ok(Testability {
                segment: t.segment,
                members: t.members as f64,
                needed_per_arm: t.needed_per_arm as f64,
                needed: t.needed as f64,
                active: t.active as f64,
                daily_traffic: t.daily_traffic,
                days_needed: t.days_needed,
                reachable: t.reachable,
            })
        };
        guard(run).js(&env)
    }

    /// Reviews the catalog and its decisions against `outcome`: findings with reasons and
    /// numbers, and a suggested coarser catalog. `options`: `{ now?, alpha?, power?,
    /// duplicateJaccard? }`.
    #[napi(
        ts_args_type = "outcome: { kind: 'converts', predicate: string, at: Date | string | number } | { kind: 'sum', event: string, value: string, start: Date | string | number, end: Date | string | number }, minimumEffect: number, options?: { now?: Date | string | number, alpha?: number, power?: number, duplicateJaccard?: number }"
    )]
    pub fn advise(
        &self,
        env: Env,
        outcome: Unknown<'_>,
        minimum_effect: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> Result<Advice> {
        let run = || -> Read<Advice> {
            let advisor = advisor(outcome, minimum_effect, options)?;
            Ok(self.read().advise(&advisor)?.into())
        };
        guard(run).js(&env)
    }

    /// `advise` on a worker thread.
    #[napi(
        ts_args_type = "outcome: { kind: 'converts', predicate: string, at: Date | string | number } | { kind: 'sum', event: string, value: string, start: Date | string | number, end: Date | string | number }, minimumEffect: number, options?: { now?: Date | string | number, alpha?: number, power?: number, duplicateJaccard?: number }",
        ts_return_type = "Promise<Advice>"
    )]
    pub fn advise_async(
        &self,
        outcome: Unknown<'_>,
        minimum_effect: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> AsyncTask<AdviseTask> {
        AsyncTask::new(AdviseTask {
            audience: Arc::clone(&self.inner),
            advisor: Some(advisor(outcome, minimum_effect, options)),
        })
    }

    /// Scores recency, frequency and monetary value 1–5 by quintiles at `now`, stored as the
    /// attributes `rfm_recency`, `rfm_frequency`, `rfm_monetary`.
    #[napi(
        ts_args_type = "event: string, value: string, now?: Date | string | number | undefined | null",
        ts_return_type = "{ customers: number, cleared: number }"
    )]
    pub fn score_rfm(
        &self,
        env: Env,
        event: Unknown<'_>,
        value: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<Object<'_>> {
        let run = || -> Read<insight::RfmSummary> {
            let event = string(event, "event")?;
            let value = string(value, "value")?;
            let now = instant_or_now(now, "now")?;
            Ok(crate::audience::commit_many(&self.inner, |a| {
                a.score_rfm(&event, &value, now)
            })?)
        };
        let s = guard(run).js(&env)?;
        let mut out = Object::new(&env)?;
        out.set("customers", s.customers as f64)?;
        out.set("cleared", s.cleared as f64)?;
        Ok(out)
    }

    /// Defines the standard RFM segments (`rfm_champions`, `rfm_loyal`, …) over the scores.
    #[napi]
    pub fn define_rfm_segments(&self, env: Env) -> Result<()> {
        crate::audience::commit_many(&self.inner, |a| a.define_rfm_segments()).js(&env)
    }

    /// Which values of the string property `value` of `event` are bought together, keeping
    /// pairs held by at least `minSupport` of the baskets (a basket: a profile's values).
    #[napi(ts_args_type = "event: string, value: string, minSupport: number")]
    pub fn co_occurrence(
        &self,
        env: Env,
        event: Unknown<'_>,
        value: Unknown<'_>,
        min_support: Unknown<'_>,
    ) -> Result<CoOccurrence> {
        let run = || -> Read<insight::CoOccurrence> {
            let (event, value, support) = co_question(event, value, min_support)?;
            Ok(self.read().co_occurrence(&event, &value, support)?)
        };
        Ok(CoOccurrence {
            inner: Arc::new(guard(run).js(&env)?),
        })
    }

    /// `coOccurrence` on a worker thread.
    #[napi(
        ts_args_type = "event: string, value: string, minSupport: number",
        ts_return_type = "Promise<CoOccurrence>"
    )]
    pub fn co_occurrence_async(
        &self,
        event: Unknown<'_>,
        value: Unknown<'_>,
        min_support: Unknown<'_>,
    ) -> AsyncTask<CoOccurrenceTask> {
        AsyncTask::new(CoOccurrenceTask {
            audience: Arc::clone(&self.inner),
            question: Some(co_question(event, value, min_support)),
        })
    }

    /// Up to `k` (default 10) items for profile `id`, never what they have.
    #[napi(ts_args_type = "id: string, together: CoOccurrence, k?: number | undefined | null")]
    pub fn recommend(
        &self,
        env: Env,
        id: Unknown<'_>,
        together: &CoOccurrence,
        k: Option<Unknown<'_>>,
    ) -> Result<Vec<Recommendation>> {
        let run = || -> Read<Vec<Recommendation>> {
            let id = string(id, "id")?;
            let k = count(k, "k", 10)?;
            Ok(self
                .read()
                .recommend(&id, &together.inner, k)?
                .into_iter()
                .map(Recommendation::from)
                .collect())
        };
        guard(run).js(&env)
    }

    /// `recommend` for every member of `segment` at `now`: ids to their items.
    #[napi(
        ts_args_type = "segment: string, together: CoOccurrence, k?: number | undefined | null, now?: Date | string | number | undefined | null",
        ts_return_type = "Record<string, Array<Recommendation>>"
    )]
    pub fn recommend_segment(
        &self,
        env: Env,
        segment: Unknown<'_>,
        together: &CoOccurrence,
        k: Option<Unknown<'_>>,
        now: Option<Unknown<'_>>,
    ) -> Result<Object<'_>> {
        let run = || -> Read<Vec<(String, Vec<insight::Recommendation>)>> {
            let segment = string(segment, "segment")?;
            let k = count(k, "k", 10)?;
            let now = instant_or_now(now, "now")?;
            Ok(self
                .read()
                .recommend_segment(&segment, &together.inner, k, now)?)
        };
        let all = guard(run).js(&env)?;
        let mut out = Object::new(&env)?;
        for (id, picks) in all {
            let picks: Vec<Recommendation> = picks.into_iter().map(Recommendation::from).collect();
            out.set(id.as_str(), picks)?;
        }
        Ok(out)
    }
}

/// The Wilson score interval of `successes` of `trials`: `[low, high]`, or null without trials.
#[napi(ts_args_type = "successes: number, trials: number, confidence?: number | undefined | null")]
pub fn wilson_interval(
    env: Env,
    successes: Unknown<'_>,
    trials: Unknown<'_>,
    confidence: Option<Unknown<'_>>,
) -> Result<Option<Vec<f64>>> {
    let run = || -> Read<Option<Vec<f64>>> {
        let p = Proportion::new(
            whole(successes, "successes", u64::MAX >> 11)?,
            whole(trials, "trials", u64::MAX >> 11)?,
        )?;
        let c = given(confidence).map_or(Ok(0.95), |c| number(c, "confidence"))?;
        Ok(p.wilson(c)?.map(|i| vec![i.low, i.high]))
    };
    guard(run).js(&env)
}

/// The Student t interval of the mean of `values`: `[low, high]`, or null under two values.
#[napi(ts_args_type = "values: Array<number>, confidence?: number | undefined | null")]
pub fn t_interval(
    env: Env,
    values: Vec<f64>,
    confidence: Option<Unknown<'_>>,
) -> Result<Option<Vec<f64>>> {
    let run = || -> Read<Option<Vec<f64>>> {
        let c = given(confidence).map_or(Ok(0.95), |c| number(c, "confidence"))?;
        Ok(Summary::of(values.iter().copied())
            .t_interval(c)?
            .map(|i| vec![i.low, i.high]))
    };
    guard(run).js(&env)
}

/// The pooled two-proportion z test of x1/n1 against x2/n2 (null without trials).
#[napi]
pub fn two_proportion_test(
    env: Env,
    x1: f64,
    n1: f64,
    x2: f64,
    n2: f64,
) -> Result<Option<Comparison>> {
    let run = || -> Read<Option<Comparison>> {
        let whole_number = |x: f64, what: &str| -> Read<u64> {
            if x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(53) {
                Ok(x as u64)
            } else {
                Err(argument(format!("{what} must be a whole number, not {x}")))
            }
        };
        let a = Proportion::new(whole_number(x1, "x1")?, whole_number(n1, "n1")?)?;
        let b = Proportion::new(whole_number(x2, "x2")?, whole_number(n2, "n2")?)?;
        Ok(insight::two_proportion_test(&a, &b).map(Comparison::from))
    };
    guard(run).js(&env)
}

/// Welch's t test of the means of `a` and `b` (null under two values a side).
#[napi]
pub fn welch_test(a: Vec<f64>, b: Vec<f64>) -> Option<Comparison> {
    insight::welch_test(&Summary::of(a), &Summary::of(b)).map(Comparison::from)
}

/// Benjamini–Hochberg adjusted p-values, in the order given.
#[napi]
pub fn benjamini_hochberg(p_values: Vec<f64>) -> Vec<f64> {
    insight::benjamini_hochberg(&p_values)
}

/// Profiles each arm of a two-sided test on a rate needs.
#[napi(
    ts_args_type = "baseline: number, minimumEffect: number, alpha?: number | undefined | null, power?: number | undefined | null"
)]
pub fn sample_size_per_arm(
    env: Env,
    baseline: f64,
    minimum_effect: f64,
    alpha: Option<f64>,
    power: Option<f64>,
) -> Result<f64> {
    insight::sample_size_per_arm(
        baseline,
        minimum_effect,
        alpha.unwrap_or(0.05),
        power.unwrap_or(0.8),
    )
    .map(|n| n as f64)
    .js(&env)
}
