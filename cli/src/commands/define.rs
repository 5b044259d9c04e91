//! `segcore define`: the segments of a segments file, in an order that lets them refer to
//! each other.

use std::path::Path;

use segcore::{Error, Predicate};

use crate::args::DefineArgs;
use crate::output::{caret, open_existing, Failure, Outcome};
use crate::segments_file::{file_position, read, Definition};

pub fn run(dir: &Path, args: DefineArgs) -> Outcome {
    let definitions = read(&args.file)?;
    let file = args.file.display().to_string();
    let source = std::fs::read_to_string(&args.file).unwrap_or_default();
    // Every definition must parse before anything is defined.
    let mut parsed = Vec::with_capacity(definitions.len());
    for d in &definitions {
        let p = Predicate::parse(&d.text).map_err(|e| located(&file, &source, d, &e))?;
        parsed.push((d.name.as_str(), p));
    }
    let mut audience = open_existing(dir)?;
    // All checked first, then all defined in one journal batch: a refused definition defines
    // nothing, and the file costs one fsync, not one per segment.
    let order = audience
        .define_segments(&parsed)
        .map_err(|(i, e)| located(&file, &source, &definitions[i], &e))?;
    for i in order {
        println!("defined {}", definitions[i].name);
    }
    audience.close()?;
    Ok(())
}

/// An error in a definition, at its place in the file.
fn located(file: &str, source: &str, d: &Definition, e: &Error) -> Failure {
    match e {
        Error::Parse(p) => {
            let (line, column) = file_position(d, p.line, p.column);
            Failure(format!(
                "{file}:{line}:{column}: segment `{}`: expected {}, found {}\n{}",
                d.name,
                p.expected,
                p.found,
                caret(source, line, column)
            ))
        }
        other => Failure(format!("{file}:{}: segment `{}`: {other}", d.line, d.name)),
    }
}
