//! One durable audience shared by writer and reader threads behind a `RwLock`, the way the
//! bindings share it: writers batch a tag and an event together and wait for their commit
//! after releasing the lock (so they share fsyncs), readers check invariants the whole time,
//! and every reader compacts now and then, so compactions overlap each other, the reads and
//! the writes' fsyncs. No reader may ever see half a write, no compaction may fail (they run
//! one at a time, each under its own temporary names), and everything acknowledged is there
//! after reopening.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use segcore::{Audience, Event, Predicate};

const WRITERS: u64 = 3;
const WRITES_EACH: u64 = 300;

fn at(i: u64) -> Timestamp {
    Timestamp::from_second(1_717_200_000 + i as i64).unwrap()
}

/// What every reader checks: each profile holds the tag `paired` exactly when it holds the
/// event `paired`, and the matcher counts both the same, equal to the reference.
fn check(a: &Audience, now: Timestamp) {
    let tagged = Predicate::parse(r#"tag "paired""#).unwrap();
    let tracked = Predicate::parse("did paired").unwrap();
    let both = Predicate::parse(r#"tag "paired" and did paired"#).unwrap();
    let n = a.count(&tagged, now).unwrap();
    let Ok(events) = a.count(&tracked, now) else {
        // The event is not known until the first write: then no tag may be there either.
        assert_eq!(n, 0, "a tag without its event");
        return;
    };
    assert_eq!(events, n, "tags and events apart");
    assert_eq!(a.count(&both, now).unwrap(), n);
    assert_eq!(
        a.member_slots(&tagged, now).unwrap(),
        a.member_slots_by_reference(&tracked, now).unwrap()
    );
}

#[test]
fn readers_never_see_half_a_write_while_writers_share_fsyncs_and_compaction_runs() {
    let dir = std::env::temp_dir().join(format!("segcore-concurrency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audience = Arc::new(RwLock::new(Audience::open(&dir).unwrap()));
    let done = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let now = at(1_000_000);

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let audience = Arc::clone(&audience);
            let acknowledged = Arc::clone(&acknowledged);
            std::thread::spawn(move || {
                for i in 0..WRITES_EACH {
                    let id = format!("w{w}-{i}");
                    let ((), commit) = audience
                        .write()
                        .unwrap()
                        .batch(|a| {
                            a.tag(&id, "paired", at(i))?;
                            a.track(&id, Event::new("paired", at(i)))
                        })
                        .unwrap();
                    // Waiting outside the lock: the other writers append meanwhile and
                    // share the next fsync.
                    commit.wait().unwrap();
                    acknowledged.fetch_add(1, Ordering::Release);
                }
            })
        })
        .collect();
    let compactions = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let audience = Arc::clone(&audience);
            let done = Arc::clone(&done);
            let compactions = Arc::clone(&compactions);
            std::thread::spawn(move || {
                let mut rounds = 0u64;
                while !done.load(Ordering::Acquire) {
                    let a = audience.read().unwrap();
                    check(&a, now);
                    if rounds % 25 == 24 {
                        // Compaction holds only a read lock: the other readers go on, and
                        // another reader's compaction waits for this one.
                        a.compact().unwrap();
                        compactions.fetch_add(1, Ordering::AcqRel);
                    }
                    drop(a);
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Release);
    let rounds: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(rounds > 0);
    let total = acknowledged.load(Ordering::Acquire);
    assert_eq!(total, WRITERS * WRITES_EACH);

    let generation = audience.read().unwrap().generation().unwrap();
    // Each compaction made one generation: none was lost to another.
    let compactions = compactions.load(Ordering::Acquire);
    assert!(compactions >= 3, "compactions overlapped: {compactions}");
    assert_eq!(u64::from(generation), compactions);
    drop(audience);
    let reopened = Audience::open(&dir).unwrap();
    check(&reopened, now);
    assert_eq!(reopened.len() as u64, total);
    assert_eq!(reopened.open_report().unwrap().generation, generation);
    drop(reopened);
    std::fs::remove_dir_all(&dir).unwrap();
}
