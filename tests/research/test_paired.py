"""Paired margins: the per-sound difference, its sign counts and the Wilcoxon test."""

from __future__ import annotations

import math

import pytest

from loopfind_core.research.evaluate import start_error_spread
from loopfind_core.research.paired import paired_margins, recall_by_sound


def _sounds(method: str, recalls: list[float], category: str = "sample") -> list[dict]:
    features, strategy = method.split("/")
    return [{"file": "t.wav", "sound": f"s{i}", "category": category, "features": features,
             "strategy": strategy, "recall": r} for i, r in enumerate(recalls)]


def test_a_method_better_on_every_sound_has_a_small_p_value():
    a = recall_by_sound(_sounds("learned/active", [0.9] * 12), "learned/active")
    b = recall_by_sound(_sounds("mel-std/active", [0.5] * 12), "mel-std/active")
    (margin,) = paired_margins(a, b, "learned/active", "mel-std/active")
    assert margin.category == "sample" and margin.n_sounds == 12
    assert margin.margin == pytest.approx(0.4) and margin.standard_error == pytest.approx(0)
    assert (margin.a_better, margin.b_better) == (12, 0)
    assert margin.p_value < 0.001


def test_identical_methods_have_no_p_value_and_unpaired_sounds_are_left_out():
    sounds = _sounds("mfcc/naive", [0.2, 0.4, 0.6])
    a = recall_by_sound(sounds, "mfcc/naive")
    b = {k: v for k, v in list(a.items())[:2]}
    (margin,) = paired_margins(a, b, "x", "y")
    assert margin.n_sounds == 2 and margin.margin == 0 and math.isnan(margin.p_value)
    assert recall_by_sound(sounds, "mfcc/active") == {}


def test_start_error_spread():
    median, p90, within = start_error_spread([1.0, 2.0, 3.0, 50.0])
    assert median == pytest.approx(2.5) and within == pytest.approx(0.75)
    assert 3.0 < p90 < 50.0
    assert all(math.isnan(x) for x in start_error_spread([]))
