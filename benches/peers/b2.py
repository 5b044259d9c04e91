"""B2 beside polars, DuckDB and pandas: the same customers, the same question, one run.

The question: customers tagged `interest:running` and `quiz:premium`, in SE or DK, aged 25 to
45 inclusive — counted. segcore's figure comes from the `b2_peers` binary, which builds the
shared sample shop, writes it as CSV for the peers, and times its own count. The peers load the
CSV into memory (through Parquet, with the tags as boolean columns; pandas gets the country as
a categorical) and are timed on the in-memory count only. Every engine's
count must equal segcore's, or the script fails.

Usage:  python benches/peers/b2.py [customers]        (default 10,000,000)
Needs:  pip install polars duckdb pandas pyarrow
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(fn, runs):
    fn()  # warm-up
    samples = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return result, statistics.median(samples) * 1e3


def main():
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    import duckdb
    import pandas as pd
    import polars as pl

    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "segcore-benches", "--bin", "b2_peers"],
        check=True,
        cwd=ROOT,
    )
    binary = os.path.join(ROOT, "target", "release", "b2_peers")
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "b2.csv")
        out = subprocess.run([binary, str(customers), csv], check=True, capture_output=True, text=True)
        segcore = json.loads(out.stdout.strip().splitlines()[-1])

        parquet = os.path.join(tmp, "b2.parquet")
        pl.read_csv(csv).with_columns(
            pl.col("interest_running").cast(pl.Boolean),
            pl.col("quiz_premium").cast(pl.Boolean),
        ).write_parquet(parquet)

        df = pl.read_parquet(parquet)

        def polars_count():
            return df.filter(
                pl.col("interest_running")
                & pl.col("quiz_premium")
                & pl.col("country").is_in(["SE", "DK"])
                & pl.col("age").is_between(25, 45)
            ).height

        con = duckdb.connect()
        con.execute(f"CREATE TABLE customers AS SELECT * FROM read_parquet('{parquet}')")

        def duckdb_count():
            return con.execute(
                "SELECT count(*) FROM customers WHERE interest_running AND quiz_premium "
                "AND country IN ('SE', 'DK') AND age BETWEEN 25 AND 45"
            ).fetchone()[0]

        pdf = pd.read_parquet(parquet)
        pdf["country"] = pdf["country"].astype("category")

        def pandas_count():
            mask = (
                pdf["interest_running"].to_numpy()
                & pdf["quiz_premium"].to_numpy()
                & pdf["country"].isin(["SE", "DK"]).to_numpy()
                & pdf["age"].between(25, 45).to_numpy()
            )
            return int(mask.sum())

        runs = 7 if customers >= 5_000_000 else 21
        rows = [("segcore (Rust)", segcore["count"], segcore["median_us"] / 1e3)]
        for name, fn in [("polars", polars_count), ("DuckDB", duckdb_count), ("pandas", pandas_count)]:
            count, ms = timed(fn, runs)
            rows.append((name, count, ms))

    print(f"B2 over {customers:,} customers (segcore built its audience in {segcore['build_s']} s)")
    print(f"{'engine':<16}{'count':>10}{'median':>13}{'vs segcore':>12}")
    base = rows[0][2]
    for name, count, ms in rows:
        print(f"{name:<16}{count:>10}{ms:>10.3f} ms{ms / base:>11.1f}x")
    wrong = [(name, count) for name, count, _ in rows if count != segcore["count"]]
    if wrong:
        sys.exit(f"counts differ from segcore's {segcore['count']}: {wrong}")


if __name__ == "__main__":
    main()
