//! The crash test: a writer process applies a deterministic sequence of writes to a durable
//! directory and acknowledges each on its stdout after the call returned; the test kills it
//! with SIGKILL at random moments (some in the middle of a compaction), reopens the directory
//! and checks that
//!
//! - opening never fails;
//! - every acknowledged write is there, and the audience is exactly the in-memory model after
//!   the acknowledged writes, or after one more (the write in flight may have reached the
//!   journal) — so nothing is half-present, batches included;
//! - the indexes agree with the reference evaluator.
//!
//! Then the writer is started again where the directory stands. `SEGCORE_CRASH_KILLS` sets
//! the number of kills (60 by default, as CI runs it); the soak in `docs/reliability.md` runs
//! thousands:
//!
//! ```text
//! SEGCORE_CRASH_KILLS=5000 cargo test --release -p segcore --test crash -- --nocapture
//! ```

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jiff::Timestamp;
use segcore::{Audience, Event, Predicate, Sync, Value};

const CHILD_DIR: &str = "SEGCORE_CRASH_CHILD_DIR";
const CHILD_START: &str = "SEGCORE_CRASH_CHILD_START";
const CHILD_SYNC: &str = "SEGCORE_CRASH_CHILD_SYNC";
/// The writer compacts before every op whose index is this many past a multiple.
const COMPACT_EVERY: u64 = 97;
/// Kills per directory before starting a fresh one (keeps the soak's audience small).
const KILLS_PER_DIRECTORY: usize = 100;

fn base() -> Timestamp {
    "2024-06-01T00:00:00Z".parse().unwrap()
}

/// Write number `i` of the sequence. Every one succeeds on the state the earlier ones leave.
fn write(a: &mut Audience, i: u64) -> segcore::Result<()> {
    let id = format!("p{}", i % 37);
    let at = Timestamp::from_second(base().as_second() + i as i64).unwrap();
    match i % 10 {
        0..=2 => a.track(&id, Event::new("view", at).value("n", i as f64)),
        3 => a
            .upsert(
                &id,
                [
                    ("n", Value::from(i as f64)),
                    ("label", Value::from(format!("v{i}"))),
                ],
            )
            .map(drop),
        4 => a.tag(&id, &format!("t{}", i % 5), at),
        5 => {
            // A tag and an event written together: on disk together or not at all.
            let ((), commit) = a.batch(|a| {
                a.tag(&id, &format!("pair{i}"), at)?;
                a.track(&id, Event::new("pair", at).value("n", i as f64))
            })?;
            commit.wait()
        }
        6 => a.set_consent(&id, "email", i % 4 == 2, at),
        7 if i % 70 == 7 => a.erase(&id).map(drop),
        7 => a
            .upsert_tagged(&id, [("m", Value::from(i as f64))], &["u".to_owned()], at)
            .map(drop),
        8 if i % 100 == 8 => {
            let text = format!("did view at least {} times", i % 7 + 1);
            a.define_segment(&format!("s{}", i % 3), Predicate::parse(&text)?)
        }
        8 => a.track(&id, Event::new("purchase", at).value("amount", i as f64)),
        _ => {
            if a.slot(&id).is_some() {
                a.untag(&id, "u").map(drop)
            } else {
                a.upsert(&id, Vec::<(&str, Value)>::new()).map(drop)
            }
        }
    }
}

