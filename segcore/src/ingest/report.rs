//! What a load did: rows or messages read, loaded and rejected, each rejection with its line.

use std::collections::BTreeMap;
use std::fmt;

/// How many rejections a [`Report`] keeps with their reasons; the counts stay exact beyond it.
pub const MAX_KEPT_REJECTIONS: usize = 1000;

/// One rejected row or message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line where the row or message starts.
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The outcome of a load: every row or message read is either loaded or rejected, so
/// `read == loaded + rejected` always holds and nothing is dropped unreported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Rows or messages read (blank lines are not counted).
    pub read: u64,
    /// Rows or messages applied to the audience.
    pub loaded: u64,
    /// Rows or messages refused; the first [`MAX_KEPT_REJECTIONS`] are in `rejections`.
    pub rejected: u64,
    /// The first rejections, in line order.
    pub rejections: Vec<Rejection>,
    /// Loaded messages by type (`track`, `identify`, ...), or `contact` for CSV rows.
    pub loaded_by_type: BTreeMap<String, u64>,
    /// Profiles merged into another (by `alias`, or by an `identify` that names both ids).
    pub merged: u64,
    /// Values of loaded messages that were not stored because no attribute or event property
    /// can hold them (arrays of objects, such as an order's `products`).
    pub values_not_stored: u64,
}

impl Report {
    pub(crate) fn reject(&mut self, line: u64, reason: String) {
        self.read += 1;
        self.rejected += 1;
        if self.rejections.len() < MAX_KEPT_REJECTIONS {
            self.rejections.push(Rejection { line, reason });
        }
    }

    pub(crate) fn load(&mut self, kind: &str) {
        self.read += 1;
        self.loaded += 1;
        match self.loaded_by_type.get_mut(kind) {
            Some(n) => *n += 1,
            None => {
                self.loaded_by_type.insert(kind.to_owned(), 1);
            }
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read {}, loaded {}, rejected {}",
            self.read, self.loaded, self.rejected
        )?;
        if self.merged > 0 {
            write!(f, ", merged {} profiles", self.merged)?;
        }
        if self.values_not_stored > 0 {
            write!(f, ", {} values not stored", self.values_not_stored)?;
        }
        for r in &self.rejections {
            write!(f, "\n  {r}")?;
        }
        if self.rejected > self.rejections.len() as u64 {
            write!(
                f,
                "\n  … and {} more",
                self.rejected - self.rejections.len() as u64
            )?;
        }
        Ok(())
    }
}
