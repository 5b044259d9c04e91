//! Any bytes as an audience image: an audience or a typed error, never a panic; whatever loads
//! writes out and loads again to the same image. The first byte picks the framing, so the
//! fuzzer spends its time past the checksums: a version-3 image whose sections are the rest
//! (split at `0xFE 0xFD`, tags taken in turn from the known ones, every checksum made right),
//! a version-2 or version-1 body, or the raw bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segcore::Audience;

#[path = "../support/framing.rs"]
mod framing;

fn legacy(label: &[u8], body: &[u8]) -> Vec<u8> {
    let mut bytes = label.to_vec();
    bytes.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    bytes.extend_from_slice(body);
    bytes
}

fuzz_target!(|input: &[u8]| {
    let (first, body) = input.split_first().unwrap_or((&0, &[]));
    let bytes = match first % 4 {
        0 => framing::version_3(body),
        1 => legacy(b"SEGCORE2", body),
        2 => legacy(b"SEGCORE1", body),
        _ => body.to_vec(),
    };
    if let Ok(audience) = Audience::from_bytes(&bytes) {
        let again = Audience::from_bytes(&audience.to_bytes()).expect("a written image loads");
        assert_eq!(again.to_bytes(), audience.to_bytes());
    }
});
