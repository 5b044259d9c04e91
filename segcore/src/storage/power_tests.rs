//! The power-cut harness: random writes, batches and compactions on a durable directory whose
//! files go through [`FaultFs`]; the power goes at a random file operation (during opening,
//! a write, a sync, a compaction's renames); the directory is made what a restart would find;
//! it must open (with no recovery asked for), and hold exactly the writes acknowledged before
//! the cut, or those and the one in flight, whole. Then writing goes on where the directory
//! stands, and the power goes again.
//!
//! CI cuts the power 210 times; `SEGCORE_POWER_CUTS` sets more (the soak in
//! `docs/reliability.md`), `SEGCORE_POWER_SEED` the seed. A planted missing fsync — file or
//! directory — must be caught.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;

use super::fault::{FaultFs, Plant};
use super::open::open_through;
use super::{OpenOptions, Sync};
use crate::{Audience, Event, Value};

/// Cuts per directory before a fresh one.
const CUTS_PER_DIRECTORY: usize = 3;

fn base() -> Timestamp {
    "2024-06-01T00:00:00Z".parse().unwrap()
}

/// Write number `i`: each succeeds on the state the earlier ones leave.
fn write(a: &mut Audience, i: u64) -> crate::Result<()> {
    let id = format!("p{}", i % 13);
    let at = Timestamp::from_second(base().as_second() + i as i64).unwrap();
    match i % 9 {
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
        4 => a.tag(&id, &format!("t{}", i % 4), at),
        5 => {
            // Two records that survive together or not at all.
            let ((), commit) = a.batch(|a| {
                a.tag(&id, &format!("pair{i}"), at)?;
                a.track(&id, Event::new("pair", at).value("n", i as f64))
            })?;
            commit.wait()
        }
        6 => {
            // What the bindings make of a single write.
            let ((), commit) = a.deferred(|a| a.track(&id, Event::new("deferred", at)))?;
            commit.wait()
        }
        7 if i % 45 == 7 => a.erase(&id).map(drop),
        7 => a.set_consent(&id, "email", i.is_multiple_of(2), at),
        // An untag of a profile not there is refused before anything is journaled: skip it.
        _ if a.slot(&id).is_none() => Ok(()),
        _ => a.untag(&id, "t1").map(drop),
    }
}

/// The in-memory audience after the first `applied` writes.
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
            write(&mut self.audience, self.applied).expect("the model takes every write");
            self.applied += 1;
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) cuts: usize,
    pub(super) acknowledged: u64,
    pub(super) in_flight_present: usize,
    pub(super) cut_while_opening: usize,
    pub(super) cut_while_compacting: usize,
}

/// One power cut on `dir`; `Err` says what broke a promise.
fn cut_once(
    dir: &Path,
    model: &mut Model,
    rng: &mut fastrand::Rng,
    plant: Plant,
    tally: &mut Tally,
) -> Result<(), String> {
    let fs = FaultFs::new(rng.u64(..), plant);
    fs.adopt(dir).map_err(|e| format!("adopt: {e}"))?;
    fs.cut_after(rng.u64(0..240));
    let sync = if rng.bool() {
        Sync::Always
    } else {
        Sync::Group
    };
    let start = model.applied;
    let mut next = start;
    let mut in_flight = None;
    match open_through(Arc::new(fs.clone()), dir, OpenOptions::new().sync(sync)) {
        Err(_) => tally.cut_while_opening += 1,
        Ok(mut a) => {
            for step in 0.. {
                if step % 11 == 10 {
                    if a.compact().is_err() {
                        tally.cut_while_compacting += 1;
                        break;
                    }
                    continue;
                }
                match write(&mut a, next) {
                    Ok(()) => next += 1,
                    Err(e) if fs.is_cut() => {
                        let _ = e;
                        in_flight = Some(next);
                        break;
                    }
                    Err(e) => return Err(format!("write {next} refused without a cut: {e}")),
                }
                if fs.is_cut() || step > 600 {
                    break;
                }
            }
            drop(a);
        }
    }
    fs.restore(dir).map_err(|e| format!("restore: {e}"))?;
    tally.cuts += 1;

    let reopened = Audience::open(dir).map_err(|e| {
        format!(
            "cut {}: the directory does not open after the power cut ({sync:?}): {e}",
            tally.cuts
        )
    })?;
    model.advance_to(next);
    let image = reopened.to_bytes();
    if image != model.audience.to_bytes() {
        let more = in_flight.is_some_and(|w| w == next);
        model.advance_to(next + 1);
        if !(more && image == model.audience.to_bytes()) {
            // Which prefix of the writes the directory does hold, to say what was lost.
            let mut probe = Model::new();
            let mut found = None;
            for k in 0..next + 3 {
                probe.advance_to(k);
                if probe.audience.to_bytes() == image {
                    found = Some(k);
                }
            }
            let report = reopened.open_report().cloned();
            return Err(format!(
                "cut {}: the directory holds neither the {next} writes acknowledged nor one more \
                 ({sync:?}, this round started at write {start}): it holds the first {found:?}, \
                 the write in flight was {in_flight:?}, opening reported {report:?}",
                tally.cuts
            ));
        }
        tally.in_flight_present += 1;
    }
    tally.acknowledged += next - start;
    Ok(())
}

/// Runs `cuts` power cuts from `seed` with `plant`.
pub(super) fn run(cuts: usize, seed: u64, plant: Plant) -> Result<Tally, String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let root = std::env::temp_dir().join(format!(
        "segcore-power-{}-{seed}-{plant:?}",
        std::process::id()
    ));
    let mut tally = Tally::default();
    let mut directory = 0;
    let outcome = (|| {
        while tally.cuts < cuts {
            let dir: PathBuf = root.join(directory.to_string());
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let mut model = Model::new();
            for _ in 0..CUTS_PER_DIRECTORY.min(cuts - tally.cuts) {
                cut_once(&dir, &mut model, &mut rng, plant, &mut tally)?;
            }
            directory += 1;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&root);
    outcome.map(|()| tally)
}

#[test]
fn every_acknowledged_write_survives_a_power_cut() {
    let cuts = std::env::var("SEGCORE_POWER_CUTS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(210);
    let seed = std::env::var("SEGCORE_POWER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(22);
    let tally = run(cuts, seed, Plant::None).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    println!(
        "power cuts: {} ({} while opening, {} while compacting), {} writes acknowledged and \
         found, the write in flight present after {}, seed {seed}",
        tally.cuts,
        tally.cut_while_opening,
        tally.cut_while_compacting,
        tally.acknowledged,
        tally.in_flight_present
    );
    assert_eq!(tally.cuts, cuts);
    // The cuts land everywhere: some while opening, some in compactions, most in writes.
    assert!(tally.acknowledged >= 10 * cuts as u64, "{tally:?}");
    assert!(
        tally.cut_while_opening > 0 && tally.cut_while_compacting > 0,
        "{tally:?}"
    );
}

#[test]
fn a_missing_fsync_is_caught() {
    for plant in [Plant::SkipFileSync, Plant::SkipDirSync] {
        let caught = run(210, 7, plant);
        assert!(
            caught.is_err(),
            "{plant:?}: 210 power cuts lost nothing with a sync missing"
        );
        println!("{plant:?}: {}", caught.unwrap_err());
    }
}
