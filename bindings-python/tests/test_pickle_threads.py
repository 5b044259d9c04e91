"""Audiences and predicates pickle (so Dask can ship them to worker processes) and save to
files, and several threads can query one audience at once."""

from __future__ import annotations

import pathlib
import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest

import segcore
from conftest import NOW


def test_an_audience_pickles_whole(shop: segcore.Audience) -> None:
    shop.define_decision("hero", {"rules": [{"segment": "swedes", "variant": "se"}],
                                  "default": "other", "holdout": 0.2,
                                  "variants": {"se": {"template": "Hej {{ id }}"}, "other": {}}})
    copy = pickle.loads(pickle.dumps(shop))
    assert copy.decision("hero") == shop.decision("hero")
    assert copy.decide("ada", "hero", NOW) == shop.decide("ada", "hero", NOW)
    assert type(copy) is segcore.Audience
    assert len(copy) == len(shop)
    assert copy.time_zone == shop.time_zone
    assert copy.segments() == shop.segments()
    assert copy.schema() == shop.schema()
    for id in ("ada", "bob", "cy"):
        assert copy.profile(id) == shop.profile(id)
    for segment in ("swedes", "recent_buyers", "sum(purchase.amount) > 100"):
        assert copy.members(segment, NOW) == shop.members(segment, NOW)
    # Independent afterwards.
    copy.erase("ada")
    assert "ada" in shop


class Mine(segcore.Audience):
    """A user's subclass, defined where pickle can find it."""


def test_a_subclass_pickles_as_itself() -> None:
    mine = Mine()
    mine.upsert("x", {"n": 1})
    copy = pickle.loads(pickle.dumps(mine))
    assert type(copy) is Mine and "x" in copy


def test_a_predicate_pickles() -> None:
    p = segcore.Predicate.parse('tag "vip" and sum(purchase.amount in last 30d) > 100')
    assert pickle.loads(pickle.dumps(p)) == p


def test_threads_query_at_once(shop: segcore.Audience) -> None:
    for i in range(2_000):
        shop.upsert(f"p{i}", {"country": "SE" if i % 3 else "DK", "age": i % 90})
        if i % 7 == 0:
            shop.track(f"p{i}", "purchase", "2024-05-30T10:00:00Z", values={"amount": i})
    questions = ["swedes", "age between 20 and 40", "sum(purchase.amount) > 500", "recent_buyers"]
    expected = {q: shop.members(q, NOW) for q in questions}

    def ask(i: int) -> bool:
        q = questions[i % len(questions)]
        return shop.members(q, NOW) == expected[q] and shop.count(q, NOW) == len(expected[q])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(ask, range(400)))


def test_a_writer_and_readers_at_once(shop: segcore.Audience) -> None:
    def write(i: int) -> None:
        shop.upsert(f"w{i}", {"country": "SE"})

    def read(_: int) -> int:
        return shop.count("swedes", NOW)

    with ThreadPoolExecutor(max_workers=4) as pool:
        writes = pool.map(write, range(500))
        counts = list(pool.map(read, range(500)))
        list(writes)
    assert all(2 <= c <= 502 for c in counts)
    assert shop.count("swedes", NOW) == 502


def test_save_and_load_a_file(shop: segcore.Audience, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "shop.segcore"
    shop.save(path)
    copy = segcore.Audience.load(str(path))
    assert copy.members("swedes", NOW) == shop.members("swedes", NOW)
    assert [p.name for p in tmp_path.iterdir()] == ["shop.segcore"], "no temporary file is left"
    with pytest.raises(segcore.StorageError) as missing:
        segcore.Audience.load(tmp_path / "nope.segcore")
    assert isinstance(missing.value, OSError) and missing.value.path.endswith("nope.segcore")
    (tmp_path / "junk").write_bytes(b"not an image")
    with pytest.raises(segcore.CorruptError):
        segcore.Audience.load(tmp_path / "junk")
    with pytest.raises(segcore.StorageError):
        shop.save(tmp_path / "no" / "such" / "dir.segcore")
