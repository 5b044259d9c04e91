//! The journal: an append-only file of records after the format header, and the commit
//! protocol that decides when an appended record is on disk.
//!
//! A frame is `length: u32 LE` (the top bit marks a record inside a batch), `crc: u32 LE`
//! (CRC-32 of the length field and the payload), then the payload. Reading stops at the first
//! frame that is short, longer than the file or fails its checksum. If no intact frame starts
//! anywhere after it, that is the torn tail of a crash, and it is cut, together with any batch
//! it leaves unfinished. If intact frames follow it, a write in the middle was damaged after it
//! was acknowledged: that is corruption, reported as [`Damage`], and nothing is cut unless the
//! caller asks for a point-in-time recovery.
//!
//! Appends go to a buffer. Whoever needs records on disk first becomes the *leader*: it takes
//! the buffer, writes and syncs it outside the lock, and wakes everyone whose records it
//! covered; writers arriving meanwhile wait for the next leader. So concurrent writers share
//! one fsync (group commit), with no timer: a wait lasts at most two syncs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::storage::format::{self, corrupt, Kind};
use crate::storage::fs::FsFile;
use crate::storage::record::Record;

/// The largest record payload: a write past it is refused before it is applied.
pub(crate) const MAX_RECORD: usize = 64 << 20;
/// Marks a record that belongs to a batch.
const IN_BATCH: u32 = 1 << 31;
/// Length field and checksum.
const FRAME_HEADER: usize = 8;
/// Buffered bytes past which an append writes them out (without syncing).
const BUFFER_LIMIT: usize = 1 << 20;

/// A new journal file's bytes: the format header, whose kind-specific field is the
/// generation (the number of the snapshot this journal continues), then a [`Record::Synced`]
/// marker saying the header is on disk. Written and synced together, that first marker tells
/// a journal written since markers exist — where a damaged frame is corruption only when a
/// later marker says it had been synced — from an older one, read the safe way.
pub(crate) fn header(generation: u32) -> Vec<u8> {
    let mut out = format::header(Kind::Journal, generation).to_vec();
    let marker = frame(
        &Record::Synced {
            upto: format::HEADER_LEN as u64,
        },
        false,
    )
    .expect("a marker is a few bytes");
    out.extend_from_slice(&marker);
    out
}

/// One encoded frame, ready to append.
pub(crate) fn frame(record: &Record, in_batch: bool) -> Result<Vec<u8>> {
    let payload = record.encode();
    if payload.len() > MAX_RECORD {
        return Err(Error::InvalidValue(format!(
            "the write takes {} bytes in the journal; at most {MAX_RECORD} are allowed",
            payload.len()
        )));
    }
    let length = payload.len() as u32 | if in_batch { IN_BATCH } else { 0 };
    let mut out = Vec::with_capacity(FRAME_HEADER + payload.len());
    out.extend_from_slice(&length.to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&length.to_le_bytes());
    crc.update(&payload);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// What reading a journal found.
pub(crate) struct Scan {
    /// Where the intact records end: a torn tail is cut here.
    pub(crate) end: usize,
    /// Records applied.
    pub(crate) records: u64,
    /// A damaged frame that had been acknowledged (intact frames follow it, and a later
    /// marker says it was on disk): corruption, not a torn tail.
    pub(crate) damage: Option<Damage>,
}

/// A damaged frame in the middle of a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Damage {
    /// Where the damaged frame starts.
    pub(crate) at: usize,
    /// Where the first intact frame after it starts.
    pub(crate) resumes_at: usize,
    /// How many intact frames follow one another from `resumes_at`.
    pub(crate) frames_after: u64,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "journal offset {}: a damaged frame, followed by {} intact frames from offset {}",
            self.at, self.frames_after, self.resumes_at
        )
    }
}

