"""The run log v1: encoding, the order-checking writer, the tolerant reader and the summary."""

import io
import json
import math
from datetime import datetime

import numpy as np
import pytest

from vgtui.core.records import (
    End,
    Event,
    Hist,
    LayerInfo,
    LayerStats,
    RunHeader,
    Snapshot,
    Stats,
)
from vgtui.runlog.codec import (
    LogReader,
    RunLog,
    RunLogWriter,
    decode,
    encode,
    iter_records,
    json_safe,
    read_log,
    summary,
)

NAN, INF = float("nan"), float("inf")

CONFIG = {
    "activation": "tanh",
    "init": "xavier_uniform",
    "depth": 3,
    "width": 16,
    "dataset": "spiral",
    "optimizer": "sgd",
    "lr": 0.05,
    "batch_size": 64,
    "seed": 0,
    "device": "cpu",
    "steps": 500,
}


def header() -> RunHeader:
    return RunHeader(
        config=dict(CONFIG),
        layers=[
            LayerInfo("0", "linear", 2, 16),
            LayerInfo("2", "linear", 16, 16),
            LayerInfo("4", "linear", 16, 2),
        ],
        started="2024-05-01T12:00:00+00:00",
    )


def stats(mean: float, std: float, lo: float = -1.0, hi: float = 1.0, **hist_kw) -> Stats:
    return Stats(mean, std, lo, hi, Hist(lo, hi, [1, 5, 20, 5, 1], **hist_kw))


def layer(name: str, grad_norm: float | None = 0.1, full: bool = True, **kw) -> LayerStats:
    if full:
        kw = {
            "preact": stats(0.0, 1.2, -3.0, 3.0),
            "update_ratio": 1e-3,
            "grad": Hist(-0.01, 0.01, [0, 3, 50, 3, 0], below=1, above=2),
            **kw,
        }
    return LayerStats(name, stats(0.01, 0.5), grad_norm, 2.5, sat_frac=0.125, **kw)


def snapshot(step: int, loss: float | None = 0.69, grad_norms=(0.01, 0.1, 1.0)) -> Snapshot:
    return Snapshot(
        step=step,
        loss=loss,
        accuracy=0.5,
        lr=0.05,
        elapsed_s=0.25 * step,
        layers=[layer(n, g) for n, g in zip(("0", "2", "4"), grad_norms, strict=True)],
        val_loss=0.7,
        val_accuracy=0.48,
    )


def strict_loads(line: str):
    """json.loads that refuses NaN / Infinity tokens (plain JSON has none)."""

    def refuse(token: str):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(line, parse_constant=refuse)


def write_log(path, records) -> None:
    with RunLogWriter(path) as writer:
        for record in records:
            writer.write(record)


# -- encode / decode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [header(), snapshot(10), Event(12, "config_changed", "lr=0.1"), End(500, "done")],
    ids=["run", "snapshot", "event", "end"],
)
def test_every_record_type_round_trips(record):
    line = encode(record)
    assert "\n" not in line and not line.endswith(" ")
    assert (
        strict_loads(line)["type"]
        == {
            RunHeader: "run",
            Snapshot: "snapshot",
            Event: "event",
            End: "end",
        }[type(record)]
    )
    assert decode(line) == record
    assert decode(line.encode("utf-8")) == record


def test_encode_is_compact_json_with_type():
    line = encode(End(3, "stopped"))
    assert line == '{"type":"end","step":3,"reason":"stopped"}'
    assert strict_loads(encode(header()))["version"] == 1


