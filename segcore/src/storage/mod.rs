//! Audiences on disk. What it decides: how bytes reach a file so that a crash at any instant
//! leaves either the old file or the new one, whole (`atomic.rs`), and the single-file image
//! calls built on it (`Audience::save` / `Audience::load`). The image format itself is
//! `image.rs`.

mod atomic;

use std::path::Path;

use crate::error::{Error, Result};
use crate::Audience;

pub(crate) use atomic::write_atomically;

impl Audience {
    /// Writes the audience's image (see [`Audience::to_bytes`]) to `path`, atomically: the
    /// bytes go to a temporary file beside it, which is synced, renamed over `path`, and the
    /// directory synced, so a crash leaves either the old file or the new one, never a torn
    /// one. Failures are [`Error::Io`] naming the path.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("segcore-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("shop.segcore");
    ///
    /// let mut a = segcore::Audience::new();
    /// a.upsert("ada", [("country", "SE".into())])?;
    /// a.save(&path)?;
    /// assert_eq!(segcore::Audience::load(&path)?.profile("ada"), a.profile("ada"));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), &self.to_bytes())
    }

    /// Reads an audience saved by [`Audience::save`] (or any [`Audience::to_bytes`] image):
    /// [`Error::Io`] if the file cannot be read, [`Error::Corrupt`] if it is not an intact image.
    pub fn load(path: impl AsRef<Path>) -> Result<Audience> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
        Audience::from_bytes(&bytes)
    }
}
