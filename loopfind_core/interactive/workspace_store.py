"""Workspaces kept on disk, so a hunt survives a page reload and a server restart.

``cache_dir()/workspaces.sqlite`` (stdlib ``sqlite3``, WAL, ``synchronous=NORMAL``, a busy
timeout; every write one ``BEGIN IMMEDIATE`` transaction followed by a passive checkpoint, so
the file itself holds every answer; :mod:`.store_file` handles busy, damaged, vanished and
newer files). Tables (schema version :data:`SCHEMA_VERSION`; version 1 is migrated):

- ``schema_version (version)``: one row;
- ``tokens (token PK, issued_at)``: every token this server issued (:meth:`WorkspaceStore.
  issue_token`); a token not listed is never adopted (:meth:`WorkspaceStore.is_issued`);
- ``workspaces (token PK, created_at, touched_at, track_hash, track_source, track_name,
  track_file, selection_start_s, selection_duration_s, whiten, latency_offset_ms,
  current_hunt, revision, library_hunt)``: one per browser token; the track by reference:
  ``'demo'`` (the built-in demo, checked by its content hash) or ``'upload'`` (its bytes kept
  in ``uploads/<content sha256>.<ext>``, ``track_file``); ``revision`` counts the saves;
  ``library_hunt`` is the Library page's hunt as JSON (:class:`LibraryHuntRecord`);
- ``hunts (token, name, position, kind, strategy, patience, whiten, query_start_s,
  query_duration_s, finished)``: the workspace's hunts in order;
- ``answers (token, hunt, seq, start_frame, is_match, auto, page, distance)``: one row per
  answer, in order (``seq`` from 0): replaying them rebuilds the hunt exactly
  (:meth:`~loopfind_core.interactive.workspace.Workspace.restore`).

:meth:`WorkspaceStore.save` is an idempotent sync of a
:class:`~loopfind_core.interactive.workspace.WorkspaceSnapshot` that also checks the revision:
given the revision the caller last saw, it refuses (:class:`StaleWorkspaceError`) when another
tab saved since, so a stale tab never overwrites newer answers; else it inserts the answers
not stored yet, deletes those beyond the history (an undo) or from the first one that differs
(a revision), drops forgotten hunts, and returns the new revision. A token is 128 random bits
in hex (:func:`new_token`); it is only ever a key, never a path, and every query names it, so a
token reads only its own rows. Workspaces untouched for :data:`WORKSPACE_TTL_DAYS` days are
deleted (:meth:`~WorkspaceStore.expire`), with their uploaded audio once no workspace uses it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loopfind_core.base.paths import cache_dir
from loopfind_core.interactive.store_file import (
    StoreBusyError,
    StoreFile,
    StoreReadOnlyError,
    WorkspaceStoreError,
    user_error,
)
from loopfind_core.interactive.upload_quota import UploadQuota
from loopfind_core.interactive.workspace import (
    AnswerSnapshot,
    HuntSnapshot,
    Selection,
    WorkspaceSnapshot,
)

__all__ = ["StoreBusyError", "StoreReadOnlyError", "WorkspaceStoreError", "StaleWorkspaceError",
           "WorkspaceStore", "TrackRef", "StoredWorkspace", "LibraryHuntRecord", "new_token",
           "valid_token"]

DATABASE_NAME = "workspaces.sqlite"
UPLOADS_FOLDER = "uploads"
SCHEMA_VERSION = 2
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
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, issued_at REAL NOT NULL);
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
    current_hunt TEXT,
    revision INTEGER NOT NULL DEFAULT 0,
    library_hunt TEXT
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
_MIGRATE_FROM_1 = (
    "ALTER TABLE workspaces ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE workspaces ADD COLUMN library_hunt TEXT",
    "INSERT OR IGNORE INTO tokens SELECT token, created_at FROM workspaces",
    "UPDATE schema_version SET version = 2",
)
_TABLES = {  # the columns salvaged from a damaged file, table by table
    "tokens": "token, issued_at",
    "workspaces": "token, created_at, touched_at, track_hash, track_source, track_name, "
                  "track_file, selection_start_s, selection_duration_s, whiten, "
                  "latency_offset_ms, current_hunt, revision, library_hunt",
    "hunts": "token, name, position, kind, strategy, patience, whiten, query_start_s, "
             "query_duration_s, finished",
    "answers": "token, hunt, seq, start_frame, is_match, auto, page, distance",
}


class StaleWorkspaceError(WorkspaceStoreError):
    """Another tab saved this workspace since the caller last saw it (``revision``: the
    stored one); nothing was written."""

    def __init__(self, revision: int) -> None:
        super().__init__("Another tab changed this workspace since this one last saw it.")
        self.revision = revision


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
class LibraryHuntRecord:
    """The Library page's hunt as plain data: which index, how it was started (the query is
    the workspace's track), and every answer in order (replayed on a rebuilt hunt)."""

    index_dir: str  # the library index folder, as the server names it
    shortlist_tracks: int  # 0: every track searched exactly
    patience: int
    strategy: str
    query_start_s: float  # seconds into the workspace's track
    query_duration_s: float
    finished: bool = False
    answers: tuple[AnswerSnapshot, ...] = ()

    def to_json(self) -> str:
        """One JSON object (answers as [frame, distance or null, is_match, auto, page])."""
        fields = {k: getattr(self, k) for k in ("index_dir", "shortlist_tracks", "patience",
                                                 "strategy", "query_start_s",
                                                 "query_duration_s", "finished")}
        fields["answers"] = [[a.start_frame, _real(a.distance), a.is_match, a.auto, a.page]
                             for a in self.answers]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> LibraryHuntRecord | None:
        """The record of :meth:`to_json`; None for none or for anything malformed."""
        try:
            data = json.loads(text) if text else None
            if not isinstance(data, dict):
                return None
            answers = tuple(AnswerSnapshot(int(f), _float(d), bool(m), bool(a),
                                           None if p is None else int(p))
                            for f, d, m, a, p in data["answers"])
            return cls(str(data["index_dir"]), int(data["shortlist_tracks"]),
                       int(data["patience"]), str(data["strategy"]),
                       float(data["query_start_s"]), float(data["query_duration_s"]),
                       bool(data["finished"]), answers)
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True)
class StoredWorkspace:
    """A workspace as stored: whose, since and until when, which track, the work, and the
    revision it is at (how many saves made it)."""

    token: str
    created_at: float  # seconds since the epoch
    touched_at: float
    track: TrackRef
    snapshot: WorkspaceSnapshot
    revision: int = 0
    library: LibraryHuntRecord | None = None

    @property
    def n_hunts(self) -> int:
        return len(self.snapshot.hunts) + (self.library is not None)

    @property
    def n_answers(self) -> int:
        return self.snapshot.n_answers + (len(self.library.answers) if self.library else 0)


