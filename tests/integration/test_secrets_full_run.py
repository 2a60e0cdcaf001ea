"""The secrets corpus (tests/fixtures/secrets/corpus.yaml: fake secrets of many kinds) planted everywhere a run
reads from, then a full ``irlib run`` (steps 01, 02, 05), then every file of the run directory scanned for each
secret in clear.

Planted in: container logs (Kubernetes stand-in) and a log file; SQL text (the last statement of open PostgreSQL
sessions, seen by ``pg_stat_activity``); pod labels (key and value); alert annotations (a Prometheus rule that fires
at once); and the run's environment (every ``env`` line of the corpus, a Prometheus bearer token named by
``token_env``, and the database DSN with its real password).  The scan reads each file as raw bytes, as text with
HTML entities and JSON escapes undone, and every Parquet file read back as a table; it also scans what the command
printed.  Besides each whole secret, the middle 16 characters of every long secret are looked for (a secret cut by a
length cap must not survive in part).
"""
from __future__ import annotations

import html
import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from irlib.servers import ServerMissing
from tests.conftest import FIXTURES, missing_server
from tests.support import live

pytestmark = pytest.mark.server
CORPUS = FIXTURES / "secrets" / "corpus.yaml"
DSN_ENV = "IRLIB_SECRETS_RUN_DSN"
TOKEN_ENV = "IRLIB_SECRETS_PROM_TOKEN"
SQL_GROUP = 5


@dataclass(frozen=True)
class Secret:
    kind: str
    value: str
    contexts: dict[str, Any]

    def needles(self) -> list[str]:
        """The whole value, and for long values its middle 16 characters (a partial leak)."""
        if len(self.value) < 32:
            return [self.value]
        mid = len(self.value) // 2
        return [self.value, self.value[mid - 8: mid + 8]]


def corpus() -> list[Secret]:
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return [Secret(s["kind"], s["value"], s["contexts"]) for s in data["secrets"]]


def strip_stamp(line: str) -> str:
    """A corpus log line without its own leading timestamp (the world stamps lines in the incident window)."""
    head, _, rest = line.partition(" ")
    return rest if head[:4].isdigit() and "T" in head else line


def label_sets(secrets: list[Secret]) -> list[dict[str, str]]:
    """The corpus labels (exact keys) spread over as few pods as possible: one key appears once per pod."""
    sets: list[dict[str, str]] = []
    for s in secrets:
        key, value = s.contexts["label"]["key"], s.contexts["label"]["value"]
        target = next((labels for labels in sets if key not in labels), None)
        if target is None:
            target = {}
            sets.append(target)
        target[key] = value
    return sets


def alert_rules(path: Path, secrets: list[Secret]) -> Path:
    annotations = {f"note{i}": s.contexts["annotation"] for i, s in enumerate(secrets)}
    rules = {"groups": [{"name": "planted", "interval": "1s", "rules": [
        {"alert": "CredentialRotated", "expr": "vector(1)", "labels": {"severity": "page"},
         "annotations": annotations}]}]}
    path.write_text(yaml.safe_dump(rules, sort_keys=False, width=100000), encoding="utf-8")
    return path


