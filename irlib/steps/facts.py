"""Facts several steps need (onset, suspects, log records): taken from the run's findings when an earlier step
recorded them, computed from the same evidence otherwise (steps of one stage run in parallel)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from ..analysis.text import readable_times
from ..frames import conform
from ..investigation import Investigation
from ..summary import onset_text
from . import common

ONSET_SIGNALS = {"error_ratio": "max", "latency_p99": "max", "memory_working_set": "max"}
# p99 latency jitters by tens of percent on a busy host: only a rise of half its level marks an onset
JITTER_FLOOR = {"latency_p99": 0.5}


def onset_signals(inv: Investigation) -> dict[str, pd.Series]:
    """The series change-point detection looks at: error ratio, p99 latency, memory, error-log rate."""
    out = {name: common.signal_series(inv, name, how) for name, how in ONSET_SIGNALS.items()}
    records = log_records(inv)
    if not records.empty:
        errors = records[records["level"].isin(common.ERROR_LEVELS) & records["timestamp"].notna()]
        if not errors.empty:
            w = inv.incident.window
            minutes = pd.date_range(w.start.floor("1min"), w.end, freq="1min")
            per_min = errors.set_index("timestamp").resample("1min").size().astype("float64")
            out["error_log_rate"] = per_min.reindex(minutes, fill_value=0.0)  # quiet minutes count as 0
    return {k: v for k, v in out.items() if len(v)}


def agreement_window(inv: Investigation) -> pd.Timedelta:
    """How close the signals' change points must be to count as one onset: a sixth of the incident window,
    between 2 and 15 minutes (a spurious wobble early in a short window must not join the real change)."""
    sixth = inv.incident.window.duration / 6
    return min(max(sixth, pd.Timedelta(minutes=2)), pd.Timedelta(minutes=15))


def onset(inv: Investigation) -> dict[str, Any]:
    """The onset finding: {time, confidence, signals, per_signal, explanation}."""
    return inv.cached("onset", lambda: _onset(inv))


def _onset(inv: Investigation) -> dict[str, Any]:
    found = inv.finding("onset")
    if found is not None:
        return found
    from ..analysis.onset import combine_onsets

    signals = onset_signals(inv)
    est = combine_onsets(signals, agree_within=agreement_window(inv), directions={name: "up" for name in signals},
                         min_relative=JITTER_FLOOR)
    value = {"time": est.time.isoformat() if est.time is not None else None, "confidence": est.confidence,
             "signals": list(est.agreeing), "explanation": readable_times(est.explanation),
             "per_signal": {k: (v.isoformat() if v is not None else None) for k, v in est.per_signal.items()}}
    if inv.step == "01":
        inv.record("onset", value, summary=onset_text(value))
    return value


def onset_time(inv: Investigation) -> pd.Timestamp | None:
    value = onset(inv).get("time")
    return pd.Timestamp(value) if value else None


def changes(inv: Investigation) -> pd.DataFrame:
    """Every change the sources know of: rollouts, config commits, alerts, scaling and node events."""
    return inv.cached("changes", lambda: _changes(inv))


def _changes(inv: Investigation) -> pd.DataFrame:
    from ..analysis import suspects as sx

    service = inv.incident.service["name"]
    frames = [sx.changes_from_rollouts(common.rollouts(inv), service, inv.incident.namespace),
              sx.changes_from_git(common.git_changes(inv), service),
              sx.changes_from_alerts(common.alerts(inv), service),
              sx.changes_from_events(common.events(inv), service)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return conform(None, sx.CHANGES_SCHEMA)
    return pd.concat(frames, ignore_index=True).sort_values("time").reset_index(drop=True)


def suspects(inv: Investigation) -> pd.DataFrame:
    return inv.cached("suspects", lambda: _suspects(inv))


def _suspects(inv: Investigation) -> pd.DataFrame:
    from ..analysis.suspects import rank_suspects

    return rank_suspects(changes(inv), onset_time(inv), pd.Timedelta(minutes=common.lookback_min(inv)),
                         inv.incident.service["name"])


def log_records(inv: Investigation) -> pd.DataFrame:
    """Log records from the configured log files and from the containers' logs, multi-line records joined."""
    return inv.cached("log_records", lambda: _log_records(inv))


def _log_records(inv: Investigation) -> pd.DataFrame:
    from ..logs.analysis import records_from_lines

    frames = []
    w = inv.incident.window
    for entry in inv.incident.sources.get("logs", []):
        name = entry.get("name") or entry["path"]
        frames.append(inv.logs.records(name=name, start=w.start, end=w.end))
    lines = common.pod_logs(inv)
    if not lines.empty:
        frames.append(records_from_lines(lines))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return records_from_lines(lines)
    return pd.concat(frames, ignore_index=True).sort_values("timestamp", kind="stable").reset_index(drop=True)
