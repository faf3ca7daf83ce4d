"""The devices this machine can train on, and the one a run config's ``device`` names."""

from __future__ import annotations

import torch

from vgtui.core.errors import ConfigError


def available_devices() -> list[str]:
    """The devices this machine can train on: cpu, each cuda:N, mps."""
    cudas = torch.cuda.device_count() if torch.cuda.is_available() else 0
    found = ["cpu"] + [f"cuda:{i}" for i in range(cudas)]
    mps = getattr(torch.backends, "mps", None)
    return found + (["mps"] if mps is not None and mps.is_available() else [])


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; a device this machine lacks is a ConfigError that
    names the ones it has."""
    have = available_devices()
    if name == "auto":
        return torch.device(next((d for d in have if d != "cpu"), "cpu").split(":")[0])
    wanted = "cuda:0" if name == "cuda" else name
    if wanted not in have:
        raise ConfigError("device", name, "a device this machine has: auto, " + ", ".join(have))
    return torch.device(name)