def wait_firing(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/v1/alerts", timeout=5) as response:
            alerts = json.loads(response.read())["data"]["alerts"]
        if any(a.get("state") == "firing" for a in alerts):
            return
        time.sleep(0.3)
    raise AssertionError("the planted alert never fired")


def plant_sql(stack: ExitStack, dsn: str, secrets: list[Secret]) -> int:
    """Open one session per group of secrets whose last statement is their SQL text; return the sessions."""
    import psycopg2

    sessions = 0
    for start in range(0, len(secrets), SQL_GROUP):
        conn = psycopg2.connect(dsn, application_name=f"planted-{start}")
        stack.callback(conn.close)
        conn.autocommit = True
        text = ";\n".join(s.contexts["sql"].rstrip(";") for s in secrets[start:start + SQL_GROUP])
        try:
            with conn.cursor() as cur:
                cur.execute(text)
        except psycopg2.Error:
            pass  # the tables do not exist: pg_stat_activity still shows the statement text
        sessions += 1
    return sessions


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Secret], str]]:
    from irlib.servers.postgres import start_postgres
    from irlib.servers.prometheus import start_prometheus, write_openmetrics

    tmp = tmp_path_factory.mktemp("secrets")
    secrets = corpus()
    log_lines = [strip_stamp(s.contexts["log"]) for s in secrets]
    text = live.WorldText(log_lines=log_lines, extra_pod_labels=label_sets(secrets),
                          event_messages=["Back-off restarting failed container"])
    with ExitStack() as stack:
        try:
            history = tmp / "history.om"
            write_openmetrics(history, live.history_series())
            prom = start_prometheus(tmp / "prom", history=[history], rule_files=[alert_rules(tmp / "rules.yml",
                                                                                              secrets)],
                                    evaluation_interval="1s")
            stack.callback(prom.stop)
            pg = start_postgres(tmp / "pg", max_connections=40, settings={"track_activity_query_size": "16384"})
            stack.callback(pg.stop)
        except ServerMissing as exc:
            missing_server(str(exc))
        standin = live.standin(text)
        standin.start()
        stack.callback(standin.stop)
        dsn = pg.dsn("postgres", driver="postgresql")
        plant_sql(stack, dsn, secrets)
        wait_firing(prom.url)
        data = live.params(incident_id="INC-SECRETS", kubeconfig=standin.kubeconfig(tmp / "kubeconfig"),
                           prometheus_url=prom.url, log_file=live.write_log_file(tmp / "app.log", text),
                           dsn_env=DSN_ENV, timeout_s=5)
        data["sources"]["prometheus"]["token_env"] = TOKEN_ENV
        params = live.write_params(tmp / "incident.yaml", data)
        env = {f"{s.contexts['env'].split('=', 1)[0]}_{i}": s.contexts["env"].split("=", 1)[1]
               for i, s in enumerate(secrets)}
        env.update({DSN_ENV: dsn, TOKEN_ENV: next(s.value for s in secrets if s.kind == "bearer_token")})
        done = live.run_cli(["run", str(params), "--steps", "01,02,05", "--reports", str(tmp / "reports")], env=env)
        assert done.returncode in (0, 1), done.stderr[-3000:]
        (run_dir,) = live.run_dirs(tmp / "reports")
        password = Secret("database_password", pg.extra["password"], {})
        yield run_dir, [*secrets, password], done.stdout + done.stderr


def file_views(path: Path) -> list[str]:
    """Every way a reader could see the file: raw bytes, unescaped HTML, decoded JSON, a Parquet table as text."""
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    views = [raw.decode("latin-1"), text, html.unescape(text)]
    if path.suffix in (".json", ".ipynb"):
        views.append(json.dumps(json.loads(text), ensure_ascii=False))
        views.append(html.unescape(views[-1]))
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        views.append(frame.astype(str).to_csv(index=False))
        views.append(json.dumps(frame.astype(str).to_dict("list"), ensure_ascii=False))
    return views


def leaks(views: list[str], secrets: list[Secret]) -> set[str]:
    return {s.value for s in secrets if any(n in v for n in s.needles() for v in views)}


def test_no_planted_secret_survives_in_any_file(planted_run: tuple[Path, list[Secret], str]) -> None:
    run_dir, secrets, printed = planted_run
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    leaked: dict[str, list[str]] = {}
    for path in files:
        for value in leaks(file_views(path), secrets):
            leaked.setdefault(value, []).append(str(path.relative_to(run_dir)))
    for value in leaks([printed], secrets):
        leaked.setdefault(value, []).append("(command output)")
    kinds = {s.kind for s in secrets}
    print(f"\nplanted {len(secrets)} secrets of {len(kinds)} kinds in logs, SQL text, labels, alert annotations "
          f"and the environment; scanned {len(files)} files; leaked {len(leaked)}")
    detail = {next(s.kind for s in secrets if s.value == v) + ":" + v[:12] + "…": where[:3]
              for v, where in leaked.items()}
    assert len(leaked) == 0, detail


def test_the_secrets_really_reached_the_run(planted_run: tuple[Path, list[Secret], str]) -> None:
    """The scan is meaningful: each planting site produced evidence, and redaction replaced things."""
    run_dir, _, _ = planted_run
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    records = [json.loads(p.read_text(encoding="utf-8")) for p in (run_dir / "evidence").glob("*.json")]
    ok = {(r["source"], r["method"]) for r in records if r["status"] == "ok" and r["rows"] > 0}
    for site in [("kubernetes", "pod_logs"), ("kubernetes", "pods"), ("logs", "records"), ("prometheus", "alerts"),
                 ("sql", "sessions")]:
        assert site in ok, f"{site} collected nothing: {sorted(ok)}"
    assert sum(manifest["redaction"].values()) >= 55, manifest["redaction"]
    sessions = pd.concat(pd.read_parquet(p) for p in (run_dir / "evidence").glob("*-sql-sessions-*.parquet"))
    planted = sessions[sessions["application"].astype(str).str.startswith("planted-")] \
        if "application" in sessions else sessions
    assert len(planted) >= 1 and planted["query"].astype(str).str.contains("INSERT|UPDATE|SELECT", regex=True).any()
