"""The beat grid: snapping, durations in beats, beat positions."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.base.beats import BeatGrid

GRID = BeatGrid(120.0, np.arange(0.5, 40.0, 0.5))  # a beat every 0.5 s from 0.5 s


def test_beat_grid_snaps_and_positions():
    assert GRID.beat_period_s == pytest.approx(0.5)
    assert GRID.snap(3.3) == pytest.approx(3.5)
    assert GRID.snap_duration(1.1) == pytest.approx(1.0)
    assert GRID.snap_duration(0.1) == pytest.approx(0.5)  # never zero beats
    assert GRID.beat_position(0.5) == 0.0 and GRID.beat_position(1.75) == pytest.approx(2.5)
    assert GRID.beat_position(0.0) == pytest.approx(-1.0)
    empty = BeatGrid(0.0, np.array([]))
    assert not empty.has_beats and empty.snap(3.3) == 3.3 and np.isnan(empty.beat_position(1))
