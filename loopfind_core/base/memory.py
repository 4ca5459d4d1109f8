"""Returning freed memory to the operating system.

A decoded track and its uploaded bytes are megabytes each. glibc keeps freed blocks of that size
in its heap, so a long-running server's resident memory would creep up upload after upload
although nothing is kept (measured in docs/reliability.md §2). :func:`release_freed_memory`
collects garbage and asks glibc to give free heap pages back; on another C library it only
collects garbage.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable


def _glibc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim(pad_bytes)``, or None on another C library."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


MALLOC_TRIM = _glibc_malloc_trim()


def release_freed_memory() -> None:
    """Collect garbage now and hand free heap pages back to the OS (glibc only). Call it when
    large objects have just been dropped, e.g. when an upload replaces a track."""
    gc.collect()
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)
