"""Step 03: error classes, stack-trace groups, templates new since the onset, reproduction facts."""
from __future__ import annotations

import pandas as pd

from ..display import Answer
from ..investigation import Investigation
from . import common, facts


def error_classes(inv: Investigation) -> Answer:
    from ..logs.analysis import error_classes as classes

    ans = Answer("Which error classes occur?")
    records = facts.log_records(inv)
    if records.empty:
        return ans.lack("no log records to classify")
    table = classes(records)
    if table.empty:
        ans.say("No exception type, HTTP 5xx status, errno or SQLSTATE found in the logs.")
    else:
        ans.say(f"{common.counted(len(table), 'error class', 'error classes')}; the most frequent is "
                f"{table.iloc[0]['error_class']} ({common.counted(int(table.iloc[0]['count']), 'record')}).")
        inv.record("error_classes", table.head(10)[["error_class", "kind", "count"]],
                   summary=f"{common.counted(len(table), 'class', 'classes')}; "
                           f"top {table.iloc[0]['error_class']}")
    return ans.table("Error classes", table)


def stack_traces(inv: Investigation) -> Answer:
    from ..logs.analysis import stack_signatures

    ans = Answer("Which stack traces, grouped by signature?")
    records = facts.log_records(inv)
    table = stack_signatures(records) if len(records) else pd.DataFrame()
    if table.empty:
        ans.say("No stack traces in the logs.")
        return ans
    top = table.iloc[0]
    ans.say(f"{common.counted(len(table), 'distinct stack-trace signature')}; the most frequent "
            f"({int(top['count'])}×): {stack_text(str(top['exception']), str(top['signature']))}.")
    inv.record("top_stack", {"exception": str(top["exception"]), "signature": str(top["signature"]),
                             "count": int(top["count"])}, summary=str(top["exception"]))
    previous = _previous_container_traces(inv)
    if previous:
        ans.say(f"{previous} of these records come from previous (crashed) container instances.")
    return ans.table("Stack-trace groups, one example each", table)


def stack_text(exception: str, signature: str) -> str:
    """A stack-trace group as "Exception at frame < frame ...": the signature already starts with the exception
    (``Exception @ frames``), which is not repeated."""
    prefix = f"{exception} @ "
    if not exception or not signature.startswith(prefix):
        return signature
    frames = signature[len(prefix):].strip()
    return f"{exception} at {frames}" if frames else f"{exception} (no stack frames)"


def _previous_container_traces(inv: Investigation) -> int:
    logs = common.pod_logs(inv)
    if logs.empty:
        return 0
    prev = logs[logs["previous"].fillna(False).astype(bool)]
    return int(prev["line"].str.contains("Traceback|Exception|Error", regex=True).sum())


def new_since_onset(inv: Investigation) -> Answer:
    from ..logs.analysis import NEW_SINCE_TOLERANCE, new_since, templates

    ans = Answer("Which log templates are new or surging since the onset?")
    onset = facts.onset_time(inv)
    records = facts.log_records(inv)
    if onset is None:
        return ans.lack("no onset was established, so there is no before/after to compare")
    if records.empty:
        return ans.lack("no log records")
    table = new_since(records, onset)
    first = templates(records)[["template_id", "first_seen"]]
    shown = surging_table(table, first, onset, NEW_SINCE_TOLERANCE)
    ans.say(f"Since the onset {common.fmt_ts(onset)}, {surging_sentence(table)}")
    new = table[table["is_new"].fillna(False).astype(bool)]
    inv.record("new_templates", table.head(10)[["template", "level", "after_count", "rate_ratio", "is_new"]],
               summary=f"{len(new)} new since the onset")
    return ans.table("New or surging templates", shown.head(25))


