"""Two tabs on one workspace (the resume offer leads there): a stale tab never overwrites the
other's answers; it is shown the newest state and told plainly which of its answers was not
kept. Every answer given is either stored or named as not kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from loopfind_core.base.paths import cache_dir
from loopfind_core.interactive.workspace_store import WorkspaceStore
from testkit.deck import deck_data, deck_press, start_hunt

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT_S = 180


@pytest.fixture(scope="module")
def stab_loop():
    from loopfind_core.corpus.dataset import read_dataset
    from loopfind_core.corpus.demo import ensure_demo_track

    return {s.sound: s for s in read_dataset(ensure_demo_track()).sounds()}["loop_stab_1"]


def tab(token: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    if token is not None:
        app.query_params["w"] = token
    app.run()
    return app


def hunt_loop(app: AppTest, loop) -> None:
    app.switch_page("pages/select.py").run()
    app.number_input(key="sel_start").set_value(loop.occurrences[0].start_s)
    app.number_input(key="sel_duration").set_value(loop.occurrences[0].duration_s)
    app.get("form_submit_button")[0].click()
    app.run()
    app.switch_page("pages/hunt.py").run()
    start_hunt(app)
    assert not app.exception, app.exception


def not_kept(app: AppTest) -> int:
    """How many answers the tab's notices say were not kept or not applied."""
    text = " ".join(w.value for w in app.warning)
    return (sum(int(n) for n in re.findall(r"(\d+) answers? in “", text))
            + sum(int(n) for n in re.findall(r"(\d+) answers? given on an older view", text)))


def test_a_stale_tab_is_refused_shown_the_newest_state_and_told(stab_loop):
    first = tab()
    hunt_loop(first, stab_loop)
    token = first.query_params["w"]
    token = token[0] if isinstance(token, list) else token
    second = tab(token)  # a second tab on the same workspace
    second.switch_page("pages/hunt.py").run()
    second.segmented_control(key="review_mode").set_value("One at a time").run()
    assert second.session_state.workspace.hunt is not None
    given, told = 0, 0
    for _ in range(3):  # the case: tab 1 says yes, tab 2 no, three times each
        for app, act in ((first, "yes"), (second, "no")):
            deck_press(app, act).run()
            given += 1
            assert not app.exception, app.exception
            told += not_kept(app)
            if app.warning:  # a stale tab: it shows the newest state now; dismiss the notice
                assert any("Another tab changed this workspace" in w.value
                           or "older view of this hunt" in w.value for w in app.warning)
                ok = [b for b in app.button if b.label == "OK"]
                if ok:
                    ok[0].click()
                    app.run()
    stored = WorkspaceStore(cache_dir()).load(token)
    assert stored.n_answers + told == given  # every answer is stored, or named as not kept
    assert told >= 1  # alternating presses on two tabs: some were pressed on a stale state
    for app in (first, second):
        app.run()
        assert len(app.session_state.workspace.hunt.session.history) == stored.n_answers
        assert deck_data(app)["now"]["answers"] == stored.n_answers
