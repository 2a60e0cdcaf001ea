"""The investigation object: one per notebook run, the only way notebooks reach sources.

Every fetch goes through :meth:`Investigation.collect`, which records it in the run's evidence store (or, in
replay, answers it from an earlier run's bundle).  A source that fails is recorded as unavailable with the reason
and the caller gets an empty frame with the documented columns.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from . import sources as registry
from .errors import EvidenceError, ParameterError, QueryError, SourceUnavailable
from .evidence import EvidenceRecord, EvidenceStore, call_key, evidence_id
from .findings import Finding, load_findings, save_finding, to_jsonable
from .frames import conform
from .fsutil import write_json
from .incident import Incident, load_incident
from .redact import Redactor, redaction_key
from .sources.base import Fetched, schema_of
from .timeutil import parse_instant, utc_now

DEMO_BUNDLE = Path(__file__).resolve().parent / "demo" / "bundle"
TIME_ARGS = ("start", "end", "since", "at")


class Recorder:
    """Stands for one source in a notebook: ``inv.kubernetes.pods(...)`` calls the source and records the fetch.

    The method names are the source class's ``@fetcher`` methods; anything else is an AttributeError.
    """

    def __init__(self, inv: "Investigation", name: str) -> None:
        self._inv = inv
        self._name = name

    def __getattr__(self, method: str) -> Callable[..., pd.DataFrame]:
        if method.startswith("_"):
            raise AttributeError(method)
        cls = registry.source_class(self._name)
        schema_of(cls, method)  # AttributeError for a name that is not a fetch

        def call(**kwargs: Any) -> pd.DataFrame:
            return self._inv.collect(self._name, method, kwargs)

        call.__doc__ = getattr(cls, method).__doc__
        call.__name__ = method
        return call

    def __dir__(self) -> list[str]:
        cls = registry.source_class(self._name)
        return [n for n in dir(cls) if hasattr(getattr(cls, n, None), "__irlib_schema__")]


class Investigation:
    """An incident, a run directory, and the sources (live, or replayed from a bundle)."""

    def __init__(self, incident: Incident, run_dir: Path, *, step: str = "", replay: Path | None = None,
                 now: pd.Timestamp | None = None) -> None:
        self.incident = incident
        self.run_dir = Path(run_dir)
        self.step = step
        self.now = now if now is not None else utc_now()
        self.store = EvidenceStore(self.run_dir)
        self.replay_store = EvidenceStore(replay) if replay else None
        self.redactor = Redactor(key=redaction_key(), emails=bool(incident.redaction.get("emails")),
                                 ips=bool(incident.redaction.get("ips")))
        self._sources: dict[str, Any] = {}
        self.used: list[EvidenceRecord] = []  # every fetch this notebook made, in order
        self._memo: dict[str, Any] = {}  # derived values computed once per notebook (see cached)
        self.kubernetes = Recorder(self, "kubernetes")
        self.prometheus = Recorder(self, "prometheus")
        self.sql = Recorder(self, "sql")
        self.logs = Recorder(self, "logs")
        self.git = Recorder(self, "git")

    # -- fetching -------------------------------------------------------------------------------------------------
    def collect(self, source: str, method: str, args: dict[str, Any]) -> pd.DataFrame:
        """Fetch through ``source.method(**args)``, record the evidence, return the (redacted) frame."""
        cls = registry.source_class(source)
        schema = schema_of(cls, method)
        args = {k: _plain(v) for k, v in sorted(args.items())}
        live_args = dict(args)
        scope = getattr(cls, "call_scope", None)
        if scope is not None:  # what else decides the answer (e.g. the query a signal name resolves to)
            args = {**args, **{k: _plain(v) for k, v in scope(self.incident, method, args).items()}}
        existing = self.store.find(source, method, args)
        if existing is not None and existing.status == "ok":
            self.used.append(existing)
            return self.store.load(existing)
        record = EvidenceRecord(
            id=evidence_id(self.step, source, method, args), source=source, method=method, args=args, query="",
            window=_window_of(args, self.incident), collected_at=utc_now().isoformat(), rows=0, columns=[],
            step=self.step)
        frame = self._answer(record, source, method, args, live_args, schema)
        frame = self.redactor.frame(frame)
        record.query = self.redactor.text(record.query)
        record.reason = self.redactor.text(record.reason)
        self.store.save(record, frame)
        self.used.append(record)
        self._save_redaction_counts()
        return frame

    def _save_redaction_counts(self) -> None:
        if self.redactor.counts:
            write_json(self.run_dir / "redaction" / f"evidence-{self.step or 'interactive'}.json",
                       dict(self.redactor.counts))

    def _answer(self, record: EvidenceRecord, source: str, method: str, args: dict[str, Any],
                live_args: dict[str, Any], schema: dict[str, str]) -> pd.DataFrame:
        try:
            fetched = self._replay(source, method, args) if self.replay_store else \
                self._live(source, method, live_args)
        except SourceUnavailable as exc:
            record.status, record.reason, record.query = "unavailable", exc.reason, exc.query
            return conform(None, schema)
        except QueryError as exc:
            record.status, record.reason, record.query = "rejected", exc.message, exc.query
            return conform(None, schema)
        record.query, record.truncated, record.notes = fetched.query, fetched.truncated, list(fetched.notes)
        if isinstance(fetched, _Replayed):
            record.replayed_from = fetched.origin
            record.status, record.reason = fetched.status, fetched.reason
        return conform(fetched.frame, schema, extra=True)

    def _live(self, source: str, method: str, args: dict[str, Any]) -> Fetched:
        if source not in self._sources:
            try:
                self._sources[source] = registry.source_class(source)(self.incident)
            except SourceUnavailable:
                raise
            except Exception as exc:  # a broken config must not stop the notebook
                raise SourceUnavailable(source, f"could not be set up: {exc}") from exc
        live_args = {k: _revive(k, v) for k, v in args.items()}
        try:
            return getattr(self._sources[source], method)(**live_args)
        except (SourceUnavailable, QueryError):
            raise
        except Exception as exc:  # a source bug or an unexpected answer: recorded, never fatal
            raise SourceUnavailable(source, f"{type(exc).__name__}: {exc}") from exc

    def _replay(self, source: str, method: str, args: dict[str, Any]) -> "_Replayed":
        assert self.replay_store is not None
        record = self.replay_store.find(source, method, args)
        if record is None:
            raise SourceUnavailable(source, f"the replay bundle {self.replay_store.run_dir} holds no evidence for "
                                    f"{call_key(source, method, args)}", query="")
        frame = self.replay_store.load(record)
        return _Replayed(frame=frame, query=record.query, truncated=record.truncated, notes=list(record.notes),
                         origin=record.id, status=record.status, reason=record.reason)

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per investigation: derived frames several questions of a step share."""
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]

    # -- findings -------------------------------------------------------------------------------------------------
    def record(self, name: str, value: Any, *, summary: str = "", evidence: list[str] | None = None) -> Any:
        """Keep a finding (severity, onset, suspects, ...) in the run for later steps and the report."""
        finding = Finding(name=name, value=to_jsonable(value), step=self.step, recorded_at=utc_now().isoformat(),
                          summary=self.redactor.text(summary), evidence=list(evidence or []))
        save_finding(self.store.findings_dir, finding)
        return value

    def finding(self, name: str, default: Any = None) -> Any:
        """The value of a finding recorded by an earlier step of this run, or ``default``."""
        found = load_findings(self.store.findings_dir).get(name)
        return default if found is None else found.value

    def findings(self) -> dict[str, Finding]:
        return load_findings(self.store.findings_dir)

    def gap(self, source: str, method: str, **args: Any) -> str:
        """Why the fetch ``source.method(**args)`` of this run has no data ("" when it was collected)."""
        plain = {k: _plain(v) for k, v in args.items()}
        scope = getattr(registry.source_class(source), "call_scope", None)
        if scope is not None:
            plain = {**plain, **{k: _plain(v) for k, v in scope(self.incident, method, plain).items()}}
        record = self.store.find(source, method, plain)
        if record is None or record.status == "ok":
            return ""
        return f"{source}.{method}: {record.status}: {record.reason}"

    def evidence(self) -> pd.DataFrame:
        """What this run has collected so far, one row per fetch (the evidence manifest as a frame)."""
        rows = [r.to_dict() for r in self.store.records()]
        cols = ["id", "source", "method", "status", "rows", "truncated", "reason", "query", "step", "sha256"]
        return pd.DataFrame(rows, columns=list(EvidenceRecord.__dataclass_fields__))[cols] if rows else \
            pd.DataFrame(columns=cols)


