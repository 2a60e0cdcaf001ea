"""Executed notebooks on their way into the report: runaway outputs are cut, visibly; the incident summary shows."""
from __future__ import annotations

import json

from irlib.report import cap_outputs, index_body


def _nb(outputs: list[dict]) -> dict:
    return {"cells": [{"cell_type": "code", "source": "x", "metadata": {}, "outputs": outputs}]}


def test_a_runaway_output_is_cut_to_its_first_bytes_with_a_note() -> None:
    big_text = "line of output ünïcode\n" * 20_000
    nb = _nb([{"output_type": "stream", "name": "stdout", "text": big_text},
              {"output_type": "display_data", "metadata": {},
               "data": {"text/html": "<table>" + "<tr><td>x</td></tr>" * 20_000 + "</table>",
                        "image/png": "iVBOR" + "A" * 500_000, "text/plain": ["row\n"] * 50_000}},
              {"output_type": "stream", "name": "stdout", "text": "small\n"}])
    assert cap_outputs(nb, 64 * 1024) == 2
    stream, rich, small = nb["cells"][0]["outputs"]
    assert stream["text"].startswith("line of output ünïcode\n") and "cut to its first 64 KB" in stream["text"]
    assert len(stream["text"].encode()) < 66 * 1024
    assert set(rich["data"]) == {"text/plain"} and "limits.output_max_kb" in rich["data"]["text/plain"]
    assert small["text"] == "small\n"
    assert len(json.dumps(nb)) < 3 * 66 * 1024


def test_outputs_under_the_cap_are_untouched() -> None:
    nb = _nb([{"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["a", "b"]}])
    before = json.dumps(nb)
    assert cap_outputs(nb, 1024) == 0 and json.dumps(nb) == before


def test_index_shows_the_incident_summary_escaped() -> None:
    state = {"incident": "INC-1", "title": "t", "summary": "<b>orders</b> 503s since 14:20",
             "window": {"start": "a", "end": "b"}, "started_at": "s", "finished_at": "f", "steps": {}}
    html = index_body(state, [], {}, {})
    assert "&lt;b&gt;orders&lt;/b&gt; 503s since 14:20" in html and "<b>orders" not in html


def test_findings_table_writes_booleans_as_yes_no_and_mappings_as_pairs() -> None:
    from irlib.findings import Finding

    state = {"incident": "INC-1", "title": "t", "window": {"start": "a", "end": "b"}, "steps": {}}
    findings = {"alert_rules_valid": Finding("alert_rules_valid", False, "10", "r"),
                "rollback_target": Finding("rollback_target", {"target": "deployment/orders", "revision": 1,
                                                               "exact": True}, "06", "r")}
    html = index_body(state, [], findings, {})
    assert "<td>alert_rules_valid</td><td>10</td><td>no</td>" in html
    assert "<td>target: deployment/orders; revision: 1; exact: yes</td>" in html
    assert "false" not in html.lower().split("<h2>findings</h2>")[1]
