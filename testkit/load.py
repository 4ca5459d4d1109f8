"""Many users at once: real headless Chromium sessions drive the app in parallel, each on its
own generated track, while the server's memory is sampled.

Used by ``tests/system/test_load.py`` (2 sessions, in the suite) and ``scripts/load_test.py`` (8
sessions and 100 successive uploads, from one command). Every session uploads a WAV with a
chirp planted at its own times, types a selection over the first one, answers hunt candidates
from those times, downloads the JSON export and checks it holds its own events only.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from loopfind_core.corpus.truth import MATCH_OVERLAP_FRACTION, overlap_s

from .browser import (
    answer_one_at_a_time,
    candidate_start_s,
    launch_chromium,
    open_page,
    wait_for_app,
    wait_idle,
    wait_settled,
)

SR_HZ = 22050
SOUND_DURATION_S = 0.6  # the planted chirp: a zap-like one-shot
PLANTED_FRACTIONS = (0.07, 0.32, 0.57, 0.82)  # where the chirps go, as fractions of the track
SESSION_SHIFT_S = 0.23  # session i's chirps sit i · 0.23 s later (mod 2 s): no two alike
EVENT_TOLERANCE_S = 0.1  # an exported event this close to a planted start is that occurrence
PAGE_TIMEOUT_MS = 240_000  # generous: 8 browsers and the server share 2 cores
ANSWER_TIMEOUT_MS = 120_000
PERCENTILES = (50, 95)


# ----- the tracks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTrack:
    """One session's upload: a WAV with a chirp planted at ``starts_s``."""

    name: str  # the file name the browser uploads (unique per index)
    wav: bytes  # 16-bit PCM WAV at SR_HZ
    starts_s: tuple[float, ...]  # where the planted chirp starts, seconds
    sound_duration_s: float  # the chirp's length, seconds

    @property
    def query_start_s(self) -> float:
        return self.starts_s[0]


def chirp(duration_s: float, f0_hz: float, f1_hz: float, sr_hz: int = SR_HZ) -> np.ndarray:
    """A decaying linear chirp from ``f0_hz`` to ``f1_hz`` (a zap-like one-shot)."""
    t = np.arange(int(duration_s * sr_hz)) / sr_hz
    phase = 2 * np.pi * (f0_hz * t + 0.5 * (f1_hz - f0_hz) / duration_s * t**2)
    return (np.sin(phase) * np.exp(-2.0 * t / duration_s)).astype(np.float32)


def planted_starts_s(index: int, track_s: float) -> tuple[float, ...]:
    """Session ``index``'s chirp starts (seconds): the same spread for every session, shifted
    by ``index · SESSION_SHIFT_S`` modulo 2 s, so sessions 0–8 never share a start."""
    shift = (index * SESSION_SHIFT_S) % 2.0
    return tuple(round(f * track_s + shift, 3) for f in PLANTED_FRACTIONS)


def session_samples(index: int, track_s: float) -> tuple[np.ndarray, tuple[float, ...]]:
    """Noise and a 120 BPM kick (seeded by ``index``) with the chirp at its planted starts."""
    rng = np.random.default_rng(1000 + index)
    samples = 0.03 * rng.standard_normal(int(track_s * SR_HZ)).astype(np.float32)
    kick = chirp(0.15, 120.0, 45.0)
    for beat_s in np.arange(0.0, track_s - 0.2, 0.5):
        i = int(beat_s * SR_HZ)
        samples[i : i + len(kick)] += 0.3 * kick
    sound = 0.4 * chirp(SOUND_DURATION_S, 2500.0, 600.0)
    starts = planted_starts_s(index, track_s)
    for start in starts:
        i = int(start * SR_HZ)
        samples[i : i + len(sound)] += sound
    return samples, starts


def session_track(index: int, track_s: float = 30.0) -> SessionTrack:
    """The distinct WAV that session ``index`` uploads."""
    samples, starts = session_samples(index, track_s)
    out = io.BytesIO()
    sf.write(out, samples, SR_HZ, format="WAV", subtype="PCM_16")
    return SessionTrack(f"loadtest-{index:03d}.wav", out.getvalue(), starts, SOUND_DURATION_S)


def is_planted(track: SessionTrack, start_s: float) -> bool:
    """The simulated user's answer: does a candidate at ``start_s`` cover a planted chirp?"""
    needed_s = MATCH_OVERLAP_FRACTION * track.sound_duration_s
    end_s = start_s + track.sound_duration_s
    return any(overlap_s(start_s, end_s, s, s + track.sound_duration_s) >= needed_s
               for s in track.starts_s[1:])


