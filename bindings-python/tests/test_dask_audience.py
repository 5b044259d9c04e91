"""segcore.dask on a LocalCluster with two worker processes: every answer of a
DistributedAudience equals one in-process Audience built from the same data — counts, members,
sizes, overlaps, KPIs (rates exactly, values to rounding), live transitions — including the
shared conformance corpus; and a worker killed between queries either leaves a correct answer
after Dask's recomputation or raises, never a partial count."""

from __future__ import annotations

import json
import os
import signal
from typing import Any, Iterator

import pytest

import segcore
from test_conformance import FILES, load

distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")

from segcore.dask import DistributedAudience  # noqa: E402

NOW = "2024-06-30T12:00:00Z"
SEGMENTS = {
    "swedes": 'country == "SE"',
    "young": "age < 30",
    "buyers": "did purchase in last 30d",
    "big_spenders": "sum(purchase.amount in last 90d) > 150",
    "vip_buyers": 'tag "vip" and did purchase at least 2 times',
    "swedish_buyers": "segment swedes and segment buyers",
}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:
        yield c


def frames(customers: int = 600) -> tuple[Any, Any]:
    profiles = pd.DataFrame(
        {
            "id": [f"c{i:05d}" for i in range(customers)],
            "country": [["SE", "DK", "NO"][i % 3] for i in range(customers)],
            "age": [float(18 + (i * 7) % 60) for i in range(customers)],
            # An Arrow list type: Dask would turn Python lists into their text.
            "tags": pd.Series(
                [["vip"] if i % 5 == 0 else [] for i in range(customers)],
                dtype=pd.ArrowDtype(pa.list_(pa.string())),
            ),
        }
    )
    rows = []
    for i in range(customers):
        for k in range(i % 6):
            day = 1 + (i * 3 + k * 11) % 29
            rows.append(
                {
                    "id": f"c{i:05d}",
                    "name": "purchase" if k % 2 == 0 else "page_view",
                    "time": pd.Timestamp(f"2024-06-{day:02d}T{(i + k) % 24:02d}:00:00Z"),
                    "amount": float((i * 13 + k * 29) % 120),
                }
            )
    return profiles, pd.DataFrame(rows)


def one_process(profiles: Any, events: Any) -> segcore.Audience:
    a = segcore.Audience("UTC")
    a.load_profiles(profiles, id="id", tags="tags", tagged_at="2024-01-01T00:00:00Z")
    a.load_events(events, id="id", name="name", time="time")
    for name, text in SEGMENTS.items():
        a.define(name, text)
    return a


def test_answers_equal_one_process(client: Any) -> None:
    profiles, events = frames()
    whole = one_process(profiles, events)
    # Different partitionings of the two frames: the shuffle brings each customer together.
    spread = DistributedAudience.from_dask(
        dd.from_pandas(profiles, npartitions=3),
        dd.from_pandas(events, npartitions=5),
        tags="tags",
        tagged_at="2024-01-01T00:00:00Z",
        shards=4,
        time_zone="UTC",
        client=client,
    )
    for name, text in SEGMENTS.items():
        spread.define(name, text)
    assert len(spread) == len(whole) == 600
    assert spread.shards == 4

    for name in [*SEGMENTS, 'tag "vip" and country in ["SE", "NO"]']:
        want = sorted(whole.members(name, NOW))
        assert spread.count(name, NOW) == len(want), name
        assert list(spread.members(name, NOW)) == want, name
    lazy = spread.members("buyers", NOW, compute=False)
    assert sorted(lazy.compute()) == sorted(whole.members("buyers", NOW))

    pd.testing.assert_frame_equal(spread.sizes(NOW), whole.sizes(NOW).sort_values("segment").reset_index(drop=True))
    for measure in ("count", "jaccard", "share"):
        pd.testing.assert_frame_equal(
            spread.overlap(["swedes", "buyers", "young"], NOW, measure),
            whole.overlap(["swedes", "buyers", "young"], NOW, measure),
        )

    bought = segcore.Outcome.converts("did purchase in last 7d", at=NOW)
    spent = segcore.Outcome.sum("purchase", "amount", "2024-06-01T00:00:00Z", NOW)
    wanted = ["swedes", "young", "big_spenders"]
    # Rates merge exactly; means and variances merge to rounding (Welford, not averages).
    pd.testing.assert_frame_equal(spread.kpis(wanted, bought, now="2024-06-20T00:00:00Z"),
                                  whole.kpis(wanted, bought, now="2024-06-20T00:00:00Z"))
    pd.testing.assert_frame_equal(spread.kpis(wanted, spent, now="2024-06-20T00:00:00Z"),
                                  whole.kpis(wanted, spent, now="2024-06-20T00:00:00Z"),
                                  check_exact=False, rtol=1e-9)

    for a, b in (("swedes", None), ("swedes", "young")):
        assert spread.compare(a, bought, b, now="2024-06-20T00:00:00Z") == whole.compare(
            a, bought, b, now="2024-06-20T00:00:00Z"
        )

    # Live membership: the shards' transitions, merged in time order, are the whole's.
    whole.start_live("2024-06-20T00:00:00Z")
    spread.start_live("2024-06-20T00:00:00Z")
    moved = spread.advance_to(NOW)
    want = sorted((t.at_ns, t.profile, t.segment, t.direction) for t in whole.advance_to(NOW))
    got = [(int(r.at.value), r.profile, r.segment, r.direction) for r in moved.itertuples()]
    assert got == want and len(want) > 0

    with pytest.raises(segcore.UnknownNameError) as e:
        spread.define("typo", "contry == \"SE\"")
    assert e.value.suggestion == "country"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_conformance_corpus_across_shards(client: Any, path: Any) -> None:
    data = json.loads(path.read_text())
    whole = load(data)
    spread = DistributedAudience.scatter(whole, 3, client=client)
    checked = 0
    for case in data["cases"]:
        if "error" in case:
            continue
        now = case.get("now", data["now"])
        expect = sorted(case["expect"])
        assert list(spread.members(case["text"], now)) == expect, case["name"]
        assert spread.count(case["text"], now) == len(expect), case["name"]
        checked += 1
    assert checked > 20


