"""Datasets: XOR, TensorFlow Playground's 2-D sets, 8x8 digits, MNIST and the forward-only `random`.

Everything is deterministic for a seed. Tensors start on the CPU; `Dataset.to` moves them.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vgtui.core.config import DATASETS
from vgtui.core.errors import ConfigError, DataError

Progress = Callable[[int, int], None]

DESCRIPTIONS: dict[str, str] = {
    "xor": "the four XOR points (0,0)->0 (0,1)->1 (1,0)->1 (1,1)->0; the smallest non-linear task",
    "circle": "2-D: a disc of one class inside a ring of the other (TF Playground 'circle')",
    "quadrants": "2-D: diagonal quadrants share a class (TF Playground 'exclusive or')",
    "gaussian": "2-D: two gaussian blobs, nearly linearly separable (TF Playground 'gaussian')",
    "spiral": "2-D: two interleaved noisy spirals, the hard one (TF Playground 'spiral')",
    "digits": "8x8 handwritten digits, 1,797 images, 10 classes (UCI optdigits, bundled)",
    "mnist": "28x28 handwritten digits, 60,000 train / 10,000 test (downloaded once or --data-dir)",
    "random": "no labels: N(0, 1) inputs of --width features, forward pass only (activation stats)",
}

N_POINTS = 1000  # per 2-D set, before the 80/20 split
NOISE = 0.1  # the playground's noise slider (0..0.5), as a fraction
VAL_FRACTION = 0.2
_PLAYGROUND_EXTENT = 6.0  # the playground plots [-6, 6]; dividing by it gives roughly [-1, 1]
_RANDOM_REFERENCE_ROWS = 256

DIGITS_PATH_PARTS = ("assets", "digits.csv.gz")

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_TIMEOUT_S = 15.0
# stem -> (md5 of stem.gz, size of stem.gz in bytes); the checksums are torchvision's.
MNIST_FILES: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
    "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432", 28881),
    "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3", 1648877),
    "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c", 4542),
}
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension


@dataclass(eq=False)
class Dataset:
    """Training inputs and labels, an optional validation split, and epoch-style batching."""

    name: str
    x: torch.Tensor
    y: torch.Tensor | None
    x_val: torch.Tensor | None
    y_val: torch.Tensor | None
    n_classes: int
    input_dim: int
    _perm: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)
    _pos: int = field(default=0, init=False, repr=False, compare=False)

    @property
    def forward_only(self) -> bool:
        """No labels: the model only runs forward (the `random` set)."""
        return self.y is None

    def to(self, device: torch.device | str) -> Dataset:
        """A copy with every tensor on `device`; the epoch position carries over."""

        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        out = Dataset(
            name=self.name,
            x=self.x.to(device),
            y=move(self.y),
            x_val=move(self.x_val),
            y_val=move(self.y_val),
            n_classes=self.n_classes,
            input_dim=self.input_dim,
        )
        out._perm, out._pos = self._perm, self._pos
        return out

    def batch(
        self, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Next training batch. Never larger than the dataset (every xor batch is the four points).

        Epoch-style: a permutation drawn from `generator` (CPU) is walked in order and redrawn when
        used up; a batch that crosses an epoch's end takes the rest from the next permutation, so
        every batch has the same size. `random` draws fresh N(0, 1) inputs each call, labels None.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError("batch_size", batch_size, "an integer >= 1")
        device = self.x.device
        if self.forward_only:
            x = torch.randn((batch_size, self.input_dim), generator=generator)
            return x.to(device), None
        n = self.x.shape[0]
        if n == 0:
            raise DataError(f"dataset {self.name!r} has no training samples")
        want = min(batch_size, n)
        parts: list[torch.Tensor] = []
        while want > 0:
            if self._perm is None or self._pos >= n:
                self._perm, self._pos = torch.randperm(n, generator=generator), 0
            take = self._perm[self._pos : self._pos + want]
            self._pos += take.numel()
            want -= take.numel()
            parts.append(take)
        idx = (parts[0] if len(parts) == 1 else torch.cat(parts)).to(device)
        return self.x[idx], self.y[idx]  # type: ignore[index]


def default_data_dir() -> Path:
    """Where MNIST lives by default: $XDG_CACHE_HOME/vgtui/mnist or ~/.cache/vgtui/mnist."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "vgtui" / "mnist"