class _Replayed(Fetched):
    def __init__(self, *, frame: pd.DataFrame, query: str, truncated: bool, notes: list[str], origin: str,
                 status: str, reason: str) -> None:
        super().__init__(frame=frame, query=query, truncated=truncated, notes=notes)
        self.origin, self.status, self.reason = origin, status, reason


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _revive(key: str, value: Any) -> Any:
    if key in TIME_ARGS and isinstance(value, str):
        return pd.Timestamp(value)
    return value


def _window_of(args: dict[str, Any], incident: Incident) -> dict[str, str]:
    start = args.get("start") or args.get("since") or incident.window.start.isoformat()
    end = args.get("end") or incident.window.end.isoformat()
    return {"start": str(start), "end": str(end)}


def resolve_replay(value: str | None, incident: Incident) -> Path | None:
    """The bundle to replay: an explicit run directory, the parameters' ``sources.replay``, or none (live)."""
    chosen = value or incident.sources.get("replay")
    if not chosen:
        return None
    if chosen == "irlib:demo":
        return DEMO_BUNDLE
    path = Path(chosen)
    if not path.is_absolute():
        path = (incident.path.parent / path).resolve() if not value else path.resolve()
    if not (path / "evidence").is_dir():
        raise EvidenceError(f"{path}: not a run directory with an evidence/ folder; give a run directory under "
                            "reports/<incident>/<run>/ to replay")
    return path


