"""The library's feature files, checked before use: a damaged one is named, never read as
features.

Each ``features/<hash>.npy`` is recorded in the database's ``feature_files`` table when an
``index`` run commits it (:func:`record`: size, modification time, sha256). :func:`problem`
checks a file against its record: missing; another size (truncated, or overwritten by
something else); changed since (another modification time and another checksum: overwritten
in place); or, with no record (an index made by an earlier version), a header that is not a
float16 array of the track's frames. ``index`` re-extracts a damaged file
(:func:`~loopfind_core.library.store.build_index`); a hunt refuses it with a
:class:`~loopfind_core.base.errors.DatasetError` naming the track (:func:`load_checked`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from loopfind_core.base.errors import DatasetError
from loopfind_core.library.database import FeatureFileRow, TrackRow, feature_path

HASH_CHUNK_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def record(out: Path, content_hash: str) -> FeatureFileRow:
    """The record of ``out``'s feature file of ``content_hash`` as it is now.

    Raises:
        OSError: it cannot be read."""
    path = feature_path(out, content_hash)
    stat = path.stat()
    return FeatureFileRow(content_hash, stat.st_size, stat.st_mtime_ns, file_sha256(path))


def problem(out: Path, row: TrackRow, recorded: FeatureFileRow | None) -> str | None:
    """What is wrong with the feature file of ``row`` (a phrase: "missing", "truncated…"), or
    None when it is as recorded (size, and checksum when its modification time changed) and
    holds a float16 array of ``row.frames`` frames."""
    path = feature_path(out, row.hash)
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    if recorded is not None:
        if stat.st_size != recorded.bytes:
            return (f"truncated ({stat.st_size} of {recorded.bytes} bytes)"
                    if stat.st_size < recorded.bytes else "changed (another size)")
        try:
            if stat.st_mtime_ns != recorded.mtime_ns and file_sha256(path) != recorded.sha256:
                return "overwritten (its checksum differs)"
        except OSError:
            return "unreadable"
    try:
        values = np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError):
        return "not a readable feature file (truncated or overwritten)"
    if values.ndim != 2 or values.dtype != np.float16 or len(values) != row.frames:
        return f"not the track's features (shape {values.shape}, {values.dtype})"
    return None


def load_checked(out: Path, row: TrackRow, recorded: FeatureFileRow | None) -> np.ndarray:
    """The stored features of ``row`` (memory-mapped float16, (frames, dims)) once
    :func:`problem` finds nothing wrong.

    Raises:
        DatasetError: the file is damaged or missing (named by the track, with what to do)."""
    found = problem(out, row, recorded)
    if found is not None:
        raise DatasetError(f"The stored features of {row.path!r} are {found}; run `loopfind "
                           f"index` on the library's folder again to repair them.")
    return np.load(feature_path(out, row.hash), mmap_mode="r")
