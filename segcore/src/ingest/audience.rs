//! The audience's load methods: one message, a list of messages, a JSONL stream, a contact CSV.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use jiff::Timestamp;
use serde_json::Value as Json;

use super::check::{check_writes, declare};
use super::contacts::ContactMapping;
use super::csv_lines::{counting, LineOf};
use super::lines::{Line, Lines};
use super::message::{plan, Step};
use super::report::Report;
use super::{IngestOptions, OnError};
use crate::audience::Audience;
use crate::error::{Error, Result};
use crate::limits::check_instant;
use crate::schema::Schema;

/// Messages or rows applied per journal batch (one sync each on a durable audience).
const BATCH: usize = 4096;

/// What one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The message type (`track`, `identify`, ...).
    pub kind: &'static str,
    /// The profile it reached, after aliases.
    pub id: String,
    /// Whether it merged another profile into that one.
    pub merged: bool,
    /// Values not stored because no attribute or property type holds them.
    pub values_not_stored: u64,
}

/// A rejection (the reason) or a failure that ends the load.
enum Outcome {
    Loaded(Ingested),
    Rejected(String),
}

impl Audience {
    /// Applies one Segment-spec message (`identify`, `track`, `page`, `screen`, `group` or
    /// `alias`), as a live stream delivers it. A message that cannot be loaded is an
    /// [`Error::Input`] and changes nothing. The rules — ids, merges, first and last touch,
    /// amounts, instants, consent — are in `docs/ingest.md`.
    ///
    /// ```
    /// let mut audience = segcore::Audience::new();
    /// let done = audience.ingest_message(&serde_json::json!({
    ///     "type": "page", "anonymousId": "v1", "timestamp": "2024-06-01T10:00:00Z",
    ///     "properties": {"url": "https://shop.example/?utm_source=tiktok&utm_campaign=bf"}
    /// }))?;
    /// assert_eq!((done.kind, done.id.as_str()), ("page", "v1"));
    /// let now: jiff::Timestamp = "2024-06-02T00:00:00Z".parse().unwrap();
    /// let p = audience.predicate(r#"first_touch_source == "tiktok" and did page"#)?;
    /// assert_eq!(audience.members(&p, now)?, ["v1"]);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn ingest_message(&mut self, message: &Json) -> Result<Ingested> {
        let ((outcome, _), commit) = self.batch(|a| a.ingest_one(message))?;
        commit.wait()?;
        match outcome {
            Outcome::Loaded(done) => Ok(done),
            Outcome::Rejected(reason) => Err(Error::Input {
                origin: "message".to_owned(),
                line: None,
                reason,
            }),
        }
    }

    /// [`Audience::ingest_message`] for a message as JSON text.
    pub fn ingest_json(&mut self, text: &str) -> Result<Ingested> {
        let message: Json = serde_json::from_str(text).map_err(|e| Error::Input {
            origin: "message".to_owned(),
            line: None,
            reason: format!("not JSON ({e})"),
        })?;
        self.ingest_message(&message)
    }

    /// Applies messages given as values (a list of records), numbered from 1 in reports.
    pub fn ingest_messages(
        &mut self,
        messages: &[Json],
        options: &IngestOptions,
    ) -> Result<Report> {
        if options.on_error == OnError::Fail {
            let mut schema = self.schema.clone();
            for (i, m) in messages.iter().enumerate() {
                self.dry_run(m, &mut schema)
                    .map_err(|reason| input("records", i as u64 + 1, reason))?;
            }
        }
        let mut report = Report::default();
        for chunk in messages.chunks(BATCH).enumerate() {
            let (first, chunk) = chunk;
            let ((), commit) = self.batch(|a| {
                for (j, m) in chunk.iter().enumerate() {
                    let line = (first * BATCH + j) as u64 + 1;
                    a.record(&mut report, m, line, "records", options)?;
                }
                Ok(())
            })?;
            commit.wait()?;
        }
        Ok(report)
    }

    /// Streams a JSONL file of Segment-spec messages, one message per line, never holding
    /// more than one line (at most `options.max_line_bytes`). Blank lines are skipped; every
    /// other line is loaded or rejected with its number and reason. With [`OnError::Fail`] the
    /// stream is read twice (checked, then loaded) so that nothing loads if a line is bad.
    /// `source` names the input in errors.
    pub fn ingest_jsonl<R: BufRead + Seek>(
        &mut self,
        mut reader: R,
        source: &str,
        options: &IngestOptions,
    ) -> Result<Report> {
        let io = |e: std::io::Error| Error::Io {
            path: source.to_owned(),
            message: e.to_string(),
        };
        let start = reader.stream_position().map_err(io)?;
        if options.on_error == OnError::Fail {
            let mut schema = self.schema.clone();
            let mut lines = Lines::new(&mut reader, options.max_line_bytes);
            while let Some((number, line)) = lines.next_line().map_err(io)? {
                match parse_line(line, options.max_line_bytes) {
                    None => {}
                    Some(Err(reason)) => return Err(input(source, number, reason)),
                    Some(Ok(m)) => self
                        .dry_run(&m, &mut schema)
                        .map_err(|reason| input(source, number, reason))?,
                }
            }
            reader.seek(SeekFrom::Start(start)).map_err(io)?;
        }
        let mut lines = Lines::new(reader, options.max_line_bytes);
        let mut report = Report::default();
        loop {
            let (more, commit) = self.batch(|a| {
                for _ in 0..BATCH {
                    let Some((number, line)) = lines.next_line().map_err(io)? else {
                        return Ok(false);
                    };
                    match parse_line(line, options.max_line_bytes) {
                        None => {}
                        Some(Err(reason)) => {
                            fail_or_reject(&mut report, source, number, reason, options)?
                        }
                        Some(Ok(m)) => a.record(&mut report, &m, number, source, options)?,
                    }
                }
                Ok(true)
            })?;
            commit.wait()?;
            if !more {
                return Ok(report);
            }
        }
    }

    /// [`Audience::ingest_jsonl`] over a file.
    pub fn ingest_jsonl_file(
        &mut self,
        path: impl AsRef<Path>,
        options: &IngestOptions,
    ) -> Result<Report> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, &e))?;
        self.ingest_jsonl(
            BufReader::with_capacity(1 << 16, file),
            &path.display().to_string(),
            options,
        )
    }

    /// Loads a contact list from CSV (a header row, then one contact per row) as `mapping`
    /// says; tags and consent decisions are dated `at`. Quoted fields may hold commas and
    /// line breaks; a UTF-8 byte-order mark and CRLF line ends are accepted. A row with the
    /// wrong number of fields, text that is not UTF-8, no id, or a value its column's type
    /// cannot read is rejected with its line (the line it starts on) and reason.
    ///
    /// ```
    /// use segcore::ingest::{ContactMapping, IngestOptions};
    ///
    /// let csv = "Email Address,First Name,Last Name,TAGS\r\n\
    ///            ada@example.com,Ada,Lovelace,\"\"\"VIP\"\",\"\"Newsletter\"\"\"\r\n\
    ///            ,No,Id,\r\n";
    /// let mapping = ContactMapping::preset("mailchimp")?.consent_for_every_row("email", true);
    /// let at: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let mut audience = segcore::Audience::new();
    /// let report = audience.load_contacts(std::io::Cursor::new(csv), "members.csv", &mapping, at, &IngestOptions::default())?;
    /// assert_eq!((report.read, report.loaded, report.rejected), (2, 1, 1));
    /// assert_eq!(report.rejections[0].to_string(), "line 3: no id in \"Email Address\"");
    /// let p = audience.predicate(r#"tag "VIP" and consent email and first_name == "Ada""#)?;
    /// assert_eq!(audience.members(&p, at)?, ["ada@example.com"]);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn load_contacts<R: Read + Seek>(
        &mut self,
        mut reader: R,
        source: &str,
        mapping: &ContactMapping,
        at: Timestamp,
        options: &IngestOptions,
    ) -> Result<Report> {
        check_instant(at, "the contacts' time")?;
        let io = |e: std::io::Error| Error::Io {
            path: source.to_owned(),
            message: e.to_string(),
        };
        let start = reader.stream_position().map_err(io)?;
        let csv_error = |e: csv::Error| match e.into_kind() {
            csv::ErrorKind::Io(e) => io(e),
            other => input(source, 0, format!("{other:?}")),
        };
        let (counted, mut line_of) = counting(&mut reader);
        let mut csv = csv_reader(counted);
        let header = header(&mut csv, source)?;
        let located = mapping.locate(&header, source)?;
        let zone = self.time_zone.clone();
        let mut row = csv::ByteRecord::new();
        if options.on_error == OnError::Fail {
            let mut schema = self.schema.clone();
            while csv.read_byte_record(&mut row).map_err(csv_error)? {
                let line = row_line(&row, &line_of);
                let checked = located
                    .row(&row, at, &zone)
                    .and_then(|writes| check_writes(&schema, &writes).map_err(|e| e.to_string()))
                    .and_then(|declared| declare(&mut schema, declared).map_err(|e| e.to_string()));
                checked.map_err(|reason| input(source, line, reason))?;
            }
            drop(csv);
            reader.seek(SeekFrom::Start(start)).map_err(io)?;
            let (counted, lines) = counting(&mut reader);
            line_of = lines;
            csv = csv_reader(counted);
            header_skip(&mut csv, source)?;
        }
        let mut report = Report::default();
        loop {
            let (more, commit) = self.batch(|a| {
                for _ in 0..BATCH {
                    if !csv.read_byte_record(&mut row).map_err(csv_error)? {
                        return Ok(false);
                    }
                    let line = row_line(&row, &line_of);
                    let writes = match located.row(&row, at, &zone) {
                        Ok(w) => w,
                        Err(reason) => {
                            fail_or_reject(&mut report, source, line, reason, options)?;
                            continue;
                        }
                    };
                    if let Err(e) = check_writes(&a.schema, &writes) {
                        fail_or_reject(&mut report, source, line, e.to_string(), options)?;
                        continue;
                    }
                    for write in writes {
                        a.perform(write)?;
                    }
                    report.load("contact");
                }
                Ok(true)
            })?;
            commit.wait()?;
            if !more {
                return Ok(report);
            }
        }
    }

    /// [`Audience::load_contacts`] over a file.
    pub fn load_contacts_file(
        &mut self,
        path: impl AsRef<Path>,
        mapping: &ContactMapping,
        at: Timestamp,
        options: &IngestOptions,
    ) -> Result<Report> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, &e))?;
        self.load_contacts(
            BufReader::with_capacity(1 << 16, file),
            &path.display().to_string(),
            mapping,
            at,
            options,
        )
    }

    /// Loads one message into `report`, or rejects it (or fails, under [`OnError::Fail`]).
    fn record(
        &mut self,
        report: &mut Report,
        message: &Json,
        line: u64,
        source: &str,
        options: &IngestOptions,
    ) -> Result<()> {
        let (outcome, merged) = self.ingest_one(message)?;
        report.merged += merged;
        match outcome {
            Outcome::Loaded(done) => {
                report.values_not_stored += done.values_not_stored;
                report.load(done.kind);
                Ok(())
            }
            Outcome::Rejected(reason) => fail_or_reject(report, source, line, reason, options),
        }
    }

    /// Checks a message against `schema` (a copy that follows the messages checked before
    /// it), for [`OnError::Fail`]'s first pass.
    fn dry_run(&mut self, message: &Json, schema: &mut Schema) -> std::result::Result<(), String> {
        let plan = plan(self, Some(schema), message)?;
        let declared = check_writes(schema, plan.writes()).map_err(|e| e.to_string())?;
        declare(schema, declared).map_err(|e| e.to_string())
    }

    /// Plans, checks and applies one message. Returns the outcome and the profiles merged; an
    /// `Err` is a failure that ends the load (the journal, a full transition queue).
    fn ingest_one(&mut self, message: &Json) -> Result<(Outcome, u64)> {
        let plan = match plan(self, None, message) {
            Ok(p) => p,
            Err(reason) => return Ok((Outcome::Rejected(reason), 0)),
        };
        // A single write checks itself before it changes anything; several are checked
        // together first, so that a bad one cannot leave the others applied.
        let single = matches!(plan.steps.as_slice(), [Step::Write(_)]);
        if !single {
            if let Err(e) = check_writes(&self.schema, plan.writes()) {
                return Ok((Outcome::Rejected(e.to_string()), 0));
            }
        }
        let mut merged = 0;
        for step in plan.steps {
            match step {
                Step::Merge { from, into } => {
                    merged += u64::from(self.merge_profiles(&from, &into)?)
                }
                Step::Write(w) => match self.perform(w) {
                    Ok(()) => {}
                    Err(e) if single && !ends_the_load(&e) => {
                        return Ok((Outcome::Rejected(e.to_string()), 0))
                    }
                    Err(e) => return Err(e),
                },
            }
        }
        Ok((
            Outcome::Loaded(Ingested {
                kind: plan.kind,
                id: plan.id,
                merged: merged > 0,
                values_not_stored: plan.not_stored,
            }),
            merged,
        ))
    }
}

