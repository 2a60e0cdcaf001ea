"""Hostile text from every source is inert in the report, in a real browser (Debian ``chromium``, headless).

A run of steps 01 and 02 collects evidence whose container logs, log file, pod labels and annotations, event
messages, the Deployment's change cause and the incident title carry the payload set of
``tests/fixtures/payloads/payloads.txt``.  Every page of the report (``index.html`` and each step page) is opened
as written and again with its Content-Security-Policy removed (escaping alone must make it inert).  A loopback
listener counts any request a payload would make.  A control page with one raw payload proves the harness sees a
payload that runs.
"""
from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from irlib.manifest import verify_run
from irlib.servers import ServerMissing
from tests.conftest import FIXTURES, missing_server
from tests.support import live

pytestmark = pytest.mark.server
CHROMIUM = "/usr/bin/chromium"
PAYLOADS = FIXTURES / "payloads" / "payloads.txt"
EXPECTED_TITLE = re.compile(r"^(Incident INC-XSS|\d\d .+)$")


class Listener(ThreadingHTTPServer):
    """A loopback HTTP server that records every request path (the payloads' exfiltration target)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hit)
        self.hits: list[str] = []


class _Hit(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        self.send_response(404)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def payloads(port: int) -> list[str]:
    return [line.replace("PORT", str(port)) for line in PAYLOADS.read_text(encoding="utf-8").splitlines() if line]


@dataclass
class Dom:
    """What a dumped DOM holds: the title, the elements that could run or fetch, and all visible text."""

    title: str = ""
    active: list[str] = field(default_factory=list)
    text: str = ""


class _DomReader(HTMLParser):
    DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "svg", "details", "base", "form", "frame"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.dom, self._in_title, self._texts = Dom(), False, []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_title = tag == "title"
        names = {k for k, _ in attrs}
        values = " ".join(v or "" for _, v in attrs).lower()
        if tag in self.DANGEROUS_TAGS or any(n.startswith("on") for n in names) or "javascript:" in values:
            self.dom.active.append(f"<{tag} {attrs}>")
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "refresh":
            self.dom.active.append(f"<meta {attrs}>")
        if tag == "link" or (tag == "img" and not (dict(attrs).get("src") or "").startswith("data:")):
            self.dom.active.append(f"<{tag} {attrs}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.dom.title += data
        self._texts.append(data)

    def close(self) -> None:
        super().close()
        self.dom.text = " ".join(" ".join(self._texts).split())


def dump_dom(page: Path, profile: Path) -> Dom:
    """Load ``page`` in headless chromium (3 s of virtual time for handlers, refreshes and fetches); its DOM."""
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}",
            "--virtual-time-budget=3000", "--dump-dom", page.as_uri()]
    done = subprocess.run(args, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    reader = _DomReader()
    reader.feed(done.stdout)
    reader.close()
    return reader.dom


def without_csp(page: Path, target: Path) -> Path:
    text = page.read_text(encoding="utf-8")
    stripped, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    assert n == 1, f"{page} should carry exactly one CSP meta element"
    target.write_text(stripped, encoding="utf-8")
    return target


def world_text(hostile: list[str]) -> live.WorldText:
    return live.WorldText(
        log_lines=[f"ERROR {p}" for p in hostile],
        labels={f"note{i}": p for i, p in enumerate(hostile[:6])},
        annotations={f"example.com/note{i}": p for i, p in enumerate(hostile)},
        event_messages=hostile, change_cause=hostile[0])


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory, listener: Listener) -> tuple[Path, list[str]]:
    if not Path(CHROMIUM).is_file():
        missing_server("chromium is not installed (Debian package chromium)")
    tmp = tmp_path_factory.mktemp("xss")
    hostile = payloads(listener.server_address[1])
    text = world_text(hostile)
    standin = live.standin(text)
    standin.start()
    try:
        try:
            prom = live.start_history_prometheus(tmp / "prom")
        except ServerMissing as exc:
            missing_server(str(exc))
        try:
            data = live.params(incident_id="INC-XSS", kubeconfig=standin.kubeconfig(tmp / "kubeconfig"),
                               prometheus_url=prom.url, log_file=live.write_log_file(tmp / "app.log", text),
                               title=f"orders {hostile[1]}")
            params = live.write_params(tmp / "incident.yaml", data)
            done = live.run_cli(["run", str(params), "--steps", "01,02", "--reports", str(tmp / "reports")])
        finally:
            prom.stop()
    finally:
        standin.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = live.run_dirs(tmp / "reports")
    return run_dir, hostile


def report_pages(run_dir: Path) -> list[Path]:
    return [run_dir / "index.html", *sorted((run_dir / "html").glob("*.html"))]


def test_harness_sees_a_payload_that_runs(tmp_path: Path, listener: Listener) -> None:
    if not Path(CHROMIUM).is_file():
        missing_server("chromium is not installed (Debian package chromium)")
    port = listener.server_address[1]
    page = tmp_path / "control.html"
    page.write_text(f"<html><head><title>ok</title></head><body><script>document.title='pwned'</script>"
                    f"<img src=\"http://127.0.0.1:{port}/control\"></body></html>", encoding="utf-8")
    before = len(listener.hits)
    dom = dump_dom(page, tmp_path / "profile")
    assert dom.title == "pwned" and dom.active
    assert "/control" in listener.hits[before:]


def test_no_payload_runs_and_each_reads_as_text(hostile_run: tuple[Path, list[str]], listener: Listener,
                                                 tmp_path: Path) -> None:
    run_dir, hostile = hostile_run
    pages = report_pages(run_dir)
    assert len(pages) == 3
    before = len(listener.hits)
    visible = ""
    for page in pages:
        for variant in (page, without_csp(page, tmp_path / f"nocsp-{page.name}")):
            dom = dump_dom(variant, tmp_path / f"profile-{variant.name}")
            assert EXPECTED_TITLE.match(dom.title), f"{variant.name}: title changed to {dom.title!r}"
            assert "pwned" not in dom.title
            assert dom.active == [], f"{variant.name}: live elements {dom.active[:3]}"
            visible += " " + dom.text
    hits = listener.hits[before:]
    assert hits == [], f"payloads reached the listener: {hits}"
    unseen = [p for p in hostile if " ".join(p.split()) not in visible]
    print(f"payloads {len(hostile)}, visible as text {len(hostile) - len(unseen)}, pages {len(pages)} x 2 "
          f"(with and without CSP), requests to listener {len(hits)}")
    assert unseen == [], f"payloads not visible as text: {unseen}"
    assert verify_run(run_dir).ok


def test_payloads_reach_the_report_from_each_source(hostile_run: tuple[Path, list[str]]) -> None:
    """The payloads really travelled: the evidence holds them (escaped only at rendering)."""
    import pandas as pd

    run_dir, hostile = hostile_run
    by_source = {}
    for name in ("kubernetes-events", "kubernetes-pod_logs", "kubernetes-pods", "logs-records",
                 "kubernetes-rollout_history"):
        files = sorted((run_dir / "evidence").glob(f"*-{name}-*.parquet"))
        assert files, f"no {name} evidence"
        frame = pd.read_parquet(files[0])
        by_source[name] = frame.astype(str).to_string()
    assert hostile[2] in by_source["kubernetes-events"]
    assert "onerror" in by_source["kubernetes-pod_logs"] and "onerror" in by_source["logs-records"]
    assert os.path.isfile(run_dir / "manifest.json")
