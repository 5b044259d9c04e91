//! A file system for tests that can cut the power (in the manner of RocksDB's
//! `FaultInjectionTestFS` and SQLite's crash-test VFS). It works on a real directory and
//! remembers, for every file, its content as of its last sync, and for every directory, its
//! entries as of its last sync. After a set number of operations the power goes: that
//! operation (a write tears part way) and every later one fail. [`FaultFs::restore`] then
//! makes the directory what a machine would find on restart: only names whose directory was
//! synced since they appeared (or were renamed there), each file holding what was synced, and
//! of what was written after, a random prefix — or all of it with a stretch zeroed, as a disk
//! that persisted later pages and not earlier ones would leave it.
//!
//! A plant makes it skip file or directory syncs (pretending they happened), which is what a
//! storage layer that forgot one would do: the power-cut harness must then lose acknowledged
//! writes, and say so.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::fs::{FileSystem, FsFile};

/// A bug to plant: a sync that does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plant {
    /// Every sync happens.
    None,
    /// File syncs do nothing (a missing fsync of data).
    SkipFileSync,
    /// Directory syncs do nothing (a missing fsync of a rename or a new file).
    SkipDirSync,
}

#[derive(Debug)]
struct State {
    /// The identity of the file at each path now.
    live: HashMap<PathBuf, u64>,
    /// Each directory's entries as of its last sync.
    durable: HashMap<PathBuf, HashMap<OsString, u64>>,
    /// Each file's content as of its last sync.
    synced: HashMap<u64, Vec<u8>>,
    /// Each file's content when it last left the namespace (removed or renamed over).
    gone: HashMap<u64, Vec<u8>>,
    next_id: u64,
    /// Operations left before the power goes; `None`: it never goes.
    budget: Option<u64>,
    cut: bool,
    plant: Plant,
    rng: fastrand::Rng,
}

/// The fault-injecting file system (cheap to clone: its handles share one state).
#[derive(Debug, Clone)]
pub(crate) struct FaultFs(Arc<Mutex<State>>);

fn power_cut() -> io::Error {
    io::Error::other("simulated power cut")
}

