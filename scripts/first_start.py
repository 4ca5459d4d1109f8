"""A first start on a fresh machine, timed: ``./run`` with an empty cache folder until the Track
page is usable in headless Chromium.

    .venv/bin/python scripts/first_start.py [--cache /tmp/loopfind-fresh] [--keep-compile-cache]

Empties the cache folder (``$LOOPFIND_CACHE`` for the run: the demo track, the workspaces and,
unless ``--keep-compile-cache``, librosa's compile cache), starts ``./run`` on a free port and
opens the app in Chromium, polling. Prints the seconds from the start of ``./run`` to

- **page** — the Track page's heading and its uploader shown (an upload can begin);
- **demo** — the demo's caption shown (the demo is composed and loaded);
- **usable** — "Beats found" shows a count (the demo analysed: the page is complete);

and the load average before and after (the machine may be shared). ``./run`` first checks the
Python environment (``scripts/ensure_env.sh``): run this once beforehand so it installs nothing
while timed. No pass/fail: the figures go to docs/results.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.browser import free_port, launch_chromium  # noqa: E402
from testkit.load import load_average  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
POLL_S = 0.25
TIMEOUT_S = 600.0
MARKS = {  # what each stage shows, as a test in the page
    "page": "() => !!document.querySelector('[data-testid=\"stFileUploaderDropzoneInput\"]')"
            " && [...document.querySelectorAll('h1')].some((h) => h.textContent === 'Track')",
    "demo": "() => document.body.innerText.includes('The built-in demo')",
    "usable": "() => /Beats found\\s*\\n?\\s*\\d+/.test(document.body.innerText)",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/loopfind-fresh"),
                        help="the cache folder, emptied first")
    parser.add_argument("--keep-compile-cache", action="store_true",
                        help="keep its numba/ folder (a machine that ran Loopfind before)")
    return parser.parse_args(argv)


def empty_cache(cache: Path, keep_compile_cache: bool) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for entry in cache.iterdir():
        if keep_compile_cache and entry.name == "numba":
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def time_first_start(cache: Path) -> dict[str, float]:
    """Seconds from ``./run`` to each of :data:`MARKS`."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "LOOPFIND_CACHE": str(cache)}
    env.pop("LOOPFIND_COMPILE_CACHE", None)  # the run's own cache folder holds it
    log = open(cache.parent / f"first-start-{port}.log", "wb")  # noqa: SIM115 — closed below
    started = time.perf_counter()
    server = subprocess.Popen(["./run", "--server.port", str(port), "--server.headless", "true",
                               "--server.address", "127.0.0.1"], cwd=REPO, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    seen: dict[str, float] = {}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            while time.perf_counter() - started < TIMEOUT_S:
                try:
                    page.goto(f"http://127.0.0.1:{port}", timeout=5_000)
                    break
                except Exception:  # noqa: BLE001 — not listening yet
                    if server.poll() is not None:
                        raise RuntimeError(f"./run ended with {server.returncode}") from None
                    time.sleep(POLL_S)
            while len(seen) < len(MARKS) and time.perf_counter() - started < TIMEOUT_S:
                for name, test in MARKS.items():
                    if name not in seen and page.evaluate(test):
                        seen[name] = round(time.perf_counter() - started, 1)
                        print(f"{name}: {seen[name]} s", flush=True)
                time.sleep(POLL_S)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    return seen


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    empty_cache(args.cache, args.keep_compile_cache)
    before = [round(x, 2) for x in load_average()]
    seen = time_first_start(args.cache)
    after = [round(x, 2) for x in load_average()]
    print(f"first start ({'compile cache kept' if args.keep_compile_cache else 'nothing cached'})"
          f": " + ", ".join(f"{name} {seen.get(name, 'never')} s" for name in MARKS)
          + f"; load average before {before}, after {after} ({os.cpu_count()} CPUs)")
    return 0 if len(seen) == len(MARKS) else 1


if __name__ == "__main__":
    sys.exit(main())
