"""Decisions, holdouts, templates and `why` from Python, with the shared corpus in
testdata/decisions (the same cases the Rust and Node suites run)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import segcore
from conftest import ROOT
from test_conformance import load

CORPUS = json.loads((ROOT / "testdata" / "decisions" / "decisions.json").read_text())
ERRORS: dict[str, type[segcore.SegcoreError]] = {
    "unknown_name": segcore.UnknownNameError,
    "invalid_value": segcore.InvalidValueError,
    "parse": segcore.ParseError,
    "template": segcore.TemplateError,
    "json": segcore.ParseError,
}


def corpus_audience() -> segcore.Audience:
    a = load(CORPUS)
    for name, spec in CORPUS["decisions"].items():
        a.define_decision(name, spec)
    return a


@pytest.mark.parametrize("h", CORPUS["holdout"], ids=lambda h: f"{h['decision']}/{h['profile']}")
def test_the_holdout_draw_is_the_cores(h: dict[str, Any]) -> None:
    assert segcore.holdout_fraction(h["decision"], h["profile"]) == h["fraction"]


@pytest.mark.parametrize("case", CORPUS["cases"], ids=lambda c: f"{c['decision']}/{c['profile']}")
def test_decision_cases(case: dict[str, Any]) -> None:
    got = corpus_audience().decide(case["profile"], case["decision"], CORPUS["now"])
    assert got["variant"] == case["variant"]
    assert got["chosen_by"] == case["chosen_by"]
    assert got["rule"] == case.get("rule")
    assert got["payload"] == case["payload"]
    assert got["message"] == case["message"]


def test_assignments() -> None:
    a = corpus_audience()
    for name, expected in CORPUS["assignments"].items():
        assert a.assign(name, CORPUS["now"]) == expected


@pytest.mark.parametrize("case", CORPUS["errors"], ids=lambda c: c["why"])
def test_bad_decisions_raise_and_define_nothing(case: dict[str, Any]) -> None:
    a = corpus_audience()
    with pytest.raises(ERRORS[case["kind"]]) as e:
        a.define_decision("probe", case["decision"])
    assert e.value.kind == case["kind"]
    if "suggestion" in case:
        assert e.value.suggestion == case["suggestion"]
    for key in ("line", "column"):
        if key in case:
            assert getattr(e.value, key) == case[key]
    assert "probe" not in a.decision_names()


def test_decisions_round_trip_and_remove() -> None:
    a = corpus_audience()
    assert a.decision_names() == ["home_hero", "spring_offer"]
    spec = a.decision("spring_offer")
    assert spec is not None and spec["holdout"] == 0.1
    assert a.remove_decision("spring_offer") == spec
    assert a.decision("spring_offer") is None
    a.define_decision("again", json.dumps(spec))
    with pytest.raises(segcore.SegmentInUseError):
        a.remove("vips")


def test_templates_render_with_safe_defaults() -> None:
    a = corpus_audience()
    assert a.render("bob", 'Hej {{ first_name | default("där") }}!') == "Hej där!"
    assert a.render("ada", "{{ first_name }} ({{ plan }}, {{ tags | join(',') }})") == "Ada (pro, vip)"
    with pytest.raises(segcore.TemplateError) as e:
        a.render("ada", "Hej\n{{ first_name ")
    assert e.value.line == 2


def test_html_templates_escape_what_they_show() -> None:
    a = segcore.Audience()
    a.upsert("eve", {"first_name": "<script>alert(1)</script>"})
    escaped = "<b>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</b>"
    assert a.render("eve", "<b>{{ first_name }}</b>", escape="html") == escaped
    assert a.render("eve", "{{ first_name }}") == "<script>alert(1)</script>"
    with pytest.raises(segcore.InvalidValueError):
        a.render("eve", "{{ first_name }}", escape="xml")  # type: ignore[arg-type]
    a.define_decision(
        "page",
        {"rules": [], "default": "hi", "escape": "html", "variants": {"hi": {"template": "<b>{{ first_name }}</b>"}}},
    )
    assert a.decide("eve", "page")["message"] == escaped


@pytest.mark.parametrize("case", CORPUS["why"], ids=lambda c: f"{c['profile']}/{c['segment']}")
def test_why_cases(case: dict[str, Any]) -> None:
    why = corpus_audience().why(case["profile"], case["segment"], CORPUS["now"])
    assert why.holds == case["holds"]
    assert str(why) == case["text"]


def test_why_explains_clause_by_clause() -> None:
    a = corpus_audience()
    why = a.why("bob", "vips", CORPUS["now"])
    assert not why and why.clause == "segment"
    assert why.parts[0].seen == 'no tag "vip"' and why.parts[0].needed == 'tag "vip"'
    assert str(why).splitlines() == ["✗ segment vips", '  ✗ tag "vip": no tag "vip", needed tag "vip"']
    inline = a.why("ada", 'did purchase in last 30d and country == "SE"', CORPUS["now"])
    assert inline.holds and inline.clause == "all"
    assert inline.parts[0].seen == "purchase count in last 30d = 1"