def load_dataset(
    name: str,
    *,
    seed: int = 0,
    width: int = 32,
    data_dir: str | Path = "",
    progress: Progress | None = None,
    download: bool = True,
) -> Dataset:
    """Build or read dataset `name` (one of `DATASETS`), deterministic for `seed`.

    `width` is the input size of `random`. `data_dir` and `progress(bytes_done, bytes_total)` are
    for `mnist`, which is downloaded into `data_dir` when missing unless `download` is False or
    the environment has VGTUI_OFFLINE=1. Raises ConfigError for an unknown name, DataError when
    files cannot be found, fetched or parsed.
    """
    if name not in DATASETS:
        raise ConfigError("dataset", name, "one of " + ", ".join(DATASETS))
    if name == "xor":
        return _xor()
    if name in _PLAYGROUND:
        return _playground(name, seed)
    if name == "digits":
        return _digits(seed)
    if name == "mnist":
        directory = Path(data_dir).expanduser() if str(data_dir) else default_data_dir()
        return _mnist(directory, progress, download and not offline())
    return _random(seed, width)


def offline() -> bool:
    """True when VGTUI_OFFLINE is set to anything but empty or 0: never touch the network."""
    return os.environ.get("VGTUI_OFFLINE", "").strip() not in ("", "0")


# ---------------------------------------------------------------------------------------- toys


def _xor() -> Dataset:
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 1, 0], dtype=torch.int64)
    return Dataset("xor", x, y, None, None, n_classes=2, input_dim=2)


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """classifyCircleData: a disc r < 2.5 and a ring 3.5 < r < 5; labels from noisy positions."""
    radius = 5.0
    half = n // 2
    r = np.concatenate(
        [rng.uniform(0, radius * 0.5, half), rng.uniform(radius * 0.7, radius, n - half)]
    )
    angle = rng.uniform(0, 2 * math.pi, n)
    pts = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    label = np.hypot(*(pts + jitter).T) < radius * 0.5
    return pts, label


