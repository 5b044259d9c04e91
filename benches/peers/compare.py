"""B2 and B3 beside polars, DuckDB and pandas: the same shop, the same questions, one run.

B2: customers tagged `interest:running` and `quiz:premium`, in SE or DK, aged 25 to 45
inclusive — counted. B3: customers who purchased at least twice in the last 30 days and spent
more than 500 over the last 365 days (windows end at `now`, both ends inclusive) — counted.

segcore's Rust figures come from the `peers_data` binary, which builds the shared sample shop,
writes it as CSV for the peers (customers, and one row per event), and times its own counts.
If the Python package is installed (`pip install ./bindings-python`), the same shop is built
through it and the same counts are timed from Python, with the cost of a trivial call. The peers
load the data into memory (through Parquet; tags as boolean columns, the event name as a
categorical) and are timed on the in-memory counts only. Every engine's count must equal
segcore's, or the script fails.

Usage:  python benches/peers/compare.py [customers] [events per customer]
        (default 10,000,000 customers and 10 events each: 100M events)
Needs:  pip install polars duckdb pandas pyarrow  (and ./bindings-python for segcore's Python row)
"""

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAY_MS = 86_400_000


def timed(fn, runs):
    fn()  # warm-up
    samples = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return result, statistics.median(samples) * 1e3


