"""etc/grafana-dashboard.json: its shape, and every query against what futurist really serves.

Each metric name a query uses must be a sample name of a real scrape (so a counter is read with
its ``_total`` and a histogram through its ``_bucket``), counters and buckets only under
``rate``, gauges never, and percentiles from ``histogram_quantile`` over buckets summed by
``le``. promtool, where installed, parses every query.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.metrics.endpoint import scrape

DASHBOARD = Path(__file__).parents[2] / "etc" / "grafana-dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
NAME = re.compile(r"\bfuturist_\w+")
RATED = re.compile(r"\brate\((futurist_\w+)")
QUANTILE = re.compile(
    r"histogram_quantile\(0\.\d+, sum by \((?P<by>[^)]*)\) "
    r"\(rate\(futurist_\w+_bucket\{[^}]*\}\[\$__rate_interval\]\)\)\)"
)
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$executor": ".*"}


def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


def queries() -> list[str]:
    """Every panel target's PromQL expression."""
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def variable_queries() -> list[str]:
    """The queries of the dashboard's query variables (Grafana's ``label_values``)."""
    return [
        variable["query"]["query"]
        for variable in dashboard()["templating"]["list"]
        if variable["type"] == "query"
    ]


def sample_types(url: str) -> dict[str, str]:
    """The type of the family of every sample name one scrape of ``url`` returns."""
    return {
        sample.name: family.type
        for family in text_string_to_metric_families(scrape(url))
        for sample in family.samples
    }


def test_the_dashboard_has_panels_with_targets_on_a_datasource_variable() -> None:
    document = dashboard()
    variables = {variable["name"]: variable for variable in document["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["executor"]["datasource"] == DATASOURCE
    panels = document["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels) >= 6
    for panel in panels:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        references = [target["refId"] for target in panel["targets"]]
        assert len(set(references)) == len(references), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert '{executor=~"$executor"}' in target["expr"], target["expr"]


def test_every_name_a_query_uses_is_served_with_its_type_s_suffix(url: str) -> None:
    types = sample_types(url)
    used = {name for query in queries() + variable_queries() for name in NAME.findall(query)}
    assert used - types.keys() == set()
    kinds = {types[name] for name in used}
    assert kinds == {"gauge", "counter", "histogram"}


def test_counters_and_buckets_are_rated_and_gauges_are_not(url: str) -> None:
    types = sample_types(url)
    for query in queries() + variable_queries():
        rated = set(RATED.findall(query))
        for name in NAME.findall(query):
            if name in rated:
                assert types[name] in {"counter", "histogram"}, query
            else:
                assert types[name] == "gauge", query


def test_percentiles_come_from_buckets_summed_by_le() -> None:
    bucketed = [query for query in queries() if "_bucket" in query]
    assert len(bucketed) == 4
    for query in bucketed:
        matched = QUANTILE.fullmatch(query)
        assert matched is not None, query
        assert "le" in matched["by"].replace(" ", "").split(","), query


def test_promtool_parses_every_query(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found: install Debian's prometheus package (make test does)")
    rules = []
    for number, query in enumerate(queries()):
        expression = query
        for variable, value in GRAFANA_VARIABLES.items():
            expression = expression.replace(variable, value)
        rules.append({"record": f"futurist:dashboard_query_{number}", "expr": expression})
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
