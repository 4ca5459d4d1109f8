"""Answer latency, measured where the user feels it and where the server spends it.

Used by ``scripts/browser_bench.py``:

- :func:`core_steps` — the core's own step on the session's track and features: each
  ``answer()`` + ``propose()`` (as :func:`loopfind_core.research.bench.step_milliseconds`
  times it), and that plus ``branches()`` (what the server computes per answer for the deck);
- :func:`browser_session` — one user in headless Chromium: upload → select → hunt, then answers
  (clicks and keys alternately, from the planted truth). An in-page probe times each press from
  the input event's timestamp to the first frame, after paint, that shows the new caption AND a
  playable audio element (``readyState >= 2``) — ``performance.now()`` in the page, no
  Playwright round trip;
- :func:`protocol_session` — one user speaking the browser's protocol (testkit.protocol), for
  many users at once without many browsers: the time from an answer leaving the client to the
  deck's next branches arriving (answers follow each other after a think time from the press,
  as a user answers the candidate on screen without waiting for the rest of the rerun);
- :func:`read_answer_log` — the server's own timings (``$LOOPFIND_ANSWER_LOG``).
"""

from __future__ import annotations

import csv
import random
import statistics
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .browser import (
    answer_one_at_a_time,
    candidate_start_s,
    launch_chromium,
    open_page,
    press_answer,
    set_patience,
    wait_for_app,
    wait_settled,
)
from .load import (
    PAGE_TIMEOUT_MS,
    SessionTrack,
    click_until_shown,
    is_planted,
    open_app,
    type_selection,
    upload,
)
from .protocol import ProtocolSession

PERCENTILES = (50, 95)
MAX_PATIENCE = 50  # the Hunt page's Patience field goes up to 50

# Installed in the page once the hunt shows: for each press of a deck answer button (click) or
# of Y/N/U/D, wait frame by frame until the caption has changed, the deck is not waiting for the
# server, and the shown audio is playable (or the hunt is finished); the time is taken in a task
# posted from that frame's requestAnimationFrame, i.e. once the frame is drawn.
PROBE_JS = """() => {
  if (window.__lfProbe) return;
  const probe = window.__lfProbe = { results: [] };
  const deck = () => document.querySelector('.lf-deck');
  const caption = () => {
    const d = deck();
    return d ? d.querySelector('.lf-caption').textContent : '';
  };
  function measure(t0, via) {
    const before = caption();
    const tick = () => {
      const d = deck(), text = caption(), state = d && d.dataset.state;
      const audio = d && Array.from(d.querySelectorAll('audio')).find((a) => !a.hidden);
      const ready = state === 'finished'
        || (state === 'candidate' && audio && audio.readyState >= 2);
      if (text !== before && ready) {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => probe.results.push(
          { ms: performance.now() - t0, via, caption: text, state });
        channel.port2.postMessage(0);
      } else if (performance.now() - t0 > 60000) {
        probe.results.push({ ms: null, via, caption: text, state });
      } else {
        requestAnimationFrame(tick);
      }
    };
    requestAnimationFrame(tick);
  }
  window.addEventListener('click', (e) => {
    const b = e.target instanceof Element && e.target.closest('.lf-deck button.lf-answer');
    if (b && !b.disabled) measure(e.timeStamp, 'click');
  }, true);
  window.addEventListener('keydown', (e) => {
    if (/^[ynud]$/i.test(e.key) && !e.repeat) measure(e.timeStamp, 'key');
  }, true);
}"""


def percentiles_ms(values: list[float]) -> dict[str, float]:
    """{"n", "p50", "p95", "max"} in ms (NaN when empty)."""
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    p50, p95 = np.percentile(np.asarray(values, dtype=float), PERCENTILES)
    return {"n": len(values), "p50": round(float(p50), 2), "p95": round(float(p95), 2),
            "max": round(float(max(values)), 2)}


# ----- the core ---------------------------------------------------------------------------------


@dataclass
class CoreSteps:
    kind: str
    whitened: bool
    step_ms: list[float] = field(default_factory=list)  # answer() + propose()
    step_and_branches_ms: list[float] = field(default_factory=list)  # + branches()
    research_median_ms: float = float("nan")  # research.bench.step_milliseconds


def app_feature_kind() -> str:
    """The kind the Hunt page starts with: learned, unless its checkpoint fails to load."""
    from loopfind_core.base.errors import LoopfindError
    from loopfind_core.features.encoder import load_encoder

    try:
        load_encoder()
    except LoopfindError:
        return "mel"
    return "learned"


def core_steps(tracks: list[SessionTrack], answers: int) -> CoreSteps:
    """Time the core on each track as the app hunts it (its default kind, whitened, active):
    ``answers`` steps answered from the planted truth, twice — plain, and with branches()."""
    from loopfind_core.base.audio import load_audio
    from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
    from loopfind_core.features.registry import extract_features
    from loopfind_core.research.bench import step_milliseconds
    from loopfind_core.retrieval.session import RetrievalSession

    kind = app_feature_kind()
    result = CoreSteps(kind, True)
    medians = []
    for track in tracks:
        features = extract_features(load_audio(track.wav), kind,
                                    whiten=DEFAULT_WHITENING_SHRINKAGE)
        for with_branches in (False, True):
            session = RetrievalSession(features, track.query_start_s, track.sound_duration_s,
                                       patience=answers + 1)
            session.propose()
            if with_branches:
                session.branches()
            for _ in range(answers):
                candidate = session.propose()
                if candidate is None:
                    break
                started = time.perf_counter()
                session.answer(is_planted(track, candidate.start_s))
                session.propose()
                if with_branches:
                    session.branches()
                elapsed = 1000 * (time.perf_counter() - started)
                (result.step_and_branches_ms if with_branches else result.step_ms).append(elapsed)
        medians.append(step_milliseconds(RetrievalSession(
            features, track.query_start_s, track.sound_duration_s, patience=answers + 1)))
    result.research_median_ms = round(statistics.median(medians), 3)
    return result


