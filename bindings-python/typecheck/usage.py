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


def live(a: segcore.Audience) -> tuple[list[str], dt.datetime | None, int]:
    a.start_live("2024-06-01T00:00:00Z")
    a.tag("bob", "vip", "2024-06-01T00:00:00Z")
    moved: list[tuple[str, str, str, dt.datetime, int]] = [
        (t.profile, t.segment, t.direction, t.at, t.at_ns) for t in a.transitions()
    ]
    later: list[segcore.Transition] = a.advance_to("2024-07-01T00:00:00Z")
    due: dt.datetime | None = a.next_change_at()
    members: list[str] = a.live_members("swedes")
    return members + [t[0] for t in moved] + [t.profile for t in later], due, a.queued_transitions


def decide(a: segcore.Audience) -> tuple[str, str, bool, float]:
    a.define_decision("hero", {"rules": [{"segment": "swedes", "variant": "se"}],
                               "default": "other", "variants": {"se": {}, "other": {}}})
    outcome: dict[str, object] = a.decide("ada", "hero")
    sent: dict[str, object] = a.assign("hero")
    message: str = a.render("ada", "Hej {{ first_name | default('där') }}")
    why: segcore.Why = a.why("ada", "swedes")
    return str(outcome["variant"]) + str(sent), message, why.holds, segcore.holdout_fraction("hero", "ada")


def durable(path: str) -> int:
    with segcore.Audience.open(path, sync="always") as a:
        a.upsert("ada", {"age": 36})
        report = a.open_report
        replayed = report["records_replayed"] if report is not None else 0
        a.flush()
        a.compact()
        generation: int | None = a.generation
        assert generation is not None
    return replayed + len(a)


def insight(a: segcore.Audience) -> float:
    from segcore import stats

    outcome = segcore.Outcome.converts("did purchase in last 30d", at=segcore.SAMPLE_NOW)
    kpis = a.kpis(["se", segcore.Predicate.parse("age < 30")], outcome, now=segcore.SAMPLE_NOW)
    matrix = a.overlap(["se"], measure="jaccard")
    advice: segcore.Advice = a.advise(outcome, minimum_effect=0.05)
    together: segcore.CoOccurrence = a.co_occurrence("purchase", "sku", 0.01)
    picks: list[dict[str, object]] = a.recommend("c0000001", together, k=3)
    interval = stats.wilson_interval(3, 10)
    n: int = stats.sample_size_per_arm(0.1, 0.02)
    summary = a.score_rfm("purchase", "amount")
    a.define_rfm_segments()
    t = a.testability("se", 0.1, 0.02, "page_view")
    del kpis, matrix, advice, picks, summary, t
    return (interval[0] if interval else 0.0) + n + together.support("x")


def ingest(a: segcore.Audience, path: str) -> int:
    done: dict[str, object] = a.ingest({"type": "track", "userId": "u", "event": "e", "timestamp": "2024-06-01T00:00:00Z"})
    report: segcore.IngestReport = a.ingest_jsonl(path, on_error="fail", max_line_bytes=4096)
    records = a.ingest_records([{"type": "page", "anonymousId": "v"}], on_error="skip")
    contacts = a.load_contacts(
        path, preset="mailchimp", attributes={"Orders": ("orders", "number"), "Name": "name"}, subscribed=["email"]
    )
    exported: segcore.ExportReport = a.export("vips", None, channel="email", columns=["id", "email"])
    lines: list[tuple[int, str]] = report.rejections
    text: str | None = exported.text
    del done, lines, text
    try:
        a.ingest("{}")
    except segcore.InputError as e:
        origin: str = e.origin
        line: int | None = e.line
        del origin, line
    return records.loaded + contacts.rejected + exported.exported


def distributed(profiles: object, events: object, a: segcore.Audience) -> int:
    from segcore.dask import DistributedAudience

    spread = DistributedAudience.from_dask(profiles, events, id="id", tags="tags", shards=4)
    spread.define("vips", 'tag "vip"')
    n: int = spread.count("vips", now="2024-06-01T00:00:00Z")
    sizes = spread.sizes()
    outcome = segcore.Outcome.converts("did purchase in last 30d", at=segcore.SAMPLE_NOW)
    kpis = spread.kpis(["vips"], outcome)
    scattered = DistributedAudience.scatter(a, 2)
    shards: list[int] = [int(s) for s in segcore.shard_of(["ada"], 2)]
    parts: list[segcore.Audience] = a.split(2)
    merged: segcore.KpiParts = parts[0]._kpi_parts(["vips"], outcome).merge(parts[1]._kpi_parts(["vips"], outcome))
    del sizes, kpis
    return n + scattered.shards + len(shards) + merged.live
