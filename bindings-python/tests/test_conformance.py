"""The shared corpus in testdata/conformance, through the Python API: the same audiences, the
same predicates, the same expected members (or errors) as the Rust and Node suites."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

import segcore
from conftest import ROOT

FILES = sorted((ROOT / "testdata" / "conformance").glob("*.json"))
ERRORS = {
    "parse": segcore.ParseError,
    "json": segcore.ParseError,
    "too_deep": segcore.TooDeepError,
    "unknown_name": segcore.UnknownNameError,
    "schema": segcore.SchemaError,
    "type": segcore.SchemaError,
    "invalid_value": segcore.InvalidValueError,
    "cycle": segcore.CycleError,
}


def value(v: Any) -> Any:
    return v["timestamp"] if isinstance(v, dict) else v


def load(data: dict[str, Any]) -> segcore.Audience:
    a = segcore.Audience(data["time_zone"])
    for p in data["profiles"]:
        attributes = {k: value(v) for k, v in p.get("attributes", {}).items()}
        # Timestamps in the corpus are strings inside {"timestamp": ...}: declare them so.
        for k, v in p.get("attributes", {}).items():
            if isinstance(v, dict):
                a.declare_attribute(k, "timestamp")
                attributes[k] = _instant(v["timestamp"])
        a.upsert(p["id"], attributes)
        for tag, at in p.get("tags", {}).items():
            a.tag(p["id"], tag, at)
        for e in p.get("events", []):
            a.track(p["id"], e["name"], e["at"], properties=e.get("properties", {}))
        for c in p.get("consent", []):
            a.set_consent(p["id"], c["channel"], c["granted"], c["at"])
    for id in data.get("erase", []):
        assert a.erase(id)
    for s in data.get("segments", []):
        a.define(s["name"], s["text"])
    return a


def _instant(text: str) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def cases() -> list[Any]:
    out = []
    for path in FILES:
        data = json.loads(path.read_text())
        for case in data["cases"]:
            out.append(pytest.param(path, case, id=f"{path.stem}:{case['name']}"))
    return out


_AUDIENCES: dict[pathlib.Path, tuple[segcore.Audience, str]] = {}


def audience_for(path: pathlib.Path) -> tuple[segcore.Audience, str]:
    if path not in _AUDIENCES:
        data = json.loads(path.read_text())
        _AUDIENCES[path] = (load(data), data["now"])
    return _AUDIENCES[path]


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 2
    assert len(cases()) >= 100


@pytest.mark.parametrize("path,case", cases())
def test_case(path: pathlib.Path, case: dict[str, Any]) -> None:
    audience, default_now = audience_for(path)
    now = case.get("now", default_now)
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]) as info:
            audience.count(case["text"], now)
        e = info.value
        assert e.kind == case["error"]
        if "suggestion" in case:
            assert e.suggestion == case["suggestion"]
        for key in ("line", "column"):
            if key in case:
                assert getattr(e, key) == case[key]
        return
    expect = sorted(case["expect"])
    predicate = audience.predicate(case["text"])
    for form in (case["text"], predicate, segcore.Predicate.from_json(predicate.to_json())):
        assert sorted(audience.members(form, now)) == expect
        assert audience.count(form, now) == len(expect)
    for id in ("ada", "bob", "cy", "dee", "eve", "gus", "ann", "ben", "cat", "dan", "eli", "fin"):
        if id in audience:
            assert audience.matches(id, predicate, now) == (id in expect), id
