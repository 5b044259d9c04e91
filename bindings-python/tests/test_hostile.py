"""Hostile input: every case ends in a typed error (or a documented answer), promptly, with the
audience unchanged. The shared corpus in testdata/hostile/ is also run by the Rust and Node
suites; the rest are the Python halves of the classes reported against the bindings."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import threading
import time
from typing import Any, Callable

import pytest

import segcore
from conftest import NOW, ROOT

EARLIEST = "0001-01-01T00:00:00Z"
LATEST = "9999-12-30T22:00:00.999999999Z"
CORPUS = json.loads((ROOT / "testdata" / "hostile" / "predicates.json").read_text("utf-8"))
KINDS = {
    "parse": segcore.ParseError,
    "unknown_name": segcore.UnknownNameError,
    "type": segcore.SchemaError,
    "invalid_value": segcore.InvalidValueError,
    "too_deep": segcore.TooDeepError,
}


def corpus_audience() -> segcore.Audience:
    spec = CORPUS["audience"]
    a = segcore.Audience(spec["time_zone"])
    for p in spec["profiles"]:
        attrs = {
            k: dt.datetime.fromisoformat(v["timestamp"].replace("Z", "+00:00"))
            if isinstance(v, dict) else v
            for k, v in p["attributes"].items()
        }
        a.upsert(p["id"], attrs)
        for tag in p.get("tags", []):
            a.tag(p["id"], tag, NOW)
        for e in p.get("events", []):
            a.track(p["id"], e["name"], e["at"], values=e.get("values"))
    return a


def state(a: segcore.Audience) -> bytes:
    return a.to_bytes()


def promptly(seconds: float, fn: Callable[[], Any]) -> Any:
    start = time.monotonic()
    try:
        return fn()
    finally:
        assert time.monotonic() - start < seconds, "took too long"


@pytest.mark.parametrize("case", CORPUS["cases"], ids=lambda c: c["text"][:40])
def test_the_shared_hostile_corpus(case: dict[str, Any]) -> None:
    a = corpus_audience()
    before = state(a)
    if "kind" in case:
        with pytest.raises(segcore.SegcoreError) as info:
            promptly(5, lambda: a.define("hostile", case["text"]))
        e: Any = info.value
        assert e.kind == case["kind"], str(e)
        assert isinstance(e, KINDS.get(case["kind"], segcore.SegcoreError))
        if "line" in case:
            assert e.line == case["line"]
        if "column" in case:
            assert e.column == case["column"]
        if "says" in case:
            assert case["says"] in str(e)
        with pytest.raises(type(e)):
            a.count(case["text"], NOW)
    else:
        a.define("hostile", case["text"])
        assert promptly(5, lambda: a.count("hostile", EARLIEST)) == case["count_at_earliest"]
        assert promptly(5, lambda: a.count("hostile", LATEST)) == case["count_at_latest"]
        # The definition survives pickling and is evaluated the same after it.
        again = pickle.loads(pickle.dumps(a))
        assert again.count("hostile", LATEST) == case["count_at_latest"]
        a.remove("hostile")
    assert state(a) == before


def test_no_panic_reaches_python_from_far_windows(shop: segcore.Audience) -> None:
    for text in [
        "did purchase in last 239977 calendar months",
        "did purchase in last 4294967295 calendar years",
        "first(purchase) within last 999999 calendar weeks",
        "did purchase in last 4294967295w",
    ]:
        with pytest.raises(segcore.ParseError):
            shop.count(text, NOW)
    # The longest windows allowed evaluate at the first and last storable instants, in
    # threads too (where a panic would once have surfaced as PanicException).
    results: list[int] = []

    def run() -> None:
        for now in (EARLIEST, LATEST):
            results.append(shop.count("did purchase in last 120000 calendar months", now))

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert results == [0, 2]


def test_instants_outside_years_1_to_9999_are_refused(shop: segcore.Audience) -> None:
    before = state(shop)
    too_early = -62_135_596_801  # 0000-12-31T23:59:59Z, in epoch seconds
    with pytest.raises(segcore.InvalidValueError):
        shop.tag("eve", "vip", too_early)
    with pytest.raises(segcore.InvalidValueError):
        shop.track("eve", "purchase", "-000001-01-01T00:00:00Z")
    with pytest.raises(segcore.InvalidValueError):
        shop.set_consent("eve", "email", True, too_early)
    with pytest.raises(segcore.InvalidValueError):
        shop.count("swedes", too_early)
    assert state(shop) == before
    # What is stored always reads back as a datetime, at both ends of the range.
    shop.upsert("eve", {"signed_up": dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)})
    shop.tag("eve", "vip", LATEST)
    profile = shop.profile("eve")
    assert profile is not None
    assert profile["attributes"]["signed_up"].year == 1


def test_lone_surrogates_are_refused_not_merged(shop: segcore.Audience) -> None:
    before = state(shop)
    for bad in ["\ud800", "\udfff", "a\ud800b"]:
        for call in [
            lambda: shop.upsert(bad, {"age": 1}),
            lambda: shop.upsert("ada", {bad: 1}),
            lambda: shop.upsert("ada", {"country": bad}),
            lambda: shop.tag("ada", bad, NOW),
            lambda: shop.define(bad, 'tag "vip"'),
            lambda: shop.count(f'country == "{bad}"', NOW),
        ]:
            with pytest.raises(ValueError):
                call()
    assert state(shop) == before


def test_sample_sizes_are_bounded() -> None:
    for args, error in [
        ((2**32,), segcore.InvalidValueError),
        ((60_000_000,), segcore.InvalidValueError),
        ((10, 5_000), segcore.InvalidValueError),
        ((-1,), OverflowError),
        ((10, -1), OverflowError),
    ]:
        with pytest.raises(error):
            promptly(1, lambda: segcore.Audience.sample_shop(*args))
    assert len(segcore.Audience.sample_shop(3)) == 3


def test_segment_chains_are_bounded_and_reload_fast(shop: segcore.Audience) -> None:
    shop.define("s_63", 'tag "vip"')
    for i in range(62, -1, -1):
        shop.define(f"s_{i}", f"not segment s_{i + 1}")
    before = state(shop)
    with pytest.raises(segcore.TooDeepError):
        shop.define("s_x", "not segment s_0")
    assert state(shop) == before
    again = promptly(2, lambda: segcore.Audience.from_bytes(before))
    assert again.segments() == shop.segments()
    assert again.count("s_0", NOW) == shop.count("s_0", NOW)


def test_segments_come_back_in_name_order() -> None:
    a = segcore.Audience()
    a.upsert("ada", {"age": 1})
    names = ["zeta", "alpha", "mid", "Alpha", "x10", "x2"]
    for n in names:
        a.define(n, "age > 0")
    assert [n for n, _ in a.segments()] == sorted(names)


def test_stored_positions_out_of_range_are_no_position() -> None:
    a = segcore.Audience()
    a.upsert("ada", {"latitude": 59.33, "longitude": 18.07})
    a.upsert("bob", {"latitude": 1000.0, "longitude": 0.0})
    assert a.members("within 20000km of (0, 0)", NOW) == ["ada"]


def test_random_argument_types_end_in_exceptions_not_panics(shop: segcore.Audience) -> None:
    """Every method with arguments of every type: an answer or an ordinary exception, never a
    PanicException (which is not an Exception) and never a dead interpreter."""
    import random

    values: list[Any] = [None, True, 0, -1, 2**64, float("nan"), float("inf"), "", "\ud800",
                         "x", [], ["a"], [1], {}, {"a": 1}, b"\x00", object(),
                         dt.datetime(1, 1, 1), "did purchase in last 239977 calendar months",
                         'tag "vip"', -62_135_596_801, 1e300]
    methods = ["upsert", "tag", "untag", "track", "set_consent", "erase", "define", "remove",
               "count", "members", "member_slots", "matches", "segments_of", "profile",
               "declare_attribute", "declare_event", "declare_event_property",
               "declare_tag_namespace", "declare_channel", "unset", "start_live", "stop_live",
               "advance_to", "next_change_at", "drain_transitions", "set_queue_capacity",
               "live_members", "live_member_slots", "define_decision", "decision",
               "remove_decision", "decide", "assign", "render", "why"]
    rng = random.Random(11)
    for _ in range(3_000):
        method = getattr(shop, rng.choice(methods))
        args = [rng.choice(values) for _ in range(rng.randrange(5))]
        try:
            method(*args)
        except Exception:
            pass
