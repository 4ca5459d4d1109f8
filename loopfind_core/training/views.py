"""Batches of log-mel excerpts and the augmented views BYOL compares (paper §III-D).

Each augmentation is a small function over (batch, mel bins, frames) tensors in standardised
log-mel units; :func:`make_view` applies those a :class:`~loopfind_core.training.config.TrainConfig`
switches on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from loopfind_core.training.config import TrainConfig
from loopfind_core.training.data import TrackMel


@dataclass(frozen=True, eq=False)
class Batch:
    clean: torch.Tensor  # (batch, N_MELS, frames) dB
    harmonic: torch.Tensor | None  # (batch, N_MELS, frames) dB, same excerpts
    other: torch.Tensor | None  # (batch, N_MELS, frames) dB, unrelated excerpts for "mix"
    repetition: torch.Tensor | None = None  # (batch, N_MELS, frames) dB: where each excerpt
    #                                         repeats in its track (the excerpt itself if not)
    stem_view: torch.Tensor | None = None  # (batch, N_MELS, frames) dB: some of the excerpt's
    #                                        stems over a new backing (rows in stem_rows only)
    stem_rows: torch.Tensor | None = None  # (batch,) bool: the rows whose view 2 is stem_view


def sample_batch(
    tracks: Sequence[TrackMel], size: int, frames: int, rng: np.random.Generator,
    with_other: bool, repeat_share: float = 0.0, config: TrainConfig | None = None,
) -> Batch:
    """Random excerpts, files weighted by length; with ``repeat_share`` > 0, that share of the
    batch is drawn from the tracks' mined repetitions, each with its repetition; with the
    ``stems`` augmentation in ``config``, its ``stems_share`` is drawn from tracks with stems,
    each with a stem view (:func:`stem_view`)."""
    lengths = np.array([t.mel_db.shape[1] - frames + 1 for t in tracks], dtype=np.float64)
    n_pairs = np.array(
        [0 if t.repeat_pairs is None else len(t.repeat_pairs) for t in tracks], dtype=np.float64
    )
    n_repeated = int(round(size * repeat_share)) if n_pairs.sum() else 0
    has_stems = np.array([t.stems_db is not None for t in tracks])
    n_stems = (int(round(size * config.stems_share)) if config is not None
               and "stems" in config.augmentations and has_stems.any() else 0)
    n_repeated = min(n_repeated, size - n_stems)

    def excerpts(count: int) -> list[tuple[int, int]]:
        picks = rng.choice(len(tracks), size=count, p=lengths / lengths.sum())
        return [(i, int(rng.integers(0, lengths[i]))) for i in picks]

    def repetitions(count: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        picks = rng.choice(len(tracks), size=count, p=n_pairs / n_pairs.sum())
        rows = [tracks[i].repeat_pairs[rng.integers(len(tracks[i].repeat_pairs))] for i in picks]
        return ([(i, int(r[0])) for i, r in zip(picks, rows)],
                [(i, int(r[1])) for i, r in zip(picks, rows)])

    def stack(places, which: str = "mel_db") -> torch.Tensor:
        return torch.from_numpy(
            np.stack([getattr(tracks[i], which)[:, s : s + frames] for i, s in places])
        )

    places = excerpts(size - n_repeated - n_stems)
    repeated_at = list(places)  # no repetition: view 2 comes from the excerpt itself
    if n_repeated:
        more_places, more_repeated_at = repetitions(n_repeated)
        places, repeated_at = places + more_places, repeated_at + more_repeated_at
    stem_views = None
    if n_stems:
        weights = lengths * has_stems
        picks = rng.choice(len(tracks), size=n_stems, p=weights / weights.sum())
        stem_places = [(i, int(rng.integers(0, lengths[i]))) for i in picks]
        backings = excerpts(n_stems)
        views = [stem_view(tracks[i], s, frames, tracks[j].mel_db[:, b : b + frames],
                           config, rng) for (i, s), (j, b) in zip(stem_places, backings)]
        places, repeated_at = places + stem_places, repeated_at + stem_places
        stem_views = torch.from_numpy(np.concatenate(
            [np.zeros((size - n_stems, *views[0].shape), np.float32), np.stack(views)]))
    has_harmonic = tracks[0].harmonic_db is not None
    return Batch(
        clean=stack(places),
        harmonic=stack(places, "harmonic_db") if has_harmonic else None,
        other=stack(excerpts(size)) if with_other else None,
        repetition=stack(repeated_at) if repeat_share > 0 else None,
        stem_view=stem_views,
        stem_rows=torch.arange(size) >= size - n_stems if n_stems else None,
    )


def _power(db: np.ndarray) -> np.ndarray:
    return 10.0 ** (db.astype(np.float32) / 10.0)


def stem_view(track: TrackMel, start: int, frames: int, other_song_db: np.ndarray,
              config: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """The same sound over another backing (after arXiv 2510.11507), (N_MELS, frames) dB.

    The sound: a random subset of the stems playing in the excerpt (each with probability ½,
    or, with probability ``stems_single``, one of them alone; at least one, holding at least a
    tenth of the excerpt's power). The backing, with
    probability ``stems_other_song``, is ``other_song_db`` (another excerpt's mix), else the
    song's other stems at another time; it is set to the level the excerpt's own remaining
    stems had, plus a random ``stems_backing_db``. Mixed as a sum of mel powers."""
    stems = _power(track.stems_db[:, :, start : start + frames])  # (stems, mels, frames)
    energy = stems.mean(axis=(1, 2))
    total = float(energy.sum()) + 1e-12
    active = np.flatnonzero(energy >= 0.01 * total)
    chosen = active[rng.random(len(active)) < 0.5]
    if rng.random() < config.stems_single:  # one channel alone: a sample-like sound
        chosen = active[rng.integers(len(active)) : ][:1]
    if chosen.size == 0 or energy[chosen].sum() < 0.1 * total:
        loudest = active[np.argsort(-energy[active])]
        chosen = np.union1d(chosen, loudest[:1])
    rest = np.setdiff1d(np.arange(len(stems)), chosen)
    sound = stems[chosen].sum(axis=0)
    own_level = max(float(energy[rest].sum()), 0.1 * total)
    if rest.size and rng.random() >= config.stems_other_song:
        later = int(rng.integers(0, track.stems_db.shape[2] - frames + 1))
        backing = _power(track.stems_db[rest, :, later : later + frames]).sum(axis=0)
    else:
        backing = _power(other_song_db)
    low, high = config.stems_backing_db
    gain = own_level / max(float(backing.mean()), 1e-12) * 10.0 ** (rng.uniform(low, high) / 10)
    return (10.0 * np.log10(sound + gain * backing + 1e-10)).astype(np.float32)


# ----- augmentations (on dB before standardisation, or on standardised values) -------------


def mix_in(x_db: torch.Tensor, other_db: torch.Tensor, gain_db: torch.Tensor) -> torch.Tensor:
    """Add another excerpt in the power domain at ``gain_db`` (batch,): a new backing."""
    power = 10.0 ** (x_db / 10.0) + 10.0 ** ((other_db + gain_db[:, None, None]) / 10.0)
    return 10.0 * torch.log10(power)


def tilt_db(batch: int, n_mels: int, max_tilt_db: float, generator: torch.Generator):
    """A linear dB tilt across the bins, (batch, n_mels, 1): a shelving-filter change."""
    slope = (torch.rand(batch, 1, generator=generator) * 2 - 1) * max_tilt_db
    ramp = torch.linspace(-0.5, 0.5, n_mels)[None, :]
    return (slope * ramp)[:, :, None]


def drop_bins(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Zero a random ``fraction`` of the mel bins of each excerpt (standardised: 0 = mean)."""
    keep = torch.rand(x.shape[0], x.shape[1], 1, generator=generator) >= fraction
    return x * keep


def shift_bins(x: torch.Tensor, max_bins: int, generator: torch.Generator) -> torch.Tensor:
    """Transpose each excerpt by a random number of mel bins in ±max_bins, edges repeated."""
    if max_bins == 0:
        return x
    shifts = torch.randint(-max_bins, max_bins + 1, (x.shape[0],), generator=generator)
    n_mels = x.shape[1]
    source = (torch.arange(n_mels)[None, :] - shifts[:, None]).clamp(0, n_mels - 1)
    return torch.gather(x, 1, source[:, :, None].expand(-1, -1, x.shape[2]))


def make_view(
    batch: Batch, use_harmonic: bool, config: TrainConfig, mean: torch.Tensor,
    std: torch.Tensor, generator: torch.Generator, use_repetition: bool = False,
) -> torch.Tensor:
    """One augmented, standardised view (batch, N_MELS, frames) of the batch's excerpts (or of
    their repetitions elsewhere in the track, with ``use_repetition``)."""
    augs = config.augmentations
    x = batch.harmonic if use_harmonic and batch.harmonic is not None else batch.clean
    if use_repetition and batch.repetition is not None:
        x = batch.repetition
    n = x.shape[0]
    if "mix" in augs and batch.other is not None:
        low, high = config.mix_gain_db
        gain = low + (high - low) * torch.rand(n, generator=generator)
        mixed = mix_in(x, batch.other, gain)
        x = mixed if batch.stem_rows is None else torch.where(
            batch.stem_rows[:, None, None], x, mixed)  # stem rows: own mix vs a stem view
    if use_repetition and batch.stem_rows is not None:
        x = torch.where(batch.stem_rows[:, None, None], batch.stem_view, x)
    if "gain" in augs:
        x = x + ((torch.rand(n, 1, 1, generator=generator) * 2 - 1) * config.gain_db)
    if "eq" in augs:
        x = x + tilt_db(n, x.shape[1], config.eq_tilt_db, generator)
    x = (x - mean) / std
    if "shift" in augs:
        x = shift_bins(x, config.max_shift_bins, generator)
    if "drop" in augs:
        x = drop_bins(x, config.drop_fraction, generator)
    if "noise" in augs:
        x = x + config.noise_std * torch.randn(x.shape, generator=generator)
    return x
