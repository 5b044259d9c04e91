"""Ingest and export from Python: the shared corpus in testdata/ingest (the same files, counts,
rejections and queries the Rust, Node and command-line suites check), messages as dicts and
DataFrame records, contact mappings, and consent-safe exports."""

from __future__ import annotations

import io
import json
import pathlib
from typing import Any

import pandas as pd
import pytest

import segcore
from conftest import ROOT

CORPUS = ROOT / "testdata" / "ingest"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


def _load(a: segcore.Audience) -> tuple[segcore.IngestReport, segcore.IngestReport]:
    m, c = EXPECTED["messages"], EXPECTED["contacts"]
    messages = a.ingest_jsonl(CORPUS / m["file"], max_line_bytes=m["max_line_bytes"])
    contacts = a.load_contacts(
        CORPUS / c["file"],
        preset=c["preset"],
        subscribed=[ch for ch, granted in c["consent_for_every_row"].items() if granted],
        at=c["at"],
    )
    return messages, contacts


def _as_dict(r: segcore.IngestReport) -> dict[str, Any]:
    return {
        "read": r.read,
        "loaded": r.loaded,
        "rejected": r.rejected,
        "merged": r.merged,
        "values_not_stored": r.values_not_stored,
        "loaded_by_type": r.loaded_by_type,
        "rejections": [[line, reason] for line, reason in r.rejections],
    }


def test_the_shared_corpus_loads_with_exact_counts() -> None:
    a = segcore.Audience()
    for report, key in zip(_load(a), ("messages", "contacts")):
        got = _as_dict(report)
        want = {k: EXPECTED[key][k] for k in got}
        assert got == want, key
        assert report.read == report.loaded + report.rejected
    for q in EXPECTED["queries"]:
        assert sorted(a.members(q["predicate"], q["now"])) == q["members"], q["predicate"]


def test_a_failing_load_loads_nothing() -> None:
    a = segcore.Audience()
    m = EXPECTED["messages"]
    with pytest.raises(segcore.InputError) as e:
        a.ingest_jsonl(CORPUS / m["file"], on_error="fail", max_line_bytes=m["max_line_bytes"])
    first = m["rejections"][0]
    assert (e.value.line, e.value.reason) == (first[0], first[1])
    assert e.value.origin.endswith("messages.jsonl")
    assert isinstance(e.value, ValueError) and e.value.kind == "input"
    assert len(a) == 0
    with pytest.raises(segcore.InputError):
        a.load_contacts(CORPUS / "contacts.csv", preset="mailchimp", on_error="fail")
    assert len(a) == 0
    with pytest.raises(segcore.InvalidValueError, match="error policy"):
        a.ingest_jsonl(CORPUS / m["file"], on_error="maybe")  # type: ignore[arg-type]


def test_messages_as_dicts_and_dataframe_records() -> None:
    a = segcore.Audience()
    done = a.ingest(
        {
            "type": "track",
            "userId": "ada",
            "event": "Order Completed",
            "properties": {"revenue": 12.5},
            "timestamp": pd.Timestamp("2024-06-01T10:00:00Z"),
        }
    )
    assert done == {"type": "track", "id": "ada", "merged": False, "values_not_stored": 0}
    with pytest.raises(segcore.InputError) as e:
        a.ingest({"type": "track", "userId": "ada", "event": "x", "timestamp": "yesterday"})
    assert e.value.line is None and e.value.origin == "message"
    assert str(e.value) == 'message: `timestamp` is "yesterday", not an ISO 8601 instant'

    # pandas read_json(lines=True) then records: missing fields arrive as NaN and are dropped.
    good = [line for line in (CORPUS / "messages.jsonl").read_bytes().split(b"\n")[:13] if line]
    frame = pd.read_json(io.BytesIO(b"\n".join(good)), lines=True, dtype=False)
    b = segcore.Audience()
    report = b.ingest_records(frame.to_dict("records"))
    assert (report.read, report.rejected, report.merged) == (12, 0, 2)
    assert sorted(b.members("merged_ids exists", "2024-06-02T00:00:00Z")) == ["bob", "cy"]

    bad = b.ingest_records(['{"type":"alias","userId":"x","timestamp":"2024-06-01T00:00:00Z"}', "nope"])
    assert [line for line, _ in bad.rejections] == [1, 2]
    assert bad.rejections[1][1].startswith("not JSON (")


