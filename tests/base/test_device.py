"""Device choice: CPU or CUDA, and a clear error for anything else."""

from __future__ import annotations

import pytest
import torch

from loopfind_core.base.device import best_device
from loopfind_core.base.errors import ConfigurationError


def test_device_choice():
    assert best_device(None).type in ("cpu", "cuda")
    assert best_device("cpu").type == "cpu"
    with pytest.raises(ConfigurationError):
        best_device("tpu-9000")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigurationError, match="no CUDA"):
            best_device("cuda")
