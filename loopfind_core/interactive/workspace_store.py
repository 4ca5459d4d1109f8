"""Workspaces kept on disk, so a hunt survives a page reload and a server restart.

``cache_dir()/workspaces.sqlite`` (stdlib ``sqlite3``, WAL, ``synchronous=NORMAL``, a busy
timeout; every write one ``BEGIN IMMEDIATE`` transaction, so sessions in one server and servers
sharing the cache folder take turns). Tables (schema version :data:`SCHEMA_VERSION`):

- ``schema_version (version)``: one row;
- ``workspaces (token PK, created_at, touched_at, track_hash, track_source, track_name,
  track_file, selection_start_s, selection_duration_s, whiten, latency_offset_ms,
  current_hunt)``: one per browser token; the track by reference: ``'demo'`` (the built-in
  demo, checked by its content hash) or ``'upload'`` (its bytes kept in
  ``uploads/<content sha256>.<ext>``, ``track_file``);
- ``hunts (token, name, position, kind, strategy, patience, whiten, query_start_s,
  query_duration_s, finished)``: the workspace's hunts in order;
- ``answers (token, hunt, seq, start_frame, is_match, auto, page, distance)``: one row per
  answer, in order (``seq`` from 0): replaying them rebuilds the hunt exactly
  (:meth:`~loopfind_core.interactive.workspace.Workspace.restore`).

:meth:`WorkspaceStore.save` is an idempotent sync of a
:class:`~loopfind_core.interactive.workspace.WorkspaceSnapshot`: it inserts the answers not
stored yet, deletes those beyond the history (an undo) or from the first one that differs (a
revision), drops forgotten hunts. A token is 128 random bits in hex (:func:`new_token`); it is
only ever a key, never a path, and every query names it, so a token reads only its own rows.
Workspaces untouched for :data:`WORKSPACE_TTL_DAYS` days are deleted (:meth:`~WorkspaceStore.
expire`), with their uploaded audio once no workspace uses it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from loopfind_core.base.errors import LoopfindError
from loopfind_core.base.paths import cache_dir
from loopfind_core.interactive.workspace import (
    AnswerSnapshot,
    HuntSnapshot,
    Selection,
    WorkspaceSnapshot,
)

log = logging.getLogger(__name__)

DATABASE_NAME = "workspaces.sqlite"
UPLOADS_FOLDER = "uploads"
SCHEMA_VERSION = 1
WORKSPACE_TTL_DAYS = 30  # a workspace untouched this long is deleted
EXPIRY_EVERY_S = 3600.0  # a running server looks for expired workspaces this often
ORPHAN_GRACE_S = 3600.0  # an upload no workspace names is kept this long (its save may follow)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # Streamlit's upload limit
BUSY_TIMEOUT_S = 10.0
TRACK_SOURCES = ("demo", "upload")
_TOKEN = re.compile(r"[0-9a-f]{32}")
_CONTENT_HASH = re.compile(r"[0-9a-f]{64}")
_SUFFIX = re.compile(r"[a-z0-9]{1,8}")
_UPLOAD_FILE = re.compile(r"([0-9a-f]{64})\.([a-z0-9]{1,8})")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS workspaces (
    token TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    touched_at REAL NOT NULL,
    track_hash TEXT NOT NULL,
    track_source TEXT NOT NULL CHECK (track_source IN ('demo', 'upload')),
    track_name TEXT NOT NULL,
    track_file TEXT,
    selection_start_s REAL,
    selection_duration_s REAL,
    whiten REAL,
    latency_offset_ms REAL NOT NULL,
    current_hunt TEXT
);
CREATE INDEX IF NOT EXISTS workspaces_by_touch ON workspaces (touched_at);
CREATE TABLE IF NOT EXISTS hunts (
    token TEXT NOT NULL REFERENCES workspaces (token) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    strategy TEXT NOT NULL,
    patience INTEGER NOT NULL,
    whiten REAL,
    query_start_s REAL NOT NULL,
    query_duration_s REAL NOT NULL,
    finished INTEGER NOT NULL,
    PRIMARY KEY (token, name)
);
CREATE TABLE IF NOT EXISTS answers (
    token TEXT NOT NULL,
    hunt TEXT NOT NULL,
    seq INTEGER NOT NULL,
    start_frame INTEGER NOT NULL,
    is_match INTEGER NOT NULL,
    auto INTEGER NOT NULL,
    page INTEGER,
    distance REAL,
    PRIMARY KEY (token, hunt, seq),
    FOREIGN KEY (token, hunt) REFERENCES hunts (token, name) ON DELETE CASCADE
);
"""


class WorkspaceStoreError(LoopfindError):
    """The saved workspaces cannot be read or written (a damaged or foreign database file, a
    cache folder that cannot be written)."""


