"""Severity classification and the status updates built from it."""
from __future__ import annotations

import json
from dataclasses import asdict

import pandas as pd
import pytest

from irlib.analysis.severity import SeverityInputs, classify_severity
from irlib.analysis.status import internal_update, next_update_at, status_page_text

AS_OF = pd.Timestamp("2026-03-01T11:30:00Z")


def test_outage_is_p0_with_reasons() -> None:
    sev = classify_severity(SeverityInputs(peak_error_ratio=0.82, availability=0.0, revenue_critical=True))
    assert sev.level == "P0" and not sev.overridden
    assert sev.response_time == "15 min" and sev.update_minutes == 30
    text = " ".join(sev.reasons)
    assert "availability 0.0%" in text and "82.0%" in text and "revenue-critical" in text
    json.dumps(asdict(sev))


def test_revenue_critical_feature_failing_is_p0() -> None:
    assert classify_severity(SeverityInputs(peak_error_ratio=0.2, availability=1.0, revenue_critical=True)).level \
        == "P0"
    assert classify_severity(SeverityInputs(peak_error_ratio=0.2, availability=1.0)).level == "P1"


@pytest.mark.parametrize("inputs", [SeverityInputs(data_loss=True), SeverityInputs(breach_suspected=True),
                                    SeverityInputs(services_down=["payments"])])
def test_data_loss_breach_or_service_down_is_p0(inputs: SeverityInputs) -> None:
    assert classify_severity(inputs).level == "P0"


def test_significant_impact_is_p1_and_minor_is_p2() -> None:
    p1 = classify_severity(SeverityInputs(peak_error_ratio=0.01, availability=0.9, affected_fraction=0.25))
    assert p1.level == "P1" and p1.response_time == "1 h" and "25.0%" in p1.reasons[0]
    assert classify_severity(SeverityInputs(vulnerability_exposed=True)).level == "P1"
    p2 = classify_severity(SeverityInputs(peak_error_ratio=0.01, availability=1.0, affected_fraction=0.02,
                                          workaround=True))
    assert p2.level == "P2" and p2.update_cadence == "every 4 h" and "workaround" in " ".join(p2.reasons)


def test_unmeasured_evidence_is_said_not_assumed() -> None:
    sev = classify_severity(SeverityInputs())
    assert sev.level == "P2" and "not measured: error ratio, availability, affected fraction" in sev.reasons[-1]


def test_thresholds_from_parameters_apply() -> None:
    inputs = SeverityInputs(peak_error_ratio=0.03)
    assert classify_severity(inputs).level == "P2"
    assert classify_severity(inputs, {"error_ratio_p1": 0.02}).level == "P1"


def test_override_wins_and_says_so() -> None:
    sev = classify_severity(SeverityInputs(peak_error_ratio=0.9), override="P1")
    assert sev.level == "P1" and sev.overridden and sev.evidence_level == "P0"
    assert sev.reasons[0].startswith("overridden to P1 by the parameters (the evidence alone says P0)")
    with pytest.raises(ValueError):
        classify_severity(SeverityInputs(), override="SEV1")


def test_internal_update_has_every_field_and_the_cadence() -> None:
    sev = classify_severity(SeverityInputs(peak_error_ratio=0.9))
    text = internal_update(incident_id="inc-42", title="checkout <script>", severity=sev, status="identified",
                           impact="82% of checkouts fail", current_action="rolling back *checkout*",
                           as_of=AS_OF, onset=pd.Timestamp("2026-03-01T11:15:00Z"))
    assert "[P0] inc-42: checkout &lt;script&gt; (IDENTIFIED)" in text
    assert "**Next update:** 12:00 UTC" in text and "**ETA:** unknown" in text
    assert r"rolling back \*checkout\*" in text and "**Started:** 2026-03-01 11:15 UTC" in text
    assert next_update_at(AS_OF, sev) == pd.Timestamp("2026-03-01T12:00:00Z")
    with pytest.raises(ValueError):
        internal_update(incident_id="i", title="t", severity=sev, status="panicking", impact="", current_action="",
                        as_of=AS_OF)


def test_status_page_text_is_plain_and_timed() -> None:
    sev = classify_severity(SeverityInputs(peak_error_ratio=0.1))
    text = status_page_text(service="Checkout", status="monitoring", as_of=AS_OF, severity=sev,
                            user_impact="Some payments failed", eta=pd.Timestamp("2026-03-01T12:10:00Z"))
    assert "A fix has been applied to Checkout" in text and "restored by 12:10 UTC" in text
    assert "Next update by 12:30 UTC" in text
    done = status_page_text(service="Checkout", status="resolved", as_of=AS_OF, severity=sev)
    assert "have been resolved" in done and "Next update" not in done
