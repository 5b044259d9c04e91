//! `segcore watch`: live membership, printed as it changes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use segcore::ingest::message_instant;
use segcore::Transition;

use crate::args::WatchArgs;
use crate::output::{open_existing, Failure, Outcome};

pub fn run(dir: &Path, args: WatchArgs) -> Outcome {
    let mut audience = open_existing(dir)?;
    audience.start_live(args.from)?;
    println!(
        "watching {} segments from {}",
        audience.catalog().iter().count(),
        args.from
    );
    if let Some(events) = &args.events {
        let reader: Box<dyn BufRead> = if events.as_os_str() == "-" {
            Box::new(BufReader::new(io::stdin()))
        } else {
            let file =
                File::open(events).map_err(|e| Failure(format!("{}: {e}", events.display())))?;
            Box::new(BufReader::new(file))
        };
        let name = events.display().to_string();
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| Failure(format!("{name}: {e}")))?;
            if line.trim().is_empty() {
                continue;
            }
            let message: serde_json::Value = match serde_json::from_str(&line) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("{name}:{}: not JSON ({e})", i + 1);
                    continue;
                }
            };
            // Time moves on to the message's instant first, so its changes are dated then.
            let mut moved = Vec::new();
            if let Some(at) = message_instant(&message) {
                if audience.clock().is_some_and(|c| at > c) {
                    moved = audience.advance_to(at)?;
                }
            }
            match audience.ingest_message(&message) {
                Ok(_) => {
                    moved.extend(audience.drain_transitions());
                    print(&moved)?;
                }
                Err(segcore::Error::Input { reason, .. }) => {
                    print(&moved)?;
                    eprintln!("{name}:{}: {reason}", i + 1);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some(to) = args.to {
        let moved = audience.advance_to(to)?;
        print(&moved)?;
    }
    audience.close()?;
    Ok(())
}

fn print(moved: &[Transition]) -> Outcome {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for t in moved {
        writeln!(
            out,
            "{}  {:<7} {}  {}",
            t.at,
            t.direction.name(),
            t.segment,
            t.profile
        )?;
    }
    out.flush()?;
    Ok(())
}
