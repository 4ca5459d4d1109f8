"""Time ``WorkspaceStore.save`` the way the app calls it: once per answer, each save one more
answer than the last, for workspaces of a few sizes (docs/results.md, "Docs that say what the
code does (issue 21)"). The behaviour that keeps it cheap, one answer's rows written per
save, is what tests/interactive/test_workspace_store.py checks; the time is measured here.

    python scripts/store_bench.py [--saves 100]

Prints, per size (hunts × answers per hunt), the median and p90 of one save in ms, and each
median's ratio to the smallest workspace's, with the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopfind_core.interactive.workspace import (  # noqa: E402
    AnswerSnapshot,
    HuntSnapshot,
    WorkspaceSnapshot,
)
from loopfind_core.interactive.workspace_store import (  # noqa: E402
    TrackRef,
    WorkspaceStore,
    new_token,
)

SIZES = ((1, 3), (3, 50), (5, 200))  # (hunts, answers per hunt) before the timed saves
TRACK = TrackRef("ab" * 32, "demo", "bench.flac")


def answers(n: int, first: int = 0) -> tuple[AnswerSnapshot, ...]:
    """``n`` answers, every third a yes, at distinct frames."""
    return tuple(AnswerSnapshot(40 * (first + i), 1.0 + i, (first + i) % 3 == 0)
                 for i in range(n))


def workspace(hunts: int, per_hunt: int) -> WorkspaceSnapshot:
    return WorkspaceSnapshot(current="sound 0", hunts=tuple(
        HuntSnapshot(f"sound {h}", "learned", "active", 8, 0.3, 10.0 + h, 0.5,
                     answers=answers(per_hunt)) for h in range(hunts)))


def save_ms(folder: Path, hunts: int, per_hunt: int, saves: int) -> list[float]:
    """Milliseconds of each of ``saves`` saves, each with one more answer in the first hunt."""
    store, token = WorkspaceStore(folder), new_token()
    snapshot = workspace(hunts, per_hunt)
    revision = store.save(token, TRACK, snapshot, revision=0)
    costs = []
    for i in range(saves):
        first = snapshot.hunts[0]
        grown = replace(first, answers=first.answers + answers(1, per_hunt + i))
        snapshot = replace(snapshot, hunts=(grown, *snapshot.hunts[1:]))
        started = time.perf_counter()
        revision = store.save(token, TRACK, snapshot, revision=revision)
        costs.append((time.perf_counter() - started) * 1000.0)
    store.close()
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=100)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    rows = []
    for hunts, per_hunt in SIZES:
        with tempfile.TemporaryDirectory() as folder:
            costs = save_ms(Path(folder), hunts, per_hunt, args.saves)
        p90 = statistics.quantiles(costs, n=10)[-1]
        rows.append((f"{hunts} × {per_hunt}", statistics.median(costs), p90))
    base = rows[0][1]
    print(f"{'hunts × answers':<16} {'median ms':>10} {'p90 ms':>8} {'median / smallest':>18}")
    for name, median, p90 in rows:
        print(f"{name:<16} {median:>10.2f} {p90:>8.2f} {median / base:>17.1f}×")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
