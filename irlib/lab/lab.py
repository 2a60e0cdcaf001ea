"""Start and stop the whole lab in one directory: PostgreSQL, the ``orders`` service as pods (lab kubelet and the
Kubernetes API stand-in), exporters, Prometheus with alert rules, Alertmanager, the webhook that runs the runbook,
and steady client load.  Everything listens on 127.0.0.1 on free ports."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg2
import yaml

from ..errors import IrlibError
from ..k8s_standin import StandIn
from ..servers import ServerProcess, free_port
from ..servers.alertmanager import alertmanager_config, start_alertmanager
from ..servers.exporters import start_node_exporter, start_postgres_exporter
from ..servers.postgres import PostgresServer, start_postgres
from ..servers.prometheus import start_prometheus
from ..webhook import Receiver, make_server, run_evidence_steps
from . import config
from .cluster import ClusterMirror, Revision
from .exporter import make_exporter, render_pods
from .kubelet import Container, ContainerSpec, Kubelet, Pod
from .loadgen import LoadGenerator

MiB = 1 << 20


@dataclass
class LabSettings:
    memory_limit_mb: int = 96
    request_rate: float = 10.0
    lookback: str = "4m"  # the webhook's window start before the first alert (after the lab's warm-up)
    jobs: int = 2


@dataclass
class Lab:
    """The running lab; :meth:`start` brings everything up, :meth:`stop` tears it down (in reverse order)."""

    workdir: Path
    settings: LabSettings = field(default_factory=LabSettings)
    servers: list[ServerProcess] = field(default_factory=list)
    pg: PostgresServer | None = None
    prometheus: ServerProcess | None = None
    alertmanager: ServerProcess | None = None
    standin: StandIn | None = None
    kubelet: Kubelet | None = None
    mirror: ClusterMirror | None = None
    receiver: Receiver | None = None
    load: LoadGenerator | None = None
    pod: Pod | None = None
    _http: list[Any] = field(default_factory=list)
    _oom: dict[tuple[str, str], int] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- paths ------------------------------------------------------------------------------------------------------
    @property
    def params_path(self) -> Path:
        return self.workdir / "lab.yaml"

    @property
    def incidents_dir(self) -> Path:
        return self.workdir / "incidents"

    @property
    def reports_dir(self) -> Path:
        return self.workdir / "reports"

    @property
    def git_repo(self) -> Path:
        return self.workdir / "config-repo"

    def dsn(self) -> str:
        assert self.pg is not None
        return self.pg.dsn(config.APP, driver="postgresql")

    # -- start / stop -----------------------------------------------------------------------------------------------
    def start(self) -> "Lab":
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_database()
            self._start_cluster()
            self._start_monitoring()
            self.load = LoadGenerator(lambda: self.pod.port if self.pod else None, rate=self.settings.request_rate)
            self.load.start()
        except BaseException:
            self.stop()
            raise
        return self

    def background(self, target: Callable[[], None]) -> None:
        """Run a scenario's helper (a migration holding a lock, a batch job) until it ends or the lab stops."""
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(10)
        if self.load:
            self.load.stop()
        for server in self._http:
            server.shutdown()
            server.server_close()
        self._http.clear()
        if self.kubelet:
            self.kubelet.stop()
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()
        if self.standin:
            self.standin.stop()
        if self.receiver:
            self.receiver.wait(300)

    def _start_database(self) -> None:
        self.pg = start_postgres(self.workdir / "postgres", max_connections=40)
        self.servers.append(self.pg)
        conn = psycopg2.connect(self.pg.dsn("postgres", driver="postgresql"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {config.APP}")
        finally:
            conn.close()
        with psycopg2.connect(self.dsn()) as conn, conn.cursor() as cur:
            cur.execute(config.SCHEMA_SQL)
        os.environ[config.DSN_ENV] = self.pg.dsn(config.APP)
        _init_git(self.git_repo)

    def _start_cluster(self) -> None:
        self.standin = StandIn()
        self.standin.start()
        self.standin.kubeconfig(self.workdir / "kubeconfig", namespace=config.NAMESPACE)
        self.mirror = ClusterMirror(self.standin, config.APP, config.NAMESPACE)
        self.kubelet = Kubelet(self.workdir, self._on_change)
        self.kubelet.start()
        exporter = make_exporter(self._kube_metrics)
        self._serve(exporter)
        self.rollout("v1", "initial release", [])
        self.background(self._keep_in_sync)

    def _keep_in_sync(self) -> None:
        """A real API server serves container logs live: refresh the stand-in's copy every second."""
        while not self.stopping.wait(1.0):
            if self.mirror is not None:
                self.mirror.sync()

    def _start_monitoring(self) -> None:
        assert self.pg is not None
        node = start_node_exporter(self.workdir / "exporters")
        self.servers.append(node)
        pg_exp = start_postgres_exporter(self.workdir / "exporters", self.dsn() + "?sslmode=disable")
        self.servers.append(pg_exp)
        webhook_port = self._start_webhook()
        self.alertmanager = start_alertmanager(self.workdir / "alertmanager", alertmanager_config(
            # group_wait as Alertmanager users set it (default 30 s), shortened: the first notification waits for
            # the alert group to fill, so the runbook starts once the first errors are in the logs
            f"http://127.0.0.1:{webhook_port}/alerts", group_wait="15s", group_interval="10s",
            group_by=("service",)))
        self.servers.append(self.alertmanager)
        rules = self.workdir / "prometheus" / "rules.yml"
        rules.parent.mkdir(parents=True, exist_ok=True)
        rules.write_text(yaml.safe_dump(config.alert_rules(), sort_keys=False), encoding="utf-8")
        kube = f"127.0.0.1:{self._http[0].server_address[1]}"
        self.prometheus = start_prometheus(
            self.workdir / "prometheus", scrape_configs=config.scrape_configs(
                self._targets_file, kube, f"127.0.0.1:{node.port}", f"127.0.0.1:{pg_exp.port}"),
            rule_files=[rules], alertmanager_url=self.alertmanager.url, scrape_interval="2s",
            evaluation_interval="2s", retention="1d")
        self.servers.append(self.prometheus)
        self.params_path.write_text(yaml.safe_dump(config.lab_params(
            self.prometheus.url, self.workdir / "kubeconfig", self.git_repo), sort_keys=False), encoding="utf-8")
        self.refresh_template()

    def _start_webhook(self) -> int:
        reports = self.reports_dir
        # the template's sources are complete only once Prometheus runs: read it lazily at each declaration
        self.receiver = Receiver(state_dir=self.incidents_dir, template={}, lookback=pd.Timedelta(self.settings.lookback),
                                 run=lambda p: run_evidence_steps(p, reports_dir=reports, jobs=self.settings.jobs))
        server = make_server(self.receiver)
        self._serve(server)
        return int(server.server_address[1])

    def refresh_template(self) -> None:
        """Point the webhook's template at the lab's parameters (called once Prometheus is up)."""
        assert self.receiver is not None
        self.receiver.template = yaml.safe_load(self.params_path.read_text(encoding="utf-8"))

    def _serve(self, server: Any) -> None:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._http.append(server)

    # -- the cluster ------------------------------------------------------------------------------------------------
    @property
    def _targets_file(self) -> Path:
        return self.workdir / "prometheus" / "targets.json"

    def _on_change(self, pod: Pod, etype: str, reason: str, message: str) -> None:
        if reason == "BackOff" and "OOMKilled" in message:
            with self._lock:
                key = (pod.name, config.APP)
                self._oom[key] = self._oom.get(key, 0) + 1
        if self.mirror:
            self.mirror.on_change(pod, etype, reason, message)

    def _kube_metrics(self) -> bytes:
        pods = list(self.kubelet.pods.values()) if self.kubelet else []
        with self._lock:
            oom = dict(self._oom)
        return render_pods(pods, (config.NAMESPACE, config.APP), oom)

    def rollout(self, version: str, cause: str, features: list[str]) -> Revision:
        """Roll the Deployment to a new revision: a new ReplicaSet and pod, then the old pod goes away."""
        assert self.mirror is not None and self.kubelet is not None
        number = len(self.mirror.revisions) + 1
        rev = Revision(number, version, f"kubectl set image deployment/{config.APP} "
                       f"{config.APP}=registry.lab.local/{config.APP}:{version} # {cause}",
                       hashlib.sha256(f"{version}{number}".encode()).hexdigest()[:10],
                       pd.Timestamp.now(tz="UTC"), features)
        self.mirror.add_revision(rev)
        old, pod = self.pod, self._new_pod(rev)
        self.mirror.track(pod)
        self.mirror.event("Deployment", config.APP, "Normal", "ScalingReplicaSet",
                          f"Scaled up replica set {pod.owner} to 1", "deployment-controller")
        self.kubelet.run_pod(pod)
        _wait(lambda: pod.ready, 20, f"pod {pod.name} did not become ready; see {self.workdir / 'pods'}")
        self.pod = pod
        self._write_targets(pod)
        if old is not None:
            self.mirror.event("Deployment", config.APP, "Normal", "ScalingReplicaSet",
                              f"Scaled down replica set {old.owner} to 0", "deployment-controller")
            self.kubelet.delete_pod(old.name)
            self.mirror.forget(old.name)
        self.mirror.sync()
        return rev

    def _new_pod(self, rev: Revision) -> Pod:
        assert self.pg is not None
        port, app_port = free_port(), free_port()
        name = f"{config.APP}-{rev.template_hash}-{hashlib.sha256(str(time.time()).encode()).hexdigest()[:5]}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LAB_DSN": self.dsn(), "LAB_VERSION": rev.version,
               "LAB_FEATURES": ",".join(rev.features), "LAB_PORT": str(app_port), "LAB_UPSTREAM_PORT": str(app_port)}
        app = ContainerSpec(config.APP, [sys.executable, "-m", "irlib.lab.service"], env,
                            self.settings.memory_limit_mb * MiB, app_port, image=rev.image(config.APP))
        proxy = ContainerSpec("proxy", [sys.executable, "-m", "irlib.lab.proxy"], {**env, "LAB_PORT": str(port)},
                              0, port, "/healthz", image="registry.lab.local/proxy:1.0")
        return Pod(name, config.NAMESPACE, {"app": config.APP, "pod-template-hash": rev.template_hash},
                   f"{config.APP}-{rev.template_hash}", [Container(app), Container(proxy)],
                   pd.Timestamp.now(tz="UTC"), port)

    def _write_targets(self, pod: Pod) -> None:
        labels = {"namespace": pod.namespace, "pod": pod.name}
        app_port = pod.containers[0].spec.probe_port
        self._targets_file.parent.mkdir(parents=True, exist_ok=True)
        _atomic_json(self._targets_file, [{"targets": [f"127.0.0.1:{app_port}"],
                                            "labels": {**labels, "container": config.APP}}])
        _atomic_json(self._targets_file.with_name("proxy-targets.json"),
                     [{"targets": [f"127.0.0.1:{pod.port}"], "labels": {**labels, "container": "proxy"}}])

    def urls(self) -> dict[str, str]:
        assert self.prometheus and self.alertmanager and self.standin and self.pod
        return {"prometheus": self.prometheus.url, "alertmanager": self.alertmanager.url,
                "kubernetes": self.standin.url, "service": f"http://127.0.0.1:{self.pod.port}",
                "webhook": f"http://127.0.0.1:{self._http[1].server_address[1]}/alerts"}


def _atomic_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def _wait(check: Callable[[], bool], timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise IrlibError(message)


def git_commit(repo: Path, path: str, text: str, subject: str) -> str:
    """Commit ``text`` to ``path`` in the lab's configuration repository; the new commit's hash."""
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    env = {**os.environ, "GIT_AUTHOR_NAME": "lab", "GIT_AUTHOR_EMAIL": "lab@lab.local",
           "GIT_COMMITTER_NAME": "lab", "GIT_COMMITTER_EMAIL": "lab@lab.local"}
    for args in (["add", path], ["commit", "-q", "-m", subject]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, timeout=30, capture_output=True)
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True, timeout=30)
    return done.stdout.strip()


def _init_git(repo: Path) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30, capture_output=True)
    git_commit(repo, "README.md", "Configuration of the orders service (the lab).\n", "Initial configuration")
