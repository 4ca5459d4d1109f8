"""The library index's database: ``index.sqlite`` in the index folder, and its lock.

The index folder holds ``index.sqlite`` (this module), ``features/<content sha256>.npy``
(float16, (n_frames, n_dims), written by :mod:`loopfind_core.library.engine`) and the faiss
vector index ``vectors-<generation>.faiss`` (:mod:`loopfind_core.library.vector_index`). Every
path inside is relative to the index folder, so the folder can move.

Tables (schema version :data:`SCHEMA_VERSION`; ``index.json`` was version 1):

- ``schema_version (version)``: one row;
- ``settings (key, value)``: JSON values: the feature ``kind`` and ``whiten`` shrinkage of the
  whole index, the indexed ``folder`` relative to the index folder and ``folder_absolute``
  (tried second), and the vector index's ``vectors_file``, ``vectors_factory``,
  ``vectors_trained_blocks`` and ``vectors_block_frames``;
- ``tracks (id, path, hash, size, mtime_ns, frames, duration_s, added_at)``: one row per
  indexed file; ``path`` relative to the indexed folder (POSIX), ``id`` never reused (the
  vector index's ids are ``id << BLOCK_ID_BITS | block``);
- ``vector_tracks (track_id, hash, blocks)``: what the vector index file holds;
- ``feature_files (hash, bytes, mtime_ns, sha256)``: each feature file as written (its size,
  modification time and checksum), so a damaged one is found (:mod:`.feature_files`); added
  by the first ``index`` run of this version, without a schema change (an index without it
  reads as before, its files checked by their shape only).

The database is in WAL mode (readers never wait for a writer); every write is one
``BEGIN IMMEDIATE`` transaction with a busy timeout, and whatever changes an index (an
``index`` run, a migration, a vector index update) holds :func:`index_lock`, an OS file lock
on ``index.lock``, so two indexers at once take turns and the result is that of one run.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loopfind_core.base.errors import DatasetError

log = logging.getLogger(__name__)

INDEX_DB = "index.sqlite"
LEGACY_INDEX_FILE = "index.json"  # the manifest of Loopfind's first index layout (version 1)
LEGACY_VERSION = 1
SCHEMA_VERSION = 2
FEATURES_FOLDER = "features"
LOCK_FILE = "index.lock"
BUSY_TIMEOUT_S = 120.0  # how long a write waits for another writer's transaction

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tracks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX tracks_by_hash ON tracks (hash);
CREATE TABLE vector_tracks (
    track_id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    blocks INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class TrackRow:
    """One indexed file."""

    id: int
    path: str  # relative to the indexed folder, POSIX separators
    hash: str  # sha256 of the file's bytes: its features are features/<hash>.npy
    size: int
    mtime_ns: int
    frames: int
    duration_s: float
    added_at: str  # ISO 8601, UTC

    def record(self) -> dict:
        """The row as a track of :func:`~loopfind_core.library.manifest.read_index_manifest`."""
        return {"hash": self.hash, "size": self.size, "mtime_ns": self.mtime_ns,
                "frames": self.frames, "duration_s": self.duration_s}


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def feature_path(out: Path, content_hash: str) -> Path:
    return out / FEATURES_FOLDER / f"{content_hash}.npy"


def is_track(indexed_name: str, asked: str) -> bool:
    """True if ``asked`` names the indexed track: its path in the index, or its file name."""
    return indexed_name == asked or Path(indexed_name).name == asked


# --- the lock --------------------------------------------------------------------------------

_locks: dict[str, threading.RLock] = {}  # index folder → this process's lock of it
_depth: dict[str, int] = {}  # how deep the thread holding it is (the OS lock is taken once)
_locks_guard = threading.Lock()


def _lock_file(handle) -> None:
    """Block until ``handle`` holds the OS lock; log once when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt
        import time

        waited = False
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if not waited:
                    log.warning("waiting for another indexer of %s", Path(handle.name).parent)
                    waited = True
                time.sleep(0.5)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        log.warning("waiting for another indexer of %s (%s) to finish",
                    Path(handle.name).parent, holder)
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


