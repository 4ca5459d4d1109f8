"""Each page's logic through Streamlit's AppTest: demo → selection → hunt → export, and the
messages for bad input. (The same flow in a real browser: tests/test_browser.py.)"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from streamlit.testing.v1 import AppTest

from loopfind_app.state import UPLOAD_TYPES
from loopfind_app.text import display_name, plain
from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.demo import ensure_demo_track
from loopfind_core.corpus.truth import MATCH_OVERLAP_FRACTION, overlap_s
from loopfind_core.library.catalog import LIBRARY_ENV
from testkit.deck import deck_data, deck_press, start_hunt
from testkit.hostile_inputs import HOSTILE_NAMES, content_of, hostile_inputs

TIMEOUT_S = 180
APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def stab_loop():
    return {s.sound: s for s in read_dataset(ensure_demo_track()).sounds()}["loop_stab_1"]


def fresh_app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    app.run()
    assert not app.exception, app.exception
    return app


def on_page(app: AppTest, page: str) -> AppTest:
    app.switch_page(f"pages/{page}.py").run()
    assert not app.exception, app.exception
    return app


def texts(app: AppTest) -> str:
    parts = [e.value for e in (*app.markdown, *app.caption, *app.success, *app.error, *app.info)]
    return "\n".join(str(p) for p in parts)


def type_selection(app: AppTest, start_s: float, duration_s: float) -> None:
    app.number_input(key="sel_start").set_value(start_s)
    app.number_input(key="sel_duration").set_value(duration_s)
    app.get("form_submit_button")[0].click()
    app.run()


def test_the_demo_is_loaded_on_first_visit():
    app = fresh_app()
    workspace = app.session_state.workspace
    assert workspace.audio.name == "track_000_house.flac" and workspace.truth
    labels = {m.label for m in app.metric}
    assert {"Duration", "Tempo", "Beats found"} <= labels
    tempo = next(m.value for m in app.metric if m.label == "Tempo")
    assert tempo.endswith("BPM") and 100 < float(tempo.split()[0]) < 140


def test_select_hunt_and_export_a_demo_loop(stab_loop):
    app = on_page(fresh_app(), "select")
    query = stab_loop.occurrences[0]
    type_selection(app, query.start_s, query.duration_s)
    assert "occurrence 1 of 5" in texts(app)
    assert app.session_state.workspace.selection.start_s == pytest.approx(query.start_s)

    on_page(app, "hunt")
    start_hunt(app)
    session = app.session_state.workspace.hunt.session
    unfound = list(stab_loop.occurrences[1:])
    confirmed = []  # the truth's occurrence behind each yes, in the order answered
    for _ in range(40):
        candidate = session.propose()
        if candidate is None:
            break
        hit = max(unfound, default=None, key=lambda o: overlap_s(
            candidate.start_s, candidate.end_s, o.start_s, o.end_s))
        yes = hit is not None and overlap_s(
            candidate.start_s, candidate.end_s, hit.start_s, hit.end_s
        ) >= MATCH_OVERLAP_FRACTION * query.duration_s
        if yes:
            unfound.remove(hit)
            confirmed.append(hit)
        deck_press(app, "yes" if yes else "no")
        app.run()
        assert not app.exception, app.exception
    assert session.propose() is None
    occurrences = next(m.value for m in app.metric if m.label == "Occurrences")
    assert occurrences == str(1 + len(session.found)) and len(session.found) >= 3
    deck_press(app, "undo")
    app.run()
    assert session.propose() is not None, "undo reopens the hunt"
    if yes:  # the answer undone
        confirmed.pop()

    on_page(app, "export")
    document = json.loads(app.code[0].value)  # "Preview JSON": what the JSON download holds
    assert document["track"]["name"] == "track_000_house.flac"
    assert document["track"]["sample_rate_hz"] == sf.info(
        next(ensure_demo_track().glob("*.flac"))).samplerate
    events = document["sounds"][0]["events"]
    assert len(events) == 1 + len(confirmed), "the query and every yes kept"
    assert any(e["start_s"] == pytest.approx(query.start_s, abs=1e-3) for e in events)
    for event, truth in zip(events, sorted([query, *confirmed], key=lambda o: o.start_s)):
        assert overlap_s(event["start_s"], event["end_s"], truth.start_s, truth.end_s) >= \
            MATCH_OVERLAP_FRACTION * query.duration_s, (event, truth)
    assert {b.proto.label for b in app.get("download_button")} >= {"CSV", "JSON (game engines)",
                                                                   "Audacity labels",
                                                                   "MIDI markers"}


@pytest.mark.parametrize("start_s, duration_s, message", [
    (10.0, 0.0, "empty"),
    (400.0, 2.0, "outside the track"),
    (300.0, 100.0, "past the end"),
    (0.0, 200.0, "more than half the track"),
])
def test_nonsense_selections_say_why(start_s, duration_s, message):
    app = on_page(fresh_app(), "select")
    type_selection(app, start_s, duration_s)
    assert not app.exception
    assert any(message in e.value for e in app.error), [e.value for e in app.error]
    assert app.session_state.workspace.selection is None


def test_a_hunt_needs_a_selection():
    app = on_page(fresh_app(), "hunt")
    assert any("Select a sound first" in i.value for i in app.info)


def wav_bytes(seconds: float, sr_hz: int = 44100) -> bytes:
    rng = np.random.default_rng(0)
    out = io.BytesIO()
    sf.write(out, 0.1 * rng.standard_normal(int(seconds * sr_hz)), sr_hz, format="WAV")
    return out.getvalue()


def test_an_upload_replaces_the_demo_and_a_bad_one_keeps_the_track():
    app = fresh_app()
    hostile = "../../etc/<img src=x onerror=alert(1)>[link](javascript:x).wav"
    app.file_uploader(key="upload").upload(hostile, wav_bytes(8.0), "audio/wav").run()
    assert not app.exception, app.exception
    workspace = app.session_state.workspace
    assert workspace.audio.name == "<img src=x onerror=alert(1)>[link](javascript:x).wav"
    assert not workspace.truth
    shown = next(s.value for s in app.success if "Loaded" in s.value)
    assert "\\<img" in shown and "\\[link\\]\\(javascript" in shown, shown

    app.file_uploader(key="upload").upload("broken.mp3", b"\x00not audio" * 50,
                                           "audio/mpeg").run()
    assert not app.exception
    assert any("current track is kept" in e.value for e in app.error)
    assert app.session_state.workspace is workspace


def test_two_browser_sessions_never_share_state(stab_loop):
    first, second = on_page(fresh_app(), "select"), on_page(fresh_app(), "select")
    query = stab_loop.occurrences[0]
    type_selection(first, query.start_s, query.duration_s)
    second.run()
    assert first.session_state.workspace.selection is not None
    assert second.session_state.workspace.selection is None
    assert first.session_state.workspace is not second.session_state.workspace


def test_server_settings_keep_users_safe():
    import tomllib

    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] <= 200
    assert config["client"]["showErrorDetails"] == "none"
    root = Path(APP).parent
    pages = [*(root / "pages").glob("*.py"), *(root / "loopfind_app").glob("*.py"), Path(APP)]
    for page in pages:  # no page renders raw HTML
        assert "unsafe_allow_html" not in page.read_text() and "st.html" not in page.read_text()


def test_done_ends_a_hunt_early_and_a_second_sound_exports_with_the_first(stab_loop):
    app = on_page(fresh_app(), "select")
    query = stab_loop.occurrences[0]
    type_selection(app, query.start_s, query.duration_s)
    on_page(app, "hunt")
    app.text_input(key="sound_name").set_value("stab")
    start_hunt(app)
    deck_press(app, "yes").run()
    deck_press(app, "done").run()
    workspace = app.session_state.workspace
    assert workspace.hunt.session.done and len(workspace.hunt.session.found) == 1
    assert deck_data(app)["now"]["candidate"] is None  # the deck shows "Hunt finished"
    assert app.text_input(key="sound_name").value == "", "the name field is cleared for the next"

    on_page(app, "select")
    type_selection(app, 100.0, 1.0)
    on_page(app, "hunt")
    start_hunt(app)
    assert list(workspace.hunts) == ["stab", "sound 2"]
    on_page(app, "export")
    assert {c.label.split(" — ")[0] for c in app.checkbox} == {"stab", "sound 2"}
    assert {e.sound for e in workspace.events()} == {"stab", "sound 2"}


def test_auto_accept_in_the_app_marks_and_lets_the_user_review(stab_loop):
    app = on_page(fresh_app(), "select")
    query = stab_loop.occurrences[0]
    type_selection(app, query.start_s, query.duration_s)
    on_page(app, "hunt")
    start_hunt(app)
    deck_press(app, "yes").run()
    assert not [b for b in app.button if b.key == "accept_confident"], "needs 2 answers first"
    deck_press(app, "no").run()
    app.slider(key="sensitivity").set_value(0.3).run()
    assert any("calibrated on real music" in c.value or "No window left" in c.value
               for c in app.caption)
    app.button(key="accept_confident").click().run()
    assert not app.exception, app.exception
    session = app.session_state.workspace.hunt.session
    automatic = session.auto_accepted
    assert automatic, "the demo stab has occurrences with a chance above 0.3"
    app.button(key=f"reject_{automatic[0].start_frame}").click().run()
    assert automatic[0] in session.rejected and automatic[0] not in session.auto_accepted


@pytest.mark.slow
def test_a_suggested_sound_becomes_a_hunt_in_one_click():
    app = on_page(fresh_app(), "select")
    app.toggle(key="discover").set_value(True).run()
    assert not app.exception, app.exception
    app.button(key="suggestion_1").click().run()
    assert not app.exception, app.exception
    workspace = app.session_state.workspace
    assert workspace.selection is not None and workspace.hunt is not None
    assert workspace.hunt.session.propose() is not None


@pytest.mark.slow
def test_compare_judges_every_kind_by_the_truth_then_by_the_answers(stab_loop):
    app = fresh_app()
    ws = app.session_state.workspace
    query = stab_loop.occurrences[0]
    ws.select(query.start_s, query.duration_s)
    on_page(app, "compare")
    assert app.selectbox[0].value.startswith(
        "Ground truth of the selected sound “loop_stab_1”")
    table = app.table[0].value
    assert len(table) == 5  # mfcc, mel, mel-std, learned, fused
    others = len(stab_loop.occurrences) - 1
    assert set(table["found"]) == {f"{others} / {others}"}
    assert set(table["never judged"]) == {0}
    assert app.success[0].value.startswith("On the demo")
    app.toggle(key="compare_whiten").set_value(False).run()
    assert not app.exception, app.exception
    assert "(raw features)" in app.success[0].value

    session = ws.start_hunt(kind="mel").session  # a user's hunt: two answers, one of each
    while len(session.found) < 1 or len(session.rejected) < 1:
        candidate = session.propose()
        yes = any(overlap_s(candidate.start_s, candidate.end_s, o.start_s, o.end_s)
                  >= MATCH_OVERLAP_FRACTION * query.duration_s for o in stab_loop.occurrences)
        session.answer(yes)
    app.run()
    assert not app.exception, app.exception
    assert app.selectbox[0].value.startswith("Your answers: hunt")
    table = app.table[0].value
    assert set(table["found"]) == {f"{len(session.found)} / {len(session.found)}"}
    assert app.success[0].value.startswith("On this song")


LEAKED_INTERNALS = re.compile(r"Traceback|\b\w*(Error|Exception)\b|File \"")


def uploadable(names) -> list[str]:
    """The names Streamlit's uploader lets through to the app: it refuses (before any app code
    runs) a name with a NUL byte or without one of the allowed extensions."""
    extensions = tuple(f".{t}" for t in UPLOAD_TYPES)
    return [n for n in names if "\x00" not in n and n.lower().endswith(extensions)]


@pytest.mark.slow
def test_every_bad_upload_of_the_corpus_says_why_and_keeps_the_track(tmp_path):
    """Each audio case of tests/hostile_inputs.py that must be refused, through the Track
    page's uploader: one clear message, no exception, the previous track kept; then a valid
    file under each hostile name loads and shows its name escaped."""
    app = fresh_app()
    workspace = app.session_state.workspace
    refused = [c for c in hostile_inputs() if c.target == "audio" and c.expect != "ok"]
    for item in refused:
        data = content_of(item, tmp_path)
        app.file_uploader(key="upload").set_value((item.file_name, data, "audio/wav")).run()
        assert not app.exception, (item.case, app.exception)
        errors = [e.value for e in app.error]
        assert len(errors) == 1 and errors[0].endswith("The current track is kept."), errors
        assert item.fragment in errors[0] and not LEAKED_INTERNALS.search(errors[0]), errors
        assert app.session_state.workspace is workspace, item.case
    assert not list(tmp_path.iterdir()), "no payload ran, nothing was written"

    for name in uploadable(HOSTILE_NAMES.values()):
        app.file_uploader(key="upload").set_value((name, content_of(
            next(c for c in hostile_inputs() if c.file_name == name), tmp_path), "audio/wav"))
        app.run()
        assert not app.exception and not app.error, (name, app.exception)
        loaded = app.session_state.workspace
        assert loaded is not workspace and loaded.audio.name == display_name(name)
        shown = next(s.value for s in app.success if "Loaded" in s.value)
        assert shown == f"Loaded {plain(loaded.audio.name)}. Next: select a sound."


def test_user_typed_sound_names_are_escaped_wherever_shown(stab_loop):
    """A sound name is user text: Markdown, links, images and HTML in it show literally on the
    Hunt page and in the Export page's checkbox labels (which render Markdown images)."""
    hostile = "![x](http://e.invalid/p.png) <b>b</b> [l](javascript:x)"
    app = on_page(fresh_app(), "select")
    query = stab_loop.occurrences[0]
    type_selection(app, query.start_s, query.duration_s)
    on_page(app, "hunt")
    app.text_input(key="sound_name").set_value(hostile)
    start_hunt(app)
    assert list(app.session_state.workspace.hunts) == [hostile]
    shown = {"hunt": [*(m.value for m in app.markdown), *(s.value for s in app.subheader)]}
    on_page(app, "export")
    shown["export"] = [*(m.value for m in app.markdown), *(c.label for c in app.checkbox)]
    escaped = plain(hostile)
    for page, texts_on_page in shown.items():
        with_name = [t for t in texts_on_page if escaped in t]
        assert with_name, (page, texts_on_page)
        assert not any(hostile in t for t in texts_on_page), (page, texts_on_page)


