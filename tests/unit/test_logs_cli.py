"""``irlib logs``: real log files and standard input (plain and gzip) through the command, as a shell runs it."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from irlib.cli import main

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def _irlib_logs(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "irlib.cli", "logs", *args], input=stdin, capture_output=True,
                          timeout=120, check=False)


def test_standard_input_plain_and_gzip_give_the_same_summary() -> None:
    data = (FIX / "lnav" / "log2src_python-example.0").read_bytes() * 3
    plain = _irlib_logs(["--json", "--year-from", "2025-01-01", "-"], data)
    zipped = _irlib_logs(["--json", "--year-from", "2025-01-01", "-"], gzip.compress(data))
    assert plain.returncode == zipped.returncode == 0, plain.stderr
    out = json.loads(plain.stdout)
    assert json.loads(zipped.stdout) == out
    assert out["input"] == "-" and out["lines"] == data.count(b"\n")
    assert out["records"] == 15 and out["error_classes"][0]["error_class"] == "ZeroDivisionError"
    assert "Traceback" in out["error_classes"][0]["example"]  # the whole multi-line record


def test_text_report_redacts_and_a_missing_file_does_not_stop_the_others(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("2026-12-04 10:00:00,001 INFO [main] app.Server: started on port 8080\n"
                   f"2026-12-04 10:00:01,002 ERROR [w-1] app.Db: login failed Authorization: Bearer {TOKEN}\n"
                   "java.sql.SQLTransientConnectionException: pool exhausted\n"
                   "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n"
                   "2026-12-04 10:00:02,003 INFO [main] app.Server: started on port 8081\n")
    done = _irlib_logs([str(tmp_path / "missing.log"), str(log)])
    assert done.returncode == 2
    assert b"missing.log" in done.stderr and b"check the path" in done.stderr
    text = done.stdout.decode()
    assert "3 records in 5 lines, format generic" in text
    assert "2  INFO   started on port <*>" in text
    assert "java.sql.SQLTransientConnectionException" in text
    assert TOKEN not in text and TOKEN[:20] not in text


@pytest.mark.parametrize("args, words", [
    (["--format", "nope", "x.log"], "unknown log format 'nope'"),
    (["--year-from", "not a time", "x.log"], "--year-from"),
    ([], "FILE"),
])
def test_bad_options_exit_2_with_a_message(args: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", *args]) == 2
    assert words in capsys.readouterr().err
