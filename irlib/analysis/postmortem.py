"""The blameless postmortem (markdown) filled from the findings, with TTD / TTA / TTM / TTR computed.

Every section is filled: where the evidence does not establish something, the section says
"not established from the evidence: <what is missing>".  Text from sources is escaped with :func:`prose`: inert
(no HTML, link, emphasis, heading or table syntax survives) yet readable, without backslashes before characters
that mean nothing mid-line (``#``, parentheses).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from .severity import Severity
from .text import fmt_duration

NOT_ESTABLISHED = "not established from the evidence"
# A gap whose reason says another source answered the same question is no action item.
COVERED_GAP = re.compile(r"\binstead\b|\bcovered by\b", re.IGNORECASE)
_ALWAYS = re.compile(r"([\\`*\[\]|~])")
_LONE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_BLOCK_START = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")


def prose(value: object) -> str:
    """``value`` as one line of markdown that shows literally and reads cleanly.

    ``& < > "`` become entities (no raw HTML passes), backslash, backtick, ``* [ ] | ~`` and an underscore at a
    word's edge are backslash-escaped, and a leading ``#``, ``+``, ``-``, ``=`` or ``1.`` is escaped so the text never
    starts a heading or list; ``#`` mid-line, parentheses and ``snake_case`` need no escape.  Line breaks become
    spaces.  ``None`` and NaN become an empty string.
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = " ".join(str(value).splitlines())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    text = _LONE_UNDERSCORE.sub(r"\\_", _ALWAYS.sub(r"\\\1", text))
    return _BLOCK_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if not m.group(2).isdigit()
                            else f"{m.group(1)}{m.group(2)}\\", text)


