"""The small things a viewer notices, through Streamlit's AppTest: the sidebar's summary on a
page that ends early, the events schema shipped with the package and offered on Export, a
short window's player with the music before it, and "Preview a demo sound" keeping the user's
selection and hunt. (The Hunt page's layout in a real browser:
tests/system/test_browser_layout.py.)"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
import tomllib
from streamlit.testing.v1 import AppTest

from loopfind_app.waveform_player import MIN_PLAYER_S, needs_lead_in
from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.demo import ensure_demo_track
from testkit.deck import deck_press, start_hunt

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
SCHEMA = "events.schema.json"


@pytest.fixture(scope="module")
def stab_loop():
    return {s.sound: s for s in read_dataset(ensure_demo_track()).sounds()}["loop_stab_1"]


def on_page(app: AppTest, page: str) -> AppTest:
    app.switch_page(f"pages/{page}.py").run()
    assert not app.exception, app.exception
    return app


def fresh_app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=180)
    app.run()
    assert not app.exception, app.exception
    return app


def select(app: AppTest, start_s: float, duration_s: float) -> AppTest:
    on_page(app, "select")
    app.number_input(key="sel_start").set_value(start_s)
    app.number_input(key="sel_duration").set_value(duration_s)
    app.get("form_submit_button")[0].click()
    app.run()
    return app


def sidebar_text(app: AppTest) -> str:
    return "\n".join(m.value for m in app.sidebar.markdown)


@pytest.mark.parametrize("page, says", [
    ("hunt", "Select a sound first"), ("export", "Nothing hunted yet"),
    ("preview", "Nothing hunted yet"),
])
def test_a_page_that_ends_early_still_has_the_sidebar_summary(page, says):
    app = on_page(fresh_app(), page)
    assert any(says in i.value for i in app.info), "the page ended early"
    assert "**Track:** track" in sidebar_text(app)


def test_the_events_schema_ships_inside_the_package_once():
    shipped = files("loopfind_core.interactive").joinpath(SCHEMA)
    schema = json.loads(shipped.read_text())
    assert schema["$schema"].endswith("2020-12/schema") and "sounds" in schema["required"]
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]
    assert SCHEMA in package_data["loopfind_core.interactive"], "the wheel carries it"
    copies = [p for top in ("docs", "loopfind_core", "loopfind_app") for p in (REPO / top).rglob(
        SCHEMA)]
    assert copies == [Path(str(shipped))], "one source of truth"
    assert "../loopfind_core/interactive/events.schema.json" in (
        REPO / "docs" / "exports.md").read_text()


def test_export_offers_the_schema_and_the_demo_sound_keeps_the_users_hunt(stab_loop):
    query = stab_loop.occurrences[0]
    app = select(fresh_app(), query.start_s, query.duration_s)
    on_page(app, "hunt")
    start_hunt(app)
    deck_press(app, "yes").run()
    ws = app.session_state.workspace
    mine, selection = ws.current, ws.selection

    on_page(app, "export")
    schema = [b for b in app.get("download_button") if b.proto.label == "JSON Schema"]
    assert len(schema) == 1
    assert not any("in Loopfind's source" in c.value for c in app.caption)

    on_page(app, "preview")
    offer = next(b for b in app.button if b.label == "Add another demo sound")
    assert "stay as they are" in offer.help
    offer.click().run()
    assert not app.exception, app.exception
    assert len(ws.hunts) == 2, "the demo sound is added beside the user's hunt"
    assert (ws.current, ws.selection) == (mine, selection), "and replaces nothing of theirs"
    on_page(app, "hunt")
    assert ws.hunt.sound == mine


def test_a_short_selection_plays_with_the_music_before_it():
    assert needs_lead_in(MIN_PLAYER_S - 0.01) and not needs_lead_in(MIN_PLAYER_S)
    app = select(fresh_app(), 30.0, 0.3)
    assert app.session_state.workspace.selection.duration_s == pytest.approx(0.3)
    assert any("0.30 s sound plays after 1.0 s of the music before it" in c.value
               for c in app.caption)
    app = select(app, 30.0, 2.0)
    assert not any("of the music before it" in c.value for c in app.caption)
