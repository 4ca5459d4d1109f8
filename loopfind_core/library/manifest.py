"""Reading a library index: what it holds and where its tracks' audio is.

An index folder holds ``index.sqlite`` (:mod:`loopfind_core.library.database`: every indexed
track by its path relative to the indexed folder, with its content hash (sha256), size,
modification time, frames, duration and when it was added, and the feature kind and whitening
of the whole index), ``features/<content hash>.npy`` (float16, (n_frames, n_dims)) and the
vector index (:mod:`loopfind_core.library.vector_index`).

An index of Loopfind's first layout (one ``index.json``) is migrated on first use: its rows go
into a new ``index.sqlite``, ``index.json`` is kept as ``index.json.migrated``, and the vector
index is rebuilt from the stored features (nothing is decoded again); a warning says so. Where
the folder cannot be written, the error says to run ``index`` once where it can.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from loopfind_core.base.errors import DatasetError
from loopfind_core.library.database import (
    FEATURES_FOLDER,
    INDEX_DB,
    LEGACY_INDEX_FILE,
    SCHEMA_VERSION,
    connect,
    find_track_by_hash,
    folder_candidates,
    index_lock,
    is_track,
    migrate_legacy_rows,
    read_settings,
    read_tracks,
    transaction,
)
from loopfind_core.library.vector_index import update_vector_index

__all__ = ["FEATURES_FOLDER", "INDEX_FILE", "INDEX_VERSION", "IndexSummary", "indexed_track",
           "index_summary", "is_track", "open_index", "read_index_manifest", "track_audio_path",
           "track_hashes", "track_with_hash"]

log = logging.getLogger(__name__)

INDEX_FILE = INDEX_DB
INDEX_VERSION = SCHEMA_VERSION


def open_index(out: str | Path) -> Path:
    """``out``, with an index of the first layout (``index.json``) migrated first (see the
    module docstring).

    Raises:
        DatasetError: an old index that cannot be migrated here (said how to)."""
    out = Path(out)
    if (out / INDEX_DB).is_file() or not (out / LEGACY_INDEX_FILE).is_file():
        return out
    try:
        with index_lock(out):
            migrated = migrate_legacy_rows(out)
            if migrated is None:  # another process migrated it meanwhile
                return out
            log.warning("%s: migrated %s (the first Loopfind index layout, %d tracks) to %s; "
                        "the old manifest is kept as %s.migrated", out, LEGACY_INDEX_FILE,
                        migrated, INDEX_DB, LEGACY_INDEX_FILE)
            if migrated:
                report = update_vector_index(out)
                log.warning("%s: rebuilt its vector index from the stored features (%d blocks, "
                            "%.1f s)", out, report.blocks, report.seconds)
    except (OSError, sqlite3.Error) as error:
        raise DatasetError(
            f"{out} is an index of an earlier Loopfind ({LEGACY_INDEX_FILE}) that could not be "
            f"migrated here ({error}). Run `python -m loopfind_core index FOLDER --out {out}` "
            f"once as a user who can write to it: that migrates it and keeps its features."
        ) from error
    return out


def indexed_tracks(out: str | Path) -> tuple[Path, dict, list]:
    """(the index folder, its settings, its track rows in path order), read in one transaction
    (an old ``index.json`` index is migrated first).

    Raises:
        DatasetError: ``out`` holds no readable index with at least one track."""
    out = open_index(out)
    with connect(out) as connection, transaction(connection, write=False):
        settings = read_settings(connection)
        rows = read_tracks(connection)
    if not rows:
        raise DatasetError(f"{out} holds no Loopfind index (run `index` first).")
    return out, settings, rows


def read_index_manifest(out: str | Path) -> dict:
    """What the index ``out`` holds: ``{"version", "kind", "whiten", "folder" (the indexed
    folder, absolute, or None), "tracks": {path: {"hash", "size", "mtime_ns", "frames",
    "duration_s"}}}``.

    Raises:
        DatasetError: ``out`` holds no readable index with at least one track."""
    out, settings, rows = indexed_tracks(out)
    folders = folder_candidates(out, settings)
    folder = next((f for f in folders if f.is_dir()), folders[0] if folders else None)
    return {"version": SCHEMA_VERSION, "kind": settings.get("kind"),
            "whiten": settings.get("whiten"), "folder": str(folder) if folder else None,
            "tracks": {row.path: row.record() for row in rows}}


@dataclass(frozen=True)
class IndexSummary:
    kind: str  # the feature kind of the index
    whiten: float | None  # the whitening shrinkage of its features (None: raw)
    tracks: int
    hours: float  # total duration of the indexed tracks


def index_summary(out: str | Path) -> IndexSummary:
    """The kind, whitening, track count and hours of the index ``out`` (one query).

    Raises:
        DatasetError: ``out`` holds no readable index with at least one track."""
    out = open_index(out)
    with connect(out) as connection, transaction(connection, write=False):
        settings = read_settings(connection)
        tracks, seconds = connection.execute(
            "SELECT count(*), total(duration_s) FROM tracks").fetchone()
    if not tracks:
        raise DatasetError(f"{out} holds no Loopfind index (run `index` first).")
    return IndexSummary(settings.get("kind"), settings.get("whiten"), tracks, seconds / 3600)


def indexed_track(out: str | Path, content_hash: str) -> str | None:
    """The indexed track whose audio file has ``content_hash`` (sha256; the first by name when
    the same file is indexed twice), or None."""
    with connect(open_index(out)) as connection:
        row = find_track_by_hash(connection, content_hash)
    return row.path if row else None


def track_audio_path(out: str | Path, name: str) -> Path:
    """The audio file of the indexed track ``name`` (for listening to a candidate): under the
    indexed folder where the index says it is, relative to the index folder first (the two
    moved together), else at its absolute path (the index moved alone).

    Raises:
        DatasetError: the index does not say where its tracks are, or the file is gone."""
    out = open_index(out)
    with connect(out) as connection, transaction(connection, write=False):
        settings = read_settings(connection)
        known = bool(read_tracks(connection, name))
    folders = folder_candidates(out, settings)
    if not known or not folders:
        raise DatasetError(f"The index does not know where {name!r} is; run `index` again.")
    for folder in folders:
        path = (folder / name).resolve()
        if folder.resolve() in path.parents and path.is_file():
            return path
    raise DatasetError(f"{name!r} is no longer in {folders[-1].name}; run `index` again.")


def track_hashes(manifest: Mapping) -> dict[str, str]:
    """Every indexed track's name (path relative to the indexed folder) → its content hash."""
    return {name: record["hash"] for name, record in manifest["tracks"].items()}


def track_with_hash(hashes: Mapping[str, str], content_hash: str) -> str | None:
    """The indexed track whose audio file has ``content_hash`` (sha256; the first by name when
    the same file is indexed twice), or None: a track is found by its content, not its name."""
    return next((name for name, indexed in sorted(hashes.items()) if indexed == content_hash),
                None)
