"""The API: writes, reads, queries, reports, and the package's metadata."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

import segcore
from conftest import NOW, ROOT


def test_version_is_the_crate_version() -> None:
    cargo = (ROOT / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, re.M)
    assert version is not None
    assert segcore.__version__ == version.group(1)


def test_queries_by_name_text_or_predicate(shop: segcore.Audience) -> None:
    assert shop.members("swedes", NOW) == ["ada", "cy"]
    assert shop.members('country == "SE" and age > 20', NOW) == ["ada"]
    p = shop.predicate("segment swedes and did purchase")
    assert shop.count(p, NOW) == 1
    assert shop.count("recent_buyers", NOW) == 1
    assert shop.count("sum(purchase.amount) > 500", NOW) == 1
    assert shop.matches("ada", "recent_buyers", NOW)
    assert not shop.matches("bob", "recent_buyers", NOW)
    assert shop.segments_of("ada", NOW) == ["recent_buyers", "swedes"]
    assert shop.segments_of("bob", NOW) == []


def test_member_slots_are_a_numpy_array(shop: segcore.Audience) -> None:
    slots = shop.member_slots("swedes", NOW)
    assert isinstance(slots, np.ndarray)
    assert slots.dtype == np.uint32
    assert slots.tolist() == [0, 2]
    assert slots.flags.owndata or slots.base is not None


def test_now_accepts_datetimes_strings_and_epoch_seconds(shop: segcore.Audience) -> None:
    aware = dt.datetime(2024, 6, 2, 12, tzinfo=dt.timezone.utc)
    naive = dt.datetime(2024, 6, 2, 12)
    epoch = aware.timestamp()
    for now in [NOW, aware, naive, epoch, int(epoch)]:
        assert shop.count("recent_buyers", now) == 1, now
    # Thirty-one days later, the purchases are out of the window.
    assert shop.count("recent_buyers", "2024-07-02T12:00:00Z") == 0
    # The default is the current time.
    assert shop.count("recent_buyers") == 0


def test_profiles_read_back(shop: segcore.Audience) -> None:
    ada = shop.profile("ada")
    assert ada is not None
    assert ada["attributes"] == {
        "country": "SE", "age": 36.0, "newsletter": True, "interests": ["yoga"],
    }
    assert ada["tags"] == {"vip": dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)}
    assert [e["properties"]["amount"] for e in ada["events"]] == [120.0, 80.0]
    assert ada["consent"]["email"]["granted"] is True
    assert shop.profile("nobody") is None
    assert "ada" in shop and "nobody" not in shop
    assert len(shop) == 3


def test_writes_change_answers(shop: segcore.Audience) -> None:
    shop.upsert("bob", {"country": "SE"})
    assert shop.members("swedes", NOW) == ["ada", "bob", "cy"]
    assert shop.unset("bob", ["country", "never_set"]) == 1
    assert shop.members("swedes", NOW) == ["ada", "cy"]
    assert shop.untag("ada", "vip") is True
    assert shop.untag("ada", "vip") is False
    assert shop.erase("cy") is True
    assert shop.erase("cy") is False
    assert shop.members("swedes", NOW) == ["ada"]
    shop.set_consent("bob", "email", True, "2024-02-01T00:00:00Z")
    assert shop.members("consent email", NOW) == ["ada", "bob"]


def test_timestamp_attributes(shop: segcore.Audience) -> None:
    shop.upsert("ada", {"signed_up": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)})
    assert shop.members("signed_up before @2021-01-01", NOW) == ["ada"]
    assert shop.profile("ada")["attributes"]["signed_up"] == dt.datetime(  # type: ignore[index]
        2020, 1, 1, tzinfo=dt.timezone.utc
    )


def test_segments_define_replace_remove(shop: segcore.Audience) -> None:
    shop.define("old_swedes", "segment swedes and age > 30")
    assert dict(shop.segments())["old_swedes"] == "segment swedes and age > 30"
    shop.define("old_swedes", segcore.Predicate.parse("segment swedes and age > 40"))
    assert shop.members("old_swedes", NOW) == []
    removed = shop.remove("old_swedes")
    assert str(removed) == "segment swedes and age > 40"
    assert "old_swedes" not in dict(shop.segments())


def test_schema_declarations(shop: segcore.Audience) -> None:
    shop.declare_attribute("score", "number")
    shop.declare_event("refund")
    shop.declare_event_property("refund", "amount", "number")
    shop.declare_tag_namespace("quiz")
    shop.declare_channel("whatsapp")
    schema = shop.schema()
    assert schema["attributes"]["score"] == "number"
    assert schema["events"]["refund"] == {"amount": "number"}
    assert "quiz" in schema["tag_namespaces"]
    assert "whatsapp" in schema["channels"]
    assert shop.count("did refund", NOW) == 0
    assert shop.count("score missing", NOW) == 3


def test_time_zone(shop: segcore.Audience) -> None:
    assert shop.time_zone == "Europe/Stockholm"
    shop.time_zone = "America/New_York"
    assert shop.time_zone == "America/New_York"


def test_explain_shows_the_plan(shop: segcore.Audience) -> None:
    plan = shop.explain('country == "SE" and did purchase in last 30d', NOW)
    assert plan.root["actual"] == 1
    assert plan.root["method"] == "and"
    methods = {s["method"] for s in plan.steps()}
    assert {"index", "buckets"} <= methods
    assert "actual=1" in str(plan)
    assert "<table>" in plan._repr_html_()


def test_reports_are_dataframes(shop: segcore.Audience) -> None:
    pandas = pytest.importorskip("pandas")
    report = shop.report(NOW)
    assert isinstance(report, pandas.DataFrame)
    assert report.set_index("segment")["profiles"].to_dict() == {"recent_buyers": 1, "swedes": 2}
    frame = shop.explain("swedes", NOW).to_frame()
    assert list(frame.columns) == [
        "depth", "label", "method", "input", "estimated", "actual", "elapsed_us",
    ]


def test_notebook_views(shop: segcore.Audience) -> None:
    assert "3 profiles" in repr(shop)
    view = shop._repr_html_()
    assert "swedes" in view and "Europe/Stockholm" in view


def test_predicates_print_and_compare() -> None:
    p = segcore.Predicate.parse('tag "vip"   and age>30')
    assert str(p) == 'tag "vip" and age > 30'
    assert segcore.Predicate.from_json(p.to_json()) == p
    assert hash(segcore.Predicate.parse(str(p))) == hash(p)
    assert segcore.Predicate.parse("segment a or segment b").segment_references() == ["a", "b"]


def test_the_sample_shop_is_the_rust_one() -> None:
    shop = segcore.Audience.sample_shop(2_000, events_per_customer=5, minimal=True)
    assert len(shop) == 2_000
    assert shop.time_zone == "Europe/Stockholm"
    assert segcore.SAMPLE_NOW == "2026-11-01T12:00:00Z"
    # Minimal profiles: country, age and tags only.
    attributes = shop.profile("c0000000")["attributes"]  # type: ignore[index]
    assert set(attributes) == {"country", "age"}
    full = segcore.Audience.sample_shop(50)
    assert "email" in full.schema()["attributes"]
