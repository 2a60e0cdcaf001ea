"""Each mistake in an incident parameters file gives ONE clear ParameterError naming the file and the key."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from irlib.errors import ParameterError
from irlib.incident import load_incident

NOW = pd.Timestamp("2024-03-14T10:00:00Z")
VALID = """\
incident:
  id: INC-7
  title: "orders: 5xx after release"
  declared_at: "2024-03-14T09:40:00Z"
window:
  start: now-2h
  end: now
service:
  name: orders
  users_total: 1000
"""


def _load(tmp_path: Path, text: str | bytes) -> ParameterError:
    file = tmp_path / "inc.yaml"
    if isinstance(text, bytes):
        file.write_bytes(text)
    else:
        file.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as info:
        load_incident(file, now=NOW)
    return info.value


def _assert_one_message(err: ParameterError, file: Path, key: str | None, *fragments: str) -> None:
    message = str(err)
    assert err.path == str(file) and err.key == key
    assert message.startswith(f"{file}: " + (f"key '{key}': " if key else ""))
    assert message.count(str(file)) == 1 and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_the_valid_file_loads(tmp_path: Path) -> None:
    file = tmp_path / "inc.yaml"
    file.write_text(VALID)
    incident = load_incident(file, now=NOW)
    assert incident.id == "INC-7" and incident.window.start == NOW - pd.Timedelta(hours=2)
    assert str(incident.declared_at.tz) == "UTC"


def test_unknown_key(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID + "  colour: red\n")
    _assert_one_message(err, tmp_path / "inc.yaml", "service.colour", "unknown key", "known keys here are",
                        "users_total")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID + "sevrity_override: P1\n")
    _assert_one_message(err, tmp_path / "inc.yaml", "sevrity_override", "unknown key", "severity_override")


def test_wrong_type(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID.replace("users_total: 1000", "users_total: lots"))
    _assert_one_message(err, tmp_path / "inc.yaml", "service.users_total", "expected a whole number", "'lots'")


def test_wrong_type_in_a_list(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID + "  deployments: [orders, {name: x}]\n")
    _assert_one_message(err, tmp_path / "inc.yaml", "service.deployments[1]", "expected text, got a mapping")


def test_naive_timestamp(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID.replace('"2024-03-14T09:40:00Z"', '"2024-03-14T09:40:00"'))
    _assert_one_message(err, tmp_path / "inc.yaml", "incident.declared_at", "has no time zone", "+00:00")


def test_naive_timestamp_read_by_yaml_as_a_datetime(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID.replace("start: now-2h", "start: 2024-03-14 08:00:00"))
    _assert_one_message(err, tmp_path / "inc.yaml", "window.start", "has no time zone")


def test_end_before_start(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID.replace("end: now", 'end: "2024-03-14T07:00:00+00:00"'))
    _assert_one_message(err, tmp_path / "inc.yaml", "window.end", "is not after its start")


def test_missing_file(tmp_path: Path) -> None:
    file = tmp_path / "nope.yaml"
    with pytest.raises(ParameterError) as info:
        load_incident(file, now=NOW)
    _assert_one_message(info.value, file, None, "file not found", "parameters/demo.yaml")


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(ParameterError) as info:
        load_incident(tmp_path, now=NOW)
    _assert_one_message(info.value, tmp_path, None, "is a directory")


def test_missing_required_key(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID.replace("  title: \"orders: 5xx after release\"\n", ""))
    _assert_one_message(err, tmp_path / "inc.yaml", "incident.title", "required but missing")


def test_not_utf8_and_not_yaml(tmp_path: Path) -> None:
    _assert_one_message(_load(tmp_path, b"incident: \xff\xfe\n"), tmp_path / "inc.yaml", None, "UTF-8")
    _assert_one_message(_load(tmp_path, "incident: [unclosed\n"), tmp_path / "inc.yaml", None, "not valid YAML")
    _assert_one_message(_load(tmp_path, "- just\n- a list\n"), tmp_path / "inc.yaml", None, "mapping at the top")


def test_impossible_date_and_out_of_range_time(tmp_path: Path) -> None:
    _assert_one_message(_load(tmp_path, VALID + "  namespace: 2024-13-45\n"), tmp_path / "inc.yaml", None,
                        "not valid YAML", "month must be in 1..12")
    err = _load(tmp_path, VALID.replace("start: now-2h", "start: now-99999999999d"))
    _assert_one_message(err, tmp_path / "inc.yaml", "window.start", "out of range")


def test_non_finite_threshold(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID + "thresholds: {error_ratio_p1: .nan}\n")
    _assert_one_message(err, tmp_path / "inc.yaml", "thresholds.error_ratio_p1", "finite number")


def test_secret_instead_of_an_env_var_name(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID + "sources:\n  databases:\n    - {name: orders, dsn_env: 'postgresql://u:p@db/x'}\n")
    _assert_one_message(err, tmp_path / "inc.yaml", "sources.databases[0].dsn_env", "NAME of an environment variable")


def test_unusable_paths(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID + "sources:\n  logs:\n    - {path: missing.log}\n")
    _assert_one_message(err, tmp_path / "inc.yaml", "sources.logs[0].path", "does not exist", str(tmp_path))
    err = _load(tmp_path, VALID + "sources:\n  logs:\n    - {path: \"" + "a" * 5000 + "\"}\n")
    _assert_one_message(err, tmp_path / "inc.yaml", "sources.logs[0].path", "not a usable path")
    err = _load(tmp_path, VALID + "sources:\n  logs:\n    - {path: \"a\\0b\"}\n")
    _assert_one_message(err, tmp_path / "inc.yaml", "sources.logs[0].path", "not a usable path")


def test_bad_severity_override(tmp_path: Path) -> None:
    err = _load(tmp_path, VALID + "severity_override: P9\n")
    _assert_one_message(err, tmp_path / "inc.yaml", "severity_override", "P0, P1 or P2")
