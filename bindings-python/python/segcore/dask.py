"""segcore on Dask: one :class:`segcore.Audience` per shard, built and kept on the workers.

``DistributedAudience.from_dask(profiles, events)`` takes Dask DataFrames of any
partitioning, gives each row the stable shard of its customer id (:func:`segcore.shard_of`,
the same in every process), range-partitions both frames on it so that shard k of both is
partition k (each customer's profile and events meet), and builds one audience per partition on the workers with the
bulk Arrow loads. The audiences stay there (Dask futures), so a query ships only the question
and the answers. ``DistributedAudience.scatter(audience, shards)`` spreads an audience built
in this process instead (:meth:`segcore.Audience.split`).

Answers combine exactly: counts and sizes add, member lists concatenate, overlap counts add,
and KPI statistics merge as sufficient statistics (successes and trials, Welford summaries)
before any rate, interval or test is computed — never an average of partition averages. Every
shard declares the union of the shards' schemas, so a predicate that one audience would accept
is accepted by every shard; segments defined here are sent with each query and defined where
missing (a shard Dask rebuilt after losing a worker gets them too).

Needs ``pip install segcore[dask]``.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Sequence, TypeVar

import segcore

from ._frames import _frame
from ._insight import _overlap_frame, _segments

_T = TypeVar("_T")

_SHARD = "_segcore_shard"


def _default_client() -> Any:
    """The Dask client of this process (``distributed.default_client``)."""
    from distributed import default_client

    return default_client()  # type: ignore[no-untyped-call]


def _ensure(audience: segcore.Audience, schema: str, segments: Sequence[tuple[str, str]]) -> segcore.Audience:
    """The shard with the shared schema declared and the handle's segments defined."""
    audience._declare_schema_json(schema)
    defined = dict(audience.segments())
    for name, text in segments:
        if defined.get(name) != text:
            audience.define(name, text)
    return audience


def _build(
    profiles: Any,
    events: Any,
    id: str,
    name: str,
    time: str,
    tags: str | None,
    tagged_at: Any,
    time_zone: str,
) -> segcore.Audience:
    audience = segcore.Audience(time_zone)
    if profiles is not None and len(profiles):
        audience.load_profiles(profiles.reset_index(drop=True), id=id, tags=tags, tagged_at=tagged_at)
    if events is not None and len(events):
        audience.load_events(events.reset_index(drop=True), id=id, name=name, time=time)
    return audience


def _count(a: segcore.Audience, schema: str, segments: Any, segment: str, now: Any) -> int:
    return _ensure(a, schema, segments).count(segment, now)


def _members(a: segcore.Audience, schema: str, segments: Any, segment: str, now: Any) -> Any:
    import pandas

    return pandas.Series(_ensure(a, schema, segments).members(segment, now), name="id", dtype=object)


def _sizes(a: segcore.Audience, schema: str, segments: Any, now: Any) -> tuple[int, dict[str, list[Any]]]:
    return len(a), _ensure(a, schema, segments)._sizes(now)


def _overlap(a: segcore.Audience, schema: str, segments: Any, wanted: list[str], now: Any) -> dict[str, Any]:
    return _ensure(a, schema, segments)._overlap(wanted, now)


def _kpi_parts(a: segcore.Audience, schema: str, segments: Any, wanted: Any, outcome: Any, now: Any) -> segcore.KpiParts:
    return _ensure(a, schema, segments)._kpi_parts(wanted, outcome, now)


def _start_live(a: segcore.Audience, schema: str, segments: Any, now: Any) -> Any:
    shard = _ensure(a, schema, segments)
    shard.start_live(now)
    return shard.clock


def _advance_to(
    a: segcore.Audience, schema: str, segments: Any, clock: Any, to: Any
) -> tuple[Any, list[tuple[int, str, str, str]]]:
    shard = _ensure(a, schema, segments)
    if shard.clock != clock:
        # This copy of the shard is not live at the handle's clock: Dask ran the task where it
        # made a copy (work moved under load), and a copy carries no live membership. Starting
        # it at the clock changes nothing advancing from the clock reports.
        shard.start_live(clock)
    moved = [(t.at_ns, t.profile, t.segment, t.direction) for t in shard.advance_to(to)]
    return shard.clock, moved