@pytest.fixture(scope="module")
def small_library(tmp_path_factory):
    """An MFCC index of two small generated tracks with a planted chirp."""
    from loopfind_core.library.store import build_index
    from testkit.audio import SR_HZ, planted_track

    root = tmp_path_factory.mktemp("app_library")
    (root / "music").mkdir()
    for seed in (0, 1):
        sf.write(root / "music" / f"planted_{seed}.wav", planted_track(seed=seed).samples, SR_HZ)
    build_index(root / "music", root / "index", kind="mfcc", jobs=1)
    return root / "index"


@pytest.mark.slow
def test_the_library_page_hunts_the_selection_across_tracks(stab_loop, small_library,
                                                             monkeypatch):
    monkeypatch.delenv(LIBRARY_ENV, raising=False)
    app = on_page(fresh_app(), "library")
    assert any(b.label == "Build the demo library" for b in app.button)  # none built yet

    monkeypatch.setenv(LIBRARY_ENV, str(small_library))
    app = on_page(fresh_app(), "select")
    query = stab_loop.occurrences[0]
    type_selection(app, query.start_s, query.duration_s)
    on_page(app, "library")
    assert "2 tracks" in texts(app)
    next(b for b in app.button if b.label == "Hunt the library").click()
    app.run()
    assert not app.exception, app.exception
    hunt = app.session_state.library_hunt
    names = [t.name for t in hunt.library.tracks]
    assert names[-1] == "track_000_house.flac" and "planted_0.wav" in names
    needed = MATCH_OVERLAP_FRACTION * query.duration_s
    for _ in range(30):
        candidate = hunt.session.propose()
        if candidate is None:
            break
        track, at_s = hunt.location(candidate)
        yes = track == "track_000_house.flac" and any(
            overlap_s(at_s, at_s + query.duration_s, o.start_s, o.end_s) >= needed
            for o in stab_loop.occurrences)
        deck_press(app, "yes" if yes else "no", key="library_deck")
        app.run()
        assert not app.exception, app.exception
    assert len(hunt.session.found) >= 2  # the loop's other occurrences, from the library page
    assert "Found in" in texts(app)
    occurrences = next(m.value for m in app.metric if m.label == "Occurrences")
    assert occurrences == str(1 + len(hunt.session.found))  # the shared hunt panel
    found_table = next(d.value for d in app.dataframe if "chance" in d.value.columns)
    assert len(found_table) == 1 + len(hunt.session.found)
    assert {b.proto.label for b in app.get("download_button")} == {"Download CSV"}

    monkeypatch.setenv(LIBRARY_ENV, str(small_library.parent / "nowhere"))
    app = on_page(fresh_app(), "library")
    assert "holds no Loopfind index" in texts(app)
