"""The declaration trigger: an Alertmanager webhook receiver that declares incidents and runs the evidence steps.

Alertmanager POSTs a JSON notification (webhook format version 4) per alert group.  A *firing* notification
declares an incident: its id comes from the group key's hash and the first alert's ``startsAt``, its window starts
``lookback`` before that alert, its service comes from the alerts' labels; the params YAML is written to
``<state_dir>/<incident id>/params.yaml`` and the evidence steps run in a background thread through
``irlib.runner.run_incident``.  Alertmanager repeats notifications (``repeat_interval``, new alerts in the group):
the incident directory is created atomically, so a repeat for the same group and start never starts a second run.
A *resolved* notification is recorded as ``resolved.json`` in the incident's directory (for the timeline).
Malformed, oversized or short (fewer bytes than ``Content-Length``) payloads get a 4xx answer and change nothing.
The template is validated at startup as ``irlib run`` validates a params file (:func:`validate_template`).

Payloads are parsed by :mod:`irlib.alertmanager`; the pure parts here (:func:`declare_incident`,
:func:`incident_id_of`) need no server.
"""
from __future__ import annotations

import argparse
import errno
import hashlib
import hmac
import json
import os
import re
import shlex
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .alertmanager import MAX_PAYLOAD_BYTES, Alert, AlertGroup, PayloadError, parse_alertmanager_payload
from .analysis.text import counted
from .errors import IrlibError, ParameterError
from .fsutil import write_json, write_text
from .termination import interrupt_on_termination
from .timeutil import utc_now

SERVICE_LABELS = ("service", "app", "app_kubernetes_io_name", "job")
#: A service label is used as the service name only when it looks like one (a Kubernetes object name, a job).
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,252}")
#: A namespace label is used only when it is a valid Kubernetes namespace (an RFC 1123 label).
_NAMESPACE = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
#: How far an alert's ``startsAt`` may lie ahead of the receiver's clock before the notification is refused.
MAX_CLOCK_SKEW = pd.Timedelta(minutes=5)
RunFunction = Callable[[Path], dict[str, Any]]


# -- declaring ----------------------------------------------------------------------------------------------------
def incident_id_of(group: AlertGroup) -> str:
    """``<alertname>-<first start, UTC compact>-<8 hex of the group key's SHA-256>``: stable across repeats."""
    name = re.sub(r"[^a-z0-9]+", "-", group.label("alertname").lower()).strip("-")[:40] or "alert"
    digest = hashlib.sha256(group.group_key.encode("utf-8")).hexdigest()[:8]
    return f"{name}-{group.first_starts_at.strftime('%Y%m%dT%H%M%SZ')}-{digest}"


#: The template's ``service`` keys that describe *its* service; not carried over to an alert of another service.
SERVICE_IDENTITY_KEYS = ("selector", "deployments", "containers", "dependencies")


def declare_incident(group: AlertGroup, *, template: dict[str, Any], now: pd.Timestamp,
                     lookback: pd.Timedelta = pd.Timedelta(minutes=30)) -> str:
    """The params YAML of the incident a firing group declares.

    ``template`` supplies ``sources`` (and optionally ``service``, ``thresholds``, ...); this fills ``incident``
    (id, title, declared_at, summary), ``window`` (``lookback`` before the first alert's start, until ``now``)
    and ``service.name``/``namespace`` from the labels (``service``, ``app``, ``job``; ``namespace``).  When the
    alert's service is not the template's, the template's selector, deployments, containers and dependencies are
    dropped (they describe another service); :func:`declaration_notes` says so.
    """
    start = group.first_starts_at - lookback
    end = max(now, group.first_starts_at + pd.Timedelta(seconds=1))
    service = _service_of(group, template)
    alertname = group.label("alertname") or "alert"
    summary = group.common_annotations.get("summary") or group.common_annotations.get("description") or ""
    params: dict[str, Any] = {key: value for key, value in template.items()
                              if key not in ("incident", "window", "service")}
    params["incident"] = {
        "id": incident_id_of(group), "title": f"{alertname} on {service['name']}", "declared_at": now.isoformat(),
        "summary": summary or f"{counted(len(group.alerts), 'alert')} firing in group {group.group_key}",
        "commander": "irlib webhook",
    }
    params["window"] = {"start": start.isoformat(), "end": end.isoformat()}
    params["service"] = service
    return yaml.safe_dump(params, sort_keys=False)


