//! `segcore.Predicate`: a parsed segment definition, checked for syntax only (an audience
//! checks names and types when it is used). It pickles as its JSON form, so a compiled segment
//! can be sent to Dask workers.

use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::errors::IntoPy;

/// A parsed predicate: `Predicate.parse(text)` or `Predicate.from_json(text)`.
#[pyclass(frozen, module = "segcore._segcore")]
pub(crate) struct Predicate {
    pub(crate) inner: segcore::Predicate,
}

#[pymethods]
impl Predicate {
    /// Parses the text form.
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Predicate> {
        Ok(Predicate {
            inner: segcore::Predicate::parse(text).py_err()?,
        })
    }

    /// Reads the JSON form.
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<Predicate> {
        Ok(Predicate {
            inner: segcore::Predicate::from_json(json).py_err()?,
        })
    }

    /// The JSON form.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// The names of the segments this predicate refers to.
    fn segment_references(&self) -> Vec<String> {
        self.inner
            .segment_references()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Predicate({:?})", self.inner.to_string())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Predicate>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.inner.to_string().hash(&mut h);
        h.finish()
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let class: Bound<'py, PyType> = slf.get_type();
        Ok((class.getattr("from_json")?, (slf.get().inner.to_json(),)))
    }
}
