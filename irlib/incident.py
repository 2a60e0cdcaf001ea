"""Incident parameters: one YAML file per incident, validated when loaded.

Every mistake gives one :class:`ParameterError` naming the file and the key.  The accepted keys are written out in
:data:`SPEC` (one place); ``parameters/example.yaml`` documents each of them.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .errors import ParameterError
from .timeutil import TimeParseError, Window, parse_instant

# A spec node is either a type tag (str) or a dict of key -> (node, required).  Type tags:
#   str, int, float, number, bool, time, path, env (name of an environment variable), duration (a Prometheus
#   duration such as 30s or a number of seconds), replay (a run directory with evidence/, or irlib:demo),
#   list:<node>, map:<tag>
_STR, _NUM, _BOOL, _TIME, _PATH, _ENV, _INT = "str", "number", "bool", "time", "path", "env", "int"
_DURATION, _REPLAY = "duration", "replay"

SOURCE_PROMETHEUS: dict[str, Any] = {
    "url": (_STR, True),
    "token_env": (_ENV, False),
    "username": (_STR, False),
    "password_env": (_ENV, False),
    "ca_bundle": (_PATH, False),
    "verify_tls": (_BOOL, False),
    "headers": ("map:str", False),
    "headers_env": ("map:env", False),
    "timeout_s": (_NUM, False),
    "retries": (_INT, False),
    "step": (_DURATION, False),
    "queries": ("map:str", False),
    "labels": ("map:str", False),
}
SOURCE_KUBERNETES: dict[str, Any] = {
    "kubeconfig": (_PATH, False),
    "context": (_STR, False),
    "in_cluster": (_BOOL, False),
    "timeout_s": (_NUM, False),
    "log_lines": (_INT, False),
    "log_bytes": (_INT, False),
}
SOURCE_DATABASE: dict[str, Any] = {
    "name": (_STR, True),
    "dsn_env": (_ENV, True),
    "statement_timeout_s": (_NUM, False),
    "lock_timeout_s": (_NUM, False),
    "connect_timeout_s": (_NUM, False),
}
SOURCE_LOG: dict[str, Any] = {
    "name": (_STR, False),
    "path": (_PATH, True),
    "format": (_STR, False),
    "encoding": (_STR, False),
    "timezone": (_STR, False),
}
SOURCE_GIT: dict[str, Any] = {"repo": (_PATH, True), "path": (_STR, False)}

DEFAULT_THRESHOLDS: dict[str, float] = {
    "error_ratio_p0": 0.5,      # at or above: effectively an outage
    "error_ratio_p1": 0.05,     # at or above: major degradation
    "availability_p0": 0.5,     # ready replicas fraction at or below: outage
    "latency_p99_s": 1.0,       # p99 above this is degraded
    "users_affected_p1": 0.1,   # fraction of users/requests affected for P1
    "lookback_min": 120,        # suspects look-back before the onset
}

SPEC: dict[str, Any] = {
    "incident": ({
        "id": (_STR, True),
        "title": (_STR, True),
        "declared_at": (_TIME, True),
        "summary": (_STR, False),
        "commander": (_STR, False),
    }, True),
    "window": ({"start": (_TIME, True), "end": (_TIME, True)}, True),
    "service": ({
        "name": (_STR, True),
        "namespace": (_STR, False),
        "selector": (_STR, False),
        "deployments": ("list:str", False),
        "containers": ("list:str", False),
        "dependencies": ("list:str", False),
        "users_total": (_INT, False),
        "revenue_critical": (_BOOL, False),
    }, True),
    "sources": ({
        "replay": (_REPLAY, False),
        "prometheus": (SOURCE_PROMETHEUS, False),
        "kubernetes": (SOURCE_KUBERNETES, False),
        "databases": ([SOURCE_DATABASE], False),
        "logs": ([SOURCE_LOG], False),
        "git": (SOURCE_GIT, False),
    }, False),
    "thresholds": ({name: (_NUM, False) for name in DEFAULT_THRESHOLDS}, False),
    "severity_override": (_STR, False),
    "checks": ([{"name": (_STR, True), "database": (_STR, True), "sql": (_STR, True),
                 "expect": (_STR, False)}], False),
    "actions": ({"allow": (_BOOL, False)}, False),
    "redaction": ({"emails": (_BOOL, False), "ips": (_BOOL, False)}, False),
    "limits": ({"notebook_timeout_s": (_NUM, False), "notebook_memory_mb": (_INT, False),
                "output_max_kb": (_INT, False)}, False),
}

_INCIDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

MAX_PARAMS_BYTES = 1 << 20
MIN_DURATION_S = 0.001          # sources and PostgreSQL round to milliseconds: less would become 0 (no limit)
MAX_TIMEOUT_S = 2_147_483       # PostgreSQL's largest statement/lock timeout (2^31 - 1 ms, about 24 days)
MAX_LOOKBACK_MIN = 525_600      # a year before the onset
RATIO_THRESHOLDS = ("error_ratio_p0", "error_ratio_p1", "availability_p0", "users_affected_p1")


@dataclass(frozen=True)
class Incident:
    """Validated incident parameters.  ``raw`` keeps the parsed mapping (no secrets: only env-var names)."""

    path: Path
    id: str
    title: str
    declared_at: pd.Timestamp
    window: Window
    service: dict[str, Any]
    sources: dict[str, Any]
    thresholds: dict[str, float]
    severity_override: str | None
    checks: list[dict[str, Any]]
    actions: dict[str, Any]
    redaction: dict[str, Any]
    limits: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @property
    def namespace(self) -> str:
        return str(self.service.get("namespace") or "default")

    @property
    def selector(self) -> str:
        return str(self.service.get("selector") or f"app={self.service['name']}")


def load_incident(path: str | os.PathLike[str], *, now: pd.Timestamp) -> Incident:
    """Load and validate an incident parameters file; raise :class:`ParameterError` on the first problem."""
    p = Path(path)
    try:
        is_dir, is_file = p.is_dir(), p.is_file()
    except (OSError, ValueError) as exc:
        raise ParameterError(f"is not a usable file name ({exc}); give the path of an incident YAML",
                             path=str(p)) from exc
    if is_dir:
        raise ParameterError("is a directory; give the path of an incident YAML file inside it", path=str(p))
    if not is_file:
        raise ParameterError("file not found; give the path of an incident YAML such as parameters/demo.yaml",
                             path=str(p))
    if p.stat().st_size > MAX_PARAMS_BYTES:
        raise ParameterError(f"is {p.stat().st_size:,} bytes; an incident parameters file is a few kB (at most "
                             f"{MAX_PARAMS_BYTES:,} bytes): give the incident YAML, not a data file", path=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot be read as UTF-8 text: {exc}", path=str(p)) from exc
    return parse_incident(text, path=p, now=now)


def parse_incident(text: str, *, path: Path, now: pd.Timestamp) -> Incident:
    """Validate YAML text as incident parameters (``path`` is used in messages and to resolve relative paths)."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except DuplicateKey as exc:
        raise ParameterError(f"appears twice (line {exc.line}); YAML would silently keep only the last one",
                             path=str(path), key=exc.key) from exc
    except yaml.YAMLError as exc:
        raise ParameterError(_yaml_problem(exc), path=str(path)) from exc
    except (ValueError, OverflowError) as exc:  # e.g. a date that does not exist (2024-13-45), a huge number
        raise ParameterError(f"not valid YAML: a value cannot be read ({exc}); quote it if it is meant as text",
                             path=str(path)) from exc
    except RecursionError as exc:
        raise ParameterError("not valid YAML: nested too deeply", path=str(path)) from exc
    except Exception as exc:  # PyYAML itself fails on some inputs (e.g. AttributeError on '!!timestamp x')
        raise ParameterError(f"not valid YAML: the YAML reader failed ({type(exc).__name__}: {exc})",
                             path=str(path)) from exc
    if not isinstance(data, dict):
        raise ParameterError("expected a mapping at the top level (incident:, window:, service: ...)", path=str(path))
    checked = _validate(data, SPEC, "", path, now)
    window_raw = checked["window"]
    try:
        window = Window(window_raw["start"], window_raw["end"])
    except TimeParseError as exc:
        raise ParameterError(str(exc), path=str(path), key="window.end") from exc
    incident_id = checked["incident"]["id"]
    if not _INCIDENT_ID.fullmatch(incident_id):
        raise ParameterError("must start with a letter or digit and hold only letters, digits, '.', '_' and '-' "
                             "(it names the report folder)", path=str(path), key="incident.id")
    thresholds = {**DEFAULT_THRESHOLDS, **checked.get("thresholds", {})}
    if thresholds["error_ratio_p0"] < thresholds["error_ratio_p1"]:
        raise ParameterError(f"({thresholds['error_ratio_p0']}) is below error_ratio_p1 "
                             f"({thresholds['error_ratio_p1']}): the P0 bar must be the higher one",
                             path=str(path), key="thresholds.error_ratio_p0")
    _check_cross_references(checked, path)
    override = checked.get("severity_override")
    if override is not None and override not in ("P0", "P1", "P2"):
        raise ParameterError(f"must be P0, P1 or P2, got {override!r}", path=str(path), key="severity_override")
    return Incident(
        path=path, id=checked["incident"]["id"], title=checked["incident"]["title"],
        declared_at=checked["incident"]["declared_at"], window=window, service=checked["service"],
        sources=checked.get("sources", {}), thresholds=thresholds, severity_override=override,
        checks=checked.get("checks", []), actions=checked.get("actions", {}),
        redaction=checked.get("redaction", {}), limits=checked.get("limits", {}), raw=data,
    )