def export_problems(track: SessionTrack, document: dict, yes_answers: int,
                    others: Sequence[SessionTrack] = ()) -> list[str]:
    """Why a session's JSON export is not its own (empty when it is): the wrong track name, a
    count of events other than the query plus its yes answers, or an event away from every
    chirp of its own track (or at another session's)."""
    problems = []
    name = document.get("track", {}).get("name")
    if name != track.name:
        problems.append(f"track {name!r}, expected {track.name!r}")
    times = [float(e["start_s"]) for s in document.get("sounds", []) for e in s["events"]]
    if len(times) != 1 + yes_answers:
        problems.append(f"{len(times)} events, expected 1 + {yes_answers} yes answers")
    foreign = {other.name: [s for s in other.starts_s
                            if min(abs(s - own) for own in track.starts_s) > EVENT_TOLERANCE_S]
               for other in others if other.name != track.name}
    for t in times:
        if min(abs(t - s) for s in track.starts_s) > EVENT_TOLERANCE_S:
            problems.append(f"event at {t:.3f} s is none of this track's chirps")
        problems += [f"event at {t:.3f} s is a chirp of {name}" for name, starts in foreign.items()
                     if any(abs(t - s) <= EVENT_TOLERANCE_S for s in starts)]
    return problems


# ----- the server's memory ---------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and every descendant process (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def status_kib(pid: int, key: str) -> int:
    """A ``/proc/<pid>/status`` field in KiB (``VmRSS``, ``VmHWM``), 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, MiB."""
    return sum(status_kib(p, "VmRSS") for p in process_tree(pid)) / 1024.0


CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live descendants."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS_PER_S


def machine_busy_cpu_s() -> float:
    """CPU seconds every core of the machine has spent busy since boot (all processes)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / CLOCK_TICKS_PER_S


@dataclass
class RssTrace:
    """Resident memory of a process tree sampled over time."""

    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)
    peak_hwm_mib: float = 0.0  # the kernel's own peak (VmHWM) of the main process, MiB

    @property
    def peak_mib(self) -> float:
        return max((mib for _, mib in self.samples), default=0.0)

    @property
    def first_mib(self) -> float:
        return self.samples[0][1] if self.samples else 0.0


@contextmanager
def sampling_rss(pid: int, period_s: float = 0.2) -> Iterator[RssTrace]:
    """Sample the resident memory of ``pid``'s process tree every ``period_s`` in a thread."""
    trace = RssTrace(pid)
    stop = threading.Event()
    start = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            trace.samples.append((time.monotonic() - start, tree_rss_mib(pid)))
            stop.wait(period_s)

    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        yield trace
    finally:
        trace.peak_hwm_mib = status_kib(pid, "VmHWM") / 1024.0
        stop.set()
        sampler.join()


# ----- one browser session ---------------------------------------------------------------------


@dataclass
class SessionResult:
    """What one browser session did and saw."""

    index: int
    track: str
    answers: list[bool] = field(default_factory=list)  # the simulated user's yes/no, in order
    latencies_s: list[float] = field(default_factory=list)  # click → next candidate shown
    stage_s: dict[str, float] = field(default_factory=dict)  # wall time of each stage
    export: dict | None = None  # the downloaded JSON
    problems: list[str] = field(default_factory=list)  # why the export is not its own
    error: str | None = None  # the exception, if the session broke

    @property
    def ok(self) -> bool:
        return self.error is None and not self.problems and self.export is not None


def open_app(browser, url: str, wait_for_demo: bool = True):
    """A new tab of ``browser`` on the app at ``url`` (1400×1000, generous timeouts), once the
    demo's Track page shows its beats (unless ``wait_for_demo`` is off)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(url, timeout=PAGE_TIMEOUT_MS)
    if wait_for_demo:
        wait_for_app(page, "Beats found", timeout_ms=PAGE_TIMEOUT_MS)
    return page


def upload(page, track: SessionTrack) -> None:
    """Upload ``track`` with the Track page's file uploader and wait until it is loaded."""
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        {"name": track.name, "mimeType": "audio/wav", "buffer": track.wav})
    page.get_by_text(f"Loaded {track.name}").first.wait_for(timeout=PAGE_TIMEOUT_MS)
    wait_idle(page, PAGE_TIMEOUT_MS)


CLICK_ATTEMPTS = 3
CLICK_WAIT_MS = 60_000