def project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` (default: the working directory) holding ``parameters/``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "parameters").is_dir() and (candidate / "notebooks").is_dir():
            return candidate
    return here


def demo_params_path(root: Path | None = None) -> Path:
    """The demo incident's parameters: ``root/parameters/demo.yaml``, else the copy next to this package."""
    package = Path(__file__).resolve().parent
    candidates = [root / "parameters" / "demo.yaml"] if root is not None else []
    candidates += [package.parent / "parameters" / "demo.yaml", package / "demo" / "demo.yaml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ParameterError("the demo parameters were not found (parameters/demo.yaml); give the path of an "
                         "incident YAML instead")


def open_investigation(params: str = "", run_dir: str = "", replay: str = "", step: str = "",
                       now: str = "") -> Investigation:
    """Open the investigation a notebook works in.

    ``params``: incident YAML (default: the project's ``parameters/demo.yaml``); ``run_dir``: where evidence goes
    (default: a new interactive run under ``reports/<incident>/``); ``replay``: a run directory whose evidence
    answers every fetch; ``now``: the run's clock for relative windows (the runner passes one for all steps).
    """
    root = project_root()
    params_path = Path(params) if params else demo_params_path(root)
    clock = parse_instant(now, utc_now()) if now else utc_now()
    incident = load_incident(params_path, now=clock)
    if run_dir:
        target = Path(run_dir)
    else:
        from .runner import new_run_dir
        reports = Path(os.environ.get("IRLIB_REPORTS") or root / "reports")
        target = new_run_dir(reports, incident.id, clock, suffix="interactive")
    target.mkdir(parents=True, exist_ok=True)
    return Investigation(incident, target, step=step, replay=resolve_replay(replay, incident), now=clock)


def load_run_json(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "run.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
