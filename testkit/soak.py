"""Long runs: hundreds of hunts through the core API in one process, rotating tracks, feature
kinds (the learned one included), whitening and strategies; a simulated user answers from the
ground truth and every hunt is exported in every format. Records each hunt's wall time and the
process's resident memory, to show neither drifts.

Used by ``tests/system/test_soak.py`` (40 hunts) and ``scripts/soak.py`` (500 hunts, one command).
Per-track features are computed once up front (as the app's cache would); window searches go
through a bounded LRU cache, like the app's, so after it fills nothing may grow.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.corpus.dataset import group_sounds
from loopfind_core.corpus.synth import SynthConfig, corpus_track
from loopfind_core.corpus.truth import simulate_user
from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
from loopfind_core.features.registry import extract_features
from loopfind_core.features.track import FeatureTrack
from loopfind_core.interactive.export import FORMATS, export
from loopfind_core.interactive.workspace import Workspace
from loopfind_core.retrieval.search import WindowSearch
from loopfind_core.retrieval.session import STRATEGIES

KINDS = ("mfcc", "mel", "learned")  # the app's feature kinds
WHITENINGS = (DEFAULT_WHITENING_SHRINKAGE, None)  # whitened (the app's default) and raw
SOUND_CYCLE = 5  # sound k of a track is hunted in cycle k mod 5 (then wraps over its sounds)
PATIENCE = 5  # the paper's


# ----- a bounded cache, like the app's st.cache_resource(max_entries=…) --------------------------


class LruCache:
    """At most ``max_entries`` values, the least recently used dropped first."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._values: OrderedDict[Hashable, object] = OrderedDict()
        self.misses = 0

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: Hashable, make: Callable[[], object]):
        """The value for ``key``, made (and stored, evicting the oldest) on a miss."""
        if key in self._values:
            self._values.move_to_end(key)
            return self._values[key]
        self.misses += 1
        value = make()
        self._values[key] = value
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)
        return value


# ----- the tracks and the plan ---------------------------------------------------------------


def soak_tracks(n_tracks: int, duration_s: float, seed: int = 7) -> list[Workspace]:
    """``n_tracks`` generated tracks (genres round-robin) of ``duration_s`` seconds, each as a
    workspace whose ground truth is its annotations."""
    config = SynthConfig(min_duration_s=duration_s, max_duration_s=duration_s)
    workspaces = []
    for index in range(n_tracks):
        track = corpus_track(seed, index, config)
        name = track.annotations[0].file
        audio = audio_from_samples(track.samples, track.sr_hz, name=name)
        workspaces.append(Workspace(audio, group_sounds(track.annotations)))
    return workspaces


@dataclass(frozen=True)
class HuntPlan:
    """What hunt number ``n`` does."""

    track: int  # index into the tracks
    kind: str
    whiten: float | None
    strategy: str
    sound_cycle: int  # which of the track's sounds (mod its count)


def plan_period(n_tracks: int) -> int:
    """Hunts after which the plan repeats exactly."""
    return n_tracks * len(KINDS) * len(WHITENINGS) * SOUND_CYCLE