def segcore_from_python(customers, per_customer, segcore_rust, runs):
    """The same shop and questions through the Python package, or None if it is not installed."""
    try:
        import segcore
    except ImportError:
        return None
    import timeit

    audience = segcore.Audience.sample_shop(customers, per_customer, minimal=True)
    now = segcore_rust["now_ms"] / 1000
    b2 = timed(lambda: audience.count(segcore_rust["b2_text"], now), runs)
    b3 = timed(lambda: audience.count(segcore_rust["b3_text"], now), max(3, runs // 3))
    calls = 1_000_000
    trivial_ns = min(timeit.repeat(lambda: len(audience), number=calls, repeat=5)) / calls * 1e9
    empty = min(timeit.repeat(lambda: None, number=calls, repeat=5)) / calls * 1e9
    del audience
    gc.collect()
    return b2, b3, trivial_ns - empty


def polars_engine(customers_pq, events_pq, now_ms):
    import polars as pl

    people = pl.read_parquet(customers_pq)
    events = pl.read_parquet(events_pq).with_columns(pl.col("name").cast(pl.Categorical))

    def b2():
        return people.filter(
            pl.col("interest_running")
            & pl.col("quiz_premium")
            & pl.col("country").is_in(["SE", "DK"])
            & pl.col("age").is_between(25, 45)
        ).height

    def b3():
        at = pl.col("at_ms")
        return (
            events.filter((pl.col("name") == "purchase") & (at <= now_ms))
            .group_by("customer")
            .agg(
                (at >= now_ms - 30 * DAY_MS).sum().alias("recent"),
                pl.col("amount").filter(at >= now_ms - 365 * DAY_MS).sum().alias("spend"),
            )
            .filter((pl.col("recent") >= 2) & (pl.col("spend") > 500))
            .height
        )

    return b2, b3


def duckdb_engine(customers_pq, events_pq, now_ms):
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE TABLE customers AS SELECT * FROM read_parquet('{customers_pq}')")
    con.execute(
        "CREATE TABLE events AS SELECT customer, name::VARCHAR AS name, at_ms, amount "
        f"FROM read_parquet('{events_pq}')"
    )

    def b2():
        return con.execute(
            "SELECT count(*) FROM customers WHERE interest_running AND quiz_premium "
            "AND country IN ('SE', 'DK') AND age BETWEEN 25 AND 45"
        ).fetchone()[0]

    def b3():
        return con.execute(
            "SELECT count(*) FROM (SELECT customer, "
            f"count(*) FILTER (WHERE at_ms >= {now_ms - 30 * DAY_MS}) AS recent, "
            f"sum(amount) FILTER (WHERE at_ms >= {now_ms - 365 * DAY_MS}) AS spend "
            f"FROM events WHERE name = 'purchase' AND at_ms <= {now_ms} GROUP BY customer) "
            "WHERE recent >= 2 AND spend > 500"
        ).fetchone()[0]

    return b2, b3


def pandas_engine(customers_pq, events_pq, now_ms):
    import pandas as pd

    people = pd.read_parquet(customers_pq)
    people["country"] = people["country"].astype("category")
    events = pd.read_parquet(events_pq)
    events["name"] = events["name"].astype("category")

    def b2():
        mask = (
            people["interest_running"].to_numpy()
            & people["quiz_premium"].to_numpy()
            & people["country"].isin(["SE", "DK"]).to_numpy()
            & people["age"].between(25, 45).to_numpy()
        )
        return int(mask.sum())

    def b3():
        at = events["at_ms"]
        bought = events[(events["name"] == "purchase").to_numpy() & (at <= now_ms).to_numpy()]
        at = bought["at_ms"]
        frame = pd.DataFrame(
            {
                "customer": bought["customer"],
                "recent": (at >= now_ms - 30 * DAY_MS).astype("int64"),
                "spend": bought["amount"].where(at >= now_ms - 365 * DAY_MS, 0.0),
            }
        )
        totals = frame.groupby("customer").sum()
        return int(((totals["recent"] >= 2) & (totals["spend"] > 500)).sum())

    return b2, b3


def main():
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    per_customer = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    import polars as pl

    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "segcore-benches", "--bin", "peers_data"],
        check=True,
        cwd=ROOT,
    )
    binary = os.path.join(ROOT, "target", "release", "peers_data")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [binary, str(customers), str(per_customer), tmp], check=True, capture_output=True, text=True
        )
        segcore = json.loads(out.stdout.strip().splitlines()[-1])
        now_ms = segcore["now_ms"]

        customers_pq = os.path.join(tmp, "customers.parquet")
        events_pq = os.path.join(tmp, "events.parquet")
        pl.scan_csv(os.path.join(tmp, "customers.csv")).with_columns(
            pl.col("interest_running").cast(pl.Boolean),
            pl.col("quiz_premium").cast(pl.Boolean),
        ).sink_parquet(customers_pq)
        pl.scan_csv(
            os.path.join(tmp, "events.csv"),
            schema={"customer": pl.UInt32, "name": pl.String, "at_ms": pl.Int64, "amount": pl.Float64},
        ).sink_parquet(events_pq)
        os.remove(os.path.join(tmp, "events.csv"))

        runs = 7 if customers >= 5_000_000 else 21
        rows = {
            "B2": [("segcore (Rust)", segcore["b2"]["count"], segcore["b2"]["median_us"] / 1e3)],
            "B3": [("segcore (Rust)", segcore["b3"]["count"], segcore["b3"]["median_us"] / 1e3)],
        }
        from_python = segcore_from_python(customers, per_customer, segcore, runs)
        if from_python is not None:
            (b2_count, b2_ms), (b3_count, b3_ms), trivial_ns = from_python
            rows["B2"].append(("segcore (Python)", b2_count, b2_ms))
            rows["B3"].append(("segcore (Python)", b3_count, b3_ms))
        for name, engine in [("polars", polars_engine), ("DuckDB", duckdb_engine), ("pandas", pandas_engine)]:
            b2, b3 = engine(customers_pq, events_pq, now_ms)
            for question, fn in [("B2", b2), ("B3", b3)]:
                count, ms = timed(fn, runs if question == "B2" else max(3, runs // 3))
                rows[question].append((name, count, ms))
            del b2, b3
            gc.collect()

        print(
        f"{customers:,} customers, {segcore['events']:,} events: segcore built its audience in "
        f"{segcore['build_s']} s, peak memory {segcore['peak_rss_bytes'] / 1e9:.2f} GB"
    )
    wrong = []
    for question, results in rows.items():
        print(f"\n{question}\n{'engine':<16}{'count':>10}{'median':>14}{'vs segcore':>12}")
        base = results[0][2]
        for name, count, ms in results:
            print(f"{name:<16}{count:>10}{ms:>11.3f} ms{ms / base:>11.1f}x")
            if count != results[0][1]:
                wrong.append((question, name, count, results[0][1]))
    if from_python is None:
        print("\n(segcore's Python package is not installed here: pip install ./bindings-python)")
    else:
        print(f"\nA trivial call from Python (len(audience)) costs {trivial_ns:.0f} ns beyond an empty call.")
    if wrong:
        sys.exit(f"counts differ from segcore's: {wrong}")


if __name__ == "__main__":
    main()
