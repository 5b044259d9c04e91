"""Errors: one hierarchy under SegcoreError, each also the builtin a user would catch, with
the details of its kind; and no input reaches Python as a Rust panic."""

from __future__ import annotations

import random

import pytest

import segcore
from conftest import NOW


def test_parse_errors_are_value_errors_with_a_position(shop: segcore.Audience) -> None:
    with pytest.raises(segcore.ParseError) as info:
        shop.count('country == "SE" and\n  age >', NOW)
    e = info.value
    assert isinstance(e, ValueError) and isinstance(e, segcore.SegcoreError)
    assert e.kind == "parse"
    assert (e.line, e.column) == (2, 8)
    assert e.span is not None and e.span[0] <= e.span[1]
    assert e.expected
    assert "line 2" in str(e)


def test_json_errors_are_parse_errors() -> None:
    with pytest.raises(segcore.ParseError) as info:
        segcore.Predicate.from_json('{"tag": ')
    assert info.value.kind == "json"
    assert info.value.line == 1


def test_nesting_too_deep() -> None:
    with pytest.raises(segcore.ParseError) as info:
        segcore.Predicate.parse("(" * 10_000 + "consent email" + ")" * 10_000)
    assert (info.value.line, info.value.column) == (1, 49)
    deep_json = '{"not": ' * 60 + '{"consent": "email"}' + "}" * 60
    with pytest.raises(segcore.ParseError, match="deeper than 48") as deep:
        segcore.Predicate.from_json(deep_json)
    assert deep.value.kind == "json"
    hostile_json = '{"not": ' * 10_000 + '{"consent": "email"}' + "}" * 10_000
    with pytest.raises(segcore.ParseError):
        segcore.Predicate.from_json(hostile_json)


def test_unknown_names_are_key_errors_with_a_suggestion(shop: segcore.Audience) -> None:
    with pytest.raises(segcore.UnknownNameError) as info:
        shop.count('countyr == "SE"', NOW)
    e = info.value
    assert isinstance(e, KeyError)
    assert (e.kind, e.name_kind, e.name, e.suggestion) == (
        "unknown_name", "attribute", "countyr", "country",
    )
    assert str(e).startswith("unknown attribute `countyr`")
    with pytest.raises(KeyError):
        shop.matches("nobody", "swedes", NOW)


def test_schema_and_type_errors_are_type_errors(shop: segcore.Audience) -> None:
    with pytest.raises(segcore.SchemaError) as info:
        shop.upsert("ada", {"age": "old"})
    assert isinstance(info.value, TypeError)
    assert info.value.kind == "schema"
    with pytest.raises(segcore.SchemaError) as info:
        shop.count('age == "30"', NOW)
    assert info.value.kind == "type"
    # Refused writes change nothing.
    assert shop.profile("ada")["attributes"]["age"] == 36.0  # type: ignore[index]


def test_values_python_cannot_store_are_type_errors(shop: segcore.Audience) -> None:
    with pytest.raises(TypeError, match="unset"):
        shop.upsert("ada", {"age": None})
    with pytest.raises(TypeError):
        shop.upsert("ada", {"age": object()})
    with pytest.raises(TypeError):
        shop.count(42, NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        shop.count("swedes", "yesterday")
    with pytest.raises(TypeError):
        shop.track("ada", "purchase", NOW, values={"amount": "lots"})  # type: ignore[dict-item]


def test_invalid_values(shop: segcore.Audience) -> None:
    with pytest.raises(segcore.InvalidValueError) as info:
        shop.upsert("ada", {"score": float("nan")})
    assert isinstance(info.value, ValueError)
    with pytest.raises(segcore.UnknownNameError) as zone:
        segcore.Audience("Europe/Stockholms")
    assert zone.value.suggestion == "Europe/Stockholm"
    with pytest.raises(segcore.InvalidValueError):
        shop.declare_attribute("x", "integer")


def test_cycles_and_segments_in_use(shop: segcore.Audience) -> None:
    shop.define("a", "segment swedes")
    with pytest.raises(segcore.CycleError) as cycle:
        shop.define("swedes", "segment a")
    assert cycle.value.path == ["swedes", "a", "swedes"]
    with pytest.raises(segcore.SegmentInUseError) as in_use:
        shop.remove("swedes")
    assert in_use.value.used_by == ["a"]


def test_corrupt_images() -> None:
    data = segcore.Audience().to_bytes()
    with pytest.raises(segcore.CorruptError):
        segcore.Audience.from_bytes(data[:-1])
    with pytest.raises(segcore.CorruptError):
        segcore.Audience.from_bytes(b"not an audience")


def test_no_input_panics(shop: segcore.Audience) -> None:
    """Random text, JSON and bytes: every failure is a SegcoreError (never a PanicException,
    which derives from BaseException and would escape `except Exception`)."""
    rng = random.Random(7)
    alphabet = 'abc tagdi"()[]{}:,=<>!.0123456789-@\n\\é🙂'
    for _ in range(2_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        for attempt in (
            lambda: shop.count(text, NOW),
            lambda: segcore.Predicate.from_json(text),
            lambda: segcore.Audience.from_bytes(text.encode()),
        ):
            try:
                attempt()
            except segcore.SegcoreError:
                pass


def test_a_panic_is_an_internal_error_not_a_panic_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    a = segcore.Audience()
    a.upsert("ada", {"age": 1})
    with pytest.raises(ValueError, match="SEGCORE_TEST_PANICS"):
        a._panic_for_tests("boom")
    monkeypatch.setenv("SEGCORE_TEST_PANICS", "1")
    with pytest.raises(segcore.InternalError, match="planted panic.*open or build it again") as e:
        a._panic_for_tests("planted panic")
    # Caught by `except Exception` (pyo3's PanicException is not) and by the hierarchy.
    assert isinstance(e.value, Exception) and isinstance(e.value, RuntimeError)
    assert isinstance(e.value, segcore.SegcoreError) and e.value.kind == "internal"
    assert type(e.value.__cause__).__name__ == "PanicException"
    assert len(a) == 1 and a.count("age exists") == 1
