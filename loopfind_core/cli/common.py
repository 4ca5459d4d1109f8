"""What every command shares: the progress bar and the list arguments."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from loopfind_core.base.progress import ProgressCallback


@contextlib.contextmanager
def progress_bar(description: str, unit: str = "file") -> Iterator[ProgressCallback]:
    """A tqdm bar on stderr, driven through the library's progress callback."""
    from tqdm import tqdm

    bar = tqdm(desc=description, file=sys.stderr, unit=unit, dynamic_ncols=True)

    def update(done: int, total: int, message: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def comma_list(text: str) -> tuple[str, ...]:
    items = tuple(x.strip() for x in text.split(",") if x.strip())
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def speed_variant_list(text: str) -> tuple[float, ...]:
    """``3,6`` → (−6, −3, 3, 6): each magnitude in percent, played faster and slower."""
    try:
        magnitudes = sorted({abs(float(x)) for x in comma_list(text)})
    except ValueError:
        raise argparse.ArgumentTypeError("expected percentages, e.g. 3,6") from None
    return tuple([-m for m in reversed(magnitudes)] + magnitudes)