@contextlib.contextmanager
def index_lock(out: str | Path) -> Iterator[None]:
    """Hold the index folder ``out``'s lock (``index.lock``): one process, and one thread in
    it, changes an index at a time; the OS releases it if the process dies. Re-entrant."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    key = str(out.resolve())
    with _locks_guard:
        thread_lock = _locks.setdefault(key, threading.RLock())
    with thread_lock:
        if _depth.get(key):
            _depth[key] += 1
            try:
                yield
            finally:
                _depth[key] -= 1
            return
        with open(out / LOCK_FILE, "a+") as handle:
            _lock_file(handle)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {now_iso()}\n")
            handle.flush()
            _depth[key] = 1
            try:
                yield
            finally:
                _depth[key] = 0
                handle.seek(0)
                handle.truncate()


# --- connections and transactions ------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    connection.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no commit
    return connection


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection, write: bool = True) -> Iterator[None]:
    """One transaction: ``BEGIN IMMEDIATE`` (takes the write lock now, waiting up to
    :data:`BUSY_TIMEOUT_S`) for writes, a snapshot read otherwise."""
    connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _schema_version(connection: sqlite3.Connection) -> int | None:
    exists = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                "AND name = 'schema_version'").fetchone()
    if not exists:
        return None
    row = connection.execute("SELECT version FROM schema_version").fetchone()
    return row[0] if row else None


def _check_version(out: Path, version: int | None) -> None:
    if version is not None and version != SCHEMA_VERSION:
        raise DatasetError(f"{out / INDEX_DB} has index version {version}; this Loopfind reads "
                           f"version {SCHEMA_VERSION}. Index into a new folder.")


@contextlib.contextmanager
def connect(out: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection to the existing index database of ``out``.

    Raises:
        DatasetError: ``out`` holds no index database (or one of another version)."""
    out = Path(out)
    if not (out / INDEX_DB).is_file():
        raise DatasetError(f"{out} holds no Loopfind index (run `index` first).")
    try:
        connection = _connect(out / INDEX_DB)
    except sqlite3.Error as error:
        raise DatasetError(f"{out / INDEX_DB} is not a readable Loopfind index ({error}).") \
            from error
    try:
        try:
            version = _schema_version(connection)
        except sqlite3.DatabaseError as error:
            raise DatasetError(f"{out / INDEX_DB} is not a readable Loopfind index "
                               f"({error}).") from error
        if version is None:
            raise DatasetError(f"{out} holds no Loopfind index (run `index` first).")
        _check_version(out, version)
        yield connection
    finally:
        connection.close()


def _write_new(out: Path, settings: dict, tracks: list[tuple[str, dict, str]] = ()) -> None:
    """Write a new database (``settings``, ``tracks``: (path, record, added_at)) under a
    temporary name and rename it ``index.sqlite``: readers see all of it or none."""
    partial = out / f"{INDEX_DB}.{os.getpid()}.partial"
    partial.unlink(missing_ok=True)
    connection = _connect(partial)
    try:
        connection.executescript(_SCHEMA)
        with transaction(connection):
            connection.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            write_settings(connection, settings)
            for path, record, added_at in tracks:
                put_track(connection, path, record, added_at)
        connection.execute("PRAGMA journal_mode = WAL")
    finally:
        connection.close()
    os.replace(partial, out / INDEX_DB)


_FEATURE_FILES_SCHEMA = """
CREATE TABLE IF NOT EXISTS feature_files (
    hash TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
)
"""


def create(out: Path, settings: dict) -> None:
    """Create ``out``'s database with ``settings`` unless it exists, and its
    ``feature_files`` table unless it has one (call under the lock)."""
    if not (out / INDEX_DB).is_file():
        _write_new(out, settings)
    with connect(out) as connection:
        connection.execute(_FEATURE_FILES_SCHEMA)


@dataclass(frozen=True)
class FeatureFileRow:
    """A feature file as it was written."""

    hash: str  # the audio's content hash: the file is features/<hash>.npy
    bytes: int
    mtime_ns: int
    sha256: str  # of the file's bytes


def read_feature_files(connection: sqlite3.Connection) -> dict[str, FeatureFileRow]:
    """Every recorded feature file by hash (none in an index made before the table)."""
    try:
        rows = connection.execute("SELECT hash, bytes, mtime_ns, sha256 FROM feature_files")
        return {row[0]: FeatureFileRow(*row) for row in rows}
    except sqlite3.OperationalError:  # no such table: an index made before it
        return {}


def put_feature_file(connection: sqlite3.Connection, row: FeatureFileRow) -> None:
    """Record (or re-record) a feature file."""
    connection.execute(
        "INSERT INTO feature_files (hash, bytes, mtime_ns, sha256) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (hash) DO UPDATE SET bytes = excluded.bytes, "
        "mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256",
        (row.hash, row.bytes, row.mtime_ns, row.sha256))


def delete_unused_feature_files(connection: sqlite3.Connection) -> None:
    """Forget the records of feature files no track refers to."""
    try:
        connection.execute("DELETE FROM feature_files WHERE hash NOT IN (SELECT hash FROM tracks)")
    except sqlite3.OperationalError:
        pass


# --- rows ------------------------------------------------------------------------------------


def read_settings(connection: sqlite3.Connection) -> dict:
    return {key: json.loads(value)
            for key, value in connection.execute("SELECT key, value FROM settings")}


def write_settings(connection: sqlite3.Connection, settings: dict) -> None:
    connection.executemany(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [(key, json.dumps(value)) for key, value in settings.items()])


_TRACK_COLUMNS = "id, path, hash, size, mtime_ns, frames, duration_s, added_at"


