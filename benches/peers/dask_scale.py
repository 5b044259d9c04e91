"""segcore.dask at scale: build and query a DistributedAudience of 10M customers and 100M
events on a LocalCluster of 1 and then 2 worker processes (one thread each), and project the
cost per 1B events from the per-partition figures.

The data are generated on the workers, partition by partition (`dask.dataframe.from_map`),
already co-partitioned by customer, and built with `DistributedAudience.from_partitions` (no
shuffle): what reading Parquet written per shard costs, minus the reading. A smaller
`from_dask` run (a tenth of the customers, shuffled by shard from frames partitioned otherwise)
measures what the shuffle adds. Queries: a count of B3's behavioural segment (two or more
purchases in the last 30 days and more than 500 spent over 365 days), a tag-and-attribute
count, sizes of three segments, and a KPI report. Memory per worker is each worker process's
resident set after the build.

Usage:  python benches/peers/dask_scale.py [customers] [events per customer] [partitions]
        (default 10,000,000 customers, 10 events each, 8 partitions)
Needs:  pip install "dask[distributed]" pandas pyarrow psutil  and ./bindings-python
"""

import statistics
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa

NOW = pd.Timestamp("2026-11-01T12:00:00Z")
DAY = 86_400


def profiles_part(k, customers, partitions):
    ids = np.arange(k, customers, partitions)
    rng = np.random.default_rng(1000 + k)
    return pd.DataFrame(
        {
            "id": pd.array([f"c{i:08d}" for i in ids], dtype=pd.ArrowDtype(pa.string())),
            "country": pd.Categorical.from_codes(rng.integers(0, 6, len(ids)), ["SE", "DK", "NO", "FI", "DE", "US"])
            .astype(str),
            "age": rng.integers(18, 80, len(ids)).astype("float64"),
            "tags": pd.Series(
                [["vip"] if r < 5 else (["interest:running"] if r < 30 else []) for r in rng.integers(0, 100, len(ids))],
                dtype=pd.ArrowDtype(pa.list_(pa.string())),
            ),
        }
    )


def events_part(k, customers, partitions, per_customer):
    ids = np.arange(k, customers, partitions)
    rng = np.random.default_rng(2000 + k)
    n = len(ids) * per_customer
    who = np.repeat(ids, per_customer)
    return pd.DataFrame(
        {
            "id": pd.array([f"c{i:08d}" for i in who], dtype=pd.ArrowDtype(pa.string())),
            "name": np.where(rng.integers(0, 10, n) < 3, "purchase", "page_view"),
            "time": pd.to_datetime(int(NOW.timestamp()) - rng.integers(0, 365 * DAY, n), unit="s", utc=True),
            "amount": np.round(rng.random(n) * 300.0, 2),
        }
    )


def rss(_=None):
    import psutil

    return psutil.Process().memory_info().rss


def timed(fn, runs=3):
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return result, statistics.median(samples)


def run(workers, customers, per_customer, partitions, shuffle):
    import dask.dataframe as dd
    from distributed import Client, LocalCluster, wait

    import segcore
    from segcore.dask import DistributedAudience

    with LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit=0, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        profiles = dd.from_map(profiles_part, range(partitions), customers=customers, partitions=partitions)
        events = dd.from_map(events_part, range(partitions), customers=customers, partitions=partitions,
                             per_customer=per_customer)
        start = time.perf_counter()
        if shuffle:
            spread = DistributedAudience.from_dask(profiles, events, tags="tags", tagged_at="2024-01-01T00:00:00Z",
                                                   shards=partitions, client=client)
        else:
            spread = DistributedAudience.from_partitions(profiles, events, tags="tags",
                                                         tagged_at="2024-01-01T00:00:00Z", client=client)
        wait(spread._shards)
        build = time.perf_counter() - start
        memory = sorted(client.run(rss).values())
        assert len(spread) == customers

        spread.define("b3", "did purchase at least 2 times in last 30d and sum(purchase.amount in last 365d) > 500")
        spread.define("running_nordics", 'tag "interest:running" and country in ["SE", "DK", "NO", "FI"] and age between 25 and 45')
        spread.define("vips", 'tag "vip"')
        b3, t_b3 = timed(lambda: spread.count("b3", NOW))
        b2, t_b2 = timed(lambda: spread.count("running_nordics", NOW))
        _, t_sizes = timed(lambda: spread.sizes(NOW))
        outcome = segcore.Outcome.converts("did purchase in last 7d", at=NOW)
        _, t_kpis = timed(lambda: spread.kpis(["vips", "running_nordics"], outcome, now=NOW - pd.Timedelta(days=7)))
        return {
            "workers": workers, "customers": customers, "events": customers * per_customer,
            "partitions": partitions, "shuffle": shuffle, "build_s": build,
            "rss_gb": [m / 1e9 for m in memory], "b3": b3, "b3_s": t_b3, "b2": b2, "b2_s": t_b2,
            "sizes_s": t_sizes, "kpis_s": t_kpis,
        }


def main():
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    per_customer = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    partitions = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    rows = []
    for workers in (2, 1):
        rows.append(run(workers, customers, per_customer, partitions, shuffle=False))
        print(rows[-1], flush=True)
    small = max(customers // 10, partitions)
    rows.append(run(2, small, per_customer, partitions, shuffle=True))
    print(rows[-1], flush=True)
    rows.append(run(2, small, per_customer, partitions, shuffle=False))
    print(rows[-1], flush=True)

    print(f"\n{'run':<40} {'build':>8} {'per 1M ev':>10} {'RSS/worker':>18} {'B3 count':>9} {'B2 count':>9} {'sizes':>7} {'kpis':>7}")
    for r in rows:
        label = f"{r['workers']} worker(s), {r['customers']/1e6:g}M cust / {r['events']/1e6:g}M ev{' shuffled' if r['shuffle'] else ''}"
        per_m = r["build_s"] / (r["events"] / 1e6)
        mem = "/".join(f"{m:.1f}" for m in r["rss_gb"]) + " GB"
        print(f"{label:<40} {r['build_s']:>7.1f}s {per_m:>9.2f}s {mem:>18} {r['b3_s']:>8.2f}s {r['b2_s']:>8.2f}s "
              f"{r['sizes_s']:>6.2f}s {r['kpis_s']:>6.2f}s")
    big = [r for r in rows if r["customers"] == customers and not r["shuffle"]]
    for r in big:
        scale = 1e9 / r["events"]
        print(f"projected per 1B events with {r['workers']} worker(s): build {r['build_s'] * scale / 60:.0f} min, "
              f"memory {sum(r['rss_gb']) * scale:.0f} GB in all, B3 count {r['b3_s'] * scale:.1f} s "
              f"(on {r['workers']} core(s); add workers and memory linearly)")


if __name__ == "__main__":
    main()
