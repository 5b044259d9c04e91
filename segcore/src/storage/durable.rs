//! Durable mode: an audience kept in a directory as a snapshot plus a journal of the writes
//! since. What it decides: the directory's layout, how opening recovers (replay, cut a torn
//! tail, discard a journal a finished compaction made stale), how compaction swaps files so
//! that a crash at any step leaves a directory that opens to the same audience, and when a
//! write counts as on disk ([`Sync`]).
//!
//! Layout: `snapshot` (an image with a generation section), `journal` (records since that
//! snapshot, same generation in its header), `LOCK`. Temporary files are
//! `.<name>.tmp-<pid>-<n>`; a point-in-time recovery leaves `journal.damaged-<gen>-<offset>`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::storage::atomic::write_atomically_with;
use crate::storage::fs::FileSystem;
use crate::storage::journal::{self, Commit, Shared};
use crate::storage::lock::DirectoryLock;
use crate::storage::record::Record;
use crate::Audience;

pub(super) const SNAPSHOT: &str = "snapshot";
pub(super) const JOURNAL: &str = "journal";

/// When a write to a durable audience counts as done.
///
/// | policy | a write returns once | survives a process crash | survives a power loss |
/// | --- | --- | --- | --- |
/// | `Always` | its record is written and fsynced, alone | yes | yes |
/// | `Group` (default) | an fsync covering it finished (shared with concurrent writers) | yes | yes |
/// | `Never` | its record is buffered (written out by 1 MiB) | after [`Audience::flush`] | after [`Audience::flush`] |
///
/// `Always` and `Group` differ for writers sharing an audience: under `Group`, a
/// [`Audience::batch`] returns a [`Commit`] that is waited for *after* the caller releases the
/// audience, so writers that arrive during one fsync share the next; under `Always`, every
/// write or batch syncs before it returns, alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sync {
    /// Fsync every write (or batch) before it returns.
    Always,
    /// Group commit: wait for an fsync shared with the writes around it.
    #[default]
    Group,
    /// Do not wait: for bulk loads that end with [`Audience::flush`].
    Never,
}

/// What opening does with a journal that is damaged before its end: a frame whose checksum
/// fails (or that cannot be read) with intact, acknowledged frames after it. That is never a
/// crash (a crash tears only the last, unacknowledged write) but a disk, a copy or a hand
/// that changed the file; the same for a snapshot whose journal is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recover {
    /// Refuse to open: [`Error::Corrupt`] names the damaged offset and the intact frames
    /// after it, and the directory is left exactly as it was.
    #[default]
    Refuse,
    /// Open the audience as it was just before the damage: the writes before it are
    /// replayed, and the journal from the damaged frame on is moved aside, whole, into
    /// `journal.damaged-<generation>-<offset>` in the directory (reported in
    /// [`OpenReport::set_aside`]) before the journal is cut. A missing journal opens the
    /// snapshot alone, with a new empty journal.
    PointInTime,
}

/// How to open a durable directory: the sync policy and what to do with damage.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("segcore-doc-options-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// use segcore::{OpenOptions, Recover, Sync};
/// let audience = OpenOptions::new()
///     .sync(Sync::Always)
///     .recover(Recover::PointInTime)
///     .open(&dir)?;
/// assert_eq!(audience.sync_policy(), Some(Sync::Always));
/// # drop(audience);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), segcore::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenOptions {
    pub(super) sync: Sync,
    pub(super) recover: Recover,
}

impl OpenOptions {
    /// Group commit, and refuse a damaged journal.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// When a write counts as done.
    pub fn sync(mut self, sync: Sync) -> OpenOptions {
        self.sync = sync;
        self
    }

    /// What to do with a journal damaged before its end.
    pub fn recover(mut self, recover: Recover) -> OpenOptions {
        self.recover = recover;
        self
    }
}

/// What opening a durable directory found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct OpenReport {
    /// The snapshot's generation (how many compactions the directory has seen).
    pub generation: u32,
    /// Profiles in the snapshot.
    pub snapshot_profiles: usize,
    /// Journal records replayed over the snapshot.
    pub records_replayed: u64,
    /// Bytes cut from the journal's end: a record (or a batch) torn by a crash, or, under
    /// [`Recover::PointInTime`], everything from a damaged frame on.
    pub bytes_cut: u64,
    /// Whether a journal already folded into the snapshot (a compaction stopped between its
    /// two renames) was replaced by an empty one.
    pub stale_journal_replaced: bool,
    /// Under [`Recover::PointInTime`]: what was wrong (the damaged offset and the intact
    /// frames after it, or the missing journal).
    pub damage: Option<String>,
    /// Under [`Recover::PointInTime`]: the file that keeps the journal's bytes from the
    /// damaged frame on, as they were.
    pub set_aside: Option<PathBuf>,
}

