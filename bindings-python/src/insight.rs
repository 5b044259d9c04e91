//! Insight on `segcore._segcore.Audience` — sizes, overlaps, KPIs, testability, the advisor,
//! RFM, co-occurrence and recommendations — and the statistics functions: arguments and
//! results converted, the core decides everything. The Python half (`segcore/_insight.py`)
//! turns the column dicts into DataFrames.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use segcore::insight::{
    self, Advisor, Because, Interval, Measure, Outcome as CoreOutcome, Proportion, Summary, Test,
    TestPlan,
};

use crate::audience::Audience;
use crate::convert::{instant, instant_or_now};
use crate::errors::IntoPy;
use crate::predicate::Predicate;

/// What segments are measured on: `Outcome.converts(predicate, at)` — a member converts when
/// they match the predicate at `at` — or `Outcome.sum(event, value, start, end)` — the sum of
/// an event's numeric value over [start, end) per member.
#[pyclass(frozen, module = "segcore._segcore")]
pub(crate) struct Outcome {
    pub(crate) inner: CoreOutcome,
}

#[pymethods]
impl Outcome {
    /// A member converts when they match `predicate` (text or a Predicate) at `at`.
    #[staticmethod]
    fn converts(predicate: &Bound<'_, PyAny>, at: &Bound<'_, PyAny>) -> PyResult<Outcome> {
        let predicate = match predicate.cast::<Predicate>() {
            Ok(p) => p.get().inner.clone(),
            Err(_) => {
                segcore::Predicate::parse(predicate.cast::<PyString>()?.to_str()?).py_err()?
            }
        };
        Ok(Outcome {
            inner: CoreOutcome::Converts {
                predicate,
                at: instant(at)?,
            },
        })
    }

    /// The sum of `event.value` over [start, end) per member (0 without any).
    #[staticmethod]
    fn sum(
        event: String,
        value: String,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Outcome> {
        Ok(Outcome {
            inner: CoreOutcome::Sum {
                event,
                property: value,
                from: instant(start)?,
                to: instant(end)?,
            },
        })
    }

    /// Pickles as the call that makes it (so an outcome travels to Dask workers).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let py = slf.py();
        let class = py.get_type::<Outcome>();
        Ok(match &slf.get().inner {
            CoreOutcome::Converts { predicate, at } => (
                class.getattr("converts")?,
                (predicate.to_string(), at.to_string())
                    .into_pyobject(py)?
                    .into_any(),
            ),
            CoreOutcome::Sum {
                event,
                property,
                from,
                to,
            } => (
                class.getattr("sum")?,
                (
                    event.clone(),
                    property.clone(),
                    from.to_string(),
                    to.to_string(),
                )
                    .into_pyobject(py)?
                    .into_any(),
            ),
            _ => {
                return Err(PyTypeError::new_err("this outcome cannot be pickled"));
            }
        })
    }

    fn __repr__(&self) -> String {
        match &self.inner {
            CoreOutcome::Converts { predicate, at } => {
                format!("Outcome.converts({:?}, at={at})", predicate.to_string())
            }
            CoreOutcome::Sum {
                event,
                property,
                from,
                to,
            } => format!("Outcome.sum({event:?}, {property:?}, {from}, {to})"),
            _ => "Outcome(…)".to_owned(),
        }
    }
}

/// The co-occurrence of an event's items: `Audience.co_occurrence(event, value, min_support)`.
#[pyclass(frozen, module = "segcore._segcore")]
pub(crate) struct CoOccurrence {
    inner: insight::CoOccurrence,
}

#[pymethods]
impl CoOccurrence {
    /// Baskets counted (profiles with at least one item).
    #[getter]
    fn baskets(&self) -> u64 {
        self.inner.baskets()
    }

    /// Distinct items seen.
    #[getter]
    fn items(&self) -> usize {
        self.inner.items()
    }

    /// The minimum support pairs were counted at.
    #[getter]
    fn min_support(&self) -> f64 {
        self.inner.min_support()
    }

