"""The event store beside DuckDB and polars, on data shaped like a real shop's and not like our
indexes: load time, peak memory, time to the first answer, and windowed questions.

The data (numpy, seeded) has three years of history — longer than every window asked about —
a long-tailed number of events per profile (log-normal, σ = 1.5: the median profile does a
third of the mean, a few do thousands), and events in random order (no engine gets them sorted
by profile or time). 30% of events are purchases with an integer amount (so every engine's sums
are exact and the counts must be equal); the rest are page views.

Each engine runs in its own process, one after another, on the same Arrow tables read from
IPC files: segcore through its documented bulk path (`load_profiles`, `load_events`; string ids,
as its API takes them), DuckDB and polars in their fastest fair form (integer ids, times as
integer milliseconds, queries as one aggregation each). Every engine's count must equal
segcore's, or the script fails.

Usage:  python benches/peers/events.py [profiles] [mean events per profile] [engines...]
        (default 1,000,000 profiles, 10 events each; engines segcore duckdb polars)
Needs:  pip install polars duckdb pyarrow numpy  (and ./bindings-python for segcore)
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

DAY_MS = 86_400_000
NOW_MS = 1_793_534_400_000  # 2026-11-01T12:00:00Z
# October 2026, the calendar month before NOW, in UTC.
OCTOBER = (1_790_812_800_000, 1_793_491_200_000)
HISTORY_DAYS = 3 * 365
SPREAD = 1.5

# (label, segcore text); the peers' forms are in sql_questions and polars_questions, in order.
QUESTIONS = [
    (
        "B3",
        "did purchase at least 2 times in last 30d and sum(purchase.amount in last 365d) > 500",
    ),
    ("count 90d", "did purchase at least 3 times in last 90d"),
    ("avg 7d", "avg(purchase.amount in last 7d) >= 200"),
    ("max 365d", "max(purchase.amount in last 365d) > 450"),
    ("sum last calendar month", "sum(purchase.amount in last calendar month) > 300"),
]


def generate(profiles, mean, directory):
    """Writes profiles.arrow, events.arrow (string ids, timestamps) and events_int.arrow
    (integer ids, integer milliseconds) into `directory`; returns the number of events."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.ipc as ipc

    rng = np.random.default_rng(42)
    counts = np.rint(mean * np.minimum(rng.lognormal(-SPREAD**2 / 2, SPREAD, profiles), 1000))
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(profiles, dtype=np.int64), counts)
    rng.shuffle(owner)
    n = len(owner)
    at_ms = NOW_MS - rng.integers(0, HISTORY_DAYS * DAY_MS, n)
    purchase = rng.random(n) < 0.3
    amount = np.rint(10 + rng.random(n) * rng.random(n) * 490)
    ids = pa.array([f"c{i:08d}" for i in range(profiles)])
    countries = np.array(["SE", "DK", "NO", "FI", "DE", "US"])

    def write(name, table):
        with ipc.new_file(os.path.join(directory, name), table.schema) as out:
            for batch in table.to_batches(max_chunksize=1_000_000):
                out.write_batch(batch)

    write(
        "profiles.arrow",
        pa.table(
            {
                "id": ids,
                "country": pa.array(countries[rng.integers(0, 6, profiles)]),
                "age": pa.array(rng.integers(18, 80, profiles).astype(np.float64)),
            }
        ),
    )
    names = pa.DictionaryArray.from_arrays(
        pa.array(purchase.astype(np.int8)), pa.array(["page_view", "purchase"])
    ).cast(pa.string())
    amounts = pa.array(amount, mask=~purchase)
    write(
        "events.arrow",
        pa.table(
            {
                "id": ids.take(pa.array(owner)),
                "name": names,
                "time": pa.array(at_ms, pa.timestamp("ms", tz="UTC")),
                "amount": amounts,
            }
        ),
    )
    write(
        "events_int.arrow",
        pa.table({"pid": owner, "name": names, "at_ms": at_ms, "amount": amounts}),
    )
    return n


def read(directory, name):
    import pyarrow.ipc as ipc

    with ipc.open_file(os.path.join(directory, name)) as f:
        return f.read_all()


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, runs=3):
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return result, statistics.median(samples) * 1e3


def window(days):
    return NOW_MS - days * DAY_MS, NOW_MS


def sql_questions():
    """Each question as DuckDB SQL over `events(pid, name, at_ms, amount)`."""

    def having(lo, hi, test):
        return (
            f"SELECT count(*) FROM (SELECT pid FROM events WHERE name = 'purchase' "
            f"AND at_ms BETWEEN {lo} AND {hi} GROUP BY pid HAVING {test})"
        )

    lo30, hi = window(30)
    lo365, _ = window(365)
    b3 = (
        "SELECT count(*) FROM (SELECT pid, "
        f"count(*) FILTER (WHERE at_ms >= {lo30}) AS recent, "
        "sum(amount) AS spend "
        f"FROM events WHERE name = 'purchase' AND at_ms BETWEEN {lo365} AND {hi} GROUP BY pid) "
        "WHERE recent >= 2 AND spend > 500"
    )
    return [
        b3,
        having(*window(90), "count(*) >= 3"),
        having(*window(7), "avg(amount) >= 200"),
        having(*window(365), "max(amount) > 450"),
        having(OCTOBER[0], OCTOBER[1] - 1, "sum(amount) > 300"),
    ]


