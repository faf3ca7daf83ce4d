"""`vgtui report`: the sections of real logs, A/B overlays, page sizes, colour, and bad input."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from vgtui.cli import main as cli_main
from vgtui.core.text import fmt_num
from vgtui.report import Page, Run, render, run_names, strip_ansi
from vgtui.report.charts import decimate, nice_ticks
from vgtui.report.runs import pick
from vgtui.report.sections import (
    section_act_stds,
    section_grad_norms,
    section_histograms,
    section_last_table,
    section_training,
)
from vgtui.runlog.codec import read_log

FIXTURES = Path(__file__).parent / "fixtures"
AB = [str(FIXTURES / "sigmoid_xavier_spiral.jsonl"), str(FIXTURES / "relu_he_spiral.jsonl")]
SHORT = ["--steps", "30", "--every", "10", "--depth", "3", "--width", "8", "--device", "cpu"]
LAYERS = ["layer1", "layer2", "layer3", "output"]
HEADINGS = [
    "Loss and accuracy",
    "Gradient norm per layer (log)",
    "Activation std per layer (log)",
    "Activation histograms, last snapshot",
    "Layers at the last snapshot",
    "Events",
    "Diagnosis",
]
ESC = "\x1b"
PLAIN = Page(80, 20, color=False)


def _headless(*flags: str) -> str:
    """Run ``vgtui --headless`` in this process; its standard output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["--headless", *SHORT, *flags]) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def short_log(tmp_path_factory) -> Path:
    """A real 30-step sigmoid/xavier run on xor: 3 hidden layers and the output layer."""
    path = tmp_path_factory.mktemp("logs") / "short.jsonl"
    _headless("--dataset", "xor", "--log", str(path))
    return path


@pytest.fixture(scope="module")
def forward_only_log(tmp_path_factory) -> Path:
    """The random dataset's forward-only run: no loss, no gradients."""
    path = tmp_path_factory.mktemp("logs") / "random.jsonl"
    _headless("--dataset", "random", "--log", str(path))
    return path


def _run(path: Path | str, name: str = "run") -> Run:
    return Run(name, str(path), read_log(path))


def main(argv: list[str]) -> int:
    """``vgtui report ARGV``."""
    return cli_main(["report", *argv])


