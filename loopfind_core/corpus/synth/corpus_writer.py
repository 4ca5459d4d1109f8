"""The corpus: which track of a seed's corpus is which, and writing a corpus to disk.

:func:`generate_corpus` writes tracks as 16-bit FLAC files plus ``annotations.csv`` (times in
seconds); :func:`corpus_track` composes one track of a corpus alone. Bump
:data:`GENERATOR_VERSION` whenever the music for a seed changes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import soundfile as sf

from loopfind_core.base.errors import ConfigurationError, DatasetError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.corpus.dataset import ANNOTATIONS_FILE, Annotation, write_annotations
from loopfind_core.corpus.synth.composition import compose_track
from loopfind_core.corpus.synth.config import SynthConfig, SynthTrack
from loopfind_core.corpus.synth.genres import GENRES

logger = logging.getLogger(__name__)

GENERATOR_VERSION = 1  # bump whenever the music for a seed changes: cached corpora regenerate


def track_file_name(index: int, genre: str) -> str:
    """``track_000_house.flac``: zero-padded index, genre in lower case without symbols."""
    slug = "".join(ch for ch in genre.lower() if ch.isalnum())
    return f"track_{index:03d}_{slug}.flac"


def corpus_track(seed: int, index: int, config: SynthConfig = SynthConfig()) -> SynthTrack:
    """Track ``index`` of the corpus of ``seed``, exactly as :func:`generate_corpus` writes it,
    without composing the others (genres round-robin; its seed the ``index``-th child of
    ``SeedSequence(seed)``)."""
    genres = list(GENRES)
    genre = genres[index % len(genres)]
    child = np.random.SeedSequence(int(seed)).spawn(int(index) + 1)[index]
    return compose_track(int(child.generate_state(1)[0]), genre, track_file_name(index, genre),
                         config)


def generate_corpus(out_dir: str | Path, n_tracks: int, seed: int,
                    config: SynthConfig = SynthConfig(),
                    progress: ProgressCallback = no_progress) -> list[Path]:
    """Write ``n_tracks`` tracks (16-bit FLAC) and their ``annotations.csv`` into ``out_dir``.

    Genres go round-robin in the order of :data:`GENRES` (House, Dubstep, Drum&Bass,
    Downtempo). Track ``k``'s seed is the ``k``-th child of ``SeedSequence(seed)``, so it does
    not depend on ``n_tracks``. ``progress(done, n_tracks, message)`` is called after each track.

    Returns:
        The paths of the audio files, in order.

    Raises:
        ConfigurationError: ``n_tracks`` < 1 or ``seed`` negative.
        DatasetError: ``out_dir`` exists and is not a folder, or cannot be written.
    """
    if not isinstance(n_tracks, (int, np.integer)) or n_tracks < 1:
        raise ConfigurationError(f"n_tracks {n_tracks!r} must be a whole number of at least 1.")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigurationError(f"Seed {seed!r} must be a non-negative integer.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"Output folder {str(out)!r} exists and is a file, not a folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        message = f"Output folder {str(out)!r} could not be created ({error})."
        raise DatasetError(message) from error
    paths: list[Path] = []
    annotations: list[Annotation] = []
    for index in range(int(n_tracks)):
        track = corpus_track(int(seed), index, config)
        genre = track.genre
        name = track_file_name(index, genre)
        path = out / name
        try:
            sf.write(path, track.samples, track.sr_hz, format="FLAC", subtype="PCM_16")
        except (OSError, sf.LibsndfileError) as error:
            raise DatasetError(f"Could not write {str(path)!r} ({error}).") from error
        paths.append(path)
        annotations += track.annotations
        logger.info("Wrote %s (%s, %.1f BPM, %.1f s, %d occurrences).", name, genre,
                    track.tempo_bpm, track.duration_s, len(track.annotations))
        progress(index + 1, int(n_tracks), f"composed {name}")
    try:
        write_annotations(out / ANNOTATIONS_FILE, annotations)
    except OSError as error:
        message = f"Could not write {str(out / ANNOTATIONS_FILE)!r} ({error})."
        raise DatasetError(message) from error
    return paths
