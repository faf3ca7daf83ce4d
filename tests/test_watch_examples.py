"""The examples run end to end in a shortened mode and write the run log they promise."""

from __future__ import annotations

import pytest

from vgtui.examples import cnn, ddp, rnn, transformer
from vgtui.runlog.codec import read_log


def run(main, tmp_path, steps: int, *extra: str):
    log = tmp_path / "run.jsonl"
    assert main(["--log", str(log), "--steps", str(steps), "--every", "2", *extra]) == 0
    result = read_log(log)
    assert result.skipped == 0 and result.end is not None and result.end.step == steps
    assert result.header.version == 2
    assert [s.step for s in result.snapshots] == [1, *range(2, steps + 1, 2)]
    return result


def test_cnn(tmp_path, capsys):
    log = run(cnn.main, tmp_path, 4)
    assert [x.kind for x in log.header.layers] == ["conv", "conv", "linear", "linear"]
    last = log.snapshots[-1]
    assert last.accuracy is not None and last.lr == pytest.approx(2e-3)
    assert all(x.act is not None and x.update_ratio is not None for x in last.layers)
    assert "validation accuracy" in capsys.readouterr().out


def test_transformer_watches_every_parameter(tmp_path, capsys):
    log = run(transformer.main, tmp_path, 2)
    example, _ = transformer.build()
    listed = {p.name for x in log.header.layers for p in x.params}
    assert listed == {name for name, _ in example.model.named_parameters()}
    layers = {x.name: x for x in log.snapshots[-1].layers}
    assert layers["blocks.layers.0.self_attn.out_proj"].act is None
    names = {p.name for p in layers["blocks.layers.1.self_attn"].params}
    assert "blocks.layers.1.self_attn.in_proj_weight[k]" in names
    assert "sample: 'We hold " in capsys.readouterr().out


def test_rnn_shows_the_vanishing_gradient(tmp_path, capsys):
    log = run(rnn.main, tmp_path, 2)
    first = log.snapshots[0]
    assert first.scalars["rnn_reach"] < 1e-3 < first.scalars["lstm_reach"]
    layers = {x.name: x for x in first.layers}
    assert {p.name for p in layers["lstm.cell"].params} >= {"lstm.cell.weight_hh_l0[f]"}
    assert "rnn.cell.weight_hh_l0" in {p.name for p in layers["rnn.cell"].params}
    assert "gradient reaching the first bit" in capsys.readouterr().out


def test_ddp_starts_its_two_processes(tmp_path):
    log = run(ddp.main, tmp_path, 2)
    assert log.header.config["world_size"] == 2


def test_a_bad_flag_is_one_line_and_exit_code_2(capsys):
    with pytest.raises(SystemExit) as info:
        cnn.main(["--every", "0"])
    assert info.value.code == 2
    assert (
        "--every: '0' is not valid; expected 'auto' or an integer >= 1" in capsys.readouterr().err
    )
