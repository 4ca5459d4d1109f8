"""Kept uploads under quotas (loopfind_core/interactive/upload_quota.py) and half-written
leftovers cleaned (loopfind_core/base/disk.py)."""

from __future__ import annotations

import errno
import os

import pytest

from loopfind_core.base.disk import (
    DiskFullError,
    DiskWriteError,
    disk_errors,
    remove_leftovers,
)
from loopfind_core.interactive.upload_quota import UploadQuota, UploadQuotaError
from loopfind_core.interactive.workspace_store import WorkspaceStore

A, B, C = (c * 64 for c in "abc")  # content hashes


def test_a_workspace_keeps_one_upload_its_replaced_one_goes(tmp_path):
    store = WorkspaceStore(tmp_path)
    token = store.issue_token()
    first = store.keep_upload(b"x" * 1000, A, ".wav", token=token)
    second = store.keep_upload(b"y" * 1000, B, ".wav", token=token)
    assert not (store.uploads / first).exists() and (store.uploads / second).exists()


def test_an_upload_another_workspace_names_is_not_deleted(tmp_path):
    from loopfind_core.interactive.workspace import WorkspaceSnapshot
    from loopfind_core.interactive.workspace_store import TrackRef

    store = WorkspaceStore(tmp_path)
    mine, theirs = store.issue_token(), store.issue_token()
    shared = store.keep_upload(b"x" * 1000, A, ".wav", token=mine)
    store.save(theirs, TrackRef(A, "upload", "a.wav", shared), WorkspaceSnapshot())
    store.keep_upload(b"y" * 1000, B, ".wav", token=mine)
    assert (store.uploads / shared).exists()


def test_quotas_are_said_plainly_and_nothing_is_written(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    quota = UploadQuota(uploads, workspace_bytes=1000, total_bytes=10_000, min_free_bytes=0)
    with pytest.raises(UploadQuotaError, match="per workspace") as caught:
        quota.make_room("t" * 32, f"{A}.wav", 1001, lambda token: set())
    assert str(tmp_path) not in str(caught.value)
    (uploads / f"{B}.wav").write_bytes(b"z" * 9500)  # another workspace's, named
    with pytest.raises(UploadQuotaError, match="space for kept uploads"):
        quota.make_room("t" * 32, f"{A}.wav", 900, lambda token: {f"{B}.wav"})
    assert sorted(p.name for p in uploads.iterdir()) == [f"{B}.wav"]
    tight = UploadQuota(uploads, min_free_bytes=1 << 62)  # more than any disk has free
    with pytest.raises(UploadQuotaError, match="disk is nearly full"):
        tight.make_room("t" * 32, f"{A}.wav", 10, lambda token: set())


def test_old_orphans_make_room_under_the_total_quota(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    orphan, fresh = uploads / f"{B}.wav", uploads / f"{C}.wav"
    orphan.write_bytes(b"o" * 6000)
    fresh.write_bytes(b"f" * 3000)
    os.utime(orphan, (1000.0, 1000.0))  # long unused; fresh is younger than the grace
    quota = UploadQuota(uploads, clock=lambda: 10_000.0 + os.path.getmtime(fresh),
                        workspace_bytes=10_000, total_bytes=10_000, min_free_bytes=0)
    quota.make_room("t" * 32, f"{A}.wav", 5000, lambda token: set())
    assert not orphan.exists() and fresh.exists()


def test_a_failed_write_leaves_no_part_file_and_says_so_without_a_path(tmp_path, monkeypatch):
    from pathlib import Path

    store = WorkspaceStore(tmp_path)

    def full(self, data):
        Path(self).write_bytes(b"half")  # what a full disk leaves: part of the file
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full, raising=True)
    with pytest.raises(Exception) as caught:
        store.keep_upload(b"x" * 1000, A, ".wav", token=store.issue_token())
    monkeypatch.undo()
    assert str(tmp_path) not in str(caught.value)
    assert [p.name for p in store.uploads.iterdir()] == []


def test_leftovers_older_than_the_grace_are_removed_at_start(tmp_path):
    (tmp_path / "uploads").mkdir()
    old = [tmp_path / "uploads" / f".{A}.wav.1234abcd.part",
           tmp_path / "demo-corpus-v1-seed2024-8.partial",
           tmp_path / "demo-track-v1-seed2024-0.77-88.partial"]
    old[0].write_bytes(b"half")
    for folder in old[1:]:
        folder.mkdir()
        (folder / "track.flac").write_bytes(b"half")
    young = tmp_path / "uploads" / f".{B}.wav.5678abcd.part"
    young.write_bytes(b"in flight")
    kept = tmp_path / "uploads" / f"{C}.wav"
    kept.write_bytes(b"whole")
    for path in old:
        os.utime(path, (1000.0, 1000.0))
    removed = remove_leftovers(tmp_path, grace_s=3600.0)
    assert sorted(removed) == sorted(p.name for p in old)
    assert young.exists() and kept.exists() and not any(p.exists() for p in old)


def test_disk_errors_clean_up_and_say_the_disk_is_full_without_a_path(tmp_path):
    cleaned = []
    with pytest.raises(DiskFullError, match="disk is full: the demo library") as caught:
        with disk_errors("the demo library", lambda: cleaned.append(1)):
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))
    assert cleaned == [1] and str(tmp_path) not in str(caught.value)
    with pytest.raises(DiskWriteError, match="Permission denied") as other:
        with disk_errors("the demo library"):
            raise OSError(errno.EACCES, "Permission denied", str(tmp_path))
    assert not isinstance(other.value, DiskFullError)
