"""The benchmark corpus generator: deterministic, valid ground truth, and sounds that are there.

Short tracks (30-40 s) keep the file fast; the structure is the same as at full length.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import stft

from loopfind_core.base.errors import ConfigurationError, DatasetError, LoopfindError
from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.synth import (
    GENRES,
    LOOP_KINDS,
    PEAK_DBFS,
    SAMPLE_KINDS,
    SynthConfig,
    SynthTrack,
    compose_track,
    generate_corpus,
    stretch_time,
)

pytestmark = pytest.mark.slow  # composes a dozen tracks (~10 s) before its first test
SHORT = SynthConfig(min_duration_s=30.0, max_duration_s=40.0)
SEEDS = (0, 1, 2)
ONE_SAMPLE_S = 1.0 / SHORT.sr_hz
RATE_HZ = 22050  # the tempo-jitter test's tone


@pytest.fixture(scope="module")
def tracks() -> dict[tuple[int, str], SynthTrack]:
    """Every genre at a few seeds."""
    return {
        (seed, genre): compose_track(seed, genre, f"t{seed}_{genre}.flac", SHORT)
        for seed in SEEDS for genre in GENRES
    }


def by_sound(track: SynthTrack) -> dict[str, list]:
    sounds: dict[str, list] = defaultdict(list)
    for a in track.annotations:
        sounds[a.sound].append(a)
    return sounds


def test_genres_are_the_papers_four():
    assert list(GENRES) == ["House", "Dubstep", "Drum&Bass", "Downtempo"]
    for name, style in GENRES.items():
        assert style.name == name
        assert set(style.loop_kinds) <= set(LOOP_KINDS)
        assert set(style.sample_kinds) <= set(SAMPLE_KINDS)
        patterns = (style.kick_patterns + style.snare_patterns + style.hat_patterns
                    + style.open_hat_patterns + style.perc_patterns)
        assert all(len(p) == 16 and set(p) <= set("Xxg.") for p in patterns)


def test_sound_ids_name_their_kind(tracks):
    for track in tracks.values():
        for a in track.annotations:
            category, kind, number = a.sound.split("_")
            assert kind in (LOOP_KINDS if category == "loop" else SAMPLE_KINDS)
            assert number.isdigit()


def test_same_seed_same_track_other_seed_other_track():
    a = compose_track(5, "Dubstep", "a.flac", SHORT)
    b = compose_track(5, "Dubstep", "a.flac", SHORT)
    c = compose_track(6, "Dubstep", "a.flac", SHORT)
    assert np.array_equal(a.samples, b.samples)
    assert a.annotations == b.annotations
    assert a.tempo_bpm == b.tempo_bpm
    assert len(a.samples) != len(c.samples) or not np.array_equal(a.samples, c.samples)
    assert a.annotations != c.annotations


def test_audio_is_mono_float32_peak_normalised_and_within_duration(tracks):
    for (_, genre), track in tracks.items():
        assert track.samples.dtype == np.float32
        assert track.samples.ndim == 1
        assert np.all(np.isfinite(track.samples))
        peak_db = 20 * np.log10(np.max(np.abs(track.samples)))
        assert peak_db == pytest.approx(PEAK_DBFS, abs=0.05)
        assert SHORT.min_duration_s - 0.01 <= track.duration_s <= SHORT.max_duration_s + 0.01
        assert track.genre == genre
        low, high = GENRES[genre].tempo_range_bpm
        assert low <= track.tempo_bpm <= high


def test_every_occurrence_lies_inside_the_track_with_valid_fields(tracks):
    for (seed, genre), track in tracks.items():
        for a in track.annotations:
            assert a.file == f"t{seed}_{genre}.flac"
            assert a.genre == genre
            assert a.category in ("sample", "loop")
            assert a.sound.startswith(a.category + "_")
            assert 0.0 <= a.start_s < a.end_s <= track.duration_s + ONE_SAMPLE_S


def test_durations_match_their_category(tracks):
    for track in tracks.values():
        for a in track.annotations:
            if a.category == "sample":
                assert 0.2 <= a.duration_s <= 6.0, a
            else:
                assert 1.0 <= a.duration_s <= 16.0, a


def test_loops_start_on_bars_and_repeat_their_unit(tracks):
    for track in tracks.values():
        bar_s = 4 * 60.0 / track.tempo_bpm
        for sound, rows in by_sound(track).items():
            if rows[0].category != "loop":
                continue
            units = {round(r.duration_s / bar_s, 6) for r in rows}
            assert len(units) == 1 and next(iter(units)) in (1.0, 2.0, 4.0), sound
            for r in rows:
                bars = r.start_s / bar_s
                assert abs(bars - round(bars)) * bar_s < 2 * ONE_SAMPLE_S, (sound, r.start_s)


def test_counts_of_sounds_and_occurrences_are_in_range(tracks):
    for track in tracks.values():
        sounds = by_sound(track)
        loops = [rows for rows in sounds.values() if rows[0].category == "loop"]
        samples = [rows for rows in sounds.values() if rows[0].category == "sample"]
        assert SHORT.loops_per_track[0] <= len(loops) <= SHORT.loops_per_track[1]
        assert SHORT.samples_per_track[0] <= len(samples) <= SHORT.samples_per_track[1]
        for rows in loops:
            assert SHORT.loop_occurrences[0] <= len(rows) <= SHORT.loop_occurrences[1]
        for rows in samples:
            assert 2 <= len(rows) <= SHORT.sample_occurrences[1]
            durations = [r.duration_s for r in rows]  # end = start + designed duration
            assert max(durations) - min(durations) < 1e-9


def test_occurrences_of_one_sound_overlap_by_at_most_half(tracks):
    for track in tracks.values():
        for sound, rows in by_sound(track).items():
            for a, b in itertools.combinations(rows, 2):
                overlap = max(0.0, min(a.end_s, b.end_s) - max(a.start_s, b.start_s))
                assert overlap <= 0.5 * min(a.duration_s, b.duration_s) + 1e-9, sound


def _band_features(samples: np.ndarray, sr_hz: int) -> tuple[np.ndarray, int]:
    """Log energy in 24 log-spaced bands from 100 Hz to Nyquist: shape (24, frames), hop."""
    hop = 512
    freqs, _, spectrum = stft(samples, fs=sr_hz, nperseg=1024, noverlap=1024 - hop)
    power = np.log(np.abs(spectrum) ** 2 + 1e-10)
    edges = np.geomspace(100.0, sr_hz / 2, 25)
    bands = [power[(freqs >= lo) & (freqs < hi)].mean(axis=0)
             for lo, hi in itertools.pairwise(edges)]
    return np.stack(bands), hop


def _window(bands: np.ndarray, first: int, width: int) -> np.ndarray:
    """Band features of ``width`` frames from frame ``first``, flattened and standardised."""
    v = bands[:, first:first + width].ravel()
    return (v - v.mean()) / (v.std() + 1e-9)


def test_a_planted_samples_occurrences_resemble_each_other_more_than_random_windows(tracks):
    """The story of the corpus: a sample really is the same sound each time it plays, though
    quiet, filtered and over other music. Its occurrences correlate (in a simple spectral
    feature) with each other more than with windows of the track taken at random."""
    rng = np.random.default_rng(0)
    margins = []
    for track in (tracks[(0, genre)] for genre in GENRES):
        bands, hop = _band_features(track.samples, track.sr_hz)
        for rows in by_sound(track).values():
            if rows[0].category != "sample":
                continue
            width = max(2, int(rows[0].duration_s * track.sr_hz / hop))
            occurrences = [_window(bands, int(r.start_s * track.sr_hz / hop), width)
                           for r in rows]
            same = np.mean([np.dot(a, b) / a.size
                            for a, b in itertools.combinations(occurrences, 2)])
            others = [_window(bands, int(first), width)
                      for first in rng.integers(0, bands.shape[1] - width, size=40)]
            other = np.mean([np.dot(occurrences[0], b) / b.size for b in others])
            margins.append(same - other)
    assert len(margins) >= 8
    assert np.mean(np.array(margins) > 0) >= 0.75
    assert np.mean(margins) > 0.05


def test_generate_corpus_writes_a_dataset_that_reads_back(tmp_path):
    calls = []
    paths = generate_corpus(tmp_path / "corpus", 5, seed=3, config=SHORT,
                            progress=lambda done, total, message: calls.append((done, total)))
    names = [p.name for p in paths]
    assert names == ["track_000_house.flac", "track_001_dubstep.flac",
                     "track_002_drumbass.flac", "track_003_downtempo.flac",
                     "track_004_house.flac"]
    assert calls == [(k, 5) for k in range(1, 6)]
    dataset = read_dataset(tmp_path / "corpus")
    assert list(dataset.files) == names
    genre_of = {a.file: a.genre for a in dataset.annotations}
    assert [genre_of[n] for n in names] == ["House", "Dubstep", "Drum&Bass", "Downtempo",
                                            "House"]
    for path in paths:
        info = sf.info(path)
        assert (info.format, info.subtype, info.channels) == ("FLAC", "PCM_16", 1)
        assert info.samplerate == SHORT.sr_hz
        assert all(o.end_s <= info.duration + 0.01
                   for s in dataset.sounds() if s.file == path.name for o in s.occurrences)


def test_track_k_does_not_depend_on_the_number_of_tracks(tmp_path):
    two = generate_corpus(tmp_path / "two", 2, seed=9, config=SHORT)
    three = generate_corpus(tmp_path / "three", 3, seed=9, config=SHORT)
    for a, b in zip(two, three[:2]):
        assert np.array_equal(sf.read(a)[0], sf.read(b)[0])
    rows_two = read_dataset(tmp_path / "two").annotations
    rows_three = read_dataset(tmp_path / "three").annotations
    assert rows_three[:len(rows_two)] == rows_two


@pytest.mark.parametrize("bad", [0, -2])
def test_generate_corpus_needs_at_least_one_track(tmp_path, bad):
    with pytest.raises(ConfigurationError, match="n_tracks"):
        generate_corpus(tmp_path / "out", bad, seed=0, config=SHORT)


def test_generate_corpus_refuses_a_file_as_folder(tmp_path):
    occupied = tmp_path / "file.txt"
    occupied.write_text("not a folder")
    with pytest.raises(DatasetError, match="is a file"):
        generate_corpus(occupied, 1, seed=0, config=SHORT)


def test_unknown_genre_names_the_choices():
    with pytest.raises(ConfigurationError, match="House, Dubstep, Drum&Bass, Downtempo"):
        compose_track(0, "Polka", "x.flac", SHORT)


def test_negative_seed_and_empty_file_name_are_refused():
    with pytest.raises(ConfigurationError, match="Seed"):
        compose_track(-1, "House", "x.flac", SHORT)
    with pytest.raises(ConfigurationError, match="file_name"):
        compose_track(0, "House", "", SHORT)


@pytest.mark.parametrize("fields", [
    {"min_duration_s": 10.0},
    {"min_duration_s": 60.0, "max_duration_s": 50.0},
    {"sample_level_db": (0.0, -5.0)},
    {"loop_dropout_probability": 1.5},
    {"sr_hz": 1000},
])
def test_bad_config_is_a_loopfind_error_naming_the_field(fields):
    with pytest.raises(LoopfindError, match=next(iter(fields))):
        SynthConfig(**fields)


def test_a_fixed_duration_is_honoured():
    config = SynthConfig(min_duration_s=45.0, max_duration_s=45.0)
    track = compose_track(1, "Drum&Bass", "x.flac", config)
    assert track.duration_s == pytest.approx(45.0, abs=ONE_SAMPLE_S)


def test_tempo_jitter_stretches_without_repitching_and_is_validated():
    tone = np.sin(2 * np.pi * 440.0 * np.arange(RATE_HZ) / RATE_HZ)
    faster = stretch_time(tone, 5.0)
    assert len(faster) == len(tone)  # length kept: padded at the end
    assert np.abs(faster[-int(0.03 * RATE_HZ):]).max() < 0.05  # the last ~5 % is silence
    spectrum = np.abs(np.fft.rfft(faster[: RATE_HZ // 2]))
    assert abs(np.argmax(spectrum) * 2 - 440) <= 4  # same pitch (2 Hz bins)
    with pytest.raises(ConfigurationError, match="loop_tempo_jitter_percent"):
        SynthConfig(loop_tempo_jitter_percent=40.0)