def test_non_finite_numbers_are_strings_on_the_line_and_floats_after_decoding():
    snap = Snapshot(
        step=7,
        loss=NAN,
        accuracy=0.1,
        lr=INF,
        elapsed_s=1.0,
        layers=[
            LayerStats(
                "0",
                Stats(NAN, INF, -INF, INF, Hist(-INF, INF, [0, 0], nonfinite=4)),
                grad_norm=INF,
                weight_norm=NAN,
                update_ratio=-INF,
            )
        ],
    )
    line = encode(snap)
    raw = strict_loads(line)
    assert raw["loss"] == "nan" and raw["lr"] == "inf"
    act = raw["layers"][0]["act"]
    assert (act["mean"], act["std"], act["min"], act["max"]) == ("nan", "inf", "-inf", "inf")
    assert (act["hist"]["lo"], act["hist"]["hi"]) == ("-inf", "inf")
    assert raw["layers"][0]["update_ratio"] == "-inf"

    back = decode(line)
    assert isinstance(back.loss, float) and math.isnan(back.loss)
    assert back.lr == INF
    x = back.layers[0]
    assert math.isnan(x.act.mean) and x.act.std == INF and x.act.min == -INF
    assert (x.act.hist.lo, x.act.hist.hi, x.act.hist.nonfinite) == (-INF, INF, 4)
    assert x.grad_norm == INF and math.isnan(x.weight_norm) and x.update_ratio == -INF


def test_genuine_string_fields_stay_strings():
    head = RunHeader(
        config={**CONFIG, "activation": "nan", "note": "inf"},
        layers=[LayerInfo("inf", "nan", 1, 1)],
        started="2024-05-01T12:00:00+00:00",
    )
    assert decode(encode(head)) == head
    assert decode(encode(Event(1, "nan", "-inf"))) == Event(1, "nan", "-inf")
    assert decode(encode(End(1, "nan"))) == End(1, "nan")
    snap = decode(encode(Snapshot(1, 0.5, None, 0.1, 0.0, [layer("nan")])))
    assert snap.layers[0].name == "nan"


def test_optional_layer_fields_are_omitted_when_none_and_restored_as_none():
    snap = Snapshot(1, None, None, 0.1, 0.0, [layer("0", grad_norm=None, full=False)])
    raw = strict_loads(encode(snap))
    entry = raw["layers"][0]
    for key in ("preact", "update_ratio", "grad"):
        assert key not in entry
    # Fields that are null by meaning are written as null, not left out.
    assert entry["grad_norm"] is None and entry["dead_frac"] is None
    assert raw["loss"] is None and raw["val_accuracy"] is None
    back = decode(encode(snap))
    assert back == snap
    x = back.layers[0]
    assert x.preact is None and x.update_ratio is None and x.grad is None


def test_unknown_extra_fields_are_ignored():
    raw = strict_loads(encode(snapshot(5)))
    raw["gpu_mem_mb"] = 123.0
    raw["layers"][0]["kurtosis"] = "nan"
    raw["layers"][0]["act"]["median"] = 0.0
    raw["layers"][0]["act"]["hist"]["edges"] = [0, 1]
    assert decode(json.dumps(raw)) == snapshot(5)

    head = strict_loads(encode(header()))
    head["host"] = "box"
    head["layers"][0]["flops"] = 48
    assert decode(json.dumps(head)) == header()


@pytest.mark.parametrize(
    "line",
    [
        "",
        "not json",
        '{"type":"end","step":3,"rea',  # truncated
        "[1, 2]",
        '"end"',
        '{"step": 3, "reason": "done"}',  # no type
        '{"type": "marker", "step": 3}',  # unknown type
        '{"type": ["end"], "step": 3}',
        '{"type": "end", "step": 3}',  # missing reason
        '{"type": "end", "step": "3", "reason": "done"}',  # step not an int
        '{"type": "end", "step": true, "reason": "done"}',
        '{"type": "end", "step": "nan", "reason": "done"}',
        '{"type": "event", "step": 1, "kind": "paused"}',
        '{"type": "run", "config": {}, "layers": [{"name": "0"}], "started": "x"}',
        '{"type": "run", "config": "abc", "layers": [], "started": "x"}',
        '{"type": "snapshot", "step": 1, "loss": "low", "accuracy": null, "lr": 0.1,'
        ' "elapsed_s": 0, "layers": []}',
        '{"type": "snapshot", "step": 1, "loss": null, "accuracy": null, "lr": 0.1,'
        ' "elapsed_s": 0, "layers": [{"name": "0", "act": 5, "grad_norm": 1,'
        ' "weight_norm": 1}]}',  # act: null is version 2's "no activation seen"
        '{"type": "snapshot", "step": 1, "loss": null, "accuracy": null, "lr": 0.1,'
        ' "elapsed_s": 0, "layers": "abc"}',
    ],
)
def test_decode_rejects_broken_lines_with_value_error(line):
    with pytest.raises(ValueError):
        decode(line)


