"""Step 09: authentication failures and 401/403 surges, unusual clients, credentials exposed in logs, verdict."""
from __future__ import annotations

import re

import pandas as pd

from ..analysis.security import SecurityVerdict
from ..analysis.text import counted
from ..display import Answer
from ..investigation import Investigation
from . import common, facts

# Access-log shapes: combined log format ("1.2.3.4 - - [..] "GET / HTTP/1.1" 503 ...") and JSON/logfmt fields.
_CLF = re.compile(r'^(?P<client>\S+) \S+ \S+ \[[^\]]*\] "(?:[A-Z]+) [^"]*" (?P<status>\d{3})')
_STATUS = re.compile(r'(?:"?(?:status|status_code|code)"?\s*[:=]\s*"?)(?P<status>[1-5]\d\d)\b')
_CLIENT = re.compile(r'(?:"?(?:client|remote_addr|client_ip|remote)"?\s*[:=]\s*"?)(?P<client>[0-9A-Fa-f:.]+)')
_AGENT = re.compile(r'"(?P<ua>[^"]*)"\s*$')


def requests_from_records(records: pd.DataFrame) -> pd.DataFrame:
    """Requests (time, status, client, user_agent) read from access-log style records; other records are skipped."""
    cols = ["time", "status", "client", "user_agent"]
    if records.empty:
        return pd.DataFrame(columns=cols)
    text = records["message"].fillna("").astype(str)
    clf = text.str.extract(_CLF)
    status = clf["status"].fillna(text.str.extract(_STATUS)["status"])
    client = clf["client"].fillna(text.str.extract(_CLIENT)["client"])
    agent = text.str.extract(_AGENT)["ua"].where(clf["status"].notna())
    out = pd.DataFrame({"time": records["timestamp"], "status": pd.to_numeric(status, errors="coerce"),
                        "client": client, "user_agent": agent})
    return out[out["status"].notna()].reset_index(drop=True)[cols]


def _records_with_time(inv: Investigation) -> pd.DataFrame:
    records = facts.log_records(inv)
    return records.assign(time=records["timestamp"]) if len(records) else records.assign(time=pd.Series(dtype=object))


def auth_failures(inv: Investigation) -> Answer:
    from ..analysis.security import auth_failures as failures, status_surge

    ans = Answer("Authentication failures and 401/403 surges")
    onset = facts.onset_time(inv)
    if onset is None:
        return ans.lack("no onset was established: surges are measured before vs after it")
    records = _records_with_time(inv)
    auth = failures(records, onset)
    denied = status_surge(requests_from_records(facts.log_records(inv)), onset)
    for surge in (auth, denied):
        ans.say(surge.detail)
    inv.record("auth_surges", {"auth": auth, "denied": denied}, summary=f"{auth.detail}; {denied.detail}")
    return ans


def unusual_clients(inv: Investigation) -> Answer:
    from ..analysis.security import unusual_clients as clients

    ans = Answer("Unusual clients since the onset")
    onset = facts.onset_time(inv)
    requests = requests_from_records(facts.log_records(inv))
    if onset is None or requests.empty:
        return ans.lack("no access-log records with client addresses" if requests.empty else "no onset")
    table = clients(requests, onset)
    odd = table[table["unusual"].fillna(False).astype(bool)] if len(table) else table
    ans.say(f"{len(table)} clients seen after the onset; {len(odd)} unusual (new, or grown tenfold to a fifth of "
            "the traffic).")
    return ans.table("Clients after the onset", table)


def credential_exposure(inv: Investigation) -> Answer:
    from ..analysis.security import credential_exposure as exposure

    ans = Answer("Credentials exposed in logs (counted, never shown)")
    records = facts.log_records(inv)
    table = exposure(records["message"]) if len(records) else exposure([])
    if table.empty:
        ans.say("No credential was found in the log records.")
    else:
        ans.say(f"{counted(int(table['count'].sum()), 'credential occurrence')} of {counted(len(table), 'kind')} found in the logs. "
                "They were replaced by placeholders before anything was written; rotate them.")
    found = int(table["count"].sum()) if len(table) else 0
    inv.record("credential_exposure", table, summary=f"{common.counted(found, 'credential')} in logs")
    return ans.table("Credentials by kind (placeholders only)", table)


def verdict(inv: Investigation) -> Answer:
    from ..analysis.security import (auth_failures as failures, credential_exposure as exposure,
                                     security_verdict, status_surge, unusual_clients as clients)

    ans = Answer("Verdict: was this a breach?")
    onset = facts.onset_time(inv)
    records = facts.log_records(inv)
    requests = requests_from_records(records)
    auth = failures(_records_with_time(inv), onset) if onset is not None else None
    denied = status_surge(requests, onset) if onset is not None and len(requests) else None
    client_table = clients(requests, onset) if onset is not None and len(requests) else None
    creds = exposure(records["message"]) if len(records) else None
    result = security_verdict(auth=auth, denied=denied, clients=client_table, credentials=creds)
    verdict = result.security_incident.upper()
    if result.security_incident == "no" and result.missing:
        verdict = "NO SIGN FOUND in the evidence examined (not a clearance: some evidence was not examined)"
    ans.say(f"Security incident: {verdict}.")
    for reason in result.reasons:
        ans.say(f"• {reason}")
    for item in result.missing:
        ans.lack(f"not examined: {item}")
    inv.record("security", result, summary=verdict_summary(result))
    return ans


def verdict_summary(result: SecurityVerdict) -> str:
    """The verdict in words for the findings table: the signs found, or that there was none (and what was not
    examined, since then it is no clearance)."""
    if result.security_incident == "yes":
        return "security incident: " + "; ".join(result.reasons)
    if result.security_incident == "suspected":
        return "security incident suspected: " + "; ".join(result.reasons)
    unexamined = f" (not examined: {', '.join(result.missing)})" if result.missing else ""
    return "no sign of a security incident in the evidence examined" + unexamined
