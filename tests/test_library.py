"""The faiss vector index over a library and shortlisted hunts across it."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from loopfind_core.base.errors import LoopfindError
from loopfind_core.library.vector_index import block_means, track_scores

from .conftest import SR_HZ, chirp, planted_track


def backing_only(seed: int, duration_s: float = 40.0, sound: np.ndarray | None = None):
    """Noise and a kick like :func:`planted_track`'s, with another sound (or none) planted."""
    rng = np.random.default_rng(seed)
    samples = 0.03 * rng.standard_normal(int(duration_s * SR_HZ)).astype(np.float32)
    kick = chirp(0.15, 120.0, 45.0)
    for beat_s in np.arange(0.0, duration_s - 0.2, 0.5):
        i = int(beat_s * SR_HZ)
        samples[i : i + len(kick)] += 0.3 * kick
    if sound is not None:
        for start_s in (5.0, 17.3, 29.9):
            i = int(start_s * SR_HZ)
            samples[i : i + len(sound)] += sound
    return samples


@pytest.fixture(scope="module")
def library_folder(tmp_path_factory):
    """a.wav and b.wav share a planted chirp; c.wav holds another sound, d.wav none."""
    from loopfind_core.library.store import build_index

    root = tmp_path_factory.mktemp("library")
    folder = root / "music"
    folder.mkdir()
    sf.write(folder / "a.wav", planted_track(seed=0).samples, SR_HZ)
    sf.write(folder / "b.wav", planted_track(seed=1).samples, SR_HZ)
    sf.write(folder / "c.wav", backing_only(2, sound=0.4 * chirp(0.6, 300.0, 900.0)), SR_HZ)
    sf.write(folder / "d.wav", backing_only(3), SR_HZ)
    index = root / "index"
    report = build_index(folder, index, kind="mfcc", jobs=1)
    return folder, index, report


def test_block_means_average_whole_blocks():
    values = np.arange(20, dtype=np.float32).reshape(10, 2)
    means = block_means(values, block_frames=4)
    assert means.shape == (2, 2)  # the last 2 frames make no whole block
    np.testing.assert_allclose(means[0], values[:4].mean(axis=0))


def test_scores_add_hits_that_agree_on_one_start():
    first_blocks = np.array([0, 100, 200])
    offsets = np.array([0, 1, 2, 3])
    hits = np.array([[150, 210, -1, -1], [151, 230, -1, -1], [152, 250, 5, -1],
                     [154, 270, -1, -1]])
    scores = track_scores(hits, offsets, first_blocks)
    # track 1: the nearest hits imply starts 150, 150, 150, 151, which pool: 4 × weight 1
    assert scores[1] == pytest.approx(4.0)
    assert scores[2] == pytest.approx(0.75)  # scattered starts: one second-ranked vote each
    assert scores[0] == pytest.approx(0.5)  # block 5 at offset 2 implies start 3, third-ranked
    # a hit at block 100 for the query block at offset 1 implies a start before its track
    crossing = track_scores(np.array([[101], [100]]), np.array([0, 1]), first_blocks)
    assert crossing.tolist() == [0.0, 1.0, 0.0]


def test_shortlist_lists_the_track_that_shares_the_sound(library_folder):
    from loopfind_core.base.spectrogram import FRAME_RATE_HZ
    from loopfind_core.library.vector_index import shortlist, track_values

    _, index, report = library_folder
    assert report.vectors is not None and report.vectors.factory == "Flat"
    values = track_values(index, "a.wav")
    chosen = shortlist(index, values, int(3.1 * FRAME_RATE_HZ), int(0.6 * FRAME_RATE_HZ),
                       max_tracks=2, own_track="a.wav")
    assert chosen.names == ("a.wav", "b.wav")
    with pytest.raises(LoopfindError, match="outside"):
        shortlist(index, values, len(values) - 2, 10)
    with pytest.raises(LoopfindError, match="at least 1"):
        shortlist(index, values, 0, 10, max_tracks=0)


