"""The Grafana dashboard in deploy/grafana/ imports (valid JSON in Grafana's shape) and every
PromQL query in it reads only metrics this process exports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families

import twelve.app.asgi  # noqa: F401  (loads every module, so every metric is registered)
from twelve.kernel.telemetry.metrics import render

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "twelve.json"
FUNCTIONS = {"sum", "max", "min", "avg", "rate", "increase", "histogram_quantile", "label_values"}
KEYWORDS = {"and", "or", "unless", "bool", "offset"}
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported() -> set[str]:
    """Every sample name /metrics can show, even of a family with no series yet."""
    text = render()[0].decode()
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads; fails on a function it does not know."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values
    bare = re.sub(r"\$\w+", "", bare)  # dashboard variables
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # ranges
    bare = re.sub(r"\{[^}]*\}", "", bare)  # matchers
    bare = re.sub(r"(label_values\([^,()]+),\s*\w+\)", r"\1)", bare)  # its label argument
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", bare):
        word = match.group()
        if bare[match.end() :].lstrip().startswith("("):
            assert word in FUNCTIONS, f"unknown PromQL function {word!r} in {expr}"
        elif word not in KEYWORDS:
            names.add(word)
    return names


def queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_the_dashboard_is_grafana_json_with_a_panel_for_each_figure() -> None:
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    assert dashboard["uid"] and dashboard["title"] == "Twelve"
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert len({p["title"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["type"] == "timeseries" and panel["targets"], panel["title"]
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
    shown = set().union(*(metrics_in(e) for e in queries(dashboard)))
    for figure in (
        "twelve_tokens_total",
        "twelve_cost_usd_total",
        "twelve_request_seconds_bucket",
        "twelve_upstream_seconds_bucket",
        "twelve_time_to_first_token_seconds_bucket",
        "twelve_output_tokens_per_second_bucket",
        "twelve_cache_requests_total",
        "twelve_errors_total",
        "twelve_requests_in_flight",
        "twelve_queue_depth",
        "twelve_breaker_state",
        "twelve_gateway_overhead_seconds_bucket",
        "twelve_usage_units_total",
    ):
        assert figure in shown, figure


def test_every_query_reads_only_metrics_the_process_exports() -> None:
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    names = exported()
    for expr in queries(dashboard):
        read = metrics_in(expr)
        assert read, expr
        assert read <= names, (expr, read - names)


def test_the_query_check_catches_a_wrong_name() -> None:
    expr = 'sum by (model) (rate(twelve_tokens{model=~"$model"}[5m]))'
    assert metrics_in(expr) == {"twelve_tokens"}
    assert "twelve_tokens" not in exported()  # a counter is read as twelve_tokens_total