def click_until_shown(page, button, text: str) -> None:
    """Click ``button`` until ``text`` shows, at most :data:`CLICK_ATTEMPTS` times, as a user
    clicks again when nothing happens: under load a click can land on an element a running
    rerun is replacing, and then it is lost (seen once in ~10 runs of the 2-session test)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, CLICK_ATTEMPTS + 1):
        button.click()
        try:
            page.get_by_text(text).first.wait_for(timeout=CLICK_WAIT_MS)
            return
        except PlaywrightTimeout:
            if attempt == CLICK_ATTEMPTS:
                raise


def type_selection(page, start_s: float, duration_s: float) -> None:
    """On the Select page: type the start and length (each committed by leaving the field, as
    a user's Tab does), press 'Use these times' and wait for the selection to show."""
    for label, value in (("Start (s)", start_s), ("Length (s)", duration_s)):
        field = page.get_by_label(label)
        field.fill(f"{value:.3f}")
        field.press("Tab")
    click_until_shown(page, page.get_by_role("button", name="Use these times"), "Hunt this sound")
    wait_idle(page, PAGE_TIMEOUT_MS)


def hunt_typed_selection(page, start_s: float, duration_s: float) -> None:
    """Select ``duration_s`` seconds from ``start_s`` by typing them on the Select page
    (:func:`type_selection`), start a hunt on Hunt, and answer it one at a time: the deck's
    first candidate is on screen."""
    open_page(page, "Select")
    type_selection(page, start_s, duration_s)
    open_page(page, "Hunt")
    page.get_by_role("button", name="Start hunt").click()
    answer_one_at_a_time(page, 180_000)
    wait_settled(page)


def answer_and_time(page, yes: bool, next_number: int) -> float:
    """Click Yes or No; return the seconds until candidate ``next_number`` (or the end of the
    hunt) shows; then wait for the rerun to finish."""
    button = page.get_by_role("button", name="Yes" if yes else "No", exact=True)
    clicked = time.perf_counter()
    button.click()
    page.wait_for_function(
        "([n]) => document.body.innerText.includes(`Candidate ${n} ·`) || "
        "document.body.innerText.includes('Hunt finished')", arg=[next_number],
        timeout=ANSWER_TIMEOUT_MS, polling=20,
    )
    shown = time.perf_counter()
    wait_settled(page, ANSWER_TIMEOUT_MS)
    return shown - clicked


def download_json(page, folder: Path, index: int) -> dict:
    """On the Export page: download the JSON export and parse it."""
    with page.expect_download(timeout=PAGE_TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="JSON (game engines)").click()
    path = folder / f"export-{index:03d}.json"
    download_info.value.save_as(path)
    return json.loads(path.read_text())


def drive_session(page, track: SessionTrack, max_answers: int, folder: Path,
                  result: SessionResult, before_answers: Callable[[], None] = lambda: None
                  ) -> None:
    """Upload → select → hunt (answering up to ``max_answers``) → export, into ``result``."""

    def stage(name: str, started: float) -> float:
        now = time.perf_counter()
        result.stage_s[name] = round(now - started, 3)
        return now

    started = time.perf_counter()
    wait_for_app(page, "Beats found", timeout_ms=PAGE_TIMEOUT_MS)
    started = stage("open", started)
    upload(page, track)
    started = stage("upload", started)
    open_page(page, "Select")
    type_selection(page, track.query_start_s, track.sound_duration_s)
    started = stage("select", started)
    open_page(page, "Hunt")
    click_until_shown(page, page.get_by_role("button", name="Start hunt"), "One at a time")
    answer_one_at_a_time(page, PAGE_TIMEOUT_MS)
    wait_idle(page, PAGE_TIMEOUT_MS)
    started = stage("hunt_start", started)
    before_answers()
    started = time.perf_counter()
    while len(result.answers) < max_answers and (start := candidate_start_s(page)) is not None:
        yes = is_planted(track, start)
        result.latencies_s.append(round(answer_and_time(page, yes, len(result.answers) + 2), 4))
        result.answers.append(yes)
    started = stage("answers", started)
    open_page(page, "Export")
    result.export = download_json(page, folder, result.index)
    stage("export", started)


def run_browser_session(url: str, track: SessionTrack, index: int, max_answers: int,
                        folder: Path, barrier: threading.Barrier | None = None) -> SessionResult:
    """One user in their own headless Chromium (own Playwright, so it may run in a thread)."""
    from playwright.sync_api import sync_playwright

    result = SessionResult(index, track.name)
    last_text = ""  # the page's text when it broke

    def meet() -> None:  # every session starts answering at about the same moment
        if barrier is not None:
            barrier.wait(timeout=PAGE_TIMEOUT_MS / 1000)

    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000},
                                        accept_downloads=True)
                page.set_default_timeout(PAGE_TIMEOUT_MS)
                page.goto(url, timeout=PAGE_TIMEOUT_MS)
                try:
                    drive_session(page, track, max_answers, folder, result, meet)
                except Exception:
                    last_text = page.locator("body").inner_text(timeout=10_000)
                    raise
            finally:
                browser.close()
    except Exception:  # noqa: BLE001 — reported per session, the others go on
        result.error = traceback.format_exc(limit=6) + f"\npage text: {last_text[-1500:]}"
        if barrier is not None:
            barrier.abort()
    return result


