"""The workspaces database as a file: opened, checked, kept whole, and never thrown away.

:class:`StoreFile` owns the one SQLite connection of a
:class:`~loopfind_core.interactive.workspace_store.WorkspaceStore` and what can happen to the
file under it:

- **busy** (another connection holds the write lock past the busy timeout) is not damage: the
  operation fails with :class:`StoreBusyError` and the file is left exactly as it is;
- a **newer schema** (written by a newer Loopfind) is opened read-only (:attr:`read_only`);
- **damage** (``PRAGMA quick_check`` at open, or "malformed" from any statement) is copied
  aside (``workspaces.sqlite.damaged-<time>``, with its ``-wal``: never deleted), the readable
  rows are salvaged into a fresh file that takes its place, and :attr:`generation` rises;
- a file **deleted, truncated or replaced** while the server runs (its inode or device
  changed, or it shrank below the size last seen: SQLite never shrinks a file without VACUUM)
  is noticed before the next transaction and reopened; :attr:`generation` rises, so sessions
  write their in-memory state again;
- every write is followed by a passive **WAL checkpoint**, and :meth:`close` checkpoints with
  TRUNCATE: ``workspaces.sqlite`` itself holds every answer, so a lost ``-wal`` loses none
  and a copy of the file is a backup.

Messages (:attr:`problem`, the errors' text) are in users' words: no server path, no errno.
The details go to the log.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from loopfind_core.base.errors import LoopfindError

log = logging.getLogger(__name__)

EMPTIED_AFTER_S = 5.0  # a 0-byte file older than this was emptied, not being created now
WAL_SUFFIXES = ("-wal", "-shm")


class WorkspaceStoreError(LoopfindError):
    """Saved hunts cannot be read or written right now (the message says why, in users'
    words)."""


class StoreBusyError(WorkspaceStoreError):
    """Another connection held the database's lock for longer than the busy timeout."""


class StoreReadOnlyError(WorkspaceStoreError):
    """The database is open read-only (a newer Loopfind wrote it): nothing is saved."""


class StoreDamagedError(WorkspaceStoreError):
    """The database file is damaged (internally: it is then copied aside and rebuilt)."""


BUSY_WORDS = ("locked", "busy")
FULL_WORDS = ("disk is full", "disk i/o error", "readonly database", "unable to open",
              "out of memory")
DAMAGE_WORDS = ("malformed", "not a database", "file is encrypted", "corrupt")


def user_error(error: BaseException, doing: str) -> WorkspaceStoreError:
    """``error`` (sqlite3 or OS) as a :class:`WorkspaceStoreError` saying, in users' words,
    that saved hunts could not be ``doing`` and why; the details go to the log."""
    text = str(error).lower()
    log.warning("workspaces could not be %s: %r", doing, error)
    if any(word in text for word in BUSY_WORDS):
        return StoreBusyError(f"Saved hunts could not be {doing}: another process is using "
                              "them. It will be tried again with your next change.")
    if any(word in text for word in DAMAGE_WORDS):
        return StoreDamagedError(f"Saved hunts could not be {doing}: the file that keeps them "
                                 "is damaged.")
    if isinstance(error, OSError) or any(word in text for word in FULL_WORDS):
        return WorkspaceStoreError(
            f"Saved hunts could not be {doing}: the server cannot write to its disk (it may "
            "be full). Keep this tab open: your work is kept here and saved once there is "
            "room.")
    return WorkspaceStoreError(f"Saved hunts could not be {doing}.")