/// Failures that are not about the input: the journal, a full transition queue.
fn ends_the_load(e: &Error) -> bool {
    matches!(
        e,
        Error::Io { .. } | Error::QueueFull { .. } | Error::Locked { .. } | Error::Corrupt(_)
    )
}

/// A line as a message: `None` for a blank line, `Err` with the reason for a bad one.
fn parse_line(line: Line<'_>, max: usize) -> Option<std::result::Result<Json, String>> {
    match line {
        Line::TooLong(n) => Some(Err(format!(
            "the line is {n} bytes, longer than the limit of {max}"
        ))),
        Line::Text(t) if t.iter().all(u8::is_ascii_whitespace) => None,
        Line::Text(t) => Some(serde_json::from_slice(t).map_err(|e| {
            let e = e.to_string();
            let e = e
                .strip_suffix(" at line 1 column 0")
                .unwrap_or(&e)
                .to_owned();
            format!("not JSON ({e})")
        })),
    }
}

fn input(source: &str, line: u64, reason: String) -> Error {
    Error::Input {
        origin: source.to_owned(),
        line: Some(line),
        reason,
    }
}

fn fail_or_reject(
    report: &mut Report,
    source: &str,
    line: u64,
    reason: String,
    options: &IngestOptions,
) -> Result<()> {
    match options.on_error {
        OnError::Skip => {
            report.reject(line, reason);
            Ok(())
        }
        OnError::Fail => Err(input(source, line, reason)),
    }
}

fn csv_reader<R: Read>(reader: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(reader)
}

/// The header row, as text.
fn header<R: Read>(csv: &mut csv::Reader<R>, source: &str) -> Result<Vec<String>> {
    let mut row = csv::ByteRecord::new();
    let found = csv.read_byte_record(&mut row).map_err(|e| Error::Io {
        path: source.to_owned(),
        message: e.to_string(),
    })?;
    if !found {
        return Err(input(
            source,
            1,
            "the file is empty: expected a header row".to_owned(),
        ));
    }
    let mut header = Vec::with_capacity(row.len());
    for (i, field) in row.iter().enumerate() {
        let mut text = std::str::from_utf8(field).map_err(|_| {
            input(
                source,
                1,
                format!("header field {} is not valid UTF-8", i + 1),
            )
        })?;
        if i == 0 {
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        header.push(text.to_owned());
    }
    Ok(header)
}

fn header_skip<R: Read>(csv: &mut csv::Reader<R>, source: &str) -> Result<()> {
    header(csv, source).map(drop)
}

fn row_line(row: &csv::ByteRecord, line_of: &LineOf) -> u64 {
    line_of.line(row.position().map_or(0, csv::Position::byte))
}
