"""The app's Plotly figures build from a planted track."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.spectrogram import FRAME_RATE_HZ, log_mel
from loopfind_core.features.registry import extract_features
from loopfind_core.interactive.compare import distance_curve
from loopfind_core.interactive.figures import (
    COLORS,
    MEL_COLORSCALE,
    TimelineMarks,
    distance_figure,
    excerpt_figure,
    mel_image,
    picture_range,
    selection_figure,
    self_similarity_figure,
    spectrogram_figure,
    spectrogram_range,
    timeline_figure,
    waveform_envelope,
)
from testkit.audio import SR_HZ

GRID = BeatGrid(120.0, np.arange(0.5, 40.0, 0.5))  # a beat every 0.5 s from 0.5 s


def test_figures_build(planted):
    envelope = waveform_envelope(planted.samples, SR_HZ, points=500)
    assert len(envelope.times_s) == 500 and np.all(envelope.low <= envelope.high)
    image = np.zeros((128, 300), dtype=np.float32)
    figure = selection_figure(envelope, np.arange(300) / 10, image, (3.0, 1.0), GRID)
    assert figure.layout.dragmode == "select"
    marks = TimelineMarks((3.1, 3.7), [(11.7, 12.3)], [(20.0, 20.6)], (22.4, 23.0))
    assert len(timeline_figure(envelope, marks).layout.shapes) == 4
    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mfcc")
    curve = distance_curve(track, 3.1, 0.6)
    assert len(distance_figure([curve, curve]).data) == 2
    assert len(self_similarity_figure({"a": np.eye(3), "b": np.eye(3)}, 40.0).data) == 2


# ----- pictures you can trust: silence at the floor, quiet sounds visible ----------------------

STREAMLIT_PLACEHOLDERS = {f"#{n:06d}" for n in range(1, 41)}  # the theme rewrites these


def _silent_ending(planted) -> np.ndarray:
    """The planted track, its last 10 s fading to nothing, then 5 s of digital silence."""
    samples = planted.samples.astype(np.float32).copy()
    fade = int(10.0 * SR_HZ)
    samples[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32) ** 3
    return np.concatenate([samples, np.zeros(int(5.0 * SR_HZ), np.float32)])


def test_silence_is_drawn_at_the_colour_maps_floor(planted):
    samples = _silent_ending(planted)
    mel_db = log_mel(audio_from_samples(samples, SR_HZ))
    times, image = mel_image(mel_db, FRAME_RATE_HZ)
    zmin, zmax = spectrogram_range(image)
    assert zmax == pytest.approx(float(image.max())) and zmin == pytest.approx(zmax - 80.0)
    silent = times > len(planted.samples) / SR_HZ + 0.2  # the digital silence (past the STFT)
    assert silent.sum() > 10
    assert np.allclose(image[:, silent], zmin, atol=0.01)  # every bin: the floor colour
    end_of_fade = (times > len(planted.samples) / SR_HZ - 0.6) & ~silent
    assert image[:, end_of_fade].mean() < zmin + 0.25 * (zmax - zmin)  # nearly black already
    for figure in (selection_figure(waveform_envelope(samples, SR_HZ), times, image),
                   spectrogram_figure(times, image)):
        heatmap = next(trace for trace in figure.data if trace.type == "heatmap")
        assert (heatmap.zmin, heatmap.zmax) == (pytest.approx(zmin), pytest.approx(zmax))
        assert heatmap.colorscale[0][1] == "#000000"  # the floor: black, in both themes


def test_no_figure_colour_is_a_streamlit_theme_placeholder():
    colours = {c.lower() for _, c in MEL_COLORSCALE} | {c.lower() for c in COLORS.values()}
    assert not colours & STREAMLIT_PLACEHOLDERS
    figure = excerpt_figure(np.zeros((128, 10), np.float32), FRAME_RATE_HZ, 0.0)
    spec = json.dumps(figure.data[0].to_plotly_json(), default=str).lower()  # not the template:
    assert not any(p in spec for p in STREAMLIT_PLACEHOLDERS)  # Streamlit's own has them


def _quiet_click_in_noise(seed: int = 0) -> tuple[np.ndarray, slice]:
    """2 s of noise at about -70 dBFS with a 0.3 s cymbal-like click (5-10 kHz noise, decaying,
    -35 dBFS peak) at 1 s; and the frames of the click."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    samples = (10 ** (-70 / 20) * rng.standard_normal(2 * SR_HZ)).astype(np.float32)
    n = int(0.3 * SR_HZ)
    band = butter(4, [5000, 10000], btype="band", fs=SR_HZ, output="sos")
    click = sosfilt(band, rng.standard_normal(n)) * np.exp(-np.arange(n) / SR_HZ / 0.1)
    samples[SR_HZ : SR_HZ + n] += (click / np.abs(click).max() * 10 ** (-35 / 20)).astype(
        np.float32)
    first = int(1.0 * FRAME_RATE_HZ) + 1
    return samples, slice(first, first + int(0.2 * FRAME_RATE_HZ))


def test_a_short_quiet_sound_spans_the_pictures_colour_scale():
    samples, click = _quiet_click_in_noise()
    mel_db = log_mel(audio_from_samples(samples, SR_HZ))
    query, candidate = mel_db[:, 38:62], mel_db[:, 30:70]  # two windows around the click
    zmin, zmax = picture_range(query, candidate)
    assert zmax - 60.0 <= zmin < zmax
    loudest = mel_db[:, click].mean(axis=1)
    bins = loudest >= np.percentile(loudest, 75)  # the click's band
    sound, noise = np.median(mel_db[bins][:, click]), np.median(mel_db[:, :20])

    def level(value: float, low: float = zmin, high: float = zmax) -> float:
        """Where a value sits on a colour scale, 0 (floor) to 1 (top)."""
        return float(np.clip((value - low) / (high - low), 0.0, 1.0))

    assert level(sound) > 0.6 and level(noise) < 0.3  # the click bright, the noise dark
    old = level(sound, -80.0, 0.0) - level(noise, -80.0, 0.0)  # the former fixed scale
    assert level(sound) - level(noise) > 2.0 * old  # was flat purple: now twice the contrast
    figure = excerpt_figure(query, FRAME_RATE_HZ, 1.0, zrange=(zmin, zmax))
    assert (figure.data[0].zmin, figure.data[0].zmax) == (zmin, zmax)
    alone = excerpt_figure(query, FRAME_RATE_HZ, 1.0)  # by default: this window's own range
    assert (alone.data[0].zmin, alone.data[0].zmax) == picture_range(query)


def test_the_shared_scale_keeps_silence_dark_and_a_quieter_window_darker():
    silence = np.full((128, 20), -50.0, np.float32)
    zmin, zmax = picture_range(silence)
    assert zmin == pytest.approx(-50.0) and zmax - zmin >= 24.0  # flat: the floor, not the top
    rng = np.random.default_rng(1)
    loud = rng.normal(-10.0, 8.0, (128, 20)).astype(np.float32)
    quiet = loud - 25.0
    zmin, zmax = picture_range(loud, quiet)
    assert np.median(quiet) < np.median(loud) and zmin >= zmax - 60.0
    assert zmin < np.median(quiet) < np.median(loud) < zmax
