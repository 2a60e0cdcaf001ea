"""The twelve runbook steps: number, notebook name, title, and the stage each runs in.

Stages order a batch run: the evidence steps first (they snapshot what expires), the steps that build on their
findings next, the postmortem last.  Within a stage, steps run in parallel (``--jobs``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    number: str
    slug: str
    title: str
    stage: int

    @property
    def notebook(self) -> str:
        return f"{self.number}-{self.slug}.ipynb"

    @property
    def name(self) -> str:
        return f"{self.number}-{self.slug}"


STEPS: tuple[Step, ...] = (
    Step("01", "assessment", "Assessment and severity", 1),
    Step("02", "troubleshooting", "Troubleshooting", 1),
    Step("03", "deep-debugging", "Deep debugging", 1),
    Step("04", "performance", "Performance", 1),
    Step("05", "database", "Database", 1),
    Step("09", "security", "Security", 1),
    Step("06", "fix", "Fix and mitigation", 2),
    Step("07", "deployment", "Deployment", 2),
    Step("08", "stabilization", "Stabilization", 2),
    Step("10", "monitoring", "Monitoring", 2),
    Step("11", "regression-tests", "Regression tests", 2),
    Step("12", "postmortem", "Postmortem", 3),
)
EVIDENCE_STEPS: tuple[str, ...] = ("01", "02", "03", "04", "05", "09", "12")
BY_NUMBER = {s.number: s for s in STEPS}


def select_steps(spec: str | list[str] | None) -> list[Step]:
    """Steps named in ``spec`` ("01,02" or a list; None = all), in catalogue (stage) order."""
    if spec is None or spec == "" or spec == []:
        return list(STEPS)
    wanted = [s.strip().zfill(2) for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    unknown = [w for w in wanted if w not in BY_NUMBER]
    if unknown:
        from .errors import ParameterError
        raise ParameterError(f"unknown step(s) {', '.join(unknown)}; steps are {', '.join(sorted(BY_NUMBER))}",
                             key="--steps")
    return [s for s in STEPS if s.number in wanted]
