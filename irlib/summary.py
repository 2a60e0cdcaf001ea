"""The index page's incident summary, from the findings the steps recorded."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .report import esc

NO_ONSET_ADVICE = ("widen the incident window so it starts before the trouble, or check that the metric and log "
                   "sources answered")


def _value(findings: dict[str, Any], name: str) -> Any:
    found = findings.get(name)
    return None if found is None else found.value


def summary_html(findings: dict[str, Any]) -> str:
    """Severity, onset, top suspect, predicted exhaustion and root cause, each saying so when not established."""
    sev = _value(findings, "severity") or {}
    onset = _value(findings, "onset") or {}
    suspects = _value(findings, "suspects") or []
    oom = _value(findings, "exhaustion") or {}
    cause = _value(findings, "root_cause") or {}
    top_error = _value(findings, "top_error_template") or {}
    level = sev.get("level") if isinstance(sev, dict) else None
    rows = [
        ("Severity", f"<span class=\"sev {esc(level)}\">{esc(level)}</span> " + esc("; ".join(sev.get("reasons", [])))
         + (" (set by the parameters' override)" if sev.get("overridden") else "") if level else
         "not established (step 01 did not record it)"),
        ("Onset", esc(onset_text(onset)) if "onset" in findings else _absent(findings, "onset", "")),
        ("Top suspect", esc(suspects[0].get("reason") or suspects[0].get("name")) if suspects else
         _absent(findings, "suspects", "no known change preceded the onset in the look-back window")),
        ("Top error", esc(top_error.get("template")) if top_error.get("template") else
         _absent(findings, "top_error_template", "no error or warning template in the logs")),
        ("Predicted exhaustion", esc(oom.get("summary")) if oom.get("summary") else
         _absent(findings, "exhaustion", "no resource trend to exhaustion found")),
        ("Root cause", esc(cause.get("text")) if cause.get("text") else "not established yet"),
    ]
    body = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    return f"<h2>Summary</h2><table>{body}</table>"


def _absent(findings: dict[str, Any], name: str, negative: str) -> str:
    """A negative answer only when the step that would have found it ran and recorded it; else "not established"."""
    if name in findings:
        return negative
    return "not established (the step that finds it did not run or did not record it)"


def onset_text(onset: Mapping[str, Any]) -> str:
    """The onset finding in words: its time, confidence and agreeing signals, or that no onset was established,
    why, and what to do about it."""
    if onset.get("time"):
        signals = ", ".join(onset.get("signals") or []) or "none named"
        return (f"{pd.Timestamp(onset['time']):%Y-%m-%d %H:%M:%S} UTC (confidence "
                f"{float(onset.get('confidence') or 0):.2f}; signals: {signals})")
    why = str(onset.get("explanation") or "no signal to detect it from")
    return f"no onset established: {why} (confidence 0); {NO_ONSET_ADVICE}"
