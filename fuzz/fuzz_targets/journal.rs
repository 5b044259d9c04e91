//! Journal replay: a durable directory whose journal is fuzzed, opened. The first byte picks
//! the framing: frames whose lengths and checksums are right (so records reach decoding and
//! replay), or raw bytes after a valid header. Opening must give an audience or a typed error,
//! never a panic; when it opens, the file is cut to what was replayed, and opening again finds
//! nothing more to cut and the same audience.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use segcore::Audience;

#[path = "../support/framing.rs"]
mod framing;

fn directory() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("segcore-fuzz-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // A directory with an empty snapshot of generation 0, as `open` creates it.
        drop(Audience::open(&dir).expect("a fresh directory opens"));
        dir
    })
}

fuzz_target!(|input: &[u8]| {
    let dir = directory();
    let (first, body) = input.split_first().unwrap_or((&0, &[]));
    let journal = if first & 1 == 0 {
        framing::journal(body, 0)
    } else {
        let mut bytes = framing::header(b"SEGJRNL\0", 0).to_vec();
        bytes.extend_from_slice(body);
        bytes
    };
    std::fs::write(dir.join("journal"), &journal).unwrap();
    let Ok(audience) = Audience::open(dir) else {
        return;
    };
    let report = audience.open_report().unwrap().clone();
    let image = audience.to_bytes();
    drop(audience);
    let kept = std::fs::metadata(dir.join("journal")).unwrap().len();
    assert_eq!(kept + report.bytes_cut, journal.len() as u64);
    let again = Audience::open(dir).expect("a directory that opened opens again");
    assert_eq!(again.open_report().unwrap().bytes_cut, 0);
    assert_eq!(
        again.open_report().unwrap().records_replayed,
        report.records_replayed
    );
    assert_eq!(again.to_bytes(), image);
});