def test_encode_refuses_non_records():
    with pytest.raises(TypeError):
        encode({"type": "end", "step": 1, "reason": "done"})


def test_json_safe_converts_nested_non_finite_and_numpy_values():
    obj = {"a": [NAN, (INF, -INF)], "b": np.float32(1.5), "c": np.int64(3), "d": np.array([NAN])}
    safe = json_safe(obj)
    assert safe == {"a": ["nan", ["inf", "-inf"]], "b": 1.5, "c": 3, "d": ["nan"]}
    assert type(safe["c"]) is int
    json.dumps(safe, allow_nan=False)
    assert obj["a"][0] is NAN  # the input is left alone


# -- writer ------------------------------------------------------------------------------------


def test_every_written_line_is_strict_json(tmp_path):
    path = tmp_path / "run.jsonl"
    bad = snapshot(2, loss=NAN, grad_norms=(NAN, INF, -INF))
    write_log(
        path,
        [header(), snapshot(1), bad, Event(2, "diverged", "loss nan at 0"), End(2, "diverged")],
    )
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert len(lines) == 5
    types = [strict_loads(line)["type"] for line in lines]
    assert types == ["run", "snapshot", "snapshot", "event", "end"]


def test_writer_creates_parent_folders_and_flushes_each_line(tmp_path):
    path = tmp_path / "a" / "b" / "run.jsonl"
    with RunLogWriter(path) as writer:
        writer.write(header())
        assert read_log(path).header == header()
        writer.write(snapshot(1))
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 2 and decode(lines[1]) == snapshot(1)
        writer.write(End(1, "done"))
        assert read_log(path).end == End(1, "done")
    assert writer.closed
    with pytest.raises(ValueError):
        writer.write(Event(1, "paused", ""))


def test_writer_wraps_a_text_file_and_leaves_it_open():
    buf = io.StringIO()
    writer = RunLogWriter(buf)
    writer.write(header())
    writer.write(Event(0, "paused", ""))
    writer.close()
    writer.close()  # a second close does nothing
    assert not buf.closed
    lines = buf.getvalue().splitlines()
    assert [decode(x) for x in lines] == [header(), Event(0, "paused", "")]


@pytest.mark.parametrize(
    ("records", "bad"),
    [
        ([], snapshot(1)),  # the header must come first
        ([], Event(0, "paused", "")),
        ([], End(0, "done")),
        ([header()], header()),  # only one header
        ([header(), snapshot(3)], snapshot(3)),  # steps strictly increase
        ([header(), snapshot(3)], snapshot(2)),
        ([header(), End(0, "stopped")], Event(0, "paused", "")),  # nothing after the end
        ([header(), End(0, "stopped")], End(0, "stopped")),
        ([header(), snapshot(1), End(1, "done")], snapshot(2)),
    ],
)
def test_writer_refuses_order_violations_and_writes_nothing_for_them(records, bad):
    buf = io.StringIO()
    writer = RunLogWriter(buf)
    for record in records:
        writer.write(record)
    before = buf.getvalue()
    with pytest.raises(ValueError):
        writer.write(bad)
    assert buf.getvalue() == before


def test_writer_allows_events_anywhere_after_the_header():
    buf = io.StringIO()
    writer = RunLogWriter(buf)
    for record in [header(), Event(0, "paused", ""), snapshot(5), Event(3, "resumed", "")]:
        writer.write(record)
    writer.write(snapshot(6))
    assert len(buf.getvalue().splitlines()) == 5


