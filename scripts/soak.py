"""Soak: hundreds of hunts through the core API in one process; memory and latency must not
drift.

    .venv/bin/python scripts/soak.py [--hunts 500] [--tracks 3] [--track-seconds 60]
        [--search-cache 16] [--max-growth-mib 48] [--json artifacts/soak.json]

Generates ``--tracks`` tracks with ground truth (``loopfind_core.synth``), computes their
features once (MFCC, log-mel and learned, whitened and raw: what the app's feature cache would
hold), then runs ``--hunts`` hunts rotating tracks, kinds, whitening, strategies and sounds
(the plan repeats every tracks × 3 × 2 × 5 hunts, so the last 50 hunts redo the first 50's
work). A simulated user answers from the ground truth; every hunt is exported in every format
and then forgotten. Window searches share a bounded LRU cache of ``--search-cache`` entries.

Reports per-hunt wall time (median and p95, first 50 vs last 50 hunts) and the process's RSS
at hunt 1, 10, 50, half-way and the end. Exits 1 if RSS grows by more than
``--max-growth-mib`` between hunt 50 (every cache full) and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.soak import plan_period, rss_mib, run_soak, soak_tracks  # noqa: E402

WARM_HUNTS = 50  # by then every search the plan needs has been made at least once or evicted


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hunts", type=int, default=500)
    parser.add_argument("--tracks", type=int, default=3)
    parser.add_argument("--track-seconds", type=float, default=60.0)
    parser.add_argument("--search-cache", type=int, default=16,
                        help="window searches kept (LRU), like the app's cache_resource bound")
    parser.add_argument("--max-growth-mib", type=float, default=48.0,
                        help="fail if RSS grows more than this after hunt 50")
    parser.add_argument("--json", type=Path, help="write the full report here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    print(f"load average before: {load_before}; RSS at start {rss_mib():.0f} MiB")
    started = time.perf_counter()
    workspaces = soak_tracks(args.tracks, args.track_seconds)
    print(f"{args.tracks} tracks of {args.track_seconds:g} s generated in "
          f"{time.perf_counter() - started:.0f} s; the plan repeats every "
          f"{plan_period(args.tracks)} hunts")

    def progress(record) -> None:
        if record.number in (1, 10) or record.number % 50 == 0:
            print(f"  hunt {record.number}: {record.kind} on {record.track}, "
                  f"{record.seconds * 1000:.0f} ms, RSS {record.rss_mib:.0f} MiB", flush=True)

    report = run_soak(workspaces, args.hunts, args.search_cache, progress)
    warm = min(WARM_HUNTS, args.hunts)
    summary = report.summary(warm)
    growth = summary["growth_after_warm_up_mib"]
    ok = growth <= args.max_growth_mib
    print(f"RSS before the first hunt {report.rss_before_mib:.0f} MiB; after hunt "
          + ", ".join(f"{k}: {v:.0f}" for k, v in summary["rss_at_mib"].items()) + " MiB")
    print(f"growth after hunt {warm}: {growth:+.1f} MiB (bound {args.max_growth_mib:g}) — "
          + ("ok" if ok else "FAILED"))
    for name in ("first", "last"):
        d = summary[name]
        print(f"hunts {d['first_hunt']}–{d['last_hunt']}: median {d['median_s'] * 1000:.1f} ms, "
              f"p95 {d['p95_s'] * 1000:.1f} ms")
    print(f"found {summary['found']} of {summary['to_find']} occurrences in "
          f"{summary['answers']} answers; search cache {report.search_entries}/"
          f"{report.search_max_entries} entries, {report.search_misses} misses; "
          f"wall {report.wall_s:.0f} s; load average after {report.load_average_after}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {"command": " ".join(["scripts/soak.py", *sys.argv[1:]]),
                    "load_average_before": load_before, "summary": summary, "ok": ok,
                    "max_growth_mib": args.max_growth_mib,
                    "report": asdict(report)}
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
