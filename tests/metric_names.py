"""The names of the metrics the services expose, and those a PromQL expression uses, for the tests that
hold the alert rules and the dashboard to what /metrics really has."""

from __future__ import annotations

import importlib
import re

from prometheus_client import REGISTRY

from efrikort.infra.paths import repo_root

_METRIC = re.compile(r"\befrikort_[a-z0-9_]+\b")


def exposed_metric_names() -> set[str]:
    """Every series name (`_total`, `_bucket`, `_count` and so on included) declared by the runtime and by
    a service's own metrics module: what each service's GET /metrics lists."""
    importlib.import_module("runtime.metrics")
    for module in sorted(repo_root().glob("services/*/*/metrics.py")):
        importlib.import_module(f"{module.parent.name}.metrics")
    names: set[str] = set()
    for collector in list(REGISTRY._collector_to_names):
        names.update(REGISTRY._collector_to_names[collector])
    return {name for name in names if name.startswith("efrikort_")}


def metrics_in(promql: str) -> set[str]:
    """The e-frikort metric names an expression reads."""
    return set(_METRIC.findall(promql))