# ----- one user in Chromium ---------------------------------------------------------------------


@dataclass
class BrowserResult:
    track: str
    latencies_ms: list[float] = field(default_factory=list)
    via: list[str] = field(default_factory=list)
    answers: list[bool] = field(default_factory=list)
    error: str | None = None


def start_hunt_in_browser(page, track: SessionTrack, patience: int) -> None:
    wait_for_app(page, "Beats found", timeout_ms=PAGE_TIMEOUT_MS)
    upload(page, track)
    open_page(page, "Select")
    type_selection(page, track.query_start_s, track.sound_duration_s)
    open_page(page, "Hunt")
    set_patience(page, patience, PAGE_TIMEOUT_MS)
    click_until_shown(page, page.get_by_role("button", name="Start hunt"), "One at a time")
    answer_one_at_a_time(page, PAGE_TIMEOUT_MS)
    wait_settled(page, PAGE_TIMEOUT_MS)


def browser_session(url: str, track: SessionTrack, answers: int,
                    barrier: threading.Barrier | None = None) -> BrowserResult:
    """One user in headless Chromium; each answer's latency from the in-page probe."""
    from playwright.sync_api import sync_playwright

    result = BrowserResult(track.name)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = open_app(browser, url, wait_for_demo=False)  # start_hunt_in_browser waits
            start_hunt_in_browser(page, track, min(MAX_PATIENCE, answers + 5))
            page.evaluate(PROBE_JS)
            if barrier is not None:
                barrier.wait(timeout=PAGE_TIMEOUT_MS / 1000)
            for i in range(answers):
                start = candidate_start_s(page)
                if start is None:
                    break
                yes = is_planted(track, start)
                press_answer(page, "yes" if yes else "no", key=i % 2 == 1)
                page.wait_for_function("([n]) => window.__lfProbe.results.length >= n",
                                       arg=[i + 1], timeout=PAGE_TIMEOUT_MS, polling=20)
                result.answers.append(yes)
                wait_settled(page, PAGE_TIMEOUT_MS)  # the user listens meanwhile
            for record in page.evaluate("() => window.__lfProbe.results"):
                if record["ms"] is None:
                    raise RuntimeError(f"an answer never showed its next candidate: {record}")
                result.latencies_ms.append(round(record["ms"], 2))
                result.via.append(record["via"])
            browser.close()
    except Exception:  # noqa: BLE001 — reported, the other sessions go on
        result.error = traceback.format_exc(limit=6)
        if barrier is not None:
            barrier.abort()
    return result


# ----- one user speaking the protocol -----------------------------------------------------------


@dataclass
class ProtocolResult:
    track: str
    branches_ms: list[float] = field(default_factory=list)  # answer sent → next branches in
    answers: list[bool] = field(default_factory=list)
    error: str | None = None


def protocol_session(url: str, track: SessionTrack, answers: int, think_s: float,
                     barrier: threading.Barrier | None = None, seed: int = 0) -> ProtocolResult:
    """One user through :class:`testkit.protocol.ProtocolSession`, answering from the planted
    truth after a think time of ``think_s`` × uniform(0.5, 1.5) (a person listens first)."""
    result = ProtocolResult(track.name)
    rng = random.Random(seed)
    client = None
    try:
        client = ProtocolSession(url)
        client.run()
        client.upload(track.name, track.wav)
        client.select(track.query_start_s, track.sound_duration_s)
        client.start_hunt(patience=min(MAX_PATIENCE, answers + 5))
        if barrier is not None:
            barrier.wait(timeout=PAGE_TIMEOUT_MS / 1000)
        pressed = time.perf_counter()
        for _ in range(answers):
            # a user answers the candidate on screen after listening, not after the rerun
            time.sleep(max(0.0, think_s * rng.uniform(0.5, 1.5)
                           - (time.perf_counter() - pressed)))
            _, data = client.deck()
            candidate = data["now"]["candidate"]
            if candidate is None:
                break
            minutes, seconds = candidate["at"].split(":")
            yes = is_planted(track, 60 * int(minutes) + float(seconds))
            pressed = time.perf_counter()
            timing = client.answer("yes" if yes else "no", data["applied"] + 1, wait=False)
            result.branches_ms.append(round(1000 * timing.branches_s, 2))
            result.answers.append(yes)
        client.drain()
    except Exception:  # noqa: BLE001 — reported, the other sessions go on
        result.error = traceback.format_exc(limit=6)
        if barrier is not None:
            barrier.abort()
    finally:
        if client is not None:
            client.close()
    return result


# ----- the server's log -------------------------------------------------------------------------


def read_answer_log(path: Path, skip_rows: int = 0) -> list[dict[str, float]]:
    """The rows of ``$LOOPFIND_ANSWER_LOG`` (after the first ``skip_rows``) whose action was
    applied: apply_ms, sent_ms (answer received → next branches sent), done_ms (→ rerun
    over), client_to_server_ms."""
    if not path.exists():
        return []
    with path.open() as log:
        rows = list(csv.DictReader(log))[skip_rows:]
    return [{k: float(v) if v else float("nan") for k, v in row.items()
             if k.endswith("_ms")} for row in rows if row["applied"] == "1"]


def log_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open() as log:
        return max(0, sum(1 for _ in log) - 1)
