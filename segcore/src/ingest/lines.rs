//! Lines of a JSONL stream, read one at a time with a bound on their length, so that a file
//! of any size (or one enormous line) is never held in memory whole.

use std::io::{self, BufRead};

/// One line of input, or the fact that it was too long.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// The line's bytes, without the line break.
    Text(&'a [u8]),
    /// The line was longer than the bound; its bytes were skipped.
    TooLong(u64),
}

/// Splits a reader into lines of at most `max` bytes, counting lines from 1.
pub(crate) struct Lines<R> {
    reader: R,
    max: usize,
    buffer: Vec<u8>,
    /// The number of the line last returned.
    line: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R, max: usize) -> Lines<R> {
        Lines {
            reader,
            max,
            buffer: Vec::new(),
            line: 0,
        }
    }

    /// The next line, or `None` at the end of input.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buffer.clear();
        let mut length: u64 = 0;
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            length += chunk.len() as u64;
            if !too_long {
                if self.buffer.len() + chunk.len() > self.max {
                    too_long = true;
                    self.buffer = Vec::new();
                } else {
                    self.buffer.extend_from_slice(chunk);
                }
            }
            let consumed = done.unwrap_or(available.len());
            self.reader.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line += 1;
        if too_long {
            return Ok(Some((self.line, Line::TooLong(length))));
        }
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        Ok(Some((self.line, Line::Text(&self.buffer))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], max: usize) -> Vec<(u64, String)> {
        let mut lines = Lines::new(io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some((number, line)) = lines.next_line().unwrap() {
            let text = match line {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong(n) => format!("<{n} bytes>"),
            };
            out.push((number, text));
        }
        out
    }

    #[test]
    fn lines_are_numbered_and_bounded() {
        let got = all(b"ab\r\n\nabcdefghij\nxyz", 5);
        assert_eq!(
            got,
            [
                (1, "ab".to_owned()),
                (2, String::new()),
                (3, "<10 bytes>".to_owned()),
                (4, "xyz".to_owned())
            ]
        );
        assert!(all(b"", 5).is_empty());
        assert_eq!(all(b"a\n", 5), [(1, "a".to_owned())]);
    }
}
