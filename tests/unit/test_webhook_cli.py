"""``irlib webhook`` startup: every wrong argument or template is one line on stderr and exit status 2."""
from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from irlib import webhook
from irlib.webhook import Receiver, main, make_server

TEMPLATE = "service: {name: orders}\nsources:\n  prometheus: {url: 'http://127.0.0.1:9090'}\n"


def template(tmp_path: Path, text: str = TEMPLATE) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


def assert_one_line(err: str, *parts: str) -> None:
    assert err.count("\n") == 1 and err.startswith("irlib webhook: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, err


def test_template_with_an_unknown_key_stops_at_startup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = template(tmp_path, TEMPLATE + "bogus: 1\n")
    code, err = run_main(capsys, "--template", str(bad), "--port", "0", "--state-dir", str(tmp_path / "s"))
    assert code == 2
    assert_one_line(err, str(bad), "'bogus'", "unknown key")
    nested = template(tmp_path, TEMPLATE.replace("url:", "ur1:"))
    code, err = run_main(capsys, "--template", str(nested), "--port", "0")
    assert code == 2
    assert_one_line(err, str(nested), "sources.prometheus")
    assert not (tmp_path / "s").exists()


def test_missing_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_main(capsys, "--template", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert_one_line(err, "nope.yaml", "template not found")


@pytest.mark.parametrize("lookback", ["banana", "-5m", "0s"])
def test_bad_lookback(tmp_path: Path, capsys: pytest.CaptureFixture[str], lookback: str) -> None:
    code, err = run_main(capsys, "--template", str(template(tmp_path)), f"--lookback={lookback}")
    assert code == 2
    assert_one_line(err, "--lookback", "30m")


def test_empty_token_env(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRLIB_TEST_EMPTY_TOKEN", "")
    code, err = run_main(capsys, "--template", str(template(tmp_path)), "--token-env", "IRLIB_TEST_EMPTY_TOKEN")
    assert code == 2
    assert_one_line(err, "--token-env", "IRLIB_TEST_EMPTY_TOKEN", "export the token")


def test_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run_main(capsys, "--template", str(template(tmp_path)), "--port", str(port),
                             "--state-dir", str(tmp_path / "s"))
    assert code == 2
    assert_one_line(err, f"127.0.0.1:{port}", "pick another --port")


def test_help_describes_jobs_and_lookback_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "default: 30m" in out and "notebooks each incident's run executes at once" in out


def test_sigterm_writes_shutdown_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = Receiver(state_dir=tmp_path / "s", template={}, run=lambda p: {})
    server = make_server(rec, "127.0.0.1", 0)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
    try:
        webhook._serve(server, rec)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    err = capsys.readouterr().err
    assert err.rstrip().endswith(" stopped") and " stopping" in err


def launch_job_names(tmp_path: Path, incident_dir: str) -> list[str]:
    """The Kubernetes names docs/cluster.md's launch-job.sh gives an incident directory (kubectl faked)."""
    import re
    import subprocess

    doc = (Path(__file__).parents[2] / "docs" / "cluster.md").read_text()
    script = re.search(r"```sh\n(#!/bin/sh\n# launch-job.sh.*?)```", doc, re.S).group(1)
    job = tmp_path / "job.yaml"
    job.write_text("kind: Job\nmetadata:\n  name: irlib-evidence\n---\n  name: irlib-incident\n")
    (tmp_path / "launch-job.sh").write_text(script.replace("/config/job.yaml", str(job)))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "kubectl.log"
    (bin_dir / "kubectl").write_text(f"#!/bin/sh\necho \"$@\" >> {log}\ncat >> {log} 2>/dev/null || true\n")
    (bin_dir / "kubectl").chmod(0o755)
    params = tmp_path / incident_dir / "params.yaml"
    params.parent.mkdir(parents=True)
    params.write_text("x: 1\n")
    log.unlink(missing_ok=True)
    subprocess.run(["sh", str(tmp_path / "launch-job.sh"), str(params)], check=True, timeout=10,
                   env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, stdin=subprocess.DEVNULL)
    return re.findall(r"irlib-(?:incident|evidence)-[^\s\"]*", log.read_text())


@pytest.mark.parametrize("incident_dir", [
    "ordershigherrorrate-20261204T160500Z-a41c4fd5",
    "a-very-long-alert-name-that-fills-forty-c-20261204T160500Z-0123abcd",
    "x-20261204T160500Z-ffffffff",
    "not-an-irlib-id_with.dots",
])
def test_launch_job_names_are_unique_and_valid(tmp_path: Path, incident_dir: str) -> None:
    import re

    names = launch_job_names(tmp_path, incident_dir)
    assert len(names) >= 3, names
    suffix = re.search(r"[0-9]{8}t[0-9]{6}z-[0-9a-f]{8}$", incident_dir.lower())
    for name in names:
        assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
        if suffix:
            assert name.endswith(suffix.group(0)), name


@pytest.mark.parametrize("text, key", [
    (TEMPLATE + "service: {name: payments}\n", "'service'"),
    ("service: orders\n", "'service'"),
    ("sources: [1]\n", "'sources'"),
])
def test_template_duplicate_or_misshapen_keys_stop_at_startup(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              text: str, key: str) -> None:
    code, err = run_main(capsys, "--template", str(template(tmp_path, text)), "--port", "0")
    assert code == 2
    assert_one_line(err, "template.yaml", key)
