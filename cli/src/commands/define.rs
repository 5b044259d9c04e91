//! `segcore define`: the segments of a segments file, in an order that lets them refer to
//! each other.

use std::path::Path;

use segcore::{Error, NameKind, Predicate};

use crate::args::DefineArgs;
use crate::output::{caret, open_existing, Failure, Outcome};
use crate::segments_file::{file_position, read, Definition};

pub fn run(dir: &Path, args: DefineArgs) -> Outcome {
    let definitions = read(&args.file)?;
    let file = args.file.display().to_string();
    let source = std::fs::read_to_string(&args.file).unwrap_or_default();
    // Every definition must parse before anything is defined.
    let mut parsed = Vec::new();
    for d in &definitions {
        let p = Predicate::parse(&d.text).map_err(|e| located(&file, &source, d, &e))?;
        parsed.push((d, p));
    }
    let mut audience = open_existing(dir)?;
    // Define in passes: a segment that refers to one defined later in the file waits for it.
    let mut pending = parsed;
    while !pending.is_empty() {
        let waiting: Vec<String> = pending.iter().map(|(d, _)| d.name.clone()).collect();
        let mut deferred = Vec::new();
        let before = pending.len();
        for (d, p) in pending {
            match audience.define_segment(&d.name, p.clone()) {
                Ok(()) => println!("defined {}", d.name),
                Err(Error::UnknownName {
                    kind: NameKind::Segment,
                    ref name,
                    ..
                }) if waiting.contains(name) && name != &d.name => {
                    deferred.push((d, p));
                }
                Err(e) => return Err(located(&file, &source, d, &e)),
            }
        }
        if deferred.len() == before {
            let (d, p) = &deferred[0];
            let e = audience.define_segment(&d.name, p.clone()).unwrap_err();
            return Err(located(&file, &source, d, &e));
        }
        pending = deferred;
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
