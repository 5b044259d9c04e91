//! Saving and loading single-file images on `segcore._segcore.Audience`.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyType;

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
}