def _service_of(group: AlertGroup, template: dict[str, Any]) -> dict[str, Any]:
    """The incident's ``service``: name and namespace from usable labels, the rest from the template."""
    service = dict(template.get("service") or {})
    own = str(service.get("name") or "")
    name = _usable(group.label(*SERVICE_LABELS), _SERVICE_NAME) or own or "unknown"
    if own and name != own:
        for key in SERVICE_IDENTITY_KEYS:
            service.pop(key, None)
    service["name"] = name
    namespace = _usable(group.label("namespace"), _NAMESPACE) or service.get("namespace")
    if namespace:
        service["namespace"] = namespace
    return service


def declaration_notes(group: AlertGroup, template: dict[str, Any]) -> list[str]:
    """What the operator must know about a declaration: labels ignored, or a service the template is not for."""
    service = dict(template.get("service") or {})
    own = str(service.get("name") or "")
    notes: list[str] = []
    label = group.label(*SERVICE_LABELS)
    if label and not _usable(label, _SERVICE_NAME):
        notes.append(f"service label {label[:60]!r} is not a valid name; used the template's "
                     f"{own or 'unknown'!r} instead")
    namespace = group.label("namespace")
    if namespace and not _usable(namespace, _NAMESPACE):
        kept = service.get("namespace")
        notes.append(f"namespace label {namespace[:60]!r} is not a valid namespace; "
                     + (f"used the template's {kept!r} instead" if kept else "no namespace set"))
    name = _usable(label, _SERVICE_NAME)
    if own and name and name != own:
        dropped = [key for key in SERVICE_IDENTITY_KEYS if key in service]
        notes.append(f"alert is for service {name!r} but the template is for {own!r}"
                     + (f"; the template's service.{', service.'.join(dropped)} not used" if dropped else "")
                     + f"; check the evidence targets {name!r}, or route this service to its own template")
    return notes


def _usable(value: str, shape: re.Pattern[str]) -> str:
    """``value`` when it has the shape of a name (a label can carry anything); else empty, so the template's wins."""
    return value if shape.fullmatch(value) else ""


def _future_start(group: AlertGroup, now: pd.Timestamp) -> str:
    """Why the group cannot be declared yet (its first alert starts beyond the clock skew allowed), or ``""``."""
    ahead = group.first_starts_at - now
    if ahead <= MAX_CLOCK_SKEW:
        return ""
    return (f"startsAt {group.first_starts_at.isoformat()} is {readable_duration(ahead)} ahead of this receiver's "
            f"clock ({now.isoformat()}); check the clocks of Alertmanager, Prometheus and this host")


