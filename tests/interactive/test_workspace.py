"""The workspace behind the app: select a sound, hunt it, keep every hunt's events."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
from loopfind_core.interactive.workspace import Workspace, clean_sound_name
from testkit.audio import SR_HZ


@pytest.fixture
def planted_workspace(planted):
    grid = BeatGrid(120.0, np.arange(0.0, 40.0, 0.5))
    return Workspace(audio_from_samples(planted.samples, SR_HZ, "planted.wav"),
                     beats_provider=lambda: grid)


def test_workspace_selects_hunts_and_exports(planted_workspace, planted):
    ws = planted_workspace
    with pytest.raises(SelectionError, match="Select a sound first"):
        ws.start_hunt("mfcc")
    selection = ws.selection_from_box((planted.sound_starts_s[0] + 0.6,
                                       planted.sound_starts_s[0]))
    assert selection.start_s == pytest.approx(planted.sound_starts_s[0])
    hunt = ws.start_hunt("mfcc", "active", 3, sound="  my\tzap  ")
    assert hunt.sound == "my zap" and ws.hunt is hunt
    while (candidate := hunt.session.propose()) is not None:
        hunt.session.answer(any(abs(candidate.start_s - s) < 0.3
                                for s in planted.sound_starts_s))
    assert len(hunt.session.found) == 3
    events = ws.events()
    assert [e.sound for e in events] == ["my zap"] * 4
    assert [round(e.start_s) for e in events] == [round(s) for s in planted.sound_starts_s]
    assert events[0].chance == pytest.approx(1.0)
    assert all(0 <= e.chance <= 1 for e in events)
    second = ws.start_hunt("mel", "naive", 1)
    assert second.sound == "sound 2" and list(ws.hunts) == ["my zap", "sound 2"]
    ws.forget("sound 2")
    assert ws.current == "my zap"


def test_workspace_snaps_to_beats_and_refuses_nonsense(planted_workspace):
    ws = planted_workspace
    assert ws.select(3.1, 0.6, snap_to_beats=True) == ws.selection
    assert (ws.selection.start_s, ws.selection.duration_s) == (3.0, 0.5)
    for start, duration in [(1.0, 0.0), (-1.0, 1.0), (39.5, 2.0), (0.0, 30.0), ("x", 1.0)]:
        with pytest.raises(SelectionError):
            ws.select(start, duration)
    assert clean_sound_name("   ", "sound 1") == "sound 1"
    assert len(clean_sound_name("x" * 500, "s")) == 60
