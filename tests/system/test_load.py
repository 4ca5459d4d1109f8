"""Many users at once, small: two real headless Chromium sessions at the same time, each
uploading its own generated track, hunting it and downloading its export; each export must hold
that session's events only. (The full run, 8 sessions and 100 uploads with latency and memory
figures: ``scripts/load_test.py``.) No timing asserts. Session isolation without a browser:
tests/app_tests/test_pages.py::test_two_browser_sessions_never_share_state."""

from __future__ import annotations

import os

import pytest

from testkit.browser import CHROMIUM, app_server_pid, running_app
from testkit.load import EVENT_TOLERANCE_S, run_load, session_track

SESSIONS = 2
ANSWERS = 2
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("LOOPFIND_REQUIRE_BROWSER"),
    reason=f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)",
)


@pytest.mark.browser
@needs_chromium
def test_two_browser_sessions_at_once_each_export_their_own_events(tmp_path):
    tracks = [session_track(i) for i in range(SESSIONS)]
    assert min(abs(x - y) for x in tracks[0].starts_s for y in tracks[1].starts_s) > \
        EVENT_TOLERANCE_S, "an event of the other session's track would pass for this one's"
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
