"""Live membership from Python: transitions on writes (queued, iterated), time-driven
transitions stamped with the instant they happened, the clock, the bounded queue, and the
typed errors."""

from __future__ import annotations

import datetime as dt

import pytest

import segcore


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def live_audience() -> segcore.Audience:
    a = segcore.Audience("Europe/Stockholm")
    a.declare_event("purchase")
    a.define("recent_buyers", "did purchase in last 30d")
    a.define("vips", 'tag "vip"')
    a.start_live("2024-06-01T00:00:00Z")
    return a


def test_writes_queue_transitions_and_python_iterates_them() -> None:
    a = live_audience()
    assert a.clock == at("2024-06-01T00:00:00Z")
    a.track("ada", "purchase", "2024-06-01T00:00:00Z")
    a.tag("bob", "vip", "2024-06-01T00:00:00Z")
    assert a.queued_transitions == 2
    moved = [(t.profile, t.segment, t.direction, t.at) for t in a.transitions()]
    assert moved == [
        ("ada", "recent_buyers", "entered", at("2024-06-01T00:00:00Z")),
        ("bob", "vips", "entered", at("2024-06-01T00:00:00Z")),
    ]
    assert a.queued_transitions == 0
    assert a.live_members("vips") == ["bob"]
    assert a.live_member_slots("recent_buyers").tolist() == [0]


def test_time_driven_transitions_carry_their_own_instant() -> None:
    a = live_audience()
    a.track("ada", "purchase", "2024-06-01T00:00:00Z")
    a.drain_transitions()
    # Due 30 days and a nanosecond later: a datetime holds microseconds, so the instant is
    # rounded up, and advancing to it takes the change in.
    due = a.next_change_at()
    assert due == at("2024-07-01T00:00:00.000001Z")
    left = a.advance_to(due)
    assert [(t.profile, t.direction) for t in left] == [("ada", "left")]
    assert left[0].at == due
    assert left[0].at_ns == int(at("2024-07-01T00:00:00Z").timestamp()) * 10**9 + 1
    assert a.next_change_at() is None
    assert repr(left[0]).startswith('Transition(profile="ada"')


def test_bad_live_calls_raise_typed_errors() -> None:
    a = segcore.Audience()
    with pytest.raises(segcore.NotLiveError):
        a.advance_to("2024-01-01T00:00:00Z")
    a.define("vips", 'tag "vip"')
    a.start_live("2024-06-01T00:00:00Z")
    with pytest.raises(segcore.ClockBackwardsError) as e:
        a.advance_to("2024-05-01T00:00:00Z")
    assert e.value.kind == "clock_backwards" and e.value.clock.startswith("2024-06-01")
    assert a.clock == at("2024-06-01T00:00:00Z")
    a.set_queue_capacity(1)
    a.tag("ada", "vip", "2024-06-01T00:00:00Z")
    with pytest.raises(segcore.QueueFullError) as full:
        a.tag("bob", "vip", "2024-06-01T00:00:00Z")
    assert full.value.capacity == 1
    assert "bob" not in a, "a refused write applies nothing"
    assert len(a.drain_transitions()) == 1
    a.tag("bob", "vip", "2024-06-01T00:00:00Z")
    with pytest.raises(segcore.InvalidValueError):
        a.set_queue_capacity(0)
    with pytest.raises(segcore.UnknownNameError):
        a.live_members("vip")
    a.stop_live()
    assert a.clock is None
