//! The snapshot loader: a durable directory whose snapshot is fuzzed (a version-3 image with
//! right checksums, its sections from the input, the generation section included), beside an
//! empty journal of generation 0, opened. An audience or a typed error, never a panic; what
//! opens, compacts, and opens again to the same audience.
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
        let dir = base.join(format!("segcore-fuzz-snapshot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fuzz_target!(|input: &[u8]| {
    let dir = directory();
    std::fs::write(dir.join("snapshot"), framing::version_3(input)).unwrap();
    std::fs::write(dir.join("journal"), framing::journal(&[], 0)).unwrap();
    let Ok(audience) = Audience::open(dir) else {
        return;
    };
    let image = audience.to_bytes();
    audience
        .compact()
        .expect("an audience that opened compacts");
    drop(audience);
    let again = Audience::open(dir).expect("a compacted directory opens");
    assert_eq!(again.to_bytes(), image);
});
