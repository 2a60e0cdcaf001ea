"""Status updates: the internal update for responders and the external status-page text, as markdown.

Everything that may come from sources (titles, impact, actions) is escaped with :func:`md_escape`.  The next
update time follows the severity's cadence (P0 every 30 min, P1 every hour, P2 every 4 h).
"""
from __future__ import annotations

import pandas as pd

from .severity import Severity
from .text import md_escape

STATUSES = ("investigating", "identified", "monitoring", "resolved")
_PUBLIC = {
    "investigating": "We are investigating reports of problems with {service}.",
    "identified": "We have identified the cause of the problems with {service} and are working on a fix.",
    "monitoring": "A fix has been applied to {service} and we are monitoring the results.",
    "resolved": "The problems with {service} have been resolved.",
}


def next_update_at(as_of: pd.Timestamp, severity: Severity) -> pd.Timestamp:
    """When the next update is due: ``as_of`` plus the severity's cadence."""
    return as_of + pd.Timedelta(minutes=severity.update_minutes)


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")


def internal_update(*, incident_id: str, title: str, severity: Severity, status: str, impact: str,
                    current_action: str, as_of: pd.Timestamp, eta: pd.Timestamp | None = None,
                    onset: pd.Timestamp | None = None, commander: str | None = None) -> str:
    """The internal update (markdown): status, severity and why, impact, current action, ETA, next update."""
    _check_status(status)
    nxt = next_update_at(as_of, severity)
    lines = [
        f"### [{severity.level}] {md_escape(incident_id)}: {md_escape(title)} ({status.upper()})",
        "",
        f"- **As of:** {as_of:%Y-%m-%d %H:%M} UTC",
        f"- **Status:** {status}",
        f"- **Severity:** {severity.level}{' (override)' if severity.overridden else ''}: "
        + md_escape("; ".join(severity.reasons)),
        f"- **Started:** {f'{onset:%Y-%m-%d %H:%M} UTC' if onset is not None else 'not established yet'}",
        f"- **Impact:** {md_escape(impact) or 'not established yet'}",
        f"- **Current action:** {md_escape(current_action) or 'not established yet'}",
        f"- **ETA:** {f'{eta:%H:%M} UTC' if eta is not None else 'unknown'}",
        f"- **Incident commander:** {md_escape(commander) if commander else 'not assigned'}",
        f"- **Response time:** {severity.response_time}; updates {severity.update_cadence}",
        f"- **Next update:** {nxt:%H:%M} UTC",
    ]
    return "\n".join(lines) + "\n"


def status_page_text(*, service: str, status: str, as_of: pd.Timestamp, severity: Severity,
                     user_impact: str = "", eta: pd.Timestamp | None = None) -> str:
    """The external status-page text (markdown): plain words, no internal detail, next update time."""
    _check_status(status)
    name = md_escape(service)
    parts = [f"**{status.capitalize()}** ({as_of:%Y-%m-%d %H:%M} UTC)", "", _PUBLIC[status].format(service=name)]
    if user_impact and status != "resolved":
        parts.append(f"Impact: {md_escape(user_impact)}")
    if eta is not None and status in ("identified", "monitoring"):
        parts.append(f"We expect service to be restored by {eta:%H:%M} UTC.")
    if status != "resolved":
        parts.append(f"Next update by {next_update_at(as_of, severity):%H:%M} UTC.")
    else:
        parts.append("We apologise for the disruption; a postmortem will follow.")
    return "\n\n".join(p for p in parts if p) + "\n"  # one paragraph each
