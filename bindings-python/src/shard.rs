//! Sharding for Dask (`segcore.dask`): the stable shard of each id, an audience split into
//! shards, and KPI statistics that merge across shards. The core decides all of it
//! (`segcore::shard_of`, `Audience::split`, `insight::KpiParts`).

use numpy::PyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyType};
use segcore::insight::{self, Measure, Proportion, Summary};

use crate::audience::Audience;
use crate::convert::instant_or_now;
use crate::errors::IntoPy;
use crate::insight::{kpi_columns, segment_texts, test_dict, Outcome};

/// The shard (0 to `shards` - 1) of each id: FNV-1a of its UTF-8 bytes, the same in every
/// process, platform and version, so profile rows and event rows meet.
#[pyfunction]
pub(crate) fn shard_of<'py>(
    py: Python<'py>,
    ids: Vec<String>,
    shards: u32,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    if shards == 0 || shards > segcore::MAX_SHARDS {
        return Err(crate::errors::to_py(segcore::Error::InvalidValue(format!(
            "an audience splits into 1 to {} shards, not {shards}",
            segcore::MAX_SHARDS
        ))));
    }
    let out: Vec<u32> = py.detach(|| ids.iter().map(|id| segcore::shard_of(id, shards)).collect());
    Ok(PyArray1::from_vec(py, out))
}

/// The statistics of a KPI report that add up across shards; `merge` two, `report` the
/// columns of `Audience.kpis`. Pickles, to travel from Dask workers.
#[pyclass(frozen, module = "segcore._segcore", name = "KpiParts")]
pub(crate) struct KpiParts {
    inner: insight::KpiParts,
}

type MeasureState = (String, u64, f64, f64);

fn measure_state(m: &Measure) -> MeasureState {
    match m {
        Measure::Rate(p) => ("rate".to_owned(), p.trials, p.successes as f64, 0.0),
        Measure::Value(s) => ("value".to_owned(), s.n, s.mean, s.m2),
    }
}

fn measure_from(state: &MeasureState) -> PyResult<Measure> {
    let (kind, n, a, b) = state;
    match kind.as_str() {
        "rate" => Ok(Measure::Rate(Proportion {
            successes: *a as u64,
            trials: *n,
        })),
        "value" => Ok(Measure::Value(Summary {
            n: *n,
            mean: *a,
            m2: *b,
        })),
        other => Err(PyValueError::new_err(format!("not a measure: {other:?}"))),
    }
}

#[pymethods]
impl KpiParts {
    /// From the state `__reduce__` gives.
    #[staticmethod]
    fn _from_state(
        segments: Vec<String>,
        measures: Vec<MeasureState>,
        overall: MeasureState,
        live: u64,
    ) -> PyResult<KpiParts> {
        Ok(KpiParts {
            inner: insight::KpiParts {
                segments,
                measures: measures.iter().map(measure_from).collect::<PyResult<_>>()?,
                overall: measure_from(&overall)?,
                live,
            },
        })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let py = slf.py();
        let p = &slf.get().inner;
        let state = (
            p.segments.clone(),
            p.measures.iter().map(measure_state).collect::<Vec<_>>(),
            measure_state(&p.overall),
            p.live,
        );
        Ok((
            py.get_type::<KpiParts>().getattr("_from_state")?,
            state.into_pyobject(py)?.into_any(),
        ))
    }

    /// Both shards' statistics together (counts add, summaries merge exactly).
    fn merge(&self, other: &KpiParts) -> PyResult<KpiParts> {
        Ok(KpiParts {
            inner: self.inner.merge(&other.inner).py_err()?,
        })
    }

    /// Live profiles counted.
    #[getter]
    fn live(&self) -> u64 {
        self.inner.live
    }

    /// The first segment against the second (or everyone else), as `Audience.compare`
    /// gives it: a dict, or None when a side is too small to test.
    fn _compare<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.inner.compare().map(|t| test_dict(py, &t)).transpose()
    }

    /// The report's columns, as `Audience.kpis` gives them.
    fn _report<'py>(&self, py: Python<'py>, confidence: f64) -> PyResult<Bound<'py, PyDict>> {
        let kpis = self.inner.report(confidence).py_err()?;
        kpi_columns(py, &kpis)
    }
}

#[pymethods]
impl Audience {
    /// The audience split into `shards` audiences of this class by `shard_of(id)`: each with
    /// its profiles whole and the same time zone, schema, segments and decisions.
    fn split<'py>(slf: &Bound<'py, Self>, shards: u32) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let this = slf.get();
        let parts = py.detach(|| this.read().split(shards)).py_err()?;
        let class: Bound<'py, PyType> = slf.get_type();
        let out = PyList::empty(py);
        for part in parts {
            let instance = class.call0()?;
            *instance.cast::<Audience>()?.get().write() = part;
            out.append(instance)?;
        }
        Ok(out)
    }

    /// The schema's declarations as JSON, for `_declare_schema_json` on the other shards.
    fn _schema_json(&self) -> String {
        self.read().schema_json()
    }

    /// Declares what another shard's `_schema_json` lists (a contradicting type raises).
    fn _declare_schema_json(&self, py: Python<'_>, json: String) -> PyResult<()> {
        self.commit_many(py, move |a| a.declare_schema_json(&json))
    }

    /// The sufficient statistics of `kpis` on this audience (or shard).
    #[pyo3(signature = (segments, outcome, now = None))]
    fn _kpi_parts(
        &self,
        py: Python<'_>,
        segments: &Bound<'_, PyAny>,
        outcome: &Outcome,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<KpiParts> {
        let texts = segment_texts(segments)?;
        let now = instant_or_now(now)?;
        let inner = py
            .detach(|| {
                let names: Vec<&str> = texts.iter().map(String::as_str).collect();
                self.read().kpi_parts(&names, &outcome.inner, now)
            })
            .py_err()?;
        Ok(KpiParts { inner })
    }
}