def _real(value: float | None) -> float | None:
    """A float for SQLite: NaN (which SQLite would store as NULL anyway) as None."""
    return None if value is None or math.isnan(value) else float(value)


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _prepare(db: sqlite3.Connection) -> bool:
    """Make the schema, or migrate version 1; True (and nothing touched) when it is newer."""
    has_version = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                             "name = 'schema_version'").fetchone() is not None
    versions = ([v for (v,) in db.execute("SELECT version FROM schema_version")]
                if has_version else [])
    if versions and max(versions) > SCHEMA_VERSION:
        return True
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    if not versions:
        db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    elif versions == [1]:
        for statement in _MIGRATE_FROM_1:
            db.execute(statement)
    elif versions != [SCHEMA_VERSION]:
        raise sqlite3.DatabaseError(f"malformed schema_version {versions}")
    return False


def _salvage(old: sqlite3.Connection, new: sqlite3.Connection) -> str:
    """Copy every row of ``old`` (a damaged file) that still reads into ``new``; says how many
    workspaces came back."""
    for table, columns in _TABLES.items():
        cursor = None
        with contextlib.suppress(sqlite3.Error):  # a damaged table keeps the rows read before
            cursor = old.execute(f"SELECT {columns} FROM {table}")  # noqa: S608 — fixed names
            marks = ", ".join("?" * len(columns.split(",")))
            for row in cursor:
                new.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", row)
    (count,) = new.execute("SELECT COUNT(*) FROM workspaces").fetchone()
    return f"{count} saved workspace{'s' * (count != 1)} could be read back from it."


