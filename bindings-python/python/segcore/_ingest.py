"""Ingest and export on :class:`segcore.Audience`: Segment-spec messages given as dicts (one,
or a list of records such as ``DataFrame.to_dict("records")``), contact CSVs with a column
mapping. The rules are the core's (``docs/ingest.md``); this module only turns Python values
into the JSON text the core reads."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from typing import Any, Iterable, Literal, Mapping, Sequence

from ._segcore import Audience as _NativeAudience
from ._segcore import IngestReport


def _json_default(value: Any) -> Any:
    """Datetimes (and pandas Timestamps) as ISO 8601 text; numpy scalars as Python ones."""
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _missing(value: Any) -> bool:
    """A DataFrame row's missing field (NaN), which is no field at all in a message."""
    return isinstance(value, float) and math.isnan(value)


def _message_text(message: Mapping[str, Any] | str) -> str:
    if isinstance(message, str):
        return message
    return json.dumps(
        {k: v for k, v in message.items() if not _missing(v)},
        default=_json_default,
        allow_nan=False,
    )


class _IngestMixin(_NativeAudience):
    """The ingest methods of :class:`segcore.Audience` that take Python values."""

    def ingest(self, message: Mapping[str, Any] | str) -> dict[str, Any]:
        """Applies one Segment-spec message (a dict, or JSON text), as a live stream delivers
        it. Returns ``{"type", "id", "merged", "values_not_stored"}``; a message that cannot be
        loaded raises :class:`segcore.InputError` and changes nothing."""
        return self._ingest_json(_message_text(message))

    def ingest_records(
        self,
        records: Iterable[Mapping[str, Any] | str],
        *,
        on_error: Literal["skip", "fail"] = "skip",
    ) -> IngestReport:
        """Applies a list of messages (dicts or JSON texts), numbered from 1 in the report:
        with ``on_error="skip"`` the bad ones are reported and the rest loaded; with
        ``"fail"`` nothing is loaded if any is bad (:class:`segcore.InputError`)."""
        return self._ingest_texts([_message_text(m) for m in records], on_error)

    def load_contacts(
        self,
        path: str | os.PathLike[str],
        *,
        preset: Literal["mailchimp", "klaviyo"] | None = None,
        id: str | None = None,
        id_attribute: str | None = None,
        attributes: Mapping[str, str | tuple[str, str]] | None = None,
        tags: str | None = None,
        tag_separator: str = ",",
        consent: Mapping[str, str] | None = None,
        subscribed: Sequence[str] = (),
        at: Any = None,
        on_error: Literal["skip", "fail"] = "skip",
    ) -> IngestReport:
        """Loads a contact CSV: ``preset`` (an email tool's export headers) or ``id`` (the id
        column); ``attributes`` maps a column to an attribute name or ``(name, type)``;
        ``tags`` is the tags column; ``consent`` maps a column to its channel; ``subscribed``
        channels are granted for every row. Tags and decisions are dated ``at`` (default
        now). Bad rows are reported with their line (``on_error="skip"``) or fail the whole
        load (``"fail"``)."""
        mapping: dict[str, Any] = {"tag_separator": tag_separator}
        for key, value in (("preset", preset), ("id", id), ("id_attribute", id_attribute), ("tags", tags)):
            if value is not None:
                mapping[key] = value
        if attributes:
            mapping["attributes"] = {
                column: list(target) if isinstance(target, tuple) else target
                for column, target in attributes.items()
            }
        if consent:
            mapping["consent"] = dict(consent)
        if subscribed:
            mapping["subscribed"] = list(subscribed)
        return self._load_contacts(os.fspath(path), json.dumps(mapping), at, on_error)
