"""Load test: many real headless Chromium users at once, then many uploads in a row.

    .venv/bin/python scripts/load_test.py [--sessions 8] [--answers 6] [--uploads 100]
        [--upload-seconds 60] [--hunt-every 4] [--json artifacts/load.json]

Starts the app (``streamlit run app.py`` on a free port), then

0. one session alone (the baseline, and the warm-up: the demo's beats and the encoder load);
1. ``--sessions`` browsers at once, each in its own headless Chromium: upload its own generated
   WAV (a chirp planted at its own times), type a selection over the first chirp, start a hunt,
   answer up to ``--answers`` candidates from the planted times, download the JSON export and
   check it holds that session's events only. Reports p50/p95 answer latency (click → next
   candidate shown) and the server's peak resident memory (its process tree, sampled every
   0.2 s, and the kernel's VmHWM).
2. ``--uploads`` distinct tracks of ``--upload-seconds`` uploaded one after the other in one
   browser session (every ``--hunt-every``-th also selected and hunted to its first candidate,
   so features and window searches enter their caches too): the server's RSS after each
   upload, which the caches' bounds keep flat.

With ``--demo-library``, one browser first builds the demo library (Library page) and hunts
it; with ``--watch-after-close S``, the server's RSS is read every second for S seconds after
the last browser closed (the "Bounded memory and disk" figures of docs/reliability.md:
``--sessions 8 --track-seconds 300 --demo-library --watch-after-close 90 --uploads 0``).

Exits 1 if any session failed or exported another session's data. Needs Debian's chromium at
/usr/bin/chromium. Every figure comes with the load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.browser import app_server_pid, running_app  # noqa: E402
from testkit.load import (  # noqa: E402
    library_session,
    load_average,
    rss_after_close,
    run_load,
    run_uploads,
    sampling_rss,
    tree_rss_mib,
)

BASELINE_INDEX = 99  # the lone session's track: distinct from the simultaneous sessions'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8, help="browsers at once")
    parser.add_argument("--answers", type=int, default=6, help="answers per session (at most)")
    parser.add_argument("--track-seconds", type=float, default=30.0,
                        help="length of each session's track")
    parser.add_argument("--uploads", type=int, default=100,
                        help="successive uploads for the memory check (0: skip)")
    parser.add_argument("--upload-seconds", type=float, default=60.0,
                        help="length of each uploaded track in the memory check")
    parser.add_argument("--hunt-every", type=int, default=4,
                        help="select and hunt every n-th upload (0: only upload; 1: all)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the single session before the sessions at once")
    parser.add_argument("--demo-library", action="store_true",
                        help="first build the demo library in the app and hunt it")
    parser.add_argument("--library-hunts", type=int, default=2,
                        help="library hunts after the build (with --demo-library)")
    parser.add_argument("--watch-after-close", type=float, default=0.0,
                        help="read the server's RSS this many seconds after the sessions end")
    parser.add_argument("--release-target-mib", type=float, default=1536.0,
                        help="report when the RSS first reads at most this after closing")
    parser.add_argument("--json", type=Path, help="write the full report here")
    return parser.parse_args(argv)


def print_sessions(report) -> None:
    """Each session's outcome, then the latency, memory and CPU figures."""
    for s in report.sessions:
        status = "ok" if s.ok else f"FAILED: {s.error or '; '.join(s.problems)}"
        events = sum(len(x["events"]) for x in s.export.get("sounds", [])) if s.export else 0
        print(f"  session {s.index}: {s.track}, {len(s.answers)} answers "
              f"({sum(s.answers)} yes), {events} events exported, stages {s.stage_s} — {status}")
    lat = report.latency
    print(f"answer latency over {lat.count} answers: p50 {lat.p50_s:.3f} s, p95 {lat.p95_s:.3f} s,"
          f" max {lat.max_s:.3f} s")
    print(f"server RSS: {report.server_rss_start_mib:.0f} MiB at the start, peak "
          f"{report.server_rss_peak_mib:.0f} MiB sampled (VmHWM {report.server_hwm_mib:.0f} MiB);"
          f" wall {report.wall_s:.0f} s")
    print(f"CPU meanwhile: server {report.server_cpu_s:.0f} s of {report.machine_busy_cpu_s:.0f} s "
          f"busy on the whole machine (the rest: the browsers and other jobs); load average "
          f"after {tuple(round(x, 2) for x in report.load_average_after)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    document: dict = {"command": " ".join(["scripts/load_test.py", *sys.argv[1:]]),
                      "load_average_before": load_average()}
    print(f"load average before: {document['load_average_before']}")
    with running_app() as url, tempfile.TemporaryDirectory() as scratch:
        pid = app_server_pid(url)
        print(f"app at {url} (pid {pid})")
        ok = True
        if args.demo_library:
            with sampling_rss(pid) as trace:
                stages = library_session(url, args.library_hunts)
            document["library"] = {"build_and_hunts_s": stages, "rss_start_mib": trace.first_mib,
                                   "rss_peak_mib": trace.peak_mib,
                                   "rss_after_mib": round(tree_rss_mib(pid), 1)}
            print(f"demo library: build {stages[0]} s, hunts {stages[1:]} s; server RSS "
                  f"{trace.first_mib:.0f} → peak {trace.peak_mib:.0f} MiB, "
                  f"{document['library']['rss_after_mib']:.0f} MiB after", flush=True)
        if not args.no_baseline:
            baseline = run_load(url, pid, 1, args.answers, Path(scratch), args.track_seconds,
                                first_index=BASELINE_INDEX)
            document["baseline"] = baseline.to_json()
            print("one session alone:")
            print_sessions(baseline)
            ok = baseline.ok
        if args.sessions > 0:
            report = run_load(url, pid, args.sessions, args.answers, Path(scratch),
                              args.track_seconds)
            document["load"] = report.to_json()
            print(f"{args.sessions} sessions at once:")
            print_sessions(report)
            ok = ok and report.ok
        if args.watch_after_close > 0:
            release = rss_after_close(pid, args.watch_after_close, args.release_target_mib)
            document["after_close"] = {"rss_mib": release.rss_mib, "below_s": release.below_s,
                                       "target_mib": release.target_mib}
            marks = [m for m in (0, 10, 20, 30, 45, 60, 90) if m <= args.watch_after_close]
            print("after the last browser closed: RSS " + ", ".join(
                f"{m} s {release.at(m):.0f} MiB" for m in marks)
                  + f"; at most {release.target_mib:.0f} MiB from {release.below_s} s", flush=True)
        if args.uploads > 0:
            started = time.perf_counter()

            def progress(k: int, mib: float) -> None:
                if k == 1 or k % 10 == 0:
                    print(f"  upload {k}: server RSS {mib:.0f} MiB "
                          f"({time.perf_counter() - started:.0f} s)", flush=True)

            uploads = run_uploads(url, pid, args.uploads, args.upload_seconds,
                                  args.hunt_every, progress=progress)
            document["uploads"] = uploads.to_json()
            print(f"{args.uploads} uploads: RSS at " + ", ".join(
                f"#{k} {v:.0f} MiB" for k, v in document["uploads"]["rss_at_mib"].items())
                  + f"; load average after {uploads.load_average_after}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
