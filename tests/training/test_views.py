"""The training views: bin shifts, bin drops and mixing do what they say."""

from __future__ import annotations

import numpy as np
import torch

from loopfind_core.training.views import drop_bins, mix_in, shift_bins


def test_augmentations_do_what_they_say():
    generator = torch.Generator().manual_seed(0)
    x = torch.arange(128.0)[None, :, None].expand(4, 128, 10).contiguous()
    shifted = shift_bins(x, 3, generator)
    offsets = (shifted[:, 64, 0] - x[:, 64, 0]).abs()
    assert ((offsets <= 3) & (shifted[:, 10:-10] - x[:, 10:-10]).std(dim=1).lt(1e-6).all(-1)).all()
    dropped = drop_bins(torch.ones(64, 128, 5), 0.2, generator)
    assert 0.15 < float((dropped == 0).float().mean()) < 0.25
    quiet = torch.full((1, 128, 5), -60.0)
    mixed = mix_in(quiet, torch.full((1, 128, 5), -60.0), torch.tensor([0.0]))
    assert torch.allclose(mixed, torch.full_like(mixed, -60.0 + 10 * np.log10(2)), atol=1e-4)
