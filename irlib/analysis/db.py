"""Database analysis (pure): the blocking tree from (pid, blocked_by) pairs, and its chart; which statements are
monitoring's own (exporters reading catalog views) rather than the application's.

A session may be blocked by several others (PostgreSQL's ``pg_blocking_pids`` also names sessions queued ahead of it);
the tree keeps, for each waiter, the blocker nearest to a root (breadth-first from the root blockers), so every
session appears once.  Root blockers are sessions that block someone and wait for nobody; sessions waiting in a
cycle with no root (a deadlock not yet broken) get the lowest pid of the cycle as their root.
"""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from typing import Any

import numbers

import pandas as pd
from matplotlib.figure import Figure

from ..frames import conform
from ..sources.sql_common import BLOCKING

# Users that monitoring agents connect as, and relations only they read (catalog and statistics views).
MONITORING_USER = re.compile(r"(?i)exporter|monitor|datadog|pmm|newrelic|zabbix|telegraf|nagios|rdsadmin")
SYSTEM_RELATION = re.compile(r'(?i)^"?(?:pg_\w*|information_schema|performance_schema|mysql|sys)\b')
# a relation after FROM/JOIN; a name followed by "(" is a function (generate_series(), EXTRACT(x FROM now()))
_RELATION = re.compile(r'(?i)\b(?:from|join)\s+(?:only\s+)?("?[\w$]+"?(?:\."?[\w$]+"?)?)(?![\w$."])(?!\s*\()')
_CATALOG_CALL = re.compile(r"(?i)\bpg_\w+\s*\(|\bversion\s*\(\)")

ATTRIBUTES = ("lock_mode", "lock_type", "relation", "state", "user", "query", "wait_s", "xact_age_s")


def pid_list(value: Any) -> list[int]:
    """A ``blocked_by`` cell (list, array, ``"{1,2}"`` or ``"1,2"`` text, or null) as a list of ints."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        value = [v for v in value.strip("{}[] ").replace(" ", "").split(",") if v]
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return [int(value)]
    return [int(v) for v in value if v is not None and str(v).strip() != ""]


def blocking_tree(sessions: pd.DataFrame) -> pd.DataFrame:
    """The blocking tree of ``sessions`` (columns ``pid`` and ``blocked_by``; any of :data:`ATTRIBUTES` are kept)
    as rows with the :data:`irlib.sources.sql_common.BLOCKING` columns, ordered by depth (root blockers first, the
    root blocking most sessions first), then root, then pid.  Sessions not involved in any blocking are left out."""
    if sessions is None or len(sessions) == 0 or "pid" not in sessions.columns:
        return conform(None, BLOCKING)
    parents = {int(p): sorted(set(pid_list(b))) for p, b in zip(sessions["pid"], sessions["blocked_by"])
               if not pd.isna(p)}
    children: dict[int, list[int]] = {}
    for waiter, blockers in parents.items():
        for blocker in blockers:
            children.setdefault(blocker, []).append(waiter)
    involved = set(children) | {w for w, b in parents.items() if b}
    parent, depth, root = _assign(involved, parents, children)
    below = _descendant_counts(parent)
    rank = {r: i for i, r in enumerate(sorted({root[p] for p in involved}, key=lambda r: (-below.get(r, 0), r)))}
    attrs = _attributes(sessions)
    rows = [{"pid": p, "blocked_by": parent.get(p), "root_pid": root[p], "depth": depth[p],
             "waiters": below.get(p, 0), **attrs.get(p, {})} for p in involved]
    rows.sort(key=lambda r: (r["depth"], rank[r["root_pid"]], r["pid"]))
    return conform(pd.DataFrame.from_records(rows) if rows else None, BLOCKING)


def _assign(involved: set[int], parents: dict[int, list[int]], children: dict[int, list[int]]
            ) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Breadth-first from the root blockers (then from the lowest pid of each leftover cycle)."""
    parent: dict[int, int] = {}
    depth: dict[int, int] = {}
    root: dict[int, int] = {}
    starts = sorted(p for p in involved if not parents.get(p))
    starts.sort(key=lambda r: -len(_reachable(r, children)))
    pending = deque(starts)
    while len(root) < len(involved):
        if not pending:
            pending.append(min(p for p in involved if p not in root))
        start = pending.popleft()
        if start in root:
            continue
        depth[start], root[start] = 0, start
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for child in sorted(children.get(node, [])):
                if child not in root:
                    parent[child], depth[child], root[child] = node, depth[node] + 1, start
                    queue.append(child)
    return parent, depth, root


def _reachable(start: int, children: dict[int, list[int]]) -> set[int]:
    seen: set[int] = set()
    stack = [start]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen and child != start:
                seen.add(child)
                stack.append(child)
    return seen