def _report(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def legend(text: str) -> list[tuple[str, str]]:
    """(marker, label) of every legend entry plotext drew: ``│ 1 layer1 │``."""
    return re.findall(r"│ (\S) ([^│]+?) +│", text)


def _canvas(text: str) -> str:
    """The chart's plotting area: the characters left of the legend box on each line."""
    return "\n".join(line.split("┌")[0].split("│ ")[0] for line in text.splitlines())


# -- the sections of a short real run ------------------------------------------------------------


def test_the_report_of_a_short_run_has_every_section(short_log, capsys):
    code, out, err = _report(capsys, str(short_log), "--width", "80", "--height", "20")
    assert code == 0 and err == ""
    positions = [out.index(heading) for heading in HEADINGS]
    assert positions == sorted(positions), "the sections come in their order"
    assert "sigmoid/xavier" in out and "4 snapshots, steps 1-30" in out
    assert "ended at step 30: done" in out
    assert "healthy" in out[out.index("Diagnosis") :]  # 3 sigmoid layers: nothing vanishes yet


def test_the_diagnosis_names_the_vanishing_layers_of_a_deep_sigmoid_net(capsys):
    code, out, _ = _report(capsys, AB[0], "--width", "100")
    assert code == 0
    diagnosis = out[out.index("Diagnosis") :]
    assert "vanishing" in diagnosis and "layers 1-" in diagnosis


@pytest.mark.parametrize("section", [section_grad_norms, section_act_stds])
def test_layer_charts_draw_one_series_per_layer(short_log, section):
    text = section([_run(short_log)], PLAIN)
    entries = legend(text)
    assert [label for _, label in entries] == LAYERS
    canvas = _canvas(text)
    for marker, _ in entries:  # every layer's curve is on the canvas, drawn with its marker
        assert canvas.count(marker) >= 5, marker


def test_histograms_and_table_name_every_layer(short_log):
    run = _run(short_log)
    histograms = section_histograms([run], PLAIN)
    assert re.findall(r"(\w+)  std ", histograms) == LAYERS
    table = section_last_table([run], PLAIN)
    rows = [w[0] for w in map(str.split, table.splitlines()) if w and w[0] in LAYERS]
    assert rows == LAYERS


def test_the_table_holds_the_last_snapshots_numbers(short_log):
    """Gradient norms and their ratio to the output layer's, from the raw JSON by hand."""
    lines = short_log.read_text().splitlines()
    last = [json.loads(x) for x in lines if json.loads(x)["type"] == "snapshot"][-1]
    table = section_last_table([_run(short_log)], PLAIN)
    out_grad = last["layers"][-1]["grad_norm"]
    for layer in last["layers"]:
        row = next(x.split() for x in table.splitlines() if x.startswith(layer["name"] + " "))
        assert row[1] == fmt_num(layer["grad_norm"])
        assert row[2] == fmt_num(layer["grad_norm"] / out_grad)
        assert row[3] == fmt_num(layer["act"]["std"])


def test_the_training_chart_has_train_loss_and_accuracy(short_log):
    text = section_training([_run(short_log)], PLAIN)
    assert "loss" in text and "accuracy" in text and "100%" in text
    assert [label for _, label in legend(text)] == ["train", "train"]


# -- several logs --------------------------------------------------------------------------------


def test_two_logs_overlay_named_by_their_configs(capsys):
    code, out, _ = _report(capsys, *AB, "--width", "80")
    assert code == 0
    training = out[out.index("Loss and accuracy") : out.index("Gradient norm")]
    labels = [label for _, label in legend(training)]
    assert "train sigmoid/xavier" in labels and "train relu/he" in labels
    assert "val sigmoid/xavier" in labels and "val relu/he" in labels
    grads = out[out.index("Gradient norm") : out.index("Activation std")]
    assert "sigmoid/xavier" in grads and "relu/he" in grads  # one titled panel per run
    assert len(legend(grads)) == 2 * 11  # every layer of both 11-layer runs


def test_run_names_come_from_the_configs_that_differ():
    a = {"activation": "sigmoid", "init": "xavier", "lr": 0.1, "device": "cpu"}
    b = {"activation": "relu", "init": "he", "lr": 0.1, "device": "cuda"}
    assert run_names([a, b], ["a.jsonl", "b.jsonl"]) == ["sigmoid/xavier", "relu/he"]
    assert run_names([a, {**a, "lr": 0.01}], ["a.jsonl", "b.jsonl"]) == ["lr=0.1", "lr=0.01"]
    assert run_names([a, a], ["x/one.jsonl", "y/two.jsonl"]) == ["one", "two"]
    assert run_names([a, a], ["x/r.jsonl", "y/r.jsonl"]) == ["r (1)", "r (2)"]
    assert run_names([a], ["a.jsonl"]) == ["sigmoid/xavier"]
    assert run_names([{}], ["mine.jsonl"]) == ["mine"]


# -- the page: width, colour, files --------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 120, 160])
@pytest.mark.parametrize("color", [False, True])
def test_no_line_is_wider_than_the_page(short_log, width, color):
    for runs in ([_run(short_log)], [_run(p, n) for p, n in zip(AB, "AB", strict=True)]):
        text = strip_ansi(render(runs, Page(width, 20, color)))
        assert max(len(line) for line in text.splitlines()) <= width
        assert (ESC in render(runs, Page(width, 20, color))) == color


def test_no_color_and_a_pipe_give_plain_text(short_log, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    out_file = tmp_path / "report.txt"
    assert main([str(short_log), "--out", str(out_file)]) == 0
    assert ESC in out_file.read_text(), "--out keeps colour unless told otherwise"
    assert main([str(short_log), "--out", str(out_file), "--plain"]) == 0
    assert ESC not in out_file.read_text()
    _, out, _ = _report(capsys, str(short_log))  # captured standard output: not a terminal
    assert ESC not in out and "Gradient norm per layer" in out
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert main([str(short_log), "--out", str(out_file)]) == 0
    plain = out_file.read_text()
    assert ESC not in plain and all(h in plain for h in HEADINGS)


def test_sizes_follow_the_terminal_unless_given(short_log, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("LINES", "30")
    _, out, _ = _report(capsys, str(short_log))
    assert max(len(line) for line in out.splitlines()) == 100
    _, out, _ = _report(capsys, str(short_log), "--width", "90")
    assert max(len(line) for line in out.splitlines()) == 90


# -- bad input -----------------------------------------------------------------------------------

HEADER = {"type": "run", "version": 1, "config": {}, "layers": [], "started": "now"}


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (None, 2, "no such file"),
        ("hello\n", 2, "line 1 is not a run log record"),
        ('{"type":"end","step":1,"reason":"done"}\n', 2, "starts with its run header"),
        (json.dumps({**HEADER, "version": 99}) + "\n", 2, "version 99 is not one this vgtui"),
        ("", 2, "is empty"),
        (json.dumps(HEADER) + "\n", 1, "no snapshots"),
    ],
    ids=["missing", "not-a-log", "no-header", "newer-version", "empty", "no-snapshots"],
)
def test_bad_logs_are_one_line_and_an_exit_code(tmp_path, capsys, content, code, message):
    path = tmp_path / "x.jsonl"
    if content is not None:
        path.write_text(content)
    got, out, err = _report(capsys, str(path))
    assert got == code and out == ""
    assert err.count("\n") == 1 and message in err and str(path) in err


def test_a_directory_is_one_line_exit_2(tmp_path, capsys):
    code, _, err = _report(capsys, str(tmp_path))
    assert code == 2 and "is a directory" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv", [[], ["--width", "10", "x"], ["--height", "abc", "x"]], ids=["no-log", "narrow", "nan"]
)
def test_bad_flags_are_one_line_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vgtui report: error:")