impl std::fmt::Display for OpenReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "generation {}: {} profiles in the snapshot, {} journal records replayed, {} bytes cut",
            self.generation, self.snapshot_profiles, self.records_replayed, self.bytes_cut
        )?;
        if self.stale_journal_replaced {
            write!(f, ", a stale journal replaced")?;
        }
        if let Some(damage) = &self.damage {
            write!(f, "; recovered to the point before: {damage}")?;
        }
        if let Some(path) = &self.set_aside {
            write!(f, " (the rest kept in {})", path.display())?;
        }
        Ok(())
    }
}

/// The durable side of an audience.
#[derive(Debug)]
pub(crate) struct Durable {
    pub(super) dir: PathBuf,
    pub(crate) sync: Sync,
    pub(crate) journal: Arc<Shared>,
    pub(super) generation: AtomicU32,
    /// Nesting of [`Audience::batch`] calls: records are marked as in a batch, and not synced
    /// one by one.
    pub(crate) batch_depth: usize,
    /// Inside [`Audience::deferred`]: each record is written to the file before it is
    /// applied, and its fsync left to the caller's [`Commit`].
    pub(super) deferred: bool,
    pub(super) report: OpenReport,
    /// Held by a compaction from start to end: compactions run one at a time.
    pub(super) compacting: Mutex<()>,
    /// What files are written through (the operating system's, or a test's).
    pub(super) fs: Arc<dyn FileSystem>,
    /// Held from open to close.
    pub(super) lock: Option<DirectoryLock>,
}

/// An audience's durable side, if any. A clone of an audience is an in-memory copy: two
/// writers must never share a journal.
#[derive(Debug, Default)]
pub(crate) struct Attached(pub(crate) Option<Box<Durable>>);

impl Clone for Attached {
    fn clone(&self) -> Self {
        Attached(None)
    }
}

impl Drop for Durable {
    fn drop(&mut self) {
        // Best effort: `close` is the call that reports a failure.
        let _ = self.journal.flush();
    }
}

impl Durable {
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn report(&self) -> &OpenReport {
        &self.report
    }

    pub(crate) fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    /// Flushes, refuses later writes, and releases the directory.
    pub(crate) fn close(&mut self) -> Result<()> {
        let flushed = self.journal.close();
        self.lock = None;
        flushed
    }
}

/// Writes a new snapshot of `audience` and starts an empty journal after it. Each file is
/// replaced atomically; a crash between the two leaves a journal older than the snapshot,
/// which opening recognises by its generation and replaces. Compactions of one audience run
/// one at a time: a second caller waits for the first, then compacts again.
pub(crate) fn compact(audience: &Audience, durable: &Durable) -> Result<()> {
    let _one_at_a_time = durable.compacting.lock().unwrap_or_else(|e| e.into_inner());
    durable.journal.check()?;
    durable.journal.flush()?;
    let next = durable.generation() + 1;
    let snapshot_path = durable.dir.join(SNAPSHOT);
    let journal_path = durable.dir.join(JOURNAL);
    let fs = &*durable.fs;
    write_atomically_with(
        fs,
        &snapshot_path,
        &audience.image_bytes(Some(u64::from(next))),
    )?;
    let fresh = journal::header(next);
    write_atomically_with(fs, &journal_path, &fresh)?;
    let file = fs
        .open_append(&journal_path)
        .map_err(|e| Error::io(&journal_path, &e))?;
    durable
        .journal
        .replace_file(file, journal_path, fresh.len() as u64)?;
    durable.generation.store(next, Ordering::Release);
    Ok(())
}

impl Audience {
    /// Journals a write that has passed every check, before it is applied: its record is
    /// appended and, outside a batch, written and synced as the policy says. If that fails
    /// the write is refused with [`Error::Io`] and must not be applied, so memory never holds
    /// a write that the directory refused; the journal then refuses every later write until
    /// the directory is opened again. Nothing to do for an in-memory audience.
    ///
    /// The write's checks must all come before this call: a journaled write that its apply
    /// then refused would be refused again on replay, which opening reports as corruption.
    pub(crate) fn journal(&self, record: impl FnOnce() -> Record) -> Result<()> {
        let Some(d) = &self.durable.0 else {
            return Ok(());
        };
        d.journal.check()?;
        let frame = journal::frame(&record(), d.batch_depth > 0)?;
        let seq = d.journal.append(&frame)?;
        if d.batch_depth > 0 {
            // Buffered: written and synced when the batch ends.
        } else if d.deferred {
            d.journal.write_to(seq)?;
        } else if d.sync != Sync::Never {
            d.journal.sync_to(seq)?;
        }
        Ok(())
    }