def plan_hunt(n: int, n_tracks: int) -> HuntPlan:
    """Hunt ``n`` (from 0): tracks turn fastest, then kinds, whitening, sounds; the strategy
    alternates. The plan repeats every :func:`plan_period` hunts."""
    per_sound = n_tracks * len(KINDS) * len(WHITENINGS)
    return HuntPlan(
        track=n % n_tracks,
        kind=KINDS[(n // n_tracks) % len(KINDS)],
        whiten=WHITENINGS[(n // (n_tracks * len(KINDS))) % len(WHITENINGS)],
        strategy=STRATEGIES[n % len(STRATEGIES)],
        sound_cycle=(n // per_sound) % SOUND_CYCLE,
    )


# ----- memory ---------------------------------------------------------------------------------


def rss_mib() -> float:
    """This process's resident memory (VmRSS), MiB."""
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


# ----- the soak -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HuntRecord:
    """One hunt of the soak."""

    number: int  # from 1
    track: str
    sound: str
    kind: str
    whitened: bool
    strategy: str
    found: int  # occurrences found, the query excluded
    total: int  # occurrences to find, the query excluded
    answers: int
    export_bytes: int  # all formats together
    seconds: float  # hunt start → last export written, wall time
    rss_mib: float  # after the hunt


@dataclass(frozen=True)
class Drift:
    """Per-hunt wall time over a stretch of hunts, seconds."""

    first_hunt: int
    last_hunt: int
    median_s: float
    p95_s: float


def drift(records: Sequence[HuntRecord], first: int, last: int) -> Drift:
    """Median and 95th percentile of the wall time of hunts ``first`` … ``last`` (from 1)."""
    seconds = np.array([r.seconds for r in records if first <= r.number <= last])
    if seconds.size == 0:
        return Drift(first, last, float("nan"), float("nan"))
    return Drift(first, last, round(float(np.median(seconds)), 5),
                 round(float(np.percentile(seconds, 95)), 5))


@dataclass
class SoakReport:
    hunts: list[HuntRecord]
    rss_before_mib: float  # after the tracks and their features, before the first hunt
    feature_entries: int
    search_entries: int  # the window-search cache at the end (its bound: search_max_entries)
    search_max_entries: int
    search_misses: int
    wall_s: float
    load_average_after: tuple[float, float, float] = field(default_factory=os.getloadavg)

    def rss_at(self, hunt_number: int) -> float:
        return self.hunts[hunt_number - 1].rss_mib

    def growth_mib(self, from_hunt: int, to_hunt: int) -> float:
        """RSS after ``to_hunt`` minus RSS after ``from_hunt``: the peak of the later stretch
        against the earlier point, so a transient spike counts too."""
        later = max(r.rss_mib for r in self.hunts[from_hunt - 1 : to_hunt])
        return later - self.rss_at(from_hunt)

    def summary(self, warm_hunts: int, window: int = 50) -> dict:
        n = len(self.hunts)
        marks = sorted({m for m in (1, 10, warm_hunts, n // 2, n) if 1 <= m <= n})
        return {
            "hunts": n,
            "rss_at_mib": {str(m): round(self.rss_at(m), 1) for m in marks},
            "growth_after_warm_up_mib": round(self.growth_mib(warm_hunts, n), 1),
            "first": asdict(drift(self.hunts, 1, min(window, n))),
            "last": asdict(drift(self.hunts, max(1, n - window + 1), n)),
            "found": sum(r.found for r in self.hunts),
            "to_find": sum(r.total for r in self.hunts),
            "answers": sum(r.answers for r in self.hunts),
        }


def run_soak(workspaces: Sequence[Workspace], n_hunts: int, search_max_entries: int = 16,
             progress: Callable[[HuntRecord], None] = lambda record: None) -> SoakReport:
    """``n_hunts`` hunts on ``workspaces`` (see :func:`plan_hunt`), each answered by the
    simulated user from the ground truth and exported in every format, then forgotten."""
    started = time.perf_counter()
    features: dict[tuple[int, str, float | None], FeatureTrack] = {}
    searches = LruCache(search_max_entries)
    for t, ws in enumerate(workspaces):
        for kind in KINDS:
            for whiten in WHITENINGS:
                features[(t, kind, whiten)] = extract_features(ws.audio, kind, whiten=whiten)
        ws.features = lambda kind, whiten, t=t: features[(t, kind, whiten)]
        ws.searches = lambda track, whiten, frames, t=t: searches.get(
            (t, track.kind, whiten, frames), lambda: WindowSearch(track.values, frames))
        _ = ws.beats  # estimated once per track, as the app caches it
    rss_before = rss_mib()
    records = []
    for n in range(n_hunts):
        plan = plan_hunt(n, len(workspaces))
        ws = workspaces[plan.track]
        records.append(one_hunt(n + 1, ws, plan))
        progress(records[-1])
    return SoakReport(records, round(rss_before, 1), len(features), len(searches),
                      search_max_entries, searches.misses,
                      round(time.perf_counter() - started, 1))


def one_hunt(number: int, ws: Workspace, plan: HuntPlan) -> HuntRecord:
    """Select the planned sound's first occurrence, hunt it to the end with the simulated user,
    export every format, forget the hunt."""
    sound = ws.truth[plan.sound_cycle % len(ws.truth)]
    query = sound.occurrences[0]
    started = time.perf_counter()
    ws.whiten = plan.whiten
    ws.select(query.start_s, query.duration_s)
    hunt = ws.start_hunt(plan.kind, plan.strategy, PATIENCE, sound=sound.sound)
    result = simulate_user(hunt.session, sound.occurrences, 0)
    events = ws.events()
    written = sum(len(export(events, ws.track_info, fmt, audio=ws.audio)) for fmt in FORMATS)
    ws.forget(hunt.sound)
    seconds = time.perf_counter() - started
    return HuntRecord(number, ws.audio.name, sound.sound, plan.kind, plan.whiten is not None,
                      plan.strategy, result.found, len(sound.occurrences) - 1, result.answers,
                      written, round(seconds, 5), round(rss_mib(), 1))
