"""A damaged library: feature files missing, truncated or overwritten, and a damaged vector
index file. ``index`` repairs each and says so; a hunt names the damage instead of a traceback
or garbage candidates."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from loopfind_core.base.errors import DatasetError
from loopfind_core.library.database import feature_path
from loopfind_core.library.hunt import hunt_library, open_library
from loopfind_core.library.store import build_index


@pytest.fixture
def index(short_music, tmp_path):
    out = tmp_path / "index"
    build_index(short_music, out, kind="mfcc", jobs=1)
    return out


def feature_file(out, name: str):
    connection = sqlite3.connect(out / "index.sqlite")
    try:
        (content_hash,) = connection.execute("SELECT hash FROM tracks WHERE path = ?",
                                             (name,)).fetchone()
    finally:
        connection.close()
    return feature_path(out, content_hash)


def truncate(path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def overwrite_with_garbage(path) -> None:
    """Same size, a valid .npy header, random bytes after it: loads, but is not the track."""
    data = bytearray(path.read_bytes())
    header = 128
    data[header:] = np.random.default_rng(0).bytes(len(data) - header)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [truncate, overwrite_with_garbage, lambda p: p.unlink()],
                         ids=["truncated", "garbage", "deleted"])
def test_index_repairs_a_damaged_feature_file_and_names_it(index, short_music, damage):
    path = feature_file(index, "t0.wav")
    original = path.read_bytes()
    damage(path)
    report = build_index(short_music, index, kind="mfcc", jobs=1)
    assert [r.split(":")[0] for r in report.repaired] == ["t0.wav"]
    assert report.unchanged == 3 and report.added == 1
    assert report.vectors is not None and report.vectors.rebuilt
    assert path.read_bytes() == original  # extracted again: the same features
    again = build_index(short_music, index, kind="mfcc", jobs=1)
    assert again.repaired == () and again.unchanged == 4


@pytest.mark.parametrize("damage", [truncate, overwrite_with_garbage],
                         ids=["truncated", "garbage"])
def test_a_hunt_names_a_damaged_feature_file_instead_of_using_it(index, damage):
    damage(feature_file(index, "t1.wav"))
    with pytest.raises(DatasetError, match=r"'t1\.wav' are .*run `loopfind index`") as caught:
        open_library(index)
    assert str(index) not in str(caught.value)  # no server path
    with pytest.raises(DatasetError, match="t1.wav"):
        hunt_library(index, "t1.wav", 1.0, 0.5, shortlist_tracks=0)


def test_a_damaged_vector_index_is_said_plainly_then_rebuilt_by_index(index, short_music):
    connection = sqlite3.connect(index / "index.sqlite")
    try:
        (name,) = connection.execute(
            "SELECT json_extract(value, '$') FROM settings WHERE key = 'vectors_file'"
        ).fetchone()
    finally:
        connection.close()
    (index / name).write_bytes(b"")  # a 0-byte faiss file
    with pytest.raises(DatasetError, match="vector index file is damaged.*`loopfind index`"):
        hunt_library(index, "t0.wav", 1.0, 0.5, shortlist_tracks=2)
    report = build_index(short_music, index, kind="mfcc", jobs=1)
    assert report.vectors is not None and report.vectors.repaired and report.unchanged == 4
    assert hunt_library(index, "t0.wav", 1.0, 0.5, shortlist_tracks=2).shortlist is not None
