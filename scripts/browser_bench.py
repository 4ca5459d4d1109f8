"""Answer latency in the browser, next to the core's step measured in the same run.

    .venv/bin/python scripts/browser_bench.py [--sessions 8] [--answers 30] [--think-s 1.0]
        [--rounds 5] [--pages-only] [--json artifacts/browser_bench.json]

Starts the app (``streamlit run app.py`` on a free port, with ``$LOOPFIND_ANSWER_LOG`` so the
server logs its own time per answer), then:

0. **core** — on the same generated tracks and features as the app (its default kind,
   whitened, active): each ``answer()`` + ``propose()``, and that plus ``branches()`` (what the
   server computes per answer for the answer deck);
1. **alone** — one user in headless Chromium: upload → select → hunt, then ``--answers``
   answers from the planted truth, clicks and Y/N keys alternately; each answer's latency is
   taken in the page, from the input event to the first drawn frame showing the next caption
   with its audio playable (``readyState >= 2``);
2. **N sessions** (``--sessions`` > 1) — the same Chromium user while ``N − 1`` light protocol
   clients (testkit.protocol: the browser's websocket protocol, no browser) hunt their own
   tracks at once, each answering after a think time of ``--think-s`` × U(0.5, 1.5). The
   server's time is taken server-side (received → next branches sent, and → rerun over) and
   by the clients (answer sent → next branches received).

3. **pages** (unless ``--rounds 0``) — one Chromium user times the actions around the deck
   (:mod:`testkit.page_bench`): page switch (Track → Select → Hunt → Export → Track), a batch
   page submitted (12 at a time → the next page), Undo page, Accept all, and the Compare page's
   first and later visits, ``--rounds`` times each; alone, then (``--sessions`` > 1) while
   ``N − 1`` protocol clients hunt their own tracks over and over (as in 2).

Prints a table of p50/p95 in ms with each figure's ratio to the core's step (p95 to p95), the
server's CPU per answer while the N sessions answer, a table of p50/p95/max per page action
with the load average before and after each phase, and the load average (the machine may be
shared). ``--app-env NAME=VALUE`` passes a setting to the app's server (a what-if, e.g.
``STREAMLIT_RUNNER_POST_SCRIPT_GC=false``). No pass/fail: the numbers go to docs/results.md §7.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopfind_app.answer_deck import ANSWER_LOG_ENV  # noqa: E402
from testkit.answer_bench import (  # noqa: E402
    browser_session,
    core_steps,
    log_rows,
    percentiles_ms,
    protocol_session,
    read_answer_log,
)
from testkit.browser import app_server_pid, running_app  # noqa: E402
from testkit.load import load_average, machine_busy_cpu_s, session_track, tree_cpu_s  # noqa: E402
from testkit.page_bench import pages_session  # noqa: E402

BROWSER_INDEX = 40  # the Chromium user's track; protocol clients take 41, 42, …
PAGES_TRACK_S = 120.0  # part 3's track: long enough that its batch hunt never runs out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8,
                        help="users at once in part 2 (1 Chromium + N−1 protocol clients); "
                             "≤ 1 skips it")
    parser.add_argument("--answers", type=int, default=30, help="answers per user")
    parser.add_argument("--think-s", type=float, default=1.0,
                        help="a protocol client's mean pause before each answer")
    parser.add_argument("--rounds", type=int, default=5,
                        help="times each page action is timed in part 3 (0 skips it)")
    parser.add_argument("--pages-only", action="store_true",
                        help="only part 3 (the page actions), without parts 0–2")
    parser.add_argument("--track-seconds", type=float, default=30.0)
    parser.add_argument("--app-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the app's server (a what-if: e.g. "
                             "STREAMLIT_RUNNER_POST_SCRIPT_GC=false); repeatable")
    parser.add_argument("--json", type=Path, help="write the full report here")
    return parser.parse_args(argv)


def server_phase(url: str, pid: int, log: Path, work) -> tuple[object, dict]:
    """Run ``work()``; return its result and the server's side of that time."""
    rows, cpu, busy, started = log_rows(log), tree_cpu_s(pid), machine_busy_cpu_s(), \
        time.perf_counter()
    result = work()
    wall = time.perf_counter() - started
    logged = read_answer_log(log, rows)
    return result, {
        "sent": percentiles_ms([r["sent_ms"] for r in logged]),
        "done": percentiles_ms([r["done_ms"] for r in logged]),
        "apply": percentiles_ms([r["apply_ms"] for r in logged]),
        "wall_s": round(wall, 1), "server_cpu_s": round(tree_cpu_s(pid) - cpu, 1),
        "machine_busy_cpu_s": round(machine_busy_cpu_s() - busy, 1),
        "load_average_after": [round(x, 2) for x in load_average()],
    }