/// The writer process: opens the directory, says so, then writes from `start` on, saying
/// `ack i` after write `i` returned and `compact` / `compacted` around each compaction.
#[test]
#[ignore = "the writer the crash test starts and kills"]
fn crash_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let start: u64 = std::env::var(CHILD_START).unwrap().parse().unwrap();
    let sync = match std::env::var(CHILD_SYNC).unwrap().as_str() {
        "always" => Sync::Always,
        _ => Sync::Group,
    };
    let mut a = Audience::open_with(&dir, sync).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "open").unwrap();
    out.flush().unwrap();
    for i in start.. {
        if i % COMPACT_EVERY == COMPACT_EVERY - 1 {
            writeln!(out, "compact").unwrap();
            out.flush().unwrap();
            a.compact().unwrap();
            writeln!(out, "compacted").unwrap();
        }
        write(&mut a, i).unwrap();
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

fn spawn_writer(dir: &Path, start: u64, sync: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_writer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_DIR, dir)
        .env(CHILD_START, start.to_string())
        .env(CHILD_SYNC, sync)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The model: an in-memory audience with the first `applied` writes.
struct Model {
    audience: Audience,
    applied: u64,
}

impl Model {
    fn new() -> Model {
        Model {
            audience: Audience::new(),
            applied: 0,
        }
    }

    fn advance_to(&mut self, count: u64) {
        while self.applied < count {
            write(&mut self.audience, self.applied).unwrap();
            self.applied += 1;
        }
    }
}

/// What the writer has said so far: the last write acknowledged, and whether a compaction
/// is under way.
#[derive(Default)]
struct Seen {
    acked: Option<u64>,
    compacting: bool,
}

impl Seen {
    fn read(&mut self, line: &str) {
        if let Some(i) = line.strip_prefix("ack ") {
            self.acked = Some(i.parse().unwrap());
            self.compacting = false;
        } else if line == "compact" {
            self.compacting = true;
        } else if line == "compacted" {
            self.compacting = false;
        }
    }
}

#[derive(Default)]
struct Tally {
    kills: usize,
    during_compaction: usize,
    in_flight_present: usize,
    bytes_cut: u64,
    writes: u64,
}

/// One kill: start the writer at `model.applied`, kill it, check the directory, advance the
/// model to what the directory holds.
fn kill_once(dir: &Path, model: &mut Model, rng: &mut fastrand::Rng, tally: &mut Tally) {
    let sync = if rng.bool() { "group" } else { "always" };
    let start = model.applied;
    let mut child = spawn_writer(dir, start, sync);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Kill after a random number of acknowledgements, or just as a compaction starts.
    let target = rng.u64(1..160);
    let at_compaction = rng.u8(..4) == 0;
    let mut seen = Seen::default();
    for line in lines.by_ref() {
        seen.read(&line.unwrap());
        if seen.compacting && at_compaction {
            std::thread::sleep(Duration::from_micros(rng.u64(0..3000)));
            break;
        }
        if seen.acked.is_some_and(|a| a + 1 - start >= target) {
            std::thread::sleep(Duration::from_micros(rng.u64(0..300)));
            break;
        }
    }
    child.kill().unwrap();
    // Acknowledgements written before the kill are still in the pipe.
    for line in lines {
        seen.read(&line.unwrap());
    }
    child.wait().unwrap();
    let (acked, compacting) = (seen.acked, seen.compacting);
    tally.kills += 1;
    tally.during_compaction += usize::from(compacting);

    let reopened = Audience::open(dir)
        .unwrap_or_else(|e| panic!("kill {}: the directory does not open: {e}", tally.kills));
    tally.bytes_cut += reopened.open_report().unwrap().bytes_cut;
    let acknowledged = acked.map_or(start, |a| a + 1);
    model.advance_to(acknowledged);
    let image = reopened.to_bytes();
    if image != model.audience.to_bytes() {
        // The write in flight when the process died may have reached the journal whole.
        model.advance_to(acknowledged + 1);
        assert!(
            image == model.audience.to_bytes(),
            "kill {}: the directory holds neither the {acknowledged} acknowledged writes nor \
             one more (sync {sync}, started at {start}, compacting: {compacting})",
            tally.kills
        );
        tally.in_flight_present += 1;
    }
    tally.writes = model.applied;
    for text in [
        r#"did pair and tag "t1""#,
        "did view at least 3 times",
        "segment s0 or segment s1",
        "consent email and n > 100",
        r#"tag "u" and not did purchase in last 30d"#,
    ] {
        let Ok(p) = reopened.predicate(text) else {
            continue; // a segment not defined yet
        };
        let now = base();
        assert_eq!(
            reopened.member_slots(&p, now).unwrap(),
            reopened.member_slots_by_reference(&p, now).unwrap(),
            "kill {}: {text}",
            tally.kills
        );
    }
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let kills: usize = std::env::var("SEGCORE_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(60);
    let seed = std::env::var("SEGCORE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let mut rng = fastrand::Rng::with_seed(seed);
    let root = std::env::temp_dir().join(format!("segcore-crash-{}", std::process::id()));
    let mut tally = Tally::default();
    let mut total_writes = 0;
    let mut directory = 0;
    while tally.kills < kills {
        let dir: PathBuf = root.join(directory.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        let mut model = Model::new();
        for _ in 0..KILLS_PER_DIRECTORY.min(kills - tally.kills) {
            kill_once(&dir, &mut model, &mut rng, &mut tally);
        }
        total_writes += tally.writes;
        directory += 1;
        std::fs::remove_dir_all(&dir).unwrap();
    }
    println!(
        "crash test: {} kills ({} during a compaction), {} writes acknowledged and found, \
         the write in flight present after {} kills, {} torn bytes cut, seed {seed}",
        tally.kills,
        tally.during_compaction,
        total_writes,
        tally.in_flight_present,
        tally.bytes_cut
    );
    assert!(tally.kills >= kills);
    let _ = std::fs::remove_dir_all(&root);
}
