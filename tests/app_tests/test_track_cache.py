"""The app's shared per-track caches (loopfind_app/track_cache.py): bounded in bytes, shared
without copies, read-only, released when no session holds the track."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from loopfind_app.track_cache import Janitor, TrackCache, TrackHolders, frozen, nbytes
from loopfind_core.features.track import FeatureTrack

MB = 1_000_000


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def features(n_bytes: int) -> FeatureTrack:
    return FeatureTrack("mel", np.zeros((n_bytes // 4, 1), dtype=np.float32), 43.0)


def test_a_hit_is_the_same_read_only_object_never_a_copy():
    cache = TrackCache("t", 10 * MB, 60.0)
    made = []
    first = cache.get("a", ("mel", None), lambda: made.append(1) or features(MB))
    again = cache.get("a", ("mel", None), lambda: made.append(1) or features(MB))
    assert again is first and made == [1]
    assert not first.values.flags.writeable
    with pytest.raises(ValueError):
        first.values[0, 0] = 1.0


def test_the_bytes_stay_within_the_bound_least_recently_used_first_out():
    cache = TrackCache("t", 3 * MB, 60.0)
    for name in "abc":
        cache.get(name, "k", lambda: features(MB))
    cache.get("a", "k", lambda: features(MB))  # a is now the most recent
    cache.get("d", "k", lambda: features(MB))
    assert cache.bytes <= 3 * MB
    assert [h for h, _ in cache.keys()] == ["c", "a", "d"]  # b, the least recent, went


def test_small_values_are_bounded_in_number_least_recently_used_first_out():
    cache = TrackCache("t", 10 * MB, 60.0, max_entries=3)
    for window in range(5):  # a colour scale per window: a few bytes each
        cache.get("a", ("scale", window), lambda w=window: (float(w), float(w) + 1.0))
    assert len(cache) == 3
    assert [key for _, key in cache.keys()] == [("scale", 2), ("scale", 3), ("scale", 4)]


def test_a_value_larger_than_the_whole_cache_is_returned_but_not_kept():
    cache = TrackCache("t", MB, 60.0)
    cache.get("a", "k", lambda: features(MB // 2))
    big = cache.get("b", "k", lambda: features(2 * MB))
    assert big.values.nbytes == 2 * MB
    assert len(cache) == 1 and cache.bytes == MB // 2


def test_entries_expire_after_their_time_to_live():
    clock = Clock()
    cache = TrackCache("t", 10 * MB, ttl_s=100.0, clock=clock)
    first = cache.get("a", "k", lambda: features(MB))
    clock.now = 101.0
    assert cache.get("a", "k", lambda: features(MB)) is not first


def test_only_the_tracks_no_live_owner_holds_are_released_once_idle():
    clock = Clock()
    cache = TrackCache("t", 10 * MB, 3600.0, clock=clock)
    holders = TrackHolders()

    class Owner:  # a workspace stand-in; like Workspace, not hashable
        __hash__ = None

    kept, gone = Owner(), Owner()
    holders.hold(kept, "kept")
    holders.hold(gone, "gone")
    cache.get("kept", "k", lambda: features(MB))
    cache.get("gone", "k", lambda: features(MB))
    del gone
    gc.collect()
    assert holders.held() == {"kept"}
    assert cache.release_unheld(holders.held(), idle_s=10.0) == 0  # used just now
    clock.now = 11.0
    assert cache.release_unheld(holders.held(), idle_s=10.0) == MB
    assert [h for h, _ in cache.keys()] == ["kept"]


def test_the_janitor_releases_memory_when_entries_go_or_sessions_end():
    clock = Clock()
    cache = TrackCache("t", 10 * MB, 3600.0, clock=clock)
    holders, releases, sessions = TrackHolders(), [], [3]
    janitor = Janitor([cache], holders, lambda: releases.append(1), lambda: sessions[0],
                      period_s=3600.0, idle_s=0.0)
    cache.get("a", "k", lambda: features(MB))
    assert janitor.sweep() == MB and len(releases) == 1  # nobody holds "a"
    assert janitor.sweep() == 0 and len(releases) == 1  # nothing more to free
    sessions[0] = 2
    janitor.sweep()
    assert len(releases) == 2  # a session ended: collect its objects


def test_concurrent_callers_of_one_key_share_one_computation():
    cache = TrackCache("t", 10 * MB, 60.0)
    started, release, calls = threading.Event(), threading.Event(), []

    def slow() -> FeatureTrack:
        calls.append(1)
        started.set()
        release.wait(10)
        return features(MB)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("a", "k", slow)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait(10)
    release.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len({id(r) for r in results}) == 1


def test_nbytes_counts_arrays_bytes_and_tensors_inside_objects():
    import torch

    class Holder:
        def __init__(self) -> None:
            self.tensor = torch.zeros(1000, dtype=torch.float32)
            self.view = np.zeros(2000, dtype=np.uint8)[:10]  # keeps its 2000-byte base

    assert nbytes((b"x" * 10, [np.zeros(5, dtype=np.float64)], Holder())) == 10 + 40 + 4000 + 2000
    value = frozen((np.zeros(3), [np.ones(2)]))
    assert not value[0].flags.writeable and not value[1][0].flags.writeable