# ----- many sessions at once -------------------------------------------------------------------


@dataclass(frozen=True)
class LatencySummary:
    """Answer latencies (click → next candidate shown), seconds."""

    count: int
    p50_s: float
    p95_s: float
    max_s: float


def summarize_latencies(latencies_s: Sequence[float]) -> LatencySummary:
    if not latencies_s:
        return LatencySummary(0, float("nan"), float("nan"), float("nan"))
    p50, p95 = np.percentile(np.asarray(latencies_s, dtype=float), PERCENTILES)
    return LatencySummary(len(latencies_s), round(float(p50), 4), round(float(p95), 4),
                          round(max(latencies_s), 4))


@dataclass
class LoadReport:
    """Sessions run at once against one server."""

    sessions: list[SessionResult]
    latency: LatencySummary
    server_rss_start_mib: float
    server_rss_peak_mib: float  # the highest sample of the server's process tree
    server_hwm_mib: float  # the kernel's peak resident set of the server process (VmHWM)
    wall_s: float
    server_cpu_s: float  # CPU seconds the server used meanwhile
    machine_busy_cpu_s: float  # CPU seconds every process on the machine used meanwhile
    load_average_after: tuple[float, float, float]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sessions)

    def to_json(self) -> dict:
        return asdict(self) | {"ok": self.ok}


def run_load(url: str, server_pid: int, n_sessions: int, max_answers: int, folder: Path,
             track_s: float = 30.0, first_index: int = 0) -> LoadReport:
    """``n_sessions`` browsers at once, each on its own track (indices from ``first_index``);
    check that every export holds its own session's events only."""
    folder.mkdir(parents=True, exist_ok=True)
    tracks = [session_track(first_index + i, track_s) for i in range(n_sessions)]
    barrier = threading.Barrier(n_sessions)
    started, server_cpu, busy_cpu = time.perf_counter(), tree_cpu_s(server_pid), \
        machine_busy_cpu_s()
    with sampling_rss(server_pid) as trace, ThreadPoolExecutor(n_sessions) as pool:
        futures = [pool.submit(run_browser_session, url, track, first_index + i, max_answers,
                               folder, barrier) for i, track in enumerate(tracks)]
        results = [f.result() for f in futures]
    for result, track in zip(results, tracks):
        if result.export is not None:
            result.problems = export_problems(track, result.export, sum(result.answers), tracks)
    latencies = [t for r in results for t in r.latencies_s]
    return LoadReport(
        results, summarize_latencies(latencies), round(trace.first_mib, 1),
        round(trace.peak_mib, 1), round(trace.peak_hwm_mib, 1),
        round(time.perf_counter() - started, 1),
        round(tree_cpu_s(server_pid) - server_cpu, 1), round(machine_busy_cpu_s() - busy_cpu, 1),
        load_average(),
    )


# ----- memory over successive uploads ----------------------------------------------------------


@dataclass
class UploadMemoryReport:
    """The server's resident memory after each of many successive uploads in one session."""

    uploads: int
    track_s: float
    hunt_every: int  # every hunt_every-th upload was also selected and hunted (0: none)
    rss_after_mib: list[float]  # after upload k (index k − 1), the page idle, MiB
    seconds_after: list[float]  # when (since the first upload started)
    wall_s: float
    load_average_after: tuple[float, float, float]

    def at(self, upload_number: int) -> float:
        return self.rss_after_mib[upload_number - 1]

    def to_json(self) -> dict:
        marks = sorted({m for m in (1, 10, 25, 50, 75, 100, self.uploads) if m <= self.uploads})
        return asdict(self) | {"rss_at_mib": {str(m): self.at(m) for m in marks}}