def test_written_file_has_the_fields_the_spec_requires(tmp_path):
    path = tmp_path / "run.jsonl"
    write_log(path, [header(), snapshot(1), Event(1, "paused", ""), End(1, "stopped")])
    lines = [strict_loads(x) for x in path.read_text(encoding="utf-8").splitlines()]

    head = lines[0]
    assert head["type"] == "run" and head["version"] == 1
    required = {
        "activation", "init", "depth", "width", "dataset",
        "optimizer", "lr", "batch_size", "seed", "device",
    }  # fmt: skip
    assert required <= set(head["config"])
    assert isinstance(head["layers"], list) and head["layers"]
    for entry in head["layers"]:
        assert isinstance(entry["name"], str) and isinstance(entry["kind"], str)
        assert type(entry["fan_in"]) is int and type(entry["fan_out"]) is int
    assert datetime.fromisoformat(head["started"]).tzinfo is not None

    snap = lines[1]
    assert {"step", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "elapsed_s"} <= set(snap)
    assert [x["name"] for x in snap["layers"]] == [x["name"] for x in head["layers"]]
    for entry in snap["layers"]:
        assert {"name", "act", "grad_norm", "weight_norm", "dead_frac", "sat_frac"} <= set(entry)
        for stats_obj in (entry["act"], entry["preact"]):
            assert {"mean", "std", "min", "max", "hist"} <= set(stats_obj)
        for hist in (entry["act"]["hist"], entry["grad"]):
            assert {"lo", "hi", "counts", "below", "above", "nonfinite"} <= set(hist)
    assert set(lines[2]) == {"type", "step", "kind", "message"}
    assert set(lines[3]) == {"type", "step", "reason"}


# -- reader ------------------------------------------------------------------------------------


