"""The real-music corpus: tracker modules (.mod, .s3m, .xm, .it) shipped in Debian packages,
rendered by libxmp, with ground truth read exactly off the score.

A tracker module is a score and its instruments, so what repeats and when is known to the
sample: which (instrument, note) plays where (the samples), and which patterns, or which
channels of a pattern, are played again (the loops). Solo renders of each channel, on the same
clock as the mix, decide whether an occurrence is audible in the mix.

Modules, from the bottom up:

- ``libxmp``: the ctypes binding (load, read the patterns, render the mix or one channel);
- ``score``: row starts, notes and pattern plays of one render;
- ``labels``: the labelling rules (samples, loops, audibility, caps);
- ``sources``: the Debian packages and their module files, the dev/train split;
- ``build``: :func:`build_real_corpus`, the corpus on disk.
"""

from loopfind_core.corpus.tracker.build import (
    GENRE,
    MAX_SECONDS,
    build_real_corpus,
    render_song,
    summary_lines,
)
from loopfind_core.corpus.tracker.labels import LabelSettings, Sound, label_song
from loopfind_core.corpus.tracker.libxmp import SAMPLE_RATE_HZ, XmpPlayer
from loopfind_core.corpus.tracker.score import Score, build_score
from loopfind_core.corpus.tracker.sources import SOURCES, Source, split_of

__all__ = [
    "GENRE",
    "MAX_SECONDS",
    "SAMPLE_RATE_HZ",
    "SOURCES",
    "LabelSettings",
    "Score",
    "Sound",
    "Source",
    "XmpPlayer",
    "build_real_corpus",
    "build_score",
    "label_song",
    "render_song",
    "split_of",
    "summary_lines",
]
