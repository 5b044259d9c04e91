//! Bytes made into segcore files whose framing is right (headers, lengths, checksums), so the
//! fuzz targets spend their time in what the checks let through. Shared by `from_bytes`,
//! `snapshot` and `journal` (included with `#[path]`, as is `checks.rs`). The layout is `docs/format.md`'s.
#![allow(dead_code)]

pub const TAGS: [&[u8; 4]; 6] = [b"ZONE", b"SCHM", b"PROF", b"SEGS", b"DECS", b"GENR"];

/// A version-3 image whose sections are `body` split at `0xFE 0xFD`, tags taken in turn.
pub fn version_3(body: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = if body.is_empty() {
        Vec::new()
    } else {
        split(body)
    };
    let mut out = header(b"SEGCORE\0", parts.len() as u32).to_vec();
    for (i, payload) in parts.iter().enumerate() {
        let tag = TAGS[i % TAGS.len()];
        let length = (payload.len() as u64).to_le_bytes();
        let mut crc = crc32fast::Hasher::new();
        crc.update(tag);
        crc.update(&length);
        crc.update(payload);
        out.extend_from_slice(tag);
        out.extend_from_slice(&length);
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(payload);
    }
    out
}

/// Splits at every `0xFE 0xFD`.
pub fn split(bytes: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == 0xFE && bytes[i + 1] == 0xFD {
            parts.push(&bytes[start..i]);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    parts.push(&bytes[start..]);
    parts
}

/// A file header (images: `count` sections; journals: `count` is the generation).
pub fn header(magic: &[u8; 8], count: u32) -> [u8; 24] {
    let mut header = [0u8; 24];
    header[..8].copy_from_slice(magic);
    header[8..12].copy_from_slice(&0x0102_0304u32.to_le_bytes());
    header[12..14].copy_from_slice(&3u16.to_le_bytes());
    header[14..16].copy_from_slice(&3u16.to_le_bytes());
    header[16..20].copy_from_slice(&count.to_le_bytes());
    let crc = crc32fast::hash(&header[..20]);
    header[20..24].copy_from_slice(&crc.to_le_bytes());
    header
}

/// A journal of generation `generation` whose frames are `body` split at `0xFE 0xFD`, each
/// payload's first byte saying whether it is in a batch (odd) and the rest being the record.
pub fn journal(body: &[u8], generation: u32) -> Vec<u8> {
    let mut out = header(b"SEGJRNL\0", generation).to_vec();
    if body.is_empty() {
        return out;
    }
    for part in split(body) {
        let Some((flag, payload)) = part.split_first() else {
            continue;
        };
        let length = payload.len() as u32 | if flag & 1 == 1 { 1 << 31 } else { 0 };
        let mut crc = crc32fast::Hasher::new();
        crc.update(&length.to_le_bytes());
        crc.update(payload);
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(payload);
    }
    out
}

/// A version-1 or version-2 image: the label, a CRC-32 of the body, the body.
pub fn legacy(label: &[u8], body: &[u8]) -> Vec<u8> {
    let mut bytes = label.to_vec();
    bytes.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    bytes.extend_from_slice(body);
    bytes
}
