"""The command line: flags, errors, --list, headless runs and their logs."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from vgtui.cli import COMMANDS, build_parser, main
from vgtui.commands.headless import run_headless
from vgtui.commands.train import config_from_args
from vgtui.core.activations import NAMES as ACTIVATIONS
from vgtui.core.config import DATASETS, OPTIMIZERS, RunConfig
from vgtui.core.diagnosis import diagnose
from vgtui.core.initializers import NAMES as INITS
from vgtui.runlog.codec import read_log

SMALL = ["--depth", "3", "--width", "8", "--device", "cpu"]


def test_flags_build_the_config_and_unset_flags_keep_defaults():
    args = build_parser().parse_args(
        [
            "--activation",
            "relu",
            "--init",
            "he",
            "--depth",
            "20",
            "--residual",
            "--dropout",
            "0.2",
            "--batch-size",
            "16",
        ]
    )
    cfg = config_from_args(args)
    assert cfg == RunConfig(
        activation="relu", init="he", depth=20, residual=True, dropout=0.2, batch_size=16
    )


def test_help_names_every_command_and_each_default_once(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    commands = out[out.index("commands") :]
    for word in COMMANDS:
        assert f"vgtui {word} " in commands, word
    assert "vgtui LOG.jsonl" in commands
    assert "(default: )" not in out
    valued = [
        a for a in build_parser()._actions if a.metavar and a.dest in RunConfig.__annotations__
    ]
    assert len(valued) > 10
    for action in valued:  # each value flag states its default, once
        assert action.help.count("(default:") == 1, action.dest
    assert "(default: 10)" in next(a.help for a in valued if a.dest == "every")


def test_list_names_every_choice_on_its_own_row_with_its_description(capsys):
    from vgtui.core import activations, initializers
    from vgtui.trainer.data import DESCRIPTIONS
    from vgtui.trainer.optim import OPTIMIZER_DESCRIPTIONS

    assert main(["--list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    expected = [
        *((n, k.description) for n, k in activations.KINDS.items()),
        *((n, k.formula) for n, k in initializers.KINDS.items()),
        *DESCRIPTIONS.items(),
        *OPTIMIZER_DESCRIPTIONS.items(),
    ]
    assert len(expected) == len(ACTIVATIONS) + len(INITS) + len(DATASETS) + len(OPTIMIZERS)
    for name, description in expected:
        mine = [r for r in rows if r.split() and r.split()[0].split("[")[0] == name]
        assert mine, f"no row for {name}"
        assert any(description[:25] in r for r in mine), f"{name}'s row lacks its description"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--depth", "0"], "--depth: 0 is not valid; expected an integer in 1..100"),
        (["--activation", "swish"], "sigmoid, relu, leaky_relu"),
        (["--optimizer", "lbfgs"], "sgd, momentum, nesterov"),
        (["--dataset", "cifar"], "xor, circle"),
        (["--init", "glorot"], "xavier"),
        (["--lr", "-1"], "--lr"),
        (["--depth", "abc"], "invalid int value"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--fps", "0"], "--fps"),
        (["--headless", "--list"], "not allowed with"),
        (["--headless", "--device", "cuda"], "--device: 'cuda' is not valid; expected a device"),
        (["--headless", "--device", "cuda:3"], "this machine has: auto, cpu"),
        (["--headless", "--norm", "batch", "--batch-size", "1"], "2 or more with batch norm"),
        (["--headless", "--log", "/etc/hostname/run.jsonl"], "/etc/hostname is a file"),
        (["--log", "/etc/hostname/run.jsonl"], "--log: cannot write /etc/hostname/run.jsonl"),
        (["--headless", "--log", "/"], "--log: / is a directory"),
        (["--headless", "--every", "often"], "'often' is not an integer or auto"),
        (["--depth", "3", "demo"], "vgtui: error: the command comes first: vgtui demo [OPTIONS]"),
        (["demo", "xor", "--bogus"], "vgtui demo: error: unrecognized arguments: --bogus (see"),
        (["bench", "--only", "nosuch"], "vgtui bench: error: argument --only: invalid choice"),
        (["nosuch"], "vgtui: error: argument COMMAND: invalid choice: 'nosuch' (choose from"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(argv, needle, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors exit from inside the parser
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def run_cli(*args, **kw):
    env = {**os.environ, "VGTUI_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "vgtui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        **kw,
    )


def test_headless_json_prints_only_the_summary(tmp_path):
    log = tmp_path / "run.jsonl"
    result = run_cli(
        "--headless", "--steps", "12", "--every", "5", "--json", "--log", str(log), *SMALL
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == {
        "steps",
        "final_loss",
        "final_accuracy",
        "diverged",
        "reason",
        "layers",
        "diagnosis",
    }
    assert summary["steps"] == 12 and summary["reason"] == "done" and not summary["diverged"]
    assert [x["name"] for x in summary["layers"]] == ["layer1", "layer2", "layer3", "output"]
    run = read_log(log)
    assert run.skipped == 0 and run.end.reason == "done"
    assert [s.step for s in run.snapshots] == [1, 5, 10, 12]
    assert summary["final_loss"] == run.snapshots[-1].loss
    assert summary["diagnosis"] == [f.line for f in diagnose(run.header, run.snapshots)]
    assert summary["diagnosis"]


def test_headless_table_has_a_row_per_snapshot():
    result = run_cli("--headless", "--steps", "20", "--every", "10", *SMALL)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "step" in lines[0] and "grad norm" in lines[0]
    assert [line.split()[0] for line in lines[1:4]] == ["1", "10", "20"]
    assert "done after 20 steps" in result.stdout


def test_headless_diverging_run_is_reported_not_crashed(tmp_path):
    result = run_cli(
        "--headless",
        "--steps",
        "200",
        "--lr",
        "10000",
        "--activation",
        "relu",
        "--init",
        "he",
        "--dataset",
        "circle",
        "--json",
        "--device",
        "cpu",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["diverged"] is True and summary["reason"] == "diverged"
    assert summary["diagnosis"][0].startswith("exploding: the loss is")
    assert "Traceback" not in result.stderr


def test_headless_prints_the_diagnosis_at_the_end(capsys):
    assert run_headless(RunConfig(steps=10, every=10, device="cpu")) == 0
    out = capsys.readouterr().out
    end = out[out.index("done after 10 steps") :]
    # The default lesson, a deep sigmoid network with Xavier init, vanishes; hints in words.
    assert "vanishing: layers 1-" in end and "sigmoid's derivative is at most 1/4" in end
    assert "try ReLU then He init" in " ".join(end.split()) and "`" not in end


def test_missing_mnist_files_are_a_one_line_error(tmp_path):
    result = run_cli(
        "--headless", "--dataset", "mnist", "--data-dir", str(tmp_path), "--steps", "1"
    )
    assert result.returncode == 2
    assert "train-images-idx3-ubyte" in result.stderr and str(tmp_path) in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_log_in_a_new_directory_is_created(tmp_path):
    log = tmp_path / "runs" / "new" / "run.jsonl"
    assert main(["--headless", "--steps", "2", "--json", "--log", str(log), *SMALL]) == 0
    assert read_log(log).end.reason == "done"


def test_an_unexpected_headless_error_is_one_line_and_the_log_still_ends(
    tmp_path, monkeypatch, capsys
):
    from vgtui.trainer import trainer as trainer_module

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    real_step = trainer_module.Trainer.step

    def step(self, force_snapshot=False):
        if self.step_count == 3:
            raise RuntimeError("out of memory, say")
        return real_step(self, force_snapshot)

    monkeypatch.setattr(trainer_module.Trainer, "step", step)
    log = tmp_path / "run.jsonl"
    assert main(["--headless", "--steps", "10", "--log", str(log), *SMALL]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("vgtui: error: RuntimeError: out of memory, say (full traceback in ")
    assert read_log(log).end.reason == "error"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_headless_until_stopped_ends_the_log_cleanly(tmp_path, sig):
    log = tmp_path / "run.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vgtui",
            "--headless",
            "--steps",
            "0",
            "--every",
            "5",
            "--log",
            str(log),
            *SMALL,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for a few snapshots to be written
        if log.exists() and len(read_log(log).snapshots) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 0
    run = read_log(log)
    assert run.end is not None and run.end.reason == "stopped"
    assert run.skipped == 0 and len(run.snapshots) >= 3
    assert "Traceback" not in proc.stderr.read()