def _validate(value: Any, spec: Any, key: str, path: Path, now: pd.Timestamp) -> Any:
    if isinstance(spec, dict):
        return _validate_mapping(value, spec, key, path, now)
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise ParameterError(f"expected a list, got {_kind(value)}", path=str(path), key=key)
        return [_validate(item, spec[0], f"{key}[{i}]", path, now) for i, item in enumerate(value)]
    return _validate_scalar(value, spec, key, path, now)


def _validate_mapping(value: Any, spec: dict[str, Any], key: str, path: Path, now: pd.Timestamp) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParameterError(f"expected a mapping, got {_kind(value)}", path=str(path), key=key or "(top level)")
    out: dict[str, Any] = {}
    for name in value:
        if name not in spec:
            known = ", ".join(sorted(spec))
            raise ParameterError(f"unknown key; known keys here are: {known}", path=str(path),
                                 key=_join(key, str(name)))
    for name, (sub, required) in spec.items():
        sub_key = _join(key, name)
        if name not in value or value[name] is None:
            if required:
                raise ParameterError("is required but missing", path=str(path), key=sub_key)
            continue
        out[name] = _validate(value[name], sub, sub_key, path, now)
    return out


def _validate_scalar(value: Any, tag: str, key: str, path: Path, now: pd.Timestamp) -> Any:
    if tag.startswith("list:"):
        return _validate(value, [tag[5:]], key, path, now)
    if tag.startswith("map:"):
        if not isinstance(value, dict):
            raise ParameterError(f"expected a mapping, got {_kind(value)}", path=str(path), key=key)
        return {str(k): _validate_scalar(v, tag[4:], _join(key, str(k)), path, now) for k, v in value.items()}
    if tag == _TIME:
        try:
            return parse_instant(value, now)
        except TimeParseError as exc:
            raise ParameterError(str(exc), path=str(path), key=key) from exc
        except (ValueError, OverflowError) as exc:  # out of the representable range (now-99999999999d, year 0)
            raise ParameterError(f"{_kind(value)} is out of range for a time ({exc})", path=str(path),
                                 key=key) from exc
    if tag == _BOOL:
        if not isinstance(value, bool):
            raise ParameterError(f"expected true or false, got {_kind(value)}", path=str(path), key=key)
        return value
    if tag == _DURATION:
        return _validate_duration(value, key, path)
    if tag == _REPLAY:
        return _validate_replay(value, key, path)
    if tag in (_NUM, _INT):
        ok = isinstance(value, int) if tag == _INT else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            wanted = "a whole number (a count, 0 or more)" if tag == _INT else "a number"
            raise ParameterError(f"expected {wanted}, got {_kind(value)}", path=str(path), key=key)
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"expected a finite number, got {value}", path=str(path), key=key)
        _check_range(value, key, path)
        return value
    if not isinstance(value, str):
        raise ParameterError(f"expected text, got {_kind(value)}", path=str(path), key=key)
    if key.endswith("url"):
        _check_url(value, key, path)
    if tag == _ENV:
        return _validate_env_name(value, key, path)
    if ".headers." in key:
        _check_header(key, value, path)
    if tag == _PATH:
        return _validate_path(value, key, path)
    return value


