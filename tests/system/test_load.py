"""Many users at once, small: two real headless Chromium sessions at the same time, each
uploading its own generated track, hunting it and downloading its export; each export must hold
that session's events only. (The full run, 8 sessions and 100 uploads with latency and memory
figures: ``scripts/load_test.py``.) No timing asserts."""

from __future__ import annotations

import os

import pytest

from testkit.browser import CHROMIUM, app_server_pid, running_app
from testkit.load import (
    EVENT_TOLERANCE_S,
    export_problems,
    is_planted,
    run_load,
    session_track,
    summarize_latencies,
)

SESSIONS = 2
ANSWERS = 2
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("LOOPFIND_REQUIRE_BROWSER"),
    reason=f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)",
)


def own_export(track, yes_starts=()) -> dict:
    """The JSON export a session on ``track`` should get (times only matter here)."""
    times = [track.query_start_s, *yes_starts]
    return {"track": {"name": track.name},
            "sounds": [{"name": "sound 1", "events": [{"start_s": t} for t in times]}]}


def test_sessions_plant_their_sounds_at_different_times():
    tracks = [session_track(i) for i in range(8)]
    assert len({t.name for t in tracks}) == len({t.wav for t in tracks}) == 8
    for a in tracks:
        for b in tracks:
            if a is not b:
                assert min(abs(x - y) for x in a.starts_s for y in b.starts_s) > EVENT_TOLERANCE_S
    first = tracks[0]
    assert is_planted(first, first.starts_s[2]) and not is_planted(first, first.starts_s[2] + 1)


def test_an_export_with_another_sessions_data_is_caught():
    mine, theirs = session_track(0), session_track(1)
    assert export_problems(mine, own_export(mine, mine.starts_s[1:3]), 2, [mine, theirs]) == []
    assert export_problems(mine, own_export(theirs), 0, [mine, theirs])  # their track
    foreign = own_export(mine, [theirs.starts_s[1]])
    assert any(theirs.name in p for p in export_problems(mine, foreign, 1, [mine, theirs]))
    assert export_problems(mine, own_export(mine), 1, [mine])  # a yes answer went missing


def test_latency_percentiles():
    summary = summarize_latencies([0.1] * 19 + [1.0])
    assert summary.count == 20 and summary.p50_s == pytest.approx(0.1)
    assert 0.1 < summary.p95_s <= 1.0 and summary.max_s == 1.0


@pytest.mark.browser
@needs_chromium
def test_two_browser_sessions_at_once_each_export_their_own_events(tmp_path):
    with running_app() as url:
        report = run_load(url, app_server_pid(url), SESSIONS, ANSWERS, tmp_path)
    errors = [session.error for session in report.sessions if session.error is not None]
    assert not errors, "\n\n".join(errors)  # every session's, not only the first to break
    for session in report.sessions:
        assert session.problems == [], session.problems
        assert len(session.answers) == ANSWERS and len(session.latencies_s) == ANSWERS
        assert session.export["track"]["name"] == session_track(session.index).name
    assert report.latency.count == SESSIONS * ANSWERS
    assert report.server_rss_peak_mib > report.server_rss_start_mib > 0
