//! Replays the inputs committed under `fuzz/regressions/<target>/` (minimized crashes and deep
//! seeds) through the checks the fuzz targets run, so a fixed crash stays fixed without a
//! fuzzer on the machine.

#[path = "../../fuzz/support/checks.rs"]
mod checks;
#[path = "../../fuzz/support/framing.rs"]
mod framing;
#[path = "common/grammar.rs"]
mod grammar;

use std::path::PathBuf;

/// The committed inputs of one target, by file name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(entry.path()).unwrap())
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no inputs for {target}");
    found
}

#[test]
fn from_bytes() {
    for (_, input) in inputs("from_bytes") {
        checks::from_bytes(&input);
    }
}

#[test]
fn snapshot() {
    let dir = checks::scratch("regressions-snapshot");
    for (_, input) in inputs("snapshot") {
        checks::snapshot(&dir, &input);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn journal() {
    let dir = checks::scratch("regressions-journal");
    for (_, input) in inputs("journal") {
        checks::journal(&dir, &input);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn differential() {
    for (_, input) in inputs("differential") {
        checks::differential(&input);
    }
}

#[test]
fn evaluate() {
    let audience = grammar::audience();
    for (_, input) in inputs("evaluate") {
        checks::evaluate(&audience, &input);
    }
}

#[test]
fn ingest() {
    for (_, input) in inputs("ingest") {
        checks::ingest(&input);
    }
}

#[test]
fn contacts() {
    for (_, input) in inputs("contacts") {
        checks::contacts(&input);
    }
}
