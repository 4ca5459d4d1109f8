"""The workspaces store under faults: two tabs, a busy file, a newer schema, a lost WAL, damage,
a file deleted, truncated or replaced under the server, a full disk, chosen tokens. In each
case no answer given is lost silently (docs/reliability.md, "A store that keeps every
answer")."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loopfind_core.interactive.workspace import (
    AnswerSnapshot,
    HuntSnapshot,
    Selection,
    WorkspaceSnapshot,
)
from loopfind_core.interactive.workspace_store import (
    DATABASE_NAME,
    LibraryHuntRecord,
    StaleWorkspaceError,
    StoreBusyError,
    StoreReadOnlyError,
    TrackRef,
    WorkspaceStore,
    WorkspaceStoreError,
    new_token,
)

TRACK = TrackRef("ab" * 32, "demo", "demo.wav")
REPO = Path(__file__).resolve().parents[2]


def snapshot(n_answers: int, sound: str = "sound 1") -> WorkspaceSnapshot:
    """A workspace with one hunt of ``n_answers`` answers (yes, no, yes, …)."""
    answers = tuple(AnswerSnapshot(100 * (i + 1), 0.5 + i, i % 2 == 0) for i in range(n_answers))
    hunt = HuntSnapshot(sound, "mel", "active", 5, None, 1.0, 0.5, False, answers)
    return WorkspaceSnapshot(Selection(1.0, 0.5), None, 0.0, sound, (hunt,))


def answers_of(store: WorkspaceStore, token: str) -> int:
    stored = store.load(token)
    return 0 if stored is None else stored.n_answers


def test_a_stale_tab_cannot_overwrite_newer_answers(tmp_path):
    store, token = WorkspaceStore(tmp_path), new_token()
    first = store.save(token, TRACK, snapshot(1), revision=0)
    tab1 = tab2 = first
    tab1 = store.save(token, TRACK, snapshot(2), revision=tab1)  # tab 1 answers
    with pytest.raises(StaleWorkspaceError) as stale:  # tab 2 answers on what it saw
        store.save(token, TRACK, snapshot(2, "other"), revision=tab2)
    assert stale.value.revision == tab1 and answers_of(store, token) == 2
    stored = store.load(token)  # tab 2 is shown the newest state, then goes on from it
    assert stored.revision == tab1 and stored.snapshot == snapshot(2)
    store.save(token, TRACK, snapshot(3), revision=stored.revision)
    assert answers_of(store, token) == 3


def test_busy_is_not_damage(tmp_path):
    store, token = WorkspaceStore(tmp_path, busy_timeout_s=0.2), new_token()
    store.save(token, TRACK, snapshot(2))
    inode = (tmp_path / DATABASE_NAME).stat().st_ino
    holder = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreBusyError, match="another process"):
            WorkspaceStore(tmp_path, busy_timeout_s=0.2)
        with pytest.raises(StoreBusyError):
            store.save(token, TRACK, snapshot(3))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (tmp_path / DATABASE_NAME).stat().st_ino == inode  # never moved aside
    assert list(tmp_path.glob(DATABASE_NAME + ".*")) == []
    store.save(token, TRACK, snapshot(3))  # the retry keeps everything
    assert answers_of(store, token) == 3


def test_a_newer_schema_is_opened_read_only(tmp_path):
    token = new_token()
    old = WorkspaceStore(tmp_path)
    old.save(token, TRACK, snapshot(2))
    old.close()
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
        db.execute("UPDATE schema_version SET version = 99")
    store = WorkspaceStore(tmp_path)
    assert store.read_only and "newer version" in store.problem
    assert answers_of(store, token) == 2  # still resumable
    with pytest.raises(StoreReadOnlyError, match="newer version"):
        store.save(token, TRACK, snapshot(3))
    store.close()
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(99,)]
    assert list(tmp_path.glob(DATABASE_NAME + ".*")) == []


def test_the_file_itself_holds_every_answer(tmp_path):
    store, token = WorkspaceStore(tmp_path), new_token()
    store.save(token, TRACK, snapshot(4))
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy2(tmp_path / DATABASE_NAME, backup / DATABASE_NAME)  # the file alone
    (tmp_path / (DATABASE_NAME + "-wal")).unlink()  # and the WAL lost
    assert answers_of(WorkspaceStore(backup), token) == 4
    assert answers_of(WorkspaceStore(tmp_path), token) == 4
    store.close()  # a clean close leaves nothing in the WAL
    wal = tmp_path / (DATABASE_NAME + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def damage_a_middle_page(path: Path, every_page: bool = False) -> None:
    """Overwrite the b-tree header of a page in the middle of an SQLite file (or of every
    page after the first)."""
    size = path.stat().st_size
    with sqlite3.connect(path) as db:
        page = db.execute("PRAGMA page_size").fetchone()[0]
    pages = range(1, size // page) if every_page else [(size // page) // 2]
    with path.open("r+b") as file:
        for number in pages:
            file.seek(number * page)
            file.write(b"\x0d\xff\xff\xff\xff\xff\xff\xff" * 16)


def many_workspaces(store: WorkspaceStore, n: int = 60) -> list[str]:
    tokens = [new_token() for _ in range(n)]
    for token in tokens:
        store.save(token, TRACK, snapshot(12))
    return tokens


def test_damage_is_found_and_the_damaged_file_kept(tmp_path):
    store = WorkspaceStore(tmp_path)
    tokens = many_workspaces(store)
    store.close()
    damage_a_middle_page(tmp_path / DATABASE_NAME)
    damaged = (tmp_path / DATABASE_NAME).read_bytes()
    reopened = WorkspaceStore(tmp_path)
    assert "damaged" in reopened.problem and "could be read back" in reopened.problem
    assert str(tmp_path) not in reopened.problem
    kept = list(tmp_path.glob(DATABASE_NAME + ".damaged-*"))
    assert [p.read_bytes() for p in kept if not p.name.endswith(("-wal", "-shm"))] == [damaged]
    back = sum(answers_of(reopened, t) == 12 for t in tokens)
    assert 0 < back <= len(tokens)
    reopened.save(tokens[0], TRACK, snapshot(13))  # saving goes on
    assert answers_of(reopened, tokens[0]) == 13


def test_damage_while_running_is_rebuilt_and_saving_goes_on(tmp_path):
    store = WorkspaceStore(tmp_path)
    tokens = many_workspaces(store)
    store._file.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage_a_middle_page(tmp_path / DATABASE_NAME, every_page=True)
    store._file.db.execute("PRAGMA shrink_memory")  # its pages leave the cache, as they do
    generation = store.generation
    with pytest.raises(WorkspaceStoreError, match="damaged") as error:
        store.save(tokens[0], TRACK, snapshot(13))
    assert str(tmp_path) not in str(error.value)
    assert store.generation == generation + 1 and "damaged" in store.problem
    store.save(tokens[0], TRACK, snapshot(14))  # the tab saves its work again
    assert answers_of(store, tokens[0]) == 14
    assert list(tmp_path.glob(DATABASE_NAME + ".damaged-*"))


@pytest.mark.parametrize("fault", ["deleted", "truncated", "replaced"])
def test_a_file_vanishing_under_the_server_is_noticed(tmp_path, fault):
    store, token = WorkspaceStore(tmp_path), new_token()
    store.save(token, TRACK, snapshot(3), revision=0)
    path = tmp_path / DATABASE_NAME
    if fault == "deleted":
        path.unlink()
    elif fault == "truncated":
        os.truncate(path, 0)
    else:
        other = tmp_path / "other"
        WorkspaceStore(other).close()
        os.replace(other / DATABASE_NAME, path)
    generation = store.generation
    store.load(token)  # noticed at the next transaction
    assert store.generation == generation + 1 and fault in store.problem
    store.save(token, TRACK, snapshot(4), revision=1)  # the tab writes its state again
    store.close()
    assert answers_of(WorkspaceStore(tmp_path), token) == 4


def test_an_emptied_file_is_said_not_taken_for_a_new_one(tmp_path):
    (tmp_path / DATABASE_NAME).write_bytes(b"")
    os.utime(tmp_path / DATABASE_NAME, (1e9, 1e9))  # emptied long ago, not being created now
    store = WorkspaceStore(tmp_path)
    assert "found empty" in store.problem


def test_a_full_disk_loses_nothing_saved_and_says_so_plainly(tmp_path):
    script = textwrap.dedent(f"""
        import json, resource, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from tests.interactive.test_store_faults import TRACK, snapshot, answers_of
        from loopfind_core.interactive.workspace_store import WorkspaceStore, \\
            WorkspaceStoreError, new_token
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
        folder = Path({str(tmp_path)!r})
        store, token = WorkspaceStore(folder), new_token()
        store.save(token, TRACK, snapshot(3))
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        largest = max(p.stat().st_size for p in folder.iterdir())
        resource.setrlimit(resource.RLIMIT_FSIZE, (largest, hard))
        try:
            store.save(token, TRACK, snapshot(4000))
            message = None
        except WorkspaceStoreError as error:
            message = str(error)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        after_error = answers_of(store, token)
        store.save(token, TRACK, snapshot(4000))  # room again: the retry saves everything
        print(json.dumps([message, after_error, answers_of(store, token)]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    message, after_error, after_retry = json.loads(result.stdout.strip().splitlines()[-1])
    assert message is not None and "cannot write to its disk" in message
    assert str(tmp_path) not in message and "Errno" not in message
    assert (after_error, after_retry) == (3, 4000)


def test_an_upload_on_a_full_disk_says_so_without_errno(tmp_path, monkeypatch):
    store = WorkspaceStore(tmp_path)

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(WorkspaceStoreError) as error:
        store.keep_upload(b"RIFF", "cd" * 32, "wav")
    assert "disk" in str(error.value) and "Errno" not in str(error.value)
    assert str(tmp_path) not in str(error.value)


def test_only_issued_tokens_are_adopted(tmp_path):
    store = WorkspaceStore(tmp_path)
    issued = store.issue_token()
    assert store.is_issued(issued)
    assert not store.is_issued("0" * 32) and not store.is_issued(new_token())
    assert not store.is_issued("../../etc/passwd")
    saved = new_token()  # a token whose workspace was saved is registered by the save
    store.save(saved, TRACK, snapshot(1))
    assert store.is_issued(saved)


def test_version_1_is_migrated_with_its_tokens(tmp_path):
    token = new_token()
    store = WorkspaceStore(tmp_path)
    store.save(token, TRACK, snapshot(2))
    store.close()
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:  # back to how version 1 looked
        db.execute("DELETE FROM tokens")
        db.execute("ALTER TABLE workspaces DROP COLUMN library_hunt")
        db.execute("ALTER TABLE workspaces DROP COLUMN revision")
        db.execute("UPDATE schema_version SET version = 1")
    store = WorkspaceStore(tmp_path)
    assert store.problem is None and store.is_issued(token) and answers_of(store, token) == 2


def test_a_library_hunt_round_trips(tmp_path):
    store, token = WorkspaceStore(tmp_path), new_token()
    record = LibraryHuntRecord("/srv/index", 8, 5, "active", 12.5, 1.25, False,
                               (AnswerSnapshot(40, 0.25, True), AnswerSnapshot(90, 0.75, False,
                                                                              True, 2)))
    store.save(token, TRACK, WorkspaceSnapshot(Selection(12.5, 1.25)), library=record)
    stored = store.load(token)
    assert stored.library == record and stored.n_answers == 2 and stored.n_hunts == 1
    assert LibraryHuntRecord.from_json("{not json") is None
