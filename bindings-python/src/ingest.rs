//! Ingest and export on `segcore._segcore.Audience`: Segment-spec messages (one, a list, a
//! JSONL file), contact CSVs, and consent-safe exports. Arguments and results are converted;
//! the core decides everything (`segcore::ingest`, `segcore::export`). The Python half
//! (`segcore/_ingest.py`) turns dicts into JSON text.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use segcore::export::{ExportFormat, ExportOptions};
use segcore::ingest::{ContactMapping, IngestOptions, OnError, Report};

use crate::audience::Audience;
use crate::convert::instant_or_now;
use crate::errors::IntoPy;

/// What a load did: ``read == loaded + rejected``; ``rejections`` holds the first 1,000 as
/// ``(line, reason)``.
#[pyclass(frozen, module = "segcore._segcore", name = "IngestReport")]
pub(crate) struct IngestReport {
    #[pyo3(get)]
    read: u64,
    #[pyo3(get)]
    loaded: u64,
    #[pyo3(get)]
    rejected: u64,
    #[pyo3(get)]
    merged: u64,
    #[pyo3(get)]
    values_not_stored: u64,
    #[pyo3(get)]
    loaded_by_type: std::collections::BTreeMap<String, u64>,
    #[pyo3(get)]
    rejections: Vec<(u64, String)>,
    text: String,
}

impl From<Report> for IngestReport {
    fn from(r: Report) -> Self {
        IngestReport {
            text: r.to_string(),
            read: r.read,
            loaded: r.loaded,
            rejected: r.rejected,
            merged: r.merged,
            values_not_stored: r.values_not_stored,
            loaded_by_type: r.loaded_by_type,
            rejections: r
                .rejections
                .into_iter()
                .map(|x| (x.line, x.reason))
                .collect(),
        }
    }
}

#[pymethods]
impl IngestReport {
    fn __repr__(&self) -> String {
        format!(
            "<segcore.IngestReport: read {}, loaded {}, rejected {}>",
            self.read, self.loaded, self.rejected
        )
    }

    fn __str__(&self) -> String {
        self.text.clone()
    }
}

/// Who an export wrote and who it left out, and why: ``members == exported +
/// consent_withdrawn + no_consent + suppressed``. ``text`` holds the output when no path was
/// given.
#[pyclass(frozen, module = "segcore._segcore", name = "ExportReport")]
pub(crate) struct PyExportReport {
    #[pyo3(get)]
    members: u64,
    #[pyo3(get)]
    exported: u64,
    #[pyo3(get)]
    consent_withdrawn: u64,
    #[pyo3(get)]
    no_consent: u64,
    #[pyo3(get)]
    suppressed: u64,
    #[pyo3(get)]
    text: Option<String>,
    summary: String,
}

#[pymethods]
impl PyExportReport {
    fn __repr__(&self) -> String {
        format!("<segcore.ExportReport: {}>", self.summary)
    }

    fn __str__(&self) -> String {
        self.summary.clone()
    }
}

fn options(on_error: &str, max_line_bytes: usize) -> PyResult<IngestOptions> {
    Ok(IngestOptions {
        on_error: OnError::from_name(on_error).py_err()?,
        max_line_bytes,
    })
}

