"""Step 11's error-ratio threshold: rounded, and traceable to steps 07 and 10."""
from __future__ import annotations

import pandas as pd

from irlib.steps.regression import error_ratio_threshold


def test_midpoint_threshold_is_rounded_and_says_how_it_relates_to_steps_07_and_10() -> None:
    base, after = pd.Series([0.0, 0.001, 0.0013]), pd.Series([0.15, 0.185, 0.2])
    skipped = ["error_ratio: a rule at 0.028 would first fire at 17:15:00 UTC, after the alert that already fired"]
    threshold, note = error_ratio_threshold(base, after, [], skipped, 0.05)
    assert threshold == 0.09
    assert "midway between the pre-onset maximum 0.0013 and the incident median 0.185" in note
    assert "Step 10 derived no error-ratio rule: a rule at 0.028 would first fire" in note
    assert "thresholds.error_ratio_p1) is 0.05" in note


def test_step_10_rule_threshold_is_used_and_named() -> None:
    rules = [{"signal": "error_ratio", "threshold": 0.028, "alert": "OrdersErrorRatioHigh", "explanation": "e"}]
    threshold, note = error_ratio_threshold(pd.Series([0.0]), pd.Series([0.2]), rules, [], 0.05)
    assert threshold == 0.028 and "step 10's alert rule OrdersErrorRatioHigh" in note
