//! What every command shares: opening the directory, the query's `now`, predicates with a
//! caret under the mistake, progress bars, and the error type.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use segcore::{Audience, Predicate};

/// A failure, as the message printed after `error: `.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<segcore::Error> for Failure {
    fn from(e: segcore::Error) -> Self {
        Failure(e.to_string())
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure(e.to_string())
    }
}

pub type Outcome = Result<(), Failure>;

/// Opens an existing audience directory (queries never create one).
pub fn open_existing(dir: &Path) -> Result<Audience, Failure> {
    if !dir.join("snapshot").exists() && !dir.join("journal").exists() {
        return Err(Failure(format!(
            "{} holds no audience: load data with `segcore import` first (or pass --dir)",
            dir.display()
        )));
    }
    open(dir)
}

/// Opens (or creates) an audience directory.
pub fn open(dir: &Path) -> Result<Audience, Failure> {
    Audience::open(dir).map_err(Failure::from)
}

/// The instant asked for, or the present.
pub fn now_or_present(now: Option<Timestamp>) -> Timestamp {
    now.unwrap_or_else(Timestamp::now)
}

/// A segment's name or a predicate's text, as a predicate; a syntax error shows the text with
/// a caret under the place.
pub fn query(audience: &Audience, text: &str) -> Result<Predicate, Failure> {
    audience.query(text).map_err(|e| match &e {
        segcore::Error::Parse(p) => Failure(format!("{e}\n{}", caret(text, p.line, p.column))),
        _ => Failure::from(e),
    })
}

/// The line `line` of `text`, and a caret under column `column` (both 1-based).
pub fn caret(text: &str, line: usize, column: usize) -> String {
    let source = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    format!("  {source}\n  {}^", " ".repeat(column.saturating_sub(1)))
}

/// A spinner on standard error for a query that may take a while; indicatif draws nothing
/// when standard error is not a terminal.
pub fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A reader that moves a byte progress bar as it is read (and rewound).
pub struct Progress<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: Read + Seek> Progress<R> {
    pub fn new(inner: R, length: u64, label: &str) -> Progress<R> {
        let bar = ProgressBar::new(length);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_message(label.to_owned());
        Progress { inner, bar }
    }

    /// The bar (a handle to it), to clear once the reader is consumed.
    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Progress<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let at = self.inner.seek(pos)?;
        self.bar.set_position(at);
        Ok(at)
    }
}
