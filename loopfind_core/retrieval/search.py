"""Device-aware sliding-window distance search over a feature track.

The distance between the window of ``L`` frames starting at frame ``s`` (the query) and the
window starting at every frame ``t`` is the mean squared Euclidean distance per frame::

    D_s(t) = (1 / L) · Σ_k ‖x[t + k] − x[s + k]‖²
           = (1 / L) · (‖W_t‖² + ‖W_s‖² − 2 · Σ_k x[t + k] · x[s + k])

The window energies ‖W_t‖² come from one cumulative sum; the sliding dot product
``Σ_k x[t + k] · x[s + k]`` for every ``t`` at once is a cross-correlation computed with FFTs
in torch, on CUDA when present (the track's spectrum is computed once per search). No Python
loop runs over frames.

Non-maximum suppression keeps proposals apart: a start ``t`` is allowed only if its window
overlaps no blocked window (the query, earlier proposals, labelled windows) by more than half
of ``L``, i.e. ``|t − b| ≥ ceil(L / 2)`` for every blocked start ``b``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch

from loopfind_core.base.device import best_device
from loopfind_core.base.errors import SelectionError
from loopfind_core.features.track import FeatureTrack

MAX_OVERLAP_FRACTION = 0.5  # a proposal may share at most half its window with a blocked one


def _fast_fft_length(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ n: FFT lengths with only small prime factors are fast."""
    best = 1 << max(0, math.ceil(math.log2(max(n, 1))))
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            length = power35 << max(0, math.ceil(math.log2(n / power35)))
            best = min(best, length)
            power35 *= 3
        power5 *= 5
    return best


class WindowSearch:
    """Distance profiles of windows of one length against a whole feature track.

    Args:
        values: float32 array, shape (n_frames, n_dims).
        window_frames: the window length L in frames, 1 ≤ L ≤ n_frames.
        device: see :func:`best_device`.

    The features are centred per dimension (which leaves every distance unchanged) so float32
    FFTs stay accurate.
    """

    def __init__(
        self, values: np.ndarray, window_frames: int, *, device: str | torch.device | None = None
    ) -> None:
        n_frames = int(values.shape[0])
        if not 1 <= window_frames <= n_frames:
            raise SelectionError(
                f"A window of {window_frames} frames does not fit a track of {n_frames} frames."
            )
        self.device = best_device(device)
        self.window_frames = window_frames
        self.n_starts = n_frames - window_frames + 1  # valid window starts: 0 … n_frames − L
        frames = torch.as_tensor(np.asarray(values, dtype=np.float32), device=self.device)
        self._frames = frames - frames.mean(dim=0, keepdim=True)  # (n_frames, n_dims)
        frame_energy = (self._frames.double() ** 2).sum(dim=1)  # (n_frames,)
        cumulative = torch.cat([frame_energy.new_zeros(1), frame_energy.cumsum(0)])
        self._window_energy = (cumulative[window_frames:] - cumulative[:-window_frames]).float()
        self._fft_length = _fast_fft_length(n_frames)  # ≥ n_frames: no circular wrap-around
        self._track_spectrum = torch.fft.rfft(self._frames.T, n=self._fft_length)  # (dims, bins)

    @property
    def frames(self) -> torch.Tensor:
        """The track's centred frames (each dimension minus its mean over the track), shape
        (n_frames, n_dims), on :attr:`device`: the coordinates of :meth:`window`,
        :meth:`warped_window` and :meth:`template_profile`. Read only: the search's spectrum
        and window energies were computed from them."""
        return self._frames

    def window(self, start_frame: int) -> torch.Tensor:
        """The window's frames, shape (L, n_dims)."""
        self._check_start(start_frame)
        return self._frames[start_frame : start_frame + self.window_frames]

    def _check_start(self, start_frame: int) -> None:
        if not 0 <= start_frame < self.n_starts:
            raise SelectionError(
                f"Window start {start_frame} is outside 0…{self.n_starts - 1} frames."
            )

    def sliding_dot(self, template: torch.Tensor) -> torch.Tensor:
        """Σ_k x[t + k] · template[k] for every start t; template shape (L, n_dims)."""
        template_spectrum = torch.fft.rfft(template.T, n=self._fft_length)  # (dims, bins)
        cross = (self._track_spectrum * template_spectrum.conj()).sum(dim=0)  # (bins,)
        return torch.fft.irfft(cross, n=self._fft_length)[: self.n_starts]

    def warped_window(self, start_frame: int, speed: float) -> torch.Tensor:
        """The window at ``start_frame`` as it would be heard played ``speed`` times as fast,
        shape (L, n_dims): frame k is the track's frame nearest to start + k·speed (past the
        last frame: the last frame). Frames are picked, not interpolated: averaging
        neighbours would blur the template toward every window (it cost loops recall:
        docs/results.md §6.6). Works for any feature kind, whitened or not."""
        self._check_start(start_frame)
        n_frames = self._frames.shape[0]
        positions = start_frame + speed * torch.arange(
            self.window_frames, dtype=torch.float64, device=self.device)
        return self._frames[positions.round().long().clamp(0, n_frames - 1)]

    def template_profile(self, template: torch.Tensor) -> torch.Tensor:
        """Mean squared distance per frame, shape (n_starts,), of every window to a template
        of L frames given in this search's centred coordinates (e.g. :meth:`warped_window`):
        (‖W_t‖² + ‖T‖² − 2·Σ_k x[t + k]·T[k]) / L."""
        if tuple(template.shape) != (self.window_frames, self._frames.shape[1]):
            raise SelectionError(
                f"A template must have shape ({self.window_frames}, {self._frames.shape[1]}), "
                f"not {tuple(template.shape)}."
            )
        energy = float((template.double() ** 2).sum())
        return self._mean_squared(self.sliding_dot(template), energy)

    def _mean_squared(self, dot: torch.Tensor, template_energy) -> torch.Tensor:
        """(‖W_t‖² + ‖T‖² − 2·dot) / L for every start t, clamped at 0 (float rounding)."""
        squared = self._window_energy + template_energy - 2.0 * dot
        return squared.clamp_min(0.0) / self.window_frames

    def distance_profile(self, start_frame: int) -> torch.Tensor:
        """Mean squared distance per frame, shape (n_starts,), of every window to one window."""
        self._check_start(start_frame)
        dot = self.sliding_dot(self.window(start_frame))
        return self._mean_squared(dot, self._window_energy[start_frame])


