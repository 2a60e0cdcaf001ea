"""The onset finding as step 01 records it: times in its explanation read as the report writes them."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from irlib.analysis import onset as onset_mod
from irlib.steps import facts


def test_onset_explanation_writes_times_readably(monkeypatch: pytest.MonkeyPatch) -> None:
    at = pd.Timestamp("2026-12-03T17:13:16.865Z")
    est = onset_mod.Onset(at, 0.46, ["error_ratio"], {"error_ratio": at}, ["error_ratio"],
                          f"1 of the 1 signals changed within 2 min of {at.isoformat()}: error_ratio")
    monkeypatch.setattr(onset_mod, "combine_onsets", lambda *a, **k: est)
    monkeypatch.setattr(facts, "onset_signals", lambda _inv: {})
    recorded: dict[str, object] = {}
    inv = SimpleNamespace(finding=lambda _name: None, step="01",
                          record=lambda name, value, summary: recorded.update({name: value}),
                          incident=SimpleNamespace(window=SimpleNamespace(duration=pd.Timedelta("11min"))))
    value = facts._onset(inv)  # type: ignore[arg-type]
    assert value["explanation"] == "1 of the 1 signals changed within 2 min of 2026-12-03 17:13:16 UTC: error_ratio"
    assert recorded["onset"] == value