    /// Runs `f`'s writes as one batch: on disk together or not at all after a crash, and
    /// synced once. Returns `f`'s result and a [`Commit`] to wait on: under [`Sync::Group`]
    /// the caller waits after releasing the audience, so writers share fsyncs; under
    /// [`Sync::Always`] the batch is synced before this returns; under [`Sync::Never`] there is
    /// nothing to wait for. On an in-memory audience it just runs `f`.
    ///
    /// If `f` fails, the writes it made before failing stay (each write is all-or-nothing, a
    /// batch is not a transaction); they are synced, and the error returned.
    ///
    /// A batch's records are buffered and written when it ends, so its writes are applied
    /// before the file has them: if writing or syncing them then fails, the batch is in
    /// memory but not on disk, the call (or [`Commit::wait`]) says [`Error::Io`], and the
    /// audience refuses every write until the directory is opened again (which shows the
    /// disk's state: the batch whole or not at all). [`Audience::deferred`] writes a single
    /// write's record before applying it.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("segcore-doc-batch-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut audience = segcore::Audience::open(&dir)?;
    /// let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let ((), commit) = audience.batch(|a| {
    ///     for i in 0..1000 {
    ///         a.track(&format!("p{i}"), segcore::Event::new("page_view", now))?;
    ///     }
    ///     Ok(())
    /// })?;
    /// commit.wait()?; // one fsync for the thousand events
    /// audience.close()?;
    /// assert_eq!(segcore::Audience::open(&dir)?.len(), 1000);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn batch<R>(&mut self, f: impl FnOnce(&mut Audience) -> Result<R>) -> Result<(R, Commit)> {
        self.batch_with(f)
    }

    /// Runs `f` — one call's write — so that its record reaches the journal file before it
    /// is applied, and returns a [`Commit`] for the fsync, to wait on after releasing the
    /// audience (as the Python and Node bindings do with every single write, so writers in
    /// other threads share fsyncs). A write the file system refuses (a full disk, a quota, a
    /// file-size limit) raises [`Error::Io`] and is not applied. Under [`Sync::Always`] the
    /// fsync is done before this returns; under [`Sync::Never`] there is nothing to wait for.
    ///
    /// Each write `f` makes is a record of its own, written as it is made: a call whose
    /// several writes must survive a crash together uses [`Audience::batch`]. What memory can
    /// still hold that the disk does not: a write whose fsync failed ([`Commit::wait`] says
    /// [`Error::Io`]); the journal then refuses every write until the directory is opened
    /// again, which shows what reached the disk.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("segcore-doc-deferred-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut audience = segcore::Audience::open(&dir)?;
    /// let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let ((), commit) = audience.deferred(|a| a.track("ada", segcore::Event::new("view", now)))?;
    /// commit.wait()?; // on disk now; wait after releasing the audience to share the fsync
    /// # drop(audience);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn deferred<R>(
        &mut self,
        f: impl FnOnce(&mut Audience) -> Result<R>,
    ) -> Result<(R, Commit)> {
        let Some(d) = self.durable.0.as_mut() else {
            return f(self).map(|r| (r, Commit::done()));
        };
        if d.batch_depth > 0 || d.deferred {
            // Inside a batch, or already deferring: the outer call decides when to sync.
            return f(self).map(|r| (r, Commit::done()));
        }
        d.deferred = true;
        let before = d.journal.appended();
        let out = f(self);
        let Some(d) = self.durable.0.as_mut() else {
            return out.map(|r| (r, Commit::done()));
        };
        d.deferred = false;
        let r = out?;
        let mut commit = Commit::done();
        let last = d.journal.appended();
        if last > before {
            match d.sync {
                Sync::Always => d.journal.sync_to(last)?,
                Sync::Group => commit.target = Some((Arc::clone(&d.journal), last)),
                Sync::Never => {}
            }
        }
        Ok((r, commit))
    }

    fn batch_with<R>(&mut self, f: impl FnOnce(&mut Audience) -> Result<R>) -> Result<(R, Commit)> {
        let Some(d) = self.durable.0.as_mut() else {
            return f(self).map(|r| (r, Commit::done()));
        };
        d.batch_depth += 1;
        let before = d.journal.appended();
        let out = f(self);
        let Some(d) = self.durable.0.as_mut() else {
            return out.map(|r| (r, Commit::done()));
        };
        d.batch_depth -= 1;
        if d.batch_depth > 0 {
            return out.map(|r| (r, Commit::done()));
        }
        let mut commit = Commit::done();
        if d.journal.appended() > before {
            let seq = d
                .journal
                .append(&journal::frame(&Record::EndBatch, true)?)?;
            match d.sync {
                Sync::Always => d.journal.sync_to(seq)?,
                Sync::Group => commit.target = Some((Arc::clone(&d.journal), seq)),
                Sync::Never => {}
            }
        }
        match out {
            Ok(r) => Ok((r, commit)),
            Err(e) => {
                commit.wait()?;
                Err(e)
            }
        }
    }
}
