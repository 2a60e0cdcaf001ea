"""The secrets corpus: every fake secret planted in every context must be redacted; look-alikes must survive."""
from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import yaml

from irlib.redact import Redactor
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "secrets" / "corpus.yaml"
NEGATIVES = FIXTURES / "secrets" / "negatives.yaml"
REAL_LOGS = sorted((FIXTURES / "secrets").glob("*.log"))


def _secrets() -> list[dict[str, Any]]:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["secrets"]


def _fragments(secret: str) -> list[str]:
    """What must not survive: the secret, and each long line of a multi-line secret (a PEM body line)."""
    return [secret, secret.replace("\n", "\\n")] + [line for line in secret.splitlines() if len(line) >= 16 and "-----" not in line]


def _leaks(secrets: list[dict[str, Any]], dumped: str) -> list[str]:
    return [f"{s['kind']}: {s['value'][:24]}..." for s in secrets
            if any(fragment in dumped for fragment in _fragments(s["value"]))]


def _strings(obj: Any) -> list[str]:
    """Every string inside a nested structure, unescaped (a JSON dump would hide a leak behind escapes)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [t for k, v in obj.items() for t in _strings(k) + _strings(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _strings(v)]
    return []


def _notebook(secrets: list[dict[str, Any]]) -> dict[str, Any]:
    cells: list[dict[str, Any]] = [{"cell_type": "code", "metadata": {"tags": ["injected-parameters"]},
                                    "source": [f"env_{i} = {s['contexts']['env']!r}\n" for i, s in enumerate(secrets)],
                                    "outputs": [], "execution_count": 1}]
    for s in secrets:
        ctx = s["contexts"]
        cells.append({"cell_type": "markdown", "metadata": {}, "source": ctx["annotation"]})
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": 2, "source": f"q = {ctx['sql']!r}",
                      "outputs": [
                          {"output_type": "stream", "name": "stdout", "text": ctx["log"].splitlines(keepends=True)},
                          {"output_type": "execute_result", "execution_count": 2, "metadata": {},
                           "data": {"text/plain": [ctx["sql"]], "text/html": f"<td>{ctx['annotation']}</td>",
                                    "application/json": {ctx["label"]["key"]: ctx["label"]["value"]}}},
                          {"output_type": "error", "ename": "OperationalError", "evalue": ctx["log"],
                           "traceback": ["Traceback (most recent call last):", ctx["env"]]}]})
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"papermill": {"parameters": {f"env_{i}": s["contexts"]["env"] for i, s in enumerate(secrets)}}}}


def _frame(secrets: list[dict[str, Any]]) -> pd.DataFrame:
    ctx = [s["contexts"] for s in secrets]
    return pd.DataFrame({
        "message": [c["log"] for c in ctx],
        "query": pd.Series([c["sql"] for c in ctx], dtype="string"),
        "labels": [{c["label"]["key"]: c["label"]["value"], "namespace": "payments"} for c in ctx],
        "annotation": pd.Series([c["annotation"] for c in ctx], dtype="category"),
        "env": [[c["env"], "LOG_LEVEL=debug"] for c in ctx],
    })


def test_corpus_is_large_and_varied() -> None:
    secrets = _secrets()
    assert len(secrets) >= 40
    assert len({s["kind"] for s in secrets}) >= 8
    for s in secrets:
        assert set(s["contexts"]) == {"log", "sql", "label", "annotation", "env"}, s["kind"]
        planted = [s["contexts"][k] for k in ("log", "sql", "annotation", "env")] + [s["contexts"]["label"]["value"]]
        forms = (s["value"], s["value"].replace("\n", "\\n"))  # a log line carries a PEM block JSON-escaped
        assert all(any(form in text for form in forms) for text in planted), s["kind"]


def test_no_planted_secret_survives_anywhere() -> None:
    secrets = _secrets()
    redactor = Redactor(key=b"run-key")
    frame = redactor.frame(_frame(secrets))
    notebook = redactor.notebook(_notebook(secrets))
    alert = redactor.json_value({"alerts": [{"labels": {s["contexts"]["label"]["key"]: s["contexts"]["label"]["value"]},
                                             "annotations": {"description": s["contexts"]["annotation"]}}
                                            for s in secrets]})
    label_columns = redactor.frame(pd.DataFrame({s["contexts"]["label"]["key"]: [s["contexts"]["label"]["value"]]
                                                 for s in secrets if s["contexts"]["label"]["key"] != "detail"}))
    dumped = "\n".join(_strings([frame.to_dict("list"), notebook, alert, label_columns.to_dict("list")]))
    planted = len(secrets) * 5
    leaked = _leaks(secrets, dumped)
    print(f"planted {planted} ({len(secrets)} secrets x 5 contexts, {len({s['kind'] for s in secrets})} kinds), "
          f"leaked {len(leaked)}")
    assert leaked == []
    assert sum(redactor.counts.values()) >= planted


@pytest.mark.parametrize("context", ["log", "sql", "annotation", "env"])
def test_each_text_context_alone(context: str) -> None:
    secrets = _secrets()
    redactor = Redactor(key=b"k")
    dumped = "\n".join(redactor.text(s["contexts"][context]) for s in secrets)
    leaked = _leaks(secrets, dumped)
    print(f"{context}: planted {len(secrets)}, leaked {len(leaked)}")
    assert leaked == []


def test_same_secret_same_placeholder_across_contexts() -> None:
    redactor = Redactor(key=b"k")
    jwt = next(s for s in _secrets() if s["kind"] == "jwt")
    placeholders = {redactor.text(jwt["contexts"][c]).split("[REDACTED:")[1].split("]")[0]
                    for c in ("log", "sql", "annotation", "env")}
    assert len(placeholders) == 1


def test_look_alikes_survive() -> None:
    negatives = yaml.safe_load(NEGATIVES.read_text(encoding="utf-8"))
    redactor = Redactor(key=b"k")
    changed = [t for t in negatives["text"] if redactor.text(t) != t]
    changed += [str(labels) for labels in negatives["labels"] if redactor.json_value(labels) != labels]
    frame = pd.DataFrame({"message": negatives["text"]})
    labels = pd.DataFrame(negatives["labels"])
    assert redactor.frame(frame).equals(frame)
    assert redactor.frame(labels).equals(labels)
    print(f"look-alikes: {len(negatives['text']) + len(negatives['labels'])}, changed {len(changed)}")
    assert changed == []
    assert not redactor.counts


def test_real_logs_are_left_intact() -> None:
    assert len(REAL_LOGS) == 3
    redactor = Redactor(key=b"k")
    lines = [line for path in REAL_LOGS for line in path.read_text(encoding="utf-8").splitlines()]
    frame = pd.DataFrame({"message": lines})
    assert redactor.frame(frame).equals(frame)
    assert [line for line in lines if redactor.text(line) != line] == []
    assert len(lines) == 1100 and not redactor.counts
