//! The container every segcore file shares since version 3: a fixed header (what the file is,
//! which byte order wrote it, its format version and the oldest version that can read it),
//! then named sections, each with its length and checksum. What goes *in* the sections is
//! decided by `image.rs` (snapshots and images) and `journal.rs` (the journal's records).
//!
//! Reading never trusts a length for allocation: a section is a slice of the bytes already
//! read, taken only after its length has been checked against what remains.

use crate::error::{Error, Result};

/// The format version this code writes.
pub(crate) const VERSION: u16 = 3;
/// The oldest format version this code still reads (images 1 and 2 have their own labels).
pub(crate) const OLDEST_READ: u16 = 3;
/// Written as a little-endian `u32`; a reader that finds these bytes in another order knows
/// the file was written big-endian (or is not a segcore file).
const ENDIAN_MARK: u32 = 0x0102_0304;
/// magic 8 + endianness 4 + version 2 + oldest readable 2 + count 4 + header checksum 4.
pub(crate) const HEADER_LEN: usize = 24;
/// tag 4 + length 8 + checksum 4.
const SECTION_HEADER_LEN: usize = 16;

/// Which kind of file: the first 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An audience image: a snapshot in a durable directory, or a `save` file.
    Image,
    /// A durable directory's journal of writes.
    Journal,
}

impl Kind {
    pub(crate) fn magic(self) -> &'static [u8; 8] {
        match self {
            Kind::Image => b"SEGCORE\0",
            Kind::Journal => b"SEGJRNL\0",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Image => "audience image",
            Kind::Journal => "journal",
        }
    }
}

