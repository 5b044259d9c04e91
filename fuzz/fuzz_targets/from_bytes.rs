//! Any body behind a valid header and checksum: an audience or a typed error, never a panic;
//! whatever loads writes out and loads again to the same profiles.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segcore::Audience;

fuzz_target!(|body: &[u8]| {
    let mut bytes = b"SEGCORE1".to_vec();
    bytes.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    bytes.extend_from_slice(body);
    if let Ok(audience) = Audience::from_bytes(&bytes) {
        let again = Audience::from_bytes(&audience.to_bytes()).expect("a written image loads");
        assert_eq!(again.to_bytes(), audience.to_bytes());
    }
});
