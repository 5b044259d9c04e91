//! The audience's export method.

use std::io::Write;

use jiff::Timestamp;

use super::cells::{cell, json, neutralized, text};
use super::{normalize, ExportFormat, ExportOptions, ExportReport, SUPPRESSED_TAG};
use crate::audience::Audience;
use crate::column::AttrRef;
use crate::error::{Error, NameKind, Result};
use crate::language::Predicate;
use crate::suggest::nearest;

/// Why one member is left out, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Export,
    Withdrawn,
    NoConsent,
    Suppressed,
}

/// Where rows go.
enum Sink<'a> {
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
    Jsonl(&'a mut dyn Write),
}

impl Audience {
    /// Writes the members of `segment` at `now` who may be contacted on `options.channel` to
    /// `out`, as CSV or JSONL with the chosen columns, and reports who was left out and why
    /// (see [`ExportReport`]). Unknown columns and channels are errors with the nearest known
    /// name, raised before anything is written.
    pub fn export(
        &self,
        segment: &Predicate,
        now: Timestamp,
        options: &ExportOptions,
        out: &mut dyn Write,
    ) -> Result<ExportReport> {
        let channel = options.channel.as_str();
        if !self.schema.has_channel(channel) {
            return Err(Error::UnknownName {
                kind: NameKind::Channel,
                name: channel.to_owned(),
                suggestion: nearest(channel, self.schema.channels()),
            });
        }
        for column in &options.columns {
            if column != "id" && self.schema.attribute(column).is_none() {
                let known = self.schema.attributes().map(|(n, _)| n).chain(["id"]);
                return Err(Error::UnknownName {
                    kind: NameKind::Attribute,
                    name: column.clone(),
                    suggestion: nearest(column, known),
                });
            }
        }
        let slots = self.member_slots(segment, now)?;
        let channel_id = self.store.channels.get(channel);
        let per_channel_tag = format!("{SUPPRESSED_TAG}:{channel}");
        let tag_ids = [
            self.store.tag_names.get(SUPPRESSED_TAG),
            self.store.tag_names.get(&per_channel_tag),
        ];
        let io = |e: std::io::Error| Error::Io {
            path: "the export's output".to_owned(),
            message: e.to_string(),
        };
        let mut sink = match options.format {
            ExportFormat::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(out);
                let header = options.columns.iter().map(|c| {
                    if options.neutralize_formulas {
                        neutralized(c.clone())
                    } else {
                        c.clone()
                    }
                });
                w.write_record(header).map_err(|e| io(e.into()))?;
                Sink::Csv(Box::new(w))
            }
            ExportFormat::Jsonl => Sink::Jsonl(out),
        };
        let mut report = ExportReport::default();
        let mut cells: Vec<Option<AttrRef<'_>>> = Vec::with_capacity(options.columns.len());
        for slot in slots {
            report.members += 1;
            let record = self.store.record(slot).expect("a member is live");
            let id = record.id();
            cells.clear();
            cells.extend(options.columns.iter().map(|c| match c.as_str() {
                "id" => Some(AttrRef::Str(id)),
                name => self.store.attribute(slot, name),
            }));
            let consent = channel_id.and_then(|c| record.consent(c));
            let verdict = match consent {
                Some(d) if !d.granted => Verdict::Withdrawn,
                None => Verdict::NoConsent,
                Some(_) => {
                    let tagged = record.tags.iter().any(|(t, _)| tag_ids.contains(&Some(*t)));
                    let listed = !options.suppressed.is_empty()
                        && (options.suppressed.contains(&normalize(id))
                            || cells
                                .iter()
                                .flatten()
                                .any(|v| options.suppressed.contains(&normalize(&text(*v)))));
                    if tagged || listed {
                        Verdict::Suppressed
                    } else {
                        Verdict::Export
                    }
                }
            };
            match verdict {
                Verdict::Withdrawn => report.consent_withdrawn += 1,
                Verdict::NoConsent => report.no_consent += 1,
                Verdict::Suppressed => report.suppressed += 1,
                Verdict::Export => {
                    report.exported += 1;
                    match &mut sink {
                        Sink::Csv(w) => {
                            let neutralize = options.neutralize_formulas;
                            let row = cells
                                .iter()
                                .map(|v| v.map(|v| cell(v, neutralize)).unwrap_or_default());
                            w.write_record(row).map_err(|e| io(e.into()))?;
                        }
                        Sink::Jsonl(out) => {
                            let object: serde_json::Map<String, serde_json::Value> = options
                                .columns
                                .iter()
                                .zip(&cells)
                                .map(|(c, v)| (c.clone(), v.map_or(serde_json::Value::Null, json)))
                                .collect();
                            serde_json::to_writer(&mut *out, &object).map_err(|e| io(e.into()))?;
                            out.write_all(b"\n").map_err(io)?;
                        }
                    }
                }
            }
        }
        match sink {
            Sink::Csv(mut w) => w.flush().map_err(io)?,
            Sink::Jsonl(out) => out.flush().map_err(io)?,
        }
        Ok(report)
    }
}

impl Audience {
    /// [`Audience::export`] into a file: written to a new temporary file beside it, synced
    /// and renamed, so a failed export leaves the old file (or none) and no partial one, and
    /// a reader never sees half a list. The temporary file is created exclusively under a
    /// fresh name, so nothing planted beside the target is followed or overwritten.
    ///
    /// What may be at `path`: nothing, or a regular file (replaced). A FIFO or a terminal
    /// (`/dev/stdout`, directly or through a symbolic link) is written in place, as a stream.
    /// Anything else is refused with [`Error::Io`] and left as it is: a directory, a block
    /// device, a socket, and a symbolic link to a file (renaming over it would replace the
    /// link, not the file it names: give the file's own path).
    pub fn export_file(
        &self,
        segment: &Predicate,
        now: Timestamp,
        options: &ExportOptions,
        path: impl AsRef<std::path::Path>,
    ) -> Result<ExportReport> {
        crate::storage::replace(path.as_ref(), true, |out| {
            self.export(segment, now, options, out)
        })
    }
}
