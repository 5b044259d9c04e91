"""Importing Segment-spec track messages from JSONL, beside pandas and DuckDB in one run.

The same file of track messages (1,000,000 by default, written by the Rust example
`ingest_jsonl` if missing) is loaded:

- by segcore in Rust (the `ingest_jsonl` example: in memory, and durable with group commit),
  with the floor of reading the lines and parsing each as JSON;
- by segcore from Python (`Audience.ingest_jsonl`: the same core call);
- by pandas `read_json(lines=True)` and then a plain loop over the rows calling segcore's
  Python `track` (what a notebook user writes without an ingest call), and by pandas
  `read_json` alone (a parse into a DataFrame, no profiles);
- by DuckDB `read_json` into a table (a parse into columns, no profiles).

Every segcore load must report the same count of messages loaded and none rejected, or the
script fails. Figures are messages per second and ratios against segcore's Python call.

Usage:  python benches/peers/ingest.py [messages]
Needs:  pip install pandas duckdb  and ./bindings-python
"""

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    path = os.path.join(ROOT, "target", "bench-data", f"tracks-{n}.jsonl")
    rust = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "segcore-benches", "--example", "ingest_jsonl", "--", str(n), path],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    rows = [json.loads(line) for line in rust.stdout.splitlines() if line.startswith("{")]

    import duckdb
    import pandas as pd
    import segcore

    def timed(name, fn):
        start = time.perf_counter()
        count = fn()
        seconds = time.perf_counter() - start
        rows.append({"engine": name, "messages": count, "seconds": seconds, "per_second": count / seconds})
        return count

    def python_ingest():
        report = segcore.Audience().ingest_jsonl(path)
        assert (report.loaded, report.rejected) == (n, 0), report
        return report.loaded

    timed("segcore Python ingest_jsonl", python_ingest)

    def pandas_loop():
        frame = pd.read_json(path, lines=True, dtype=False)
        a = segcore.Audience()
        for user, event, properties, at in zip(frame["userId"], frame["event"], frame["properties"], frame["timestamp"]):
            values = {k: float(v) for k, v in properties.items() if k in ("price", "revenue", "quantity")}
            rest = {k: v for k, v in properties.items() if k not in values}
            a.track(user, event, at, values=values, properties=rest)
        return len(frame)

    timed("pandas read_json + Python loop of track", pandas_loop)
    timed("pandas read_json only (no profiles)", lambda: len(pd.read_json(path, lines=True, dtype=False)))

    def duck():
        con = duckdb.connect()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_json('{path}', format='newline_delimited')")
        return con.execute("SELECT count(*) FROM t").fetchone()[0]

    timed("DuckDB read_json into a table (no profiles)", duck)

    base = next(r for r in rows if r["engine"] == "segcore Python ingest_jsonl")["per_second"]
    print(f"{n:,} Segment-spec track messages from JSONL ({os.path.getsize(path) / 1e6:.0f} MB)\n")
    print(f"{'engine':<46} {'seconds':>8} {'messages/s':>12} {'vs segcore':>10}")
    for r in rows:
        print(f"{r['engine']:<46} {r['seconds']:>8.2f} {r['per_second']:>12,.0f} {r['per_second'] / base:>9.2f}x")


if __name__ == "__main__":
    main()
