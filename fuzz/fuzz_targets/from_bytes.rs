//! Any body behind a valid header and checksum: an audience or a typed error, never a panic;
//! whatever loads writes out and loads again to the same profiles. The first byte picks the
//! header: version 2 (with decisions) or version 1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segcore::Audience;

fuzz_target!(|input: &[u8]| {
    let (first, body) = input.split_first().unwrap_or((&0, &[]));
    let header: &[u8] = if first & 1 == 0 { b"SEGCORE2" } else { b"SEGCORE1" };
    let mut bytes = header.to_vec();
    bytes.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    bytes.extend_from_slice(body);
    if let Ok(audience) = Audience::from_bytes(&bytes) {
        let again = Audience::from_bytes(&audience.to_bytes()).expect("a written image loads");
        assert_eq!(again.to_bytes(), audience.to_bytes());
    }
});
