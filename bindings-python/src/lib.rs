//! `segcore._segcore`: the native half of the `segcore` Python package. It converts
//! arguments, calls the Rust core, and converts results and errors — nothing else. The Python
//! half (`python/segcore/`) holds the exception classes, DataFrame reports and notebook views.
#![deny(missing_docs)]

mod audience;
mod convert;
mod decide;
mod errors;
mod ingest;
mod insight;
mod live;
mod loads;
mod predicate;
mod shard;
mod storage;

use pyo3::prelude::*;

/// The native module, re-exported by `segcore/__init__.py`.
#[pymodule]
fn _segcore(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", segcore::VERSION)?;
    let now = segcore::sample::SampleShop::new(0).now;
    m.add("SAMPLE_NOW", now.to_string())?;
    m.add("MAX_SHARDS", segcore::MAX_SHARDS)?;
    m.add_class::<audience::Audience>()?;
    m.add_class::<predicate::Predicate>()?;
    m.add_class::<live::Transition>()?;
    m.add_function(wrap_pyfunction!(decide::holdout_fraction, m)?)?;
    m.add_class::<insight::Outcome>()?;
    m.add_class::<insight::CoOccurrence>()?;
    m.add_class::<ingest::IngestReport>()?;
    m.add_class::<shard::KpiParts>()?;
    m.add_function(wrap_pyfunction!(shard::shard_of, m)?)?;
    m.add_class::<ingest::PyExportReport>()?;
    m.add_function(wrap_pyfunction!(insight::wilson_interval, m)?)?;
    m.add_function(wrap_pyfunction!(insight::t_interval, m)?)?;
    m.add_function(wrap_pyfunction!(insight::two_proportion_test, m)?)?;
    m.add_function(wrap_pyfunction!(insight::welch_test, m)?)?;
    m.add_function(wrap_pyfunction!(insight::benjamini_hochberg, m)?)?;
    m.add_function(wrap_pyfunction!(insight::sample_size_per_arm, m)?)?;
    Ok(())
}
