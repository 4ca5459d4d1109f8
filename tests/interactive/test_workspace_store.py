"""Workspaces kept in SQLite: a round trip replays every hunt exactly; tokens stay apart; old
workspaces expire with their uploads (faults of the file: test_store_faults.py)."""

from __future__ import annotations

import functools
import sqlite3
import threading
import time

import numpy as np
import pytest

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.beats import BeatGrid
from loopfind_core.features.registry import extract_features
from loopfind_core.interactive.workspace import Workspace
from loopfind_core.interactive.workspace_store import (
    DATABASE_NAME,
    WORKSPACE_TTL_DAYS,
    TrackRef,
    WorkspaceStore,
    WorkspaceStoreError,
    new_token,
    valid_token,
)
from testkit.audio import SR_HZ

DAY_S = 86400.0
HASH = "ab" * 32


@pytest.fixture(scope="module")
def audio(planted):
    return audio_from_samples(planted.samples, SR_HZ, "planted.wav")


@functools.cache
def _features(audio, kind: str, whiten: float | None):
    return extract_features(audio, kind, whiten=whiten)


def fresh(audio) -> Workspace:
    """A workspace of ``audio`` whose features are computed once for the whole module."""
    grid = BeatGrid(120.0, np.arange(0.0, 40.0, 0.5))
    return Workspace(audio, features=lambda kind, whiten: _features(audio, kind, whiten),
                     beats_provider=lambda: grid)


def track(audio) -> TrackRef:
    return TrackRef(audio.content_hash, "demo", audio.name)


def is_planted(planted, start_s: float) -> bool:
    return any(abs(start_s - s) < 0.3 for s in planted.sound_starts_s)


@pytest.fixture
def busy_workspace(audio, planted) -> Workspace:
    """Two hunts: one answered, auto-accepted and revised; one answered, undone and finished."""
    ws = fresh(audio)
    ws.select(planted.sound_starts_s[0], planted.sound_duration_s)
    first = ws.start_hunt("mfcc", "active", 4, sound="zap").session
    for _ in range(2):
        first.answer(is_planted(planted, first.propose().start_s))
    assert len(first.auto_accept(0.5)) == 1  # the last planted chirp, then a poor candidate
    first.revise(first.auto_accepted[0].start_frame, False)
    ws.select(planted.sound_starts_s[1], planted.sound_duration_s)
    ws.whiten = None
    second = ws.start_hunt("mel", "naive", 3).session
    for yes in (True, False, True):
        second.answer(yes)
    second.undo()
    second.finish()
    ws.set_latency_offset(-12.5)
    ws.current = "zap"
    return ws


def test_a_round_trip_replays_every_hunt_exactly(tmp_path, audio, busy_workspace):
    store = WorkspaceStore(tmp_path)
    token = new_token()
    store.save(token, track(audio), busy_workspace.snapshot())
    stored = WorkspaceStore(tmp_path).load(token)  # another process, as after a restart
    assert stored.snapshot == busy_workspace.snapshot()
    assert (stored.track, stored.n_hunts) == (track(audio), 2)
    restored = fresh(audio)
    assert restored.restore(stored.snapshot) == []
    assert restored.snapshot() == busy_workspace.snapshot()
    assert list(restored.hunts) == ["zap", "sound 2"] and restored.current == "zap"
    assert restored.events() == busy_workspace.events()
    for name, hunt in busy_workspace.hunts.items():
        again = restored.hunts[name].session
        assert again.history == hunt.session.history
        assert again.propose() == hunt.session.propose()  # the same next candidate
        assert again.finished == hunt.session.finished
        assert again.patience_left == hunt.session.patience_left
    assert restored.hunts["sound 2"].session.propose() is None  # finished stays finished
    assert restored.hunts["sound 2"].session.undo() == busy_workspace.hunts[
        "sound 2"].session.undo()  # and undo reopens it on the same candidate