class WorkspaceStore:
    """The workspaces database in ``folder`` (default: the cache folder).

    One connection per store (:class:`~loopfind_core.interactive.store_file.StoreFile`),
    shared by a server's sessions (threads) under a lock; other processes on the same folder
    wait on SQLite's lock for ``busy_timeout_s`` seconds. :attr:`problem` says, in users'
    words, what happened to the file (moved aside, read-only, recreated); :attr:`generation`
    rises whenever the file under the server was replaced, so sessions write their work again.

    Raises:
        StoreBusyError: another connection holds the file's lock (the file is left alone).
        WorkspaceStoreError: the folder cannot be written.
    """

    def __init__(self, folder: Path | None = None, *,
                 clock: Callable[[], float] = time.time,
                 busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.path = self.folder / DATABASE_NAME
        self.uploads = self.folder / UPLOADS_FOLDER
        self._clock = clock
        self._expired_at: float | None = None
        self._quota = UploadQuota(self.uploads, clock=clock)
        if self.folder.exists() and not self.folder.is_dir():
            raise WorkspaceStoreError("Saved hunts cannot be kept: the server's cache folder "
                                      "is not a folder.")
        self._file = StoreFile(self.path, _prepare, _salvage, busy_timeout_s)

    @property
    def read_only(self) -> bool:
        return self._file.read_only

    @property
    def generation(self) -> int:
        return self._file.generation

    @property
    def problem(self) -> str | None:
        return self._file.problem

    def close(self) -> None:
        """Checkpoint everything into the file and close it (a clean shutdown)."""
        self._file.close()

    def _guarded(self, doing: str, write: bool = True):
        return self._file.transaction(doing, write)

    # ----- tokens -----
    def issue_token(self) -> str:
        """A new token, registered as issued by this server (unregistered when the store
        cannot be written now: then its first save registers it)."""
        token = new_token()
        with contextlib.suppress(WorkspaceStoreError), self._guarded("kept") as db:
            db.execute("INSERT OR IGNORE INTO tokens VALUES (?, ?)", (token, self._clock()))
        return token

    def is_issued(self, token: object) -> bool:
        """Whether ``token`` is well formed and was issued here (never adopt a chosen one)."""
        if valid_token(token) is None:
            return False
        with self._guarded("read", write=False) as db:
            return db.execute("SELECT 1 FROM tokens WHERE token = ?",
                              (token,)).fetchone() is not None

    # ----- one workspace -----
    def save(self, token: str, track: TrackRef, snapshot: WorkspaceSnapshot, *,
             revision: int | None = None, library: LibraryHuntRecord | None = None) -> int:
        """Make the stored workspace of ``token`` equal ``snapshot`` and ``library``
        (idempotent; one transaction: all of it is stored, or nothing) and register the token.
        ``revision``: the revision the caller last saw (0: none yet; None: overwrite
        whatever is stored). Returns the new revision.

        Raises:
            StaleWorkspaceError: another tab saved a newer revision; nothing was written.
            WorkspaceStoreError: it could not be written (busy, read-only, disk full).
        """
        token = _checked_token(token)
        if track.source not in TRACK_SOURCES:
            raise WorkspaceStoreError(f"Unknown track source {track.source!r}.")
        selection = snapshot.selection
        with self._guarded("saved") as db:
            row = db.execute("SELECT revision FROM workspaces WHERE token = ?",
                             (token,)).fetchone()
            stored_revision = int(row[0]) if row is not None else 0
            if row is not None and revision is not None and stored_revision != revision:
                raise StaleWorkspaceError(stored_revision)
            new_revision = max(stored_revision, revision or 0) + 1
            db.execute("INSERT OR IGNORE INTO tokens VALUES (?, ?)", (token, self._clock()))
            db.execute(
                "INSERT INTO workspaces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (token) DO UPDATE SET touched_at = excluded.touched_at, "
                "track_hash = excluded.track_hash, track_source = excluded.track_source, "
                "track_name = excluded.track_name, track_file = excluded.track_file, "
                "selection_start_s = excluded.selection_start_s, "
                "selection_duration_s = excluded.selection_duration_s, "
                "whiten = excluded.whiten, latency_offset_ms = excluded.latency_offset_ms, "
                "current_hunt = excluded.current_hunt, revision = excluded.revision, "
                "library_hunt = excluded.library_hunt",
                (token, self._clock(), self._clock(), track.content_hash, track.source,
                 track.name, track.file, selection.start_s if selection else None,
                 selection.duration_s if selection else None, _real(snapshot.whiten),
                 float(snapshot.latency_offset_ms), snapshot.current, new_revision,
                 library.to_json() if library is not None else None))
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
        return new_revision

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
            row = db.execute(f"SELECT {_TABLES['workspaces']} FROM workspaces "  # noqa: S608
                             "WHERE token = ?", (token,)).fetchone()
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
         offset, current, revision, library) = row
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
                               TrackRef(track_hash, source, name, file), snapshot,
                               int(revision), LibraryHuntRecord.from_json(library))

    def revision(self, token: str) -> int:
        """The stored revision of ``token``'s workspace (0: none stored)."""
        if valid_token(token) is None:
            return 0
        with self._guarded("read", write=False) as db:
            row = db.execute("SELECT revision FROM workspaces WHERE token = ?",
                             (token,)).fetchone()
        return 0 if row is None else int(row[0])

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
            db.execute("DELETE FROM tokens WHERE issued_at < ? AND token NOT IN "
                       "(SELECT token FROM workspaces)", (now - WORKSPACE_TTL_DAYS * 86400.0,))
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

    def keep_upload(self, data: bytes, content_hash: str, suffix: str,
                    token: str | None = None) -> str:
        """Keep an uploaded file's bytes as ``uploads/<content_hash>.<suffix>`` (once per
        content; a suffix other than 1–8 letters or digits becomes ``bin``); returns that file
        name, what :class:`TrackRef` stores.

        With ``token`` (the workspace it is for), the quotas apply (:mod:`.upload_quota`):
        that workspace's earlier uploads no workspace names any more are deleted first, and
        what it keeps must stay within its quota, and all uploads within the server's.

        Raises:
            WorkspaceStoreError: a malformed hash, a file over :data:`MAX_UPLOAD_BYTES`, a
                quota exceeded (:class:`~.upload_quota.UploadQuotaError`), or the folder
                cannot be written (nothing half-written is left).
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
        if token is not None:
            self._quota.make_room(_checked_token(token), name, len(data), self._named_uploads)
        partial = path.with_name(f".{name}.{secrets.token_hex(4)}.part")
        try:
            self.uploads.mkdir(parents=True, exist_ok=True)
            if not (path.is_file() and path.stat().st_size == len(data)):
                partial.write_bytes(data)
                partial.replace(path)
            now = self._clock()
            os.utime(path, (now, now))  # on the store's clock: the orphan grace starts now
        except OSError as error:
            partial.unlink(missing_ok=True)  # never leave a half-written upload behind
            raise WorkspaceStoreError(
                "The upload could not be kept for resuming: the server cannot write to its "
                "disk (it may be full).") from user_error(error, "kept")
        if token is not None:
            self._quota.kept(token, name)
        return name

    def _named_uploads(self, other_than: str | None = None) -> set[str]:
        """The upload files some workspace (other than token ``other_than``) names."""
        with self._guarded("read", write=False) as db:
            return {f for (f,) in db.execute(
                "SELECT DISTINCT track_file FROM workspaces WHERE track_file IS NOT NULL "
                "AND token IS NOT ?", (other_than,))}

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
