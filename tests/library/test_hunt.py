"""The faiss vector index over a library; hunts across it, started from the one entry point of
the app and the CLI; which library a server offers; the library CSV."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from loopfind_core.base.errors import LoopfindError
from loopfind_core.library.vector_index import block_means, track_scores
from testkit.audio import SR_HZ, chirp, kick_backing, planted_track


def backing_only(seed: int, duration_s: float = 40.0, sound: np.ndarray | None = None):
    """Noise and a kick like :func:`planted_track`'s, with another sound (or none) planted."""
    samples = kick_backing(np.random.default_rng(seed), duration_s)
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


def test_a_query_track_the_index_holds_is_found_by_its_content(library_folder, tmp_path,
                                                                monkeypatch, capsys):
    """The query's audio is indexed under another name: the hunt uses the indexed track (no
    track added), from the app's entry point and from the CLI alike."""
    import shutil

    from loopfind_core.base.audio import load_audio
    from loopfind_core.cli import main
    from loopfind_core.library.hunt import hunt_selection

    folder, index, _ = library_folder
    renamed = tmp_path / "renamed.wav"
    shutil.copyfile(folder / "a.wav", renamed)
    hunt = hunt_selection(index, load_audio(renamed), 3.1, 0.6, shortlist_tracks=2)
    assert hunt.query_track == "a.wav" and hunt.query_audio is None
    assert [t.name for t in hunt.library.tracks] == ["a.wav", "b.wav"]
    track, at_s = hunt.location(hunt.session.query)
    assert track == "a.wav" and at_s == pytest.approx(3.1, abs=0.02)
    by_name = hunt_selection(index, "a.wav", 3.1, 0.6, shortlist_tracks=2)
    assert by_name.query_track == "a.wav"
    assert [t.name for t in by_name.library.tracks] == ["a.wav", "b.wav"]

    replies = iter(["d"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(replies))
    assert main(["hunt", str(renamed), "--index", str(index), "--start", "3.1",
                 "--duration", "0.6", "--shortlist", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 of 4 indexed tracks" in out and "a.wav\t3.1" in out  # the query, in a.wav


def test_a_query_track_outside_the_library_is_searched_with_it(library_folder, tmp_path,
                                                               monkeypatch, capsys):
    """Other audio: its features of the index's kind and whitening join the library as one
    more track, named after it (renamed when an indexed track has its name)."""
    from loopfind_core.base.audio import load_audio
    from loopfind_core.cli import main
    from loopfind_core.features.registry import extract_features
    from loopfind_core.library.hunt import hunt_selection
    from loopfind_core.library.manifest import read_index_manifest

    _, index, _ = library_folder
    outside = tmp_path / "a.wav"  # the same name as an indexed track, other content
    sf.write(outside, planted_track(seed=7).samples, SR_HZ)
    audio = load_audio(outside)
    asked = []

    def cached_features(kind, whiten):
        asked.append((kind, whiten))
        return extract_features(audio, kind, whiten=whiten)

    hunt = hunt_selection(index, audio, 11.7, 0.6, shortlist_tracks=3,
                          query_features=cached_features)
    manifest = read_index_manifest(index)
    assert asked == [(manifest["kind"], manifest["whiten"])]
    names = [t.name for t in hunt.library.tracks]
    assert names[-1] == hunt.query_track == "query: a.wav" and {"a.wav", "b.wav"} <= set(names)
    assert hunt.query_audio is audio
    assert hunt.location(hunt.session.query)[0] == "query: a.wav"
    first = hunt.session.propose()
    assert hunt.location(first)[0] in names

    replies = iter(["y", "d"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(replies))
    assert main(["hunt", str(outside), "--index", str(index), "--start", "3.1",
                 "--duration", "0.6", "--shortlist", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 of 4 indexed tracks" in out and "query: a.wav\t3.1" in out


def test_library_occurrences_export_as_csv_in_track_and_time_order():
    import csv
    import io

    from loopfind_core.interactive.export import library_events_csv
    from loopfind_core.library.hunt import LibraryEvent

    events = [LibraryEvent("b.wav", 3.1, 3.7, False),
              LibraryEvent("live, 2024.wav", 11.70049, 12.3, True),
              LibraryEvent("live, 2024.wav", 3.1, 3.7, False)]
    rows = list(csv.reader(io.StringIO(library_events_csv(events))))
    assert rows == [["track", "start", "end"], ["b.wav", "3.100", "3.700"],
                    ["live, 2024.wav", "3.100", "3.700"], ["live, 2024.wav", "11.700", "12.300"]]


def test_the_server_library_is_the_configured_index_else_the_built_demo(library_folder,
                                                                        tmp_path, monkeypatch):
    from loopfind_core.base.audio import load_audio
    from loopfind_core.library import catalog

    folder, index, _ = library_folder
    info = catalog.find_library("learned", {catalog.LIBRARY_ENV: str(index)})
    assert not info.demo and info.path == index and info.kind == "mfcc"
    assert sorted(info.track_hashes) == ["a.wav", "b.wav", "c.wav", "d.wav"]
    assert info.hours == pytest.approx(4 * 40.0 / 3600, rel=0.01)
    assert info.track_with_hash(load_audio(folder / "b.wav").content_hash) == "b.wav"
    assert info.track_with_hash("0" * 64) is None
    with pytest.raises(LoopfindError, match="holds no Loopfind index"):  # said, not hidden
        catalog.find_library("learned", {catalog.LIBRARY_ENV: str(tmp_path / "nowhere")})

    monkeypatch.setattr(catalog, "demo_library_dir", lambda kind: tmp_path / f"demo-{kind}")
    assert catalog.find_library("mfcc", {}) is None  # the demo library is not built yet
    monkeypatch.setattr(catalog, "demo_library_dir", lambda kind: index)
    assert catalog.find_library("mfcc", {}).demo


@pytest.mark.slow
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
    for vectors_file in copy_index.glob("vectors-*.faiss"):  # the vector index lost
        vectors_file.unlink()
    assert not vector_index.vectors_are_current(copy_index)
    with pytest.raises(LoopfindError, match="run `index`"):
        hunt_library(copy_index, "a.wav", 3.1, 0.6)
    assert build_index(copy_folder, copy_index, kind="mfcc").vectors is not None
