"""The disk: half-written leftovers cleaned up, and a full disk said in plain words.

Loopfind writes every file under a temporary name and renames it when complete
(``….part``, ``….partial``, ``….partial.npy``, a ``….partial`` folder). A crash, or a disk that
fills up mid-write, leaves the temporary one behind; :func:`remove_leftovers` deletes those
older than a grace period (a younger one may be another process's write in flight) from a
folder and its direct subfolders, and is run when the app starts and after a failed write.
:func:`disk_errors` turns an operating-system error while writing into a
:class:`DiskFullError` or :class:`DiskWriteError` whose message names what could not be written
but no server path.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from loopfind_core.base.errors import LoopfindError

log = logging.getLogger(__name__)

LEFTOVER_GRACE_S = 3600.0  # a temporary file or folder younger than this may be in use
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class DiskWriteError(LoopfindError):
    """The server could not write a file it needs (a folder it may not write to, a disk
    error)."""


class DiskFullError(DiskWriteError):
    """The server's disk (or the user's disk quota) is full."""


def is_leftover(name: str) -> bool:
    """Whether ``name`` is a temporary name Loopfind writes under before renaming."""
    return (name.endswith((".part", ".partial", ".partial.npy"))
            or ".partial." in name or name.endswith(".partial.npz"))


def remove_leftovers(folder: Path, grace_s: float = LEFTOVER_GRACE_S,
                     now: float | None = None) -> list[str]:
    """Delete the half-written files and folders (:func:`is_leftover`) in ``folder`` and its
    direct subfolders whose last change is ``grace_s`` seconds or more before ``now``
    (default: the current time); the names deleted. Errors are logged, never raised."""
    folder = Path(folder)
    now = time.time() if now is None else now
    removed: list[str] = []
    if not folder.is_dir():
        return removed
    try:
        places = [folder, *(p for p in folder.iterdir() if p.is_dir() and not is_leftover(p.name))]
    except OSError as error:
        log.warning("cannot look for leftovers in %s: %s", folder, error)
        return removed
    for place in places:
        try:
            entries = list(place.iterdir())
        except OSError:
            continue
        for entry in entries:
            try:
                if not is_leftover(entry.name) or now - entry.lstat().st_mtime < grace_s:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed.append(entry.name)
            except OSError as error:
                log.warning("cannot remove the leftover %s: %s", entry, error)
    if removed:
        log.warning("removed %d half-written leftovers from %s", len(removed), folder)
    return removed


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or what it was raised from) says the disk or quota is full."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in _FULL:
            return True
        error = error.__cause__ or error.__context__
    return False


def plain_write_error(error: OSError, what: str) -> DiskWriteError:
    """The user's words for an OS error writing ``what`` ("the demo library"): no path."""
    if is_disk_full(error):
        return DiskFullError(f"The server's disk is full: {what} could not be written. "
                             "Ask its operator to free space, then try again.")
    return DiskWriteError(f"The server could not write {what} to its disk "
                          f"({error.strerror or 'an input/output error'}).")


@contextlib.contextmanager
def disk_errors(what: str, cleanup: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Run the block; an ``OSError`` from it runs ``cleanup`` (remove what it half wrote) and
    becomes :func:`plain_write_error`'s error about ``what``."""
    try:
        yield
    except OSError as error:
        log.warning("writing %s failed: %s", what, error)
        with contextlib.suppress(Exception):
            cleanup()
        raise plain_write_error(error, what) from error
