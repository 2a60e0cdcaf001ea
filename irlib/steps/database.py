"""Step 05: sessions, blocking tree, slow statements, connection saturation, replication and counters —
for every database named in the parameters, read-only."""
from __future__ import annotations

import pandas as pd

from ..display import Answer
from ..investigation import Investigation
from . import common


def _databases(inv: Investigation) -> list[str]:
    return [str(db["name"]) for db in inv.incident.sources.get("databases", [])]


def _none(ans: Answer) -> Answer:
    return ans.lack("no database is listed in the parameters (sources.databases)")


def _gap(inv: Investigation, method: str, **args: object) -> str:
    return common.gap(inv, "sql", method, **args)


def sessions(inv: Investigation) -> Answer:
    ans = Answer("Which sessions are active, long-running or idle in a transaction?")
    if not _databases(inv):
        return _none(ans)
    for db in _databases(inv):
        frame = inv.sql.sessions(database=db)
        long = inv.sql.long_running(database=db)
        if frame.empty:
            ans.lack(f"{db}: " + (_gap(inv, "sessions", database=db) or "no sessions"))
            continue
        states = frame["state"].fillna("").value_counts()
        ans.say(f"{db}: {len(frame)} sessions (" + ", ".join(f"{k or 'unknown'} {v}" for k, v in states.items())
                + f"); {len(long)} long-running or idle in transaction.")
        ans.table(f"{db}: long-running and idle-in-transaction sessions", long)
    return ans


def blocking(inv: Investigation) -> Answer:
    from ..analysis.db import blocking_tree_chart, root_blockers

    ans = Answer("Who blocks whom?")
    if not _databases(inv):
        return _none(ans)
    roots_found: dict[str, list[int]] = {}
    for db in _databases(inv):
        tree = inv.sql.blocking(database=db)
        reason = _gap(inv, "blocking", database=db)
        if reason:
            ans.lack(reason)
            continue
        if tree.empty:
            ans.say(f"{db}: no session waits for a lock.")
            continue
        roots = root_blockers(tree)
        roots_found[db] = roots
        ans.say(blocking_sentence(db, len(tree) - len(roots), roots))
        ans.figures.append(blocking_tree_chart(tree, title=f"{db}: blocking tree (root blockers on the left)"))
        ans.table(f"{db}: blocking tree", tree)
    inv.record("db_root_blockers", roots_found, summary="; ".join(
        f"{db}: root {'pid' if len(r) == 1 else 'pids'} {', '.join(map(str, r))}" for db, r in roots_found.items())
        or "no blocking")
    return ans


def slow_statements(inv: Investigation) -> Answer:
    ans = Answer("Which statements are slow?")
    if not _databases(inv):
        return _none(ans)
    for db in _databases(inv):
        top = inv.sql.top_statements(database=db, by="total", limit=20)
        if top.empty:
            ans.lack(f"{db}: " + (_gap(inv, "top_statements", database=db, by="total", limit=20)
                                  or "no statement statistics"))
        else:
            from ..analysis.db import application_first

            ranked = application_first(top)
            ans.say(statements_sentence(db, ranked))
            ans.table(f"{db}: top statements by total time, the application's first", ranked)
    return ans


def connections(inv: Investigation) -> Answer:
    ans = Answer("Are connections near saturation?")
    if not _databases(inv):
        return _none(ans)
    for db in _databases(inv):
        conns = inv.sql.connections(database=db)
        if conns.empty:
            ans.lack(f"{db}: " + (_gap(inv, "connections", database=db) or "no connection data"))
            continue
        ratio = float(conns["ratio"].dropna().max()) if conns["ratio"].notna().any() else None
        total = conns["total_connections"].dropna()
        limit = conns["max_connections"].dropna()
        ans.say(f"{db}: {int(total.iloc[0]) if len(total) else '?'} of {int(limit.iloc[0]) if len(limit) else '?'} "
                f"connections in use ({common.fmt_pct(ratio)})" + (" — near saturation." if ratio and ratio >= 0.8
                                                                  else "."))
        ans.table(f"{db}: connections by state, user and application", conns)
    return ans


def replication_and_stats(inv: Investigation) -> Answer:
    ans = Answer("Replication lag, deadlocks and temp-file spills")
    if not _databases(inv):
        return _none(ans)
    for db in _databases(inv):
        repl = inv.sql.replication(database=db)
        stats = inv.sql.db_stats(database=db)
        health = inv.sql.table_health(database=db)
        if repl.empty:
            ans.say(f"{db}: " + (_gap(inv, "replication", database=db) or "no replication configured."))
        else:
            lag = repl["lag_s"].dropna()
            ans.say(f"{db}: {common.counted(len(repl), 'replication peer')}; max lag "
                    f"{(str(round(float(lag.max()), 1)) + ' s') if len(lag) else 'unknown'}.")
            ans.table(f"{db}: replication", repl)
        if len(stats):
            deadlocks = pd.to_numeric(stats["deadlocks"], errors="coerce").fillna(0).sum()
            temp_files = int(pd.to_numeric(stats["temp_files"], errors="coerce").fillna(0).sum())
            ans.say(f"{db}: {common.counted(int(deadlocks), 'deadlock')} and "
                    f"{common.counted(temp_files, 'temp file')} since the statistics were reset.")
            ans.table(f"{db}: counters", stats)
        if len(health):
            ans.table(f"{db}: heavy sequential scans and unused indexes", health)
    return ans


def blocking_sentence(db: str, waiting: int, roots: list[object]) -> str:
    """"db: 3 sessions wait behind root blocker pid 7." with nouns and verb agreeing with the counts."""
    verb = "waits" if waiting == 1 else "wait"
    blockers = "root blocker" if len(roots) == 1 else "root blockers"
    return (f"{db}: {common.counted(waiting, 'session')} {verb} behind {blockers} "
            + ", ".join(f"pid {r}" for r in roots) + ".")


def statements_sentence(db: str, ranked: pd.DataFrame) -> str:
    """The costliest application statement, named, and how many of the top statements are monitoring's own
    (``ranked`` from :func:`irlib.analysis.db.application_first`)."""
    app = ranked[ranked["origin"] == "application"]
    own = int((ranked["origin"] == "monitoring").sum())
    noise = (f" {common.counted(own, 'statement')} of monitoring's own (exporters reading catalog views such as "
             "pg_stat_*, pg_settings, pg_database_size) are listed after the application's.") if own else ""
    if app.empty:
        return f"{db}: only monitoring's own statements were recorded; no application statement.{noise}"
    first = app.iloc[0]
    text = " ".join(str(first["query"]).split())
    text = text if len(text) <= 120 else text[:117] + "..."
    return (f"{db}: the costliest application statement is {text} — {common.counted(int(first['calls']), 'call')}, "
            f"{float(first['total_s']):.2f} s in total (mean {float(first['mean_s']):.4f} s).{noise}")
