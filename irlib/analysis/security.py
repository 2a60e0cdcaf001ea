"""Security: authentication failures and 401/403 surges, unusual clients, credentials in logs, and a verdict.

Inputs built by the step glue:

- requests: time (UTC), status (Int64 HTTP status), client (string: IP or client id), user_agent (string) — from
  access logs;
- records: time (UTC), message (string) — log records (already redacted by the investigation: a credential then
  appears as its ``[REDACTED:kind:hash]`` placeholder, which is what is counted and shown; never the secret).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from ..frames import conform
from ..redact import Redactor
from .text import counted

AUTH_FAILURE = re.compile(
    r"(?i)(?:authentication fail|auth fail|auth(?:entication)? error|failed password|failed none for|"
    r"invalid (?:password|credentials|token|api key|user)|user unknown|login failed|failed login|unauthori[sz]ed|"
    r"access denied|permission denied|forbidden|token (?:expired|invalid)|bad credentials|\b(?:401|403)\b)")
PLACEHOLDER = re.compile(r"\[REDACTED:([a-z_0-9]+):([0-9a-f]{8})\]")
CLIENTS_SCHEMA: dict[str, str] = {
    "client": "string", "before_count": "Int64", "after_count": "Int64", "after_share": "float64",
    "is_new": "boolean", "denied_after": "Int64", "succeeded_after": "Int64", "unusual": "boolean",
    "reason": "string",
}
CREDENTIALS_SCHEMA: dict[str, str] = {"kind": "string", "count": "Int64", "distinct": "Int64", "example": "string"}
SURGE_RATIO, SURGE_MIN = 3.0, 10


@dataclass
class Surge:
    """Counts of something (auth failures, 401/403s) before and after the onset, per minute, and whether it surged
    (after rate ≥ 3 × before rate and at least 10 after the onset)."""

    name: str
    before_count: int
    after_count: int
    before_per_min: float
    after_per_min: float
    ratio: float | None
    surge: bool
    detail: str


@dataclass
class SecurityVerdict:
    """security_incident: "yes", "suspected" or "no"; the reasons; what evidence was not available."""

    security_incident: str
    reasons: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _split(times: pd.Series, onset: pd.Timestamp) -> tuple[pd.Series, float, float]:
    after = times >= onset
    before_min = max((onset - times.min()).total_seconds() / 60, 1.0) if (~after).any() else 1.0
    after_min = max((times.max() - onset).total_seconds() / 60, 1.0) if after.any() else 1.0
    return after, before_min, after_min


def _surge(name: str, times: pd.Series, onset: pd.Timestamp) -> Surge:
    times = pd.to_datetime(times, utc=True).dropna()
    if times.empty:
        return Surge(name, 0, 0, 0.0, 0.0, None, False, f"no {name}")
    after, before_min, after_min = _split(times, onset)
    nb, na = int((~after).sum()), int(after.sum())
    rb, ra = nb / before_min, na / after_min
    ratio = ra / rb if rb > 0 else (None if ra == 0 else float("inf"))
    surge = na >= SURGE_MIN and (ratio is None or ratio >= SURGE_RATIO)
    detail = f"{nb} before the onset ({rb:.2f}/min), {na} after ({ra:.2f}/min)" + (
        f": a surge (x{ratio:.1f})" if surge and ratio not in (None, float("inf")) else
        (": a surge (none before)" if surge else ""))
    return Surge(name, nb, na, rb, ra, ratio, surge, detail)


def status_surge(requests: pd.DataFrame, onset: pd.Timestamp, codes: Iterable[int] = (401, 403)) -> Surge:
    """Requests answered with ``codes`` (401/403 by default) before vs after the onset."""
    wanted = set(codes)
    if requests is None or requests.empty:
        return _surge("/".join(map(str, sorted(wanted))) + " responses", pd.Series(dtype=object), onset)
    hits = requests[pd.to_numeric(requests["status"], errors="coerce").isin(wanted)]
    return _surge("/".join(map(str, sorted(wanted))) + " responses", hits["time"], onset)


def auth_failures(records: pd.DataFrame, onset: pd.Timestamp) -> Surge:
    """Log records whose message reads as an authentication/authorisation failure, before vs after the onset."""
    if records is None or records.empty:
        return _surge("authentication failures", pd.Series(dtype=object), onset)
    hits = records[records["message"].astype(str).str.contains(AUTH_FAILURE, na=False)]
    return _surge("authentication failures", hits["time"], onset)


def unusual_clients(requests: pd.DataFrame, onset: pd.Timestamp, *, column: str = "client",
                    min_after: int = 5) -> pd.DataFrame:
    """Clients (or user agents, with ``column="user_agent"``) that are new after the onset or grew tenfold to a
    fifth of all traffic; one row per client seen after the onset (:data:`CLIENTS_SCHEMA`), unusual ones first."""
    if requests is None or requests.empty or column not in requests.columns:
        return conform(None, CLIENTS_SCHEMA)
    frame = requests.assign(_after=pd.to_datetime(requests["time"], utc=True) >= onset,
                            _status=pd.to_numeric(requests["status"], errors="coerce"))
    before = frame[~frame["_after"]][column].value_counts()
    after_rows = frame[frame["_after"]]
    rows = []
    for client, group in after_rows.groupby(column):
        nb, na = int(before.get(client, 0)), len(group)
        share = na / len(after_rows)
        new = nb == 0
        grew = nb > 0 and share >= 0.2 and na / nb >= 10
        unusual = (new and na >= min_after) or grew
        reason = ("new after the onset" if new else f"seen {nb} times before") + f", {na} requests after " \
            f"({share * 100:.0f}% of traffic)" + (": unusual" if unusual else "")
        rows.append({"client": client, "before_count": nb, "after_count": na, "after_share": share, "is_new": new,
                     "denied_after": int(group["_status"].isin([401, 403]).sum()),
                     "succeeded_after": int(group["_status"].between(200, 399).sum()), "unusual": unusual,
                     "reason": reason})
    out = pd.DataFrame(rows)
    if not out.empty:
        out = out.sort_values(["unusual", "after_count"], ascending=[False, False], kind="stable")
    return conform(out, CLIENTS_SCHEMA)


def credential_exposure(texts: Iterable[object]) -> pd.DataFrame:
    """Credentials found in log text, by kind (:data:`CREDENTIALS_SCHEMA`): count, distinct secrets, and one
    example *placeholder* (``[REDACTED:kind:hash]``) — the secret itself never leaves this function."""
    redactor = Redactor()
    counts: Counter[str] = Counter()
    distinct: dict[str, set[str]] = {}
    for text in texts:
        if text is None or (isinstance(text, float) and text != text):
            continue
        for kind, tag in PLACEHOLDER.findall(redactor.text(str(text))):
            counts[kind] += 1
            distinct.setdefault(kind, set()).add(tag)
    rows = [{"kind": kind, "count": n, "distinct": len(distinct[kind]),
             "example": f"[REDACTED:{kind}:{sorted(distinct[kind])[0]}]"} for kind, n in counts.most_common()]
    return conform(pd.DataFrame(rows), CREDENTIALS_SCHEMA)


def security_verdict(*, auth: Surge | None = None, denied: Surge | None = None, clients: pd.DataFrame | None = None,
                     credentials: pd.DataFrame | None = None) -> SecurityVerdict:
    """"yes" when an unusual new client got in after being denied, or when credentials leaked and unusual clients
    then succeeded; "suspected" on any single sign; "no" otherwise (with what was not examined in ``missing``)."""
    reasons, missing = [], []
    for surge, what in ((auth, "authentication-failure log records"), (denied, "access-log status codes")):
        if surge is None:
            missing.append(what)
        elif surge.surge:
            reasons.append(f"{surge.name} surged: {surge.detail}")
    odd = clients[clients["unusual"].fillna(False).astype(bool)] if clients is not None and len(clients) else None
    if clients is None:
        missing.append("client addresses / user agents")
    elif odd is not None and len(odd):
        reasons.append(f"{counted(len(odd), 'unusual client')} after the onset: " + ", ".join(odd["client"].astype(str)[:5]))
    leaked = credentials is not None and len(credentials) > 0
    if credentials is None:
        missing.append("log text scanned for credentials")
    elif leaked:
        reasons.append("credentials in logs: " + ", ".join(f"{r.kind} ×{r.count}" for r in credentials.itertuples()))
    broke_in = odd is not None and len(odd[(odd["denied_after"] > 0) & (odd["succeeded_after"] > 0)]) > 0
    used_leak = leaked and odd is not None and len(odd[odd["succeeded_after"] > 0]) > 0
    if broke_in or used_leak:
        why = ("an unusual client was denied and then succeeded (possible credential guessing that worked)"
               if broke_in else "credentials leaked and unusual clients then accessed the service successfully")
        return SecurityVerdict("yes", [why, *reasons], missing)
    if reasons:
        return SecurityVerdict("suspected", reasons, missing)
    return SecurityVerdict("no", ["no sign of a security incident in the evidence examined"], missing)
