"""Bulk loads from pandas, pyarrow and polars tables through the Arrow C stream interface:
the same answers as record-by-record writes, nulls as no value, clear errors with the row."""

from __future__ import annotations

import datetime as dt

import pytest

import segcore

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
NOW = "2024-06-02T12:00:00Z"
UTC = dt.timezone.utc


def profiles_frame() -> object:
    return pd.DataFrame(
        {
            "id": ["ada", "bob", "cy"],
            "country": pd.Categorical(["SE", "DK", "SE"]),
            "age": [36, None, 19],
            "newsletter": [True, False, True],
            "interests": [["yoga", "hiking"], [], None],
            "signed_up": pd.to_datetime(["2023-04-01", "2024-01-15", "2024-05-30"], utc=True),
            "tags": [["vip", "interest:outdoor"], [], ["interest:running"]],
        }
    )


def events_table() -> object:
    return pa.table(
        {
            "customer": ["ada", "ada", "bob", "cy"],
            "event": ["purchase", "purchase", "purchase", "page_view"],
            "at": pa.array(
                [
                    dt.datetime(2024, 5, 30, 10, tzinfo=UTC),
                    dt.datetime(2024, 6, 1, 10, tzinfo=UTC),
                    dt.datetime(2024, 1, 10, 10, tzinfo=UTC),
                    dt.datetime(2024, 6, 2, 9, tzinfo=UTC),
                ],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "amount": [120.0, 80.0, 700.0, None],
            "category": ["shoes", "gear", None, "shoes"],
        }
    )


def by_hand() -> segcore.Audience:
    a = segcore.Audience("Europe/Stockholm")
    tagged = "2024-01-01T00:00:00Z"
    a.upsert("ada", {"country": "SE", "age": 36, "newsletter": True, "interests": ["yoga", "hiking"],
                     "signed_up": dt.datetime(2023, 4, 1, tzinfo=UTC)})
    a.tag("ada", "vip", tagged)
    a.tag("ada", "interest:outdoor", tagged)
    a.upsert("bob", {"country": "DK", "newsletter": False, "interests": [],
                     "signed_up": dt.datetime(2024, 1, 15, tzinfo=UTC)})
    a.upsert("cy", {"country": "SE", "age": 19, "newsletter": True,
                    "signed_up": dt.datetime(2024, 5, 30, tzinfo=UTC)})
    a.tag("cy", "interest:running", tagged)
    a.track("ada", "purchase", "2024-05-30T10:00:00Z", values={"amount": 120.0}, properties={"category": "shoes"})
    a.track("ada", "purchase", "2024-06-01T10:00:00Z", values={"amount": 80.0}, properties={"category": "gear"})
    a.track("bob", "purchase", "2024-01-10T10:00:00Z", values={"amount": 700.0})
    a.track("cy", "page_view", "2024-06-02T09:00:00Z", properties={"category": "shoes"})
    return a


QUESTIONS = [
    'country == "SE"',
    "age missing",
    "newsletter == false",
    'interests contains "yoga"',
    "signed_up after @2024-01-01",
    'tag "interest:*"',
    "sum(purchase.amount) > 500",
    'did purchase where category == "gear"',
    'did page_view where category == "shoes"',
]


def test_tables_load_like_writes_by_hand() -> None:
    a = segcore.Audience("Europe/Stockholm")
    assert a.load_profiles(profiles_frame(), tags="tags", tagged_at="2024-01-01T00:00:00Z") == 3
    assert a.load_events(events_table(), id="customer", name="event", time="at") == 4
    hand = by_hand()
    for id in ("ada", "bob", "cy"):
        assert a.profile(id) == hand.profile(id), id
    for q in QUESTIONS:
        assert a.members(q, NOW) == hand.members(q, NOW), q


def test_polars_frames_and_string_times() -> None:
    pl = pytest.importorskip("polars")
    a = segcore.Audience()
    a.load_profiles(pl.DataFrame({"id": [1, 2], "plan": ["pro", None]}))
    assert a.members('plan == "pro"', NOW) == ["1"]
    events = pl.DataFrame(
        {
            "id": ["1", "2"],
            "name": ["login", "login"],
            "time": ["2024-06-01T08:00:00Z", "2024-06-02T08:00:00+02:00"],
            "seconds": [3.5, 7.0],
        }
    )
    assert a.load_events(events) == 2
    assert a.count("did login in last 2d", NOW) == 2
    assert a.count("did login in last 1d", NOW) == 1
    assert a.count("max(login.seconds) > 5", NOW) == 1


def test_batches_and_progress() -> None:
    n = 10_000
    table = pa.table({"id": [f"p{i}" for i in range(n)], "score": list(range(n))})
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=999))
    seen: list[int] = []
    a = segcore.Audience()
    assert a._load_profiles(reader, progress=seen.append) == n
    assert seen[-1] == n and len(seen) == 11
    assert a.count("score >= 5000", NOW) == 5_000
    # progress=True works with or without tqdm installed.
    assert segcore.Audience().load_profiles(table, progress=True) == n


