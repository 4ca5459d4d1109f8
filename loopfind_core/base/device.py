"""Which torch device computations run on: CUDA when present, else the CPU."""

from __future__ import annotations

import torch

from loopfind_core.base.errors import ConfigurationError


def best_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``"auto"`` picks CUDA when present, else the CPU; anything else is used as is."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ConfigurationError(f"Unknown device {device!r}; use auto, cpu or cuda.") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError(
            "CUDA was requested but no CUDA GPU is available; use cpu or auto.")
    return resolved
