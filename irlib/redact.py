"""Redaction of secrets before anything is written (evidence files, executed notebooks, HTML, the tool's own logs).

The same secret always maps to the same placeholder within a run (``[REDACTED:kind:8hex]``, the hex from an HMAC of
the secret under the run's redaction key), so correlation survives.  :class:`Redactor` counts what it replaced by
kind (``Redactor.counts``) for the manifest's redaction summary.

Detection is by shape (JWTs, AWS/GCP/GitHub/Slack/Stripe/... key formats, PEM private key blocks) and by context
(``password=``, ``postgresql://user:pass@``, ``Authorization: Basic``, ``Cookie:``, ``api_key:``, ``"name":
"DB_PASSWORD", "value": ...``).  Context-only matches must also look like a secret (see :func:`_looks_random`), so
ordinary log words ("token expired", "password incorrect for user bob"), commit hashes, UUIDs and pod names survive.
Kinds: private_key, jwt, aws_access_key, aws_secret_key, gcp_api_key, gcp_oauth_token, azure_key, github_token,
gitlab_token, slack_token, slack_webhook, stripe_key, sendgrid_key, npm_token, openai_key, authorization_header,
bearer_token, url_password, dsn_password, session_cookie, env_secret, api_key, and with flags email and ip.
"""
from __future__ import annotations

import base64
import bisect
import copy
import functools
import hashlib
import hmac
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pandas as pd

Span = tuple[int, int, str]
_PASSWORD_WORDS = r"password|passwd|passphrase|pwd"
_SECRET_WORDS = (r"password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
                 r"|client[_-]?secret|credentials?|encryption[_-]?key|signing[_-]?key|auth[_-]?key")
_QUOTE = r"(?:\\?[\"']|&quot;|&#39;|&#x27;)?"
_VALUE = (r"(?:\\(?=[\"']))?(?:\"(?P<dq>[^\"\n]{1,512}?)\\?\"|'(?P<sq>[^'\n]{1,512}?)\\?'"
          r"|(?P<v>[^\s,;&\"'<>()\[\]{}\\]{1,512}))")
_VALUE_GROUPS = ("dq", "sq", "v")
_STOP_VALUES = frozenset({
    "true", "false", "null", "none", "nil", "undefined", "required", "missing", "incorrect", "invalid", "expired",
    "empty", "set", "unset", "redacted", "hidden", "masked", "changed", "ok", "yes", "no", "sensitive", "secret",
    "password", "token", "bearer", "basic", "n/a", "notset", "provided", "supplied", "omitted",
})


def _looks_random(value: str) -> bool:
    """Whether a value found after a secret-ish key looks like a credential rather than a word or a sentence."""
    if len(value) < 8 or value.lower() in _STOP_VALUES or _is_template(value) or " " in value:
        return False
    digits = sum(c.isdigit() for c in value)
    upper = sum(c.isupper() for c in value)
    lower = sum(c.islower() for c in value)
    return (digits > 0 and upper + lower > 0) or (upper >= 2 and lower >= 2) or len(value) >= 24


def _is_template(value: str) -> bool:
    return value.startswith(("$", "{{", "%", "<", "[REDACTED")) or set(value) <= set("*xX.-#_")


def _plausible_password(value: str) -> bool:
    """A value after ``password=``: anything but a masked value, a template, a path or an ordinary status word."""
    return len(value) >= 3 and value.lower() not in _STOP_VALUES and not _is_template(value)


def _plausible_keyed(key: str, value: str) -> bool:
    lowered = key.lower().lstrip("-")
    if lowered in ("pwd", "oldpwd") and value.startswith(("/", "~")):
        return False  # the shell's working directory, not a password
    if re.search(r"(?:password|passwd|passphrase|pwd)$", lowered):
        return _plausible_password(value)
    return _looks_random(value)


@dataclass(frozen=True)
class Rule:
    """One detector: ``pattern`` finds candidates; the secret is the first of ``groups`` that matched."""

    kind: str
    pattern: re.Pattern[str]
    groups: tuple[str | int, ...] = (0,)
    accept: Callable[[re.Match[str], str], bool] | None = None

    def spans(self, text: str) -> Iterator[Span]:
        for match in self.pattern.finditer(text):
            for group in self.groups:
                secret = match.group(group)
                if secret:
                    if self.accept is None or self.accept(match, secret):
                        yield match.start(group), match.end(group), self.kind
                    break


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _keyed(words: str) -> re.Pattern[str]:
    """``<key ending in one of words> = value`` (also ``:``/``=>``, quoted keys and values, JSON, YAML, headers)."""
    return _rx(r"(?i)(?<![\w.-])(?P<key>[\w.-]*(?:" + words + r")(?:[_.-]?\d{1,6})?)" + _QUOTE
               + r"\s*(?:[:=]|=>)\s*" + _VALUE)