def test_broken_lines_are_skipped_and_counted(short_log, tmp_path, capsys):
    lines = short_log.read_text().splitlines(keepends=True)
    path = tmp_path / "broken.jsonl"
    path.write_text("".join([lines[0], "{not json\n", *lines[1:], '{"type":"snapshot"']))
    code, out, _ = _report(capsys, str(path), "--width", "80")
    assert code == 0
    assert "2 broken lines skipped" in out[: out.index("Loss and accuracy")]
    assert "4 snapshots" in out


def test_a_forward_only_log_omits_loss_and_gradients_with_a_note(forward_only_log, capsys):
    code, out, _ = _report(capsys, str(forward_only_log), "--width", "80")
    assert code == 0
    training = out[out.index("Loss and accuracy") : out.index("Gradient norm")]
    assert "Not drawn" in training and "forward-only" in training and "┌" not in training
    grads = out[out.index("Gradient norm") : out.index("Activation std")]
    assert "Not drawn" in grads and "┌" not in grads
    stds = out[out.index("Activation std") : out.index("Activation histograms")]
    assert [label for _, label in legend(stds)] == LAYERS


# -- run log v2: a layer whose forward did not run (act null) ------------------------------------


def test_a_layer_without_activation_statistics(short_log):
    """Built by hand: layer3 never has ``act`` (an attention's out_proj), layer2 misses it once."""
    log = read_log(short_log)
    snaps = []
    for i, snap in enumerate(log.snapshots):
        layers = list(snap.layers)
        layers[2] = dataclasses.replace(layers[2], act=None)
        if i == 1:
            layers[1] = dataclasses.replace(layers[1], act=None)
        snaps.append(dataclasses.replace(snap, layers=layers))
    log.snapshots[:] = snaps
    runs = [Run("v2", "memory", log)]
    text = render(runs, PLAIN)
    stds = section_act_stds(runs, PLAIN)
    assert [label for _, label in legend(stds)] == ["layer1", "layer2", "output"]
    assert "no value at any snapshot: layer3" in stds
    assert "no value at some snapshots (a gap): layer2" in stds
    assert [label for _, label in legend(section_grad_norms(runs, PLAIN))] == LAYERS
    histograms = section_histograms(runs, PLAIN)
    assert re.findall(r"(\w+)  std ", histograms) == ["layer1", "layer2", "output"]
    assert "layer3: no activation statistics at step 30" in histograms
    row = next(x.split() for x in text.splitlines() if x.startswith("layer3 "))
    assert row[3] == "-"


