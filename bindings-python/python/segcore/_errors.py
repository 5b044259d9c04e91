"""segcore's exceptions. Every one is a ``SegcoreError`` and also the builtin a Python user
would reach for: a parse error is a ``ValueError``, a schema or type error a ``TypeError``, an
unknown name a ``KeyError``. Each carries ``kind``, the core's stable error kind, and the
details of its kind as attributes. The native module picks the class by kind
(``bindings-python/src/errors.rs``)."""

from __future__ import annotations

import functools
from typing import Any


class SegcoreError(Exception):
    """Base of every segcore error. ``kind`` is the core's stable name for it."""

    kind: str

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.kind = details.pop("kind", "segcore")
        for name, value in details.items():
            setattr(self, name, value)

    def __str__(self) -> str:
        return self.message


class InternalError(SegcoreError, RuntimeError):
    """A bug in segcore: a Rust panic, caught where the call crossed into Rust (pyo3 would raise
    ``PanicException``, which ``except Exception`` does not catch). The audience may be
    inconsistent: open or build it again before relying on it. Please report it."""


def _internal(panic: BaseException) -> InternalError:
    return InternalError(
        f"internal error (a bug in segcore; please report it): {panic}. The audience may be "
        "inconsistent: open or build it again before relying on it",
        kind="internal",
    )


def _is_panic(e: BaseException) -> bool:
    return type(e).__name__ == "PanicException"


def guard(method: Any) -> Any:
    """``method`` with a Rust panic turned into :class:`InternalError`."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except BaseException as e:
            if _is_panic(e):
                raise _internal(e) from e
            raise

    return call


def guard_native_methods(cls: type, native: type) -> None:
    """Wraps every method of ``native`` that ``cls`` (a Python subclass) and the classes between
    them do not define themselves, so that a panic in any of them is an :class:`InternalError`.
    Properties and dunders are left alone (they only read)."""
    for name, attr in vars(native).items():
        owner = next(k for k in cls.__mro__ if name in vars(k))
        if name.startswith("__") or owner is not native:
            continue
        kind = type(attr).__name__
        if kind == "method_descriptor":
            setattr(cls, name, guard(attr))
        elif kind == "classmethod_descriptor":
            bound = attr

            def make(descriptor: Any) -> Any:
                def call(klass: type, *args: Any, **kwargs: Any) -> Any:
                    return guard(descriptor.__get__(None, klass))(*args, **kwargs)

                call.__doc__ = descriptor.__doc__
                call.__name__ = name
                return classmethod(call)

            setattr(cls, name, make(bound))


class ParseError(SegcoreError, ValueError):
    """Text or JSON that is not a predicate. ``line`` and ``column`` are 1-based; for text,
    ``span`` is the (start, end) byte range, and ``found`` / ``expected`` say what was there
    and what would have fitted."""

    line: int
    column: int
    span: tuple[int, int] | None = None
    found: str | None = None
    expected: str | None = None


class TooDeepError(ParseError):
    """A predicate nested more deeply than the language allows."""


class UnknownNameError(SegcoreError, KeyError):
    """A name the audience does not know: ``name``, its ``name_kind`` (attribute, event,
    segment, profile, ...) and the nearest known ``suggestion``, if any."""

    name: str
    name_kind: str
    suggestion: str | None


class SchemaError(SegcoreError, TypeError):
    """A value or comparison whose type does not fit the schema."""


class InvalidValueError(SegcoreError, ValueError):
    """A value no type admits: NaN, an empty name, a malformed tag or zone."""


class CycleError(SegcoreError, ValueError):
    """A segment definition that would refer to itself; ``path`` names the loop."""

    path: list[str]


class SegmentInUseError(SegcoreError, ValueError):
    """A segment that cannot be removed because ``used_by`` refer to it."""

    segment: str
    used_by: list[str]


class CorruptError(SegcoreError, ValueError):
    """Bytes that are not an intact audience image, or a durable directory whose files are
    damaged beyond a torn journal tail."""


class VersionError(CorruptError):
    """A file written in a format version this build cannot read; ``expected`` and ``found``
    name the versions."""

    expected: str
    found: str


class StorageError(SegcoreError, OSError):
    """A file that could not be read or written (``path`` names it); an image that was read
    but is damaged is a ``CorruptError`` instead."""

    path: str


class LockedError(StorageError):
    """A durable directory another writer holds open: ``pid`` is that process (or None)."""

    pid: int | None


class TemplateError(SegcoreError, ValueError):
    """A message template that does not compile (or fails while rendering), at ``line`` and
    ``column`` of the template."""

    line: int
    column: int


class NotLiveError(SegcoreError, RuntimeError):
    """A live-membership call before ``start_live``."""


class ClockBackwardsError(SegcoreError, ValueError):
    """``advance_to`` an instant before the audience ``clock`` (both RFC 3339 text)."""

    clock: str
    to: str


class QueueFullError(SegcoreError, RuntimeError):
    """A write refused (nothing applied) because the transition queue holds ``capacity``
    transitions: drain it with ``drain_transitions()`` and write again."""

    capacity: int


class InputError(SegcoreError, ValueError):
    """A row or message of an input that cannot be loaded (raised when a load is asked to
    fail whole, or for one message): ``origin`` is the file (``message`` for one message,
    ``records`` for a list), ``line`` the 1-based line it starts on (None for one message),
    ``reason`` what is wrong with it."""

    origin: str
    line: int | None
    reason: str


__all__ = [
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
]
