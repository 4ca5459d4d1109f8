"""Sliding-window search: the FFT profile equals brute force; suppression keeps windows apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from loopfind_core.base.errors import SelectionError
from loopfind_core.retrieval.search import (
    WindowSearch,
    _fast_fft_length,
    allowed_starts,
    best_allowed_start,
    suppression_radius,
)


def brute_force_profile(values: np.ndarray, start: int, length: int) -> np.ndarray:
    query = values[start : start + length].astype(np.float64)
    return np.array(
        [((values[t : t + length] - query) ** 2).sum() / length
         for t in range(len(values) - length + 1)]
    )


@pytest.mark.parametrize("n_frames,n_dims,length,start", [(300, 20, 17, 40), (257, 128, 64, 0),
                                                         (100, 3, 1, 99), (50, 5, 50, 0)])
def test_profile_matches_brute_force(n_frames, n_dims, length, start):
    rng = np.random.default_rng(n_frames)
    values = (rng.standard_normal((n_frames, n_dims)) * 10 + 50).astype(np.float32)
    profile = WindowSearch(values, length).distance_profile(start).cpu().numpy()
    expected = brute_force_profile(values, start, length)
    scale = float(2.0 * values.var(axis=0).sum())  # expected distance between unrelated frames
    np.testing.assert_allclose(profile, expected, rtol=1e-3, atol=1e-4 * scale)
    assert profile[start] == pytest.approx(0.0, abs=1e-4 * scale)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_profile_matches_cpu():
    values = np.random.default_rng(0).standard_normal((2000, 20)).astype(np.float32)
    cpu = WindowSearch(values, 80, device="cpu").distance_profile(100).numpy()
    gpu = WindowSearch(values, 80, device="cuda").distance_profile(100).cpu().numpy()
    np.testing.assert_allclose(cpu, gpu, rtol=1e-3, atol=1e-3)


def test_window_must_fit():
    values = np.zeros((10, 2), np.float32)
    with pytest.raises(SelectionError):
        WindowSearch(values, 11)
    with pytest.raises(SelectionError):
        WindowSearch(values, 5).distance_profile(6)


@given(st.integers(1, 100000))
def test_fast_fft_length_is_smooth_and_enough(n):
    length = _fast_fft_length(n)
    assert length >= n and length < 2 * n + 2
    for prime in (2, 3, 5):
        while length % prime == 0:
            length //= prime
    assert length == 1


@settings(max_examples=200)
@given(
    n_starts=st.integers(1, 200), window=st.integers(1, 60),
    blocked=st.lists(st.integers(0, 199), max_size=8),
)
def test_suppression_never_allows_more_than_half_overlap(n_starts, window, blocked):
    blocked = [b for b in blocked if b < n_starts]
    allowed = allowed_starts(n_starts, window, blocked, torch.device("cpu"))
    for t in range(n_starts):
        overlaps = [max(0, window - abs(t - b)) for b in blocked]
        expected = all(o <= window / 2 for o in overlaps)
        assert bool(allowed[t]) == expected, (t, overlaps)


def test_best_allowed_start_takes_lowest_and_earliest():
    scores = torch.tensor([3.0, 1.0, 1.0, 0.5, 2.0])
    allowed = torch.tensor([True, True, True, False, True])
    assert best_allowed_start(scores, allowed) == 1
    assert best_allowed_start(scores, torch.zeros(5, dtype=torch.bool)) is None
    assert suppression_radius(10) == 5 and suppression_radius(9) == 5


def test_frames_are_the_centred_track_the_windows_come_from():
    values = np.random.default_rng(3).normal(5.0, 2.0, (120, 4)).astype(np.float32)
    search = WindowSearch(values, 10)
    assert tuple(search.frames.shape) == (120, 4)
    np.testing.assert_allclose(search.frames.cpu().numpy(), values - values.mean(axis=0),
                               atol=1e-5)
    torch.testing.assert_close(search.window(7), search.frames[7:17])
