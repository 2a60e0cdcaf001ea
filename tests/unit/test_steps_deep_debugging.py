"""Step 03's new-or-surging table and sentence: honest about templates first seen just before the onset."""
from __future__ import annotations

import numpy as np
import pandas as pd

from irlib.steps.deep_debugging import surging_sentence, surging_table

ONSET = pd.Timestamp("2026-12-03 17:13:16", tz="UTC")


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "template_id": ["a", "b", "c"], "template": ["x <*>", "y", "z"], "level": ["ERROR", "", "INFO"],
        "before_count": [0, 2, 3], "after_count": [10, 56, 12],
        "before_rate_per_min": [0.0, 2.0, 1.0], "after_rate_per_min": [2.0, 7.0, 3.0],
        "rate_ratio": [np.inf, np.inf, 3.0], "is_new": [True, True, False]})


def test_sentence_counts_add_up_to_the_rows() -> None:
    assert surging_sentence(_table()) == "3 templates are new or surging: 2 new, 1 at least doubled its rate."


def test_table_says_new_within_precision_instead_of_inf() -> None:
    first = pd.DataFrame({"template_id": ["a", "b", "c"],
                          "first_seen": [ONSET + pd.Timedelta(seconds=33), ONSET - pd.Timedelta(seconds=40),
                                         ONSET - pd.Timedelta(minutes=9)]})
    shown = surging_table(_table(), first, ONSET, pd.Timedelta(minutes=1))
    assert "rate_ratio" not in shown.columns and "is_new" not in shown.columns
    assert list(shown["change"]) == [
        "new", "new (first seen 40 s before the estimated onset, within its 1-minute precision)", "×3"]
    assert shown["first_seen"].iloc[1] == "2026-12-03 17:12:36 UTC"
