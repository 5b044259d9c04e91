"""A typed use of the public API: `mypy --strict typecheck/usage.py` must pass, and would fail if
the stubs lost or mistyped a method."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

import segcore


def build() -> segcore.Audience:
    a = segcore.Audience("Europe/Stockholm")
    a.upsert("ada", {"country": "SE", "age": 36, "interests": ["yoga"]})
    a.tag("ada", "vip", dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc))
    a.track("ada", "purchase", "2024-05-30T10:00:00Z", values={"amount": 120.0},
            properties={"category": "shoes"})
    a.set_consent("ada", "email", True)
    a.define("swedes", 'country == "SE"')
    return a


def ask(a: segcore.Audience) -> tuple[int, list[str], bool, list[str]]:
    slots: npt.NDArray[np.uint32] = a.member_slots("swedes", 1717243200)
    count: int = a.count(segcore.Predicate.parse("tag \"vip\""), "2024-06-01T12:00:00Z")
    members: list[str] = a.members("swedes")
    inside: bool = a.matches("ada", "swedes")
    plan: segcore.Explain = a.explain("swedes")
    assert plan.root["actual"] == len(slots)
    return count, members, inside, a.segments_of("ada")


def handle() -> str | None:
    try:
        segcore.Audience().count("age >")
    except segcore.ParseError as e:
        line: int = e.line
        return f"{line}:{e.column} {e.kind}"
    except segcore.UnknownNameError as e:
        return e.suggestion
    return None


copy: segcore.Audience = segcore.Audience.from_bytes(build().to_bytes())
