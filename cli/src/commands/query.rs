//! `segcore count | members | sample | export`: who is in a segment.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use segcore::export::{ExportFormat, ExportOptions};

use crate::args::{ExportArgs, MembersArgs, OutputFormat, QueryArgs, SampleArgs};
use crate::output::{now_or_present, open_existing, query, spinner, Failure, Outcome};

pub fn count(dir: &Path, args: QueryArgs) -> Outcome {
    let audience = open_existing(dir)?;
    let predicate = query(&audience, &args.segment)?;
    let bar = spinner("counting");
    let n = audience.count(&predicate, now_or_present(args.now.now));
    bar.finish_and_clear();
    println!("{}", n?);
    Ok(())
}

pub fn members(dir: &Path, args: MembersArgs) -> Outcome {
    let audience = open_existing(dir)?;
    let predicate = query(&audience, &args.query.segment)?;
    let bar = spinner("matching");
    let ids = audience.members(&predicate, now_or_present(args.query.now.now));
    bar.finish_and_clear();
    print_lines(ids?.iter().take(args.limit.unwrap_or(usize::MAX)))
}

pub fn sample(dir: &Path, args: SampleArgs) -> Outcome {
    let audience = open_existing(dir)?;
    let predicate = query(&audience, &args.query.segment)?;
    let now = now_or_present(args.query.now.now);
    let ids = audience.sample_members(&predicate, now, args.size, args.seed)?;
    print_lines(ids.iter())
}

fn print_lines<'a>(ids: impl Iterator<Item = &'a String>) -> Outcome {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for id in ids {
        if let Err(e) = writeln!(out, "{id}") {
            // A closed pipe (`| head`) ends the listing quietly.
            return if e.kind() == io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(e.into())
            };
        }
    }
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

pub fn export(dir: &Path, args: ExportArgs) -> Outcome {
    let audience = open_existing(dir)?;
    let predicate = query(&audience, &args.query.segment)?;
    let mut options = ExportOptions::new(&args.channel)
        .columns(&args.columns)
        .format(match args.format {
            OutputFormat::Csv => ExportFormat::Csv,
            OutputFormat::Jsonl => ExportFormat::Jsonl,
        })
        .neutralize_formulas(!args.keep_formulas);
    if let Some(list) = &args.suppress {
        let text = std::fs::read_to_string(list)
            .map_err(|e| Failure(format!("{}: {e}", list.display())))?;
        options = options.suppress(text.lines().filter(|l| !l.trim().is_empty()));
    }
    let now = now_or_present(args.query.now.now);
    let report = match &args.output {
        Some(path) => audience.export_file(&predicate, now, &options, path)?,
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let report = audience.export(&predicate, now, &options, &mut out)?;
            out.flush()?;
            report
        }
    };
    eprintln!("{report}");
    Ok(())
}
