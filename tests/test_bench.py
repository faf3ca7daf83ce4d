"""`vgtui bench`: budgets and verdicts on fabricated figures; `--quick` runs every section."""

import importlib.util
import json
import math

import pytest

from vgtui.bench import probe
from vgtui.bench.harness import SECTIONS, Figure, Plan, main, section
from vgtui.bench.probe import interleaved, peer_overhead


def test_figure_checks_its_budget_both_ways():
    assert Figure.check("s", "lag", 9.0, "ms", "<= 10").met is True
    assert Figure.check("s", "lag", 11.0, "ms", "<= 10").met is False
    assert Figure.check("s", "ratio", 0.96, "x", ">= 0.95").met is True
    assert Figure.check("s", "ratio", 0.90, "x", ">= 0.95").met is False


def fabricated(ratio: float) -> dict:
    """One section with one budgeted figure (missed when ratio < 0.95) and one for context."""

    def section(plan: Plan) -> list[Figure]:
        return [
            Figure.check("probe", "every 10 / bare", ratio, "x", ">= 0.95"),
            Figure("probe", "bare loop", 500.0, "steps/s"),
        ]

    return {"probe": section}


def test_check_exits_1_on_a_missed_budget_and_0_when_all_are_met(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["--check", "--out", str(out)], fabricated(0.90)) == 1
    assert [f["met"] for f in json.loads(out.read_text())["figures"]] == [False, None]
    assert main(["--out", str(out)], fabricated(0.90)) == 0  # without --check: no verdict
    assert main(["--check", "--out", str(out)], fabricated(0.96)) == 0


def test_every_section_is_found_by_its_name():
    for name in SECTIONS:
        assert callable(section(name)), name


def test_only_runs_the_sections_named(tmp_path):
    ran = []

    def measure(name: str):
        return lambda plan: ran.append(name) or [Figure(name, "x", 1.0, "s")]

    sections = {name: measure(name) for name in ("probe", "log", "views")}
    out = tmp_path / "bench.json"
    assert main(["--only", "views", "--only", "probe", "--out", str(out)], sections) == 0
    assert ran == ["views", "probe"]
    assert [f["section"] for f in json.loads(out.read_text())["figures"]] == ["views", "probe"]


def test_interleaved_runs_every_runner_alike_each_round_starting_with_the_next():
    calls: list[str] = []
    runners = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    seconds = interleaved(runners, steps=2, rounds=3)
    assert set(seconds) == {"a", "b", "c"} and all(s >= 0 for s in seconds.values())
    warm_up, measured = calls[:9], calls[9:]
    assert warm_up == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert measured == list("aabbcc" + "bbccaa" + "ccaabb")


def test_a_peer_that_is_not_installed_is_skipped_with_a_note(monkeypatch, capsys):
    monkeypatch.setattr(probe, "_installed", lambda module: False)
    assert peer_overhead(Plan.quick()) == []
    err = capsys.readouterr().err
    assert "tensorboard" in err and "wandb" in err and "not installed" in err


@pytest.mark.slow  # about 6 minutes here: `make test-slow`, not `make test`
def test_quick_bench_reports_every_budgeted_figure(tmp_path):
    out = tmp_path / "bench.json"
    code = main(["--quick", "--check", "--out", str(out)])
    report = json.loads(out.read_text())
    figures = report["figures"]
    assert code == (1 if any(f["met"] is False for f in figures) else 0)
    assert report["quick"] is True
    assert all(math.isfinite(f["value"]) for f in figures)
    budgeted = {f["name"] for f in figures if f["budget"] and f["met"] is not None}
    for name in (
        "probe auto / bare",
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
    names = {f["name"] for f in figures}
    for module, name in (("tensorboard", "tensorboard add_histogram / bare"), ("wandb", "wandb")):
        if importlib.util.find_spec(module) is not None:
            assert any(n.startswith(name) for n in names), name
    assert not any("compile" in f["name"] for f in figures)  # --quick leaves torch.compile out