def hunt_first_candidate(page, track: SessionTrack) -> None:
    """Select the track's first chirp and hunt it until the first candidate shows."""
    open_page(page, "Select")
    type_selection(page, track.query_start_s, track.sound_duration_s)
    open_page(page, "Hunt")
    click_until_shown(page, page.get_by_role("button", name="Start hunt"), "One at a time")
    answer_one_at_a_time(page, PAGE_TIMEOUT_MS)
    wait_idle(page, PAGE_TIMEOUT_MS)


def run_uploads(url: str, server_pid: int, count: int, track_s: float = 60.0,
                hunt_every: int = 4, first_index: int = 1000,
                progress: Callable[[int, float], None] = lambda k, mib: None
                ) -> UploadMemoryReport:
    """One browser session uploads ``count`` distinct tracks one after the other; every
    ``hunt_every``-th is also selected and hunted to its first candidate (so features and
    window searches enter their caches too; every upload fills beats, envelope, spectrogram and
    clips). Records the server's RSS after each upload."""
    from playwright.sync_api import sync_playwright

    rss, seconds = [], []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_app(browser, url)
        started = time.perf_counter()
        for k in range(1, count + 1):
            track = session_track(first_index + k, track_s)
            if k > 1:
                open_page(page, "Track")
            upload(page, track)
            if hunt_every and k % hunt_every == 0:
                hunt_first_candidate(page, track)
            rss.append(round(tree_rss_mib(server_pid), 1))
            seconds.append(round(time.perf_counter() - started, 1))
            progress(k, rss[-1])
        browser.close()
    return UploadMemoryReport(count, track_s, hunt_every, rss, seconds, seconds[-1] if seconds
                              else 0.0, load_average())


# ----- reporting -------------------------------------------------------------------------------


def load_average() -> tuple[float, float, float]:
    """The 1-, 5- and 15-minute load averages (other work on the machine shows here)."""
    return os.getloadavg()



# ----- bounded memory: the demo library, long tracks, and what comes back --------------------

LIBRARY_QUERY = (11.9, 2.0)  # a sound of the demo track (start, length in seconds)
LIBRARY_BUILD_TIMEOUT_MS = 900_000  # composing and indexing 8 tracks on 2 busy cores


def library_session(url: str, hunts: int = 2) -> list[float]:
    """One browser on the demo track: select a sound, build the demo library if the server
    has none (Library page), then hunt the library ``hunts`` times, each to its first
    candidate. Returns each stage's wall time (seconds): build, then each hunt."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = open_app(browser, url)
            open_page(page, "Select")
            type_selection(page, *LIBRARY_QUERY)
            open_page(page, "Library")
            started = time.perf_counter()
            build = page.get_by_role("button", name="Build the demo library")
            if build.count():
                build.click()
            hunt = page.get_by_role("button", name="Hunt the library")
            hunt.wait_for(timeout=LIBRARY_BUILD_TIMEOUT_MS)
            wait_idle(page, LIBRARY_BUILD_TIMEOUT_MS)
            times.append(round(time.perf_counter() - started, 1))
            for _ in range(hunts):
                started = time.perf_counter()
                hunt.click()
                page.get_by_text("Candidate 1 ·").first.wait_for(timeout=PAGE_TIMEOUT_MS)
                wait_idle(page, PAGE_TIMEOUT_MS)
                times.append(round(time.perf_counter() - started, 1))
        finally:
            browser.close()
    return times


@dataclass
class ReleaseReport:
    """The server's memory after every browser has closed."""

    rss_mib: list[tuple[float, float]]  # (seconds since the last browser closed, MiB)
    below_s: float | None  # when it first read at most the target, None if never
    target_mib: float

    def at(self, seconds: float) -> float:
        """The last reading at or before ``seconds``."""
        return [mib for t, mib in self.rss_mib if t <= seconds][-1]


def rss_after_close(server_pid: int, watch_s: float, target_mib: float,
                    period_s: float = 1.0) -> ReleaseReport:
    """Read the server's resident memory every ``period_s`` for ``watch_s`` seconds (call it
    right after the last browser closed); when it first reads ``target_mib`` or less."""
    start = time.monotonic()
    readings, below = [], None
    while (elapsed := time.monotonic() - start) <= watch_s:
        mib = tree_rss_mib(server_pid)
        readings.append((round(elapsed, 1), round(mib, 1)))
        if below is None and mib <= target_mib:
            below = round(elapsed, 1)
        time.sleep(period_s)
    return ReleaseReport(readings, below, target_mib)
