//! Export decides who leaves the engine for a channel: a segment's members, without the
//! profiles that have not granted consent for that channel or that are suppressed, written
//! as CSV for an email tool's upload or as JSONL, with a count of who was left out and why.
//!
//! Erased profiles are not in the audience at all, so no export can contain them; they are
//! not counted as left out, because forgetting them means keeping no trace to count.
//!
//! ```
//! use segcore::export::{ExportOptions, ExportFormat};
//! use segcore::{Audience, Predicate};
//!
//! let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
//! let mut audience = Audience::new();
//! for (id, email, consent) in [("ada", "ada@example.com", Some(true)), ("bob", "bob@example.com", Some(false)), ("cy", "cy@example.com", None)] {
//!     audience.upsert(id, [("email", email.into()), ("plan", "pro".into())])?;
//!     if let Some(granted) = consent {
//!         audience.set_consent(id, "email", granted, now)?;
//!     }
//! }
//! let pros = audience.predicate(r#"plan == "pro""#)?;
//! let options = ExportOptions::new("email").columns(["email", "plan"]);
//! let mut csv = Vec::new();
//! let report = audience.export(&pros, now, &options, &mut csv)?;
//! assert_eq!(String::from_utf8(csv).unwrap(), "email,plan\nada@example.com,pro\n");
//! assert_eq!((report.members, report.exported, report.consent_withdrawn, report.no_consent), (3, 1, 1, 1));
//! # Ok::<(), segcore::Error>(())
//! ```

mod audience;
mod cells;

use std::collections::BTreeSet;
use std::fmt;

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// A header row of the column names, then one row per profile.
    #[default]
    Csv,
    /// One JSON object per line, keyed by column name (`null` for a missing value).
    Jsonl,
}

impl ExportFormat {
    /// The format named `csv` or `jsonl`.
    pub fn from_name(name: &str) -> crate::Result<ExportFormat> {
        match name {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" => Ok(ExportFormat::Jsonl),
            other => Err(crate::Error::InvalidValue(format!(
                "`{other}` is not an export format; expected csv or jsonl"
            ))),
        }
    }
}

/// The tag that keeps a profile out of every export; `suppressed:<channel>` keeps it out of
/// one channel's.
pub const SUPPRESSED_TAG: &str = "suppressed";

/// What to export and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The consent channel the list is for: only profiles whose latest decision on it grants
    /// consent are exported.
    pub channel: String,
    /// The columns: `id` (the profile id) or attribute names.
    pub columns: Vec<String>,
    /// CSV or JSONL.
    pub format: ExportFormat,
    /// A suppression list (an email tool's bounces and complaints, say): a profile is left
    /// out when its id or any exported value equals an entry, ignoring case and surrounding
    /// spaces.
    pub suppressed: BTreeSet<String>,
    /// Whether CSV text cells that a spreadsheet would run as a formula are neutralised (on by
    /// default): a cell of text — an id, a string, a list, a column name — that begins with
    /// `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'` in front (OWASP's rule for CSV
    /// injection), so a first name of `=HYPERLINK(…)` is shown, not run. Numbers, booleans
    /// and instants are written as they are (a negative number is not a formula). JSONL is
    /// never changed. Turn it off for a consumer that is not a spreadsheet and needs the
    /// values byte for byte.
    pub neutralize_formulas: bool,
}

impl ExportOptions {
    /// An export for `channel` with the single column `id`, as CSV.
    pub fn new(channel: &str) -> ExportOptions {
        ExportOptions {
            channel: channel.to_owned(),
            columns: vec!["id".to_owned()],
            format: ExportFormat::Csv,
            suppressed: BTreeSet::new(),
            neutralize_formulas: true,
        }
    }

    /// Whether CSV text cells that would run as spreadsheet formulas get a `'` in front
    /// ([`ExportOptions::neutralize_formulas`], on by default).
    ///
    /// ```
    /// # use segcore::export::ExportOptions;
    /// # let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let mut audience = segcore::Audience::new();
    /// audience.upsert("ada", [("name", "=1+2".into()), ("balance", (-5).into())])?;
    /// audience.set_consent("ada", "email", true, now)?;
    /// let everyone = audience.predicate("consent email")?;
    /// let columns = ["name", "balance"];
    ///
    /// let mut csv = Vec::new();
    /// audience.export(&everyone, now, &ExportOptions::new("email").columns(columns), &mut csv)?;
    /// assert_eq!(String::from_utf8(csv).unwrap(), "name,balance\n'=1+2,-5\n");
    ///
    /// let verbatim = ExportOptions::new("email").columns(columns).neutralize_formulas(false);
    /// let mut csv = Vec::new();
    /// audience.export(&everyone, now, &verbatim, &mut csv)?;
    /// assert_eq!(String::from_utf8(csv).unwrap(), "name,balance\n=1+2,-5\n");
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn neutralize_formulas(mut self, on: bool) -> ExportOptions {
        self.neutralize_formulas = on;
        self
    }

    /// Sets the columns.
    pub fn columns<S: AsRef<str>>(mut self, columns: impl IntoIterator<Item = S>) -> ExportOptions {
        self.columns = columns.into_iter().map(|c| c.as_ref().to_owned()).collect();
        self
    }

    /// Sets the format.
    pub fn format(mut self, format: ExportFormat) -> ExportOptions {
        self.format = format;
        self
    }

    /// Adds entries to the suppression list.
    pub fn suppress<S: AsRef<str>>(
        mut self,
        entries: impl IntoIterator<Item = S>,
    ) -> ExportOptions {
        self.suppressed
            .extend(entries.into_iter().map(|e| normalize(e.as_ref())));
        self
    }
}

/// A suppression entry as compared.
pub(crate) fn normalize(entry: &str) -> String {
    entry.trim().to_lowercase()
}

/// Who an export wrote and who it left out. Each member is exported or counted under the
/// first reason that applies, in the order of the fields: `members == exported +
/// consent_withdrawn + no_consent + suppressed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Members of the segment at `now`.
    pub members: u64,
    /// Rows written.
    pub exported: u64,
    /// Left out: their latest decision on the channel withdraws consent.
    pub consent_withdrawn: u64,
    /// Left out: they never decided on the channel.
    pub no_consent: u64,
    /// Left out: tagged `suppressed` (or `suppressed:<channel>`), or on the suppression list.
    pub suppressed: u64,
}

impl fmt::Display for ExportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} members, {} exported; left out: {} withdrew consent, {} never gave consent, {} suppressed",
            self.members, self.exported, self.consent_withdrawn, self.no_consent, self.suppressed
        )
    }
}