def test_saving_is_an_idempotent_sync(tmp_path, audio, busy_workspace):
    store, token = WorkspaceStore(tmp_path), new_token()

    def rows() -> int:
        with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
            return db.execute("SELECT COUNT(*) FROM answers WHERE token = ?",
                              (token,)).fetchone()[0]

    store.save(token, track(audio), busy_workspace.snapshot())
    before = rows()
    store.save(token, track(audio), busy_workspace.snapshot())
    assert rows() == before == busy_workspace.snapshot().n_answers
    zap = busy_workspace.hunts["zap"].session
    zap.undo()
    zap.undo()
    store.save(token, track(audio), busy_workspace.snapshot())
    assert rows() == before - 2
    zap.answer(False)
    store.save(token, track(audio), busy_workspace.snapshot())
    assert store.load(token).snapshot == busy_workspace.snapshot()
    busy_workspace.forget("sound 2")
    busy_workspace.select(3.0, 0.5)
    busy_workspace.start_hunt("mfcc", sound="zap")  # the same name, another query: replaced
    store.save(token, track(audio), busy_workspace.snapshot())
    assert store.load(token).snapshot == busy_workspace.snapshot() and rows() == 0


def test_a_token_reads_only_its_own_workspace(tmp_path, audio, busy_workspace):
    store = WorkspaceStore(tmp_path)
    mine, theirs = new_token(), new_token()
    assert mine != theirs and valid_token(mine) == mine
    store.save(mine, track(audio), busy_workspace.snapshot())
    other = fresh(audio)
    other.select(10.0, 1.0)
    store.save(theirs, TrackRef("cd" * 32, "upload", "theirs.wav", "cd" * 32 + ".wav"),
               other.snapshot())
    assert store.load(mine).snapshot == busy_workspace.snapshot()
    assert store.load(theirs).snapshot == other.snapshot()
    assert store.load(theirs).track.name == "theirs.wav"
    assert store.load(new_token()) is None
    for bad in ["", "../" + mine, mine.upper(), mine + "0", "' OR 1=1 --", None, 42]:
        assert valid_token(bad) is None and store.load(bad) is None
        with pytest.raises(WorkspaceStoreError):
            store.save(bad, track(audio), other.snapshot())
    store.delete(theirs)
    assert store.load(theirs) is None and store.load(mine) is not None


def test_old_workspaces_expire_with_uploads_no_one_else_uses(tmp_path, audio):
    now = [time.time()]
    store = WorkspaceStore(tmp_path, clock=lambda: now[0])
    old, kept, shared = (bytes([i]) * 1000 for i in (1, 2, 3))
    old_file = store.keep_upload(old, "01" * 32, "wav")
    shared_file = store.keep_upload(shared, "03" * 32, ".FLAC")
    assert shared_file == "03" * 32 + ".flac" and store.upload_bytes(shared_file) == shared
    ws = fresh(audio).snapshot()
    tokens = [new_token() for _ in range(3)]
    store.save(tokens[0], TrackRef("01" * 32, "upload", "old.wav", old_file), ws)
    store.save(tokens[1], TrackRef("03" * 32, "upload", "shared.flac", shared_file), ws)
    now[0] += 20 * DAY_S
    store.save(tokens[2], TrackRef("03" * 32, "upload", "shared.flac", shared_file), ws)
    assert store.expire() == 0
    now[0] += (WORKSPACE_TTL_DAYS - 19) * DAY_S  # tokens 0 and 1: 31 days untouched
    assert store.load(tokens[0]) is None  # expired even before the sweep
    assert store.expire() == 2
    assert [store.load(t) is not None for t in tokens] == [False, False, True]
    assert not (store.uploads / old_file).exists()  # nobody uses it any more
    assert store.upload_bytes(shared_file) == shared  # token 2 still does
    assert kept  # (an upload kept by no workspace goes after the grace period: see below)
    orphan = store.keep_upload(kept, "02" * 32, "ogg")
    assert store.expire() == 0 and (store.uploads / orphan).exists()  # just uploaded
    now[0] += 2 * 3600.0
    assert store.expire_if_due() == 0  # the first call sweeps ...
    assert not (store.uploads / orphan).exists()
    now[0] -= 40 * DAY_S
    store.save(tokens[0], TrackRef("01" * 32, "upload", "old.wav", None), ws)  # long ago
    now[0] += 40 * DAY_S
    assert store.expire_if_due() == 0  # ... then once an hour
    now[0] += 3601.0
    assert store.expire_if_due() == 1