impl FaultFs {
    pub(crate) fn new(seed: u64, plant: Plant) -> FaultFs {
        FaultFs(Arc::new(Mutex::new(State {
            live: HashMap::new(),
            durable: HashMap::new(),
            synced: HashMap::new(),
            gone: HashMap::new(),
            next_id: 0,
            budget: None,
            cut: false,
            plant,
            rng: fastrand::Rng::with_seed(seed),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the files already in `dir` as they are: on disk, synced, their names durable.
    pub(crate) fn adopt(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock();
        let mut entries = HashMap::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == super::lock::LOCK_FILE || !entry.file_type()?.is_file() {
                continue;
            }
            state.next_id += 1;
            let id = state.next_id;
            state.live.insert(entry.path(), id);
            state.synced.insert(id, fs::read(entry.path())?);
            entries.insert(name, id);
        }
        state.durable.insert(dir.to_path_buf(), entries);
        Ok(())
    }

    /// The power goes at the `operations`-th operation from now.
    pub(crate) fn cut_after(&self, operations: u64) {
        self.lock().budget = Some(operations);
    }

    /// Whether the power has gone.
    pub(crate) fn is_cut(&self) -> bool {
        self.lock().cut
    }

    /// Makes `dir` what a restart after the cut would find (see the module).
    pub(crate) fn restore(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock();
        let durable = state.durable.get(dir).cloned().unwrap_or_default();
        // The content each surviving file had, live or gone.
        let mut contents: Vec<(OsString, Vec<u8>)> = Vec::new();
        for (name, id) in &durable {
            let now = match state.live.iter().find(|(_, &i)| i == *id) {
                Some((path, _)) => fs::read(path).unwrap_or_default(),
                None => state.gone.get(id).cloned().unwrap_or_default(),
            };
            let synced = state.synced.get(id).cloned().unwrap_or_default();
            let content = survivor(&mut state.rng, &synced, &now);
            contents.push((name.clone(), content));
        }
        // Every tracked name goes; the survivors come back with what they hold.
        let tracked: Vec<PathBuf> = state
            .live
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .cloned()
            .collect();
        for path in tracked {
            let _ = fs::remove_file(&path);
        }
        for (name, content) in contents {
            fs::write(dir.join(name), content)?;
        }
        Ok(())
    }
}

/// What a file holds after the cut: its synced content, then — when it only grew since —
/// a random part of what was written after (a prefix, or all of it with a stretch zeroed).
fn survivor(rng: &mut fastrand::Rng, synced: &[u8], now: &[u8]) -> Vec<u8> {
    let Some(unsynced) = now.strip_prefix(synced) else {
        return synced.to_vec();
    };
    let mut out = synced.to_vec();
    if unsynced.is_empty() {
        return out;
    }
    match rng.u8(..3) {
        0 => {}
        1 => out.extend_from_slice(&unsynced[..rng.usize(..=unsynced.len())]),
        _ => {
            let mut torn = unsynced.to_vec();
            let start = rng.usize(..torn.len());
            let end = rng.usize(start..=torn.len());
            torn[start..end].fill(0);
            out.extend_from_slice(&torn);
        }
    }
    out
}

impl State {
    /// Counts one operation; fails once the power has gone.
    fn step(&mut self) -> io::Result<()> {
        if self.cut {
            return Err(power_cut());
        }
        if let Some(budget) = self.budget.as_mut() {
            if *budget == 0 {
                self.cut = true;
                return Err(power_cut());
            }
            *budget -= 1;
        }
        Ok(())
    }

    /// Whether this operation is the one the power goes in (it happens part way).
    fn last(&self) -> bool {
        self.budget == Some(0)
    }

    fn leave(&mut self, path: &Path) {
        if let Some(id) = self.live.remove(path) {
            let content = fs::read(path).unwrap_or_default();
            self.gone.insert(id, content);
        }
    }
}

impl FileSystem for FaultFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.lock().step()?;
        fs::read(path)
    }

    fn create_new(&self, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        let mut state = self.lock();
        state.step()?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        state.next_id += 1;
        let id = state.next_id;
        state.live.insert(path.to_path_buf(), id);
        Ok(Arc::new(FaultFile {
            fs: self.clone(),
            id,
            file,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        self.open_existing(path, true)
    }

    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        self.open_existing(path, false)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.step()?;
        fs::rename(from, to)?;
        state.leave(to);
        if let Some(id) = state.live.remove(from) {
            state.live.insert(to.to_path_buf(), id);
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.step()?;
        state.leave(path);
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.step()?;
        if state.plant == Plant::SkipDirSync {
            return Ok(());
        }
        let entries: HashMap<OsString, u64> = state
            .live
            .iter()
            .filter(|(p, _)| p.parent() == Some(dir))
            .filter_map(|(p, &id)| Some((p.file_name()?.to_owned(), id)))
            .collect();
        state.durable.insert(dir.to_path_buf(), entries);
        Ok(())
    }
}

impl FaultFs {
    fn open_existing(&self, path: &Path, append: bool) -> io::Result<Arc<dyn FsFile>> {
        let mut state = self.lock();
        state.step()?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .append(append)
            .open(path)?;
        let id = match state.live.get(path) {
            Some(&id) => id,
            // A file this file system did not create (one a test put there): it is on disk.
            None => {
                state.next_id += 1;
                let id = state.next_id;
                state.live.insert(path.to_path_buf(), id);
                let content = fs::read(path)?;
                state.synced.insert(id, content);
                if let Some(dir) = path.parent() {
                    if let Some(name) = path.file_name() {
                        state
                            .durable
                            .entry(dir.to_path_buf())
                            .or_default()
                            .insert(name.to_owned(), id);
                    }
                }
                id
            }
        };
        Ok(Arc::new(FaultFile {
            fs: self.clone(),
            id,
            file,
        }))
    }
}

#[derive(Debug)]
struct FaultFile {
    fs: FaultFs,
    id: u64,
    file: File,
}

impl FsFile for FaultFile {
    fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        let mut state = self.fs.lock();
        if state.last() {
            // The power goes part way through this write.
            let part = state.rng.usize(..=bytes.len());
            let _ = (&self.file).write_all(&bytes[..part]);
        }
        state.step()?;
        (&self.file).write_all(bytes)
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut state = self.fs.lock();
        state.step()?;
        if state.plant == Plant::SkipFileSync {
            return Ok(());
        }
        let length = self.file.metadata()?.len() as usize;
        let mut content = vec![0u8; length];
        self.file.read_exact_at(&mut content, 0)?;
        state.synced.insert(self.id, content);
        Ok(())
    }

    fn set_len(&self, length: u64) -> io::Result<()> {
        self.fs.lock().step()?;
        self.file.set_len(length)
    }

    fn len(&self) -> io::Result<u64> {
        self.fs.lock().step()?;
        Ok(self.file.metadata()?.len())
    }
}