_CREDENTIAL_HEADER = re.compile(r"(?i)^(?:proxy-)?authorization$|^(?:set-)?cookie$|api-?key|auth|token|secret"
                                r"|passw|session|signature|credential")


def _check_header(key: str, value: str, path: Path) -> None:
    """A literal header must not carry a credential (by its name or by the shape of its value)."""
    name = key.rsplit(".", 1)[-1]
    if _CREDENTIAL_HEADER.search(name) or _looks_secret(f"{name}: {value}") or _looks_secret(value):
        env_key = key.replace(".headers.", ".headers_env.")
        raise ParameterError(f"header {name!r} carries a credential, and secrets are never written in parameter "
                             f"files: put it in an environment variable and name that variable in {env_key} "
                             "(or use token_env for a bearer token)", path=str(path), key=key)


def _validate_env_name(value: str, key: str, path: Path) -> str:
    if not value.replace("_", "").isalnum() or value[0].isdigit() or _looks_secret(value):
        raise ParameterError("must be the NAME of an environment variable holding the secret (e.g. ORDERS_DSN), "
                             "never the secret itself", path=str(path), key=key)
    return value


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's complaint with its line and column, without its '<unicode string>' stand-in for the file name."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return f"not valid YAML: {exc}".replace("\n", " ")
    context = getattr(exc, "context", None)
    return (f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
            + (f" ({context})" if context else ""))