def run_alone(url: str, answers: int, track_s: float) -> dict:
    result = browser_session(url, session_track(BROWSER_INDEX, track_s), answers)
    if result.error:
        raise RuntimeError(f"the Chromium session failed:\n{result.error}")
    return {"browser": percentiles_ms(result.latencies_ms), "latencies_ms": result.latencies_ms,
            "via": result.via, "yes": sum(result.answers)}


def run_together(url: str, pid: int, sessions: int, answers: int, think_s: float,
                 track_s: float) -> dict:
    mark: dict[str, float] = {}
    barrier = threading.Barrier(sessions, action=lambda: mark.update(
        t=time.perf_counter(), cpu=tree_cpu_s(pid)))  # every session is ready: answers begin
    with ThreadPoolExecutor(sessions) as pool:
        browser = pool.submit(browser_session, url, session_track(BROWSER_INDEX + 100, track_s),
                              answers, barrier)
        clients = [pool.submit(protocol_session, url,
                               session_track(BROWSER_INDEX + 1 + i, track_s), answers,
                               think_s, barrier, seed=i) for i in range(sessions - 1)]
        browser_result, client_results = browser.result(), [c.result() for c in clients]
    wall, cpu = time.perf_counter() - mark["t"], tree_cpu_s(pid) - mark["cpu"]
    errors = [r.error for r in [browser_result, *client_results] if r.error]
    if errors:
        raise RuntimeError("a session failed:\n" + "\n".join(errors))
    branches = [t for r in client_results for t in r.branches_ms]
    n_answers = len(browser_result.latencies_ms) + len(branches)
    return {"browser": percentiles_ms(browser_result.latencies_ms),
            "clients_branches": percentiles_ms(branches),
            "answering": {"wall_s": round(wall, 1), "answers": n_answers,
                          "server_cpu_s": round(cpu, 1),
                          "server_cpu_ms_per_answer": round(1000 * cpu / max(1, n_answers))},
            "latencies_ms": browser_result.latencies_ms, "branches_ms": branches}


def keep_hunting(url: str, index: int, answers: int, think_s: float, track_s: float,
                 stop: threading.Event) -> list[str]:
    """A protocol client hunting its own track again and again until ``stop``: the other
    sessions' load while the pages are timed. Returns its errors."""
    errors = []
    while not stop.is_set():
        result = protocol_session(url, session_track(index, track_s), answers, think_s,
                                  seed=index)
        if result.error:
            errors.append(result.error)
            stop.wait(5.0)
    return errors


def run_pages(url: str, sessions: int, rounds: int, answers: int, think_s: float,
              track_s: float) -> dict:
    """Part 3: the page actions of one Chromium user, with ``sessions − 1`` hunting clients."""
    stop = threading.Event()
    load_before = [round(x, 2) for x in load_average()]
    with ThreadPoolExecutor(max(1, sessions)) as pool:
        clients = [pool.submit(keep_hunting, url, BROWSER_INDEX + 201 + i, answers, think_s,
                               track_s, stop) for i in range(sessions - 1)]
        if clients:
            time.sleep(20.0)  # the clients upload and start hunting first
        try:
            result = pages_session(url, session_track(BROWSER_INDEX + 200 + sessions,
                                                      max(track_s, PAGES_TRACK_S)), rounds)
        finally:
            stop.set()
        client_errors = [e for c in clients for e in c.result()]
    return {"sessions": sessions, "load_average_before": load_before, "error": result.error,
            "load_average_after": [round(x, 2) for x in load_average()],
            "client_errors": client_errors[:3],
            "actions": {action: percentiles_ms([1000 * s for s in seconds])
                        for action, seconds in result.seconds.items()},
            "seconds": result.seconds}


def print_pages(phase: dict) -> None:
    print(f"\npage actions, {phase['sessions']} session(s) (load average before "
          f"{phase['load_average_before']}, after {phase['load_average_after']}):")
    print(f"{'':28s} {'n':>4s} {'p50 ms':>9s} {'p95 ms':>9s} {'max ms':>9s}")
    for action, stats in phase["actions"].items():
        print(f"{action:28s} {stats['n']:4d} {stats['p50']:9.1f} {stats['p95']:9.1f} "
              f"{stats['max']:9.1f}")
    if phase["error"]:
        print(f"(the Chromium session stopped early: the actions above were timed before)\n"
              f"{phase['error']}")
    if phase["client_errors"]:
        print(f"({len(phase['client_errors'])} hunting client error(s), first:\n"
              f"{phase['client_errors'][0]})")


