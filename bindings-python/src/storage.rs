//! Single-file images (`save` / `load`) and durable directories (`open`, `flush`, `compact`,
//! `close`, and the context manager) on `segcore._segcore.Audience`.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::audience::Audience;
use crate::errors::IntoPy;

#[pymethods]
impl Audience {
    /// Writes the audience's image to `path` (a str or path-like), atomically: a crash leaves
    /// the old file or the new one, never a torn one. Failures raise `StorageError`.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.read().save(&path)).py_err()
    }

    /// An audience read from a file `save` wrote; `StorageError` if it cannot be read,
    /// `CorruptError` if it is not an intact image.
    #[classmethod]
    #[pyo3(name = "load")]
    fn load_file<'py>(cls: &Bound<'py, PyType>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let loaded = cls
            .py()
            .detach(|| segcore::Audience::load(&path))
            .py_err()?;
        let instance = cls.call0()?;
        *instance.cast::<Audience>()?.get().write() = loaded;
        Ok(instance)
    }

    /// Opens (or creates) the durable audience kept in directory `path`: every write that
    /// returns is on disk and survives a crash. `sync` is `"group"` (default: concurrent
    /// writers share fsyncs), `"always"` (an fsync per write) or `"never"` (for bulk loads
    /// that end with `flush()`). The directory stays locked until `close()` (or the end of a
    /// `with` block); a second open raises `LockedError` naming the holder's pid.
    ///
    /// A journal damaged before its end (acknowledged writes after a bad frame), or a
    /// snapshot whose journal is missing, raises `CorruptError` naming the offset and changes
    /// nothing; `recover="point_in_time"` opens it as it was just before the damage and keeps
    /// the rest of the journal in a file named by `open_report["set_aside"]`.
    #[classmethod]
    #[pyo3(signature = (path, sync = "group", recover = "refuse"))]
    fn open<'py>(
        cls: &Bound<'py, PyType>,
        path: PathBuf,
        sync: &str,
        recover: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let sync = match sync {
            "group" => segcore::Sync::Group,
            "always" => segcore::Sync::Always,
            "never" => segcore::Sync::Never,
            other => {
                return Err(PyValueError::new_err(format!(
                    "sync is \"group\", \"always\" or \"never\", not {other:?}"
                )))
            }
        };
        let recover = match recover {
            "refuse" => segcore::Recover::Refuse,
            "point_in_time" => segcore::Recover::PointInTime,
            other => {
                return Err(PyValueError::new_err(format!(
                    "recover is \"refuse\" or \"point_in_time\", not {other:?}"
                )))
            }
        };
        let options = segcore::OpenOptions::new().sync(sync).recover(recover);
        let opened = cls.py().detach(|| options.open(&path)).py_err()?;
        let instance = cls.call0()?;
        *instance.cast::<Audience>()?.get().write() = opened;
        Ok(instance)
    }

    /// What opening found: a dict with `generation`, `snapshot_profiles`,
    /// `records_replayed`, `bytes_cut`, `stale_journal_replaced`, and, after a point-in-time
    /// recovery, `damage` (what was wrong) and `set_aside` (the path keeping the cut bytes),
    /// else None; None in memory.
    #[getter]
    fn open_report<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(report) = self.read().open_report().cloned() else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("generation", report.generation)?;
        d.set_item("snapshot_profiles", report.snapshot_profiles)?;
        d.set_item("records_replayed", report.records_replayed)?;
        d.set_item("bytes_cut", report.bytes_cut)?;
        d.set_item("stale_journal_replaced", report.stale_journal_replaced)?;
        d.set_item("damage", report.damage)?;
        d.set_item("set_aside", report.set_aside)?;
        Ok(Some(d))
    }

    /// The directory of a durable audience, or None in memory.
    #[getter]
    fn directory(&self) -> Option<PathBuf> {
        self.read().directory().map(PathBuf::from)
    }

    /// How many compactions the directory has seen, or None in memory.
    #[getter]
    fn generation(&self) -> Option<u32> {
        self.read().generation()
    }

    /// Writes and syncs every journaled write (what a `sync="never"` load ends with).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.read().flush()).py_err()
    }

    /// Folds the journal into a new snapshot, atomically; queries in other threads continue
    /// meanwhile. After it, no byte of an erased profile remains in the directory.
    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.read().compact()).py_err()
    }

    /// Flushes and releases the directory. The audience stays readable; writes afterwards
    /// raise `StorageError`. Nothing to do in memory.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.write().close()).py_err()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes on leaving the block; an exception inside it propagates.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}
