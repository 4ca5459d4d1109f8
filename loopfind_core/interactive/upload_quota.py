"""Quotas on the uploads kept for resuming (``uploads/`` of the cache folder), so one client
cannot fill the server's disk.

:meth:`~loopfind_core.interactive.workspace_store.WorkspaceStore.keep_upload` asks
:meth:`UploadQuota.make_room` before it writes a workspace's upload:

1. the uploads this workspace kept earlier (in this server's run) that no other workspace
   names are deleted: a workspace keeps one track, the one it works on, not every file it was
   ever given (before, each stayed an hour as an orphan: docs/reliability.md, "Bounded
   memory and disk");
2. the workspace's uploads must fit :data:`WORKSPACE_QUOTA_BYTES`
   (``$LOOPFIND_WORKSPACE_UPLOAD_QUOTA_MB``);
3. all kept uploads must fit :data:`TOTAL_QUOTA_BYTES` (``$LOOPFIND_UPLOADS_QUOTA_MB``): the
   oldest uploads no workspace names (older than :data:`ORPHAN_GRACE_S`, so a save in flight
   keeps its file) are deleted to make room;
4. at least :data:`MIN_FREE_BYTES` of the disk must stay free after the write.

Where a quota cannot be met, :class:`UploadQuotaError` says which, in plain words; the app
still opens the track and adds "This track cannot be resumed later."
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from loopfind_core.interactive.store_file import WorkspaceStoreError

log = logging.getLogger(__name__)

MiB = 1 << 20


def _megabytes_setting(name: str, default_mib: int) -> int:
    """``$name`` in MiB (a positive integer), else ``default_mib``; in bytes."""
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        value = 0
    return (value if value > 0 else default_mib) * MiB


WORKSPACE_QUOTA_BYTES = _megabytes_setting("LOOPFIND_WORKSPACE_UPLOAD_QUOTA_MB", 200)
TOTAL_QUOTA_BYTES = _megabytes_setting("LOOPFIND_UPLOADS_QUOTA_MB", 4096)
MIN_FREE_BYTES = 512 * MiB  # the disk keeps this much free for everything else
ORPHAN_GRACE_S = 60.0  # an unnamed upload younger than this may be about to be saved
_UPLOAD_FILE = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{1,8}")


class UploadQuotaError(WorkspaceStoreError):
    """Keeping an upload would exceed a quota (the message says which)."""


class UploadQuota:
    """The quotas of the uploads folder ``folder`` (see the module docstring). Remembers which
    uploads each workspace token kept during this server's run."""

    def __init__(self, folder: Path, *, clock: Callable[[], float] = time.time,
                 workspace_bytes: int | None = None, total_bytes: int | None = None,
                 min_free_bytes: int = MIN_FREE_BYTES) -> None:
        self.folder = Path(folder)
        self.workspace_bytes = WORKSPACE_QUOTA_BYTES if workspace_bytes is None \
            else workspace_bytes
        self.total_bytes = TOTAL_QUOTA_BYTES if total_bytes is None else total_bytes
        self.min_free_bytes = min_free_bytes
        self._clock = clock
        self._kept: dict[str, list[str]] = {}  # token → upload file names it kept
        self._lock = threading.Lock()

    def _size(self, name: str) -> int:
        try:
            return (self.folder / name).stat().st_size
        except OSError:
            return 0

    def _delete(self, name: str) -> None:
        try:
            (self.folder / name).unlink(missing_ok=True)
        except OSError as error:
            log.warning("cannot delete the kept upload %s: %s", name, error)

    def make_room(self, token: str, name: str, size: int,
                  named_by_others: Callable[[str], set[str]]) -> None:
        """Make room for ``size`` bytes kept as ``name`` for workspace ``token``;
        ``named_by_others(token)``: the upload files workspaces other than ``token`` name.

        Raises:
            UploadQuotaError: a quota cannot be met (nothing was written)."""
        with self._lock:
            named = named_by_others(token)
            own = [n for n in self._kept.get(token, []) if n != name]
            for old in [n for n in own if n not in named]:  # replaced: nobody needs it
                self._delete(old)
            own = [n for n in own if n in named]
            self._kept[token] = own
            own_bytes = sum(self._size(n) for n in own)
            if own_bytes + size > self.workspace_bytes:
                raise UploadQuotaError(
                    f"This upload ({size / MiB:.0f} MiB) is over the "
                    f"{self.workspace_bytes / MiB:.0f} MiB this server keeps per workspace "
                    f"for resuming; a compressed file (MP3, OGG, FLAC) is smaller.")
            self._within_total(name, size, named | set(own))
            self._within_disk(size)

    def _within_total(self, name: str, size: int, named: set[str]) -> None:
        try:
            files = [p for p in self.folder.iterdir() if _UPLOAD_FILE.fullmatch(p.name)
                     and p.name != name]
        except OSError:
            files = []
        stats = {p.name: p.stat() for p in files if p.exists()}
        total = sum(st.st_size for st in stats.values())
        now = self._clock()
        orphans = sorted((st.st_mtime, n) for n, st in stats.items()
                         if n not in named and st.st_mtime < now - ORPHAN_GRACE_S)
        for _, orphan in orphans:
            if total + size <= self.total_bytes:
                break
            self._delete(orphan)
            total -= stats[orphan].st_size
        if total + size > self.total_bytes:
            raise UploadQuotaError(
                f"The server's space for kept uploads ({self.total_bytes / MiB:.0f} MiB) is "
                f"full.")

    def _within_disk(self, size: int) -> None:
        place = self.folder if self.folder.is_dir() else self.folder.parent
        try:
            free = shutil.disk_usage(place).free
        except OSError:
            return
        if free - size < self.min_free_bytes:
            raise UploadQuotaError(
                "The server's disk is nearly full, so this upload is not kept.")

    def kept(self, token: str, name: str) -> None:
        """Note that workspace ``token`` now keeps ``name``."""
        with self._lock:
            names = self._kept.setdefault(token, [])
            if name not in names:
                names.append(name)
