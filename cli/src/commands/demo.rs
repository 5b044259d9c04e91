//! `segcore demo`: the main job on a sample shop, in a temporary directory — build the
//! audience, define segments of every kind, ask who is in them and why, load Segment-spec
//! messages, export a consent-safe list, watch live membership, and ask the advisor.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use segcore::export::ExportOptions;
use segcore::ingest::IngestOptions;
use segcore::insight::{Advisor, Outcome as KpiOutcome};
use segcore::sample::{SampleShop, SEGMENTS};
use segcore::{Audience, Predicate};

use crate::args::DemoArgs;
use crate::output::Outcome;

pub fn run(args: DemoArgs) -> Outcome {
    let dir = temporary_dir();
    if !args.keep {
        // Interrupted (Ctrl-C, SIGTERM, SIGHUP): the temporary directory goes with the demo.
        let removing = dir.clone();
        let installed = ctrlc::set_handler(move || {
            let _ = std::fs::remove_dir_all(&removing);
            eprintln!("\ninterrupted: removed {}", removing.display());
            std::process::exit(130);
        });
        if let Err(e) = installed {
            eprintln!(
                "warning: no interrupt handler ({e}); an interrupted demo leaves {}",
                dir.display()
            );
        }
    }
    let result = walk(&dir, &args);
    if args.keep {
        println!(
            "\nthe demo's audience is in {} (try `segcore --dir {} sizes`)",
            dir.display(),
            dir.display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn temporary_dir() -> PathBuf {
    let nanos = Timestamp::now().as_nanosecond();
    std::env::temp_dir().join(format!("segcore-demo-{}-{nanos}", std::process::id()))
}

fn heading(text: &str) {
    println!("\n== {text}");
}

fn walk(dir: &std::path::Path, args: &DemoArgs) -> Outcome {
    // At most 1,000,000 (the argument's range), well within the sample shop's limits.
    let shop = SampleShop::new(args.customers as usize);
    let now = shop.now;

    heading(&format!(
        "1. A sample shop of {} customers, kept in {}",
        args.customers,
        dir.display()
    ));
    let started = Instant::now();
    let mut audience = Audience::open(dir)?;
    let ((), commit) = audience.batch(|a| {
        shop.populate(a);
        Ok(())
    })?;
    commit.wait()?;
    audience.compact()?;
    println!(
        "{} profiles with attributes, tags, consent and a year of events, journaled and compacted in {:.1?}",
        audience.len(),
        started.elapsed()
    );

    heading("2. Segments of every kind, written in the segment language");
    for (_, name, text) in SEGMENTS {
        audience.define_segment(name, audience.predicate(text)?)?;
    }
    println!(
        "{:<22} {:>8} {:>7}  definition",
        "segment", "members", "share"
    );
    for size in audience.sizes(now)? {
        let text = SEGMENTS
            .iter()
            .find(|s| s.1 == size.name)
            .map_or("", |s| s.2);
        println!(
            "{:<22} {:>8} {:>6.1}%  {text}",
            size.name,
            size.members,
            size.share * 100.0
        );
    }

    heading("3. Who is in `vip_offer`, and why");
    let vip_offer = Predicate::segment("vip_offer");
    let some = audience.sample_members(&vip_offer, now, 3, 1)?;
    println!("a sample: {}", some.join(", "));
    if let Some(id) = some.first() {
        println!("{id} is in: {}", audience.segments_of(id, now)?.join(", "));
        println!(
            "why {id} is in vip_offer:\n{}",
            audience.why(id, "vip_offer", now)?
        );
    }
    let err = audience.predicate("contry == \"SE\"").unwrap_err();
    println!("a typo is caught with a suggestion: {err}");

    heading("4. Segment-spec messages from a tracking pipeline (one planted bad line)");
    let first = some
        .first()
        .cloned()
        .unwrap_or_else(|| "c0000000".to_owned());
    let at = |d: SignedDuration| (now + d).to_string();
    let messages = [
        format!(
            r#"{{"type":"page","anonymousId":"visitor-1","properties":{{"url":"https://shop.example/?utm_source=tiktok&utm_campaign=black_friday"}},"timestamp":"{}"}}"#,
            at(SignedDuration::from_mins(1))
        ),
        format!(
            r#"{{"type":"identify","userId":"new-customer","anonymousId":"visitor-1","traits":{{"email":"new@example.com","country":"SE"}},"context":{{"consent":{{"categoryPreferences":{{"email":true}}}}}},"timestamp":"{}"}}"#,
            at(SignedDuration::from_mins(2))
        ),
        format!(
            r#"{{"type":"track","userId":"new-customer","event":"purchase","properties":{{"amount":"12,50"}},"timestamp":"{}"}}"#,
            at(SignedDuration::from_mins(3))
        ),
        format!(
            r#"{{"type":"track","userId":"new-customer","event":"purchase","properties":{{"amount":1500,"category":"shoes"}},"timestamp":"{}"}}"#,
            at(SignedDuration::from_mins(4))
        ),
    ];
    let file = dir.join("messages.jsonl");
    std::fs::write(&file, messages.join("\n") + "\n")?;
    let report = audience.ingest_jsonl_file(&file, &IngestOptions::default())?;
    println!("{report}");
    let p = audience.predicate(r#"first_touch_source == "tiktok" and segment big_spenders"#)?;
    println!(
        "tiktok visitors who became big spenders: {:?} (the anonymous visit was merged into the customer)",
        audience.members(&p, now + SignedDuration::from_mins(5))?
    );

    heading("5. A consent-safe export of `lapsed` for the email tool");
    let out = dir.join("lapsed.csv");
    let options = ExportOptions::new("email").columns(["id", "email", "country"]);
    let mut writer = BufWriter::new(std::fs::File::create(&out)?);
    let exported = audience.export(&Predicate::segment("lapsed"), now, &options, &mut writer)?;
    writer.flush()?;
    drop(writer);
    println!("{exported}");
    let written = std::fs::read_to_string(&out)?;
    for line in written.lines().take(4) {
        println!("  {line}");
    }

    heading("6. Live membership: an event arrives, then time passes");
    audience.start_live(now + SignedDuration::from_mins(10))?;
    let modest =
        audience.predicate("segment emailable and not segment big_spenders and not tag \"vip\"")?;
    let buyer = audience
        .sample_members(&modest, now, 1, 2)?
        .pop()
        .unwrap_or(first);
    println!("{buyer} buys for 2500:");
    audience.ingest_message(&serde_json::json!({
        "type": "track", "userId": buyer, "event": "purchase",
        "properties": {"amount": 2500, "category": "gear"},
        "timestamp": at(SignedDuration::from_mins(6)),
    }))?;
    for t in audience.drain_transitions() {
        println!("  {t}");
    }
    let later = now + SignedDuration::from_hours(24 * 30);
    let moved = audience.advance_to(later)?;
    let entered = moved
        .iter()
        .filter(|t| t.direction == segcore::Direction::Entered)
        .count();
    println!(
        "30 days later: {} transitions ({entered} entries, {} exits); the first few:",
        moved.len(),
        moved.len() - entered
    );
    for t in moved.iter().take(5) {
        println!("  {t}");
    }
    audience.stop_live();

    heading("7. The advisor: which segments are worth keeping?");
    let advisor = Advisor::new(
        KpiOutcome::Converts {
            predicate: audience.predicate("did purchase in last 30d")?,
            at: now,
        },
        now - SignedDuration::from_hours(24 * 30),
        0.05,
    );
    let advice = audience.advise(&advisor)?;
    // One finding of each kind, and how many there are.
    let mut kinds: Vec<_> = advice.findings.iter().map(|f| f.kind).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let of_kind: Vec<_> = advice.findings.iter().filter(|f| f.kind == kind).collect();
        let count = match of_kind.len() {
            1 => "1 segment".to_owned(),
            n => format!("{n} segments"),
        };
        println!("  {:<18} ({count}) e.g. {}", kind.name(), of_kind[0].reason);
    }

    heading("Next");
    println!("  segcore --dir DIR import events.jsonl contacts.csv --preset mailchimp --subscribed email");
    println!("  segcore --dir DIR define segments.txt && segcore --dir DIR sizes");
    println!("  segcore --dir DIR export vip_offer --channel email --columns id,email -o vip.csv");
    audience.close()?;
    Ok(())
}
