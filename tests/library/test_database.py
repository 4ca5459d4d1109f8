"""The index database: its schema, relative paths (an index folder can move), the migration
of an index of the first layout (index.json), and two indexers at once."""

from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
import sqlite3

import numpy as np
import pytest

from loopfind_core.base.errors import LoopfindError
from loopfind_core.library import manifest
from loopfind_core.library.hunt import hunt_library, open_library
from loopfind_core.library.manifest import read_index_manifest, track_audio_path
from loopfind_core.library.store import build_index
from loopfind_core.library.vector_index import vectors_are_current
from tests.library.conftest import index_contents, write_short_tracks


@pytest.mark.slow
def test_the_index_is_a_sqlite_database_with_relative_paths(short_music, tmp_path):
    out = tmp_path / "index"
    report = build_index(short_music, out, kind="mfcc", jobs=1)
    assert (report.added, report.unchanged, report.removed) == (4, 0, 0)
    connection = sqlite3.connect(out / "index.sqlite")
    assert connection.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    rows = connection.execute("SELECT id, path, frames, duration_s, added_at FROM tracks "
                              "ORDER BY id").fetchall()
    assert [r[1] for r in rows] == ["sub/t2.wav", "sub/t3.wav", "t0.wav", "t1.wav"]  # path order
    assert [r[0] for r in rows] == [1, 2, 3, 4] and all(r[3] == pytest.approx(4.0) for r in rows)
    assert all(r[4].endswith("+00:00") for r in rows)  # added_at, UTC
    settings = {k: json.loads(v) for k, v in connection.execute("SELECT * FROM settings")}
    assert settings["folder"] == "../music" and settings["kind"] == "mfcc"
    assert settings["vectors_file"] == "vectors-1.faiss"
    connection.close()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("index.sqlite-")) == [
        "features", "index.lock", "index.sqlite", "vectors-1.faiss"]

    # the index and the music move together: found through the relative path
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(short_music, moved / "music")
    shutil.move(out, moved / "index")
    assert track_audio_path(moved / "index", "sub/t2.wav") == moved / "music" / "sub" / "t2.wav"
    assert len(open_library(moved / "index").tracks) == 4
    assert hunt_library(moved / "index", "t0.wav", 1.0, 0.5, shortlist_tracks=2).shortlist
    # the index moves alone: found through the absolute path it also keeps
    write_short_tracks(short_music, 4)
    shutil.move(moved / "index", tmp_path / "elsewhere")
    assert track_audio_path(tmp_path / "elsewhere", "t1.wav") == (short_music / "t1.wav")
    with pytest.raises(LoopfindError, match="does not know where"):
        track_audio_path(tmp_path / "elsewhere", "nowhere.wav")


def write_legacy_index(folder, out, kind="mfcc", whiten=0.3):
    """An index as the first layout wrote it: index.json (version 1), features/<hash>.npy and
    vectors.faiss + vectors.json (sequential ids)."""
    from threadpoolctl import threadpool_limits

    from loopfind_core.base.audio import audio_files, load_audio
    from loopfind_core.features.registry import extract_features

    (out / "features").mkdir(parents=True)
    tracks = {}
    for path in audio_files([folder]):
        audio = load_audio(path)
        with threadpool_limits(1):  # as the index workers compute: the same bits
            values = extract_features(audio, kind, whiten=whiten).values.astype(np.float16)
        np.save(out / "features" / f"{audio.content_hash}.npy", values)
        stat = path.stat()
        tracks[path.relative_to(folder).as_posix()] = {
            "hash": audio.content_hash, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "frames": len(values), "duration_s": round(audio.duration_s, 3)}
    manifest_json = {"version": 1, "kind": kind, "whiten": whiten,
                     "folder": str(folder.resolve()), "tracks": tracks}
    (out / "index.json").write_text(json.dumps(manifest_json, indent=1, sort_keys=True))
    (out / "vectors.faiss").write_bytes(b"an old faiss index")
    (out / "vectors.json").write_text(json.dumps({"block_frames": 8, "factory": "Flat",
                                                  "tracks": []}))