def _quadrants(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """classifyXORData: uniform in [-5, 5]^2 pushed 0.3 off the axes; class 1 where x*y >= 0."""
    pts = rng.uniform(-5, 5, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)
    jitter = rng.uniform(-5, 5, (n, 2)) * noise
    noisy = pts + jitter
    return pts, noisy[:, 0] * noisy[:, 1] >= 0


def _gaussian(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """classifyTwoGaussData: class 1 around (2, 2), class 0 around (-2, -2); variance grows with
    noise from 0.5 (noise 0) to 4 (noise 0.5)."""
    variance = 0.5 + noise / 0.5 * 3.5
    half = n // 2
    centre = np.concatenate([np.full((half, 2), 2.0), np.full((n - half, 2), -2.0)])
    pts = centre + rng.normal(0.0, math.sqrt(variance), (n, 2))
    return pts, np.arange(n) < half


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """classifySpiralData: two spirals of 1.75 turns, radius 0 to 5, half a turn apart."""
    half = n // 2
    arms = []
    for delta, count in ((0.0, half), (math.pi, n - half)):
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * math.pi + delta
        arms.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    pts = np.concatenate(arms) + rng.uniform(-1, 1, (n, 2)) * noise
    return pts, np.arange(n) < half


_PLAYGROUND = {"circle": _circle, "quadrants": _quadrants, "gaussian": _gaussian, "spiral": _spiral}


def _playground(name: str, seed: int) -> Dataset:
    """One of TF Playground's classification sets, scaled to about [-1, 1], shuffled and split."""
    rng = np.random.default_rng([seed, list(_PLAYGROUND).index(name)])
    pts, positive = _PLAYGROUND[name](rng, N_POINTS, NOISE)
    x = torch.from_numpy((pts / _PLAYGROUND_EXTENT).astype(np.float32))
    y = torch.from_numpy(positive.astype(np.int64))
    return _split(name, x, y, rng, n_classes=2)


def _split(
    name: str, x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator, n_classes: int
) -> Dataset:
    """Shuffle with `rng`, then keep the last VAL_FRACTION for validation."""
    order = torch.from_numpy(rng.permutation(x.shape[0]))
    x, y = x[order], y[order]
    n_val = round(x.shape[0] * VAL_FRACTION)
    cut = x.shape[0] - n_val
    return Dataset(name, x[:cut], y[:cut], x[cut:], y[cut:], n_classes, input_dim=x.shape[1])


# -------------------------------------------------------------------------------------- digits


def digits_path() -> Path:
    """The bundled UCI optdigits test set (from scikit-learn; see assets/README.md)."""
    import vgtui

    return Path(vgtui.__file__).parent.joinpath(*DIGITS_PATH_PARTS)


def _digits(seed: int) -> Dataset:
    path = digits_path()
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float32, ndmin=2)
    except (OSError, EOFError, ValueError) as err:
        raise DataError(f"cannot read the bundled digits file {path}: {err}") from err
    if table.shape[1] != 65:
        raise DataError(f"{path}: expected 65 columns (64 pixels, label), got {table.shape[1]}")
    x = torch.from_numpy(table[:, :64] / 16.0)
    y = torch.from_numpy(table[:, 64].astype(np.int64))
    return _split("digits", x, y, np.random.default_rng([seed, 100]), n_classes=10)


# --------------------------------------------------------------------------------------- mnist


def _missing_message(directory: Path, why: str) -> str:
    names = ", ".join(MNIST_FILES)
    return f"MNIST needs {names} (plain or .gz) in {directory}: {why}"


def _find(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _mnist(directory: Path, progress: Progress | None, download: bool) -> Dataset:
    missing = [stem for stem in MNIST_FILES if _find(directory, stem) is None]
    if missing:
        if not download:
            raise DataError(
                _missing_message(directory, "missing " + ", ".join(missing) + " (offline)")
            )
        try:
            download_mnist(directory, missing, progress)
        except (OSError, http.client.HTTPException) as err:
            raise DataError(
                _missing_message(directory, f"download from {MNIST_URL} failed ({err})")
            ) from err
    paths = {stem: _find(directory, stem) for stem in MNIST_FILES}
    x, y = _idx_pair(paths["train-images-idx3-ubyte"], paths["train-labels-idx1-ubyte"])
    x_val, y_val = _idx_pair(paths["t10k-images-idx3-ubyte"], paths["t10k-labels-idx1-ubyte"])
    if x.shape[1] != x_val.shape[1]:
        raise DataError(f"MNIST in {directory}: train and t10k images differ in size")
    return Dataset("mnist", x, y, x_val, y_val, n_classes=10, input_dim=x.shape[1])


def _idx_pair(images: Path | None, labels: Path | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images flattened and scaled to [0, 1] (float32), labels int64."""
    assert images is not None and labels is not None
    pix = read_idx(images, _IDX_IMAGES_MAGIC)
    lab = read_idx(labels, _IDX_LABELS_MAGIC)
    if pix.shape[0] != lab.shape[0]:
        raise DataError(f"{images} has {pix.shape[0]} images but {labels} {lab.shape[0]} labels")
    if lab.size and lab.max() > 9:
        raise DataError(f"{labels}: labels must be digits 0..9, found {int(lab.max())}")
    x = pix.reshape(pix.shape[0], -1).astype(np.float32)
    x /= 255.0
    return torch.from_numpy(x), torch.from_numpy(lab.astype(np.int64))


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse an IDX file (plain or .gz) of unsigned bytes whose big-endian magic is `magic`."""
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path}: {err}") from err
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found != magic:
        shown = "none" if found is None else f"0x{found:08x}"
        raise DataError(f"{path} is not the IDX file expected: magic {shown}, want 0x{magic:08x}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    if len(raw) != header + math.prod(dims):
        raise DataError(
            f"{path}: {len(raw) - header} data bytes, but the header's dims {dims} "
            f"need {math.prod(dims)}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _open_url(url: str, timeout: float) -> Any:
    """urlopen, kept separate so tests can replace it."""
    return urllib.request.urlopen(url, timeout=timeout)


def download_mnist(
    directory: Path, stems: list[str] | None = None, progress: Progress | None = None
) -> None:
    """Fetch `stems` (default: all four) as .gz into `directory` from MNIST_URL.

    Each file goes to a temporary name and is renamed only once its MD5 matches. Reports
    `progress(bytes_done, bytes_total)` over all the files. Raises OSError (network) or DataError
    (checksum).
    """
    stems = list(MNIST_FILES) if stems is None else stems
    directory.mkdir(parents=True, exist_ok=True)
    total = sum(MNIST_FILES[s][1] for s in stems)
    done = 0
    for stem in stems:
        expected_md5 = MNIST_FILES[stem][0]
        name = f"{stem}.gz"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
        tmp = Path(tmp_name)
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with os.fdopen(fd, "wb") as out, _open_url(MNIST_URL + name, MNIST_TIMEOUT_S) as resp:
                while chunk := resp.read(1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, max(total, done))
            if digest.hexdigest() != expected_md5:
                raise DataError(
                    _missing_message(
                        directory, f"{MNIST_URL}{name} failed its MD5 check ({digest.hexdigest()})"
                    )
                )
            os.replace(tmp, directory / name)
        finally:
            tmp.unlink(missing_ok=True)


# -------------------------------------------------------------------------------------- random


def _random(seed: int, width: int) -> Dataset:
    """Forward-only: `x` is one fixed reference draw; training batches are fresh draws."""
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ConfigError("width", width, "an integer >= 1")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((_RANDOM_REFERENCE_ROWS, width), generator=g)
    return Dataset("random", x, None, None, None, n_classes=0, input_dim=width)
