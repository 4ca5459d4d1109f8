"""The Preview: the latency offset (validated, applied to every event and so to every export),
the document the player draws, the track's compressed audio, the demo's one-click hunt, and
the Preview page through Streamlit's AppTest. (Its timing in Chromium:
tests/system/test_browser_preview.py.)"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
from loopfind_core.corpus.dataset import Occurrence, SoundTruth
from loopfind_core.interactive.export import Event, export
from loopfind_core.interactive.figures import waveform_envelope
from loopfind_core.interactive.preview import (
    demo_sounds,
    hunt_from_truth,
    preview_audio,
    preview_document,
)
from loopfind_core.interactive.workspace import Workspace
from testkit.audio import SR_HZ

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def chirps(planted) -> SoundTruth:
    return SoundTruth("planted.wav", "House", "sample", "chirp", tuple(
        Occurrence(s, s + planted.sound_duration_s) for s in planted.sound_starts_s))


@pytest.fixture
def workspace(planted, chirps) -> Workspace:
    grid = BeatGrid(120.0, np.arange(0.0, 40.0, 0.5))
    lonely = SoundTruth("planted.wav", "House", "loop", "lonely", (Occurrence(1.0, 2.0),))
    return Workspace(audio_from_samples(planted.samples, SR_HZ, "planted.wav"),
                     (lonely, chirps), beats_provider=lambda: grid)


def csv_starts(data: bytes) -> list[float]:
    return [float(row["start"]) for row in csv.DictReader(io.StringIO(data.decode()))]


def json_starts(document) -> list[float]:
    """Every event start in an exported JSON document (``start_s``, or ``time`` before the
    versioned schema), in document order."""
    if isinstance(document, list):
        return [t for item in document for t in json_starts(item)]
    if not isinstance(document, dict):
        return []
    if "events" in document:
        return [e.get("start_s", e.get("time")) for e in document["events"]]
    return [t for value in document.values() for t in json_starts(value)]


def test_a_demo_sound_is_hunted_from_the_truth(workspace, chirps, planted):
    assert [s.sound for s in demo_sounds(workspace)] == ["chirp", "lonely"]  # most found first
    hunt = hunt_from_truth(workspace, chirps, "mfcc")
    assert hunt.sound == "chirp" and workspace.hunt is hunt and hunt.session.done
    assert len(hunt.session.found) == 3
    assert [round(e.start_s, 1) for e in workspace.events()] == [
        round(s, 1) for s in planted.sound_starts_s]
    assert [s.sound for s in demo_sounds(workspace)] == ["lonely"]


def test_the_latency_offset_shifts_every_event_and_export_by_exactly_the_offset(
        workspace, chirps):
    hunt_from_truth(workspace, chirps, "mfcc")
    before = workspace.events()
    exports = {fmt: export(before, workspace.track_info, fmt)
               for fmt in ("csv", "json", "audacity")}
    assert workspace.set_latency_offset(37) == 37.0
    after = workspace.events()
    assert [e.start_s - b.start_s for e, b in zip(after, before)] == pytest.approx(
        [0.037] * len(before), abs=1e-9)
    assert [(e.sound, e.duration_s, e.chance) for e in after] == [
        (b.sound, b.duration_s, b.chance) for b in before]
    shifted = export(after, workspace.track_info, "csv")
    assert np.allclose(np.subtract(csv_starts(shifted), csv_starts(exports["csv"])), 0.037,
                       atol=0.0011)  # CSV keeps 3 decimals
    times = json_starts(json.loads(export(after, workspace.track_info, "json")))
    assert np.allclose(np.subtract(times, json_starts(json.loads(exports["json"]))), 0.037,
                       atol=1e-6) and len(times) == len(after)
    labels = export(after, workspace.track_info, "audacity").decode().splitlines()
    assert np.allclose([float(line.split("\t")[0]) - float(old_line.split("\t")[0]) for
                        line, old_line in zip(labels, exports["audacity"].decode().splitlines())],
                       0.037, atol=2e-6)
    document = preview_document(after, workspace.audio.duration_s, None,
                                offset_ms=workspace.latency_offset_ms)
    assert [e["t"] for e in document["events"]] == pytest.approx([e.start_s for e in after])
    assert document["offsetMs"] == 37.0
    workspace.set_latency_offset(0)
    assert workspace.events() == before


def test_a_negative_offset_never_moves_an_event_before_the_start(workspace):
    workspace.select(0.0, 0.5)
    workspace.start_hunt("mfcc", sound="first beat")
    workspace.set_latency_offset(-100)
    assert workspace.events()[0].start_s == 0.0


@pytest.mark.parametrize("bad", [100.5, -101, "x", None, float("nan"), float("inf")])
def test_an_offset_outside_100_ms_or_not_a_number_is_refused(workspace, bad):
    with pytest.raises(SelectionError, match="latency offset"):
        workspace.set_latency_offset(bad)
    assert workspace.latency_offset_ms == 0.0
    with pytest.raises(SelectionError):
        Workspace(workspace.audio, latency_offset_ms=bad)


def test_the_document_has_a_lane_per_sound_and_the_events_in_time_order(planted):
    events = [Event("zap", 3.0, 0.5, 0.8), Event("kick <b>", 1.0, 0.2, 1.0),
              Event("zap", 0.5, 0.5, float("nan"))]
    envelope = waveform_envelope(planted.samples, SR_HZ)
    grid = BeatGrid(120.0, np.arange(0.0, 40.0, 0.5))
    document = preview_document(events, 40.0, envelope, grid, -12.0, "t.wav", columns=300)
    assert [lane["name"] for lane in document["lanes"]] == ["zap", "kick <b>"]
    assert [lane["count"] for lane in document["lanes"]] == [2, 1]
    assert [(e["t"], e["lane"]) for e in document["events"]] == [(0.5, 0), (1.0, 1), (3.0, 0)]
    assert document["events"][0]["c"] == 0.0  # never NaN in JSON
    assert len(document["envelope"]["low"]) == len(document["envelope"]["high"]) == 300
    assert max(document["envelope"]["high"]) == pytest.approx(float(envelope.high.max()),
                                                              abs=1e-4)
    assert document["tempo"] == 120.0 and len(document["beats"]) == 80
    json.dumps(document, allow_nan=False)  # JSON-ready
    empty = preview_document([], 1.0, None)
    assert empty["lanes"] == [] and empty["beats"] == [] and empty["tempo"] is None


def test_the_preview_audio_is_ogg_vorbis_that_decodes_to_the_track_in_place(planted):
    audio = audio_from_samples(planted.samples, SR_HZ, "planted.wav")
    data = preview_audio(audio)
    assert data[:4] == b"OggS" and len(data) < len(planted.samples)  # < 1 byte per sample
    decoded, sr = sf.read(io.BytesIO(data), dtype="float32")
    assert sr == SR_HZ and len(decoded) == len(planted.samples)
    lags = np.arange(-50, 51)
    middle = slice(SR_HZ * 10, SR_HZ * 12)
    scores = [float(np.dot(np.roll(decoded, -lag)[middle], planted.samples[middle]))
              for lag in lags]
    assert lags[int(np.argmax(scores))] == 0, "no delay: event times hold in the audio"


# ----- the page, through AppTest ----------------------------------------------------------


@pytest.mark.slow
def test_the_preview_page_offers_the_demo_then_plays_a_finished_hunt_with_its_offset():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(APP, default_timeout=240)
    app.run()
    app.switch_page("pages/preview.py").run()
    assert not app.exception, app.exception
    assert any("Nothing hunted yet" in i.value for i in app.info)
    assert not app.get("component_instance") and not app.slider
    next(b for b in app.button if b.label == "Preview a demo sound").click().run()
    assert not app.exception, app.exception

    ws = app.session_state.workspace
    assert list(ws.hunts) == [demo_sounds(Workspace(ws.audio, ws.truth))[0].sound]
    hunt = ws.hunt
    assert hunt.session.done and len(hunt.session.found) >= 3  # answered from the truth
    assert len(app.get("component_instance")) == 1  # the player
    assert any(b.label == "Add another demo sound" for b in app.button)
    before = ws.events()
    assert len(before) == 1 + len(hunt.session.found)

    app.slider(key="latency_offset").set_value(25).run()
    assert not app.exception, app.exception
    assert ws.latency_offset_ms == 25.0
    assert [e.start_s - b.start_s for e, b in zip(ws.events(), before)] == pytest.approx(
        [0.025] * len(before), abs=1e-9)
    player = json.loads(app.get("component_instance")[0].proto.json_args)
    assert [e["t"] for e in player["doc"]["events"]] == pytest.approx(
        [e.start_s for e in ws.events()])
    assert player["doc"]["offsetMs"] == 25.0

    next(b for b in app.button if b.label == "Add another demo sound").click().run()
    assert not app.exception, app.exception
    assert len(ws.hunts) == 2 and app.slider(key="latency_offset").value == 25
    player = json.loads(app.get("component_instance")[0].proto.json_args)
    assert [lane["name"] for lane in player["doc"]["lanes"]] == list(
        dict.fromkeys(e.sound for e in ws.events()))

    app.switch_page("pages/hunt.py").run()  # the finished hunt links to the Preview
    assert not app.exception, app.exception
    links = [link.proto.page for link in app.get("page_link")]
    assert "preview" in links, links