def _descendant_counts(parent: dict[int, int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for node in parent:
        seen: set[int] = set()
        up = parent.get(node)
        while up is not None and up not in seen:
            seen.add(up)
            counts[up] = counts.get(up, 0) + 1
            up = parent.get(up)
    return counts


def _attributes(sessions: pd.DataFrame) -> dict[int, dict[str, Any]]:
    cols = [c for c in ATTRIBUTES if c in sessions.columns]
    out: dict[int, dict[str, Any]] = {}
    for record in sessions[["pid", *cols]].to_dict("records"):
        if not pd.isna(record["pid"]):
            out[int(record.pop("pid"))] = {k: (None if _isna(v) else v) for k, v in record.items()}
    return out


def _isna(value: Any) -> bool:
    return not isinstance(value, (list, tuple)) and bool(pd.isna(value))


def root_blockers(tree: pd.DataFrame) -> list[int]:
    """The root blockers' pids, the one blocking most sessions first."""
    roots = tree[tree["depth"] == 0].sort_values(["waiters", "pid"], ascending=[False, True])
    return [int(p) for p in roots["pid"]]


def blocking_tree_chart(tree: pd.DataFrame, *, title: str = "Blocking tree (root blockers on the left)") -> Figure:
    """A matplotlib Figure drawing ``tree`` (the ``blocking`` frame): one box per session, a line from each waiter to
    its blocker; root blockers are red.  An empty tree gives a figure saying no session is blocked."""
    order = _preorder(tree)
    fig = Figure(figsize=(10, max(2.0, 0.55 * len(order) + 1)))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title)
    ax.axis("off")
    if not order:
        ax.text(0.5, 0.5, "no session is blocked by another", ha="center", va="center")
        return fig
    rows = {int(r["pid"]): r for r in tree.to_dict("records")}
    ypos = {pid: -i for i, pid in enumerate(order)}
    for pid in order:
        row = rows[pid]
        x, y = int(row["depth"]), ypos[pid]
        if not pd.isna(row["blocked_by"]):
            px, py = int(rows[int(row["blocked_by"])]["depth"]), ypos[int(row["blocked_by"])]
            ax.plot([px, px, x], [py, y, y], color="grey", linewidth=1)
        ax.text(x, y, _label(row), va="center", ha="left", fontsize=8, family="monospace",
                bbox={"boxstyle": "round", "facecolor": "#f4cccc" if x == 0 else "#e8eef7", "edgecolor": "grey"})
    ax.set_xlim(-0.2, max(int(r["depth"]) for r in rows.values()) + 3)
    ax.set_ylim(-len(order) + 0.5, 0.5)
    return fig


def _preorder(tree: pd.DataFrame) -> list[int]:
    if tree is None or len(tree) == 0:
        return []
    kids: dict[int, list[int]] = {}
    for pid, parent in zip(tree["pid"], tree["blocked_by"]):
        if not pd.isna(parent):
            kids.setdefault(int(parent), []).append(int(pid))
    out: list[int] = []
    roots = [int(p) for p in tree.loc[tree["depth"] == 0, "pid"]]
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(sorted(kids.get(node, []))))
    return out


def _label(row: dict[str, Any]) -> str:
    wait = "" if pd.isna(row.get("wait_s")) else f" waits {row['wait_s']:.0f}s"
    mode = "" if pd.isna(row.get("lock_mode")) else f" {row['lock_mode']}"
    query = "" if pd.isna(row.get("query")) else " ".join(str(row["query"]).split())[:48]
    state = "" if pd.isna(row.get("state")) else f" [{row['state']}]"
    head = f"pid {int(row['pid'])}{state}{mode}{wait}"
    if int(row["depth"]) == 0:
        head += f" blocks {int(row['waiters'])}"
    return f"{head}\n{query}" if query else head


def blocked_pairs(pairs: Iterable[tuple[int, int | None]]) -> pd.DataFrame:
    """(pid, blocker) pairs — one per edge, ``None`` for a session waiting for nobody — as the ``pid``/``blocked_by``
    frame :func:`blocking_tree` takes (handy for offline data such as parsed lock-wait log lines)."""
    merged: dict[int, list[int]] = {}
    for pid, blocker in pairs:
        merged.setdefault(int(pid), [])
        if blocker is not None:
            merged[int(blocker)] = merged.get(int(blocker), [])
            merged[int(pid)].append(int(blocker))
    return pd.DataFrame({"pid": list(merged), "blocked_by": [sorted(v) for v in merged.values()]})


def is_monitoring_statement(query: object, user: object = None) -> bool:
    """Whether a statement is monitoring's own: run by a monitoring user (:data:`MONITORING_USER`), a ``SHOW``, or
    a read whose every relation is a catalog/statistics view (``pg_stat_*``, ``pg_database``, ``pg_settings``,
    ``information_schema``, ``performance_schema``...) or that only calls catalog functions
    (``pg_database_size()``, ``pg_is_in_recovery()``).  Writes and reads of any application table are not."""
    if user is not None and not _isna(user) and MONITORING_USER.search(str(user)):
        return True
    text = "" if query is None or _isna(query) else str(query).strip()
    head = text.split(None, 1)[0].upper() if text else ""
    if head == "SHOW":
        return True
    if head not in ("SELECT", "WITH"):
        return False
    relations = _RELATION.findall(text)
    if relations:
        return all(SYSTEM_RELATION.search(r) for r in relations)
    return bool(_CATALOG_CALL.search(text))


def application_first(top: pd.DataFrame) -> pd.DataFrame:
    """``top`` (top statements, costliest first) with an ``origin`` column ("application" or "monitoring") and
    the application's statements ranked before monitoring's own, each group keeping its order."""
    frame = top.copy()
    monitoring = [is_monitoring_statement(q, u) for q, u in zip(frame["query"], frame.get("user", [None] * len(frame)))]
    frame["origin"] = ["monitoring" if m else "application" for m in monitoring]
    order = sorted(range(len(frame)), key=lambda i: monitoring[i])
    return frame.iloc[order].reset_index(drop=True)
