"""The vector index follows the tracks without a full rebuild where faiss allows it."""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.library import vector_index
from loopfind_core.library.store import add_feature_tracks, build_index
from loopfind_core.library.vector_index import (
    BLOCK_FRAMES,
    build_vector_index,
    describe_vectors,
    shortlist,
    track_values,
    update_vector_index,
    vectors_are_current,
)


def feature_track(seed: int, frames: int = 400, dims: int = 20) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((frames, dims)).astype(np.float32)


@pytest.fixture
def index(short_music, tmp_path):
    out = tmp_path / "index"
    build_index(short_music, out, kind="mfcc", jobs=1)
    return out


def shortlists(out, query: np.ndarray) -> list[tuple[str, ...]]:
    """The shortlists of a few query windows of ``query``."""
    return [shortlist(out, query, start, 40, max_tracks=4).names for start in (0, 100, 250)]


def test_added_and_removed_tracks_update_the_flat_index_in_place(index):
    first = describe_vectors(index)
    assert (first.factory, first.tracks) == ("Flat", 4)
    add_feature_tracks(index, [("x/one.flac", feature_track(1), 9.3),
                               ("x/two.flac", feature_track(2, frames=203), 4.7)])
    assert not vectors_are_current(index)
    report = update_vector_index(index)
    assert not report.rebuilt and report.removed_blocks == 0
    assert report.added_blocks == 400 // BLOCK_FRAMES + 203 // BLOCK_FRAMES
    assert report.blocks == first.blocks + report.added_blocks and report.tracks == 6
    assert update_vector_index(index) is None  # current
    query = np.asarray(track_values(index, "one.flac"), dtype=np.float32)  # by file name
    incremental = shortlists(index, query)
    assert all(names[0] == "x/one.flac" for names in incremental)
    assert build_vector_index(index).rebuilt  # from scratch: the same shortlists
    assert shortlists(index, query) == incremental

    # a track's content changes under the same name: its blocks are replaced, its id kept
    add_feature_tracks(index, [("x/one.flac", feature_track(3), 9.3)])
    changed = update_vector_index(index)
    assert (changed.rebuilt, changed.added_blocks, changed.removed_blocks) == (False, 50, 50)
    assert changed.blocks == report.blocks
    changed_query = np.asarray(track_values(index, "x/one.flac"), dtype=np.float32)
    assert shortlist(index, changed_query, 100, 40, max_tracks=1).names == ("x/one.flac",)
    assert sorted(p.name for p in index.glob("vectors-*")) == ["vectors-4.faiss"]

    # the folder indexed again: the feature-level tracks leave, the others stay
    again = build_index(index.parent / "music", index, kind="mfcc")
    assert (again.added, again.removed) == (0, 2)
    assert not again.vectors.rebuilt and again.vectors.removed_blocks == 50 + 25
    assert describe_vectors(index).blocks == first.blocks


@pytest.mark.slow
def test_an_ivf_index_is_added_to_until_the_library_outgrows_its_training(index, monkeypatch):
    monkeypatch.setattr(vector_index, "IVF_MIN_BLOCKS", 100)
    add_feature_tracks(index, [(f"x/{i}.flac", feature_track(i, 800), 18.6) for i in range(2)])
    crossed = update_vector_index(index)  # Flat no longer fits: an IVF, trained
    assert crossed.rebuilt and crossed.factory.startswith("IVF")
    trained_on = crossed.blocks
    add_feature_tracks(index, [("x/more.flac", feature_track(7, 800), 18.6)])
    grown = update_vector_index(index)
    assert not grown.rebuilt and grown.added_blocks == 100  # still within 2× of its training
    assert grown.factory == crossed.factory
    query = np.asarray(track_values(index, "x/more.flac"), dtype=np.float32)
    assert shortlist(index, query, 300, 40, max_tracks=1).names == ("x/more.flac",)
    add_feature_tracks(index, [(f"y/{i}.flac", feature_track(20 + i, 800), 18.6)
                               for i in range(3)])
    outgrown = update_vector_index(index)
    assert outgrown.rebuilt and outgrown.blocks > 2 * trained_on
    assert outgrown.factory != crossed.factory  # √n lists for the larger library
