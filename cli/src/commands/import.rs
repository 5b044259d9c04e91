//! `segcore import`: JSONL messages and contact CSVs into the audience directory.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use jiff::Timestamp;
use segcore::ingest::{ContactMapping, IngestOptions, OnError, Report};
use segcore::AttrType;

use crate::args::{ImportArgs, InputFormat};
use crate::output::{open, Failure, Outcome, Progress};

pub fn run(dir: &Path, args: ImportArgs) -> Outcome {
    let options = IngestOptions {
        on_error: if args.strict {
            OnError::Fail
        } else {
            OnError::Skip
        },
        max_line_bytes: args.max_line_bytes,
    };
    // The mapping is checked before the directory is touched.
    let mut mapping = None;
    for file in &args.files {
        if format_of(file, args.format)? == InputFormat::Csv && mapping.is_none() {
            mapping = Some(contact_mapping(&args)?);
        }
    }
    let mut audience = open(dir)?;
    for file in &args.files {
        let report = match format_of(file, args.format)? {
            InputFormat::Jsonl => load(file, |reader, name| {
                audience.ingest_jsonl(BufReader::with_capacity(1 << 16, reader), name, &options)
            })?,
            InputFormat::Csv => {
                let mapping = mapping.as_ref().expect("built above");
                let at = args.at.unwrap_or_else(Timestamp::now);
                load(file, |reader, name| {
                    audience.load_contacts(
                        BufReader::with_capacity(1 << 16, reader),
                        name,
                        mapping,
                        at,
                        &options,
                    )
                })?
            }
        };
        print_report(file, &report);
    }
    audience.close()?;
    Ok(())
}

/// Opens `file` behind a progress bar and loads it with `f`.
fn load(
    file: &Path,
    f: impl FnOnce(Progress<File>, &str) -> segcore::Result<Report>,
) -> Result<Report, Failure> {
    let name = file.display().to_string();
    let handle = File::open(file).map_err(|e| Failure(format!("{name}: {e}")))?;
    let length = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let reader = Progress::new(handle, length, &name);
    let bar = reader.bar();
    let report = f(reader, &name);
    bar.finish_and_clear();
    Ok(report?)
}

fn print_report(file: &Path, report: &Report) {
    println!(
        "{}: read {}, loaded {}, rejected {}{}{}",
        file.display(),
        report.read,
        report.loaded,
        report.rejected,
        if report.merged > 0 {
            format!(", merged {} profiles", report.merged)
        } else {
            String::new()
        },
        if report.values_not_stored > 0 {
            format!(
                ", {} values not stored (arrays of objects)",
                report.values_not_stored
            )
        } else {
            String::new()
        },
    );
    for r in &report.rejections {
        eprintln!("{}:{}: {}", file.display(), r.line, r.reason);
    }
    let unlisted = report.rejected - report.rejections.len() as u64;
    if unlisted > 0 {
        eprintln!("{}: … and {unlisted} more rejected", file.display());
    }
}

fn format_of(file: &Path, given: Option<InputFormat>) -> Result<InputFormat, Failure> {
    if let Some(f) = given {
        return Ok(f);
    }
    match file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jsonl" | "ndjson" | "json") => Ok(InputFormat::Jsonl),
        Some("csv") => Ok(InputFormat::Csv),
        _ => Err(Failure(format!(
            "{}: cannot tell the format from the name; pass --format jsonl or --format csv",
            file.display()
        ))),
    }
}

/// The CSV mapping from a preset and the column options.
fn contact_mapping(args: &ImportArgs) -> Result<ContactMapping, Failure> {
    let mut mapping = match (&args.preset, &args.id) {
        (Some(p), None) => ContactMapping::preset(p)?,
        (None, Some(id)) => ContactMapping::new(id),
        (Some(p), Some(id)) => {
            let mut m = ContactMapping::preset(p)?;
            m.id = id.clone();
            m
        }
        (None, None) => {
            return Err(Failure(
                "a CSV import needs --preset (mailchimp, klaviyo) or --id COLUMN".to_owned(),
            ))
        }
    };
    if let Some(a) = &args.id_attribute {
        mapping = mapping.id_attribute(a);
    }
    for spec in &args.attributes {
        let (column, rest) = spec
            .rsplit_once('=')
            .ok_or_else(|| Failure(format!("--attr {spec:?}: expected COLUMN=NAME:TYPE")))?;
        let (name, ty) = rest.split_once(':').unwrap_or((rest, "string"));
        mapping = mapping.attribute(column, name, AttrType::from_name(ty)?);
    }
    if let Some(column) = &args.tags {
        mapping = mapping.tags(column, &args.tag_separator);
    }
    for spec in &args.consent {
        let (column, channel) = spec
            .rsplit_once('=')
            .ok_or_else(|| Failure(format!("--consent {spec:?}: expected COLUMN=CHANNEL")))?;
        mapping = mapping.consent(column, channel);
    }
    for channel in &args.subscribed {
        mapping = mapping.consent_for_every_row(channel, true);
    }
    Ok(mapping)
}