def _table(rows: list[list[object]], header: list[str]) -> str:
    """A markdown table with every cell escaped with :func:`prose` (the header is trusted text)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(prose(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def open_gaps(gaps: list[str]) -> list[str]:
    """The evidence gaps no other source covered (:data:`COVERED_GAP`): those are the action items."""
    return [gap for gap in gaps if not COVERED_GAP.search(gap)]


@dataclass
class ActionItem:
    """A follow-up: what, who owns it (may be unassigned), priority and due date."""

    action: str
    owner: str = "unassigned"
    priority: str = "P2"
    due: str = ""


@dataclass
class PostmortemInputs:
    """The findings a postmortem is written from; None / empty means "not established".

    started_at: the onset; detected_at: first alert or declaration; acknowledged_at: a responder took it;
    mitigated_at: user impact stopped; resolved_at: incident closed.  timeline: the frame of
    :func:`irlib.analysis.timeline.merge_timeline`; suspects: the frame of
    :func:`irlib.analysis.suspects.rank_suspects`; impact: sentences of measured impact; missing_evidence:
    the run's evidence gaps (source and reason).
    """

    incident_id: str
    title: str
    service: str
    severity: Severity | None = None
    summary: str | None = None
    started_at: pd.Timestamp | None = None
    detected_at: pd.Timestamp | None = None
    acknowledged_at: pd.Timestamp | None = None
    mitigated_at: pd.Timestamp | None = None
    resolved_at: pd.Timestamp | None = None
    onset_confidence: float | None = None
    impact: list[str] = field(default_factory=list)
    timeline: pd.DataFrame | None = None
    root_cause: str | None = None
    suspects: pd.DataFrame | None = None
    resolution: str | None = None
    went_well: list[str] = field(default_factory=list)
    went_wrong: list[str] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    missing_evidence: list[str] = field(default_factory=list)


@dataclass
class ResponseTimes:
    """Seconds from the onset to detection (TTD), detection to acknowledgement (TTA), onset to mitigation (TTM)
    and onset to resolution (TTR); None when either end is unknown."""

    ttd_s: float | None
    tta_s: float | None
    ttm_s: float | None
    ttr_s: float | None


def _between(a: pd.Timestamp | None, b: pd.Timestamp | None) -> float | None:
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return None
    return float((b - a).total_seconds())


def response_times(p: PostmortemInputs) -> ResponseTimes:
    """TTD, TTA, TTM and TTR of the incident (see :class:`ResponseTimes`)."""
    return ResponseTimes(_between(p.started_at, p.detected_at), _between(p.detected_at, p.acknowledged_at),
                         _between(p.started_at, p.mitigated_at), _between(p.started_at, p.resolved_at))


def _missing(what: str) -> str:
    return f"_{NOT_ESTABLISHED}: {what}_"


def _when(ts: pd.Timestamp | None) -> str:
    return f"{ts:%Y-%m-%d %H:%M:%S} UTC" if ts is not None and not pd.isna(ts) else "unknown"


def _bullets(items: list[str], missing: str) -> str:
    return "\n".join(f"- {prose(item)}" for item in items) if items else _missing(missing)


def _summary(p: PostmortemInputs, times: ResponseTimes) -> str:
    if p.summary:
        return prose(p.summary)
    if p.started_at is None:
        return _missing("no onset was detected and no summary was given")
    sev = f" ({p.severity.level})" if p.severity else ""
    cause = f" The most likely cause: {prose(p.root_cause)}." if p.root_cause else ""
    end = f"lasted {fmt_duration(times.ttr_s)}" if times.ttr_s is not None else "has no recorded resolution"
    return (f"{prose(p.service)} was impaired{sev} from {_when(p.started_at)}; the incident {end}.{cause}")


def _duration_section(p: PostmortemInputs, t: ResponseTimes) -> str:
    rows = [["Start (onset)", _when(p.started_at), "" if p.onset_confidence is None
             else f"onset confidence {p.onset_confidence:.2f}"],
            ["Detected", _when(p.detected_at), f"time to detect {fmt_duration(t.ttd_s)}"],
            ["Acknowledged", _when(p.acknowledged_at), f"time to acknowledge {fmt_duration(t.tta_s)}"],
            ["Mitigated", _when(p.mitigated_at), f"time to mitigate {fmt_duration(t.ttm_s)}"],
            ["Resolved", _when(p.resolved_at), f"time to resolve {fmt_duration(t.ttr_s)}"]]
    unknown = [r[0].lower() for r in rows if r[1] == "unknown"]
    note = f"\n\n{_missing('time ' + ', '.join(unknown) + ' not recorded')}" if unknown else ""
    total = f"**Duration:** {fmt_duration(t.ttr_s)}" if t.ttr_s is not None else \
        f"**Duration:** {_missing('no resolution time')}"
    return total + "\n\n" + _table(rows, ["moment", "time", "measure"]) + note


def _severity_section(p: PostmortemInputs) -> str:
    if p.severity is None:
        return _missing("severity was not classified")
    head = f"**{p.severity.level}**" + (" (set by override)" if p.severity.overridden else "")
    return head + "\n\n" + _bullets(p.severity.reasons, "no reasons recorded")


def _timeline_section(p: PostmortemInputs) -> str:
    if p.timeline is None or p.timeline.empty:
        return _missing("no timeline entries were collected")
    rows = [[f"{r.time:%H:%M:%S}", r.kind, r.source, r.title] for r in p.timeline.itertuples(index=False)]
    return _table(rows, ["time (UTC)", "kind", "source", "what"])


def _root_cause_section(p: PostmortemInputs) -> str:
    parts = [prose(p.root_cause)] if p.root_cause else [_missing("no root cause was confirmed")]
    if p.suspects is not None and not p.suspects.empty:
        parts.append("Changes before the onset, as ranked from the evidence:")
        parts.append("\n".join(f"{int(r.rank)}. {prose(r.reason)}" for r in p.suspects.head(5).itertuples()))
    elif not p.root_cause:
        parts.append("No change preceded the onset within the look-back window (a slow burn, or changes outside "
                     "the sources examined).")
    return "\n\n".join(parts)


def _derived_lessons(p: PostmortemInputs, t: ResponseTimes) -> tuple[list[str], list[str]]:
    well, wrong = list(p.went_well), list(p.went_wrong)
    if t.ttd_s is not None:
        (well if t.ttd_s <= 300 else wrong).append(f"time to detect was {fmt_duration(t.ttd_s)}")
    if t.ttm_s is not None:
        (well if t.ttm_s <= 1800 else wrong).append(f"time to mitigate was {fmt_duration(t.ttm_s)}")
    missing = open_gaps(p.missing_evidence)
    if missing:
        noun = "piece of evidence" if len(missing) == 1 else "pieces of evidence"
        wrong.append(f"{len(missing)} {noun} could not be collected (see below)")
    elif p.missing_evidence:
        well.append("every evidence gap was covered by another source")
    elif p.timeline is not None and not p.timeline.empty:
        well.append("all evidence sources answered and were archived")
    return well, wrong


def _actions_section(p: PostmortemInputs, wrong: list[str]) -> str:
    items = list(p.action_items)
    missing = open_gaps(p.missing_evidence)
    if missing:
        items.append(ActionItem("Close the evidence gaps: " + "; ".join(missing[:3]), priority="P2"))
    if not items:
        return _missing("no action items were recorded" + ("; review what went wrong above" if wrong else ""))
    rows = [[i.action, i.owner, i.priority, i.due or "not set"] for i in items]
    return _table(rows, ["action", "owner", "priority", "due"])


def _gaps_section(gaps: list[str]) -> str:
    if not gaps:
        return "None: every fetch answered."
    missing = set(open_gaps(gaps))
    return "\n".join(f"- {prose(g)}" + ("" if g in missing else " (covered by another source: no action needed)")
                     for g in gaps)


def render_postmortem(p: PostmortemInputs) -> str:
    """The postmortem markdown: summary, duration, severity, impact, timeline, root cause, resolution, what went
    well, what did not, action items, and the evidence gaps."""
    times = response_times(p)
    well, wrong = _derived_lessons(p, times)
    resolution = prose(p.resolution) if p.resolution else _missing("no mitigation or resolution was recorded")
    gaps = _gaps_section(p.missing_evidence)
    sections = [
        (f"Postmortem: {prose(p.title)}", f"Incident **{prose(p.incident_id)}** · service "
         f"**{prose(p.service)}** · blameless: this review is about systems and decisions, not people."),
        ("Summary", _summary(p, times)),
        ("Duration", _duration_section(p, times)),
        ("Severity", _severity_section(p)),
        ("Impact", _bullets(p.impact, "no impact measure (error ratio, affected users or requests) was available")),
        ("Timeline", _timeline_section(p)),
        ("Root cause", _root_cause_section(p)),
        ("Resolution", resolution),
        ("What went well", _bullets(well, "nothing was recorded as having gone well")),
        ("What didn't go well", _bullets(wrong, "nothing was recorded as having gone badly")),
        ("Action items", _actions_section(p, wrong)),
        ("Evidence gaps", gaps),
    ]
    head, intro = sections[0]
    body = [f"# {head}", "", intro]
    for title, text in sections[1:]:
        body += ["", f"## {title}", "", text]
    return "\n".join(body) + "\n"