def test_a_killed_worker_is_recomputed_or_raises(client: Any) -> None:
    profiles, events = frames(300)
    whole = one_process(profiles, events)
    spread = DistributedAudience.from_dask(
        dd.from_pandas(profiles, npartitions=2),
        dd.from_pandas(events, npartitions=2),
        tags="tags",
        tagged_at="2024-01-01T00:00:00Z",
        shards=4,
        client=client,
    )
    for name, text in SEGMENTS.items():
        spread.define(name, text)
    want = whole.count("big_spenders", NOW)
    assert spread.count("big_spenders", NOW) == want
    # Kill one worker process outright; the nanny starts another, Dask recomputes its shards
    # from the graph (the shuffle and the build), and the segments are defined there again.
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)
    try:
        got = spread.count("big_spenders", NOW)
    except Exception as e:  # a clear error is acceptable; a wrong count is not
        assert not isinstance(e, AssertionError)
        return
    assert got == want
    assert sorted(spread.members("swedish_buyers", NOW)) == sorted(whole.members("swedish_buyers", NOW))
    client.wait_for_workers(2, timeout=60)


def test_shards_are_stable_and_bounded() -> None:
    ids = ["ada", "bob", "c00001"]
    assert list(segcore.shard_of(ids, 8)) == list(segcore.shard_of(ids, 8))
    assert all(0 <= s < 8 for s in segcore.shard_of(ids, 8))
    with pytest.raises(segcore.InvalidValueError):
        segcore.shard_of(ids, 0)
    a = segcore.Audience.sample_shop(200)
    parts = a.split(3)
    assert sum(len(p) for p in parts) == 200 and all(isinstance(p, segcore.Audience) for p in parts)
    for p, k in zip(parts, range(3)):
        assert all(s == k for s in segcore.shard_of([i for i in p.members("country exists", segcore.SAMPLE_NOW)], 3))


def test_co_partitioned_frames_build_without_a_shuffle(client: Any) -> None:
    from dask import delayed

    profiles, events = frames(200)
    whole = one_process(profiles, events)
    # Partition k of both frames holds shard k's customers, as Parquet written per shard would.
    pieces = [
        (profiles[segcore.shard_of(list(profiles["id"]), 2) == k],
         events[segcore.shard_of(list(events["id"]), 2) == k])
        for k in range(2)
    ]
    spread = DistributedAudience.from_partitions(
        dd.from_delayed([delayed(p) for p, _ in pieces], meta=profiles.iloc[:0]),
        dd.from_delayed([delayed(e) for _, e in pieces], meta=events.iloc[:0]),
        tags="tags",
        tagged_at="2024-01-01T00:00:00Z",
        client=client,
    )
    spread.define("big_spenders", SEGMENTS["big_spenders"])
    assert spread.shards == 2 and len(spread) == 200
    assert list(spread.members("big_spenders", NOW)) == sorted(whole.members("big_spenders", NOW))
    with pytest.raises(ValueError, match="same number of partitions"):
        DistributedAudience.from_partitions(
            dd.from_pandas(profiles, npartitions=2), dd.from_pandas(events, npartitions=3), client=client
        )


def _stop_live(a: segcore.Audience) -> None:
    a.stop_live()


def test_live_transitions_survive_a_shard_that_lost_its_live_state(client: Any) -> None:
    # Dask may run a task where it copied a shard (work moved under load); a copy carries no
    # live membership. The handle keeps the clock, so such a shard starts again there.
    whole = one_process(*frames(300))
    spread = DistributedAudience.scatter(whole, 3, client=client)
    for name, text in SEGMENTS.items():
        whole.define(name, text)
        spread.define(name, text)
    whole.start_live("2024-06-20T00:00:00Z")
    spread.start_live("2024-06-20T00:00:00Z")
    # Plant: the shards lose their live state, as copies would.
    client.gather([client.submit(_stop_live, shard, pure=False) for shard in spread._shards])
    moved = spread.advance_to(NOW)
    want = sorted((t.at_ns, t.profile, t.segment, t.direction) for t in whole.advance_to(NOW))
    got = [(int(r.at.value), r.profile, r.segment, r.direction) for r in moved.itertuples()]
    assert got == want and len(want) > 0
    with pytest.raises(segcore.NotLiveError):
        DistributedAudience.scatter(whole, 2, client=client).advance_to(NOW)
