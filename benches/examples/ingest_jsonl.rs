//! Importing Segment-spec track messages from JSONL: messages per second into an in-memory
//! audience and into a durable one (group commit, one sync per 4,096 messages), beside the
//! floor of reading the same lines and parsing each as JSON (serde_json) in the same run.
//!
//! Run: `cargo run --release -p segcore-benches --example ingest_jsonl -- [messages] [path]`
//! (default 1,000,000 messages in `target/bench-data/tracks-<n>.jsonl`, written if missing).
//! Prints one JSON object per measurement, for `benches/peers/ingest.py` to read.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use segcore::ingest::IngestOptions;
use segcore::Audience;

/// Writes `n` track messages: 100,000 users, three events, a sku, a price and (for orders) a
/// revenue, a year of timestamps, a campaign on one message in twenty.
fn generate(path: &Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().expect("a file in a folder"))?;
    let mut out = BufWriter::new(File::create(path)?);
    let mut rng = fastrand::Rng::with_seed(7);
    let start = 1_717_200_000i64; // 2024-06-01
    for i in 0..n {
        let user = rng.u32(0..100_000);
        let at = jiff::Timestamp::from_second(start + rng.i64(0..365 * 86_400)).expect("in range");
        let sku = rng.u32(0..500);
        let price = f64::from(rng.u32(100..20_000)) / 100.0;
        let (event, extra) = match rng.u32(0..10) {
            0..=5 => ("Product Viewed", String::new()),
            6..=8 => ("Product Added", format!(",\"quantity\":{}", rng.u32(1..4))),
            _ => (
                "Order Completed",
                format!(",\"revenue\":{price},\"currency\":\"EUR\""),
            ),
        };
        let context = if i % 20 == 0 {
            ",\"context\":{\"page\":{\"url\":\"https://shop.example/p?utm_source=newsletter&utm_campaign=spring\"}}"
        } else {
            ""
        };
        writeln!(
            out,
            "{{\"type\":\"track\",\"userId\":\"u{user}\",\"event\":\"{event}\",\"properties\":{{\"sku\":\"S{sku:03}\",\"price\":{price}{extra}}}{context},\"messageId\":\"m{i}\",\"timestamp\":\"{at}\"}}"
        )?;
    }
    out.flush()
}

fn report(name: &str, messages: u64, seconds: f64) {
    println!(
        "{{\"engine\":\"{name}\",\"messages\":{messages},\"seconds\":{seconds:.4},\"per_second\":{:.0}}}",
        messages as f64 / seconds
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let path = std::env::args()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../target/bench-data/tracks-{n}.jsonl"))
        });
    if !path.exists() {
        eprintln!("writing {n} messages to {}", path.display());
        generate(&path, n)?;
    }

    // The floor: read the lines and parse each as JSON, nothing else.
    let started = Instant::now();
    let mut parsed = 0u64;
    for line in BufReader::with_capacity(1 << 16, File::open(&path)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        parsed += u64::from(v.is_object());
    }
    report(
        "serde_json parse only (floor)",
        parsed,
        started.elapsed().as_secs_f64(),
    );

    // The write floor: the same events, parsed and built beforehand, written with `track`.
    let mut events = Vec::with_capacity(n);
    for line in BufReader::with_capacity(1 << 16, File::open(&path)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let at: jiff::Timestamp = v["timestamp"].as_str().unwrap_or_default().parse()?;
        let mut event = segcore::Event::new(v["event"].as_str().unwrap_or_default(), at);
        for (key, value) in v["properties"].as_object().into_iter().flatten() {
            event = match value {
                serde_json::Value::Number(x) => event.value(key, x.as_f64().unwrap_or_default()),
                other => event.property(key, other.as_str().unwrap_or_default()),
            };
        }
        events.push((v["userId"].as_str().unwrap_or_default().to_owned(), event));
    }
    let mut floor = Audience::new();
    let started = Instant::now();
    let ((), _) = floor.batch(|a| {
        for (id, event) in events.drain(..) {
            a.track(&id, event)?;
        }
        Ok(())
    })?;
    report(
        "segcore track() of the same events, pre-parsed (write floor)",
        n as u64,
        started.elapsed().as_secs_f64(),
    );
    drop(floor);

    let mut audience = Audience::new();
    let started = Instant::now();
    let r = audience.ingest_jsonl_file(&path, &IngestOptions::default())?;
    report(
        "segcore in memory",
        r.loaded,
        started.elapsed().as_secs_f64(),
    );
    assert_eq!((r.loaded, r.rejected), (n as u64, 0));

    let dir = std::env::temp_dir().join(format!("segcore-ingest-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut durable = Audience::open(&dir)?;
    let started = Instant::now();
    let r = durable.ingest_jsonl_file(&path, &IngestOptions::default())?;
    durable.close()?;
    report(
        "segcore durable (group commit)",
        r.loaded,
        started.elapsed().as_secs_f64(),
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