def test_bad_tables_give_clear_errors() -> None:
    a = segcore.Audience()
    with pytest.raises(TypeError, match="Arrow C stream"):
        a.load_profiles([{"id": "x"}])
    with pytest.raises(KeyError, match="has no column `id`; it has who"):
        a.load_profiles(pa.table({"who": ["x"]}))
    with pytest.raises(ValueError, match="null in row 1"):
        a.load_profiles(pa.table({"id": ["x", None]}))
    a.load_profiles(pa.table({"id": ["x"], "age": [30]}))
    with pytest.raises(segcore.SchemaError) as info:
        a.load_profiles(pa.table({"id": ["y", "z"], "age": ["old", "older"]}))
    assert info.value.row == 0
    assert "y" not in a
    # A row the core refuses stops the load there; the rows before it stay loaded.
    with pytest.raises(segcore.InvalidValueError) as bad_tag:
        a.load_profiles(pa.table({"id": ["y", "z"], "tags": [["ok"], ["bad*"]]}), tags="tags")
    assert bad_tag.value.row == 1
    assert "y" in a and "z" not in a
    with pytest.raises(ValueError, match="not an instant"):
        a.load_events(pa.table({"id": ["x"], "name": ["e"], "time": ["yesterday"]}))


def test_events_in_any_order_load_as_tracked_one_by_one() -> None:
    import random

    rng = random.Random(3)
    rows = 600
    ids = [f"p{rng.randrange(20)}" for _ in range(rows)]
    # Three years, many ties, no order.
    secs = [1_700_000_000 + rng.randrange(1_000) * 94_000 for _ in range(rows)]
    amounts = [float(rng.randrange(1, 500)) if rng.random() < 0.7 else None for _ in range(rows)]
    skus = [rng.choice(["A", "B", None]) for _ in range(rows)]
    table = pa.table(
        {
            "id": ids,
            "name": ["purchase"] * rows,
            "time": pa.array([s * 1000 for s in secs], pa.timestamp("ms", tz="UTC")),
            "amount": amounts,
            "sku": pa.array(skus).dictionary_encode(),
        }
    )
    bulk = segcore.Audience()
    assert bulk.load_events(table.to_reader(max_chunksize=128)) == rows
    hand = segcore.Audience()
    for i in range(rows):
        hand.track(
            ids[i],
            "purchase",
            dt.datetime.fromtimestamp(secs[i], UTC),
            values={} if amounts[i] is None else {"amount": amounts[i]},
            properties={} if skus[i] is None else {"sku": skus[i]},
        )
    for id in set(ids):
        assert bulk.profile(id) == hand.profile(id), id


def test_events_in_many_batches_load_as_one_group() -> None:
    n = 3_000
    columns = {
        "id": [f"p{i % 700}" for i in range(n)],
        "name": ["visit"] * n,
        "time": [float(1_700_000_000 + i) for i in range(n)],
    }
    seen: list[int] = []
    a = segcore.Audience()
    assert a._load_events(pa.table(columns).to_reader(max_chunksize=400), progress=seen.append) == n
    # One group: the seven batches are written together, then progress is told.
    assert seen == [n]
    assert a.count("did visit at least 5 times in last 10000d", NOW) == 200
    # A row refused in a later batch is named by its row in the table; the rows before it,
    # in earlier batches too, stay loaded.
    b = segcore.Audience()
    bad = pa.table({**columns, "ok": [True if i == 2_500 else None for i in range(n)]})
    with pytest.raises(segcore.InvalidValueError) as refused:
        b.load_events(bad.to_reader(max_chunksize=400))
    assert refused.value.row == 2_500
    assert b.count("did visit at least 4 times in last 10000d", NOW) == 400


def test_a_property_no_event_can_hold_stops_the_load_at_its_row() -> None:
    a = segcore.Audience()
    table = pa.table(
        {"id": ["x", "y", "z"], "name": ["e"] * 3, "time": [1.0, 2.0, 3.0], "ok": [None, True, None]}
    )
    with pytest.raises(segcore.InvalidValueError, match="must be a string or a number") as bad:
        a.load_events(table)
    assert bad.value.row == 1
    assert "x" in a and "y" not in a and "z" not in a