def suppression_radius(window_frames: int) -> int:
    """Starts closer than this to a blocked start overlap it by more than half the window."""
    return math.ceil(window_frames * (1.0 - MAX_OVERLAP_FRACTION))


def allowed_starts(
    n_starts: int, window_frames: int, blocked_starts: Iterable[int], device: torch.device
) -> torch.Tensor:
    """Boolean mask, shape (n_starts,): True where a window overlaps no blocked window by more
    than half. Loops over the blocked windows (a handful), never over frames."""
    allowed = torch.ones(n_starts, dtype=torch.bool, device=device)
    radius = suppression_radius(window_frames)
    for blocked in blocked_starts:
        allowed[max(0, blocked - radius + 1) : max(0, blocked + radius)] = False
    return allowed


def coverage_share(n_starts: int, window_frames: int, positive_starts: Iterable[int],
                   device: torch.device) -> torch.Tensor:
    """Float tensor, shape (n_starts,): the share (0…1) of each window covered by the union
    of the windows at ``positive_starts``."""
    n_frames = n_starts + window_frames - 1
    covered = torch.zeros(n_frames + 1, dtype=torch.int32, device=device)
    for start in positive_starts:
        covered[start] += 1
        covered[min(n_frames, start + window_frames)] -= 1
    inside = (covered.cumsum(0)[:n_frames] > 0).to(torch.int32)
    cumulative = torch.cat([inside.new_zeros(1), inside.cumsum(0)])
    return (cumulative[window_frames:] - cumulative[:-window_frames]).float() / window_frames


def covered_starts(n_starts: int, window_frames: int, positive_starts: Iterable[int],
                   device: torch.device) -> torch.Tensor:
    """Boolean mask, shape (n_starts,): True where more than half of a window is covered by
    the union of the windows at ``positive_starts`` (e.g. a window astride two confirmed
    occurrences played back to back, which overlaps each by only half)."""
    return coverage_share(n_starts, window_frames, positive_starts, device) > 0.5


SILENCE_BELOW_LOUD_DB = 60.0  # a window this far under the track's loud frames is silence
QUIETER_THAN_QUERY_DB = 30.0  # a window this far under the query is not the query's sound
LOUD_PERCENTILE = 95.0  # the track's "loud frames": this percentile of the frame power


def audible_starts(track: FeatureTrack, query_start: int, window_frames: int,
                   device: torch.device) -> torch.Tensor:
    """Boolean mask over window starts, shape (n_starts,): False where the window's mean
    power is :data:`SILENCE_BELOW_LOUD_DB` under the track's loud frames (silence, fades) or
    :data:`QUIETER_THAN_QUERY_DB` under the query window's; all True when the track carries
    no frame power."""
    n_starts = track.n_frames - window_frames + 1
    if track.frame_power is None:
        return torch.ones(n_starts, dtype=torch.bool, device=device)
    power = np.asarray(track.frame_power, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    window_db = 10.0 * np.log10(
        np.maximum((cumulative[window_frames:] - cumulative[:-window_frames]) / window_frames,
                   1e-20))
    loud_db = 10.0 * np.log10(max(float(np.percentile(power, LOUD_PERCENTILE)), 1e-20))
    floor_db = max(loud_db - SILENCE_BELOW_LOUD_DB,
                   window_db[query_start] - QUIETER_THAN_QUERY_DB)
    return torch.as_tensor(window_db >= floor_db, device=device)


def best_allowed_start(scores: torch.Tensor, allowed: torch.Tensor) -> int | None:
    """The allowed start with the lowest score (the earliest on ties), or None if none is left.

    Blocked starts are masked with +inf, so when every allowed score is +inf too the earliest
    allowed start is returned, never a blocked one."""
    if not bool(allowed.any()):
        return None
    masked = torch.where(allowed, scores, torch.full_like(scores, math.inf))
    start = int(torch.argmin(masked).item())
    return start if bool(allowed[start]) else int(torch.nonzero(allowed)[0].item())