class DuplicateKey(yaml.YAMLError):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key that appears twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise DuplicateKey(str(key), key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _looks_secret(value: str) -> bool:
    """Whether text looks like a credential itself (a token, a key, a password in a URL)."""
    from .redact import Redactor

    return Redactor().text(value) != value  # a token by its shape (ghp_..., AKIA..., xoxb-...), not by its name


def _check_url(value: str, key: str, path: Path) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ParameterError(f"is not a URL ({exc})", path=str(path), key=key) from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ParameterError(f"expected an http(s) URL such as https://prometheus.example:9090, got {value!r}",
                             path=str(path), key=key)
    if parts.password:
        raise ParameterError("holds a password: give username and password_env (the NAME of an environment "
                             "variable) instead, so the secret is never written", path=str(path), key=key)


def _check_cross_references(checked: dict[str, Any], path: Path) -> None:
    """Checks name declared databases; database and log names are unique."""
    sources = checked.get("sources", {})
    databases = [str(db["name"]) for db in sources.get("databases", [])]
    for i, name in enumerate(databases):
        if name in databases[:i]:
            raise ParameterError(f"database name {name!r} is used twice", path=str(path),
                                 key=f"sources.databases[{i}].name")
    for i, check in enumerate(checked.get("checks", [])):
        if check["database"] not in databases:
            known = ", ".join(databases) or "none declared"
            raise ParameterError(f"names database {check['database']!r}, which sources.databases does not declare "
                                 f"(declared: {known})", path=str(path), key=f"checks[{i}].database")


def _validate_duration(value: Any, key: str, path: Path) -> str | float:
    """A Prometheus duration (``30s``, ``1m``, ``1h30m``, ``500ms``) or a number of seconds, kept as written."""
    from .promql import parse_duration

    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ParameterError(f"expected a duration such as 30s, 1m or 1h30m, got {_kind(value)}", path=str(path),
                             key=key)
    shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:40]}…"
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise ParameterError(f"{shown} is not a duration; write e.g. 15s, 1m, 1h30m (or a positive number of "
                             "seconds)", path=str(path), key=key) from None
    if seconds < MIN_DURATION_S:
        raise ParameterError(f"{shown} is shorter than 1ms; write e.g. 15s, 1m or 1h30m", path=str(path), key=key)
    return value