class StoreFile:
    """The SQLite file at ``path`` and its connection (WAL, ``synchronous=NORMAL``,
    ``busy_timeout_s`` seconds of waiting for a lock).

    ``prepare(connection, read_only)`` makes or migrates the schema in a write transaction
    and returns whether the schema is newer than this code's (then the file is reopened
    read-only); ``salvage(old, new)`` copies the readable rows of a damaged file into a fresh
    one (both connections open, ``new`` prepared).

    Raises:
        StoreBusyError: the file is locked past the busy timeout (it is left alone).
        WorkspaceStoreError: the folder cannot be written.
    """

    def __init__(self, path: Path, prepare: Callable[[sqlite3.Connection], bool],
                 salvage: Callable[[sqlite3.Connection, sqlite3.Connection], str],
                 busy_timeout_s: float) -> None:
        self.path = path
        self._prepare = prepare
        self._salvage = salvage
        self.busy_timeout_s = busy_timeout_s
        self.lock = threading.RLock()
        self.read_only = False
        self.generation = 0  # rises whenever the file under the server was replaced
        self.problem: str | None = None  # what happened to the saved hunts, for the users
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file open
        self._size = 0  # bytes of the file when last seen
        self.db: sqlite3.Connection | None = None
        with self.lock:
            self._open_checked()

    # ----- opening -----
    def _connect(self, read_only: bool = False) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            target = f"file:{self.path}?mode=ro" if read_only else str(self.path)
            db = sqlite3.connect(target, uri=read_only, timeout=self.busy_timeout_s,
                                 isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as error:
            raise user_error(error, "kept") from error
        return db

    def _open_checked(self) -> None:
        """Open the file; note an emptied one; rebuild a damaged one; read-only if newer."""
        emptied = self._emptied_file()
        try:
            self._open()
        except StoreDamagedError:
            self._rebuild_damaged()
        if emptied:
            self._note("The file of saved hunts was found empty: hunts saved before that are "
                       "gone. New work is saved again.")

    def _emptied_file(self) -> bool:
        """A 0-byte file that is not being created right now: someone emptied it."""
        try:
            stat = self.path.stat()
        except OSError:
            return False
        return stat.st_size == 0 and stat.st_mtime < time.time() - EMPTIED_AFTER_S

    def _open(self) -> None:
        db = self._connect()
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            check = db.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                raise sqlite3.DatabaseError(f"database disk image is malformed: {check[:3]}")
            db.execute("BEGIN IMMEDIATE")
            try:
                newer = self._prepare(db)
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as error:
            db.close()
            raise user_error(error, "opened") from error
        except BaseException:
            db.close()
            raise
        if newer:
            db.close()
            db = self._connect(read_only=True)
            self.read_only = True
            self._note("Saved hunts were written by a newer version of Loopfind: they can be "
                       "resumed here, but nothing new is saved until the server is updated.")
        self.db = db
        self._remember_file()

    def _remember_file(self) -> None:
        with contextlib.suppress(OSError):
            stat = self.path.stat()
            self._identity, self._size = (stat.st_dev, stat.st_ino), stat.st_size

    def _note(self, message: str) -> None:
        self.problem = message
        log.warning("workspaces: %s", message)

    # ----- damage -----
    def _rebuild_damaged(self) -> None:
        """Copy the damaged file (and its WAL) aside, salvage what reads into a fresh file,
        and put that in its place."""
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            self.db = None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        fresh = self.path.with_name(f"{self.path.name}.rebuilding-{stamp}")
        try:
            shutil.copy2(self.path, aside)
            for suffix in WAL_SUFFIXES:
                sidecar = self.path.with_name(self.path.name + suffix)
                if sidecar.exists():
                    shutil.copy2(sidecar, aside.with_name(aside.name + suffix))
            fresh.unlink(missing_ok=True)
        except OSError as error:
            raise user_error(error, "repaired") from error
        recovered = self._salvage_into(fresh)
        try:
            for suffix in WAL_SUFFIXES:  # they belong to the damaged file, copied aside
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            fresh.replace(self.path)
        except OSError as error:
            raise user_error(error, "repaired") from error
        self._open()
        self.generation += 1
        self._note("The file of saved hunts was damaged. A copy is kept for the server's "
                   f"operator; {recovered} Open tabs keep their work and save it again.")

    def _salvage_into(self, fresh: Path) -> str:
        new = sqlite3.connect(fresh, isolation_level=None)
        try:
            new.execute("BEGIN IMMEDIATE")
            self._prepare(new)
            try:
                old = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
                try:
                    recovered = self._salvage(old, new)
                finally:
                    old.close()
            except sqlite3.Error as error:
                log.warning("nothing could be salvaged: %r", error)
                recovered = "nothing else could be read from it."
            new.execute("COMMIT")
        finally:
            new.close()
        return recovered

    # ----- every transaction -----
    def _vanished(self) -> str | None:
        """What happened to the file since it was opened (deleted, replaced, truncated)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return "deleted"
        except OSError:
            return None
        if self._identity is not None and (stat.st_dev, stat.st_ino) != self._identity:
            return "replaced"
        if stat.st_size < self._size:
            return "truncated"
        return None

    def _reopen_if_vanished(self) -> None:
        what = self._vanished()
        if what is None:
            return
        log.warning("workspaces database %s while the server ran: reopening", what)
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            self.db = None
        if what == "truncated":  # what is left of it is not a database: keep it, start anew
            self._rebuild_damaged()
        else:
            self._open_checked()
            self.generation += 1
        self._note(f"The file of saved hunts was {what} while the server ran: hunts open in a "
                   "tab are saved again from the tab; others saved before may be gone.")

    @contextlib.contextmanager
    def transaction(self, doing: str, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock (``BEGIN IMMEDIATE`` to write, ``BEGIN`` to read),
        after checking the file is still the one opened; a write ends with a passive
        checkpoint. Damage found on the way is copied aside and rebuilt, then reported.

        Raises:
            StoreReadOnlyError: a write on a read-only store.
            WorkspaceStoreError: (its subclasses) busy, damaged, disk full, in users' words.
        """
        with self.lock:
            if write and self.read_only:
                raise StoreReadOnlyError("Nothing new is saved: the saved hunts were written by "
                                         "a newer version of Loopfind.")
            try:
                self._reopen_if_vanished()
                db = self._connection()
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield db
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                if write:
                    self._checkpoint(db)
            except (sqlite3.Error, OSError) as error:
                problem = user_error(error, doing)
                if isinstance(problem, StoreDamagedError):
                    self._rebuild_damaged()
                raise problem from error

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        """Copy the WAL into the file (passive: never waits). The commit is durable already,
        so a failure here (a full disk) is logged and retried after the next write."""
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as error:
            log.warning("workspaces checkpoint failed (retried after the next write): %r",
                        error)
        self._remember_size()

    def _connection(self) -> sqlite3.Connection:
        if self.db is None:
            self._open_checked()
        assert self.db is not None
        return self.db

    def _remember_size(self) -> None:
        with contextlib.suppress(OSError):
            self._size = max(self._size, self.path.stat().st_size)

    def close(self) -> None:
        """Checkpoint the WAL into the file (TRUNCATE) and close: the file holds everything."""
        with self.lock:
            if self.db is None:
                return
            with contextlib.suppress(sqlite3.Error):
                if not self.read_only:
                    self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.close()
            self.db = None