def test_read_log_skips_and_counts_a_broken_middle_line_and_a_truncated_last_line(tmp_path):
    path = tmp_path / "run.jsonl"
    write_log(path, [header(), snapshot(1), snapshot(2)])
    whole = encode(snapshot(3))
    with open(path, "a", encoding="utf-8") as f:
        f.write("{this is not json\n")
        f.write("\n")  # blank: ignored, not counted
        f.write(encode(Event(3, "diverged", "loss is nan")) + "\n")
        f.write(whole[: len(whole) // 2])  # the run was killed mid-write
    log = read_log(path)
    assert log.header == header()
    assert [s.step for s in log.snapshots] == [1, 2]
    assert log.events == [Event(3, "diverged", "loss is nan")]
    assert log.end is None
    assert log.skipped == 2


def test_read_log_of_a_clean_file_skips_nothing_and_accepts_a_whole_unterminated_last_line(
    tmp_path,
):
    path = tmp_path / "run.jsonl"
    records = [header(), snapshot(1), Event(1, "paused", ""), End(1, "stopped")]
    path.write_text("\n".join(encode(r) for r in records), encoding="utf-8")
    log = read_log(path)
    assert (log.header, log.snapshots, log.events, log.end) == (
        records[0],
        [records[1]],
        [records[2]],
        records[3],
    )
    assert log.skipped == 0


def test_read_log_skips_invalid_utf8_and_out_of_order_records(tmp_path):
    path = tmp_path / "run.jsonl"
    lines = [
        encode(header()).encode(),
        b'{"type":"event","step":1,"kind":"error","message":"\xff\xfe"}',
        encode(snapshot(2)).encode(),
        encode(snapshot(2)).encode(),  # step not increasing
        encode(header()).encode(),  # a second header
        encode(End(2, "done")).encode(),
        encode(Event(2, "paused", "")).encode(),  # after the end
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    log = read_log(path)
    assert [s.step for s in log.snapshots] == [2]
    assert log.events == [] and log.end == End(2, "done")
    assert log.skipped == 4


def test_read_log_of_an_empty_file(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text("", encoding="utf-8")
    assert read_log(path) == RunLog()


def test_iter_records_counts_skipped_through_a_reader():
    reader = LogReader()
    lines = [encode(header()) + "\n", "garbage\n", "   \n", encode(End(0, "stopped"))]
    records = list(iter_records(lines, reader))
    assert records == [header(), End(0, "stopped")]
    assert reader.skipped == 1
    assert list(iter_records(["x", encode(End(0, "done"))])) == [End(0, "done")]


def test_reader_is_incremental_one_line_at_a_time():
    reader = LogReader()
    it = reader.records(iter([encode(header()), "{oops", encode(snapshot(1))]))
    assert next(it) == header()
    assert reader.skipped == 0
    assert next(it) == snapshot(1)
    assert reader.skipped == 1
    assert reader.feed(encode(End(1, "done"))) == End(1, "done")
    assert reader.feed("") is None and reader.skipped == 1


def test_reader_fed_chunks_of_a_growing_file_waits_for_unfinished_lines():
    data = "".join(encode(r) + "\n" for r in [header(), snapshot(1), Event(1, "é", "ü")]).encode()
    cut1, cut2 = 25, len(data) - 3  # inside the header, inside the event line
    reader = LogReader()
    assert reader.feed_data(data[:cut1]) == [] and reader.pending
    assert reader.feed_data(data[cut1:cut2]) == [header(), snapshot(1)]
    assert reader.pending
    assert reader.feed_data(data[cut2:]) == [Event(1, "é", "ü")]
    assert not reader.pending and reader.skipped == 0
    assert reader.finish() is None and reader.skipped == 0

    # A run killed mid-write: the unfinished line is counted when the input ends.
    assert reader.feed_data(encode(End(1, "done"))[:10]) == []
    assert reader.finish() is None
    assert reader.skipped == 1
    # A whole last line that merely lacks its newline is still read.
    reader.feed_data(encode(End(1, "done")))
    assert reader.finish() == End(1, "done")


def test_run_log_add_follows_the_order_rules():
    log = RunLog(header=header())
    assert not log.add(header())
    assert log.add(snapshot(1)) and not log.add(snapshot(1))
    assert log.add(Event(1, "paused", ""))
    assert log.add(End(1, "stopped"))
    assert not log.add(snapshot(2)) and not log.add(Event(1, "resumed", ""))
    assert [s.step for s in log.snapshots] == [1] and len(log.events) == 1


# -- summary -----------------------------------------------------------------------------------


def test_summary_of_a_normal_run(tmp_path):
    path = tmp_path / "run.jsonl"
    write_log(path, [header(), snapshot(10), snapshot(20, loss=0.25), End(25, "done")])
    result = summary(read_log(path))
    assert result == {
        "steps": 25,
        "final_loss": 0.25,
        "final_accuracy": 0.5,
        "diverged": False,
        "reason": "done",
        "layers": [
            {"name": "0", "grad_norm": 0.01, "act_std": 0.5, "dead_frac": None, "sat_frac": 0.125},
            {"name": "2", "grad_norm": 0.1, "act_std": 0.5, "dead_frac": None, "sat_frac": 0.125},
            {"name": "4", "grad_norm": 1.0, "act_std": 0.5, "dead_frac": None, "sat_frac": 0.125},
        ],
    }


def test_summary_of_a_diverged_run_is_json_safe(tmp_path):
    path = tmp_path / "run.jsonl"
    records = [
        header(),
        snapshot(1),
        snapshot(2, loss=NAN, grad_norms=(NAN, INF, 3.0)),
        Event(2, "diverged", "loss is nan; first non-finite value in layer 0"),
        End(2, "diverged"),
    ]
    write_log(path, records)
    result = summary(read_log(path))
    assert result["steps"] == 2 and result["diverged"] is True and result["reason"] == "diverged"
    assert result["final_loss"] == "nan"
    assert [x["grad_norm"] for x in result["layers"]] == ["nan", "inf", 3.0]
    json.dumps(result, allow_nan=False)


def test_summary_without_an_end_uses_the_last_snapshot_and_the_diverged_event():
    log = RunLog(header=header())
    log.add(snapshot(4))
    log.add(Event(4, "diverged", "loss is inf"))
    result = summary(log)
    assert (result["steps"], result["reason"], result["diverged"]) == (4, None, True)
    # An end with reason "diverged" counts even without the event.
    stopped = RunLog(header=header(), snapshots=[snapshot(4)], end=End(5, "diverged"))
    assert summary(stopped)["diverged"] is True and summary(stopped)["steps"] == 5


def test_summary_of_a_log_without_snapshots():
    assert summary(RunLog(header=header())) == {
        "steps": 0,
        "final_loss": None,
        "final_accuracy": None,
        "diverged": False,
        "reason": None,
        "layers": [],
    }