/// A file header: the `count` field means sections for an image, and is zero for a journal
/// (whose records follow their own framing).
pub(crate) fn header(kind: Kind, count: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(kind.magic());
    h[8..12].copy_from_slice(&ENDIAN_MARK.to_le_bytes());
    h[12..14].copy_from_slice(&VERSION.to_le_bytes());
    // Every section of version 3 is needed to read it: nothing older can.
    h[14..16].copy_from_slice(&VERSION.to_le_bytes());
    h[16..20].copy_from_slice(&count.to_le_bytes());
    let crc = crc32fast::hash(&h[..20]);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a header and returns its `count` field and the bytes after it.
pub(crate) fn read_header(kind: Kind, bytes: &[u8]) -> Result<(u32, &[u8])> {
    let what = kind.what();
    if bytes.len() < HEADER_LEN {
        if kind.magic().starts_with(&bytes[..bytes.len().min(8)]) {
            return Err(corrupt(format!(
                "the {what} is truncated: {} bytes, shorter than its {HEADER_LEN}-byte header",
                bytes.len()
            )));
        }
        return Err(corrupt(format!("not a segcore {what} (wrong header)")));
    }
    if &bytes[..8] != kind.magic() {
        return Err(corrupt(format!("not a segcore {what} (wrong header)")));
    }
    let mark = u32::from_le_bytes(array(&bytes[8..12]));
    if mark != ENDIAN_MARK {
        return Err(if mark == ENDIAN_MARK.swap_bytes() {
            corrupt(format!(
                "the {what} was written big-endian; segcore files are little-endian"
            ))
        } else {
            corrupt(format!("the {what}'s byte-order mark is damaged"))
        });
    }
    let crc = u32::from_le_bytes(array(&bytes[20..24]));
    if crc32fast::hash(&bytes[..20]) != crc {
        return Err(corrupt(format!(
            "the {what}'s header checksum does not match"
        )));
    }
    let version = u16::from_le_bytes(array(&bytes[12..14]));
    let oldest = u16::from_le_bytes(array(&bytes[14..16]));
    if oldest > VERSION || version < OLDEST_READ {
        return Err(Error::Version {
            file: what.to_owned(),
            expected: format!("{OLDEST_READ} to {VERSION}"),
            found: if oldest > VERSION {
                format!("{version} (readable from version {oldest})")
            } else {
                version.to_string()
            },
        });
    }
    let count = u32::from_le_bytes(array(&bytes[16..20]));
    Ok((count, &bytes[HEADER_LEN..]))
}

/// Appends one section: its 4-byte tag, length, checksum (of tag, length and payload) and
/// payload.
pub(crate) fn push_section(out: &mut Vec<u8>, tag: &[u8; 4], payload: &[u8]) {
    let length = (payload.len() as u64).to_le_bytes();
    out.extend_from_slice(tag);
    out.extend_from_slice(&length);
    out.extend_from_slice(&section_crc(tag, &length, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

fn section_crc(tag: &[u8], length: &[u8], payload: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(tag);
    crc.update(length);
    crc.update(payload);
    crc.finalize()
}

/// Splits `count` sections off `bytes`, each checked against its checksum. Bytes after the
/// last section are corruption (a file is never longer than what its header announces).
pub(crate) fn read_sections(count: u32, mut bytes: &[u8]) -> Result<Vec<([u8; 4], &[u8])>> {
    let mut sections = Vec::new();
    for i in 0..count {
        if bytes.len() < SECTION_HEADER_LEN {
            return Err(corrupt(format!(
                "the image is truncated in section {} of {count}",
                i + 1
            )));
        }
        let tag: [u8; 4] = array(&bytes[..4]);
        let len = u64::from_le_bytes(array(&bytes[4..12]));
        let crc = u32::from_le_bytes(array(&bytes[12..16]));
        let rest = &bytes[SECTION_HEADER_LEN..];
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= rest.len())
            .ok_or_else(|| {
                corrupt(format!(
                    "section {} ({}) says it holds {len} bytes, but only {} follow",
                    i + 1,
                    tag_name(&tag),
                    rest.len()
                ))
            })?;
        let (payload, after) = rest.split_at(len);
        if section_crc(&tag, &bytes[4..12], payload) != crc {
            return Err(corrupt(format!(
                "section {} ({})'s checksum does not match its content",
                i + 1,
                tag_name(&tag)
            )));
        }
        sections.push((tag, payload));
        bytes = after;
    }
    if !bytes.is_empty() {
        return Err(corrupt(format!(
            "{} bytes follow the last section",
            bytes.len()
        )));
    }
    Ok(sections)
}

/// A section tag as text, for messages.
pub(crate) fn tag_name(tag: &[u8; 4]) -> String {
    String::from_utf8_lossy(tag).escape_debug().to_string()
}

pub(crate) fn corrupt(why: impl Into<String>) -> Error {
    Error::Corrupt(why.into())
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(bytes);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(sections: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut out = header(Kind::Image, sections.len() as u32).to_vec();
        for (tag, payload) in sections {
            push_section(&mut out, tag, payload);
        }
        out
    }

    #[test]
    fn sections_round_trip() {
        let bytes = file(&[(b"ZONE", b"UTC"), (b"EMPT", b"")]);
        let (count, rest) = read_header(Kind::Image, &bytes).unwrap();
        let sections = read_sections(count, rest).unwrap();
        assert_eq!(sections, [(*b"ZONE", &b"UTC"[..]), (*b"EMPT", &b""[..])]);
    }

    #[test]
    fn every_damage_is_a_typed_error() {
        let good = file(&[(b"ZONE", b"UTC")]);
        // Every truncation and every single-bit flip is refused, never a panic.
        for cut in 0..good.len() {
            let e = read_header(Kind::Image, &good[..cut])
                .and_then(|(n, rest)| read_sections(n, rest).map(drop));
            assert_eq!(e.unwrap_err().kind(), "corrupt", "cut at {cut}");
        }
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let e = read_header(Kind::Image, &bad)
                .and_then(|(n, rest)| read_sections(n, rest).map(drop))
                .unwrap_err();
            assert!(matches!(e.kind(), "corrupt" | "version"), "bit {bit}: {e}");
        }
        let mut long = good.clone();
        long.push(0);
        let (n, rest) = read_header(Kind::Image, &long).unwrap();
        assert!(read_sections(n, rest)
            .unwrap_err()
            .to_string()
            .contains("1 bytes follow"));
    }

    #[test]
    fn a_huge_section_length_is_refused_without_allocating() {
        let mut bytes = header(Kind::Image, 1).to_vec();
        bytes.extend_from_slice(b"PROF");
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        let (n, rest) = read_header(Kind::Image, &bytes).unwrap();
        let e = read_sections(n, rest).unwrap_err();
        assert!(e.to_string().contains("only 0 follow"), "{e}");
    }

    #[test]
    fn versions_and_byte_order_are_named() {
        let mut future = header(Kind::Image, 0);
        future[12..14].copy_from_slice(&9u16.to_le_bytes());
        future[14..16].copy_from_slice(&7u16.to_le_bytes());
        let crc = crc32fast::hash(&future[..20]);
        future[20..24].copy_from_slice(&crc.to_le_bytes());
        let e = read_header(Kind::Image, &future).unwrap_err();
        assert_eq!(e.kind(), "version");
        assert_eq!(
            e.to_string(),
            "unsupported audience image version: expected 3 to 3, found 9 (readable from version 7)"
        );
        // A newer writer whose files older readers may still read is accepted.
        let mut newer = header(Kind::Image, 0);
        newer[12..14].copy_from_slice(&4u16.to_le_bytes());
        let crc = crc32fast::hash(&newer[..20]);
        newer[20..24].copy_from_slice(&crc.to_le_bytes());
        assert!(read_header(Kind::Image, &newer).is_ok());

        let mut big = header(Kind::Image, 0);
        big[8..12].copy_from_slice(&ENDIAN_MARK.to_be_bytes());
        let e = read_header(Kind::Image, &big).unwrap_err();
        assert!(e.to_string().contains("big-endian"), "{e}");
        let e = read_header(Kind::Journal, &header(Kind::Image, 0)).unwrap_err();
        assert!(e.to_string().contains("not a segcore journal"), "{e}");
    }
}
