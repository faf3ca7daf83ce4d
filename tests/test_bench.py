"""`vgtui bench --quick`: every section runs and reports every figure with its budget."""

import json
import math

import pytest

from vgtui.bench import Figure, main


def test_figure_checks_its_budget_both_ways():
    assert Figure.check("s", "lag", 9.0, "ms", "<= 10").met is True
    assert Figure.check("s", "lag", 11.0, "ms", "<= 10").met is False
    assert Figure.check("s", "ratio", 0.96, "x", ">= 0.95").met is True
    assert Figure.check("s", "ratio", 0.90, "x", ">= 0.95").met is False


@pytest.mark.slow  # about 6 minutes here: `make test-slow`, not `make test`
def test_quick_bench_reports_every_budgeted_figure(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["--quick", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    figures = report["figures"]
    assert all(math.isfinite(f["value"]) for f in figures)
    budgeted = {f["name"] for f in figures if f["budget"] and f["met"] is not None}
    for name in (
        "probe every 10 / bare",
        "probe every 1 / bare",
        "watch every auto / bare",
        "watch every 10 / bare",
        "p99",
        "max",
        "160x50, 10 layers, 1e+03 points",
        "160x50: long / short history",
        "worst",
        "UI growth",
        "trainer growth",
        "dashboard / alone",
        "read_tail / parsing alone",
        "scan throughput",
    ):
        assert name in budgeted, name
    sections = {f["section"] for f in figures}
    assert any("trainer thread" in s for s in sections)  # the contrast row is there
    assert report["machine"]["cpus"] >= 1
