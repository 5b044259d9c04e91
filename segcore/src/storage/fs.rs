//! The seam under the storage layer: every operation whose durability matters — creating,
//! writing, syncing, cutting, renaming and removing files, and syncing a directory — goes
//! through [`FileSystem`], so that a test can put a file system under it that remembers what
//! was synced and, at a simulated power cut, loses what was not (`fault.rs`, in the manner of
//! RocksDB's `FaultInjectionTestFS` and SQLite's crash-test VFS). SIGKILL leaves written data
//! in the page cache, so only this can show a missing or misplaced fsync.
//!
//! What stays outside the seam: locking (a power cut releases every lock) and reading
//! metadata (file types, existence), which a fault-injecting file system answers from the same
//! real directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

/// The file operations durable storage makes.
pub(crate) trait FileSystem: Send + Sync + std::fmt::Debug {
    /// A file's whole content.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// A new, empty file; fails if anything (a file, a link) is at `path` already.
    fn create_new(&self, path: &Path) -> io::Result<Arc<dyn FsFile>>;
    /// An existing file, opened to append.
    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn FsFile>>;
    /// An existing file, opened to write in place (to cut it).
    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn FsFile>>;
    /// Renames `from` over `to` (atomic within one file system).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Syncs a directory's entries: what was created, renamed or removed in it survives a
    /// power cut once this returns.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open file. Methods take `&self` (as `&File` does) so that one handle is shared by the
/// journal's writers.
pub(crate) trait FsFile: Send + Sync + std::fmt::Debug {
    /// Writes all of `bytes` at the end (append) or at the cursor.
    fn write_all(&self, bytes: &[u8]) -> io::Result<()>;
    /// Makes what was written survive a power cut (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// Cuts (or extends) the file to `length` bytes.
    fn set_len(&self, length: u64) -> io::Result<()>;
    /// The file's length now.
    fn len(&self) -> io::Result<u64>;
}

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RealFs;

impl RealFs {
    /// The shared handle every caller that does not test storage uses.
    pub(crate) fn shared() -> Arc<dyn FileSystem> {
        Arc::new(RealFs)
    }
}

impl FileSystem for RealFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn create_new(&self, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(Arc::new(RealFile(file)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Arc::new(RealFile(file)))
    }

    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        let file = OpenOptions::new().write(true).open(path)?;
        Ok(Arc::new(RealFile(file)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            File::open(dir)?.sync_all()
        }
        // Other platforms cannot open a directory; a rename is as durable as they allow.
        #[cfg(not(unix))]
        {
            let _ = dir;
            Ok(())
        }
    }
}

#[derive(Debug)]
struct RealFile(File);

impl FsFile for RealFile {
    fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        (&self.0).write_all(bytes)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn set_len(&self, length: u64) -> io::Result<()> {
        self.0.set_len(length)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}
