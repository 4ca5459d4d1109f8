"""The benchmark corpus: procedurally composed electronic tracks with planted, annotated sounds.

The paper's dataset (§III-A) is 300 real songs of four genres (House, Dubstep, Drum&Bass,
Downtempo), 2 to 7.5 minutes long, in which annotators marked *samples* (stand-out sounds heard
at least twice, mostly under 3 s) and *loops* (seamlessly repeating musical and rhythmic
patterns). Those songs cannot be shipped, so this package composes look-alikes from a seed:

- a genre groove (tempo, drum patterns, swing) and an arrangement of sections (intro, build,
  drop, break, outro) in which background layers (drums, bass, pad, lead) enter and leave;
- 2-4 annotated **loops**: bar-aligned patterns (arp, chord stabs, percussion, drum fill, bass
  riff, hook, vocal chops) of 1, 2 or 4 bars; every repetition of the unit is one occurrence;
- 2-5 annotated **samples**: one-shots and effects of 0.2-6 s (impacts, risers, vocal chops,
  zaps, stabs, noise sweeps, bells), each played 2-8 times;
- what makes retrieval hard in real mixes: occurrences over different backing, with gain,
  filter, pitch and envelope changes, mixed quietly, and *decoys*: sounds made by the same
  synth with other notes, contours or vowels, either annotated as sounds of their own (when
  they repeat) or played once, un-annotated.

Every difficulty lever is a field of :class:`SynthConfig`. Each distinct sound is rendered
once; occurrences reuse it through cheap per-occurrence processing (scipy filters, gain,
interpolation for pitch), so a 4-minute track takes under a second on one core.

Everything is deterministic per seed: :func:`compose_track` draws from
``np.random.SeedSequence(seed)`` only, and :func:`generate_corpus` gives track ``k`` the ``k``-th
child of ``SeedSequence(seed)``, so track ``k`` is the same whatever ``n_tracks`` is.

Modules, from the bottom up (each imports only those above it):

- ``genres``: :class:`GenreStyle` and :data:`GENRES`, how each genre sounds;
- ``config``: :class:`SynthConfig` (the knobs, validated) and :class:`SynthTrack` (the result);
- ``dsp``: oscillators, filters, envelopes, mixing, reverb, pitch shift, time stretch;
- ``music``: beat grid, key, chords, groove (the renderers' context) and melody lines;
- ``instruments``: synth voices, basses, drum and percussion kits, a formant singer;
- ``arrangement``: the track's length and its sections with their background layers;
- ``backing``: the un-annotated background music over those sections;
- ``loops`` and ``samples``: the annotated sounds, how they sound and where they play;
- ``variation``: per-occurrence pitch, speed, envelope, filter and gain changes, and levels;
- ``composition``: :func:`compose_track`, which puts one track together and masters it;
- ``corpus_writer``: :func:`corpus_track`, :func:`generate_corpus` and the file names.
"""

from loopfind_core.corpus.synth.composition import PEAK_DBFS, compose_track
from loopfind_core.corpus.synth.config import SynthConfig, SynthTrack
from loopfind_core.corpus.synth.corpus_writer import (
    GENERATOR_VERSION,
    corpus_track,
    generate_corpus,
    track_file_name,
)
from loopfind_core.corpus.synth.dsp import stretch_time
from loopfind_core.corpus.synth.genres import GENRES, GenreStyle
from loopfind_core.corpus.synth.loops import LOOP_KINDS
from loopfind_core.corpus.synth.samples import SAMPLE_KINDS

__all__ = [
    "GENERATOR_VERSION",
    "GENRES",
    "LOOP_KINDS",
    "PEAK_DBFS",
    "SAMPLE_KINDS",
    "GenreStyle",
    "SynthConfig",
    "SynthTrack",
    "compose_track",
    "corpus_track",
    "generate_corpus",
    "stretch_time",
    "track_file_name",
]