    /// The share of baskets holding `item`.
    fn support(&self, item: &str) -> f64 {
        self.inner.support(item)
    }

    fn _pairs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        pair_columns(py, self.inner.pairs())
    }

    fn _bought_with<'py>(
        &self,
        py: Python<'py>,
        item: &str,
        k: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        pair_columns(py, self.inner.bought_with(item, k).py_err()?)
    }
}

fn pair_columns(py: Python<'_>, pairs: Vec<insight::ItemPair>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(
        "item",
        pairs.iter().map(|p| p.item.as_str()).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "with",
        pairs.iter().map(|p| p.with.as_str()).collect::<Vec<_>>(),
    )?;
    d.set_item("count", pairs.iter().map(|p| p.count).collect::<Vec<_>>())?;
    d.set_item(
        "support",
        pairs.iter().map(|p| p.support).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "confidence",
        pairs.iter().map(|p| p.confidence).collect::<Vec<_>>(),
    )?;
    d.set_item("lift", pairs.iter().map(|p| p.lift).collect::<Vec<_>>())?;
    Ok(d)
}

/// Segment arguments as the core takes them: names or predicates' text (a Predicate as its
/// canonical text).
pub(crate) fn segment_texts(segments: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if segments.cast::<PyString>().is_ok() {
        return Err(PyTypeError::new_err(
            "segments is a list of names or predicates, not one string",
        ));
    }
    segments
        .try_iter()?
        .map(|s| {
            let s = s?;
            match s.cast::<Predicate>() {
                Ok(p) => Ok(p.get().inner.to_string()),
                Err(_) => Ok(s.cast::<PyString>()?.to_str()?.to_owned()),
            }
        })
        .collect()
}

/// A KPI report as the columns `kpis` turns into a DataFrame.
pub(crate) fn kpi_columns<'py>(
    py: Python<'py>,
    kpis: &insight::Kpis,
) -> PyResult<Bound<'py, PyDict>> {
    let rows = &kpis.rows;
    let d = PyDict::new(py);
    let column = |f: &dyn Fn(&insight::KpiRow) -> Option<f64>| -> Vec<Option<f64>> {
        rows.iter().map(f).collect()
    };
    d.set_item(
        "segment",
        rows.iter().map(|r| r.segment.as_str()).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "members",
        rows.iter().map(|r| r.members).collect::<Vec<_>>(),
    )?;
    d.set_item("share", rows.iter().map(|r| r.share).collect::<Vec<_>>())?;
    d.set_item("estimate", column(&|r| r.estimate))?;
    let intervals: Vec<(Option<f64>, Option<f64>)> =
        rows.iter().map(|r| interval_pair(r.interval)).collect();
    d.set_item("low", intervals.iter().map(|i| i.0).collect::<Vec<_>>())?;
    d.set_item("high", intervals.iter().map(|i| i.1).collect::<Vec<_>>())?;
    d.set_item(
        "rest_members",
        rows.iter().map(|r| r.rest.members()).collect::<Vec<_>>(),
    )?;
    d.set_item("rest_estimate", column(&|r| r.rest.estimate()))?;
    d.set_item("difference", column(&|r| r.vs_rest.map(|t| t.difference)))?;
    d.set_item(
        "relative_lift",
        column(&|r| r.vs_rest.and_then(|t| t.relative_lift)),
    )?;
    d.set_item("statistic", column(&|r| r.vs_rest.map(|t| t.statistic)))?;
    d.set_item("p_value", column(&|r| r.vs_rest.map(|t| t.p_value)))?;
    d.set_item("adjusted_p_value", column(&|r| r.adjusted_p_value))?;
    d.set_item("overall", measure_dict(py, &kpis.overall)?)?;
    Ok(d)
}

fn interval_pair(i: Option<Interval>) -> (Option<f64>, Option<f64>) {
    (i.map(|i| i.low), i.map(|i| i.high))
}

