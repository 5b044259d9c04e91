"""Insight reports as DataFrames: sizes, overlaps, KPIs, the advisor's findings, co-occurrence
and recommendations. The numbers come from the core (``segcore._segcore``); this module only
shapes them."""

from __future__ import annotations

import html
from typing import Any, Literal, Sequence

from ._frames import _frame
from ._segcore import Audience as _NativeAudience
from ._segcore import CoOccurrence as _NativeCoOccurrence
from ._segcore import Outcome, Predicate


class CoOccurrence:
    """Which items are bought together: from :meth:`Audience.co_occurrence`."""

    def __init__(self, native: _NativeCoOccurrence) -> None:
        self._native = native

    @property
    def baskets(self) -> int:
        """Baskets counted (profiles with at least one item)."""
        return self._native.baskets

    @property
    def items(self) -> int:
        """Distinct items seen."""
        return self._native.items

    @property
    def min_support(self) -> float:
        """The minimum support pairs were counted at."""
        return self._native.min_support

    def support(self, item: str) -> float:
        """The share of baskets holding ``item`` (0 for an item never seen)."""
        return self._native.support(item)

    def pairs(self) -> Any:
        """Every pair at or above the minimum support, once, by count: a DataFrame with
        ``item``, ``with``, ``count``, ``support``, ``confidence`` (of ``with`` given ``item``)
        and ``lift``."""
        return _frame(self._native._pairs())

    def bought_with(self, item: str, k: int = 10) -> Any:
        """The items most bought with ``item``, by confidence then lift: a DataFrame as
        :meth:`pairs`. ``UnknownNameError`` for an item never seen."""
        return _frame(self._native._bought_with(item, k))

    def __repr__(self) -> str:
        return (
            f"<segcore.CoOccurrence: {self.baskets:,} baskets, {self.items:,} items, "
            f"min support {self.min_support}>"
        )


class Advice:
    """The advisor's review: ``findings`` (a DataFrame: ``kind``, ``segments``, ``decision``,
    ``reason``, ``numbers``) and ``suggested`` (the coarser catalog: groups of segments whose
    outcomes do not differ, with their combined ``estimate``)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw_findings: list[dict[str, Any]] = raw["findings"]
        self.suggested: list[dict[str, Any]] = raw["suggested"]
        self.findings = _frame(
            {
                key: [f[key] for f in self.raw_findings]
                for key in ("kind", "segments", "decision", "reason", "numbers")
            }
        )

    def __str__(self) -> str:
        lines = [f"- {f['kind']}: {f['reason']}" for f in self.raw_findings]
        groups = [" + ".join(g["segments"]) for g in self.suggested]
        return "\n".join(lines + ["suggested catalog: " + "; ".join(groups)])

    def __repr__(self) -> str:
        return f"<segcore.Advice: {len(self.raw_findings)} findings, {len(self.suggested)} groups>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(f['kind'])}</td><td>{html.escape(', '.join(f['segments']))}"
            f"</td><td>{html.escape(f['reason'])}</td></tr>"
            for f in self.raw_findings
        )
        return (
            "<table><thead><tr><th>finding</th><th>segments</th><th>why</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )


def _segments(segments: Sequence[str | Predicate]) -> list[str | Predicate]:
    if isinstance(segments, str):
        raise TypeError("segments is a list of names or predicates, not one string")
    return list(segments)


def _overlap_frame(raw: dict[str, Any], measure: str) -> Any:
    """The overlap matrix from segment sizes and pairwise intersection counts (one audience's,
    or several shards' summed)."""
    import pandas

    names, sizes, both = raw["names"], raw["sizes"], raw["intersections"]
    n = len(names)

    def cell(i: int, j: int) -> float:
        if measure == "count":
            return float(both[i][j])
        if measure == "jaccard":
            either = sizes[i] + sizes[j] - both[i][j]
            return both[i][j] / either if either else float("nan")
        if measure == "share":
            return both[i][j] / sizes[i] if sizes[i] else float("nan")
        raise ValueError(f'measure is "count", "jaccard" or "share", not {measure!r}')

    frame = pandas.DataFrame(
        [[cell(i, j) for j in range(n)] for i in range(n)], index=names, columns=names
    )
    return frame.astype("int64") if measure == "count" else frame


class _InsightMixin(_NativeAudience):
    """The DataFrame-shaped insight methods of :class:`segcore.Audience`."""

    def sizes(self, now: Any = None) -> Any:
        """Every segment's ``members`` and ``share`` of the live profiles at ``now``."""
        return _frame(self._sizes(now))

    def overlap(
        self,
        segments: Sequence[str | Predicate],
        now: Any = None,
        measure: Literal["count", "jaccard", "share"] = "count",
    ) -> Any:
        """How ``segments`` overlap at ``now``: a square pandas DataFrame, rows and columns
        the segments, holding the profiles in both (``"count"``), the Jaccard similarity
        (``"jaccard"``) or the share of the row's members also in the column
        (``"share"``)."""
        return _overlap_frame(self._overlap(_segments(segments), now), measure)

    def kpis(
        self,
        segments: Sequence[str | Predicate],
        outcome: Outcome,
        now: Any = None,
        confidence: float = 0.95,
    ) -> Any:
        """Each segment's outcome at ``now``: ``members``, ``share``, ``estimate`` (the rate
        or mean) with its interval (``low``, ``high``: Wilson for a rate, t for a mean), the
        rest of the audience's ``rest_estimate``, and the comparison with it: ``difference``,
        ``relative_lift``, ``statistic``, ``p_value`` and the Benjamini–Hochberg
        ``adjusted_p_value`` across the segments."""
        raw = self._kpis(_segments(segments), outcome, now, confidence)
        raw.pop("overall")
        return _frame(raw)

    def advise(
        self,
        outcome: Outcome,
        minimum_effect: float,
        now: Any = None,
        alpha: float = 0.05,
        power: float = 0.8,
        duplicate_jaccard: float = 0.9,
    ) -> Advice:
        """Reviews the catalog and its decisions against ``outcome``: empty, too small to
        test, near-duplicate, no different from the rest or from a sibling, differing, and
        shadowed decision rules, each with its reason and numbers; and a suggested coarser
        catalog. ``minimum_effect`` is the smallest difference worth detecting (rate points
        for a conversion, the value's units for a sum)."""
        return Advice(self._advise(outcome, minimum_effect, now, alpha, power, duplicate_jaccard))

    def co_occurrence(self, event: str, value: str, min_support: float) -> CoOccurrence:
        """Which values of the string property ``value`` of ``event`` are bought together
        (a basket is a profile's distinct values), keeping pairs held by at least
        ``min_support`` of the baskets."""
        return CoOccurrence(self._co_occurrence(event, value, min_support))

    def recommend(self, id: str, together: CoOccurrence, k: int = 10) -> list[dict[str, Any]]:
        """Up to ``k`` items for profile ``id``: co-occurrence weighed by their own history,
        never what they have, filled up with popular items. Each a dict with ``item``,
        ``score`` and ``because`` (the item of theirs that suggests it; None when popular)."""
        return self._recommend(id, together._native, k)

    def recommend_segment(
        self, segment: str, together: CoOccurrence, k: int = 10, now: Any = None
    ) -> Any:
        """:meth:`recommend` for every member of ``segment`` at ``now``: a DataFrame with
        ``id``, ``rank``, ``item``, ``score`` and ``because``."""
        return _frame(self._recommend_segment(segment, together._native, k, now))
