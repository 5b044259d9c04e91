"""Hand-partitioned audiences on a real Dask cluster — the mechanism `segcore.dask` builds on:
customers partitioned by id, each partition's Audience built on a worker process (or built here
and shipped, pickled), segments evaluated per partition and combined — counts summed, members
concatenated, overlaps added. The combined answers must equal one audience holding everyone.
`test_dask_audience.py` tests the `segcore.dask` API itself."""

from __future__ import annotations

import zlib
from typing import Any

import pytest

import segcore

NOW = "2024-06-02T12:00:00Z"
SEGMENTS = {
    "swedes": 'country == "SE"',
    "big_spenders": "sum(purchase.amount in last 90d) > 150",
    "vip_buyers": 'tag "vip" and did purchase at least 2 times',
}


def customers() -> list[dict[str, Any]]:
    rows = []
    for i in range(300):
        events = [
            {"name": "purchase", "at": f"2024-{1 + (i + k) % 5:02d}-{1 + (i * 7 + k) % 27:02d}T10:00:00Z",
             "amount": float((i * 13 + k * 29) % 120)}
            for k in range(i % 5)
        ]
        rows.append({
            "id": f"c{i:04d}",
            "country": ["SE", "DK", "NO"][i % 3],
            "tags": ["vip"] if i % 4 == 0 else [],
            "events": events,
        })
    return rows


def build(rows: list[dict[str, Any]]) -> segcore.Audience:
    a = segcore.Audience("Europe/Stockholm")
    a.declare_event_property("purchase", "amount", "number")
    for row in rows:
        a.upsert(row["id"], {"country": row["country"]})
        for tag in row["tags"]:
            a.tag(row["id"], tag, "2024-01-01T00:00:00Z")
        for e in row["events"]:
            a.track(row["id"], e["name"], e["at"], values={"amount": e["amount"]})
    return a


def evaluate(audience: segcore.Audience, predicates: dict[str, segcore.Predicate]) -> dict[str, Any]:
    names = sorted(predicates)
    overlaps = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = f"({predicates[a]}) and ({predicates[b]})"
            overlaps[(a, b)] = audience.count(both, NOW)
    return {
        "counts": {n: audience.count(p, NOW) for n, p in predicates.items()},
        "members": {n: audience.members(p, NOW) for n, p in predicates.items()},
        "overlaps": overlaps,
    }


def build_and_evaluate(rows: list[dict[str, Any]], predicates: dict[str, segcore.Predicate]) -> dict[str, Any]:
    return evaluate(build(rows), predicates)


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {n: sum(p["counts"][n] for p in parts) for n in SEGMENTS}
    members = {n: sorted(m for p in parts for m in p["members"][n]) for n in SEGMENTS}
    overlaps = {k: sum(p["overlaps"][k] for p in parts) for k in parts[0]["overlaps"]}
    return {"counts": counts, "members": members, "overlaps": overlaps}


def test_partitions_on_a_local_cluster_equal_one_process() -> None:
    distributed = pytest.importorskip("dask.distributed")
    rows = customers()
    predicates = {n: segcore.Predicate.parse(t) for n, t in SEGMENTS.items()}
    whole = evaluate(build(rows), predicates)
    whole["members"] = {n: sorted(m) for n, m in whole["members"].items()}
    assert all(whole["counts"][n] > 0 for n in SEGMENTS)

    partitions: list[list[dict[str, Any]]] = [[], []]
    for row in rows:
        partitions[zlib.crc32(row["id"].encode()) % 2].append(row)

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        # Built on the workers from the partitions' rows.
        on_workers = client.gather(
            [client.submit(build_and_evaluate, part, predicates, pure=False) for part in partitions]
        )
        # Built here, shipped to the workers pickled, evaluated there.
        shipped = client.scatter([build(part) for part in partitions])
        from_here = client.gather([client.submit(evaluate, a, predicates, pure=False) for a in shipped])

    assert combine(on_workers) == whole
    assert combine(from_here) == whole