pub(crate) fn test_dict<'py>(py: Python<'py>, t: &Test) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("difference", t.difference)?;
    d.set_item("relative_lift", t.relative_lift)?;
    d.set_item("statistic", t.statistic)?;
    d.set_item("freedom", t.freedom)?;
    d.set_item("p_value", t.p_value)?;
    Ok(d)
}

fn measure_dict<'py>(py: Python<'py>, m: &Measure) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match m {
        Measure::Rate(p) => {
            d.set_item("kind", "rate")?;
            d.set_item("successes", p.successes)?;
            d.set_item("members", p.trials)?;
        }
        Measure::Value(s) => {
            d.set_item("kind", "value")?;
            d.set_item("members", s.n)?;
            d.set_item("m2", s.m2)?;
        }
    }
    d.set_item("estimate", m.estimate())?;
    Ok(d)
}

#[pymethods]
impl Audience {
    fn _sizes<'py>(
        &self,
        py: Python<'py>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant_or_now(now)?;
        let sizes = py.detach(|| self.read().sizes(now)).py_err()?;
        let d = PyDict::new(py);
        d.set_item(
            "segment",
            sizes.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        )?;
        d.set_item(
            "members",
            sizes.iter().map(|s| s.members).collect::<Vec<_>>(),
        )?;
        d.set_item("share", sizes.iter().map(|s| s.share).collect::<Vec<_>>())?;
        Ok(d)
    }

    fn _overlap<'py>(
        &self,
        py: Python<'py>,
        segments: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let texts = segment_texts(segments)?;
        let now = instant_or_now(now)?;
        let o = py
            .detach(|| {
                let names: Vec<&str> = texts.iter().map(String::as_str).collect();
                self.read().overlap(&names, now)
            })
            .py_err()?;
        let d = PyDict::new(py);
        d.set_item("names", &o.names)?;
        d.set_item("sizes", &o.sizes)?;
        d.set_item("intersections", &o.intersections)?;
        Ok(d)
    }

    fn _kpis<'py>(
        &self,
        py: Python<'py>,
        segments: &Bound<'_, PyAny>,
        outcome: &Outcome,
        now: Option<&Bound<'_, PyAny>>,
        confidence: f64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let texts = segment_texts(segments)?;
        let now = instant_or_now(now)?;
        let kpis = py
            .detach(|| {
                let names: Vec<&str> = texts.iter().map(String::as_str).collect();
                self.read().kpis(&names, &outcome.inner, now, confidence)
            })
            .py_err()?;
        kpi_columns(py, &kpis)
    }

    /// Segment `a` against segment `b` (or everyone else) on `outcome`: a dict with
    /// `difference`, `relative_lift`, `statistic`, `freedom` (Welch's t only) and `p_value`,
    /// or None when a side is too small to test.
    #[pyo3(signature = (a, outcome, b = None, now = None))]
    fn compare<'py>(
        &self,
        py: Python<'py>,
        a: &str,
        outcome: &Outcome,
        b: Option<&str>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let now = instant_or_now(now)?;
        let t = py
            .detach(|| self.read().compare(a, b, &outcome.inner, now))
            .py_err()?;
        t.map(|t| test_dict(py, &t)).transpose()
    }

    /// Whether `segment` can carry an A/B test detecting a change of the rate `baseline` by
    /// `minimum_effect` within `period_days`: a dict with `members`, `needed_per_arm`,
    /// `needed`, `active` (members who did `traffic_event` in the last `lookback_days`),
    /// `daily_traffic`, `days_needed` (None: never) and `reachable`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (segment, baseline, minimum_effect, traffic_event, lookback_days = 28, period_days = 30.0, alpha = 0.05, power = 0.8, arms = 2, now = None))]
    fn testability<'py>(
        &self,
        py: Python<'py>,
        segment: &str,
        baseline: f64,
        minimum_effect: f64,
        traffic_event: &str,
        lookback_days: u32,
        period_days: f64,
        alpha: f64,
        power: f64,
        arms: u32,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant_or_now(now)?;
        let plan = TestPlan {
            baseline,
            minimum_effect,
            alpha,
            power,
            arms,
        };
        let t = py
            .detach(|| {
                self.read().testability(
                    segment,
                    &plan,
                    traffic_event,
                    lookback_days,
                    period_days,
                    now,
                )
            })
            .py_err()?;
        let d = PyDict::new(py);
        d.set_item("segment", t.segment)?;
        d.set_item("members", t.members)?;
        d.set_item("needed_per_arm", t.needed_per_arm)?;
        d.set_item("needed", t.needed)?;
        d.set_item("active", t.active)?;
        d.set_item("daily_traffic", t.daily_traffic)?;
        d.set_item("days_needed", t.days_needed)?;
        d.set_item("reachable", t.reachable)?;
        Ok(d)
    }

    #[allow(clippy::too_many_arguments)]
    fn _advise<'py>(
        &self,
        py: Python<'py>,
        outcome: &Outcome,
        minimum_effect: f64,
        now: Option<&Bound<'_, PyAny>>,
        alpha: f64,
        power: f64,
        duplicate_jaccard: f64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant_or_now(now)?;
        let mut advisor = Advisor::new(outcome.inner.clone(), now, minimum_effect);
        advisor.alpha = alpha;
        advisor.power = power;
        advisor.duplicate_jaccard = duplicate_jaccard;
        let advice = py.detach(|| self.read().advise(&advisor)).py_err()?;
        let findings = PyList::empty(py);
        for f in &advice.findings {
            let d = PyDict::new(py);
            d.set_item("kind", f.kind.name())?;
            d.set_item("segments", &f.segments)?;
            d.set_item("decision", &f.decision)?;
            d.set_item("reason", &f.reason)?;
            d.set_item("numbers", f.numbers.clone())?;
            findings.append(d)?;
        }
        let suggested = PyList::empty(py);
        for g in &advice.suggested {
            let d = measure_dict(py, &g.measure)?;
            d.set_item("segments", &g.segments)?;
            suggested.append(d)?;
        }
        let d = PyDict::new(py);
        d.set_item("findings", findings)?;
        d.set_item("suggested", suggested)?;
        Ok(d)
    }

    /// Scores every profile that did `event` by recency, frequency and the sum of its numeric
    /// `value`, 1 to 5 by quintiles at `now`, stored as the attributes `rfm_recency`,
    /// `rfm_frequency` and `rfm_monetary`; returns `{"customers": …, "cleared": …}`.
    #[pyo3(signature = (event, value, now = None))]
    fn score_rfm<'py>(
        &self,
        py: Python<'py>,
        event: &str,
        value: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant_or_now(now)?;
        let s = self.commit_many(py, |a| a.score_rfm(event, value, now))?;
        let d = PyDict::new(py);
        d.set_item("customers", s.customers)?;
        d.set_item("cleared", s.cleared)?;
        Ok(d)
    }

    /// Defines the standard RFM segments (`rfm_champions`, `rfm_loyal`, …) over the scores.
    fn define_rfm_segments(&self, py: Python<'_>) -> PyResult<()> {
        self.commit_many(py, |a| a.define_rfm_segments())
    }

    /// Which values of the string property `value` of `event` are bought together (a basket
    /// is a profile's distinct values), keeping pairs held by at least `min_support` of them.
    fn _co_occurrence(
        &self,
        py: Python<'_>,
        event: &str,
        value: &str,
        min_support: f64,
    ) -> PyResult<CoOccurrence> {
        let inner = py
            .detach(|| self.read().co_occurrence(event, value, min_support))
            .py_err()?;
        Ok(CoOccurrence { inner })
    }

    /// Up to `k` items for profile `id`: a list of dicts with `item`, `score` and `because`
    /// (the item they have whose buyers buy it, or None for a popular item).
    fn _recommend<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        together: &CoOccurrence,
        k: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let picks = self.read().recommend(id, &together.inner, k).py_err()?;
        let out = PyList::empty(py);
        for r in picks {
            let d = PyDict::new(py);
            d.set_item("item", r.item)?;
            d.set_item("score", r.score)?;
            d.set_item("because", because(&r.because))?;
            out.append(d)?;
        }
        Ok(out)
    }

    fn _recommend_segment<'py>(
        &self,
        py: Python<'py>,
        segment: &str,
        together: &CoOccurrence,
        k: usize,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant_or_now(now)?;
        let all = py
            .detach(|| {
                self.read()
                    .recommend_segment(segment, &together.inner, k, now)
            })
            .py_err()?;
        let (mut ids, mut ranks, mut items, mut scores, mut whys) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (id, picks) in all {
            for (rank, r) in picks.into_iter().enumerate() {
                ids.push(id.clone());
                ranks.push(rank + 1);
                whys.push(because(&r.because));
                items.push(r.item);
                scores.push(r.score);
            }
        }
        let d = PyDict::new(py);
        d.set_item("id", ids)?;
        d.set_item("rank", ranks)?;
        d.set_item("item", items)?;
        d.set_item("score", scores)?;
        d.set_item("because", whys)?;
        Ok(d)
    }
}

