"""Songs of the real-music corpus's kind for browser tests: a tracker module rendered and
labelled by ``loopfind_core.corpus.tracker`` exactly as ``loopfind real-corpus`` does (the same
renderer, label settings and per-song seed), then one labelled sound made a
:class:`~testkit.load.SessionTrack` (its first occurrence is the query).

:data:`CORPUS_SONG` is a real song of the corpus (its dev split) from a small Debian package
that ``.ci/run`` installs; :func:`corpus_song_marks` skips a test without it, unless
``$LOOPFIND_REQUIRE_CORPUS_SONG`` is set (CI sets it: there a missing song fails the test).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile as sf

from .load import SessionTrack


@dataclass(frozen=True)
class CorpusSong:
    """A Debian package's tracker module, as the corpus names it."""

    package: str
    path: Path

    @property
    def present(self) -> bool:
        return self.path.is_file()


CORPUS_SONG = CorpusSong("vectoroids", Path("/usr/share/games/vectoroids/music/decision.s3m"))
REQUIRE_ENV = "LOOPFIND_REQUIRE_CORPUS_SONG"


def corpus_song_marks(song: CorpusSong = CORPUS_SONG) -> list:
    """A skip when ``song`` is not installed (``apt-get install <package>``), unless
    ``$LOOPFIND_REQUIRE_CORPUS_SONG`` asks for a failure instead."""
    return [pytest.mark.skipif(
        not song.present and not os.environ.get(REQUIRE_ENV),
        reason=f"needs Debian's {song.package} ({song.path}; .ci/run installs it)")]


def labelled_song(path: Path, seed_name: str, max_seconds: float):
    """(the mix at the corpus's rate, its labelled sounds) of the module at ``path``, cut at
    ``max_seconds``, labelled with the corpus's settings and the seed of ``seed_name``."""
    from loopfind_core.corpus.tracker.build import render_song
    from loopfind_core.corpus.tracker.labels import LabelSettings, label_song
    from loopfind_core.corpus.tracker.sources import song_seed

    renders = render_song(path, max_seconds)
    sounds = label_song(renders.score, renders.mix, renders.stems, LabelSettings(),
                        song_seed(seed_name))
    return renders.mix, sounds


def sound_track(name: str, mix, occurrences) -> SessionTrack:
    """An upload of ``mix`` (22050 Hz) whose truth is ``occurrences`` ((start, end) seconds,
    in time order; the first is the query, its length the sound's)."""
    from loopfind_core.corpus.tracker.libxmp import SAMPLE_RATE_HZ

    out = io.BytesIO()
    sf.write(out, mix, SAMPLE_RATE_HZ, format="WAV", subtype="PCM_16")
    start, end = occurrences[0]
    return SessionTrack(name, out.getvalue(), tuple(a for a, _ in occurrences), end - start)


def corpus_sound_track(song: CorpusSong, category: str, most_occurrences: int,
                       max_seconds: float) -> SessionTrack:
    """``song`` cut at ``max_seconds`` as a :class:`SessionTrack` of its labelled sound of
    ``category`` with the most occurrences up to ``most_occurrences`` (ties: the first by
    name), so a test hunts a sound of a known, moderate size."""
    from loopfind_core.corpus.tracker.sources import song_name

    name = song_name(song.package, song.path)
    mix, sounds = labelled_song(song.path, name, max_seconds)
    fitting = [s for s in sounds
               if s.category == category and len(s.occurrences) <= most_occurrences]
    if not fitting:
        raise AssertionError(f"{name}: no {category} with at most {most_occurrences} "
                             "occurrences in the first {max_seconds:.0f} s")
    chosen = min(fitting, key=lambda s: (-len(s.occurrences), s.sound))
    return sound_track(f"{name}.wav", mix, chosen.occurrences)
