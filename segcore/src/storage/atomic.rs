//! Replacing a file so that a crash leaves the old content or the new, whole, and nothing
//! else is touched: write a temporary file in the same directory, sync it, rename it over the
//! target (atomic within a file system), then sync the directory so the rename itself
//! survives a power loss.
//!
//! What it refuses to touch: the temporary file is created exclusively under a name no one
//! else uses (`.<name>.tmp-<pid>-<n>`), so a file or a symbolic link planted under that name
//! is never opened, followed or overwritten; and a target that is not a regular file (a
//! directory, a symbolic link, a device, a FIFO, a socket) is refused rather than replaced,
//! except where a caller streams to a FIFO or a terminal in place ([`Target::Stream`]).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::storage::fs::{FileSystem, FsFile, RealFs};

/// What is at a path about to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Nothing: the file is created.
    Absent,
    /// A regular file: replaced atomically.
    Regular,
    /// A FIFO or a character device (a terminal, `/dev/stdout`), directly or through a
    /// symbolic link: there is nothing to replace, only a stream to write to.
    Stream,
}

/// What is at `path`, or a typed refusal for what must not be written over: a directory, a
/// socket or a block device, and a symbolic link unless it leads to a stream. Following a
/// link to a regular file would replace the link, not the file it names.
pub(crate) fn target(path: &Path) -> Result<Target> {
    let refuse = |what: &str| Error::Io {
        path: path.display().to_string(),
        message: format!("{what}, not a regular file: refused rather than replaced"),
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Target::Absent),
        Err(e) => return Err(Error::io(path, &e)),
    };
    let ty = meta.file_type();
    if ty.is_file() {
        return Ok(Target::Regular);
    }
    if ty.is_dir() {
        return Err(refuse("a directory"));
    }
    let followed = if ty.is_symlink() {
        match fs::metadata(path) {
            Ok(m) => m.file_type(),
            Err(_) => return Err(refuse("a symbolic link that leads nowhere")),
        }
    } else {
        ty
    };
    if is_stream(&followed) {
        return Ok(Target::Stream);
    }
    Err(refuse(if ty.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }))
}

#[cfg(unix)]
fn is_stream(ty: &fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    ty.is_fifo() || ty.is_char_device()
}

#[cfg(not(unix))]
fn is_stream(_: &fs::FileType) -> bool {
    false
}

/// Replaces `path` with `bytes`. On error the target is untouched and the temporary file is
/// removed (when it can be). Only a regular file (or nothing) may be at `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(&RealFs, path, bytes)
}

/// [`write_atomically`] through `fs` (what durable directories use, so that a test can cut
/// the power under them).
pub(crate) fn write_atomically_with(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) -> Result<()> {
    if let Target::Stream = target(path)? {
        return Err(not_regular(path));
    }
    replace_regular(fs, path, |out| {
        out.write_all(bytes).map_err(|e| Error::io(path, &e))
    })
}

fn not_regular(path: &Path) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: "a FIFO or a device, not a regular file: refused rather than replaced".to_owned(),
    }
}

/// Writes `path` through `write`: into a fresh temporary file that is synced and renamed over
/// `path` (a regular file or nothing), or, when `streams` allows it and `path` is a FIFO or a
/// terminal, straight into it. On error a regular target is untouched.
pub(crate) fn replace<R>(
    path: &Path,
    streams: bool,
    write: impl FnOnce(&mut dyn Write) -> Result<R>,
) -> Result<R> {
    match target(path)? {
        Target::Stream if streams => {
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, &e))?;
            let mut out = io::BufWriter::new(file);
            let result = write(&mut out)?;
            out.flush().map_err(|e| Error::io(path, &e))?;
            Ok(result)
        }
        Target::Stream => Err(not_regular(path)),
        Target::Absent | Target::Regular => replace_regular(&RealFs, path, write),
    }
}

/// `io::Write` over a file of the seam.
struct Writer<'f>(&'f dyn FsFile);

