//! Durable mode: an audience kept in a directory as a snapshot plus a journal of the writes
//! since. What it decides: the directory's layout, how opening recovers (replay, cut a torn
//! tail, discard a journal a finished compaction made stale), how compaction swaps files so
//! that a crash at any step leaves a directory that opens to the same audience, and when a
//! write counts as on disk ([`Sync`]).
//!
//! Layout: `snapshot` (an image with a generation section), `journal` (records since that
//! snapshot, same generation in its header), `LOCK`. Temporary files are `.<name>.tmp-<pid>`.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::storage::atomic::write_atomically;
use crate::storage::format::{self, corrupt, Kind};
use crate::storage::image::read_image;
use crate::storage::journal::{self, Commit, Shared};
use crate::storage::lock::DirectoryLock;
use crate::storage::record::Record;
use crate::Audience;

const SNAPSHOT: &str = "snapshot";
const JOURNAL: &str = "journal";

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
    /// Bytes cut from the journal's end: a record (or a batch) torn by a crash.
    pub bytes_cut: u64,
    /// Whether a journal already folded into the snapshot (a compaction stopped between its
    /// two renames) was replaced by an empty one.
    pub stale_journal_replaced: bool,
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
        Ok(())
    }
}

/// The durable side of an audience.
#[derive(Debug)]
pub(crate) struct Durable {
    dir: PathBuf,
    pub(crate) sync: Sync,
    pub(crate) journal: Arc<Shared>,
    generation: AtomicU32,
    /// Nesting of [`Audience::batch`] calls: records are marked as in a batch, and not synced
    /// one by one.
    pub(crate) batch_depth: usize,
    report: OpenReport,
    /// Held from open to close.
    lock: Option<DirectoryLock>,
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

/// Opens (or creates) a durable directory: lock, recover, attach.
pub(crate) fn open(dir: &Path, sync: Sync) -> Result<Audience> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    let lock = DirectoryLock::acquire(dir)?;
    remove_temporaries(dir);
    let snapshot_path = dir.join(SNAPSHOT);
    let journal_path = dir.join(JOURNAL);
    if !snapshot_path.exists() {
        if journal_path.exists() {
            return Err(corrupt(format!(
                "{} holds a journal but no snapshot",
                dir.display()
            )));
        }
        write_atomically(&snapshot_path, &Audience::new().image_bytes(Some(0)))?;
    }
    let bytes = fs::read(&snapshot_path).map_err(|e| Error::io(&snapshot_path, &e))?;
    let (mut audience, generation) = read_image(&bytes)?;
    drop(bytes);
    let generation = generation
        .and_then(|g| u32::try_from(g).ok())
        .ok_or_else(|| corrupt("the snapshot has no valid generation section"))?;
    let mut report = OpenReport {
        generation,
        snapshot_profiles: audience.len(),
        ..OpenReport::default()
    };

    let mut fresh = true;
    if journal_path.exists() {
        let bytes = fs::read(&journal_path).map_err(|e| Error::io(&journal_path, &e))?;
        let (journal_generation, _) = format::read_header(Kind::Journal, &bytes)?;
        if journal_generation > generation {
            return Err(corrupt(format!(
                "the journal continues generation {journal_generation}, but the snapshot is \
                 generation {generation}"
            )));
        }
        if journal_generation == generation {
            let scan = journal::scan(&bytes, |record| record.replay(&mut audience))?;
            report.records_replayed = scan.records;
            report.bytes_cut = (bytes.len() - scan.end) as u64;
            if report.bytes_cut > 0 {
                cut(&journal_path, scan.end as u64)?;
            }
            fresh = false;
        } else {
            report.stale_journal_replaced = true;
        }
    }
    if fresh {
        write_atomically(&journal_path, &journal::header(generation))?;
    }
    let file = open_for_append(&journal_path)?;
    audience.durable.0 = Some(Box::new(Durable {
        dir: dir.to_path_buf(),
        sync,
        journal: Shared::new(file, journal_path),
        generation: AtomicU32::new(generation),
        batch_depth: 0,
        report,
        lock: Some(lock),
    }));
    Ok(audience)
}

/// Writes a new snapshot of `audience` and starts an empty journal after it. Each file is
/// replaced atomically; a crash between the two leaves a journal older than the snapshot,
/// which opening recognises by its generation and replaces.
pub(crate) fn compact(audience: &Audience, durable: &Durable) -> Result<()> {
    durable.journal.check()?;
    durable.journal.flush()?;
    let next = durable.generation() + 1;
    let snapshot_path = durable.dir.join(SNAPSHOT);
    let journal_path = durable.dir.join(JOURNAL);
    write_atomically(&snapshot_path, &audience.image_bytes(Some(u64::from(next))))?;
    write_atomically(&journal_path, &journal::header(next))?;
    durable
        .journal
        .replace_file(open_for_append(&journal_path)?, journal_path)?;
    durable.generation.store(next, Ordering::Release);
    Ok(())
}

fn open_for_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, &e))
}

/// Cuts a torn tail off the journal, durably.
fn cut(path: &Path, length: u64) -> Result<()> {
    let io = |e: std::io::Error| Error::io(path, &e);
    let file = OpenOptions::new().write(true).open(path).map_err(io)?;
    file.set_len(length).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Removes what an interrupted atomic write left behind (the lock is held, so nobody else is
/// writing them).
fn remove_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".tmp-") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

impl Audience {
    /// Before a write is applied: its journal frame when the audience is durable (checked
    /// for size, and refused if the journal has failed), so a refused write changes nothing.
    pub(crate) fn journal_frame(&self, record: impl FnOnce() -> Record) -> Result<Option<Vec<u8>>> {
        match &self.durable.0 {
            None => Ok(None),
            Some(d) => {
                d.journal.check()?;
                journal::frame(&record(), d.batch_depth > 0).map(Some)
            }
        }
    }

    /// After a write is applied: append its frame and, outside a batch, wait as the sync
    /// policy says.
    pub(crate) fn journal_commit(&self, frame: Option<Vec<u8>>) -> Result<()> {
        let (Some(frame), Some(d)) = (frame, &self.durable.0) else {
            return Ok(());
        };
        let seq = d.journal.append(&frame)?;
        if d.batch_depth == 0 && d.sync != Sync::Never {
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
