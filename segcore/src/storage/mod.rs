//! Audiences on disk. What it decides: the file formats (`format.rs` the container,
//! `image.rs` an audience's image, `journal.rs` and `record.rs` the journal), how bytes reach
//! a file so that a crash at any instant leaves the old file or the new one, whole
//! (`atomic.rs`), single-file images (`save` / `load`), and durable directories that keep every
//! acknowledged write across crashes (`durable.rs`, `lock.rs`). Specified in `docs/format.md`.

mod atomic;
mod durable;
#[cfg(all(test, unix))]
mod fault;
mod format;
mod fs;
mod image;
mod journal;
mod lock;
mod open;
#[cfg(all(test, unix))]
mod power_tests;
mod record;
mod replay;
mod values;

use std::path::Path;

use crate::error::{Error, Result};
use crate::Audience;

pub(crate) use atomic::{replace, write_atomically};
pub(crate) use durable::Attached;
pub use durable::{OpenOptions, OpenReport, Recover, Sync};
pub(crate) use image::SchemaImage;
pub use journal::Commit;
pub(crate) use record::Record;

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
    /// The audience read is in memory, whatever wrote the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Audience> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
        Audience::from_bytes(&bytes)
    }

    /// Opens the durable audience kept in directory `dir`, creating it if needed, under group
    /// commit ([`Sync::Group`]): every write that returns is on disk, and survives a crash.
    ///
    /// Opening replays the journal over the last snapshot; a record torn by a crash is cut,
    /// and [`Audience::open_report`] says how many records were replayed and how many bytes
    /// cut. The directory stays locked until the audience is closed or dropped: a second
    /// open, from any process, gets [`Error::Locked`] naming the holder's pid.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("segcore-doc-open-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// use segcore::{Audience, Event};
    /// let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    ///
    /// let mut shop = Audience::open(&dir)?;
    /// shop.upsert("ada", [("country", "SE".into())])?;
    /// shop.track("ada", Event::new("purchase", now).value("amount", 120.0))?;
    /// shop.define_segment("buyers", shop.predicate("did purchase")?)?;
    /// assert_eq!(Audience::open(&dir).unwrap_err().kind(), "locked");
    /// drop(shop); // or a crash: every write above was on disk when it returned
    ///
    /// let shop = Audience::open(&dir)?;
    /// assert_eq!(shop.open_report().unwrap().records_replayed, 3);
    /// assert_eq!(shop.members(&segcore::Predicate::segment("buyers"), now)?, ["ada"]);
    /// # drop(shop);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Audience> {
        OpenOptions::new().open(dir)
    }

    /// [`Audience::open`] with another sync policy; [`OpenOptions`] sets the recovery too.
    pub fn open_with(dir: impl AsRef<Path>, sync: Sync) -> Result<Audience> {
        OpenOptions::new().sync(sync).open(dir)
    }

    /// What opening found, for a durable audience.
    pub fn open_report(&self) -> Option<&OpenReport> {
        self.durable.0.as_deref().map(durable::Durable::report)
    }

    /// The directory of a durable audience.
    pub fn directory(&self) -> Option<&Path> {
        self.durable.0.as_deref().map(durable::Durable::dir)
    }

    /// The sync policy of a durable audience.
    pub fn sync_policy(&self) -> Option<Sync> {
        self.durable.0.as_deref().map(|d| d.sync)
    }

    /// How many compactions a durable audience's directory has seen.
    pub fn generation(&self) -> Option<u32> {
        self.durable.0.as_deref().map(durable::Durable::generation)
    }

    /// Writes and syncs every journaled write: what a [`Sync::Never`] bulk load ends with.
    /// Nothing to do for an in-memory audience.
    pub fn flush(&self) -> Result<()> {
        match &self.durable.0 {
            Some(d) => d.journal.flush(),
            None => Ok(()),
        }
    }

    /// Folds the journal into a new snapshot and starts an empty journal. Each file is
    /// replaced atomically (temporary file, fsync, rename, directory fsync), so a crash at any
    /// moment leaves a directory that opens to the same audience. It takes `&self`: readers
    /// sharing the audience behind a lock continue while it runs; writers wait.
    ///
    /// After compaction no byte of an erased profile remains in the directory: the journal
    /// that recorded it is gone, and snapshots hold live profiles only.
    pub fn compact(&self) -> Result<()> {
        match &self.durable.0 {
            Some(d) => durable::compact(self, d),
            None => Err(Error::InvalidValue(
                "compact needs a durable audience (Audience::open)".to_owned(),
            )),
        }
    }

    /// Flushes and releases the directory; [`Error::Io`] if the last writes could not be
    /// synced. The audience stays readable in memory, and every later write is refused with
    /// [`Error::Io`] (open the directory again to write). Dropping the audience flushes and
    /// releases it too, silently. Nothing to do for an in-memory audience.
    pub fn close(&mut self) -> Result<()> {
        match self.durable.0.as_mut() {
            Some(d) => d.close(),
            None => Ok(()),
        }
    }
}