def _length(a: segcore.Audience) -> int:
    return len(a)


def _schema(a: segcore.Audience) -> str:
    return a._schema_json()


class DistributedAudience:
    """An audience spread over a Dask cluster, one shard per partition, kept on the workers.

    Build it with :meth:`from_dask` (Dask DataFrames of profiles and events) or
    :meth:`scatter` (an audience built here). Wherever a segment is expected, pass a name
    defined with :meth:`define` or a predicate's text.
    """

    def __init__(self, client: Any, shards: list[Any]) -> None:
        self._client = client
        self._shards = shards
        self._segments: list[tuple[str, str]] = []
        # The live clock, kept here so that a shard that lost its live membership (a copy Dask
        # made elsewhere) starts again at it; None while live membership is off.
        self._clock: Any = None
        # The union of the shards' schemas, declared on each shard with every query.
        union = segcore.Audience()
        for schema in client.gather(client.map(_schema, shards, pure=False)):
            union._declare_schema_json(schema)
        self._schema = union._schema_json()
        self._validator = union

    @classmethod
    def from_dask(
        cls,
        profiles: Any = None,
        events: Any = None,
        *,
        id: str = "id",
        name: str = "name",
        time: str = "time",
        tags: str | None = None,
        tagged_at: Any = None,
        shards: int | None = None,
        time_zone: str = "UTC",
        client: Any = None,
        shuffle_method: str | None = None,
    ) -> DistributedAudience:
        """Builds one audience per shard on the workers from Dask DataFrames: ``profiles``
        (one row a customer, ``id`` its id column, ``tags`` an optional column of tag lists,
        every other column an attribute) and ``events`` (one row an event: ``id``, ``name``,
        ``time``; numeric columns become values, string columns properties). Either may be
        None. ``shards`` defaults to the larger partition count of the two. ``shuffle_method``
        is Dask's (``"p2p"``, ``"tasks"``); by default ``"tasks"`` when there is a tags
        column (Dask's P2P shuffle does not carry Arrow list columns), else Dask's choice."""
        if profiles is None and events is None:
            raise ValueError("from_dask needs profiles, events or both")
        client = client or _default_client()
        frames = [f for f in (profiles, events) if f is not None]
        count = shards or max(f.npartitions for f in frames)
        if not 1 <= count <= segcore.MAX_SHARDS:
            raise segcore.InvalidValueError(
                f"an audience splits into 1 to {segcore.MAX_SHARDS} shards, not {count}", kind="invalid_value"
            )

        if tags is not None and profiles is not None:
            import pandas

            if isinstance(profiles[tags].dtype, pandas.StringDtype):
                raise segcore.InvalidValueError(
                    f"the tags column {tags!r} holds strings: give Dask a list type "
                    "(pandas.ArrowDtype(pyarrow.list_(pyarrow.string()))), since it turns Python "
                    "lists into their text",
                    kind="invalid_value",
                )
        divisions = list(range(count)) + [count - 1]
        if shuffle_method is None and tags is not None:
            shuffle_method = "tasks"

        def keyed(frame: Any) -> Any:
            shard = frame[id].map_partitions(
                lambda ids: segcore.shard_of([str(i) for i in ids], count), meta=(_SHARD, "u4")
            )
            # A range partition on the shard: partition k holds exactly shard k, in both frames.
            return frame.assign(**{_SHARD: shard}).set_index(
                _SHARD, divisions=divisions, shuffle_method=shuffle_method
            )

        parts: dict[str, list[Any]] = {}
        for key, frame in (("profiles", profiles), ("events", events)):
            parts[key] = keyed(frame).to_delayed() if frame is not None else [None] * count
        return cls._built(client, parts["profiles"], parts["events"], (id, name, time, tags, tagged_at, time_zone))

    @classmethod
    def from_partitions(
        cls,
        profiles: Any = None,
        events: Any = None,
        *,
        id: str = "id",
        name: str = "name",
        time: str = "time",
        tags: str | None = None,
        tagged_at: Any = None,
        time_zone: str = "UTC",
        client: Any = None,
    ) -> DistributedAudience:
        """Builds one audience per partition without a shuffle, for data already partitioned
        by customer (Parquet written per shard, say): partition k of ``profiles`` and of
        ``events`` must hold the same customers, all of their rows. The columns are read as
        :meth:`from_dask` reads them."""
        frames = [f for f in (profiles, events) if f is not None]
        if not frames:
            raise ValueError("from_partitions needs profiles, events or both")
        if len({f.npartitions for f in frames}) != 1:
            raise ValueError(
                "from_partitions needs both frames in the same number of partitions; "
                "use from_dask to shuffle them by customer"
            )
        client = client or _default_client()
        count = frames[0].npartitions
        parts = [f.to_delayed() if f is not None else [None] * count for f in (profiles, events)]
        return cls._built(client, parts[0], parts[1], (id, name, time, tags, tagged_at, time_zone))

    @classmethod
    def _built(cls, client: Any, profiles: list[Any], events: list[Any], columns: tuple[Any, ...]) -> DistributedAudience:
        """One audience built per pair of partitions, on the workers, kept there."""
        from dask.delayed import delayed

        built = [delayed(_build, pure=False)(p, e, *columns) for p, e in zip(profiles, events)]
        return cls(client, client.compute(built))

    @classmethod
    def scatter(cls, audience: segcore.Audience, shards: int, client: Any = None) -> DistributedAudience:
        """Splits ``audience`` by :func:`segcore.shard_of` (:meth:`segcore.Audience.split`)
        and sends one shard to each worker, round robin. Its defined segments come along."""
        client = client or _default_client()
        pieces = audience.split(shards)
        futures = client.scatter(pieces, broadcast=False)
        handle = cls(client, list(futures))
        handle._segments = list(audience.segments())
        return handle

    # ---- segments ----

    def define(self, name: str, predicate: str) -> None:
        """Defines a named segment on every shard. The predicate is checked here, against the
        union of the shards' schemas and the segments defined so far."""
        text = str(predicate)
        self._validator.define(name, text)
        self._segments = [(n, t) for n, t in self._segments if n != name] + [(name, text)]

    def segments(self) -> list[tuple[str, str]]:
        """The defined segments, as ``(name, predicate text)``."""
        return list(self._segments)

    # ---- queries ----

    def _each(self, fn: Callable[..., _T], *args: Any) -> list[_T]:
        """``fn(shard, *args)`` on every shard, gathered; a shard that fails (after Dask's
        retries) raises rather than leaving a partial answer."""
        futures = self._client.map(
            fn, self._shards, *[[a] * len(self._shards) for a in args], pure=False
        )
        return list(self._client.gather(futures))

    def __len__(self) -> int:
        return sum(self._each(_length))

    @property
    def shards(self) -> int:
        """How many shards the audience is spread over."""
        return len(self._shards)

    def count(self, segment: str, now: Any = None) -> int:
        """Profiles in ``segment`` at ``now``: the sum of the shards' counts."""
        return sum(self._each(_count, self._schema, self._segments, str(segment), now))

    def members(self, segment: str, now: Any = None, compute: bool = True) -> Any:
        """The ids of the profiles in ``segment`` at ``now``: a pandas Series (sorted), or with
        ``compute=False`` a Dask Series of one partition per shard, left on the workers."""
        futures = self._client.map(
            _members,
            self._shards,
            *[[a] * len(self._shards) for a in (self._schema, self._segments, str(segment), now)],
            pure=False,
        )
        if not compute:
            import dask.dataframe as dd
            import pandas

            return dd.from_delayed(futures, meta=pandas.Series([], name="id", dtype=object))
        import pandas

        parts = self._client.gather(futures)
        ids = sorted(i for part in parts for i in part)
        return pandas.Series(ids, name="id", dtype=object)

    def sizes(self, now: Any = None) -> Any:
        """Every defined segment's ``members`` (summed over the shards) and ``share`` of all
        live profiles."""
        results = self._each(_sizes, self._schema, self._segments, now)
        live = sum(n for n, _ in results)
        names = [name for name, _ in self._segments]
        members = {name: 0 for name in names}
        for _, part in results:
            for name, n in zip(part["segment"], part["members"]):
                members[name] += n
        ordered = sorted(names)
        return _frame(
            {
                "segment": ordered,
                "members": [members[n] for n in ordered],
                "share": [members[n] / live if live else 0.0 for n in ordered],
            }
        )

    def overlap(
        self,
        segments: Sequence[str],
        now: Any = None,
        measure: Literal["count", "jaccard", "share"] = "count",
    ) -> Any:
        """How ``segments`` overlap: the shards' sizes and pairwise intersections summed, then
        the same matrix :meth:`segcore.Audience.overlap` gives."""
        wanted = _segments(segments)
        parts = self._each(_overlap, self._schema, self._segments, wanted, now)
        total = {
            "names": parts[0]["names"],
            "sizes": [sum(p["sizes"][i] for p in parts) for i in range(len(wanted))],
            "intersections": [
                [sum(p["intersections"][i][j] for p in parts) for j in range(len(wanted))]
                for i in range(len(wanted))
            ],
        }
        return _overlap_frame(total, measure)

    def _merged_parts(self, wanted: Sequence[str | segcore.Predicate], outcome: segcore.Outcome, now: Any) -> segcore.KpiParts:
        """The shards' KPI statistics for ``wanted``, merged."""
        parts = self._each(_kpi_parts, self._schema, self._segments, wanted, outcome, now)
        merged = parts[0]
        for part in parts[1:]:
            merged = merged.merge(part)
        return merged

    def kpis(
        self,
        segments: Sequence[str],
        outcome: segcore.Outcome,
        now: Any = None,
        confidence: float = 0.95,
    ) -> Any:
        """:meth:`segcore.Audience.kpis` over every shard: each shard's sufficient statistics
        (rates' successes and trials, values' Welford summaries) merged, then one report."""
        raw = self._merged_parts(_segments(segments), outcome, now)._report(confidence)
        raw.pop("overall")
        return _frame(raw)

    def compare(
        self,
        a: str,
        outcome: segcore.Outcome,
        b: str | None = None,
        now: Any = None,
    ) -> dict[str, Any] | None:
        """:meth:`segcore.Audience.compare` over every shard: segment ``a`` against ``b`` (or
        everyone else) on ``outcome``, from the merged statistics; None when a side is too
        small to test."""
        wanted = [str(a)] + ([str(b)] if b is not None else [])
        return self._merged_parts(wanted, outcome, now)._compare()

    # ---- live membership ----

    def start_live(self, now: Any = None) -> None:
        """Turns live membership on in every shard with the clock at ``now``."""
        clocks = self._each(_start_live, self._schema, self._segments, now)
        self._clock = clocks[0] if clocks else None

    def advance_to(self, to: Any) -> Any:
        """Moves every shard's clock to ``to``: a DataFrame of the transitions of all shards
        (``at``, ``profile``, ``segment``, ``direction``), in time order, then by profile and
        segment."""
        import pandas

        if self._clock is None:
            raise segcore.NotLiveError(
                "live membership is off: start it with start_live first", kind="not_live"
            )
        parts = self._each(_advance_to, self._schema, self._segments, self._clock, to)
        if parts:
            self._clock = parts[0][0]
        moved = sorted(t for _, part in parts for t in part)
        return pandas.DataFrame(
            {
                "at": pandas.to_datetime([t[0] for t in moved], unit="ns", utc=True),
                "profile": [t[1] for t in moved],
                "segment": [t[2] for t in moved],
                "direction": [t[3] for t in moved],
            }
        )

    def __repr__(self) -> str:
        return f"<segcore.dask.DistributedAudience: {len(self._shards)} shards, {len(self._segments)} segments>"
