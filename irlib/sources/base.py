"""What every source shares: the :class:`Fetched` result and the :func:`fetcher` marker.

A source is a class built from an :class:`~irlib.incident.Incident`; its public fetch methods are marked with
``@fetcher(SCHEMA)``, take keyword arguments only, and return :class:`Fetched`.  They raise
:class:`~irlib.errors.SourceUnavailable` when the backend cannot answer and :class:`~irlib.errors.QueryError` when it
rejects the query.  They never write anything: the investigation records what they return.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from ..frames import Schema

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Fetched:
    """One answer of a source: the tidy frame, the exact query sent, and whether a cap cut it short."""

    frame: pd.DataFrame
    query: str
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def fetcher(schema: Schema) -> Callable[[F], F]:
    """Mark a source method as a fetch returning a frame with ``schema`` (used for empty frames on failure)."""

    def mark(func: F) -> F:
        func.__irlib_schema__ = dict(schema)  # type: ignore[attr-defined]
        return func

    return mark


def schema_of(source_cls: type, method: str) -> dict[str, str]:
    """The schema a source method was marked with; raises AttributeError for an unmarked or unknown method."""
    func = getattr(source_cls, method, None)
    schema = getattr(func, "__irlib_schema__", None)
    if schema is None:
        raise AttributeError(f"{source_cls.__name__} has no fetch method {method!r}")
    return schema
