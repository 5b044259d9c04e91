"""segcore: an embeddable customer-segmentation engine.

>>> import segcore
>>> audience = segcore.Audience()
>>> audience.upsert("ada", {"country": "SE", "age": 36})
>>> audience.tag("ada", "vip", "2024-06-01T12:00:00Z")
>>> audience.define("swedish_vips", 'country == "SE" and tag "vip"')
>>> audience.members("swedish_vips", now="2024-06-02T00:00:00Z")
['ada']
>>> audience.count('age between 30 and 40 and country in ["SE", "DK"]', now="2024-06-02T00:00:00Z")
1

The native module does the work; this package adds the exception classes, reports as
DataFrames and views for notebooks.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from ._errors import (
    ClockBackwardsError,
    CorruptError,
    CycleError,
    InputError,
    InternalError,
    InvalidValueError,
    LockedError,
    NotLiveError,
    ParseError,
    QueueFullError,
    SchemaError,
    SegcoreError,
    SegmentInUseError,
    StorageError,
    TemplateError,
    TooDeepError,
    UnknownNameError,
    VersionError,
)
from ._errors import guard_native_methods as _guard_native_methods
from . import plot, stats
from ._frames import _frame
from ._ingest import _IngestMixin
from ._insight import Advice, CoOccurrence, _InsightMixin
from ._segcore import Audience as _NativeAudience
from ._segcore import ExportReport, IngestReport, KpiParts, Outcome
from ._segcore import MAX_SHARDS, shard_of
from ._segcore import SAMPLE_NOW, Predicate, Transition, __version__, holdout_fraction


class _progress:
    """A tqdm bar fed by a load's per-batch callback, when asked for and tqdm is installed."""

    def __init__(self, table: Any, wanted: bool, unit: str) -> None:
        self.bar: Any = None
        if wanted:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                total = len(table) if hasattr(table, "__len__") else None
                self.bar = tqdm(total=total, unit=f" {unit}")

    def __enter__(self) -> Any:
        if self.bar is None:
            return None
        done = [0]

        def update(rows: int) -> None:
            self.bar.update(rows - done[0])
            done[0] = rows

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


class Explain:
    """A query's plan as run: each step's method, input size, estimated and actual sizes and
    time. ``str()`` prints it as a tree; ``to_frame()`` gives one row per step."""

    def __init__(self, text: str, root: dict[str, Any]) -> None:
        self.text = text
        self.root = root

    def steps(self) -> list[dict[str, Any]]:
        """The steps depth first, each with its ``depth`` in the tree."""
        out: list[dict[str, Any]] = []

        def walk(step: dict[str, Any], depth: int) -> None:
            out.append({k: v for k, v in step.items() if k != "children"} | {"depth": depth})
            for child in step["children"]:
                walk(child, depth + 1)

        walk(self.root, 0)
        return out

    def to_frame(self) -> Any:
        """One row per step: depth, label, method, input, estimated, actual, elapsed_us."""
        steps = self.steps()
        names = ["depth", "label", "method", "input", "estimated", "actual", "elapsed_us"]
        return _frame({name: [s[name] for s in steps] for name in names})

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Explain(actual={self.root['actual']}, steps={len(self.steps())})"

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr><td style='text-align:left;padding-left:{}em'>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{:.0f} µs</td></tr>".format(
                s["depth"] * 1.5,
                html.escape(s["label"]),
                s["method"],
                s["estimated"],
                s["actual"],
                s["elapsed_us"],
            )
            for s in self.steps()
        )
        return (
            "<table><thead><tr><th>step</th><th>method</th><th>estimated</th><th>actual</th>"
            f"<th>time</th></tr></thead><tbody>{rows}</tbody></table>"
        )


class Why:
    """Why a profile is or is not in a segment, clause by clause. ``str()`` gives readable
    text (one line per clause, ✓ or ✗); each clause has ``condition``, ``holds``, ``clause``
    (``leaf``, ``all``, ``any``, ``not`` or ``segment``), ``seen`` and ``needed`` (for a
    leaf) and ``parts``."""

    def __init__(self, clause: dict[str, Any], text: str = "") -> None:
        self.condition: str = clause["condition"]
        self.holds: bool = clause["holds"]
        self.clause: str = clause["clause"]
        self.seen: str | None = clause["seen"]
        self.needed: str | None = clause["needed"]
        self.parts: list[Why] = [Why(p) for p in clause["parts"]]
        self._text = text

    def __str__(self) -> str:
        return self._text or self.condition

    def __bool__(self) -> bool:
        return self.holds

    def __repr__(self) -> str:
        return f"Why(condition={self.condition!r}, holds={self.holds})"


