//! Line numbers for CSV rows. The csv crate's own line count lags behind on CRLF files, so
//! the bytes are counted as they pass: the reader notes where each line break is, and a row's
//! line is one more than the breaks before its start.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

/// The offsets of line breaks read but not yet passed, and the breaks passed.
#[derive(Debug, Default)]
struct Breaks {
    pending: VecDeque<u64>,
    passed: u64,
}

/// A reader that notes the offset of every `\n` it reads.
pub(crate) struct Counting<R> {
    inner: R,
    offset: u64,
    breaks: Rc<RefCell<Breaks>>,
}

/// The other end of a [`Counting`] reader: turns a row's start offset into its line.
pub(crate) struct LineOf(Rc<RefCell<Breaks>>);

pub(crate) fn counting<R: Read>(inner: R) -> (Counting<R>, LineOf) {
    let breaks = Rc::new(RefCell::new(Breaks::default()));
    (
        Counting {
            inner,
            offset: 0,
            breaks: Rc::clone(&breaks),
        },
        LineOf(breaks),
    )
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, b)| **b == b'\n') {
            breaks.pending.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl LineOf {
    /// The 1-based line of a row the csv crate says starts at byte `start` (it reports the
    /// offset of the break before the row on CRLF files, and of a skipped blank line's break,
    /// hence `<=`). Rows must be asked for in order.
    pub(crate) fn line(&self, start: u64) -> u64 {
        let mut breaks = self.0.borrow_mut();
        while breaks.pending.front().is_some_and(|&b| b <= start) {
            breaks.pending.pop_front();
            breaks.passed += 1;
        }
        breaks.passed + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str) -> Vec<(u64, String)> {
        let (reader, line_of) = counting(input.as_bytes());
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(reader);
        let mut row = csv::ByteRecord::new();
        let mut out = Vec::new();
        while csv.read_byte_record(&mut row).unwrap() {
            let start = row.position().expect("a position").byte();
            out.push((
                line_of.line(start),
                String::from_utf8_lossy(&row[0]).into_owned(),
            ));
        }
        out
    }

    #[test]
    fn rows_know_their_lines() {
        let want = |v: &[(u64, &str)]| -> Vec<(u64, String)> {
            v.iter().map(|(l, s)| (*l, (*s).to_owned())).collect()
        };
        assert_eq!(
            lines("a,b\nx,y\n,z\n"),
            want(&[(1, "a"), (2, "x"), (3, "")])
        );
        assert_eq!(
            lines("a,b\r\nx,y\r\n,z\r\n"),
            want(&[(1, "a"), (2, "x"), (3, "")])
        );
        assert_eq!(
            lines("\u{feff}a,b\n\"x\ny\",y\n\nw,z\n"),
            want(&[(1, "a"), (2, "x\ny"), (5, "w")])
        );
        assert_eq!(
            lines("a,b\r\n\"x\r\ny\",y\r\nw,z"),
            want(&[(1, "a"), (2, "x\r\ny"), (4, "w")])
        );
    }
}