def test_uploads_are_only_ever_kept_under_their_hash(tmp_path):
    store = WorkspaceStore(tmp_path)
    for content_hash in ["../../etc/passwd", "AB" * 32, HASH + "/../x", None]:
        with pytest.raises(WorkspaceStoreError, match="content hash"):
            store.keep_upload(b"x", content_hash, "wav")
    for suffix, kept in [(".WAV", "wav"), ("../x", "bin"), ("", "bin"), ("mp3/../../y", "bin")]:
        assert store.keep_upload(b"x", HASH, suffix) == f"{HASH}.{kept}"
    assert sorted(p.name for p in store.uploads.iterdir()) == [HASH + ".bin", HASH + ".wav"]
    for name in [None, "../" + HASH + ".wav", HASH, "/etc/passwd"]:
        with pytest.raises(WorkspaceStoreError, match="no uploaded file"):
            store.upload_bytes(name)
    with pytest.raises(WorkspaceStoreError, match="no longer kept"):
        store.upload_bytes(HASH + ".ogg")
    assert not (tmp_path.parent / "x").exists()


def test_a_damaged_database_is_copied_aside_and_a_fresh_one_starts(tmp_path, audio):
    (tmp_path / DATABASE_NAME).write_bytes(b"this is not a database" * 100)
    store = WorkspaceStore(tmp_path)
    assert "damaged" in store.problem and str(tmp_path) not in store.problem
    kept = list(tmp_path.glob(DATABASE_NAME + ".damaged-*"))
    assert [p.read_bytes() for p in kept] == [b"this is not a database" * 100]
    token = new_token()
    store.save(token, track(audio), fresh(audio).snapshot())
    assert store.load(token) is not None
    store.close()
    assert WorkspaceStore(tmp_path).problem is None  # the fresh one opens cleanly


def test_a_missing_or_unwritable_folder_says_why(tmp_path):
    store = WorkspaceStore(tmp_path / "new" / "cache")  # made on first use
    assert store.load(new_token()) is None and store.path.is_file()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(WorkspaceStoreError, match="cannot be kept") as error:
        WorkspaceStore(blocker)
    assert str(tmp_path) not in str(error.value)


def test_concurrent_sessions_and_servers_take_turns(tmp_path, audio, busy_workspace):
    stores = [WorkspaceStore(tmp_path), WorkspaceStore(tmp_path)]  # two servers
    snapshot, errors = busy_workspace.snapshot(), []
    tokens = [new_token() for _ in range(8)]

    def work(i: int) -> None:
        try:
            for _ in range(10):
                stores[i % 2].save(tokens[i], track(audio), snapshot)
                assert stores[(i + 1) % 2].load(tokens[i]).snapshot == snapshot
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_save_after_an_answer_writes_only_that_answer(tmp_path, audio, busy_workspace):
    """What keeps a save cheap however long the hunt (timed by scripts/store_bench.py,
    docs/reliability.md): an answer changed after an undo rewrites that one answer row, an
    unchanged one none; the stored history before it is left as it is."""
    store, token = WorkspaceStore(tmp_path), new_token()
    session = busy_workspace.hunts["zap"].session
    store.save(token, track(audio), busy_workspace.snapshot())
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:  # count the store's row writes
        db.executescript("""
            CREATE TABLE answer_writes (what TEXT NOT NULL);
            CREATE TRIGGER count_inserts AFTER INSERT ON answers
                BEGIN INSERT INTO answer_writes VALUES ('insert'); END;
            CREATE TRIGGER count_deletes AFTER DELETE ON answers
                BEGIN INSERT INTO answer_writes VALUES ('delete'); END;""")

    def writes_of_a_save() -> list[str]:
        with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
            db.execute("DELETE FROM answer_writes")
        store.save(token, track(audio), busy_workspace.snapshot())
        with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
            return sorted(w for (w,) in db.execute("SELECT what FROM answer_writes"))

    assert len(session.history) >= 3 and busy_workspace.snapshot().n_answers >= 5
    last = session.history[-1].is_match
    session.undo()
    session.answer(not last)  # the last answer changed
    assert writes_of_a_save() == ["delete", "insert"]
    session.undo()
    session.answer(not last)  # the same answer again
    assert writes_of_a_save() == []
    assert writes_of_a_save() == []  # nothing changed
    assert store.load(token).snapshot == busy_workspace.snapshot()