class Audience(_IngestMixin, _InsightMixin):
    """Profiles with typed attributes, tags, events and consent, and named segments.

    Wherever a segment is expected, pass a defined segment's name, a predicate's text, or a
    :class:`Predicate`. ``now`` defaults to the current time; pass it for reproducible answers.
    """

    def load_profiles(
        self,
        table: Any,
        id: str = "id",
        tags: str | None = None,
        tagged_at: Any = None,
        progress: bool = False,
    ) -> int:
        """Loads profiles from a table with the Arrow C stream interface (a pandas 2.2+ or
        polars DataFrame, a pyarrow Table): one row a profile, ``id`` its id column, ``tags``
        an optional column of tag lists (added at ``tagged_at``, default now), every other
        column an attribute; nulls are no value. Returns the number of rows loaded.

        With ``progress=True`` and tqdm installed, a progress bar follows the load."""
        with _progress(table, progress, "profiles") as update:
            return self._load_profiles(table, id, tags, tagged_at, update)

    def load_events(
        self,
        table: Any,
        id: str = "id",
        name: str = "name",
        time: str = "time",
        progress: bool = False,
    ) -> int:
        """Loads events from a table: one row an event, with its profile's ``id``, its
        ``name`` and ``time`` (timestamps, dates, RFC 3339 strings or epoch seconds); numeric
        columns become the event's values, string columns its properties, nulls nothing.
        Returns the number of rows loaded."""
        with _progress(table, progress, "events") as update:
            return self._load_events(table, id, name, time, update)

    def explain(self, segment: str | Predicate, now: Any = None) -> Explain:
        """Runs the query and returns its plan (see :class:`Explain`)."""
        text, root = self._explain(segment, now)
        return Explain(text, root)

    def why(self, id: str, segment: str, now: Any = None) -> Why:
        """Why a profile is or is not in a segment (a name or a predicate's text) at ``now``,
        clause by clause with the values seen (see :class:`Why`)."""
        clause = self._why(id, segment, now)
        return Why(clause, clause["text"])

    def transitions(self) -> Iterator[Transition]:
        """Iterates the queued transitions, oldest first, taking them from the queue."""
        yield from self.drain_transitions()

    def report(self, now: Any = None) -> Any:
        """Every named segment with its definition and size: a DataFrame (pandas if installed,
        else pyarrow)."""
        segments = self.segments()
        return _frame(
            {
                "segment": [name for name, _ in segments],
                "definition": [text for _, text in segments],
                "profiles": [self.count(name, now) for name, _ in segments],
            }
        )

    def __repr__(self) -> str:
        return (
            f"<segcore.Audience: {len(self):,} profiles, {len(self.segments())} segments, "
            f"time zone {self.time_zone}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td><code>{html.escape(text)}</code></td></tr>"
            for name, text in self.segments()
        )
        return (
            f"<p><b>segcore.Audience</b>: {len(self):,} profiles, time zone "
            f"{html.escape(self.time_zone)}</p>"
            + (f"<table><thead><tr><th>segment</th><th>definition</th></tr></thead>"
               f"<tbody>{rows}</tbody></table>" if rows else "<p>No segments defined.</p>")
        )


# A panic in any native method is an InternalError, not pyo3's PanicException.
_guard_native_methods(Audience, _NativeAudience)

# Spelled out (not built from _errors.__all__): type checkers read only a literal list.
__all__ = [
    "__version__",
    "SAMPLE_NOW",
    "Audience",
    "Predicate",
    "Explain",
    "Why",
    "Transition",
    "Outcome",
    "IngestReport",
    "ExportReport",
    "KpiParts",
    "MAX_SHARDS",
    "shard_of",
    "Advice",
    "CoOccurrence",
    "holdout_fraction",
    "plot",
    "stats",
    "SegcoreError",
    "ParseError",
    "TooDeepError",
    "UnknownNameError",
    "SchemaError",
    "InvalidValueError",
    "CycleError",
    "SegmentInUseError",
    "CorruptError",
    "VersionError",
    "StorageError",
    "LockedError",
    "TemplateError",
    "NotLiveError",
    "ClockBackwardsError",
    "QueueFullError",
    "InputError",
    "InternalError",
]
