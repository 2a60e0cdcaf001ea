"""The registry of sources, written out in one place.

Modules are imported when a source is first used (the Kubernetes and SQL client libraries are slow to import and
most notebooks need only some sources).
"""
from __future__ import annotations

import importlib

REGISTRY: dict[str, str] = {
    "kubernetes": "irlib.sources.kubernetes:KubernetesSource",
    "prometheus": "irlib.sources.prometheus:PrometheusSource",
    "sql": "irlib.sources.sql:SqlSource",
    "logs": "irlib.sources.logs:LogSource",
    "git": "irlib.sources.git:GitSource",
}


def source_class(name: str) -> type:
    """The class registered under ``name``."""
    module, _, attr = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attr)
