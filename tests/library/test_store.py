"""The library index: built incrementally over a folder; a hunt spans every indexed track."""

from __future__ import annotations

import pytest
import soundfile as sf

from loopfind_core.base.errors import LoopfindError
from loopfind_core.cli import main
from loopfind_core.library.hunt import open_library
from loopfind_core.library.store import build_index
from testkit.audio import SR_HZ, planted_track


@pytest.mark.slow  # ~13 s: five index builds, two with a worker pool
def test_index_is_incremental_and_a_hunt_spans_every_track(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "music"
    (folder / "sub").mkdir(parents=True)
    first, second = planted_track(seed=0), planted_track(seed=1)
    sf.write(folder / "a.wav", first.samples, SR_HZ)
    sf.write(folder / "sub" / "b.wav", second.samples, SR_HZ)
    (folder / "notes.wav").write_bytes(b"not audio at all" * 100)
    index = tmp_path / "index"
    report = build_index(folder, index, kind="mfcc", jobs=2)
    assert (report.added, report.unchanged, len(report.failed)) == (2, 0, 1)
    again = build_index(folder, index, kind="mfcc", jobs=2)
    assert (again.added, again.unchanged, len(again.failed)) == (0, 2, 1)  # retried: unreadable
    (folder / "sub" / "b.wav").unlink()
    assert build_index(folder, index, kind="mfcc").removed == 1
    sf.write(folder / "sub" / "b.wav", second.samples, SR_HZ)
    build_index(folder, index, kind="mfcc")
    with pytest.raises(LoopfindError, match="new folder"):
        build_index(folder, index, kind="mel")

    library = open_library(index)
    assert [t.name for t in library.tracks] == ["a.wav", "sub/b.wav"]
    session = library.session("a.wav", first.sound_starts_s[0], first.sound_duration_s,
                              patience=2)
    places = []
    while (candidate := session.propose()) is not None:
        track, at_s = library.locate(candidate.start_s)
        assert track.first_frame <= candidate.start_frame
        assert candidate.start_frame + session.window_frames <= track.first_frame + track.n_frames
        planted = first if track.name == "a.wav" else second
        yes = any(abs(at_s - s) < 0.1 for s in planted.sound_starts_s)
        places.append((track.name, yes))
        session.answer(yes)
    assert ("sub/b.wav", True) in places and ("a.wav", True) in places  # across tracks
    assert sum(yes for _, yes in places) >= 6

    replies = iter(["y", "d"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(replies))
    assert main(["hunt", "a.wav", "--index", str(index), "--start", "3.1",
                 "--duration", "0.6", "--review", "one"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("hunting ") and "left" in lines[1]
    assert len([line for line in lines if "\t" in line]) == 2  # events: the query, one yes