def new_token() -> str:
    """A new browser token: 128 random bits, 32 lowercase hex digits."""
    return secrets.token_hex(16)


def valid_token(value: object) -> str | None:
    """``value`` if it is a well-formed token, else None (never trust a URL or a browser)."""
    return value if isinstance(value, str) and _TOKEN.fullmatch(value) else None


def _checked_token(token: object) -> str:
    if valid_token(token) is None:
        raise WorkspaceStoreError("A workspace token is 32 hexadecimal digits.")
    return token  # type: ignore[return-value]


@dataclass(frozen=True)
class TrackRef:
    """Which track a workspace is about: the demo, or an upload kept under ``uploads/``."""

    content_hash: str  # Audio.content_hash: sha256 of the file's bytes
    source: str  # 'demo' or 'upload'
    name: str  # the display name
    file: str | None = None  # the upload's file name under uploads/ (None for the demo)


@dataclass(frozen=True)
class StoredWorkspace:
    """A workspace as stored: whose, since and until when, which track, and the work."""

    token: str
    created_at: float  # seconds since the epoch
    touched_at: float
    track: TrackRef
    snapshot: WorkspaceSnapshot

    @property
    def n_hunts(self) -> int:
        return len(self.snapshot.hunts)

    @property
    def n_answers(self) -> int:
        return self.snapshot.n_answers


def _real(value: float | None) -> float | None:
    """A float for SQLite: NaN (which SQLite would store as NULL anyway) as None."""
    return None if value is None or math.isnan(value) else float(value)


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