def test_a_deep_net_draws_twelve_layers_evenly_spaced(short_log):
    """15 layers, made by hand from a real snapshot's: 12 curves, the first and the last among
    them, and a note saying so; the histograms show evenly spaced layers too."""
    log = read_log(short_log)
    names = [f"l{i}" for i in range(15)]
    log.snapshots[:] = [
        dataclasses.replace(
            snap,
            layers=[dataclasses.replace(snap.layers[i % 4], name=n) for i, n in enumerate(names)],
        )
        for snap in log.snapshots
    ]
    log.header = dataclasses.replace(
        log.header,
        layers=[dataclasses.replace(log.header.layers[0], name=n) for n in names],
    )
    runs = [Run("deep", "memory", log)]
    text = section_grad_norms(runs, PLAIN)
    labels = [label for _, label in legend(text)]
    assert len(labels) == 12 and labels[0] == "l0" and labels[-1] == "l14"
    assert "12 of 15 layers, evenly spaced" in text
    histograms = section_histograms(runs, PLAIN)
    shown = re.findall(r"(l\d+)  std ", histograms)
    assert shown[0] == "l0" and shown[-1] == "l14" and len(shown) < 15
    assert f"15 layers: showing {len(shown)}" in histograms


# -- the headless mode's --report ----------------------------------------------------------------


def test_headless_report_prints_the_report_at_the_end():
    out = _headless("--dataset", "xor", "--report")
    assert out.index("done after 30 steps") < out.index("Gradient norm per layer")
    assert all(h in out for h in HEADINGS) and ESC not in out


def test_headless_report_of_a_diverged_run():
    argv = ["--dataset", "xor", "--activation", "relu", "--init", "he", "--lr", "1000"]
    argv += ["--depth", "6", "--width", "16"]  # diverges at step 4 (seed 0)
    out = _headless(*argv, "--report")
    events = out[out.index("Events") :]
    assert "diverged: loss became nan" in events and "ended at step" in events


def test_report_needs_headless(capsys):
    assert cli_main(["--report"]) == 2
    assert "--report needs --headless" in capsys.readouterr().err


# -- the pieces ----------------------------------------------------------------------------------


def test_pick_spaces_layers_evenly_first_and_last_included():
    assert pick(4, 6) == [0, 1, 2, 3]
    assert pick(11, 3) == [0, 5, 10]
    assert pick(21, 12)[0] == 0 and pick(21, 12)[-1] == 20 and len(pick(21, 12)) == 12


def test_decimate_keeps_bucket_means_and_gaps():
    x = np.arange(8.0)
    y = np.array([1.0, 3.0, math.nan, math.nan, 2.0, 4.0, 5.0, 7.0])
    xs, ys = decimate(x, y, 4)
    assert xs.tolist() == [0.5, 2.5, 4.5, 6.5]
    assert ys[0] == 2.0 and math.isnan(ys[1]) and ys[2] == 3.0 and ys[3] == 6.0
    assert decimate(x, y, 8)[1] is y  # short enough: unchanged


def test_nice_ticks_are_round_and_few():
    assert nice_ticks(1, 480, 4, whole=True) == [100, 200, 300, 400]
    assert nice_ticks(1, 4, 8, whole=True) == [1, 2, 3, 4]
    assert nice_ticks(-0.1, 0.1, 5) == pytest.approx([-0.1, -0.05, 0, 0.05, 0.1])


def test_headless_json_keeps_standard_output_for_the_summary(capsys):
    assert cli_main(["--headless", *SHORT, "--dataset", "xor", "--json", "--report"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["steps"] == 30
    assert "Gradient norm per layer" in captured.err
