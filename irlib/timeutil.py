"""One incident clock: parse instants and windows into tz-aware UTC timestamps.

No function here reads the wall clock on its own: ``now`` is always passed in by the caller.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

_RELATIVE = re.compile(r"^\s*now\s*(?:(?P<sign>[+-])\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h|d|w))?\s*$")
_UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class TimeParseError(ValueError):
    """Raised for a time that cannot be read or has no zone; the parameters loader turns it into a ParameterError."""


def parse_instant(value: object, now: pd.Timestamp) -> pd.Timestamp:
    """Read an ISO 8601 instant with an offset, ``now`` or ``now-2h`` style text, or an aware datetime, as UTC."""
    if isinstance(value, (datetime, pd.Timestamp)):
        ts = pd.Timestamp(value)
        if ts.tzinfo is None:
            raise TimeParseError(f"{value!s} has no time zone; write it with an offset such as +00:00 or Z")
        return ts.tz_convert("UTC")
    if not isinstance(value, str):
        raise TimeParseError(f"expected a time as text (ISO 8601 with offset, or now-2h), got {type(value).__name__}")
    match = _RELATIVE.match(value)
    if match:
        if not match.group("sign"):
            return now
        delta = pd.Timedelta(**{_UNITS[match.group("unit")]: float(match.group("num"))})
        return now + delta if match.group("sign") == "+" else now - delta
    try:
        ts = pd.Timestamp(value.strip())
    except (ValueError, TypeError) as exc:
        raise TimeParseError(f"{value!r} is not an ISO 8601 time nor a relative time like now-2h") from exc
    if ts is pd.NaT or ts.tzinfo is None:
        raise TimeParseError(f"{value!r} has no time zone; add an offset such as +00:00 or Z")
    return ts.tz_convert("UTC")


def utc_now() -> pd.Timestamp:
    """The wall clock, as a UTC timestamp.  Only entry points (CLI, runner) call this, never analysis code."""
    return pd.Timestamp(datetime.now(timezone.utc))


def as_utc(value: object) -> pd.Timestamp:
    """A timestamp in UTC; naive values are taken as UTC (used only for values that come from UTC-only APIs)."""
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


@dataclass(frozen=True)
class Window:
    """A closed time interval [start, end] in UTC."""

    start: pd.Timestamp
    end: pd.Timestamp

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise TimeParseError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise TimeParseError(f"window end {self.end.isoformat()} is not after its start {self.start.isoformat()}")

    @property
    def duration(self) -> pd.Timedelta:
        return self.end - self.start

    def contains(self, ts: pd.Timestamp) -> bool:
        return bool(self.start <= ts <= self.end)

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> "Window":
        return cls(as_utc(data["start"]), as_utc(data["end"]))
