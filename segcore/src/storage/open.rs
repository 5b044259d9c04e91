//! Opening a durable directory: what each combination of snapshot and journal means, how a
//! torn tail is cut, how damage is refused or recovered to a point in time, and what must be a
//! regular file. Specified in `docs/format.md` ("Durable directories").

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};

use super::durable::{Durable, OpenOptions, OpenReport, Recover, JOURNAL, SNAPSHOT};
use crate::error::{Error, Result};
use crate::storage::atomic::write_atomically_with;
use crate::storage::format::{self, corrupt, Kind};
use crate::storage::fs::{FileSystem, RealFs};
use crate::storage::image::read_image;
use crate::storage::journal::{self, Shared};
use crate::storage::lock::{DirectoryLock, LOCK_FILE};
use crate::storage::replay::Replay;
use crate::Audience;

impl OpenOptions {
    /// Opens (or creates) the durable audience in `dir`; see [`Audience::open`].
    pub fn open(&self, dir: impl AsRef<Path>) -> Result<Audience> {
        open(dir.as_ref(), *self)
    }
}

/// Opens (or creates) a durable directory: lock, recover, attach.
pub(crate) fn open(dir: &Path, options: OpenOptions) -> Result<Audience> {
    open_through(RealFs::shared(), dir, options)
}

/// [`open`] with every durable file operation going through `fs` (a test's file system that
/// can cut the power).
pub(crate) fn open_through(
    fs: Arc<dyn FileSystem>,
    dir: &Path,
    options: OpenOptions,
) -> Result<Audience> {
    if dir.as_os_str().is_empty() {
        return Err(Error::InvalidValue(
            "the directory of a durable audience may not be an empty path (write \".\" to \
             mean the current directory)"
                .to_owned(),
        ));
    }
    if fs::symlink_metadata(dir).is_ok() && !dir.is_dir() {
        return Err(Error::Io {
            path: dir.display().to_string(),
            message: "not a directory".to_owned(),
        });
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    for name in [LOCK_FILE, SNAPSHOT, JOURNAL] {
        regular_or_absent(&dir.join(name))?;
    }
    let lock = DirectoryLock::acquire(dir)?;
    remove_temporaries(&*fs, dir);
    let snapshot_path = dir.join(SNAPSHOT);
    let journal_path = dir.join(JOURNAL);
    let mut report = OpenReport::default();
    if !snapshot_path.exists() {
        // A new directory gets its journal first, then its snapshot: a crash between the two
        // leaves a generation-0 journal without a snapshot, and the generation-0 snapshot is
        // always the empty audience, so it is written again here. A snapshot without its
        // journal is therefore never a step of creation, and is refused below.
        if journal_path.exists() {
            let bytes = fs
                .read(&journal_path)
                .map_err(|e| Error::io(&journal_path, &e))?;
            let (journal_generation, _) = format::read_header(Kind::Journal, &bytes)?;
            if journal_generation != 0 {
                return Err(corrupt(format!(
                    "{} holds a journal of generation {journal_generation} but no snapshot",
                    dir.display()
                )));
            }
        } else {
            write_atomically_with(&*fs, &journal_path, &journal::header(0))?;
        }
        write_atomically_with(&*fs, &snapshot_path, &Audience::new().image_bytes(Some(0)))?;
    }
    let bytes = fs
        .read(&snapshot_path)
        .map_err(|e| Error::io(&snapshot_path, &e))?;
    let (mut audience, generation) = read_image(&bytes)?;
    drop(bytes);
    let generation = generation
        .and_then(|g| u32::try_from(g).ok())
        .ok_or_else(|| corrupt("the snapshot has no valid generation section"))?;
    report.generation = generation;
    report.snapshot_profiles = audience.len();

    let mut fresh = true;
    if journal_path.exists() {
        let bytes = fs
            .read(&journal_path)
            .map_err(|e| Error::io(&journal_path, &e))?;
        let (journal_generation, _) = format::read_header(Kind::Journal, &bytes)?;
        if journal_generation > generation {
            return Err(corrupt(format!(
                "the journal continues generation {journal_generation}, but the snapshot is \
                 generation {generation}"
            )));
        }
        if journal_generation == generation {
            let mut replay = Replay::new(&mut audience);
            let scan = journal::scan(&bytes, |record, at| replay.apply(record, at))?;
            replay.finish()?;
            if let Some(damage) = scan.damage {
                if options.recover == Recover::Refuse {
                    return Err(corrupt(format!(
                        "{} in {}: the journal was damaged after these writes were \
                         acknowledged (a crash tears only the last one), so nothing was cut; \
                         open with Recover::PointInTime to keep the {} writes before the \
                         damage and set the rest aside",
                        damage,
                        journal_path.display(),
                        scan.records
                    )));
                }
                report.damage = Some(damage.to_string());
                report.set_aside = Some(set_aside(&*fs, dir, generation, scan.end, &bytes)?);
            }
            report.records_replayed = scan.records;
            report.bytes_cut = (bytes.len() - scan.end) as u64;
            if report.bytes_cut > 0 {
                cut(&*fs, &journal_path, scan.end as u64)?;
            }
            fresh = false;
        } else {
            report.stale_journal_replaced = true;
        }
    } else {
        let missing = format!(
            "the snapshot of generation {generation} is there but its journal `{}` is missing, \
             with whatever writes it held",
            journal_path.display()
        );
        if options.recover == Recover::Refuse {
            return Err(corrupt(format!(
                "{missing}; open with Recover::PointInTime to open the snapshot alone"
            )));
        }
        report.damage = Some(missing);
    }
    if fresh {
        write_atomically_with(&*fs, &journal_path, &journal::header(generation))?;
    }
    let io = |e: std::io::Error| Error::io(&journal_path, &e);
    let file = fs.open_append(&journal_path).map_err(io)?;
    // What is in the file now counts as on disk from here on (a crash of the previous
    // process may have left it in the page cache only).
    file.sync_data().map_err(io)?;
    let length = file.len().map_err(io)?;
    audience.durable.0 = Some(Box::new(Durable {
        dir: dir.to_path_buf(),
        sync: options.sync,
        journal: Shared::new(file, journal_path, length),
        generation: AtomicU32::new(generation),
        batch_depth: 0,
        deferred: false,
        report,
        compacting: Mutex::new(()),
        fs,
        lock: Some(lock),
    }));
    Ok(audience)
}

/// Refuses a directory entry that must be a regular file and is something else: a FIFO
/// would block the open for ever, a directory or a link is not what was written there.
fn regular_or_absent(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(corrupt(format!(
            "{} is not a regular file (a {}): refused",
            path.display(),
            describe(&meta.file_type())
        ))),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, &e)),
    }
}