#[pymethods]
impl Audience {
    /// One message as JSON text (the Python half serializes dicts).
    fn _ingest_json<'py>(&self, py: Python<'py>, text: String) -> PyResult<Bound<'py, PyDict>> {
        let done = self.commit_many(py, move |a| a.ingest_json(&text))?;
        let d = PyDict::new(py);
        d.set_item("type", done.kind)?;
        d.set_item("id", done.id)?;
        d.set_item("merged", done.merged)?;
        d.set_item("values_not_stored", done.values_not_stored)?;
        Ok(d)
    }

    /// Messages as JSON texts, numbered from 1.
    #[pyo3(signature = (texts, on_error = "skip"))]
    fn _ingest_texts(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        on_error: &str,
    ) -> PyResult<IngestReport> {
        let options = options(on_error, usize::MAX)?;
        let report = py
            .detach(|| {
                // Text that is not JSON becomes a rejection of that record, as a JSONL line's.
                let jsonl: String = texts.iter().map(|t| t.replace('\n', " ") + "\n").collect();
                self.write()
                    .ingest_jsonl(std::io::Cursor::new(jsonl), "records", &options)
            })
            .py_err()?;
        Ok(report.into())
    }

    /// Streams a JSONL file of Segment-spec messages; see ``docs/ingest.md``.
    #[pyo3(signature = (path, *, on_error = "skip", max_line_bytes = 1 << 20))]
    fn ingest_jsonl(
        &self,
        py: Python<'_>,
        path: PathBuf,
        on_error: &str,
        max_line_bytes: usize,
    ) -> PyResult<IngestReport> {
        let options = options(on_error, max_line_bytes)?;
        let report = py
            .detach(|| self.write().ingest_jsonl_file(&path, &options))
            .py_err()?;
        Ok(report.into())
    }

    /// A contact CSV with a mapping given as JSON text (the Python half builds it).
    #[pyo3(signature = (path, mapping, at = None, on_error = "skip"))]
    fn _load_contacts(
        &self,
        py: Python<'_>,
        path: PathBuf,
        mapping: &str,
        at: Option<&Bound<'_, PyAny>>,
        on_error: &str,
    ) -> PyResult<IngestReport> {
        let mapping = ContactMapping::from_json(mapping).py_err()?;
        let at = instant_or_now(at)?;
        let options = options(on_error, usize::MAX)?;
        let report = py
            .detach(|| {
                self.write()
                    .load_contacts_file(&path, &mapping, at, &options)
            })
            .py_err()?;
        Ok(report.into())
    }

    /// The members of ``segment`` who may be contacted on ``channel``, written to ``path`` (or
    /// returned in the report's ``text``), as CSV or JSONL.
    ///
    /// CSV text cells that a spreadsheet would run as a formula (beginning with ``=``, ``+``,
    /// ``-``, ``@``, a tab or CR) get a ``'`` in front unless ``neutralize_formulas=False``.
    /// A ``path`` that is a symbolic link, a directory or a device other than a FIFO or a
    /// terminal raises ``StorageError`` and is left alone.
    #[pyo3(signature = (segment, path = None, *, channel = "email", columns = vec!["id".to_owned()], format = "csv", suppress = Vec::new(), now = None, neutralize_formulas = true))]
    #[allow(clippy::too_many_arguments)]
    fn export(
        &self,
        py: Python<'_>,
        segment: &Bound<'_, PyAny>,
        path: Option<PathBuf>,
        channel: &str,
        columns: Vec<String>,
        format: &str,
        suppress: Vec<String>,
        now: Option<&Bound<'_, PyAny>>,
        neutralize_formulas: bool,
    ) -> PyResult<PyExportReport> {
        let predicate = self.resolve(segment)?;
        let now = instant_or_now(now)?;
        let options = ExportOptions::new(channel)
            .columns(columns)
            .format(ExportFormat::from_name(format).py_err()?)
            .suppress(suppress)
            .neutralize_formulas(neutralize_formulas);
        let (report, text) = py
            .detach(|| -> segcore::Result<_> {
                let audience = self.read();
                match &path {
                    Some(path) => {
                        Ok((audience.export_file(&predicate, now, &options, path)?, None))
                    }
                    None => {
                        let mut out = Vec::new();
                        let report = audience.export(&predicate, now, &options, &mut out)?;
                        Ok((report, Some(String::from_utf8_lossy(&out).into_owned())))
                    }
                }
            })
            .py_err()?;
        Ok(PyExportReport {
            summary: report.to_string(),
            members: report.members,
            exported: report.exported,
            consent_withdrawn: report.consent_withdrawn,
            no_consent: report.no_consent,
            suppressed: report.suppressed,
            text,
        })
    }
}
