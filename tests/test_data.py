import gzip
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from vgtui.core.config import DATASETS
from vgtui.core.errors import ConfigError, DataError
from vgtui.trainer import data
from vgtui.trainer.data import DESCRIPTIONS, Dataset, default_data_dir, load_dataset

TOYS = ["circle", "quadrants", "gaussian", "spiral"]
MNIST_STEMS = list(data.MNIST_FILES)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """No test may reach the network: offline mode on, and any URL open fails the test."""
    monkeypatch.setenv("VGTUI_OFFLINE", "1")

    def refuse(url, timeout):
        raise AssertionError(f"network access attempted: {url}")

    monkeypatch.setattr(data, "_open_url", refuse)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def rows(t: torch.Tensor) -> set[tuple[float, ...]]:
    return {tuple(r) for r in t.tolist()}


def test_descriptions_cover_every_dataset():
    assert set(DESCRIPTIONS) == set(DATASETS)
    assert all(isinstance(v, str) and v and "\n" not in v for v in DESCRIPTIONS.values())


def test_unknown_dataset_is_a_config_error():
    with pytest.raises(ConfigError, match="dataset"):
        load_dataset("cifar")


def test_xor_is_the_four_points():
    ds = load_dataset("xor")
    assert ds.x.dtype == torch.float32 and ds.y.dtype == torch.int64
    pairs = {(tuple(p), int(c)) for p, c in zip(ds.x.tolist(), ds.y.tolist(), strict=True)}
    assert pairs == {((0.0, 0.0), 0), ((0.0, 1.0), 1), ((1.0, 0.0), 1), ((1.0, 1.0), 0)}
    assert ds.x_val is None and ds.y_val is None
    assert (ds.n_classes, ds.input_dim, ds.forward_only) == (2, 2, False)


def test_xor_batch_is_always_the_four_points():
    ds = load_dataset("xor")
    g = gen()
    for _ in range(5):
        x, y = ds.batch(64, g)
        assert x.shape == (4, 2)
        assert rows(x) == rows(ds.x)
        assert torch.equal(y, (x[:, 0] != x[:, 1]).long())


@pytest.mark.parametrize("name", TOYS)
def test_toy_sets_shapes_range_and_balance(name):
    ds = load_dataset(name, seed=3)
    n_train, n_val = ds.x.shape[0], ds.x_val.shape[0]
    assert ds.x.shape == (n_train, 2) and ds.x_val.shape == (n_val, 2)
    assert 900 <= n_train + n_val <= 1100
    assert n_val == pytest.approx(0.2 * (n_train + n_val), abs=1)
    assert ds.x.dtype == ds.x_val.dtype == torch.float32
    assert ds.y.dtype == ds.y_val.dtype == torch.int64
    assert ds.y.shape == (n_train,) and ds.y_val.shape == (n_val,)
    assert (ds.n_classes, ds.input_dim, ds.forward_only) == (2, 2, False)
    everything = torch.cat([ds.x, ds.x_val])
    assert everything.abs().max() <= 1.5
    assert everything.abs().max() >= 0.5  # scaled, not squashed
    labels = torch.cat([ds.y, ds.y_val])
    assert set(labels.tolist()) == {0, 1}
    assert 0.4 <= labels.float().mean().item() <= 0.6
    assert 0.3 <= ds.y_val.float().mean().item() <= 0.7  # the split is shuffled


@pytest.mark.parametrize("name", [*TOYS, "digits", "random"])
def test_same_seed_same_tensors(name):
    a, b = load_dataset(name, seed=7), load_dataset(name, seed=7)
    for left, right in [(a.x, b.x), (a.y, b.y), (a.x_val, b.x_val), (a.y_val, b.y_val)]:
        assert (left is None) == (right is None)
        if left is not None:
            assert torch.equal(left, right)


@pytest.mark.parametrize("name", [*TOYS, "random"])
def test_different_seeds_different_points(name):
    assert not torch.equal(load_dataset(name, seed=1).x, load_dataset(name, seed=2).x)


def test_gaussian_classes_sit_on_opposite_diagonals():
    ds = load_dataset("gaussian")
    centre_pos = ds.x[ds.y == 1].mean(0)
    centre_neg = ds.x[ds.y == 0].mean(0)
    assert (centre_pos > 0).all() and (centre_neg < 0).all()


def test_quadrants_label_follows_the_sign_of_x_times_y_mostly():
    ds = load_dataset("quadrants")
    same_sign = (ds.x[:, 0] * ds.x[:, 1] >= 0).long()
    assert (same_sign == ds.y).float().mean() > 0.8


