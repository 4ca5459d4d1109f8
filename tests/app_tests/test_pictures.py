"""Pictures and sound you can trust, through AppTest: the Track page's spectrogram on a fixed dB
scale with silence at the colour map's floor, the whole track streamed as OGG beside its
waveform, the hunt's small pictures scaled to show a short sound, a candidate's clip with the
music before it, the sidebar's summary, and the first start while the demo is being composed.
(In real Chromium, with the rendered colours: tests/system/test_browser_pictures.py.)"""

from __future__ import annotations

import base64
import io
import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from streamlit.testing.v1 import AppTest

from loopfind_app import state
from loopfind_app.preview import track_audio
from loopfind_app.sidebar import summary_lines
from loopfind_core.base.audio import audio_from_samples
from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.demo import demo_track_dir, ensure_demo_track
from loopfind_core.interactive.figures import picture_range
from testkit.audio import planted_track, write_tiny_dataset
from testkit.deck import start_hunt

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT_S = 180


def run(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, app.exception
    return app


def charts(app: AppTest) -> dict[str, dict]:
    """Each Plotly chart's figure, by the chart's user key (the end of its element id)."""
    return {e.proto.id.rsplit("-", 1)[-1]: json.loads(e.proto.spec)
            for e in app.get("plotly_chart")}


def array(value) -> np.ndarray:
    """A figure's array: a list, or Plotly's typed array {dtype, bdata (base64), shape}."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.asarray(value, dtype=np.float32)


def component_data(app: AppTest, name: str) -> dict:
    return next(json.loads(e.proto.json) for e in app.get("bidi_component")
                if e.proto.component_name == name)


@pytest.fixture(scope="module")
def demo():
    folder = ensure_demo_track()
    return {s.sound: s for s in read_dataset(folder).sounds()}


def test_the_track_page_draws_silence_black_and_streams_the_whole_track(demo):
    app = run(AppTest.from_file(APP, default_timeout=TIMEOUT_S))
    audio = app.session_state.workspace.audio
    heatmap = charts(app)["track_overview"]["data"][0]
    assert heatmap["type"] == "heatmap" and heatmap["colorscale"][0] == [0.0, "#000000"]
    assert heatmap["zmax"] - heatmap["zmin"] == pytest.approx(80.0)  # peak down to the floor
    waveform = component_data(app, "loopfind_waveform")
    assert waveform["duration"] == pytest.approx(audio.duration_s, abs=0.01)
    assert len(waveform["envelope"]["high"]) > 500 and waveform["bars"]
    assert waveform["box"].startswith("st-key-track_player_")
    players = [e.proto.url for e in app.get("audio")]
    assert len(players) == 1 and players[0].endswith(".oga")  # OGG Vorbis, not a 16 MB WAV
    ogg = track_audio(audio.content_hash, audio)
    assert len(ogg) * 8 / audio.duration_s < 96_000  # a streamable bitrate
    assert sf.info(io.BytesIO(ogg)).duration == pytest.approx(audio.duration_s, abs=0.05)


def select_demo_sample(demo) -> tuple[AppTest, object]:
    """The app with the demo's 0.39 s vocal chop selected by typing its times on Select."""
    app = run(AppTest.from_file(APP, default_timeout=TIMEOUT_S))
    run(app.switch_page("pages/select.py"))
    sample = demo["sample_vox_5"].occurrences[0]
    app.number_input(key="sel_start").set_value(sample.start_s)
    app.number_input(key="sel_duration").set_value(sample.duration_s)
    app.get("form_submit_button")[0].click()
    return run(app), sample


def test_the_select_page_marks_the_selection_on_its_waveform(demo):
    app, sample = select_demo_sample(demo)
    marks = component_data(app, "loopfind_waveform")["marks"]
    assert marks == [{"start": pytest.approx(sample.start_s, abs=1e-3),
                      "end": pytest.approx(sample.end_s, abs=1e-3), "label": "selection",
                      "color": marks[0]["color"]}]


def test_the_hunts_pictures_of_a_short_sound_show_it(demo):
    """The demo's 0.39 s vocal chop: both pictures use one scale that the sound fills, not the
    former fixed -80..0 dB (on which it was a flat purple)."""
    app, sample = select_demo_sample(demo)
    run(app.switch_page("pages/hunt.py"))
    start_hunt(app, run=run)
    pictures = {key: figure["data"][0] for key, figure in charts(app).items()
                if key.endswith("_mel")}
    assert {"query_mel", "candidate_mel"} <= {k.rsplit("_", 2)[-2] + "_mel" for k in pictures}
    scales = {(picture["zmin"], picture["zmax"]) for picture in pictures.values()}
    assert len(scales) == 1  # the query and the candidate on one colour scale
    low, high = scales.pop()
    assert 24.0 <= high - low <= 60.0
    excerpts = [array(picture["z"]) for picture in pictures.values()]
    assert (low, high) == pytest.approx(picture_range(*excerpts))
    for z in excerpts:
        p5, p99 = np.percentile(z, [5, 99])
        assert (p99 - p5) / (high - low) > 0.8  # the sound spans the colour map


def test_a_candidates_clip_starts_a_second_before_its_window():
    track = planted_track()
    audio = audio_from_samples(track.samples, 22050)
    start, end = track.sound_starts_s[1], track.sound_starts_s[1] + track.sound_duration_s
    clip = state.clip_with_context(audio.content_hash, start, end, audio)
    assert clip.lead_s == pytest.approx(state.CONTEXT_S, abs=1e-4)
    samples, sr = sf.read(io.BytesIO(clip.wav), dtype="float32")
    lead = int(round(clip.lead_s * sr))
    assert len(samples) == pytest.approx((end - start + clip.lead_s) * sr, abs=2)
    original = audio.samples[int(round((start - clip.lead_s) * sr)):][: len(samples)]
    assert np.allclose(samples[lead:], original[lead:], atol=1e-3)  # the window: untouched
    ramp = int(state.CONTEXT_RAMP_S * sr)
    gain = np.sqrt(np.sum(samples[: lead - ramp] ** 2) / np.sum(original[: lead - ramp] ** 2))
    assert gain == pytest.approx(10 ** (state.CONTEXT_GAIN_DB / 20), rel=0.02)  # softer lead-in
    early = state.clip_with_context(audio.content_hash, 0.4, 0.9, audio)  # near the start
    assert early.lead_s == pytest.approx(0.4, abs=1e-4)


def test_the_sidebar_summary_names_the_hunts_with_their_counts(demo):
    app = run(AppTest.from_file(APP, default_timeout=TIMEOUT_S))
    ws = app.session_state.workspace
    sound = demo["loop_stab_1"]
    ws.select(sound.occurrences[0].start_s, sound.occurrences[0].duration_s)
    hunt = ws.start_hunt("mel", sound="stab [1]")
    lines = summary_lines(ws)
    assert lines[0].startswith("**Track:**") and lines[-1] == r"**Hunted:** stab \[1\] (1)"
    candidate = hunt.session.propose()
    hunt.session.answer(True)
    assert summary_lines(ws)[-1] == r"**Hunted:** stab \[1\] (2)", candidate


# ----- the first start: the demo is composed in the background -------------------------------


@pytest.fixture
def gated_demo(monkeypatch, tmp_path):
    """An empty cache whose demo 'composition' waits for the returned event, then writes a
    tiny demo (two planted tracks with their truth) where the real one goes."""
    monkeypatch.setenv("LOOPFIND_CACHE", str(tmp_path / "cache"))
    gate = threading.Event()

    def compose() -> Path:
        if not gate.wait(60):
            raise RuntimeError("the test never opened the gate")
        folder = demo_track_dir()
        partial = tmp_path / "partial"
        partial.mkdir()
        write_tiny_dataset(partial)
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(partial), str(folder))
        return folder

    monkeypatch.setattr(state, "ensure_demo_track", compose)
    state._demo_job.clear()
    state._loaded_demo.clear()
    yield gate
    gate.set()
    state._demo_job.clear()
    state._loaded_demo.clear()


def test_the_demo_is_composed_once_in_the_background(gated_demo):
    """Pages that need the demo get DemoPending at once (app.py says "being prepared"; in a
    browser: tests/system/test_browser_pictures.py), never a spinner; one composition."""
    with pytest.raises(state.DemoPending):
        state.demo_track()
    job = state.demo_job()
    assert job is not None and job is state.demo_job() and job.thread.is_alive()
    gated_demo.set()
    job.thread.join(30)
    assert state.demo_job() is None
    audio, truth = state.demo_track()
    assert audio.name == "t0.wav" and truth


def test_the_track_page_offers_the_upload_while_the_demo_is_prepared(gated_demo):
    opened = threading.Timer(1.5, gated_demo.set)
    opened.start()
    began = time.monotonic()
    app = run(AppTest.from_file(APP, default_timeout=TIMEOUT_S))
    assert time.monotonic() - began >= 1.0  # it waited for the composition, saying so ...
    assert app.get("file_uploader")  # ... under the uploader, drawn first
    assert app.session_state.workspace.truth  # and then shows the demo
    assert {m.label for m in app.metric} >= {"Duration", "Tempo"}
    opened.cancel()
