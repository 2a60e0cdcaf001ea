"""Alertmanager webhook notifications (format version 4) parsed into typed alert groups (pure: no I/O).

:func:`parse_alertmanager_payload` accepts a request body and returns an :class:`AlertGroup`, or raises
:class:`PayloadError` carrying the HTTP status to answer (413 oversized, 400 anything malformed); every field of
the payload is checked for its type, times must be RFC 3339 with a zone and come out in UTC.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import IrlibError
from .timeutil import TimeParseError, as_utc

MAX_PAYLOAD_BYTES = 1 << 20
MAX_ALERTS = 1000


class PayloadError(IrlibError):
    """A notification that is not a valid Alertmanager webhook payload; ``status`` is the HTTP answer (4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Alert:
    """One alert of a notification."""

    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: pd.Timestamp
    ends_at: pd.Timestamp | None
    fingerprint: str = ""
    generator_url: str = ""


@dataclass(frozen=True)
class AlertGroup:
    """One Alertmanager notification: a group of alerts sharing ``group_labels``."""

    status: str
    receiver: str
    group_key: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    alerts: tuple[Alert, ...]
    truncated_alerts: int = 0

    @property
    def first_starts_at(self) -> pd.Timestamp:
        """The earliest ``startsAt`` of the group's alerts (the incident's anchor)."""
        return min(a.starts_at for a in self.alerts)

    @property
    def last_ends_at(self) -> pd.Timestamp | None:
        ends = [a.ends_at for a in self.alerts if a.ends_at is not None]
        return max(ends) if ends else None

    def label(self, *names: str) -> str:
        """The first of ``names`` found in the common labels, the group labels, then any alert's labels."""
        for name in names:
            for labels in (self.common_labels, self.group_labels, *(a.labels for a in self.alerts)):
                if labels.get(name):
                    return labels[name]
        return ""


def parse_alertmanager_payload(body: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> AlertGroup:
    """Parse a webhook body; raise :class:`PayloadError` (413 oversized, 400 anything malformed)."""
    if len(body) > max_bytes:
        raise PayloadError(f"payload of {len(body)} bytes exceeds the {max_bytes}-byte limit", 413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8 ({exc}); Alertmanager sends UTF-8 JSON") from exc
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"payload is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PayloadError("payload must be a JSON object (Alertmanager webhook format version 4)")
    if str(data.get("version", "4")) != "4":
        raise PayloadError(f"unsupported webhook format version {data.get('version')!r}; expected \"4\"")
    status = _one_of(data, "status", ("firing", "resolved"))
    raw_alerts = data.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise PayloadError("'alerts' must be a non-empty list")
    if len(raw_alerts) > MAX_ALERTS:
        raise PayloadError(f"{len(raw_alerts)} alerts exceed the limit of {MAX_ALERTS}", 413)
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("'groupKey' must be a non-empty string")
    truncated = data.get("truncatedAlerts", 0)
    return AlertGroup(
        status=status, receiver=_text(data, "receiver"), group_key=group_key,
        group_labels=_labels(data, "groupLabels"), common_labels=_labels(data, "commonLabels"),
        common_annotations=_labels(data, "commonAnnotations"), external_url=_text(data, "externalURL"),
        alerts=tuple(_alert(a, i) for i, a in enumerate(raw_alerts)),
        truncated_alerts=truncated if isinstance(truncated, int) and not isinstance(truncated, bool) else 0)


def _alert(raw: Any, index: int) -> Alert:
    if not isinstance(raw, dict):
        raise PayloadError(f"alerts[{index}] must be an object")
    starts = _time(raw.get("startsAt"), f"alerts[{index}].startsAt")
    if starts is None:
        raise PayloadError(f"alerts[{index}].startsAt is required")
    ends = _time(raw.get("endsAt"), f"alerts[{index}].endsAt")
    return Alert(status=_one_of(raw, "status", ("firing", "resolved"), f"alerts[{index}]."),
                 labels=_labels(raw, "labels", f"alerts[{index}]."),
                 annotations=_labels(raw, "annotations", f"alerts[{index}]."),
                 starts_at=starts, ends_at=ends if ends is not None and ends.year > 1 else None,
                 fingerprint=_text(raw, "fingerprint"), generator_url=_text(raw, "generatorURL"))


def _time(value: Any, where: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise PayloadError(f"{where} must be an RFC 3339 time as text")
    if value.startswith("0001-01-01"):
        return None  # Go's zero time: "no end yet"
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise PayloadError(f"{where} is not an RFC 3339 time: {value!r}") from exc
    if ts is pd.NaT or ts.tzinfo is None:
        raise PayloadError(f"{where} must carry a time zone: {value!r}")
    try:
        return as_utc(ts)
    except (ValueError, OverflowError, TimeParseError) as exc:
        raise PayloadError(f"{where} is out of range: {value!r}") from exc


def _labels(data: dict[str, Any], key: str, prefix: str = "") -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise PayloadError(f"{prefix}{key} must be an object of text values")
    return dict(value)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key) or ""
    if not isinstance(value, str):
        raise PayloadError(f"'{key}' must be text")
    return value


def _one_of(data: dict[str, Any], key: str, allowed: tuple[str, ...], prefix: str = "") -> str:
    value = data.get(key)
    if value not in allowed:
        raise PayloadError(f"{prefix}{key} must be one of {', '.join(allowed)}, got {str(value)[:40]!r}")
    return str(value)