def surging_sentence(table: pd.DataFrame) -> str:
    """How many templates are new or rising, in counts that add up to the table's rows."""
    if table.empty:
        return "no template is new or rose its rate."
    is_new = table["is_new"].fillna(False).astype(bool)
    ratio = pd.to_numeric(table["rate_ratio"], errors="coerce")
    parts = [f"{int(is_new.sum())} new"] if is_new.any() else []
    doubled = int((~is_new & (ratio >= 2)).sum())
    rose = int((~is_new & (ratio < 2)).sum())
    if doubled:
        parts.append(f"{doubled} at least doubled {'its' if doubled == 1 else 'their'} rate")
    if rose:
        parts.append(f"{rose} rose by less than double")
    noun = common.counted(len(table), "template") + (" is" if len(table) == 1 else " are")
    return f"{noun} new or surging: {', '.join(parts)}."


def surging_table(table: pd.DataFrame, first_seen: pd.DataFrame, onset: pd.Timestamp,
                  tolerance: pd.Timedelta) -> pd.DataFrame:
    """The new/surging table as read by a person: when each template was first seen and its change in words
    ("new", "new (first seen 40 s before the estimated onset, within its 1-minute precision)", "×3.2") instead
    of an infinite ratio next to a non-zero before rate."""
    first = first_seen.drop_duplicates("template_id")
    out = table.merge(first, on="template_id", how="left")
    out["change"] = [_change(row, onset, tolerance) for row in out.itertuples()]
    out["first_seen"] = out["first_seen"].map(common.fmt_ts)
    return out[["template_id", "template", "level", "first_seen", "before_count", "after_count",
                "before_rate_per_min", "after_rate_per_min", "change"]]


def _change(row: object, onset: pd.Timestamp, tolerance: pd.Timedelta) -> str:
    if bool(getattr(row, "is_new")):
        seen = getattr(row, "first_seen")
        if pd.isna(seen) or pd.Timestamp(seen) >= onset:
            return "new"
        ahead = (onset - pd.Timestamp(seen)).total_seconds()
        return (f"new (first seen {ahead:.0f} s before the estimated onset, within its "
                f"{tolerance.total_seconds() / 60:g}-minute precision)")
    return f"×{float(getattr(row, 'rate_ratio')):.3g}"


def reproduction(inv: Investigation) -> Answer:
    ans = Answer("What do we know to reproduce it?")
    records = facts.log_records(inv)
    errors = records[records["level"].isin(common.ERROR_LEVELS)] if len(records) else records
    history = common.rollouts(inv)
    current = history[history["current"].fillna(False).astype(bool)] if len(history) else history
    pods = common.pods(inv)
    rows = []
    if len(errors):
        first = errors.sort_values("timestamp").iloc[0]
        rows.append(("first error", f"{common.fmt_ts(first['timestamp'])}: {str(first['message'])[:300]}"))
    if len(current):
        rows.append(("version running", ", ".join(f"revision {r.revision}: {r.images} ({r.change_cause})"
                                                  for r in current.itertuples())))
    if len(pods):
        oom = pods[pods["last_reason"] == "OOMKilled"]
        if len(oom):
            limit = oom["memory_limit"].dropna()
            restarts = int(pods["restarts"].fillna(0).sum())
            kills = common.oom_kills_from_events(common.events(inv), pods["pod"].astype(str).unique().tolist())
            killed = common.oom_text(restarts, kills, len(oom))
            killed += "" if "exit 137" in killed else " (exit code 137)"
            rows.append(("failure condition", f"{killed} at a memory limit of {limit.iloc[0] / 2**20:.0f} MiB"
                         if len(limit) else killed))
    top = inv.finding("top_error_template")
    if top and top.get("template"):
        rows.append(("signature", str(top.get("template"))))
    if not rows:
        return ans.lack("no error record, rollout or pod status to build a reproduction from")
    ans.say("Reproduce with the version, the load and the limit below; the failure shows as the signature.")
    return ans.table("Reproduction facts", pd.DataFrame(rows, columns=["fact", "value"]))