class WorkspaceStore:
    """The workspaces database in ``folder`` (default: the cache folder).

    One connection per store, shared by a server's sessions (threads) under a lock; other
    processes on the same folder wait on SQLite's lock (:data:`BUSY_TIMEOUT_S`).

    Raises:
        WorkspaceStoreError: the folder cannot be written, or the file is not a workspaces
            database of this version (see :meth:`open_or_reset`).
    """

    def __init__(self, folder: Path | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.path = self.folder / DATABASE_NAME
        self.uploads = self.folder / UPLOADS_FOLDER
        self._clock = clock
        self._lock = threading.RLock()
        self._expired_at: float | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S,
                                       isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as error:
            raise WorkspaceStoreError(
                f"Saved hunts cannot be kept in {self.folder}: {error}.") from error
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                versions = [v for (v,) in self._db.execute("SELECT version FROM schema_version")]
                if not versions:
                    self._db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                elif versions != [SCHEMA_VERSION]:
                    raise WorkspaceStoreError(
                        f"{self.path} is a workspaces database of version {versions}, not "
                        f"{SCHEMA_VERSION}.")
        except sqlite3.Error as error:
            self._db.close()
            raise WorkspaceStoreError(
                f"{self.path} is damaged or not a workspaces database ({error}).") from error
        except WorkspaceStoreError:
            self._db.close()
            raise

    @classmethod
    def open_or_reset(cls, folder: Path | None = None, *,
                      clock: Callable[[], float] = time.time
                      ) -> tuple[WorkspaceStore, str | None]:
        """Open the store; if its file is damaged or foreign, move it aside (``….broken-<time>``)
        and start an empty one. Returns (the store, what happened to the old file or None).

        Raises:
            WorkspaceStoreError: not even an empty store can be made (the folder cannot be
                written).
        """
        try:
            return cls(folder, clock=clock), None
        except WorkspaceStoreError as error:
            path = (Path(folder) if folder is not None else cache_dir()) / DATABASE_NAME
            if not path.is_file():
                raise
            aside = path.with_name(f"{DATABASE_NAME}.broken-{int(time.time())}")
            try:
                path.replace(aside)
                for suffix in ("-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        path.with_name(DATABASE_NAME + suffix).unlink()
            except OSError as move_error:
                raise WorkspaceStoreError(f"{error} It could not be moved aside: "
                                          f"{move_error}.") from error
            log.warning("workspaces database moved aside to %s: %s", aside, error)
            return cls(folder, clock=clock), (
                f"{error} Saved hunts start afresh; the old file is kept as {aside.name}.")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock: ``BEGIN IMMEDIATE`` for a write (so it never has to
        upgrade a read lock), a plain ``BEGIN`` (one consistent snapshot) for a read."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._db
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # the error that got here is the news
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextlib.contextmanager
    def _guarded(self, doing: str, write: bool = True) -> Iterator[sqlite3.Connection]:
        try:
            with self._transaction(write) as db:
                yield db
        except sqlite3.Error as error:
            raise WorkspaceStoreError(
                f"Saved hunts could not be {doing} ({self.path}: {error}).") from error

    # ----- one workspace -----
    def save(self, token: str, track: TrackRef, snapshot: WorkspaceSnapshot) -> None:
        """Make the stored workspace of ``token`` equal ``snapshot`` (idempotent; one
        transaction: all of it is stored, or nothing)."""
        token = _checked_token(token)
        if track.source not in TRACK_SOURCES:
            raise WorkspaceStoreError(f"Unknown track source {track.source!r}.")
        selection = snapshot.selection
        with self._guarded("saved") as db:
            db.execute(
                "INSERT INTO workspaces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (token) DO UPDATE SET touched_at = excluded.touched_at, "
                "track_hash = excluded.track_hash, track_source = excluded.track_source, "
                "track_name = excluded.track_name, track_file = excluded.track_file, "
                "selection_start_s = excluded.selection_start_s, "
                "selection_duration_s = excluded.selection_duration_s, "
                "whiten = excluded.whiten, latency_offset_ms = excluded.latency_offset_ms, "
                "current_hunt = excluded.current_hunt",
                (token, self._clock(), self._clock(), track.content_hash, track.source,
                 track.name, track.file, selection.start_s if selection else None,
                 selection.duration_s if selection else None, _real(snapshot.whiten),
                 float(snapshot.latency_offset_ms), snapshot.current))
            stored = {row[0]: tuple(row[1:]) for row in db.execute(
                "SELECT name, kind, strategy, patience, whiten, query_start_s, "
                "query_duration_s FROM hunts WHERE token = ?", (token,))}
            wanted = {h.sound for h in snapshot.hunts}
            db.executemany("DELETE FROM hunts WHERE token = ? AND name = ?",
                           [(token, name) for name in stored if name not in wanted])
            for position, hunt in enumerate(snapshot.hunts):
                definition = (hunt.kind, hunt.strategy, hunt.patience, _real(hunt.whiten),
                              float(hunt.query_start_s), float(hunt.query_duration_s))
                if hunt.sound in stored and stored[hunt.sound] != definition:  # replaced
                    db.execute("DELETE FROM answers WHERE token = ? AND hunt = ?",
                               (token, hunt.sound))
                db.execute(
                    "INSERT INTO hunts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (token, name) DO UPDATE SET position = excluded.position, "
                    "kind = excluded.kind, strategy = excluded.strategy, "
                    "patience = excluded.patience, whiten = excluded.whiten, "
                    "query_start_s = excluded.query_start_s, "
                    "query_duration_s = excluded.query_duration_s, "
                    "finished = excluded.finished",
                    (token, hunt.sound, position, *definition, int(hunt.finished)))
                self._sync_answers(db, token, hunt)

    @staticmethod
    def _sync_answers(db: sqlite3.Connection, token: str, hunt: HuntSnapshot) -> None:
        """Keep the stored answers up to the first that differs; replace the rest."""
        stored = db.execute("SELECT start_frame, distance, is_match, auto, page FROM answers "
                            "WHERE token = ? AND hunt = ? ORDER BY seq",
                            (token, hunt.sound)).fetchall()
        wanted = [(int(a.start_frame), _real(a.distance), int(a.is_match), int(a.auto),
                   None if a.page is None else int(a.page)) for a in hunt.answers]
        same = 0
        while same < min(len(stored), len(wanted)) and stored[same] == wanted[same]:
            same += 1
        if same < len(stored):
            db.execute("DELETE FROM answers WHERE token = ? AND hunt = ? AND seq >= ?",
                       (token, hunt.sound, same))
        db.executemany("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(token, hunt.sound, seq, frame, is_match, auto, page, distance)
                        for seq, (frame, distance, is_match, auto, page)
                        in enumerate(wanted[same:], start=same)])

    def load(self, token: str) -> StoredWorkspace | None:
        """The stored workspace of ``token``; None when there is none, or it has expired."""
        if valid_token(token) is None:
            return None
        with self._guarded("read", write=False) as db:
            row = db.execute("SELECT * FROM workspaces WHERE token = ?", (token,)).fetchone()
            if row is None:
                return None
            hunts = db.execute(
                "SELECT name, kind, strategy, patience, whiten, query_start_s, "
                "query_duration_s, finished FROM hunts WHERE token = ? ORDER BY position",
                (token,)).fetchall()
            answers: dict[str, list[AnswerSnapshot]] = {}
            for hunt, frame, distance, is_match, auto, page in db.execute(
                    "SELECT hunt, start_frame, distance, is_match, auto, page FROM answers "
                    "WHERE token = ? ORDER BY hunt, seq", (token,)):
                answers.setdefault(hunt, []).append(AnswerSnapshot(
                    int(frame), _float(distance), bool(is_match), bool(auto),
                    None if page is None else int(page)))
        (_, created, touched, track_hash, source, name, file, sel_start, sel_duration, whiten,
         offset, current) = row
        if touched < self._clock() - WORKSPACE_TTL_DAYS * 86400.0:
            return None
        snapshot = WorkspaceSnapshot(
            Selection(float(sel_start), float(sel_duration)) if sel_start is not None
            and sel_duration is not None else None,
            None if whiten is None else float(whiten), float(offset), current,
            tuple(HuntSnapshot(h_name, kind, strategy, int(patience),
                               None if h_whiten is None else float(h_whiten), float(q_start),
                               float(q_duration), bool(finished),
                               tuple(answers.get(h_name, ())))
                  for h_name, kind, strategy, patience, h_whiten, q_start, q_duration, finished
                  in hunts))
        return StoredWorkspace(token, float(created), float(touched),
                               TrackRef(track_hash, source, name, file), snapshot)

    def delete(self, token: str) -> None:
        """Forget the workspace of ``token`` (its uploaded audio goes at the next expiry)."""
        token = _checked_token(token)
        with self._guarded("deleted") as db:
            db.execute("DELETE FROM workspaces WHERE token = ?", (token,))

    # ----- expiry and uploaded audio -----
    def expire(self) -> int:
        """Delete the workspaces untouched for :data:`WORKSPACE_TTL_DAYS` days, and uploaded
        audio that no workspace names (once :data:`ORPHAN_GRACE_S` old). Returns how many
        workspaces went."""
        now = self._clock()
        with self._guarded("expired") as db:
            gone = db.execute("DELETE FROM workspaces WHERE touched_at < ?",
                              (now - WORKSPACE_TTL_DAYS * 86400.0,)).rowcount
            used = {f for (f,) in db.execute(
                "SELECT DISTINCT track_file FROM workspaces WHERE track_file IS NOT NULL")}
        if self.uploads.is_dir():
            for path in self.uploads.iterdir():
                with contextlib.suppress(OSError):
                    if (_UPLOAD_FILE.fullmatch(path.name) and path.name not in used
                            and path.stat().st_mtime < now - ORPHAN_GRACE_S):
                        path.unlink()
        return gone

    def expire_if_due(self) -> int:
        """:meth:`expire` on the first call, then at most every :data:`EXPIRY_EVERY_S`."""
        if self._expired_at is not None and self._clock() - self._expired_at < EXPIRY_EVERY_S:
            return 0
        self._expired_at = self._clock()
        return self.expire()

    def keep_upload(self, data: bytes, content_hash: str, suffix: str) -> str:
        """Keep an uploaded file's bytes as ``uploads/<content_hash>.<suffix>`` (once per
        content; a suffix other than 1–8 letters or digits becomes ``bin``); returns that file
        name, what :class:`TrackRef` stores.

        Raises:
            WorkspaceStoreError: a malformed hash, a file over
                :data:`MAX_UPLOAD_BYTES`, or the folder cannot be written.
        """
        if not isinstance(content_hash, str) or not _CONTENT_HASH.fullmatch(content_hash):
            raise WorkspaceStoreError("An upload is kept under its content hash (sha256).")
        suffix = str(suffix).lower().lstrip(".")
        name = f"{content_hash}.{suffix if _SUFFIX.fullmatch(suffix) else 'bin'}"
        if len(data) > MAX_UPLOAD_BYTES:
            raise WorkspaceStoreError(
                f"The upload is {len(data) / 2**20:.0f} MiB; at most "
                f"{MAX_UPLOAD_BYTES // 2**20} MiB is kept for resuming.")
        path = self.uploads / name
        try:
            self.uploads.mkdir(parents=True, exist_ok=True)
            if not (path.is_file() and path.stat().st_size == len(data)):
                partial = path.with_name(f".{name}.{secrets.token_hex(4)}.part")
                partial.write_bytes(data)
                partial.replace(path)
            now = self._clock()
            os.utime(path, (now, now))  # on the store's clock: the orphan grace starts now
        except OSError as error:
            raise WorkspaceStoreError(
                f"The upload could not be kept for resuming: {error}.") from error
        return name

    def upload_bytes(self, file: str | None) -> bytes:
        """The bytes of a kept upload.

        Raises:
            WorkspaceStoreError: the name is malformed or the file is gone.
        """
        if not isinstance(file, str) or not _UPLOAD_FILE.fullmatch(file):
            raise WorkspaceStoreError("The saved workspace names no uploaded file.")
        try:
            return (self.uploads / file).read_bytes()
        except OSError as error:
            raise WorkspaceStoreError(
                "The uploaded track of the saved workspace is no longer kept.") from error