impl Write for Writer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn replace_regular<R>(
    fs: &dyn FileSystem,
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<R>,
) -> Result<R> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::Io {
            path: path.display().to_string(),
            message: "the path names no file".to_owned(),
        })?
        .to_string_lossy()
        .into_owned();
    let (file, temporary) = create_temporary(fs, &dir, &name).map_err(|e| Error::io(path, &e))?;
    let remove = |e: Error| {
        let _ = fs.remove_file(&temporary);
        e
    };
    let mut out = io::BufWriter::new(Writer(&*file));
    let result = write(&mut out).map_err(remove)?;
    let flushed = out.flush();
    drop(out);
    let finished = flushed.and_then(|()| file.sync_data()).and_then(|()| {
        drop(file);
        fs.rename(&temporary, path)
    });
    finished.map_err(|e| remove(Error::io(path, &e)))?;
    fs.sync_dir(&dir).map_err(|e| Error::io(&dir, &e))?;
    Ok(result)
}

/// The `n` of the next temporary file's name.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A new file `.<name>.tmp-<pid>-<n>` in `dir`, created exclusively (`O_EXCL`: never an
/// existing file, never through a symbolic link), with `n` counted per process so that
/// concurrent writers in one process never share one.
fn create_temporary(
    fs: &dyn FileSystem,
    dir: &Path,
    name: &str,
) -> io::Result<(Arc<dyn FsFile>, PathBuf)> {
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temporary = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        match fs.create_new(&temporary) {
            Ok(file) => return Ok((file, temporary)),
            // Someone planted this name (or a crashed run of a process with our pid left
            // it): never touch it, take the next.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("segcore-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = scratch("replace");
        let path = dir.join("a.bin");
        write_atomically(&path, b"old").unwrap();
        write_atomically(&path, b"new content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        assert_eq!(names(&dir), ["a.bin"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_target_alone() {
        let dir = scratch("fail");
        let path = dir.join("a.bin");
        write_atomically(&path, b"kept").unwrap();
        // The target is a directory: refused, and the error names the path.
        let blocked = dir.join("sub");
        fs::create_dir_all(blocked.join("x")).unwrap();
        let e = write_atomically(&blocked, b"nope").unwrap_err();
        assert_eq!(e.kind(), "io");
        assert!(e.to_string().contains("sub"), "{e}");
        assert!(e.to_string().contains("a directory"), "{e}");
        assert_eq!(fs::read(&path).unwrap(), b"kept");
        let e = write_atomically(&dir.join("missing").join("a.bin"), b"x").unwrap_err();
        assert_eq!(e.kind(), "io");
        // A writer that fails leaves the old file and no temporary.
        let e = replace(&path, false, |out| {
            out.write_all(b"half").unwrap();
            Err::<(), _>(Error::InvalidValue("stop".into()))
        })
        .unwrap_err();
        assert_eq!(e.kind(), "invalid_value");
        assert_eq!(fs::read(&path).unwrap(), b"kept");
        assert_eq!(names(&dir), ["a.bin", "sub"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn planted_links_and_special_files_are_never_written_through() {
        use std::os::unix::fs::symlink;
        let dir = scratch("planted");
        let victim = dir.join("victim");
        fs::write(&victim, b"precious").unwrap();

        // A symbolic link at the target is refused, and its target is not touched.
        let link = dir.join("out.csv");
        symlink(&victim, &link).unwrap();
        let e = write_atomically(&link, b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        fs::remove_file(&link).unwrap();

        // Links planted under every temporary name this process could pick next are skipped.
        let path = dir.join("save.bin");
        let next = NEXT.load(Ordering::Relaxed);
        for n in next..next + 64 {
            let _ = symlink(
                &victim,
                dir.join(format!(".save.bin.tmp-{}-{n}", std::process::id())),
            );
        }
        write_atomically(&path, b"saved").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"saved");
        assert_eq!(fs::read(&victim).unwrap(), b"precious");

        // A character device is refused for a file that must be replaced, and written in
        // place where the caller streams.
        let e = write_atomically(Path::new("/dev/null"), b"x").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        replace(Path::new("/dev/null"), true, |out| {
            out.write_all(b"streamed")
                .map_err(|e| Error::io(Path::new("/dev/null"), &e))
        })
        .unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_writers_never_share_a_temporary_file() {
        let dir = scratch("concurrent");
        let path = dir.join("a.bin");
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..50 {
                        write_atomically(path, &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(
            bytes.iter().all(|&b| b == bytes[0]),
            "one writer's file, whole"
        );
        assert_eq!(names(&dir), ["a.bin"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
