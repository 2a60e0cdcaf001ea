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


def test_logs_without_any_time_and_hostile_bytes_are_reported_not_crashed(tmp_path: Path) -> None:
    log = tmp_path / "plain.log"
    log.write_bytes(b"hello world\nbell\x07 and back\x08\x08XX\nthen every byte but NUL (so it is text): "
                    + bytes(range(1, 256)) + b"\n")
    done = _irlib_logs(["--top", "5", str(log)])
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert "4 without a readable time" in text and "bell\\x07 and back\\x08\\x08XX" in text
    assert "\x07" not in text and "\x08" not in text
    assert json.loads(_irlib_logs(["--json", str(log)]).stdout)["templates"][0]["first_seen"] is None


def test_credentials_in_header_lines_and_secret_pieces_never_show(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("2026-01-01T10:00:00Z ERROR Authorization: Basic YXBwOlMzY3JldFBhc3N3MHJk\n"
                   "2026-01-01T10:00:01Z WARN AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
                   "2026-01-01T10:00:02Z ERROR psycopg2.OperationalError: connection refused\n")
    done = _irlib_logs(["--json", str(log)])
    assert done.returncode == 0, done.stderr
    assert b"YXBwOlMz" not in done.stdout and b"bPxRfiCY" not in done.stdout and b"K7MDENG" not in done.stdout
    out = json.loads(done.stdout)
    assert [c["error_class"] for c in out["error_classes"]] == ["psycopg2.OperationalError"]


@pytest.mark.parametrize("args, words", [
    (["--top", "0", "x.log"], "--top must be 1 or more"),
    (["--timezone", "Mars/Olympus", "x.log"], "is not a time zone"),
])
def test_more_bad_options(args: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", *args]) == 2
    assert words in capsys.readouterr().err


def test_binary_input_and_undecodable_lines_are_warned_about(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    elf = tmp_path / "app"
    elf.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00>\x00\x01\x00\x00\x00" + bytes(range(256)) * 40)
    assert main(["logs", str(elf)]) == 1
    done = capsys.readouterr()
    assert "looks binary" in done.out and "looks binary" in done.err
    assert "top templates:" not in done.out and "\nerror classes:" not in done.out and "\\x00" not in done.out
    assert "41 records in 41 lines" in done.out and "not shown" in done.out
    assert main(["logs", "--json", str(elf)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["looks_binary"] is True and out["templates"] == [] and out["error_classes"] == []
    assert out["records"] == out["lines"] == 41
    latin = tmp_path / "latin1.log"
    latin.write_bytes(b"2026-12-04 10:00:00 INFO caf\xe9 opened\n2026-12-04 10:00:01 INFO ok\n"
                      b"2026-12-04 10:00:02 ERROR na\xefve failure\n")
    assert main(["logs", "--json", str(latin)]) == 0
    done = capsys.readouterr()
    out = json.loads(done.out)
    assert out["undecodable_lines"] == 2 and out["looks_binary"] is False
    assert out["warnings"] == ["2 of 3 lines had bytes not valid in the encoding (read as U+FFFD); give --encoding "
                               "if the log is not UTF-8"]
    assert "2 of 3 lines" in done.err
    assert main(["logs", "--json", "--encoding", "latin-1", str(latin)]) == 0  # the right encoding: no warning
    assert json.loads(capsys.readouterr().out)["warnings"] == []


def test_utf16_text_is_not_called_binary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "win.log"
    log.write_bytes("2026-12-04 10:00:00 INFO started\r\n2026-12-04 10:00:01 ERROR failed\r\n".encode("utf-16-le"))
    assert main(["logs", "--json", str(log)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["records"] == 2 and out["warnings"] == [] and out["levels"] == {"ERROR": 1, "INFO": 1}


def test_empty_input_says_so_instead_of_format_question_mark(tmp_path: Path) -> None:
    done = _irlib_logs(["-"], b"")
    assert done.returncode == 0, done.stderr
    assert "empty input: no lines" in done.stdout.decode() and "format ?" not in done.stdout.decode()
    (tmp_path / "empty.log").write_bytes(b"")
    out = json.loads(_irlib_logs(["--json", str(tmp_path / "empty.log")]).stdout)
    assert out["lines"] == 0 and out["warnings"] == ["empty input: no lines"]


def test_openssh_lowercase_level_after_the_syslog_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "auth.log"
    log.write_text("Dec 10 06:55:46 LabSZ sshd[24200]: error: maximum authentication attempts exceeded for root "
                   "from 10.0.0.1 port 22 ssh2 [preauth]\n"
                   "Dec 10 06:55:47 LabSZ sshd[24201]: fatal: Read from socket failed: Connection reset by peer\n"
                   "Dec 10 06:55:48 LabSZ postfix/smtpd[7]: warning: hostname x.example does not resolve\n"
                   "Dec 10 06:55:49 LabSZ sshd[24202]: Invalid user error from 10.0.0.2\n")
    assert main(["logs", "--json", "--year-from", "2026-01-01", str(log)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "syslog" and out["levels"] == {"": 1, "ERROR": 1, "FATAL": 1, "WARN": 1}
    templates = {row["level"]: row["template"] for row in out["templates"]}
    assert templates["ERROR"].startswith("error: maximum authentication attempts exceeded")  # message kept whole


def test_a_real_executable_gives_counts_and_a_warning_only(capsys: pytest.CaptureFixture[str]) -> None:
    binary = Path(sys.executable).resolve()
    assert main(["logs", str(binary)]) == 1
    done = capsys.readouterr()
    assert "looks binary" in done.err and "top templates" not in done.out and "levels:" in done.out
    assert not any("\u3000" <= ch <= "\u9fff" for ch in done.out)  # no bytes read as UTF-16 CJK
    text = Path(__file__)
    assert main(["logs", str(binary), str(text)]) == 1  # a text input after it is still reported
    assert "top templates" in capsys.readouterr().out
    assert main(["logs", str(binary), str(text.parent / "missing.log")]) == 2  # the highest status wins


def test_counts_are_singular_or_plural(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one.log"
    one.write_text("2026-12-04 10:00:00 INFO started\n")
    assert main(["logs", str(one)]) == 0
    assert "1 record in 1 line, format" in capsys.readouterr().out
    two = tmp_path / "two.log"
    two.write_text("2026-12-04 10:00:00 INFO started\n2026-12-04 10:00:01 INFO ready\n")
    assert main(["logs", str(two)]) == 0
    assert "2 records in 2 lines, format" in capsys.readouterr().out
    odd = tmp_path / "odd.log"
    odd.write_bytes(b"2026-12-04 10:00:00 INFO caf\xe9\n")
    assert main(["logs", "--json", str(odd)]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"][0].startswith("1 of 1 line had bytes")


def test_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "0 done; 1 an input looks binary" in text and "2 an input cannot be read" in text