def test_a_shortlisted_hunt_finds_the_sound_in_the_other_track(library_folder):
    from loopfind_core.library.hunt import hunt_library

    _, index, _ = library_folder
    hunt = hunt_library(index, "a.wav", 3.1, 0.6, shortlist_tracks=2, patience=2)
    assert [t.name for t in hunt.library.tracks] == ["a.wav", "b.wav"]
    planted = planted_track(seed=0).sound_starts_s
    while (candidate := hunt.session.propose()) is not None:
        _, at_s = hunt.location(candidate)
        hunt.session.answer(any(abs(at_s - s) < 0.1 for s in planted))
    found = {(e.track, round(e.start_s)) for e in hunt.events()}
    assert {("b.wav", round(s)) for s in planted} <= found  # the same starts in b.wav
    assert len(found) == 8
    every = hunt_library(index, "a.wav", 3.1, 0.6, shortlist_tracks=0)
    assert len(every.library.tracks) == 4 and every.shortlist is None


def test_a_query_from_outside_the_library_searches_with_it(library_folder, tmp_path,
                                                           monkeypatch, capsys):
    from loopfind_core.base.audio import load_audio
    from loopfind_core.cli import main
    from loopfind_core.features.registry import extract_features
    from loopfind_core.library.hunt import hunt_library

    _, index, _ = library_folder
    outside = tmp_path / "a.wav"  # the same name as an indexed track, other content
    sf.write(outside, planted_track(seed=7).samples, SR_HZ)
    values = extract_features(load_audio(outside), "mfcc", whiten=0.3).values
    hunt = hunt_library(index, "a.wav", 11.7, 0.6, query_values=values, shortlist_tracks=3)
    names = [t.name for t in hunt.library.tracks]
    assert names[-1] == "query: a.wav" and {"a.wav", "b.wav"} <= set(names)
    first = hunt.session.propose()
    assert hunt.location(first)[0] in names

    replies = iter(["y", "d"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(replies))
    assert main(["hunt", str(outside), "--index", str(index), "--start", "3.1",
                 "--duration", "0.6", "--shortlist", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 of 4 indexed tracks" in out


def test_the_vector_index_follows_the_tracks(library_folder, tmp_path, monkeypatch):
    import shutil

    from loopfind_core.library import vector_index
    from loopfind_core.library.hunt import hunt_library
    from loopfind_core.library.store import build_index

    folder, index, _ = library_folder
    copy_folder, copy_index = tmp_path / "music", tmp_path / "index"
    shutil.copytree(folder, copy_folder)
    shutil.copytree(index, copy_index)
    assert build_index(copy_folder, copy_index, kind="mfcc").vectors is None  # unchanged
    sf.write(copy_folder / "e.wav", planted_track(seed=4).samples, SR_HZ)
    monkeypatch.setattr(vector_index, "IVF_MIN_BLOCKS", 100)  # the inverted-file path
    report = build_index(copy_folder, copy_index, kind="mfcc", jobs=1)
    assert report.added == 1 and report.vectors.factory.startswith("IVF")
    assert report.vectors.factory == "IVF32,PQ5"  # √1075 lists; 20 MFCC dimensions in fives
    assert vector_index.vectors_are_current(copy_index)
    hunt = hunt_library(copy_index, "a.wav", 3.1, 0.6, shortlist_tracks=3)
    assert {"b.wav", "e.wav"} <= {t.name for t in hunt.library.tracks}
    (copy_folder / "e.wav").unlink()
    (copy_index / "vectors.json").write_text("{broken")
    assert not vector_index.vectors_are_current(copy_index)
    with pytest.raises(LoopfindError, match="run `index`"):
        hunt_library(copy_index, "a.wav", 3.1, 0.6)
    assert build_index(copy_folder, copy_index, kind="mfcc").vectors is not None
