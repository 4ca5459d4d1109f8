"""The registry of feature kinds and :func:`extract_features`, the one way to compute them.

Kinds: ``mfcc`` (the paper's), ``mel`` (log-mel in dB), ``mel-std`` (log-mel standardised per
bin over the track: the no-network control), ``learned`` (the encoder of
:mod:`loopfind_core.features.encoder`) and ``fused`` (MFCC and learned, equal votes). Every kind
is a function ``(audio, **options) -> FeatureTrack``; :data:`OPTIONS_OF_KIND` names the options
a kind takes. Any kind can be whitened with the track's own covariance
(:func:`~loopfind_core.features.classic.whiten_over_track`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

import numpy as np

from loopfind_core.base.audio import Audio
from loopfind_core.base.errors import SelectionError
from loopfind_core.base.spectrogram import FRAME_RATE_HZ, HOP_LENGTH, N_MFCC
from loopfind_core.features.classic import (
    mel_features,
    mfcc_features,
    standardize_over_track,
    standardized_mel_features,
    whiten_over_track,
)
from loopfind_core.features.track import FeatureTrack, frame_power_of


def learned_features(audio: Audio, **options) -> FeatureTrack:
    """The trained encoder's embeddings; options: ``checkpoint`` (path), ``device``."""
    from loopfind_core.features.encoder import learned_features as embed

    return embed(audio, **options)


def fused_features(audio: Audio, **options) -> FeatureTrack:
    """MFCC and learned embeddings side by side, each standardised over the track and scaled
    by 1/sqrt(its dimensions), so the squared distance is the mean per-dimension distance of
    MFCC plus that of the learned kind: the two votes weigh the same. Options as ``learned``."""
    mfcc = standardize_over_track(mfcc_features(audio).values) / np.sqrt(N_MFCC)
    learned = learned_features(audio, **options).values
    learned = learned / np.sqrt(learned.shape[1])
    values = np.ascontiguousarray(np.hstack([mfcc, learned]), dtype=np.float32)
    return FeatureTrack("fused", values, FRAME_RATE_HZ)


FeatureExtractor = Callable[..., FeatureTrack]

FEATURE_KINDS: MappingProxyType[str, FeatureExtractor] = MappingProxyType(
    {
        "mfcc": mfcc_features,
        "mel": mel_features,
        "mel-std": standardized_mel_features,
        "learned": learned_features,
        "fused": fused_features,
    }
)
OPTIONS_OF_KIND = MappingProxyType(
    {"learned": ("checkpoint", "device"), "fused": ("checkpoint", "device")}
)


def extract_features(
    audio: Audio, kind: str, whiten: float | None = None, **options
) -> FeatureTrack:
    """Compute the feature track of ``kind`` (a name in :data:`FEATURE_KINDS`).

    ``whiten``: None (the paper) or a shrinkage ≥ 0 — then the frames are whitened with the
    track's covariance (:func:`whiten_over_track`) whatever the kind. The track carries the
    audio's power per frame (:attr:`FeatureTrack.frame_power`), so a hunt never proposes
    silence. Options a kind does not
    take (see :data:`OPTIONS_OF_KIND`) are ignored, so one set of options can serve every kind.
    """
    if kind not in FEATURE_KINDS:
        raise SelectionError(
            f"Unknown feature kind {kind!r}; choose one of {', '.join(FEATURE_KINDS)}."
        )
    accepted = OPTIONS_OF_KIND.get(kind, ())
    track = FEATURE_KINDS[kind](audio, **{k: v for k, v in options.items() if k in accepted})
    values = track.values if whiten is None else whiten_over_track(track.values, whiten)
    power = frame_power_of(audio.samples, HOP_LENGTH, track.n_frames)
    return FeatureTrack(track.kind, values, track.frame_rate_hz, power)
