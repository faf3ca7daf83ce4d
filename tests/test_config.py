import pytest

from vgtui.core.config import DATASETS, OPTIMIZERS, RunConfig
from vgtui.core.errors import ConfigError


def test_defaults_are_valid_and_round_trip():
    cfg = RunConfig()
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    assert RunConfig.from_dict({**cfg.to_dict(), "unknown_future_key": 1}) == cfg


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("depth", 0, "1..100"),
        ("depth", 101, "1..100"),
        ("width", 8193, "1..8192"),
        ("activation", "swoosh", "sigmoid, relu, leaky_relu"),
        ("activation", "relu:2", "relu without a parameter"),
        ("activation", "maxout:1.5", "maxout:k"),
        ("init", "glorot", "xavier"),
        ("init", "normal:abc", "normal[:number]"),
        ("init", "normal:-1", "std is a number in (0, 100]"),
        ("dataset", "cifar", ", ".join(DATASETS)),
        ("optimizer", "lbfgs", ", ".join(OPTIMIZERS)),
        ("lr", 0.0, "(0, 10000]"),
        ("lr", float("nan"), "(0, 10000]"),
        ("momentum", 1.0, "[0, 1)"),
        ("dropout", 1.0, "[0, 1)"),
        ("norm", "group", "none, batch, layer"),
        ("device", "tpu", "auto, cpu, cuda"),
        ("every", 0, "1.."),
        ("bins", 1, "2..1000"),
        ("residual", "yes", "true or false"),
    ],
)
def test_bad_values_name_field_value_and_choices(field, value, needle):
    with pytest.raises(ConfigError) as err:
        RunConfig(**{field: value})
    msg = str(err.value)
    assert msg.startswith(f"{field}: ")
    assert repr(value) in msg
    assert needle in msg
    assert "\n" not in msg


def test_replace_validates():
    with pytest.raises(ConfigError):
        RunConfig().replace(depth=-1)
    assert RunConfig().replace(activation="relu").activation == "relu"


def test_every_accepts_auto_and_positive_integers_only():
    assert RunConfig(every="auto").every == "auto"
    for bad in (0, -1, "often", 2.5, True):
        with pytest.raises(ConfigError, match="or auto"):
            RunConfig(every=bad)
