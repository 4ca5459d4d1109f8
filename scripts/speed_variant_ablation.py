"""Ablation of speed variants and of elastic matching under the ``active`` rule
(docs/results.md §6.6): which windows get variants, how a variant is read, and a per-segment
elastic alternative, each against plain ``active`` on the same sounds (paired).

    python scripts/speed_variant_ablation.py CORPUS [KIND] [raw|white]
    python scripts/speed_variant_ablation.py CORPUS [KIND] [raw|white] --best-speed

CORPUS is a folder under data/ (e.g. pt_stress16); features are cached in data/pt_cache/.
Each sound is queried by its first occurrence, patience 5, two worker processes.

Settings (speeds ±3 and ±6 %):

- ``nearest, query`` — what ``ResearchSession(speed_variants=(-6, -3, 3, 6))`` does
  (``loopfind_core.research.variants``);
- ``interp, query`` — variant frames linearly interpolated instead of picked;
- ``nearest, positives`` / ``interp, positives`` — every confirmed occurrence gets variants too;
- ``elastic, query`` — no warp: the query is cut into segments of about 16 frames (at most 8),
  each matched at its own shift of up to 6 % of its distance from the window start, and the
  segment distances summed.
"""

import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopfind_core.base.audio import load_audio  # noqa: E402
from loopfind_core.base.spectrogram import FRAME_RATE_HZ  # noqa: E402
from loopfind_core.corpus.dataset import read_dataset  # noqa: E402
from loopfind_core.corpus.truth import simulate_user  # noqa: E402
from loopfind_core.features.registry import extract_features  # noqa: E402
from loopfind_core.features.track import FeatureTrack  # noqa: E402
from loopfind_core.retrieval.search import WindowSearch  # noqa: E402
from loopfind_core.retrieval.session import RetrievalSession, active_scores, query_window_frames  # noqa: E402

DATA = Path("data")
CACHE = DATA / "pt_cache"
SPEEDS = (1.0, 0.94, 0.97, 1.03, 1.06)
MAX_DEVIATION = 0.06
SEGMENT_FRAMES = 16
MAX_SEGMENTS = 8
SETTINGS = {
    "plain": None,
    "nearest, query": ("nearest", False),
    "interp, query": ("interp", False),
    "nearest, positives": ("nearest", True),
    "interp, positives": ("interp", True),
    "elastic, query": ("elastic", False),
}


def cached_features(corpus: str, file: str, kind: str, whiten: float | None) -> FeatureTrack:
    path = CACHE / corpus / f"{file}.{kind}.{whiten}.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, extract_features(load_audio(DATA / corpus / file), kind,
                                       whiten=whiten).values)
    return FeatureTrack(kind, np.load(path), FRAME_RATE_HZ)


def interpolated_window(search: WindowSearch, start: int, speed: float) -> torch.Tensor:
    """Frame k: the track at start + k·speed, linearly interpolated between frames."""
    frames = search.frames
    positions = (start + speed * torch.arange(search.window_frames, dtype=torch.float64)
                 ).clamp(0.0, frames.shape[0] - 1.0)
    below = positions.floor().long()
    above = (below + 1).clamp_max(frames.shape[0] - 1)
    weight = (positions - below).float().unsqueeze(1)
    return (1.0 - weight) * frames[below] + weight * frames[above]


def elastic_profile(search: WindowSearch, start: int) -> torch.Tensor:
    """Sum over segments of each segment's distance profile, min-filtered over its slack."""
    length = search.window_frames
    segments = max(1, min(MAX_SEGMENTS, round(length / SEGMENT_FRAMES)))
    if segments == 1:
        return search.distance_profile(start)
    frames = search.frames
    energy = (frames.double() ** 2).sum(dim=1)
    cumulative = torch.cat([energy.new_zeros(1), energy.cumsum(0)])
    bounds = [round(k * length / segments) for k in range(segments + 1)]
    window = frames[start:start + length]
    t = torch.arange(search.n_starts)
    total = torch.zeros(search.n_starts)
    for a, b in zip(bounds, bounds[1:]):
        template = torch.zeros_like(window)
        template[a:b] = window[a:b]
        squared = ((cumulative[t + b] - cumulative[t + a]).float()
                   + float((window[a:b].double() ** 2).sum()) - 2.0 * search.sliding_dot(template))
        squared = squared.clamp_min(0.0)
        slack = math.ceil(0.5 * (a + b) * MAX_DEVIATION)
        padded = F.pad(squared.view(1, 1, -1), (slack, slack), value=math.inf)
        total += -F.max_pool1d(-padded, 2 * slack + 1, stride=1).view(-1)
    return total / length


