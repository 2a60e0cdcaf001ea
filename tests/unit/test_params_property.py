"""Property-based tests of the parameters loader: whatever the input, the only error is a ParameterError that
names the file (never a KeyError, TypeError, ValueError, RecursionError, ... from deep inside)."""
from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irlib.errors import ParameterError
from irlib.incident import Incident, SPEC, load_incident, parse_incident

NOW = pd.Timestamp("2024-03-14T10:00:00Z")
HERE = Path(__file__).resolve()
PATH = HERE.parent / "incident-under-test.yaml"  # relative paths in the documents resolve next to this test
BASE: dict[str, Any] = {
    "incident": {"id": "INC-7", "title": "orders 5xx", "declared_at": "2024-03-14T09:40:00Z"},
    "window": {"start": "now-2h", "end": "now"},
    "service": {"name": "orders", "namespace": "shop", "deployments": ["orders"], "users_total": 1000,
                "revenue_critical": True},
    "sources": {"prometheus": {"url": "http://127.0.0.1:9090", "timeout_s": 5, "queries": {"up": "up"}},
                "logs": [{"name": "app", "path": HERE.name}], "databases": [{"name": "orders", "dsn_env": "DSN"}]},
    "thresholds": {"error_ratio_p1": 0.05},
    "checks": [{"name": "orphans", "database": "orders", "sql": "SELECT 1"}],
    "redaction": {"emails": False},
}
TOKENS = list("abcdeinowstz:-_[]{}!&*#|>'\"\n \t0123456789.,?%@`~TZ+\\/") + [
    "incident", "window", "service", "sources", "start", "end", "now-2h", "2024-03-14T09:00:00Z", "name", "id",
    "title", "declared_at", "!!str", "!!binary", "&a", "*a", "<<", "null", "~", ".nan", "1e999", "\n  ", ": "]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=120).map("".join)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10 ** 20, max_value=10 ** 20),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                    st.sampled_from(["now", "now-2h", "now+1d", "now-99999999999d", "2024-03-14T09:00:00",
                                     "2024-03-14T09:00:00+00:00", "../x", "~", "DSN", "P1"]),
                    st.datetimes(timezones=st.one_of(st.none(), st.timezones())), st.dates())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.one_of(st.text(max_size=12), SCALARS),
                                                                       inner, max_size=4)), max_leaves=12)


def _check(text: str) -> None:
    try:
        result = parse_incident(text, path=PATH, now=NOW)
    except ParameterError as exc:
        assert str(exc).startswith(f"{PATH}: "), str(exc)
        assert exc.path == str(PATH)
    else:
        assert isinstance(result, Incident)
        assert result.window.start < result.window.end and str(result.declared_at.tz) == "UTC"


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _key_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _key_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _key_paths(value, prefix + (index,))
    return paths


def test_the_base_document_is_valid() -> None:
    incident = parse_incident(_dump(BASE), path=PATH, now=NOW)
    assert incident.sources["logs"][0]["path"] == str(HERE)
    assert set(BASE) <= set(SPEC)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    _check(text)


@settings(max_examples=400, deadline=None)
@given(YAMLISH)
def test_yaml_ish_text(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_arbitrary_structures(data: Any) -> None:
    _check(_dump(data))


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_a_valid_document_with_one_value_replaced(data: st.DataObject) -> None:
    doc = copy.deepcopy(BASE)
    where = data.draw(st.sampled_from(_key_paths(doc)[1:]))
    replacement = data.draw(VALUES)
    parent = doc
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = replacement
    _check(_dump(doc))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_valid_document_with_a_key_added_or_removed(data: st.DataObject) -> None:
    doc = copy.deepcopy(BASE)
    mappings = [p for p in _key_paths(doc) if isinstance(_at(doc, p), dict)]
    target = _at(doc, data.draw(st.sampled_from(mappings)))
    if target and data.draw(st.booleans()):
        del target[data.draw(st.sampled_from(sorted(target, key=str)))]
    else:
        target[data.draw(st.one_of(st.text(max_size=10), st.integers(), st.none()))] = data.draw(VALUES)
    _check(_dump(doc))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@pytest.mark.parametrize("text", ["[" * 3000, "{a: " * 3000, "a: 2024-02-30", "a: 1" + "0" * 5000, "\x00",
                                  "window: {start: now-99999999999d, end: now}", "!!binary x: 1",
                                  "&a [*a]", "? [a, b]\n: c", "a: !!timestamp 2024-99-99"])
def test_known_nasty_inputs(text: str) -> None:
    _check(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_load_incident_on_arbitrary_bytes(tmp_path: Path, payload: bytes) -> None:
    file = tmp_path / "params.yaml"
    file.write_bytes(payload)
    try:
        load_incident(file, now=NOW)
    except ParameterError as exc:
        assert str(exc).startswith(f"{file}: ")


def test_dates_from_yaml_are_read_as_times_or_refused() -> None:
    doc = copy.deepcopy(BASE)
    doc["window"] = {"start": dt.datetime(2024, 3, 14, 8, tzinfo=dt.timezone.utc), "end": dt.date(2024, 3, 15)}
    with pytest.raises(ParameterError, match="window.end"):
        parse_incident(_dump(doc), path=PATH, now=NOW)
