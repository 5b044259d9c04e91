//! The one mapping from core errors to Python exceptions. The classes live in
//! `segcore/_errors.py` (so they can inherit from both `SegcoreError` and a builtin such as
//! `ValueError`); this file picks the class by the error's stable kind and fills in its fields.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The exception class for each `segcore::Error::kind()`.
fn class_name(kind: &str) -> &'static str {
    match kind {
        "parse" | "json" => "ParseError",
        "too_deep" => "TooDeepError",
        "unknown_name" => "UnknownNameError",
        "schema" | "type" => "SchemaError",
        "invalid_value" => "InvalidValueError",
        "cycle" => "CycleError",
        "segment_in_use" => "SegmentInUseError",
        "corrupt" => "CorruptError",
        "io" => "StorageError",
        "version" => "VersionError",
        "locked" => "LockedError",
        "template" => "TemplateError",
        "not_live" => "NotLiveError",
        "clock_backwards" => "ClockBackwardsError",
        "queue_full" => "QueueFullError",
        "input" => "InputError",
        _ => "SegcoreError",
    }
}

/// A core error as the matching Python exception, with `kind` and the error's details as
/// attributes.
pub(crate) fn to_py(e: segcore::Error) -> PyErr {
    Python::attach(|py| match build(py, &e) {
        Ok(err) => err,
        // The classes could not be loaded (a broken install): still say what went wrong.
        Err(why) => PyRuntimeError::new_err(format!("{e} (and segcore._errors failed: {why})")),
    })
}

fn build(py: Python<'_>, e: &segcore::Error) -> PyResult<PyErr> {
    let module = py.import("segcore._errors")?;
    let class = module.getattr(class_name(e.kind()))?;
    let details = PyDict::new(py);
    details.set_item("kind", e.kind())?;
    match e {
        segcore::Error::Parse(p) => {
            details.set_item("line", p.line)?;
            details.set_item("column", p.column)?;
            details.set_item("span", (p.span.start, p.span.end))?;
            details.set_item("found", p.found.clone())?;
            details.set_item("expected", p.expected.clone())?;
        }
        segcore::Error::Json { line, column, .. } => {
            details.set_item("line", *line)?;
            details.set_item("column", *column)?;
        }
        segcore::Error::UnknownName {
            kind,
            name,
            suggestion,
        } => {
            details.set_item("name_kind", kind.to_string())?;
            details.set_item("name", name.clone())?;
            details.set_item("suggestion", suggestion.clone())?;
        }
        segcore::Error::Cycle { path } => details.set_item("path", path.clone())?,
        segcore::Error::Template { line, column, .. } => {
            details.set_item("line", *line)?;
            details.set_item("column", *column)?;
        }
        segcore::Error::ClockBackwards { clock, to } => {
            details.set_item("clock", clock.to_string())?;
            details.set_item("to", to.to_string())?;
        }
        segcore::Error::QueueFull { capacity } => details.set_item("capacity", *capacity)?,
        segcore::Error::Input {
            origin,
            line,
            reason,
        } => {
            details.set_item("origin", origin.clone())?;
            details.set_item("line", *line)?;
            details.set_item("reason", reason.clone())?;
        }
        segcore::Error::Io { path, .. } => details.set_item("path", path.clone())?,
        segcore::Error::Locked { path, pid } => {
            details.set_item("path", path.clone())?;
            details.set_item("pid", *pid)?;
        }
        segcore::Error::Version {
            expected, found, ..
        } => {
            details.set_item("expected", expected.clone())?;
            details.set_item("found", found.clone())?;
        }
        segcore::Error::SegmentInUse { segment, used_by } => {
            details.set_item("segment", segment.clone())?;
            details.set_item("used_by", used_by.clone())?;
        }
        _ => {}
    }
    let instance = class.call((e.to_string(),), Some(&details))?;
    Ok(PyErr::from_value(instance))
}

/// `Result` with core errors turned into Python exceptions.
pub(crate) trait IntoPy<T> {
    /// Converts the error side.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for segcore::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