fn because(b: &Because) -> Option<String> {
    match b {
        Because::BoughtWith(item) => Some(item.clone()),
        Because::Popular => None,
    }
}

/// The Wilson score interval of `successes` of `trials` at `confidence`: (low, high), or None
/// without trials.
#[pyfunction]
#[pyo3(signature = (successes, trials, confidence = 0.95))]
pub(crate) fn wilson_interval(
    successes: u64,
    trials: u64,
    confidence: f64,
) -> PyResult<Option<(f64, f64)>> {
    let i = Proportion::new(successes, trials)
        .and_then(|p| p.wilson(confidence))
        .py_err()?;
    Ok(i.map(|i| (i.low, i.high)))
}

/// The Student t interval of the mean of `values` at `confidence`, or None under two values.
#[pyfunction]
#[pyo3(signature = (values, confidence = 0.95))]
pub(crate) fn t_interval(values: Vec<f64>, confidence: f64) -> PyResult<Option<(f64, f64)>> {
    let i = Summary::of(values).t_interval(confidence).py_err()?;
    Ok(i.map(|i| (i.low, i.high)))
}

/// The pooled two-proportion z test of x1/n1 against x2/n2: a dict, or None without trials.
#[pyfunction]
pub(crate) fn two_proportion_test(
    py: Python<'_>,
    x1: u64,
    n1: u64,
    x2: u64,
    n2: u64,
) -> PyResult<Option<Bound<'_, PyDict>>> {
    let a = Proportion::new(x1, n1).py_err()?;
    let b = Proportion::new(x2, n2).py_err()?;
    insight::two_proportion_test(&a, &b)
        .map(|t| test_dict(py, &t))
        .transpose()
}

/// Welch's t test of the means of `a` and `b`: a dict, or None under two values a side.
#[pyfunction]
pub(crate) fn welch_test(
    py: Python<'_>,
    a: Vec<f64>,
    b: Vec<f64>,
) -> PyResult<Option<Bound<'_, PyDict>>> {
    insight::welch_test(&Summary::of(a), &Summary::of(b))
        .map(|t| test_dict(py, &t))
        .transpose()
}

/// Benjamini–Hochberg adjusted p-values, in the order given.
#[pyfunction]
pub(crate) fn benjamini_hochberg(p_values: Vec<f64>) -> Vec<f64> {
    insight::benjamini_hochberg(&p_values)
}

/// Profiles each arm of a two-sided test needs to detect a change of a rate from `baseline`
/// by `minimum_effect` (absolute).
#[pyfunction]
#[pyo3(signature = (baseline, minimum_effect, alpha = 0.05, power = 0.8))]
pub(crate) fn sample_size_per_arm(
    baseline: f64,
    minimum_effect: f64,
    alpha: f64,
    power: f64,
) -> PyResult<u64> {
    insight::sample_size_per_arm(baseline, minimum_effect, alpha, power).py_err()
}
