"""The run log version 2: per-parameter entries, null activations, scalars; version 1 unchanged."""

from __future__ import annotations

import io
import json

import pytest

from vgtui.core.config import RunConfig
from vgtui.core.records import (
    End,
    Hist,
    LayerInfo,
    LayerStats,
    ParamInfo,
    ParamStats,
    RunHeader,
    Snapshot,
    Stats,
    uses_v2,
)
from vgtui.runlog.codec import RunLogWriter, decode, encode, read_log, summary
from vgtui.trainer.trainer import Trainer

STATS = Stats(0.1, 1.0, -2.0, 2.0, Hist(-2.0, 2.0, [1, 2], 0, 0, 0))


def header(params=True) -> RunHeader:
    return RunHeader(
        config={"source": "watch"},
        layers=[
            LayerInfo(
                "attn",
                "attention",
                8,
                24,
                [ParamInfo("attn.in_proj_weight", [24, 8])] if params else None,
            )
        ],
        started="2024-05-01T12:00:00+00:00",
    )


def snapshot(step=1, act=None, scalars=None) -> Snapshot:
    params = [
        ParamStats("attn.in_proj_weight", 0.5, 2.0, 1e-3),
        ParamStats("attn.in_proj_weight[q]", 0.25, float("inf"), None),
    ]
    layer = LayerStats("attn", act, 0.5, 2.0, params=params)
    return Snapshot(step, 0.7, None, 0.01, 1.0, [layer], scalars=scalars)


def test_version_2_records_round_trip():
    for record in (header(), snapshot(act=None, scalars={"reach": 1e-6}), snapshot(act=STATS)):
        assert decode(encode(record)) == record
    line = json.loads(encode(snapshot(act=None, scalars={"reach": 1e-6})))
    layer = line["layers"][0]
    assert layer["act"] is None and line["scalars"] == {"reach": 1e-6}
    assert layer["params"][1] == {
        "name": "attn.in_proj_weight[q]",
        "grad_norm": 0.25,
        "weight_norm": "inf",
        "update_ratio": None,
    }


def test_uses_v2_tells_which_records_need_version_2():
    assert uses_v2(header()) and not uses_v2(header(params=False))
    assert uses_v2(snapshot(act=None)) and uses_v2(snapshot(act=STATS))  # it has params
    v1 = Snapshot(1, 0.7, None, 0.01, 1.0, [LayerStats("l", STATS, 0.5, 2.0)])
    assert not uses_v2(v1) and not uses_v2(End(1, "done"))


def test_the_writer_declares_version_2_and_refuses_v2_records_in_a_v1_log():
    out = io.StringIO()
    writer = RunLogWriter(out)
    writer.write(header())  # says version 1, but uses v2 fields
    writer.write(snapshot())
    assert json.loads(out.getvalue().splitlines()[0])["version"] == 2
    v1 = RunLogWriter(io.StringIO())
    v1.write(header(params=False))
    with pytest.raises(ValueError, match="version 2 record in a version 1 log"):
        v1.write(snapshot())


@pytest.mark.parametrize(
    "bad",
    [
        {"params": [{"name": 3, "grad_norm": 1, "weight_norm": 1}]},
        {"params": [{"name": "w", "grad_norm": "big", "weight_norm": 1}]},
        {"act": [1, 2]},
    ],
)
def test_broken_v2_fields_make_a_broken_line(bad):
    line = json.loads(encode(snapshot()))
    line["layers"][0].update(bad)
    with pytest.raises(ValueError):
        decode(json.dumps(line))
    line = json.loads(encode(snapshot()))
    line["scalars"] = {"x": "high"}
    with pytest.raises(ValueError):
        decode(json.dumps(line))


def test_summary_of_a_layer_without_activation(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunLogWriter(path) as writer:
        writer.write(header())
        writer.write(snapshot())
    layer = summary(read_log(path))["layers"][0]
    assert layer["act_std"] is None and layer["grad_norm"] == 0.5


def test_the_built_in_trainer_still_writes_version_1():
    trainer = Trainer(RunConfig(depth=2, width=4, steps=2, every=1, device="cpu", preact=True))
    records = [trainer.header]
    while trainer.end is None:
        records += trainer.step()
    lines = [json.loads(encode(r)) for r in records]
    assert lines[0]["version"] == 1
    assert not any("params" in x for x in lines[0]["layers"])
    snaps = [x for x in lines if x["type"] == "snapshot"]
    assert snaps and all("scalars" not in s for s in snaps)
    for layer in (x for s in snaps for x in s["layers"]):
        assert "params" not in layer and layer["act"] is not None
        assert ("preact" in layer) == (layer["name"] != "output")  # the output has none
