"""Progress reporting for long work: the library calls back, the client draws.

The CLI wraps a callback around a tqdm bar on stderr; the app will wrap ``st.progress``.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done, total, message)``: ``done`` of ``total`` units finished."""


def no_progress(done: int, total: int, message: str) -> None:
    """The default callback: report nothing."""