def read_tracks(connection: sqlite3.Connection, path: str | None = None) -> list[TrackRow]:
    """Every track row (or the one at ``path``), in path order."""
    if path is None:
        rows = connection.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks ORDER BY path")
    else:
        rows = connection.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE path = ?", (path,))
    return [TrackRow(*row) for row in rows]


def find_track(connection: sqlite3.Connection, name: str) -> TrackRow | None:
    """The indexed track ``name`` names (:func:`is_track`: its path, else the first by path
    with that file name), or None."""
    rows = connection.execute(
        f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE path = ?1 "
        f"OR substr(path, -length(?1) - 1) = '/' || ?1 ORDER BY path = ?1 DESC, path LIMIT 1",
        (name,)).fetchall()
    return TrackRow(*rows[0]) if rows else None


def find_track_by_hash(connection: sqlite3.Connection, content_hash: str) -> TrackRow | None:
    """The indexed track whose file has ``content_hash`` (the first by path), or None."""
    rows = connection.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE hash = ? "
                              f"ORDER BY path LIMIT 1", (content_hash,)).fetchall()
    return TrackRow(*rows[0]) if rows else None


def put_track(connection: sqlite3.Connection, path: str, record: dict,
              added_at: str | None = None) -> None:
    """Insert the track at ``path``, or update its row (keeping its id) when it is there."""
    connection.execute(
        "INSERT INTO tracks (path, hash, size, mtime_ns, frames, duration_s, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET hash = excluded.hash, "
        "size = excluded.size, mtime_ns = excluded.mtime_ns, frames = excluded.frames, "
        "duration_s = excluded.duration_s, added_at = excluded.added_at",
        (path, record["hash"], record["size"], record["mtime_ns"], record["frames"],
         record["duration_s"], added_at or now_iso()))


def delete_tracks(connection: sqlite3.Connection, paths: list[str]) -> None:
    connection.executemany("DELETE FROM tracks WHERE path = ?", [(p,) for p in paths])


# --- where the indexed folder is -------------------------------------------------------------


def folder_settings(folder: Path, out: Path) -> dict:
    """The indexed folder as settings: relative to the index folder when there is such a path
    (the two can then move together), and absolute (tried second: the index moved alone)."""
    absolute = folder.resolve()
    try:
        relative = Path(os.path.relpath(absolute, out.resolve())).as_posix()
    except ValueError:  # another drive
        relative = None
    return {"folder": relative, "folder_absolute": str(absolute)}


def folder_candidates(out: Path, settings: dict) -> list[Path]:
    """Where the indexed folder may be, in the order to try."""
    candidates = []
    if settings.get("folder"):
        candidates.append((out / settings["folder"]).resolve())
    if settings.get("folder_absolute"):
        candidates.append(Path(settings["folder_absolute"]))
    return candidates


# --- migration from index.json ---------------------------------------------------------------


def migrate_legacy_rows(out: Path) -> int | None:
    """Copy a version-1 ``index.json`` of ``out`` into a new ``index.sqlite`` (call under the
    lock), then rename it ``index.json.migrated``. The number of tracks migrated, or None when
    there was nothing to migrate (no ``index.json``, or a database already).

    Raises:
        DatasetError: the manifest is unreadable or of another version."""
    legacy = out / LEGACY_INDEX_FILE
    if (out / INDEX_DB).is_file() or not legacy.is_file():
        return None
    try:
        manifest = json.loads(legacy.read_text())
    except (OSError, ValueError) as error:
        raise DatasetError(f"{legacy} is not a readable Loopfind index ({error}).") from error
    if not isinstance(manifest, dict) or manifest.get("version") != LEGACY_VERSION:
        raise DatasetError(f"{legacy} has index version {manifest.get('version')!r}; this "
                           f"Loopfind migrates version {LEGACY_VERSION}. Index into a new "
                           f"folder.")
    settings = {"kind": manifest.get("kind"), "whiten": manifest.get("whiten"),
                "migrated_from": LEGACY_INDEX_FILE}
    if manifest.get("folder"):
        settings |= folder_settings(Path(manifest["folder"]), out)
    added_at = datetime.datetime.fromtimestamp(legacy.stat().st_mtime, datetime.timezone.utc)
    tracks = []
    for path, record in sorted(manifest.get("tracks", {}).items()):
        if feature_path(out, record["hash"]).is_file():
            tracks.append((path, record, added_at.isoformat(timespec="seconds")))
        else:
            log.warning("%s: the features of %s are missing; the next `index` run extracts "
                        "them again", out, path)
    _write_new(out, settings, tracks)
    os.replace(legacy, legacy.with_name(f"{LEGACY_INDEX_FILE}.migrated"))
    for old in ("vectors.faiss", "vectors.json"):  # the old vector index: sequential ids
        (out / old).unlink(missing_ok=True)
    return len(tracks)
