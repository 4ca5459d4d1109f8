"""The app's analysis jobs that are more than one call into the core, as module-level
functions a worker process can import (:mod:`loopfind_app.analysis`). No streamlit here: a
worker imports only the core."""

from __future__ import annotations

import numpy as np

from loopfind_core.base.audio import Audio
from loopfind_core.base.errors import LoopfindError
from loopfind_core.base.spectrogram import FRAME_RATE_HZ, log_mel
from loopfind_core.interactive.figures import mel_image


def spectrogram_image(audio: Audio) -> tuple[np.ndarray, np.ndarray]:
    """(frame times in seconds, log-mel image) of the whole track, for the plots."""
    return mel_image(log_mel(audio), FRAME_RATE_HZ)


def learned_problem() -> str | None:
    """Why the learned kind is unavailable (a broken or missing checkpoint), or None."""
    from loopfind_core.features.encoder import load_encoder

    try:
        load_encoder()
    except LoopfindError as error:
        return str(error)
    return None