@pytest.mark.slow
def test_an_index_of_the_first_layout_is_migrated_on_open(short_music, tmp_path, caplog):
    out = tmp_path / "old-index"
    write_legacy_index(short_music, out)
    with caplog.at_level(logging.WARNING, logger="loopfind_core.library.manifest"):
        read = read_index_manifest(out)
    assert "migrated index.json" in caplog.text and "4 tracks" in caplog.text
    assert "rebuilt its vector index" in caplog.text
    assert sorted(read["tracks"]) == ["sub/t2.wav", "sub/t3.wav", "t0.wav", "t1.wav"]
    assert (read["kind"], read["whiten"]) == ("mfcc", 0.3)
    assert (out / "index.json.migrated").is_file() and not (out / "index.json").exists()
    assert not (out / "vectors.faiss").exists() and not (out / "vectors.json").exists()
    assert vectors_are_current(out)
    assert hunt_library(out, "t0.wav", 1.0, 0.5, shortlist_tracks=2).library.tracks
    caplog.clear()
    again = build_index(short_music, out, kind="mfcc")  # nothing to extract again
    assert (again.added, again.unchanged, again.vectors) == (0, 4, None)
    assert "migrated" not in caplog.text

    # migrated, it holds what a fresh index of the folder holds (ids, rows, features, vectors)
    fresh = build_index(short_music, tmp_path / "fresh", kind="mfcc", jobs=1)
    assert fresh.added == 4
    assert index_contents(out) == index_contents(tmp_path / "fresh") | {
        "settings": index_contents(out)["settings"]}
    assert json.loads(index_contents(out)["settings"]["migrated_from"]) == "index.json"


def test_an_old_index_that_cannot_be_migrated_says_how(short_music, tmp_path, monkeypatch):
    out = tmp_path / "old-index"
    write_legacy_index(short_music, out)

    def read_only(folder):
        raise PermissionError(13, "Permission denied", str(folder / "index.sqlite"))

    monkeypatch.setattr(manifest, "migrate_legacy_rows", read_only)
    with pytest.raises(LoopfindError, match=r"earlier Loopfind.*index FOLDER --out"):
        read_index_manifest(out)
    monkeypatch.undo()
    (out / "index.json").write_text(json.dumps({"version": 7, "tracks": {}}))
    with pytest.raises(LoopfindError, match="version 7"):
        read_index_manifest(out)


@pytest.mark.slow
def test_an_index_of_a_newer_schema_is_refused(short_music, tmp_path):
    out = tmp_path / "index"
    build_index(short_music, out, kind="mfcc", jobs=1)
    connection = sqlite3.connect(out / "index.sqlite")
    with connection:
        connection.execute("UPDATE schema_version SET version = 3")
    connection.close()
    with pytest.raises(LoopfindError, match="index version 3"):
        read_index_manifest(out)
    (out / "index.sqlite").write_bytes(b"not a database at all" * 10)
    with pytest.raises(LoopfindError, match="not a readable Loopfind index"):
        read_index_manifest(out)


def _index_at_once(folder, out, start, results):
    start.wait()
    report = build_index(folder, out, kind="mfcc", jobs=1)
    results.put((report.added, report.unchanged))


@pytest.mark.slow  # ~10 s: two processes, each with its worker pool, then one more run
def test_two_indexers_at_once_give_the_result_of_one(tmp_path):
    folder = write_short_tracks(tmp_path / "music", 6)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    out = tmp_path / "index"
    runs = [context.Process(target=_index_at_once, args=(folder, out, start, results))
            for _ in range(2)]
    for run in runs:
        run.start()
    start.set()
    for run in runs:
        run.join(120)
        assert run.exitcode == 0
    # one run did the work; the other waited for the lock and found nothing left to do
    assert sorted(results.get(timeout=5) for _ in runs) == [(0, 6), (6, 0)]
    build_index(folder, tmp_path / "once", kind="mfcc", jobs=1)
    assert index_contents(out) == index_contents(tmp_path / "once")