def test_circle_inner_points_are_mostly_class_one():
    ds = load_dataset("circle")
    radius = ds.x.norm(dim=1)
    assert ds.y[radius < radius.median()].float().mean() > 0.8
    assert ds.y[radius > radius.quantile(0.75)].float().mean() < 0.2


def test_batches_cover_each_sample_once_per_epoch():
    n = 10
    ds = Dataset("t", torch.arange(n).float().unsqueeze(1), torch.arange(n), None, None, 10, 1)
    g = gen(5)
    seen = torch.cat([ds.batch(4, g)[1] for _ in range(15)])  # 60 = six epochs, crossing edges
    epochs = seen.view(6, n)
    for epoch in epochs:
        assert sorted(epoch.tolist()) == list(range(n))
    assert len({tuple(e.tolist()) for e in epochs}) > 1  # reshuffled each epoch
    x, y = ds.batch(4, g)
    assert torch.equal(x.squeeze(1).long(), y)  # inputs and labels stay paired


def test_batches_are_deterministic_for_a_generator_seed():
    a, b = load_dataset("spiral"), load_dataset("spiral")
    ga, gb = gen(11), gen(11)
    for _ in range(30):
        (xa, ya), (xb, yb) = a.batch(64, ga), b.batch(64, gb)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert xa.shape == (64, 2) and ya.shape == (64,)


def test_batch_is_never_larger_than_the_dataset():
    ds = load_dataset("gaussian")
    x, y = ds.batch(10_000, gen())
    assert x.shape[0] == y.shape[0] == ds.x.shape[0]
    assert rows(x) == rows(ds.x)


def test_batch_rejects_a_non_positive_size():
    with pytest.raises(ConfigError, match="batch_size"):
        load_dataset("xor").batch(0, gen())


def test_to_moves_every_tensor_and_the_epoch_position():
    ds = load_dataset("digits")
    ds.batch(8, gen())  # start an epoch: the position must carry over
    moved = ds.to("meta")  # a device other than the CPU, available everywhere
    assert moved is not ds
    for name in ("x", "y", "x_val", "y_val"):
        before, after = getattr(ds, name), getattr(moved, name)
        assert after.device.type == "meta" and before.device.type == "cpu", name
        assert after.shape == before.shape and after.dtype == before.dtype, name
    assert moved._pos == ds._pos == 8 and torch.equal(moved._perm, ds._perm)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_batches_live_on_the_data_device():
    ds = load_dataset("spiral").to("cuda")
    x, y = ds.batch(32, gen())
    assert x.is_cuda and y.is_cuda
    rx, ry = load_dataset("random").to("cuda").batch(8, gen())
    assert rx.is_cuda and ry is None


def test_digits_is_the_bundled_optdigits_set():
    ds = load_dataset("digits", seed=1)
    x = torch.cat([ds.x, ds.x_val])
    y = torch.cat([ds.y, ds.y_val])
    assert x.shape == (1797, 64) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert (ds.n_classes, ds.input_dim) == (10, 64)
    assert x.min() == 0.0 and x.max() == 1.0
    assert torch.equal(torch.unique(y), torch.arange(10))
    assert ds.x_val.shape[0] == pytest.approx(0.2 * 1797, abs=1)
    assert torch.unique(ds.y_val).numel() == 10  # shuffled before splitting
    other = load_dataset("digits", seed=2)
    assert not torch.equal(ds.y, other.y)
    assert torch.equal(torch.sort(y).values, torch.sort(torch.cat([other.y, other.y_val])).values)


def test_random_draws_fresh_standard_normal_batches():
    ds = load_dataset("random", width=48)
    assert ds.forward_only and ds.y is None and ds.n_classes == 0 and ds.input_dim == 48
    g = gen()
    x1, y1 = ds.batch(512, g)
    x2, y2 = ds.batch(512, g)
    assert x1.shape == x2.shape == (512, 48) and x1.dtype == torch.float32
    assert y1 is None and y2 is None
    assert not torch.equal(x1, x2)
    assert x1.std().item() == pytest.approx(1.0, abs=0.05)
    assert x1.mean().item() == pytest.approx(0.0, abs=0.05)


def test_random_rejects_a_bad_width():
    with pytest.raises(ConfigError, match="width"):
        load_dataset("random", width=0)


