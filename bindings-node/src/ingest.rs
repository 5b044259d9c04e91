//! Ingest and export on the `Audience` class: one Segment-spec message (`ingest`, for a live
//! stream), JSONL files and contact CSVs (with async twins), and consent-safe exports.
//! Messages and mappings travel as JSON text through the engine's own `JSON.stringify`, so a
//! `Date` in a message becomes ISO 8601 text; the core (`segcore::ingest`, `segcore::export`)
//! decides everything.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use segcore::export::{ExportFormat, ExportOptions};
use segcore::ingest::{ContactMapping as CoreMapping, IngestOptions, OnError};

use crate::args::{boolean, elements, field, given, instant_or_now, object, string, whole};
use crate::audience::Audience;
use crate::decide::json_text;
use crate::errors::{argument, guard, guard_task, Read, Throw};
use crate::live::Subscribers;

/// What one message did.
#[napi(object)]
pub struct Ingested {
    /// The message type.
    #[napi(js_name = "type")]
    pub kind: String,
    /// The profile it reached, after aliases.
    pub id: String,
    /// Whether it merged another profile into that one.
    pub merged: bool,
    /// Values not stored because no attribute or property type holds them.
    pub values_not_stored: f64,
}

/// One rejected row or message.
#[napi(object)]
pub struct Rejection {
    /// The 1-based line it starts on.
    pub line: f64,
    /// Why it was rejected.
    pub reason: String,
}

/// What a load did: `read === loaded + rejected`; `rejections` holds the first 1,000.
#[napi(object)]
pub struct IngestReport {
    /// Rows or messages read (blank lines are not counted).
    pub read: f64,
    /// Applied to the audience.
    pub loaded: f64,
    /// Refused, each with its line and reason in `rejections`.
    pub rejected: f64,
    /// Profiles merged into another.
    pub merged: f64,
    /// Values not stored because no attribute or property type holds them.
    pub values_not_stored: f64,
    /// Loaded messages by type, or `contact` for CSV rows.
    pub loaded_by_type: std::collections::HashMap<String, f64>,
    /// The first rejections, in line order.
    pub rejections: Vec<Rejection>,
}

impl From<segcore::ingest::Report> for IngestReport {
    fn from(r: segcore::ingest::Report) -> Self {
        IngestReport {
            read: r.read as f64,
            loaded: r.loaded as f64,
            rejected: r.rejected as f64,
            merged: r.merged as f64,
            values_not_stored: r.values_not_stored as f64,
            loaded_by_type: r
                .loaded_by_type
                .into_iter()
                .map(|(k, v)| (k, v as f64))
                .collect(),
            rejections: r
                .rejections
                .into_iter()
                .map(|x| Rejection {
                    line: x.line as f64,
                    reason: x.reason,
                })
                .collect(),
        }
    }
}

/// Who an export wrote and who it left out: `members === exported + consentWithdrawn +
/// noConsent + suppressed`; `text` is the output when no `path` was given.
#[napi(object)]
pub struct ExportReport {
    /// Members of the segment.
    pub members: f64,
    /// Rows written.
    pub exported: f64,
    /// Left out: their latest decision withdraws consent on the channel.
    pub consent_withdrawn: f64,
    /// Left out: they never decided on the channel.
    pub no_consent: f64,
    /// Left out: tagged `suppressed` (or `suppressed:<channel>`), or on the suppression list.
    pub suppressed: f64,
    /// The CSV or JSONL written, when no `path` was given.
    pub text: Option<String>,
}

/// `{onError: 'skip' | 'fail', maxLineBytes}`.
fn ingest_options(options: Option<Unknown<'_>>) -> Read<IngestOptions> {
    let mut out = IngestOptions::default();
    if let Some(options) = given(options) {
        let options = object(options, "options")?;
        if let Some(v) = field(&options, "onError")? {
            out.on_error = OnError::from_name(&string(v, "options.onError")?)?;
        }
        if let Some(v) = field(&options, "maxLineBytes")? {
            out.max_line_bytes = whole(v, "options.maxLineBytes", u32::MAX.into())? as usize;
        }
    }
    Ok(out)
}

/// A load run on a worker thread (the async twins); arguments were read on the main thread.
pub struct Load {
    audience: Arc<RwLock<segcore::Audience>>,
    subscribers: Arc<Subscribers>,
    work: Option<Read<LoadWork>>,
}

/// What a load does with the audience.
type LoadWork =
    Box<dyn FnOnce(&mut segcore::Audience) -> segcore::Result<segcore::ingest::Report> + Send>;