class AblationSession(RetrievalSession):
    """A session whose query (and, with ``vary_confirmed``, every confirmed occurrence) is
    matched through ``mode``'s profile: the least over SPEEDS of the ``nearest`` or ``interp``
    warped windows, or the ``elastic`` profile. Rejected windows, and confirmed ones without
    ``vary_confirmed``, keep their plain distance profile. Only the public :meth:`scores` is
    overridden; the profiles come from ``search``, the session's own (built for the query's
    window length)."""

    def __init__(self, *args, search: WindowSearch, mode: str, vary_confirmed: bool,
                 **options) -> None:
        super().__init__(*args, search=search, **options)
        if search.window_frames != self.window_frames:
            raise ValueError("the search must be built for the query's window length")
        self.search, self.mode, self.vary_confirmed = search, mode, vary_confirmed
        self.plain_profiles: dict[int, torch.Tensor] = {}
        self.variant_profiles: dict[int, torch.Tensor] = {}

    def plain(self, start: int) -> torch.Tensor:
        if start not in self.plain_profiles:
            self.plain_profiles[start] = self.search.distance_profile(start)
        return self.plain_profiles[start]

    def variant(self, start: int) -> torch.Tensor:
        if start not in self.variant_profiles:
            if self.mode == "elastic":
                self.variant_profiles[start] = elastic_profile(self.search, start)
            else:
                warp = (self.search.warped_window if self.mode == "nearest"
                        else lambda s, v: interpolated_window(self.search, s, v))
                self.variant_profiles[start] = torch.stack(
                    [self.plain(start) if v == 1.0 else
                     self.search.template_profile(warp(start, v)) for v in SPEEDS]).amin(0)
        return self.variant_profiles[start]

    def scores(self) -> torch.Tensor:
        query = self.variant(self.query_frame)
        if self.strategy == "naive":
            return query
        confirmed = self.variant if self.vary_confirmed else self.plain
        positives = [query] + [confirmed(c.start_frame) for c in self.found]
        negatives = [self.plain(c.start_frame) for c in self.rejected]
        return active_scores(positives, negatives, self.negative_weight)


def hunt_file(task) -> list[tuple[str, str, float]]:
    corpus, file, sounds, kind, whiten, setting = task
    torch.set_num_threads(1)
    track = cached_features(corpus, file, kind, whiten)
    searches: dict[int, WindowSearch] = {}
    results = []
    for sound in sounds:
        if len(sound.occurrences) < 2:
            continue
        query = sound.occurrences[0]
        _, length = query_window_frames(track, query.start_s, query.duration_s)
        search = searches.setdefault(length, WindowSearch(track.values, length))
        arguments = (track, query.start_s, query.duration_s, 5, "active")
        session = (RetrievalSession(*arguments, search=search) if setting is None else
                   AblationSession(*arguments, search=search, mode=setting[0],
                                   vary_confirmed=setting[1]))
        hunt = simulate_user(session, sound.occurrences, 0)
        results.append((sound.category, sound.sound, hunt.found / (len(sound.occurrences) - 1)))
    return [(file, *r) for r in results]


def recalls(corpus: str, kind: str, whiten: float | None, setting) -> dict:
    by_file: dict[str, list] = {}
    for sound in read_dataset(DATA / corpus).sounds():
        by_file.setdefault(sound.file, []).append(sound)
    tasks = [(corpus, f, tuple(s), kind, whiten, setting) for f, s in sorted(by_file.items())]
    with ProcessPoolExecutor(2) as pool:
        rows = [r for chunk in pool.map(hunt_file, tasks) for r in chunk]
    return {(file, sound): (category, recall) for file, category, sound, recall in rows}


def best_speed_shares(corpus: str, kind: str, whiten: float | None) -> None:
    """For every occurrence but the query (the first): which speed variant of the query is
    nearest to it (least distance within ±2 frames of its start); the share of each speed."""
    counts: dict[str, dict[float, int]] = {"sample": {}, "loop": {}}
    by_file: dict[str, list] = {}
    for sound in read_dataset(DATA / corpus).sounds():
        by_file.setdefault(sound.file, []).append(sound)
    for file, sounds in sorted(by_file.items()):
        track = cached_features(corpus, file, kind, whiten)
        for sound in sounds:
            query = sound.occurrences[0]
            start, length = query_window_frames(track, query.start_s, query.duration_s)
            search = WindowSearch(track.values, length)
            profiles = torch.stack([search.template_profile(search.warped_window(start, v))
                                    for v in SPEEDS])
            for occurrence in sound.occurrences[1:]:
                at = track.seconds_to_frames(occurrence.start_s)
                near = profiles[:, max(0, at - 2):min(search.n_starts, at + 3)]
                if near.shape[1]:
                    best = SPEEDS[int(near.amin(dim=1).argmin())]
                    counts[sound.category][best] = counts[sound.category].get(best, 0) + 1
    for category, by_speed in counts.items():
        total = sum(by_speed.values())
        print(f"{corpus} {kind} {category}s, {total} occurrences: nearest variant "
              + ", ".join(f"×{v:.2f} {by_speed.get(v, 0) / total:.0%}" for v in sorted(SPEEDS)))


def main(corpus: str, kind: str = "learned", features: str = "white", *flags: str) -> None:
    whiten = 0.3 if features == "white" else None
    if "--best-speed" in flags:
        best_speed_shares(corpus, kind, whiten)
        return
    plain = None
    for name, setting in SETTINGS.items():
        started = time.perf_counter()
        result = recalls(corpus, kind, whiten, setting)
        plain = plain or result
        line = f"{corpus} {kind} {features} {name:18s}"
        for category in ("sample", "loop"):
            keys = [k for k in result if result[k][0] == category]
            mean = np.mean([result[k][1] for k in keys])
            diff = np.array([result[k][1] - plain[k][1] for k in keys])
            line += (f" | {category}s {mean:.3f} ({diff.mean():+.3f} ± "
                     f"{diff.std(ddof=1) / np.sqrt(len(diff)):.3f}, "
                     f"{(diff > 0).sum()}/{(diff < 0).sum()})")
        print(line + f" [{time.perf_counter() - started:.0f} s]", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
