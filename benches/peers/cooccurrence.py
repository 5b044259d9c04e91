"""Pair co-occurrence beside mlxtend and polars: the same baskets, the same minimum support,
one run; every engine's pair count must equal segcore's, or the script fails.

segcore's figure comes from the `cooccurrence` example (Rust), which generates the baskets
(33,841 over 1,587 items by default, the shape of the usual market-basket benchmark), times
`Audience::co_occurrence` (median of 11 runs) and writes the baskets as CSV for the peers.
The peers read the CSV into memory first and are timed on the counting only:

- mlxtend `apriori` and `fpgrowth` with `max_len=2` on the one-hot basket matrix (what its
  documentation prescribes; the one-hot encoding is not timed);
- polars: items below the minimum support dropped, a self-join on the basket, pairs counted
  and filtered (median of 5 runs).

Usage:  python benches/peers/cooccurrence.py [baskets] [items] [min_support]
Needs:  pip install mlxtend polars pandas
"""

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(fn, runs):
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> None:
    baskets = int(sys.argv[1]) if len(sys.argv) > 1 else 33_841
    items = int(sys.argv[2]) if len(sys.argv) > 2 else 1_587
    support = float(sys.argv[3]) if len(sys.argv) > 3 else 0.005
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "baskets.csv")
        run = subprocess.run(
            ["cargo", "run", "--release", "-q", "-p", "segcore-benches", "--example",
             "cooccurrence", "--", str(baskets), str(items), str(support), csv],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        lines = run.stdout.strip().splitlines()
        print(lines[0])
        ours = json.loads(lines[-1])

        import pandas as pd
        import polars as pl
        from mlxtend.frequent_patterns import apriori, fpgrowth
        from mlxtend.preprocessing import TransactionEncoder

        df = pl.read_csv(csv)
        total = df["basket"].n_unique()
        min_count = math.ceil(support * total - 1e-9)

        def polars_pairs() -> int:
            counts = df.group_by("item").len()
            frequent = counts.filter(pl.col("len") >= min_count)["item"]
            d = df.filter(pl.col("item").is_in(frequent.implode()))
            joined = d.join(d, on="basket", suffix="_b").filter(pl.col("item") < pl.col("item_b"))
            return joined.group_by(["item", "item_b"]).len().filter(pl.col("len") >= min_count).height

        transactions = df.group_by("basket").agg(pl.col("item"))["item"].to_list()
        encoder = TransactionEncoder()
        onehot = pd.DataFrame(encoder.fit(transactions).transform(transactions),
                              columns=encoder.columns_)

        def mlxtend_pairs(algorithm) -> int:
            found = algorithm(onehot, min_support=support, use_colnames=True, max_len=2)
            return int((found["itemsets"].map(len) == 2).sum())

        rows = [("segcore (Rust)", ours["segcore_seconds"], ours["pairs"])]
        seconds, pairs = timed(polars_pairs, 5)
        rows.append(("polars self-join", seconds, pairs))
        seconds, pairs = timed(lambda: mlxtend_pairs(fpgrowth), 1)
        rows.append(("mlxtend fpgrowth (max_len=2)", seconds, pairs))
        seconds, pairs = timed(lambda: mlxtend_pairs(apriori), 1)
        rows.append(("mlxtend apriori (max_len=2)", seconds, pairs))

        print(f"{'engine':<32} {'seconds':>10} {'pairs':>8} {'vs segcore':>11}")
        for name, seconds, pairs in rows:
            print(f"{name:<32} {seconds:>10.4f} {pairs:>8} {seconds / ours['segcore_seconds']:>10.1f}x")
        for name, _, pairs in rows[1:]:
            if pairs != ours["pairs"]:
                sys.exit(f"{name} found {pairs} pairs, segcore {ours['pairs']}")


if __name__ == "__main__":
    main()
