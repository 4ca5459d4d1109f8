"""A short soak (the long one: ``scripts/soak.py``): 40 hunts through the core API on three
generated tracks, rotating kinds (learned included), whitening and strategies; memory must not
grow between hunt 10 and hunt 40, once the bounded search cache is full. No timing asserts."""

from __future__ import annotations

import pytest

from testkit.soak import KINDS, plan_hunt, plan_period, run_soak, soak_tracks

HUNTS = 40
WARM_HUNTS = 10
SEARCH_CACHE_ENTRIES = 6  # full by hunt 6: after hunt 10 the caches hold all they ever will
# What may still move after the warm-up: the allocator's slack. A leak of one hunt per hunt (a
# session and its window search, ~1.3 MiB each on these 30-s tracks) would add ~40 MiB by 40.
MAX_GROWTH_MIB = 24.0


@pytest.fixture(scope="module")
def soak_report():
    return run_soak(soak_tracks(3, 30.0), HUNTS, SEARCH_CACHE_ENTRIES)


def test_the_plan_rotates_everything_and_repeats():
    plans = [plan_hunt(n, 3) for n in range(plan_period(3))]
    assert {p.kind for p in plans} == set(KINDS) and {p.track for p in plans} == {0, 1, 2}
    assert {p.whiten is None for p in plans} == {True, False}
    assert {p.strategy for p in plans} == {"active", "naive"}
    assert plan_hunt(plan_period(3) + 7, 3) == plans[7]


@pytest.mark.slow  # 40 hunts
def test_every_hunt_finds_and_exports(soak_report):
    hunts = soak_report.hunts
    assert len(hunts) == HUNTS
    assert all(h.answers >= 1 and h.export_bytes > 0 for h in hunts)
    assert sum(h.found for h in hunts) >= 0.5 * sum(h.total for h in hunts)
    assert {h.kind for h in hunts} == set(KINDS)


@pytest.mark.slow
def test_memory_stays_flat_once_the_caches_are_full(soak_report):
    assert soak_report.search_entries == SEARCH_CACHE_ENTRIES
    growth = soak_report.growth_mib(WARM_HUNTS, HUNTS)
    assert growth <= MAX_GROWTH_MIB, (
        f"RSS grew {growth:.1f} MiB between hunt {WARM_HUNTS} and {HUNTS}: "
        f"{[h.rss_mib for h in soak_report.hunts]}")