def readable_duration(delta: pd.Timedelta) -> str:
    """``delta`` as a person says it: "72 years", "40 days", "3 h 5 min", "12 min", "45 s"."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    if days >= 730:
        return f"{days // 365} years"
    if days >= 2:
        return f"{days} days"
    hours, minutes = divmod(rest // 60 + days * 1440, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


def _group_summary(group: AlertGroup) -> dict[str, Any]:
    return {
        "status": group.status, "group_key": group.group_key, "group_labels": group.group_labels,
        "common_labels": group.common_labels, "common_annotations": group.common_annotations,
        "alerts": [{"status": a.status, "labels": a.labels, "starts_at": a.starts_at.isoformat(),
                    "ends_at": a.ends_at.isoformat() if a.ends_at is not None else None,
                    "fingerprint": a.fingerprint} for a in group.alerts],
    }


# -- receiving ----------------------------------------------------------------------------------------------------
def run_evidence_steps(params: Path, *, reports_dir: Path, jobs: int = 2) -> dict[str, Any]:
    """Run the evidence steps of ``params`` with :func:`irlib.runner.run_incident`; a JSON-able summary."""
    from .runner import run_incident
    from .steps_catalog import EVIDENCE_STEPS

    result = run_incident(params, steps=list(EVIDENCE_STEPS), reports_dir=reports_dir, jobs=jobs)
    return {"run_dir": str(result.run_dir), "index_html": str(result.index_html), "exit_code": result.exit_code,
            "steps": [[str(s), str(st)] for s, st in result.steps]}


def run_command(params: Path, *, command: list[str], timeout_s: float = 3600.0) -> dict[str, Any]:
    """Run ``command + [params]`` (e.g. a script creating a Kubernetes Job from deploy/job.yaml); its summary."""
    import subprocess

    done = subprocess.run([*command, str(params)], capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise IrlibError(f"{command[0]} exited with {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}")
    return {"exit_code": done.returncode, "output": done.stdout.strip()[-2000:]}


@dataclass
class Receiver:
    """Declares incidents from notifications and runs ``run(params_path)`` for each in a thread of its own.

    ``state_dir/<incident id>/`` holds ``params.yaml``, ``firing.json`` (the declaring notification),
    ``status.json`` (queued → running → done | failed, with the run's summary) and ``resolved.json``.
    ``state_dir/.groups/<sha256 of group key>`` names the group's open incident (removed when it resolves).
    """

    state_dir: Path
    template: dict[str, Any]
    run: RunFunction
    lookback: pd.Timedelta = pd.Timedelta(minutes=30)
    token: str | None = None
    max_bytes: int = MAX_PAYLOAD_BYTES
    clock: Callable[[], pd.Timestamp] = utc_now
    #: called with one line per declaration, repeat, resolution, refusal and finished run (the CLI logs them)
    report: Callable[[str], None] = lambda line: None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _threads: dict[str, threading.Thread] = field(default_factory=dict, repr=False)

    def handle(self, body: bytes, authorization: str | None = None) -> tuple[int, dict[str, Any]]:
        """Answer one POSTed notification: (HTTP status, JSON body).  Nothing changes on a 4xx."""
        if self.token and not hmac.compare_digest((authorization or "").encode(), f"Bearer {self.token}".encode()):
            return 401, {"error": "missing or wrong bearer token (Authorization: Bearer <token>)"}
        try:
            group = parse_alertmanager_payload(body, max_bytes=self.max_bytes)
        except PayloadError as exc:
            self.report(f"refused a notification ({exc.status}): {exc}")
            return exc.status, {"error": str(exc)}
        future = _future_start(group, self.clock()) if group.status == "firing" else ""
        if future:
            self.report(f"refused a notification (422): {future}")
            return 422, {"error": future}
        with self._lock:
            return self._fire(group) if group.status == "firing" else self._resolve(group)

    def _group_file(self, group: AlertGroup) -> Path:
        return self.state_dir / ".groups" / hashlib.sha256(group.group_key.encode()).hexdigest()

    def _fire(self, group: AlertGroup) -> tuple[int, dict[str, Any]]:
        index = self._group_file(group)
        if index.is_file():
            open_id = index.read_text(encoding="utf-8").strip()
            self.report(f"{open_id}: repeat notification; the run is not restarted")
            return 200, {"incident": open_id, "declared": False, "note": "repeat notification; run not restarted",
                         "status": self.status(open_id)}
        incident_id = incident_id_of(group)
        folder = self.state_dir / incident_id
        if folder.exists():
            return 200, {"incident": incident_id, "declared": False, "note": "already declared",
                         "status": self.status(incident_id)}
        now = self.clock()
        text = declare_incident(group, template=self.template, now=now, lookback=self.lookback)
        notes = declaration_notes(group, self.template)
        folder.mkdir(parents=True)
        params = folder / "params.yaml"
        write_text(params, text)
        write_json(folder / "firing.json", {"received_at": now.isoformat(), **_group_summary(group)})
        write_json(folder / "status.json", {"state": "queued"})
        write_text(index, incident_id + "\n")
        thread = threading.Thread(target=self._run_one, args=(incident_id, params), name=f"run-{incident_id}",
                                  daemon=True)
        self._threads[incident_id] = thread
        self.report(f"{incident_id}: declared from {counted(len(group.alerts), 'firing alert')}; parameters {params}"
                    + "".join(f"; note: {note}" for note in notes))
        thread.start()
        answer: dict[str, Any] = {"incident": incident_id, "declared": True, "params": str(params)}
        if notes:
            answer["note"] = "; ".join(notes)
        return 202, answer

    def _resolve(self, group: AlertGroup) -> tuple[int, dict[str, Any]]:
        index = self._group_file(group)
        incident_id = index.read_text(encoding="utf-8").strip() if index.is_file() else incident_id_of(group)
        folder = self.state_dir / incident_id
        if not folder.is_dir():
            return 200, {"incident": None, "note": "no incident was declared for this group; nothing recorded"}
        now = self.clock()
        resolved_at = group.last_ends_at or now
        write_json(folder / "resolved.json", {"received_at": now.isoformat(), "resolved_at": resolved_at.isoformat(),
                                              **_group_summary(group)})
        index.unlink(missing_ok=True)
        self.report(f"{incident_id}: resolved at {resolved_at.isoformat()} (recorded for the timeline)")
        return 200, {"incident": incident_id, "resolved_at": resolved_at.isoformat()}

    def _run_one(self, incident_id: str, params: Path) -> None:
        status_file = self.state_dir / incident_id / "status.json"
        started = self.clock().isoformat()
        write_json(status_file, {"state": "running", "started_at": started})
        try:
            summary = self.run(params)
            state = {"state": "done", "started_at": started, "finished_at": self.clock().isoformat(), **summary}
            where = summary.get("index_html") or ""
            code = summary.get("exit_code")
            self.report(f"{incident_id}: run done" + (f" (exit status {code})" if code is not None else "")
                        + (f"; report {where}" if where else ""))
        except Exception as exc:  # a failed run is recorded for the operator, never fatal to the receiver
            state = {"state": "failed", "started_at": started, "error": f"{type(exc).__name__}: {exc}"}
            self.report(f"{incident_id}: run failed: {state['error']}")
        write_json(status_file, state)

    def status(self, incident_id: str) -> dict[str, Any]:
        """The incident's ``status.json`` (``{}`` when unknown)."""
        path = self.state_dir / incident_id / "status.json"
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def running(self) -> int:
        """How many runs are still running."""
        return sum(t.is_alive() for t in self._threads.values())

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for every started run; true when none is still running."""
        for thread in list(self._threads.values()):
            thread.join(timeout_s)
        return not any(t.is_alive() for t in self._threads.values())


#: The paths a notification may be POSTed to (GET on them is 405; any other path is 404).
NOTIFICATION_PATHS = ("/", "/alerts", "/webhook")
#: Seconds a client may take to send its request (headers and body) before the connection is dropped or gets 408.
READ_TIMEOUT_S = 10.0
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class WebhookServer(ThreadingHTTPServer):
    """A threading HTTP server whose request errors become one line of the receiver's report, not a traceback."""

    daemon_threads = True
    report: Callable[[str], None] = staticmethod(lambda line: None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        host = client_address[0] if isinstance(client_address, tuple) else client_address
        if isinstance(exc, _CLIENT_GONE):
            self.report(f"client {host} left before the reply ({type(exc).__name__}); nothing was lost")
        else:
            self.report(f"error answering client {host}: {type(exc).__name__}: {exc}")


def make_server(receiver: Receiver, host: str = "127.0.0.1", port: int = 0, *,
                read_timeout_s: float = READ_TIMEOUT_S) -> ThreadingHTTPServer:
    """An HTTP server answering ``POST /`` or ``POST /alerts`` with :meth:`Receiver.handle` and ``GET /healthz``."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "irlib-webhook"
        sys_version = ""
        timeout = read_timeout_s

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?")[0]
            if path == "/healthz":
                return self._answer(405, {"error": "GET /healthz"}, allow="GET")
            if path not in NOTIFICATION_PATHS:
                return self._answer(404, {"error": "POST notifications to /alerts"})
            body = self._body()
            if body is not None:
                self._answer(*receiver.handle(body, self.headers.get("Authorization")))

        def _body(self) -> bytes | None:
            """The request body, or ``None`` once a 4xx has been answered (bad length, short body, too slow)."""
            length = self.headers.get("Content-Length")
            if length is None:
                self._answer(411, {"error": "Content-Length is required"})
                return None
            if not re.fullmatch(r"[0-9]{1,12}", length.strip()):
                self._answer(400, {"error": "Content-Length must be a non-negative integer"})
                return None
            expected = int(length)
            if expected > receiver.max_bytes:
                self._answer(413, {"error": f"payload exceeds {receiver.max_bytes} bytes"})
                return None
            try:
                body = self.rfile.read(expected)
            except TimeoutError:
                self.close_connection = True
                self._answer(408, {"error": f"the body did not arrive within {read_timeout_s:g} s; send it whole"})
                return None
            if len(body) < expected:
                self.close_connection = True
                self._answer(400, {"error": f"the body ended after {len(body)} of the {expected} bytes that "
                                            "Content-Length announced; send the whole body"})
                return None
            return body

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            if path == "/healthz":
                return self._answer(200, {"ok": True})
            if path in NOTIFICATION_PATHS:
                return self._answer(405, {"error": "POST notifications to /alerts"}, allow="POST")
            self._answer(404, {"error": "GET /healthz, POST /alerts"})

        def version_string(self) -> str:
            return self.server_version

        def _answer(self, status: int, body: dict[str, Any], allow: str = "") -> None:
            data = json.dumps(body, default=str).encode()
            self.send_response(status)
            if allow:
                self.send_header("Allow", allow)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: no output from a library
            return

    server = WebhookServer((host, port), Handler)
    server.report = receiver.report
    return server


def load_template(path: Path) -> dict[str, Any]:
    """A params YAML used as the template of declared incidents; relative source paths become absolute."""
    if not Path(path).is_file():
        raise ParameterError("template not found; give the path of a params YAML (sources:, service:)",
                             path=str(path))
    from .incident import DuplicateKey, _UniqueKeyLoader

    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}  # noqa: S506
    except DuplicateKey as exc:
        raise ParameterError(f"appears twice (line {exc.line}); YAML would silently keep only the last one",
                             path=str(path), key=exc.key) from exc
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise ParameterError(f"cannot read the template: {exc}", path=str(path)) from exc
    if not isinstance(data, dict):
        raise ParameterError("expected a mapping (sources:, service: ...)", path=str(path))
    if not isinstance(data.get("service") or {}, dict):
        raise ParameterError("expected a mapping (name:, namespace:, selector: ...)", path=str(path), key="service")
    base = Path(path).resolve().parent
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        return data  # validate_template names the key
    kube = sources.get("kubernetes") or {}
    if isinstance(kube, dict) and isinstance(kube.get("kubeconfig"), str):
        kube["kubeconfig"] = _absolute(kube["kubeconfig"], base)
    for log in sources.get("logs") or []:
        if isinstance(log, dict) and isinstance(log.get("path"), str):
            log["path"] = _absolute(log["path"], base)
    if isinstance(sources.get("git"), dict) and isinstance(sources["git"].get("repo"), str):
        sources["git"]["repo"] = _absolute(sources["git"]["repo"], base)
    return data


def validate_template(template: dict[str, Any], *, path: Path, now: pd.Timestamp) -> None:
    """Declare a sample incident from ``template`` and validate it as ``irlib run`` validates a params file, so a
    wrong template stops the receiver at startup (:class:`ParameterError` naming the file and key), not each run."""
    from .incident import parse_incident

    alert = Alert(status="firing", labels={"alertname": "TemplateCheck"}, annotations={},
                  starts_at=now - pd.Timedelta(minutes=1), ends_at=None)
    sample = AlertGroup(status="firing", receiver="irlib", group_key="template-check", group_labels={},
                        common_labels={"alertname": "TemplateCheck"}, common_annotations={}, external_url="",
                        alerts=(alert,))
    parse_incident(declare_incident(sample, template=template, now=now), path=Path(path), now=now)


def parse_lookback(text: str) -> pd.Timedelta:
    """``--lookback`` as a positive duration (30m, 2h, 1h30m); :class:`ParameterError` otherwise."""
    try:
        value = pd.Timedelta(text)
    except (ValueError, TypeError, OverflowError):
        value = pd.NaT
    if value is pd.NaT or value <= pd.Timedelta(0):
        raise ParameterError(f"{text!r} is not a positive duration; give one such as 30m, 2h or 1h30m",
                             key="--lookback")
    return value


def _absolute(value: str, base: Path) -> str:
    if "://" in value:
        return value
    p = Path(os.path.expanduser(value))
    return str(p if p.is_absolute() else (base / p).resolve())


def _log_line(line: str) -> None:
    """The CLI's report: one UTC-stamped line on stderr (what ``kubectl logs`` of the receiver shows)."""
    sys.stderr.write(f"{utc_now().strftime('%Y-%m-%dT%H:%M:%SZ')} {line}\n")
    sys.stderr.flush()


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="irlib webhook", description=main.__doc__)
    parser.add_argument("--template", required=True, type=Path,
                        help="params YAML giving sources (and service); validated at startup like `irlib run`'s")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default: loopback only)")
    parser.add_argument("--port", type=int, default=9095, help="listen port (default: 9095)")
    parser.add_argument("--state-dir", type=Path, default=Path("reports/webhook"),
                        help="where each declared incident's params and status go (default: reports/webhook)")
    parser.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where runs go (default: reports)")
    parser.add_argument("--lookback", default="30m",
                        help="window start before the first alert, e.g. 30m, 2h (default: 30m)")
    parser.add_argument("--token-env", default="", help="environment variable holding the bearer token")
    parser.add_argument("--jobs", type=int, default=2,
                        help="notebooks each incident's run executes at once (default: 2; not used with --exec)")
    parser.add_argument("--exec", dest="command", default="",
                        help="instead of running the steps here, run this command with the params path appended "
                             "(e.g. a script that creates a Kubernetes Job; see docs/cluster.md)")
    return parser