# ----------------------------------------------------------------------------------------- mnist


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def fake_mnist(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def write_mnist(
    directory: Path, gz: set[str] | frozenset[str] = frozenset()
) -> dict[str, np.ndarray]:
    """Write 20 train and 5 test images; stems in `gz` are gzipped. Returns the arrays by stem."""
    rng = np.random.default_rng(0)
    train_x, train_y = fake_mnist(rng, 20)
    test_x, test_y = fake_mnist(rng, 5)
    arrays = dict(zip(MNIST_STEMS, [train_x, train_y, test_x, test_y], strict=True))
    for stem, array in arrays.items():
        raw = idx_bytes(array)
        if stem in gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (directory / stem).write_bytes(raw)
    return arrays


def test_mnist_reads_plain_and_gzipped_idx_files(tmp_path):
    arrays = write_mnist(tmp_path, gz={"train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    ds = load_dataset("mnist", data_dir=str(tmp_path))
    assert ds.x.shape == (20, 784) and ds.x_val.shape == (5, 784)
    assert ds.x.dtype == torch.float32 and ds.y.dtype == torch.int64
    assert (ds.n_classes, ds.input_dim, ds.forward_only) == (10, 784, False)
    expected = arrays["train-images-idx3-ubyte"].reshape(20, -1) / 255.0
    assert np.allclose(ds.x.numpy(), expected)
    assert ds.x.min() >= 0.0 and ds.x.max() <= 1.0
    assert ds.y.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert ds.y_val.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    expected_val = arrays["t10k-images-idx3-ubyte"].reshape(5, -1) / 255.0
    assert np.allclose(ds.x_val.numpy(), expected_val)


def test_missing_mnist_names_the_files_and_the_directory(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError) as err:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path) in message
    assert all(stem in message for stem in MNIST_STEMS)


def test_mnist_without_download_permission_does_not_download(tmp_path, monkeypatch):
    monkeypatch.delenv("VGTUI_OFFLINE")
    with pytest.raises(DataError, match="offline"):
        load_dataset("mnist", data_dir=tmp_path / "nowhere", download=False)
    assert not (tmp_path / "nowhere").exists()


def test_mnist_default_directory_is_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "vgtui" / "mnist"
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "vgtui" / "mnist"))):
        load_dataset("mnist")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "vgtui" / "mnist"


def test_corrupt_magic_number_is_a_data_error(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    raw = bytearray(path.read_bytes())
    raw[3] = 0x03  # claims three dimensions: an images file, not labels
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=tmp_path)


def test_truncated_idx_is_a_data_error(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        load_dataset("mnist", data_dir=tmp_path)


def test_mismatched_counts_are_a_data_error(tmp_path):
    write_mnist(tmp_path)
    labels = np.zeros(19, dtype=np.uint8)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    with pytest.raises(DataError, match="20 images"):
        load_dataset("mnist", data_dir=tmp_path)


def serve(files: dict[str, bytes], requested: list[str]):
    def fake_open(url, timeout):
        assert timeout <= 60
        name = url.rsplit("/", 1)[-1]
        requested.append(name)
        return io.BytesIO(files[name])

    return fake_open


def test_download_fetches_missing_files_and_verifies_them(tmp_path, monkeypatch):
    source = tmp_path / "source"
    source.mkdir()
    write_mnist(source, gz=set(MNIST_STEMS))
    files = {p.name: p.read_bytes() for p in source.iterdir()}
    table = {
        stem: (hashlib.md5(files[f"{stem}.gz"]).hexdigest(), len(files[f"{stem}.gz"]))
        for stem in MNIST_STEMS
    }
    monkeypatch.setattr(data, "MNIST_FILES", table)
    requested: list[str] = []
    monkeypatch.setattr(data, "_open_url", serve(files, requested))
    monkeypatch.delenv("VGTUI_OFFLINE")
    target = tmp_path / "cache" / "mnist"
    calls: list[tuple[int, int]] = []
    ds = load_dataset("mnist", data_dir=target, progress=lambda d, t: calls.append((d, t)))
    assert ds.x.shape == (20, 784) and ds.x_val.shape == (5, 784)
    assert sorted(requested) == sorted(files)
    assert sorted(p.name for p in target.iterdir()) == sorted(files)  # no temp files left
    total = sum(len(b) for b in files.values())
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    requested.clear()
    load_dataset("mnist", data_dir=target)  # already there: no second download
    assert requested == []


def test_download_with_a_bad_checksum_keeps_nothing(tmp_path, monkeypatch):
    files = {f"{stem}.gz": b"not the real thing" for stem in MNIST_STEMS}
    monkeypatch.setattr(data, "_open_url", serve(files, []))
    monkeypatch.delenv("VGTUI_OFFLINE")
    with pytest.raises(DataError, match="MD5"):
        load_dataset("mnist", data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_network_failure_is_a_data_error(tmp_path, monkeypatch):
    def unreachable(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "_open_url", unreachable)
    monkeypatch.delenv("VGTUI_OFFLINE")
    with pytest.raises(DataError) as err:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(err.value)
    assert "unreachable" in message and str(tmp_path) in message
    assert all(stem in message for stem in MNIST_STEMS)
    assert list(tmp_path.iterdir()) == []