def test_contacts_with_a_mapping(tmp_path: pathlib.Path) -> None:
    csv = tmp_path / "list.csv"
    csv.write_bytes(
        "Email;Orders;Tags;Newsletter\nada@example.com;3;vip|shoes;yes\nbob@example.com;many;;no\n"
        .replace(";", ",")
        .encode()
    )
    a = segcore.Audience()
    r = a.load_contacts(
        csv,
        id="Email",
        id_attribute="email",
        attributes={"Orders": ("orders", "number")},
        tags="Tags",
        tag_separator="|",
        consent={"Newsletter": "email"},
        at="2024-06-01T00:00:00Z",
    )
    assert (r.read, r.loaded, r.rejected) == (2, 1, 1)
    assert r.rejections == [(3, '"Orders" is "many", not a number')]
    assert a.members('tag "shoes" and consent email and orders == 3', "2024-06-02T00:00:00Z") == [
        "ada@example.com"
    ]
    with pytest.raises(segcore.InvalidValueError, match="give a `preset` or an `id`"):
        a.load_contacts(csv)
    with pytest.raises(segcore.UnknownNameError) as e:
        a.load_contacts(csv, preset="mailchim")  # type: ignore[arg-type]
    assert e.value.suggestion == "mailchimp"


def test_exports_leave_out_who_has_not_consented(tmp_path: pathlib.Path) -> None:
    a = segcore.Audience()
    _load(a)
    now = "2024-06-02T00:00:00Z"
    r = a.export("email exists", channel="email", columns=["id", "email"], suppress=["DEE@example.com"], now=now)
    assert (r.members, r.exported, r.consent_withdrawn, r.no_consent, r.suppressed) == (7, 5, 1, 0, 1)
    assert r.text is not None and r.text.splitlines()[:2] == ["id,email", "ada,ada@example.com"]
    target = tmp_path / "list.jsonl"
    r = a.export("did `Order Completed`", target, format="jsonl", columns=["id", "plan"], now=now)
    assert r.text is None and (r.exported, r.no_consent) == (2, 1)
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert rows == [{"id": "ada", "plan": "pro"}, {"id": "bob", "plan": "free"}]
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(segcore.UnknownNameError) as e:
        a.export("email exists", channel="emial")
    assert e.value.suggestion == "email"


def test_exports_neutralize_formulas_and_touch_nothing_outside(tmp_path: pathlib.Path) -> None:
    now = "2024-06-02T00:00:00Z"
    a = segcore.Audience()
    a.upsert("eve", {"first_name": '=HYPERLINK("http://evil.example")', "n": -3})
    a.set_consent("eve", "email", True, at=now)
    r = a.export("consent email", columns=["id", "first_name", "n"], now=now)
    assert r.text is not None
    assert r.text.splitlines()[1] == 'eve,"\'=HYPERLINK(""http://evil.example"")",-3'
    r = a.export("consent email", columns=["first_name"], now=now, neutralize_formulas=False)
    assert r.text is not None and r.text.splitlines()[1].startswith('"=HYPERLINK')

    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "list.csv"
    link.symlink_to(victim)
    with pytest.raises(segcore.StorageError, match="symbolic link"):
        a.export("consent email", link, now=now)
    assert link.is_symlink() and victim.read_text() == "precious"
    link.unlink()
    (tmp_path / "list.csv.partial").symlink_to(victim)
    a.export("consent email", link, now=now)
    assert link.read_text() == "id\neve\n" and victim.read_text() == "precious"
