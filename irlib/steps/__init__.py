"""Step glue: one function per notebook question, each fetching through the investigation, calling the pure
analysis functions, recording findings, and returning an :class:`~irlib.display.Answer`.

Notebooks call these and nothing else; the analysis itself lives in :mod:`irlib.analysis` and :mod:`irlib.logs`.
"""
from . import (assessment, common, database, deep_debugging, deployment, fix, monitoring, performance,
               postmortem, regression, security, stabilization, troubleshooting)

__all__ = ["assessment", "common", "database", "deep_debugging", "deployment", "fix", "monitoring", "performance",
           "postmortem", "regression", "security", "stabilization", "troubleshooting"]
