//! Replacing a file so that a crash leaves the old content or the new, whole: write a
//! temporary file in the same directory, sync it, rename it over the target (atomic within a
//! file system), then sync the directory so the rename itself survives a power loss.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Replaces `path` with `bytes`. On error the target is untouched and the temporary file is
/// removed (when it can be).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
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
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        sync_directory(&dir)
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&temporary);
        Error::io(path, &e)
    })
}

/// Syncs a directory's entries (where the platform allows opening a directory).
fn sync_directory(dir: &Path) -> std::io::Result<()> {
    match File::open(dir) {
        Ok(d) => d.sync_all().or(Ok(())),
        // Some platforms cannot open directories; the rename is then as durable as they allow.
        Err(_) => Ok(()),
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

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = scratch("replace");
        let path = dir.join("a.bin");
        write_atomically(&path, b"old").unwrap();
        write_atomically(&path, b"new content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.bin"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_target_alone() {
        let dir = scratch("fail");
        let path = dir.join("a.bin");
        write_atomically(&path, b"kept").unwrap();
        // The target is a directory now: the rename fails, and the error names the path.
        let blocked = dir.join("sub");
        fs::create_dir_all(blocked.join("x")).unwrap();
        let e = write_atomically(&blocked, b"nope").unwrap_err();
        assert_eq!(e.kind(), "io");
        assert!(e.to_string().contains("sub"), "{e}");
        assert_eq!(fs::read(&path).unwrap(), b"kept");
        let e = write_atomically(&dir.join("missing").join("a.bin"), b"x").unwrap_err();
        assert_eq!(e.kind(), "io");
        fs::remove_dir_all(&dir).unwrap();
    }
}