def _validate_replay(value: Any, key: str, path: Path) -> str:
    """``irlib:demo`` or a run directory (relative to the parameters file) holding an ``evidence/`` folder."""
    if not isinstance(value, str):
        raise ParameterError(f"expected text, got {_kind(value)}", path=str(path), key=key)
    if value == "irlib:demo":
        return value
    try:
        resolved = Path(value)  # as irlib.investigation.resolve_replay reads it: relative to this file, no ~
        if not resolved.is_absolute():
            resolved = (path.parent / resolved).resolve()
        usable = (resolved / "evidence").is_dir()
    except (OSError, ValueError, RuntimeError) as exc:  # embedded NUL, name too long, symlink loop
        raise ParameterError(f"{value[:80]!r} is not a usable path ({exc})", path=str(path), key=key) from exc
    if not usable:
        where = repr(value) if str(resolved) == value else f"{value!r} (resolved to {resolved})"
        raise ParameterError(f"{where} is not a run directory with an evidence/ folder; "
                             "give a run directory such as reports/<incident>/<UTC stamp>, or irlib:demo, or "
                             "remove the key to fetch live", path=str(path), key=key)
    return value


def _check_range(value: float, key: str, path: Path) -> None:
    leaf = key.rsplit(".", 1)[-1]
    if leaf.endswith("timeout_s") and not MIN_DURATION_S <= value <= MAX_TIMEOUT_S:
        raise ParameterError(f"must be between {MIN_DURATION_S} and {MAX_TIMEOUT_S:,} seconds (about 24 days), "
                             f"got {value}", path=str(path), key=key)
    if leaf == "lookback_min" and value > MAX_LOOKBACK_MIN:
        raise ParameterError(f"must be at most {MAX_LOOKBACK_MIN:,} minutes (a year), got {value}", path=str(path),
                             key=key)
    if leaf.endswith(("_s", "_mb", "_kb")) or leaf in ("log_lines", "log_bytes"):
        if value <= 0:
            raise ParameterError(f"must be greater than 0, got {value}", path=str(path), key=key)
    elif value < 0:
        raise ParameterError(f"must not be negative, got {value}", path=str(path), key=key)
    if leaf in RATIO_THRESHOLDS and not 0 <= value <= 1:
        raise ParameterError(f"is a fraction between 0 and 1, got {value}", path=str(path), key=key)


def _validate_path(value: str, key: str, path: Path) -> str:
    if "://" in value:
        return value
    try:
        resolved = Path(os.path.expanduser(value))
        if not resolved.is_absolute():
            resolved = (path.parent / resolved).resolve()
        exists = resolved.exists()
    except (OSError, ValueError, RuntimeError) as exc:  # embedded NUL, name too long, symlink loop
        raise ParameterError(f"{value[:80]!r} is not a usable path ({exc})", path=str(path), key=key) from exc
    if not exists:
        raise ParameterError(f"file or directory {value!r} does not exist (resolved to {resolved})",
                             path=str(path), key=key)
    return str(resolved)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return "a number (too large)"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__) + (f" ({value!r})" if isinstance(value, (str, int, float)) and not isinstance(value, bool) and len(repr(value)) < 40 else "")