def ratio(value: float, base: float) -> str:
    return f"{value / base:6.1f}×" if base > 0 else "     –"


def print_table(report: dict, sessions: int) -> None:
    core = report["core"]
    base = core["step"]["p95"]
    rows = [("core: answer() + propose()", core["step"]),
            ("core: + branches() (the server's compute per answer)", core["step_and_branches"])]
    alone = report.get("alone")
    if alone:
        rows += [("browser, alone: press → next caption + playable", alone["browser"]),
                 ("server, alone: answer → next branches sent", alone["server"]["sent"]),
                 ("server, alone: answer → panel rerun over", alone["server"]["done"])]
    together = report.get("together")
    if together:
        n = sessions
        rows += [(f"browser, {n} sessions: press → next caption + playable",
                  together["browser"]),
                 (f"server, {n} sessions: answer → next branches sent",
                  together["server"]["sent"]),
                 (f"server, {n} sessions: answer → panel rerun over", together["server"]["done"]),
                 (f"clients, {n} sessions: answer sent → next branches in",
                  together["clients_branches"])]
    print(f"\n{'':56s} {'n':>4s} {'p50 ms':>9s} {'p95 ms':>9s} {'max ms':>9s}  "
          "p95 / core step p95")
    for label, stats in rows:
        print(f"{label:56s} {stats['n']:4d} {stats['p50']:9.1f} {stats['p95']:9.1f} "
              f"{stats['max']:9.1f}  {ratio(stats['p95'], base)}")
    print(f"core: research.bench.step_milliseconds median {core['research_median_ms']:.2f} ms "
          f"({core['kind']}, whitened)")
    if together:
        answering = together["answering"]
        print(f"{sessions} sessions answering: {answering['answers']} answers in "
              f"{answering['wall_s']} s, server CPU {answering['server_cpu_s']} s "
              f"({answering['server_cpu_ms_per_answer']} ms per answer)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report: dict = {"command": " ".join(["scripts/browser_bench.py", *(argv or sys.argv[1:])]),
                    "load_average_before": [round(x, 2) for x in load_average()]}
    print(f"load average before: {report['load_average_before']}", flush=True)
    if not args.pages_only:
        tracks = [session_track(BROWSER_INDEX + i, args.track_seconds) for i in range(3)]
        core = core_steps(tracks, args.answers)
        report["core"] = {"kind": core.kind, "research_median_ms": core.research_median_ms,
                          "step": percentiles_ms(core.step_ms),
                          "step_and_branches": percentiles_ms(core.step_and_branches_ms)}
        print(f"core ({core.kind}): step {report['core']['step']}, with branches "
              f"{report['core']['step_and_branches']}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "answers.csv"
        app_env = dict(item.split("=", 1) for item in args.app_env)
        with running_app({ANSWER_LOG_ENV: str(log), **app_env}) as url:
            pid = app_server_pid(url)
            if not args.pages_only:
                alone, server = server_phase(url, pid, log, lambda: run_alone(
                    url, args.answers, args.track_seconds))
                report["alone"] = alone | {"server": server}
                print(f"alone: browser {alone['browser']}, server {server['sent']}",
                      flush=True)
            if args.sessions > 1 and not args.pages_only:
                together, server = server_phase(url, pid, log, lambda: run_together(
                    url, pid, args.sessions, args.answers, args.think_s, args.track_seconds))
                report["together"] = together | {"server": server, "sessions": args.sessions,
                                                 "think_s": args.think_s}
                print(f"{args.sessions} sessions: browser {together['browser']}, server "
                      f"{server['sent']}, clients {together['clients_branches']}", flush=True)
            if args.rounds > 0:
                report["pages"] = [run_pages(url, n, args.rounds, args.answers, args.think_s,
                                             args.track_seconds)
                                   for n in sorted({1, max(1, args.sessions)})]
                for phase in report["pages"]:
                    print_pages(phase)
    report["load_average_after"] = [round(x, 2) for x in load_average()]
    report["cpus"] = os.cpu_count()
    if not args.pages_only:
        print_table(report, args.sessions)
    for phase in report.get("pages", []):
        print_pages(phase)
    print(f"load average before {report['load_average_before']}, after "
          f"{report['load_average_after']} ({report['cpus']} CPUs)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