def _receiver(args: argparse.Namespace) -> Receiver:
    """The receiver the arguments describe; :class:`ParameterError` for any wrong argument or template."""
    token = os.environ.get(args.token_env, "") if args.token_env else ""
    if args.token_env and not token:
        raise ParameterError(f"environment variable {args.token_env} is empty or unset; export the token first",
                             key="--token-env")
    if args.jobs < 1:
        raise ParameterError("must be at least 1", key="--jobs")
    lookback = parse_lookback(args.lookback)
    template = load_template(args.template)
    validate_template(template, path=args.template, now=utc_now())
    reports_dir = args.reports_dir.resolve()
    jobs = args.jobs
    run: RunFunction = ((lambda p: run_command(p, command=shlex.split(args.command))) if args.command else
                        (lambda p: run_evidence_steps(p, reports_dir=reports_dir, jobs=jobs)))
    return Receiver(state_dir=args.state_dir.resolve(), template=template, run=run, lookback=lookback,
                    token=token or None, report=_log_line)


def _listen(receiver: Receiver, host: str, port: int) -> ThreadingHTTPServer:
    try:
        return make_server(receiver, host, port)
    except OSError as exc:
        hint = "pick another --port" if exc.errno == errno.EADDRINUSE else "check --host and --port"
        raise ParameterError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; {hint}",
                             key="--port") from exc


def _serve(server: ThreadingHTTPServer, receiver: Receiver) -> None:
    interrupt_on_termination()  # SIGTERM (Kubernetes, systemd) closes the socket and waits for running runs
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        running = receiver.running()
        _log_line(f"stopping: waiting for {counted(running, 'running run')}" if running else "stopping")
        receiver.wait(None)
        _log_line("stopped")


def main(argv: list[str]) -> int:
    """``irlib webhook``: receive Alertmanager notifications and run the evidence steps for each incident."""
    args = _arguments().parse_args(argv)
    try:
        receiver = _receiver(args)
        server = _listen(receiver, args.host, args.port)
    except IrlibError as exc:
        sys.stderr.write(f"irlib webhook: {exc}\n")
        return 2
    sys.stderr.write(f"irlib webhook listening on http://{args.host}:{server.server_address[1]}/alerts; "
                     f"incidents under {receiver.state_dir}\n")
    _serve(server, receiver)
    return 0