/// Reads a journal's records in order and hands each complete unit (a standalone record, or
/// a whole batch) to `apply`, record by record with the offset each was read at (a batch's
/// records all at the batch's start). Returns where the intact part ends, and whether what
/// stops it is damage rather than a torn tail.
pub(crate) fn scan(
    bytes: &[u8],
    mut apply: impl FnMut(Record, usize) -> Result<()>,
) -> Result<Scan> {
    format::read_header(Kind::Journal, bytes)?;
    let mut at = format::HEADER_LEN;
    let mut end = at;
    let mut records = 0u64;
    // Whether the journal starts with the marker every new journal is created with.
    let marked = matches!(
        read_frame(bytes, format::HEADER_LEN),
        Ok(Some((Record::Synced { .. }, false, _)))
    );
    // The open batch: where it starts, and its records so far.
    let mut batch: Option<(usize, Vec<Record>)> = None;
    while let Some((record, in_batch, next)) = read_frame(bytes, at)? {
        if let Record::Synced { .. } = record {
            if batch.is_none() {
                end = next;
            }
            at = next;
            continue;
        }
        match (in_batch, &mut batch) {
            (false, Some(_)) => {
                return Err(corrupt(format!(
                    "journal offset {at}: a record outside the batch that is still open"
                )))
            }
            (false, None) => {
                apply(record, at)?;
                records += 1;
                end = next;
            }
            (true, open) => {
                let (_, pending) = open.get_or_insert_with(|| (at, Vec::new()));
                if let Record::EndBatch = record {
                    let (start, pending) = batch.take().unwrap_or((at, Vec::new()));
                    for r in pending {
                        apply(r, start)?;
                        records += 1;
                    }
                    end = next;
                } else {
                    pending.push(record);
                }
            }
        }
        at = next;
    }
    Ok(Scan {
        end,
        records,
        damage: damage_after(bytes, at, marked),
    })
}

/// Whether the frame at `stop`, where reading stopped, is damage rather than a torn tail.
///
/// A crash tears only what was not yet synced: if no intact frame starts anywhere after
/// `stop`, or the intact frames after it were written while `stop` was not yet on disk (no
/// [`Record::Synced`] marker after it reaches past `stop`), the tail is torn and may be cut.
/// Otherwise a frame that was on disk has been damaged since. `new_style` says the journal
/// starts with the marker it was created with (synced with its header); one without was
/// written before markers existed, and there any intact frame after the stop counts as
/// damage, the safe reading.
///
/// The search looks at every byte offset, but a random position passes the length check only
/// about once in two thousand, so the cost is close to one checksum per frame searched past.
pub(crate) fn damage_after(bytes: &[u8], stop: usize, new_style: bool) -> Option<Damage> {
    let resumes_at = (stop + 1..bytes.len()).find(|&p| intact_frame(bytes, p).is_some())?;
    let mut frames_after = 0;
    let mut synced_past_stop = false;
    let mut at = resumes_at;
    while let Some(next) = intact_frame(bytes, at) {
        frames_after += 1;
        if let Ok(Record::Synced { upto }) = postcard::from_bytes(&bytes[at + FRAME_HEADER..next]) {
            synced_past_stop |= upto > stop as u64;
        }
        at = next;
    }
    let legacy = !new_style;
    (legacy || synced_past_stop).then_some(Damage {
        at: stop,
        resumes_at,
        frames_after,
    })
}

/// Where the frame after the one at `at` starts, if the frame at `at` is whole and its
/// checksum holds.
fn intact_frame(bytes: &[u8], at: usize) -> Option<usize> {
    let head = bytes.get(at..at.checked_add(FRAME_HEADER)?)?;
    let length = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let len = (length & !IN_BATCH) as usize;
    if len == 0 || len > MAX_RECORD {
        return None;
    }
    let end = at + FRAME_HEADER + len;
    let payload = bytes.get(at + FRAME_HEADER..end)?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&head[..4]);
    hasher.update(payload);
    (hasher.finalize() == crc).then_some(end)
}

/// The frame at `at`: its record, whether it is in a batch, and where the next starts; `None`
/// where the intact part ends (the end of the file, or a torn or damaged frame).
fn read_frame(bytes: &[u8], at: usize) -> Result<Option<(Record, bool, usize)>> {
    let Some(next) = intact_frame(bytes, at) else {
        return Ok(None);
    };
    let length = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let payload = &bytes[at + FRAME_HEADER..next];
    // The checksum holds, so the bytes are what was written: failing to decode them is not a
    // torn write but a record this code does not know, or corruption the checksum missed.
    let record: Record = postcard::from_bytes(payload)
        .map_err(|e| corrupt(format!("journal offset {at}: unreadable record: {e}")))?;
    Ok(Some((record, length & IN_BATCH != 0, next)))
}

