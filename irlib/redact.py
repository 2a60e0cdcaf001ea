"""Redaction of secrets before anything is written.

The same secret always maps to the same placeholder within a run (``[REDACTED:kind:8hex]``, from a keyed hash),
so correlation survives.  :class:`Redactor` counts what it replaced by kind for the manifest's redaction summary.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

# (kind, pattern, group holding the secret).  Order matters: the more specific kinds come first.
PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("private_key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"), 0),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), 0),
    ("bearer_token", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{12,})"), 1),
    ("authorization_header", re.compile(r"(?i)\bauthorization\s*[:=]\s*\"?(?:basic|token|digest)\s+([A-Za-z0-9._~+/=-]{8,})"), 1),
    ("url_password", re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@"), 1),
    ("dsn_password", re.compile(r"(?i)\bpassword\s*=\s*'?([^\s';]+)"), 1),
    ("aws_access_key", re.compile(r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b"), 1),
    ("aws_secret_key", re.compile(r"(?i)aws_secret_access_key\s*[:=]\s*\"?([A-Za-z0-9/+=]{40})"), 1),
    ("gcp_api_key", re.compile(r"\b(AIza[0-9A-Za-z_-]{35})\b"), 1),
    ("github_token", re.compile(r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})\b"), 1),
    ("slack_token", re.compile(r"\b(xox[baprs]-[A-Za-z0-9-]{10,})\b"), 1),
    ("stripe_key", re.compile(r"\b((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,})\b"), 1),
    ("session_cookie", re.compile(r"(?i)\b(?:session(?:id)?|sid|JSESSIONID|PHPSESSID|connect\.sid)=([A-Za-z0-9%._-]{12,})"), 1),
    ("api_key", re.compile(r"(?i)\b(?:api[_-]?key|apikey|x-api-key|access[_-]?token|secret[_-]?key|client[_-]?secret|password|passwd|pwd|secret|token)\b\"?\s*[:=]\s*\"?([^\s\",;&]{8,})"), 1),
]
EMAIL = ("email", re.compile(r"\b([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b"), 1)
IPV4 = ("ip", re.compile(r"\b((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})\b"), 1)
_PLACEHOLDER = re.compile(r"\[REDACTED:[a-z_0-9]+:[0-9a-f]{8}\]")


@dataclass
class Redactor:
    """Replaces secrets in text and frames; ``counts`` holds how many of each kind were replaced."""

    key: bytes = b"irlib"
    emails: bool = False
    ips: bool = False
    counts: Counter[str] = field(default_factory=Counter)

    def patterns(self) -> list[tuple[str, re.Pattern[str], int]]:
        extra = ([EMAIL] if self.emails else []) + ([IPV4] if self.ips else [])
        return PATTERNS + extra

    def placeholder(self, kind: str, secret: str) -> str:
        tag = hmac.new(self.key, secret.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:8]
        return f"[REDACTED:{kind}:{tag}]"

    def text(self, value: str) -> str:
        """``value`` with every secret replaced by its placeholder."""
        for kind, pattern, group in self.patterns():
            value = pattern.sub(lambda m: self._replace(m, kind, group), value)
        return value

    def _replace(self, match: re.Match[str], kind: str, group: int) -> str:
        secret = match.group(group)
        if not secret or _PLACEHOLDER.fullmatch(secret) or secret.startswith("[REDACTED"):
            return match.group(0)
        self.counts[kind] += 1
        whole = match.group(0)
        start = match.start(group) - match.start(0)
        return whole[:start] + self.placeholder(kind, secret) + whole[start + len(secret):]

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with every text cell (and text inside lists/dicts) redacted."""
        out = frame.copy()
        for col in out.columns:
            series = out[col]
            if series.dtype == object or str(series.dtype) == "string":
                out[col] = series.map(self._cell, na_action="ignore").astype(series.dtype)
        return out

    def _cell(self, value: object) -> object:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self._cell(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._cell(v) for v in value)
        return value