def _keyed_ok(match: re.Match[str], secret: str) -> bool:
    return _plausible_keyed(match.group("key"), secret)


def _random_ok(_match: re.Match[str], secret: str) -> bool:
    return _looks_random(secret)


def _basic_ok(_match: re.Match[str], secret: str) -> bool:
    """HTTP Basic credentials: base64 of ``user:password``."""
    try:
        decoded = base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


def _password_ok(_match: re.Match[str], secret: str) -> bool:
    return _plausible_password(secret)


# Order is priority: when spans overlap they are merged and the earliest rule names the kind.
RULES: list[Rule] = [
    Rule("private_key", _rx(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*"
                            r"PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)")),
    Rule("private_key", _rx(r"(?m)^(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*[A-Z])[A-Za-z0-9+/]{64}$")),
    Rule("jwt", _rx(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    Rule("aws_access_key", _rx(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    Rule("aws_secret_key", _rx(r"(?i)(?:aws_?secret_?access_?key|secretaccesskey)" + _QUOTE + r"\s*[:=]\s*"
                               + _QUOTE + r"(?P<v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"), ("v",)),
    Rule("gcp_api_key", _rx(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    Rule("gcp_oauth_token", _rx(r"\bya29\.[0-9A-Za-z_-]{20,}")),
    Rule("azure_key", _rx(r"(?i)\b(?:AccountKey|SharedAccessKey|sig)=(?P<v>[A-Za-z0-9%/+=]{20,})"), ("v",)),
    Rule("github_token", _rx(r"\b(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})\b")),
    Rule("gitlab_token", _rx(r"\bglpat-[0-9A-Za-z_-]{20,}")),
    Rule("slack_token", _rx(r"\bxox[abposr]-[A-Za-z0-9-]{10,}|\bxapp-\d-[A-Za-z0-9-]{10,}")),
    Rule("slack_webhook", _rx(r"hooks\.slack\.com/(?:services|workflows)/(?P<v>[A-Za-z0-9/_-]{20,})"), ("v",)),
    Rule("stripe_key", _rx(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{24,}")),
    Rule("sendgrid_key", _rx(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    Rule("npm_token", _rx(r"\bnpm_[A-Za-z0-9]{36}\b")),
    Rule("openai_key", _rx(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}")),
    Rule("authorization_header", _rx(
        r"(?i)\b(?:proxy-)?authorization(?:[_.-]?\d{1,6})?" + _QUOTE + r"\s*[:=]\s*" + _QUOTE
        + r"(?:(?P<scheme>basic|bearer|token|apikey|key|negotiate|ntlm)\s+(?P<tok>[^\s\"',;\\]{6,})"
        + r"|(?:digest|aws4-hmac-sha256|hmac[\w-]*)\s+(?P<rest>[^\r\n\"']{6,})"
        + r"|(?P<bare>[A-Za-z0-9._~+/=-]{16,}))"), ("tok", "rest", "bare"), _password_ok),
    Rule("basic_auth", _rx(r"(?i)\bbasic\s+(?P<v>[A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])"), ("v",), _basic_ok),
    Rule("bearer_token", _rx(r"(?i)\bbearer\s+(?P<v>[A-Za-z0-9._~+/=-]{12,})"), ("v",), _random_ok),
    Rule("url_password", _rx(r"(?i)\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@'\"<>]*:(?P<v>[^\s@/'\"<>]+)@[^\s@]"), ("v",),
         _password_ok),
    Rule("dsn_password", _rx(r"(?i)\b(?:password|identified\s+by)\s+'(?P<v>[^'\n]+)'"), ("v",), _password_ok),
    Rule("dsn_password", _rx(r"(?i)\bset\s+password\b[^=\n]{0,200}=\s*(?:password\s*\(\s*)?'(?P<v>[^'\n]+)'"), ("v",),
         _password_ok),
    Rule("dsn_password", _rx(r"\bmysql(?:dump|admin)?\b[^\n]{0,200}?\s-p(?P<v>[^\s'\"-][^\s'\"]{2,})"), ("v",),
         _password_ok),
    Rule("env_secret", _rx(r"(?i)\"name\"\s*:\s*\"[\w.-]*(?:" + _SECRET_WORDS + r"|_key)\"\s*,\s*\"value\"\s*:\s*"
                           r"\"(?P<v>[^\"\n]+)\""), ("v",), _password_ok),
    Rule("password", _keyed(_PASSWORD_WORDS), _VALUE_GROUPS, _keyed_ok),
    Rule("api_key", _keyed(_SECRET_WORDS), _VALUE_GROUPS, _keyed_ok),
]
EMAIL_RULE = Rule("email", _rx(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"))
IP_RULES = [
    Rule("ip", _rx(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\d.])")),
    Rule("ip", _rx(r"(?i)(?<![\w:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}"
                   r"(?::[0-9a-f]{1,4})*)?|::(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})(?![\w:])")),
]
# Every match of every rule contains one of these; text without any of them is left alone without running the rules.
_TRIGGERS = (r"private key|[A-Za-z0-9+/]{64}|eyJ|AKIA|ASIA|secretaccesskey|AIza|ya29\.|accountkey|sharedaccesskey"
             r"|sig=|gh[pousr]_|github_pat_|glpat-|xox|xapp-|hooks\.slack|_live_|_test_|whsec_|SG\.|npm_|sk-"
             r"|authorization|bearer|basic|://|password|passwd|passphrase|pwd|identified|secret|token|api.?key|apikey"
             r"|access.?key|private.?key|credential|encryption.?key|signing.?key|auth.?key|_key|cookie|session"
             r"|sid=|jsessionid|mysql")
PREFILTER = re.compile(_TRIGGERS, re.IGNORECASE)
_EMAIL_TRIGGER, _IP_TRIGGER = r"@", r"\d\.\d|[0-9a-fA-F]:[0-9a-fA-F]*:"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PLACEHOLDER = re.compile(r"\[REDACTED:[a-z_0-9]+:[0-9a-f]{8}\]")
_COOKIE_HEADER = re.compile(r"(?im)\b(?P<set>set-)?cookie\s*[:=]\s*(?P<v>[^\r\n]+)")
_COOKIE_PAIR = re.compile(r"(?:^|;)\s*(?P<name>[^=;\s]+)\s*=\s*(?P<v>[^;\r\n\"']*)")
_SESSION_COOKIE = re.compile(r"(?i)(?<![\w.-])(?:session(?:id)?|sid|jsessionid|phpsessid|connect\.sid|_[\w-]*session)"
                             r"=(?P<v>[A-Za-z0-9%._:+/=-]{12,})")
_COOKIE_ATTRIBUTES = frozenset({"path", "domain", "expires", "max-age", "samesite", "secure", "httponly",
                                "priority", "partitioned"})
_KEY_SUFFIX = r"(?:[_.-]?\d{1,6})?$"  # db-password-42, MYSQL_PWD_2: numbered copies of a secret key
_SECRET_KEY = re.compile(r"(?i)(?:^|[_.-])(?:" + _SECRET_WORDS + r"|authorization|cookie|set-cookie)" + _KEY_SUFFIX
                         + r"|(?:password|passwd)" + _KEY_SUFFIX)
_BINARY_MIME = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")


def cookie_spans(text: str) -> Iterator[Span]:
    """Values of ``Cookie:`` pairs (all of them) and ``Set-Cookie:`` (the cookie itself, not its attributes)."""
    for header in _COOKIE_HEADER.finditer(text):
        base = header.start("v")
        for number, pair in enumerate(_COOKIE_PAIR.finditer(header.group("v"))):
            if header.group("set") and number > 0:
                break
            value = pair.group("v").strip()
            if pair.group("name").lower() in _COOKIE_ATTRIBUTES or len(value) < 6 or _is_template(value):
                continue
            yield base + pair.start("v"), base + pair.start("v") + len(value), "session_cookie"
    for match in _SESSION_COOKIE.finditer(text):
        yield match.start("v"), match.end("v"), "session_cookie"


@functools.lru_cache(maxsize=4)
def _prefilter(emails: bool, ips: bool) -> re.Pattern[str]:
    extra = ([_EMAIL_TRIGGER] if emails else []) + ([_IP_TRIGGER] if ips else [])
    return PREFILTER if not extra else re.compile("|".join([_TRIGGERS, *extra]), re.IGNORECASE)


def _overlaps(start: int, end: int, sorted_spans: list[tuple[int, int]]) -> bool:
    """Whether [start, end) overlaps one of the sorted, disjoint ``sorted_spans``."""
    index = bisect.bisect_right(sorted_spans, (start, float("inf"))) - 1
    candidates = sorted_spans[max(index, 0):index + 2]
    return any(s < end and start < e for s, e in candidates)


def merge_spans(spans: list[tuple[int, int, int, str]]) -> list[Span]:
    """Merge overlapping ``(start, end, priority, kind)`` spans; a merged span takes the highest-priority kind."""
    merged: list[list[Any]] = []
    for start, end, priority, kind in sorted(spans):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if priority < last[2]:
                last[2], last[3] = priority, kind
        else:
            merged.append([start, end, priority, kind])
    return [(s, e, k) for s, e, _, k in merged]


def redaction_key() -> bytes:
    """The key that makes placeholders (``IRLIB_REDACTION_KEY``; a fixed default keeps them stable across runs)."""
    return os.environ.get("IRLIB_REDACTION_KEY", "irlib-redaction").encode()


@dataclass
class Redactor:
    """Replaces secrets in text, frames, JSON values and notebooks; ``counts`` holds replacements by kind."""

    key: bytes = b"irlib"
    emails: bool = False
    ips: bool = False
    counts: Counter[str] = field(default_factory=Counter)

    def rules(self) -> list[Rule]:
        return RULES + ([EMAIL_RULE] if self.emails else []) + (IP_RULES if self.ips else [])

    def prefilter(self) -> re.Pattern[str]:
        """A cheap regex every secret this redactor finds must match (used to skip clean cells quickly)."""
        return _prefilter(self.emails, self.ips)

    def placeholder(self, kind: str, secret: str) -> str:
        tag = hmac.new(self.key, secret.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:8]
        return f"[REDACTED:{kind}:{tag}]"

    def spans(self, value: str) -> list[Span]:
        """The ``(start, end, kind)`` of every secret in ``value``, merged, excluding existing placeholders."""
        found: list[tuple[int, int, int, str]] = []
        for priority, rule in enumerate(self.rules()):
            found.extend((s, e, priority, k) for s, e, k in rule.spans(value))
        found.extend((s, e, len(RULES), k) for s, e, k in cookie_spans(value))
        kept = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(value)]
        if kept:
            found = [f for f in found if not _overlaps(f[0], f[1], kept)]
        return merge_spans(found)

    def text(self, value: str) -> str:
        """``value`` with every secret replaced by its placeholder (placeholders already there are kept).

        Terminal colour codes (as in Jupyter tracebacks) can glue a secret to its neighbours; a text holding them is
        redacted without them, and keeps its colours only when nothing had to be replaced.
        """
        if not isinstance(value, str) or not self.prefilter().search(value):
            return value
        if "\x1b[" in value:
            plain = _ANSI.sub("", value)
            redacted = self._plain_text(plain)
            return value if redacted == plain else redacted
        return self._plain_text(value)

    def _plain_text(self, value: str) -> str:
        pieces: list[str] = []
        cursor = 0
        for start, end, kind in self.spans(value):
            pieces.append(value[cursor:start])
            pieces.append(self.placeholder(kind, value[start:end]))
            self.counts[kind] += 1
            cursor = end
        if not pieces:
            return value
        pieces.append(value[cursor:])
        return "".join(pieces)

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with every text cell (and text inside lists/dicts) redacted.

        Vectorised: a cheap trigger regex over each text column (``Series.str.contains``) selects the candidate
        cells; only those go through the full rules, once per distinct value.
        """
        out = frame.copy()
        for col in out.columns:
            series = out[col]
            if isinstance(series.dtype, pd.CategoricalDtype):
                out[col] = self._series(series.astype(object)).astype("category")
            elif isinstance(col, str) and _SECRET_KEY.search(col) and not series.empty:
                out[col] = self._secret_column(col, series)
            elif series.dtype == object or isinstance(series.dtype, pd.StringDtype):
                out[col] = self._series(series).astype(series.dtype)
        return out

    def _secret_column(self, name: str, series: pd.Series) -> pd.Series:
        """A column named like a secret (``password``, ``api_key``, ...): each plausible text value is replaced whole."""
        def whole(value: object) -> object:
            if isinstance(value, str) and self._whole_value_is_secret(name, value):
                self.counts["api_key"] += 1
                return self.placeholder("api_key", value)
            return self.json_value(value)
        if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
            return series
        return series.map(whole).astype(series.dtype)

    def _series(self, series: pd.Series) -> pd.Series:
        if isinstance(series.dtype, pd.StringDtype):
            is_str = series.notna()
            nested = pd.Series(False, index=series.index)
        else:
            is_str = series.map(lambda v: isinstance(v, str)).astype(bool)
            nested = series.map(lambda v: isinstance(v, (dict, list, tuple))).astype(bool)
        as_text = series.where(is_str, "") if isinstance(series.dtype, pd.StringDtype) else \
            series.where(is_str, "").astype(object)
        candidate = as_text.str.contains(self.prefilter().pattern, case=False, regex=True, na=False).astype(bool)
        todo = (candidate & is_str) | nested
        if not todo.any():
            return series
        result = series.astype(object).copy()
        memo: dict[str, tuple[str, Counter[str]]] = {}
        for index, value in series[todo].items():
            result.at[index] = self._memo_text(value, memo) if isinstance(value, str) else self.json_value(value)
        return result

    def _memo_text(self, value: str, memo: dict[str, tuple[str, Counter[str]]]) -> str:
        """``text(value)``, computed once per distinct value of a column; counts still go up per occurrence."""
        if value not in memo:
            before = self.counts.copy()
            redacted = self.text(value)
            memo[value] = (redacted, self.counts - before)
            return redacted
        redacted, found = memo[value]
        self.counts.update(found)
        return redacted

    def json_value(self, obj: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, strings) with secrets replaced.

        A string under a secret-ish key (``password``, ``api_key``, ``Authorization``, ...) is replaced whole, as is
        the ``value`` of a ``{"name": "DB_PASSWORD", "value": ...}`` pair (Kubernetes env entries).
        """
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return self._json_mapping(obj)
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.json_value(v) for v in obj)
        return obj

    def _json_mapping(self, obj: dict[Any, Any]) -> dict[Any, Any]:
        name = obj.get("name")
        env_secret = isinstance(name, str) and bool(_SECRET_KEY.search(name) or name.lower().endswith("_key"))
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            whole = env_secret and key == "value" or isinstance(key, str) and bool(_SECRET_KEY.search(key))
            if whole and isinstance(value, str) and self._whole_value_is_secret(str(key), value):
                kind = "env_secret" if key == "value" else "api_key"
                out[key] = self.placeholder(kind, value)
                self.counts[kind] += 1
            else:
                out[key] = self.json_value(value)
        return out

    @staticmethod
    def _whole_value_is_secret(key: str, value: str) -> bool:
        if _PLACEHOLDER.search(value) or not value.strip():
            return False
        if key.lower() in ("cookie", "set-cookie", "authorization", "proxy-authorization", "value"):
            return _plausible_password(value)
        return _plausible_keyed(key, value)

    def notebook(self, nb: dict[str, Any]) -> dict[str, Any]:
        """A redacted copy of a notebook (nbformat 4 JSON as a dict).

        Covers cell sources (markdown, code, raw, including the injected parameters cell), stream text, every
        textual output ``data`` entry (binary images are left alone), error ``evalue`` and ``traceback``, and the
        notebook's and cells' metadata.
        """
        out = copy.deepcopy(nb)
        out["metadata"] = self.json_value(out.get("metadata", {}))
        for cell in out.get("cells", []):
            cell["source"] = self._lines(cell.get("source", ""))
            cell["metadata"] = self.json_value(cell.get("metadata", {}))
            for output in cell.get("outputs", []) or []:
                self._output(output)
        return out

    def _output(self, output: dict[str, Any]) -> None:
        if "text" in output:
            output["text"] = self._lines(output["text"])
        if "evalue" in output:
            output["evalue"] = self.text(str(output["evalue"]))
        if "traceback" in output:
            output["traceback"] = [self.text(str(line)) for line in output["traceback"]]
        data = output.get("data")
        if isinstance(data, dict):
            for mime, value in data.items():
                if mime in _BINARY_MIME:
                    continue
                data[mime] = self._lines(value) if isinstance(value, (str, list)) else self.json_value(value)
        if "metadata" in output:
            output["metadata"] = self.json_value(output["metadata"])

    def _lines(self, value: str | list[str]) -> str | list[str]:
        """Redact a notebook multiline string; a list of lines is joined first so secrets split across lines count."""
        if isinstance(value, str):
            return self.text(value)
        if not all(isinstance(v, str) for v in value):
            return self.json_value(value)  # type: ignore[no-any-return]
        return self.text("".join(value)).splitlines(keepends=True)