def polars_questions(events):
    import polars as pl

    bought = events.filter(pl.col("name") == "purchase")

    def having(lo, hi, agg):
        return lambda: (
            bought.filter(pl.col("at_ms").is_between(lo, hi)).group_by("pid").agg(agg.alias("x"))
            .filter(pl.col("x")).height
        )

    lo30, hi = window(30)
    lo365, _ = window(365)

    def b3():
        return (
            bought.filter(pl.col("at_ms").is_between(lo365, hi))
            .group_by("pid")
            .agg((pl.col("at_ms") >= lo30).sum().alias("recent"), pl.col("amount").sum().alias("spend"))
            .filter((pl.col("recent") >= 2) & (pl.col("spend") > 500))
            .height
        )

    return [
        b3,
        having(*window(90), pl.len() >= 3),
        having(*window(7), pl.col("amount").mean() >= 200),
        having(*window(365), pl.col("amount").max() > 450),
        having(OCTOBER[0], OCTOBER[1] - 1, pl.col("amount").sum() > 300),
    ]


def run_engine(engine, directory):
    """In a process of its own: load, answer each question, report JSON on stdout."""
    if engine == "segcore":
        import segcore

        profiles, events = read(directory, "profiles.arrow"), read(directory, "events.arrow")
        input_mb = peak_mb()
        start = time.perf_counter()
        audience = segcore.Audience()
        audience.load_profiles(profiles)
        print(f"segcore: profiles loaded in {time.perf_counter() - start:.2f} s", file=sys.stderr)
        audience.load_events(events)
        load_s = time.perf_counter() - start
        now = NOW_MS / 1000
        questions = [lambda text=text: audience.count(text, now) for _, text in QUESTIONS]
    elif engine == "duckdb":
        import duckdb

        events = read(directory, "events_int.arrow")
        input_mb = peak_mb()
        start = time.perf_counter()
        con = duckdb.connect()
        con.register("arrow_events", events)
        con.execute("CREATE TABLE events AS SELECT * FROM arrow_events")
        con.unregister("arrow_events")
        load_s = time.perf_counter() - start
        questions = [lambda sql=sql: con.execute(sql).fetchone()[0] for sql in sql_questions()]
    elif engine == "polars":
        import polars as pl

        table = read(directory, "events_int.arrow")
        input_mb = peak_mb()
        start = time.perf_counter()
        events = pl.from_arrow(table).with_columns(pl.col("name").cast(pl.Categorical))
        load_s = time.perf_counter() - start
        questions = polars_questions(events)
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    start = time.perf_counter()
    first = questions[0]()
    first_s = time.perf_counter() - start
    answers = [timed(q) for q in questions]
    print(
        json.dumps(
            {
                "load_s": load_s,
                "first_b3_s": first_s,
                "peak_mb": peak_mb(),
                "input_mb": input_mb,
                "first": first,
                "answers": answers,
            }
        )
    )


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--engine":
        run_engine(sys.argv[2], sys.argv[3])
        return
    profiles = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    mean = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    engines = sys.argv[3:] or ["segcore", "duckdb", "polars"]
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        n = generate(profiles, mean, directory)
        print(f"{profiles:,} profiles, {n:,} events over {HISTORY_DAYS} days, random order "
              f"(generated in {time.perf_counter() - start:.1f} s)")
        results = {}
        for engine in engines:
            out = subprocess.run(
                [sys.executable, __file__, "--engine", engine, directory],
                check=True, capture_output=True, text=True,
            )
            sys.stderr.write(out.stderr)
            results[engine] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\n{'':24}" + "".join(f"{e:>14}" for e in engines))
    for label, key, fmt in [
        ("load (s)", "load_s", "{:.2f}"),
        ("first B3 answer (s)", "first_b3_s", "{:.3f}"),
        ("load + first B3 (s)", None, "{:.2f}"),
        ("peak memory (MB)", "peak_mb", "{:.0f}"),
        ("  of it the input (MB)", "input_mb", "{:.0f}"),
    ]:
        cells = []
        for e in engines:
            r = results[e]
            value = r["load_s"] + r["first_b3_s"] if key is None else r[key]
            cells.append(fmt.format(value))
        print(f"{label:24}" + "".join(f"{c:>14}" for c in cells))
    for i, (label, _) in enumerate(QUESTIONS):
        cells = [f"{results[e]['answers'][i][1]:.2f} ms" for e in engines]
        print(f"{label + ' (median)':24}" + "".join(f"{c:>14}" for c in cells))
    for i, (label, text) in enumerate(QUESTIONS):
        counts = {e: results[e]["answers"][i][0] for e in engines}
        print(f"  {label}: {text} -> {counts[engines[0]]:,}")
        if len(set(counts.values())) != 1:
            raise SystemExit(f"counts differ for {label}: {counts}")
    if len({results[e]["first"] for e in engines}) != 1:
        raise SystemExit("first B3 answers differ")


if __name__ == "__main__":
    main()