impl Task for Load {
    type Output = Read<segcore::ingest::Report>;
    type JsValue = IngestReport;

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            Ok(match self.work.take() {
                Some(Ok(work)) => {
                    let mut audience = self.audience.write().unwrap_or_else(|e| e.into_inner());
                    work(&mut audience).map_err(Into::into)
                }
                Some(Err(failure)) => Err(failure),
                None => Err(argument("the load already ran".to_owned())),
            })
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<IngestReport> {
        crate::live::deliver_queued(&env, &self.audience, &self.subscribers)?;
        output.map(IngestReport::from).js(&env)
    }
}

/// The arguments of `ingestJsonl`.
fn jsonl_work(path: Unknown<'_>, options: Option<Unknown<'_>>) -> Read<LoadWork> {
    let path = PathBuf::from(string(path, "path")?);
    let options = ingest_options(options)?;
    Ok(Box::new(move |a| a.ingest_jsonl_file(&path, &options)))
}

/// The arguments of `loadContacts`: the mapping as JSON text for the core, and `at`.
fn contacts_work(
    env: &Env,
    path: Unknown<'_>,
    mapping: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Read<LoadWork> {
    let path = PathBuf::from(string(path, "path")?);
    let mapping = CoreMapping::from_json(&json_text(env, mapping, "mapping")?)?;
    let mut at: Option<Timestamp> = None;
    if let Some(o) = given(options) {
        let o = object(o, "options")?;
        at = Some(instant_or_now(field(&o, "at")?, "options.at")?);
    }
    let at = at.unwrap_or_else(Timestamp::now);
    let options = ingest_options(options)?;
    Ok(Box::new(move |a| {
        a.load_contacts_file(&path, &mapping, at, &options)
    }))
}

#[napi]
impl Audience {
    /// Applies one Segment-spec message (an object or JSON text) as a live stream delivers
    /// it; a message that cannot be loaded throws `SEGCORE_INPUT` and changes nothing.
    #[napi(ts_args_type = "message: object | string")]
    pub fn ingest(&self, env: Env, message: Unknown<'_>) -> Result<Ingested> {
        let run = || -> Read<Ingested> {
            let text = json_text(&env, message, "message")?;
            let done = crate::audience::commit_many(&self.inner, |a| a.ingest_json(&text))?;
            Ok(Ingested {
                kind: done.kind.to_owned(),
                id: done.id,
                merged: done.merged,
                values_not_stored: done.values_not_stored as f64,
            })
        };
        let done = guard(run).js(&env);
        self.written(&env, done)
    }

    /// Streams a JSONL file of Segment-spec messages. `options.onError`: `'skip'` (load the
    /// rest, report each rejection) or `'fail'` (load nothing if any is bad, throwing
    /// `SEGCORE_INPUT`); `options.maxLineBytes` (1 MiB).
    #[napi(
        ts_args_type = "path: string, options?: { onError?: 'skip' | 'fail', maxLineBytes?: number } | undefined | null"
    )]
    pub fn ingest_jsonl(
        &self,
        env: Env,
        path: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> Result<IngestReport> {
        let run = || -> Read<IngestReport> {
            let work = jsonl_work(path, options)?;
            Ok(work(&mut self.write())?.into())
        };
        let done = guard(run).js(&env);
        self.written(&env, done)
    }

    /// `ingestJsonl` off the main thread.
    #[napi(
        ts_args_type = "path: string, options?: { onError?: 'skip' | 'fail', maxLineBytes?: number } | undefined | null",
        ts_return_type = "Promise<IngestReport>"
    )]
    pub fn ingest_jsonl_async(
        &self,
        path: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> AsyncTask<Load> {
        AsyncTask::new(Load {
            audience: Arc::clone(&self.inner),
            subscribers: Arc::clone(&self.subscribers),
            work: Some(jsonl_work(path, options)),
        })
    }

    /// Loads a contact CSV. `mapping`: `{preset?: 'mailchimp' | 'klaviyo', id?, idAttribute?,
    /// attributes?: {Column: name | [name, type]}, tags?, tagSeparator?, consent?: {Column:
    /// channel}, subscribed?: [channel]}`; `options.at` dates the tags and decisions (now).
    #[napi(
        ts_args_type = "path: string, mapping: ContactMapping, options?: { at?: Date | string | number, onError?: 'skip' | 'fail' } | undefined | null"
    )]
    pub fn load_contacts(
        &self,
        env: Env,
        path: Unknown<'_>,
        mapping: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> Result<IngestReport> {
        let run = || -> Read<IngestReport> {
            let work = contacts_work(&env, path, mapping, options)?;
            Ok(work(&mut self.write())?.into())
        };
        let done = guard(run).js(&env);
        self.written(&env, done)
    }

    /// `loadContacts` off the main thread.
    #[napi(
        ts_args_type = "path: string, mapping: ContactMapping, options?: { at?: Date | string | number, onError?: 'skip' | 'fail' } | undefined | null",
        ts_return_type = "Promise<IngestReport>"
    )]
    pub fn load_contacts_async(
        &self,
        env: Env,
        path: Unknown<'_>,
        mapping: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> AsyncTask<Load> {
        AsyncTask::new(Load {
            audience: Arc::clone(&self.inner),
            subscribers: Arc::clone(&self.subscribers),
            work: Some(contacts_work(&env, path, mapping, options)),
        })
    }

    /// The members of `segment` who may be contacted on `options.channel` (`'email'`), as CSV
    /// or JSONL with `options.columns` (`['id']`), written to `options.path` or returned in
    /// `text`; `options.suppress` is a suppression list of ids or addresses. CSV text cells that
    /// a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) get a `'` in
    /// front unless `options.neutralizeFormulas` is `false`. A `path` that is a symbolic
    /// link, a directory or a device other than a FIFO or terminal throws `SEGCORE_IO`.
    #[napi(
        js_name = "export",
        ts_args_type = "segment: string, options?: { channel?: string, columns?: string[], format?: 'csv' | 'jsonl', path?: string, suppress?: string[], neutralizeFormulas?: boolean, now?: Date | string | number } | undefined | null"
    )]
    pub fn export_members(
        &self,
        env: Env,
        segment: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> Result<ExportReport> {
        let run = || -> Read<ExportReport> {
            let segment = string(segment, "segment")?;
            let mut export = ExportOptions::new("email");
            let mut path = None;
            let mut now = Timestamp::now();
            if let Some(o) = given(options) {
                let o = object(o, "options")?;
                if let Some(v) = field(&o, "channel")? {
                    export.channel = string(v, "options.channel")?;
                }
                if let Some(v) = field(&o, "columns")? {
                    export.columns = elements(v, "options.columns")?
                        .into_iter()
                        .enumerate()
                        .map(|(i, c)| string(c, &format!("options.columns[{i}]")))
                        .collect::<Read<_>>()?;
                }
                if let Some(v) = field(&o, "format")? {
                    export.format = ExportFormat::from_name(&string(v, "options.format")?)?;
                }
                if let Some(v) = field(&o, "path")? {
                    path = Some(PathBuf::from(string(v, "options.path")?));
                }
                if let Some(v) = field(&o, "neutralizeFormulas")? {
                    export.neutralize_formulas = boolean(v, "options.neutralizeFormulas")?;
                }
                if let Some(v) = field(&o, "suppress")? {
                    let entries = elements(v, "options.suppress")?
                        .into_iter()
                        .enumerate()
                        .map(|(i, c)| string(c, &format!("options.suppress[{i}]")))
                        .collect::<Read<Vec<_>>>()?;
                    export = export.suppress(entries);
                }
                now = instant_or_now(field(&o, "now")?, "options.now")?;
            }
            let audience = self.read();
            let predicate = audience.query(&segment)?;
            let (report, text) = match path {
                Some(path) => (audience.export_file(&predicate, now, &export, path)?, None),
                None => {
                    let mut out = Vec::new();
                    let report = audience.export(&predicate, now, &export, &mut out)?;
                    (report, Some(String::from_utf8_lossy(&out).into_owned()))
                }
            };
            Ok(ExportReport {
                members: report.members as f64,
                exported: report.exported as f64,
                consent_withdrawn: report.consent_withdrawn as f64,
                no_consent: report.no_consent as f64,
                suppressed: report.suppressed as f64,
                text,
            })
        };
        guard(run).js(&env)
    }
}

/// The column mapping of `loadContacts`, as the core reads it (`ContactMapping::from_json`).
#[napi(object)]
pub struct ContactMapping {
    /// An email tool's export headers: `'mailchimp'` or `'klaviyo'`.
    #[napi(ts_type = "'mailchimp' | 'klaviyo'")]
    pub preset: Option<String>,
    /// The id column (overrides a preset's).
    pub id: Option<String>,
    /// An attribute that also receives the id (`'email'`).
    pub id_attribute: Option<String>,
    /// Column → attribute name, or `[name, type]` (`'string'`, `'number'`, `'bool'`,
    /// `'timestamp'`, `'list'`).
    #[napi(
        ts_type = "Record<string, string | [string, 'string' | 'number' | 'bool' | 'timestamp' | 'list']>"
    )]
    pub attributes: Option<std::collections::HashMap<String, String>>,
    /// The tags column.
    pub tags: Option<String>,
    /// The text between two tags (`','`).
    pub tag_separator: Option<String>,
    /// Column → consent channel.
    pub consent: Option<std::collections::HashMap<String, String>>,
    /// Channels every row grants (an export of subscribed members).
    pub subscribed: Option<Vec<String>>,
}