fn describe(ty: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ty.is_fifo() {
            return "FIFO";
        }
        if ty.is_socket() {
            return "socket";
        }
        if ty.is_char_device() || ty.is_block_device() {
            return "device";
        }
    }
    if ty.is_dir() {
        "directory"
    } else if ty.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

/// Keeps the journal's bytes from `from` on, as they were, in a new file of the directory;
/// returns its path.
fn set_aside(
    fs: &dyn FileSystem,
    dir: &Path,
    generation: u32,
    from: usize,
    journal: &[u8],
) -> Result<PathBuf> {
    let mut n = 0u32;
    let path = loop {
        let name = if n == 0 {
            format!("{JOURNAL}.damaged-{generation}-{from}")
        } else {
            format!("{JOURNAL}.damaged-{generation}-{from}.{n}")
        };
        let path = dir.join(name);
        if fs::symlink_metadata(&path).is_err() {
            break path;
        }
        n += 1;
    };
    write_atomically_with(fs, &path, &journal[from..])?;
    Ok(path)
}

/// Cuts a torn tail off the journal, durably.
fn cut(fs: &dyn FileSystem, path: &Path, length: u64) -> Result<()> {
    let io = |e: std::io::Error| Error::io(path, &e);
    let file = fs.open_write(path).map_err(io)?;
    file.set_len(length).map_err(io)?;
    file.sync_data().map_err(io)
}

/// Removes what an interrupted atomic write left behind (the lock is held, so nobody else is
/// writing them).
fn remove_temporaries(fs: &dyn FileSystem, dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".tmp-") {
            let _ = fs.remove_file(&entry.path());
        }
    }
}