/// The open journal file, shared by the audience and the [`Commit`]s it hands out.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signalled when a leader finishes.
    synced: Condvar,
}

#[derive(Debug)]
struct State {
    file: Arc<dyn FsFile>,
    path: PathBuf,
    /// Appended, not yet written to the file.
    buffer: Vec<u8>,
    /// Records appended so far (the sequence number of the last one).
    appended: u64,
    /// Records on disk.
    synced: u64,
    /// Records written to the file (on disk or not).
    written_records: u64,
    /// Whether a leader is writing and syncing now.
    syncing: bool,
    /// Bytes in the file (written to it, synced or not).
    written: u64,
    /// Bytes of the file known to be on disk.
    on_disk: u64,
    /// The `upto` of the last [`Record::Synced`] marker written.
    marked: u64,
    /// Set by the first write or sync failure, or by closing: every later write is refused.
    stopped: Option<Stopped>,
}

/// Why the journal takes no more writes.
#[derive(Debug, Clone)]
enum Stopped {
    /// Writing or syncing failed (what the operating system said): memory may be ahead of disk.
    Failed(String),
    /// The audience was closed.
    Closed,
}

impl Shared {
    /// The journal at `path`, opened for appending, whose `length` bytes are all on disk.
    pub(crate) fn new(file: Arc<dyn FsFile>, path: PathBuf, length: u64) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State {
                file,
                path,
                buffer: Vec::new(),
                appended: 0,
                synced: 0,
                written_records: 0,
                syncing: false,
                written: length,
                on_disk: length,
                marked: 0,
                stopped: None,
            }),
            synced: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses writes once the journal has failed: what is in memory is then ahead of disk.
    pub(crate) fn check(&self) -> Result<()> {
        let state = self.lock();
        match &state.stopped {
            Some(why) => Err(refused(&state.path, why)),
            None => Ok(()),
        }
    }

    /// Appends frames; returns the sequence number that covers them.
    pub(crate) fn append(&self, frames: &[u8]) -> Result<u64> {
        let mut state = self.lock();
        if let Some(why) = &state.stopped {
            return Err(refused(&state.path, why));
        }
        state.buffer.extend_from_slice(frames);
        state.appended += 1;
        if state.buffer.len() >= BUFFER_LIMIT && !state.syncing {
            state.write_out()?;
        }
        Ok(state.appended)
    }

    /// Waits until `done` holds (`None`), or until no leader is writing and it still does not
    /// (the state, for the caller to act on); refused once the journal has stopped.
    fn turn(&self, done: impl Fn(&State) -> bool) -> Result<Option<MutexGuard<'_, State>>> {
        let mut state = self.lock();
        loop {
            if done(&state) {
                return Ok(None);
            }
            if let Some(why) = &state.stopped {
                return Err(refused(&state.path, why));
            }
            if !state.syncing {
                return Ok(Some(state));
            }
            state = self.synced.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Returns once every record up to `seq` is written to the file (not necessarily synced):
    /// what a write that must not be applied unless the file took it waits for. A failure
    /// stops the journal, like any write failure.
    pub(crate) fn write_to(&self, seq: u64) -> Result<()> {
        // A leader running is writing everything appended so far, this record included.
        let Some(mut state) = self.turn(|s| s.written_records >= seq)? else {
            return Ok(());
        };
        // A write to the page cache is short: done under the lock, so that nothing is
        // appended between taking the buffer and writing it.
        let written = state.write_out();
        if written.is_err() {
            self.synced.notify_all();
        }
        written
    }

    /// The sequence number of the last append.
    pub(crate) fn appended(&self) -> u64 {
        self.lock().appended
    }

    /// Returns once every record up to `seq` is written and synced.
    pub(crate) fn sync_to(&self, seq: u64) -> Result<()> {
        while let Some(mut state) = self.turn(|s| s.synced >= seq)? {
            // Lead: write and sync everything appended so far, outside the lock.
            state.syncing = true;
            let target = state.appended;
            let buffer = state.take_out();
            let length = state.written;
            let file = Arc::clone(&state.file);
            drop(state);
            let done = file.write_all(&buffer).and_then(|()| file.sync_data());
            let mut state = self.lock();
            state.syncing = false;
            match done {
                Ok(()) => {
                    state.synced = state.synced.max(target);
                    state.written_records = state.written_records.max(target);
                    state.on_disk = state.on_disk.max(length);
                }
                Err(e) => state.stopped = Some(Stopped::Failed(e.to_string())),
            }
            self.synced.notify_all();
        }
        Ok(())
    }

    /// Syncs everything appended.
    pub(crate) fn flush(&self) -> Result<()> {
        let seq = self.appended();
        self.sync_to(seq)
    }

    /// Flushes, then refuses every later write.
    pub(crate) fn close(&self) -> Result<()> {
        self.flush()?;
        self.lock().stopped.get_or_insert(Stopped::Closed);
        Ok(())
    }

    /// Swaps in a new journal file once everything appended to the old one is on disk.
    /// Nothing may be appended meanwhile (the caller holds the audience, so no write runs).
    /// `length` is the new file's, all of it on disk.
    pub(crate) fn replace_file(
        &self,
        file: Arc<dyn FsFile>,
        path: PathBuf,
        length: u64,
    ) -> Result<()> {
        self.flush()?;
        let mut state = self.lock();
        while state.syncing {
            state = self.synced.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.file = file;
        state.path = path;
        state.written = length;
        state.on_disk = length;
        // A new journal starts with its marker (see [`header`]).
        state.marked = format::HEADER_LEN as u64;
        Ok(())
    }
}

impl State {
    /// Writes out everything appended (without syncing), under the lock; a failure stops the
    /// journal.
    fn write_out(&mut self) -> Result<()> {
        let target = self.appended;
        let buffer = self.take_out();
        if let Err(e) = self.file.write_all(&buffer) {
            let why = Stopped::Failed(e.to_string());
            let error = refused(&self.path, &why);
            self.stopped = Some(why);
            return Err(error);
        }
        self.written_records = target;
        Ok(())
    }

    /// The bytes to write out now: the buffer, after a [`Record::Synced`] marker when more of
    /// the file has reached the disk since the last one. Counts them as written.
    fn take_out(&mut self) -> Vec<u8> {
        let buffer = std::mem::take(&mut self.buffer);
        let out = if self.on_disk > self.marked {
            let marker = frame(&Record::Synced { upto: self.on_disk }, false)
                .expect("a marker is a few bytes");
            self.marked = self.on_disk;
            let mut out = marker;
            out.extend_from_slice(&buffer);
            out
        } else {
            buffer
        };
        self.written += out.len() as u64;
        out
    }
}

fn refused(path: &Path, why: &Stopped) -> Error {
    let message = match why {
        Stopped::Failed(why) => format!(
            "the journal failed earlier ({why}); writes are refused until the directory is \
             opened again"
        ),
        Stopped::Closed => "the audience was closed; open the directory again to write".to_owned(),
    };
    Error::Io {
        path: path.display().to_string(),
        message,
    }
}

/// A promise that some writes are on disk, from [`Audience::batch`](crate::Audience::batch):
/// [`Commit::wait`] returns once they are (under the audience's sync policy). Waiting needs no
/// access to the audience, so a caller that shares the audience behind a lock waits after
/// releasing it, and concurrent writers share one fsync.
#[derive(Debug, Clone)]
#[must_use = "a write is not on disk until its commit has been waited for"]
pub struct Commit {
    pub(crate) target: Option<(Arc<Shared>, u64)>,
}

impl Commit {
    /// A commit with nothing to wait for (an in-memory audience, or `Sync::Never`).
    pub(crate) fn done() -> Commit {
        Commit { target: None }
    }

    /// Waits until the writes are on disk. [`Error::Io`] if writing or syncing the journal
    /// failed (the writes are then in memory only, and the audience refuses further writes).
    pub fn wait(self) -> Result<()> {
        match self.target {
            Some((shared, seq)) => shared.sync_to(seq),
            None => Ok(()),
        }
    }
}
