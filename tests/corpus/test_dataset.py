"""The dataset reader accepts the documented format and names every bad row by line."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from loopfind_core.base.errors import DatasetError
from loopfind_core.corpus.dataset import Annotation, format_seconds, read_dataset, write_annotations


@pytest.fixture
def folder(tmp_path):
    sf.write(tmp_path / "a.wav", np.zeros(22050, np.float32), 22050)
    (tmp_path / "sub").mkdir()
    sf.write(tmp_path / "sub" / "b.flac", np.zeros(22050, np.float32), 22050)
    return tmp_path


def write_csv(folder, body: str, header="file,genre,category,sound,start,end"):
    (folder / "annotations.csv").write_text(header + "\n" + body)


def test_round_trip_and_grouping(folder):
    rows = [
        Annotation("a.wav", "House", "loop", "L1", 4.0, 8.0),
        Annotation("a.wav", "House", "sample", "S1", 1.25, 1.5),
        Annotation("a.wav", "House", "loop", "L1", 0.0, 4.0),
        Annotation("sub/b.flac", "Dubstep", "loop", "L1", 2.0, 3.0),
    ]
    write_annotations(folder / "annotations.csv", rows)
    dataset = read_dataset(folder)
    assert dataset.annotations == tuple(rows)
    assert dataset.files == ("a.wav", "sub/b.flac")
    sounds = {(s.file, s.sound): s for s in dataset.sounds()}
    assert len(sounds) == 3  # the same id in two files is two sounds
    assert [o.start_s for o in sounds[("a.wav", "L1")].occurrences] == [0.0, 4.0]


def test_every_bad_row_is_reported_by_line(folder):
    write_csv(
        folder,
        "a.wav,House,loop,L1,0,4\n"            # line 2: fine
        "missing.wav,House,loop,L1,0,4\n"      # line 3
        "a.wav,House,riff,L2,0,4\n"            # line 4
        "a.wav,House,loop,L1,5,4\n"            # line 5
        "a.wav,House,loop,L1,x,4\n"            # line 6
        "../a.wav,House,loop,L1,0,4\n"         # line 7
        "a.wav,Techno,sample,L1,0,1\n"         # line 8: genre and category clash
        "a.wav,House,loop,L1,0,4,extra\n"      # line 9
        "a.wav,House,loop,,0,4\n"              # line 10
        "a.wav,House,loop,L3,nan,4\n",         # line 11
    )
    with pytest.raises(DatasetError) as caught:
        read_dataset(folder)
    message = str(caught.value)
    for line, fragment in [
        (3, "does not exist"), (4, "category 'riff'"), (5, "not after start"),
        (6, "not a number"), (7, "inside the dataset folder"), (8, "genre 'Techno'"),
        (8, "is a sample here"), (9, "more than 6 columns"), (10, "sound is empty"),
        (11, "finite"),
    ]:
        assert f"line {line}: " in message and fragment in message, (line, fragment)
    assert "line 2:" not in message


@pytest.mark.parametrize(
    "setup,fragment",
    [("nothing", "does not exist"), ("no csv", "has no annotations.csv"),
     ("bad header", "expected file,genre"), ("empty", "no annotation rows")],
)
def test_folder_level_problems(tmp_path, setup, fragment):
    root = tmp_path / "data"
    if setup != "nothing":
        root.mkdir()
    if setup == "bad header":
        write_csv(root, "", header="file,start,end")
    if setup == "empty":
        write_csv(root, "\n")
    with pytest.raises(DatasetError, match=fragment):
        read_dataset(root)


def test_format_seconds():
    assert format_seconds(1.5) == "1.5" and format_seconds(2.0) == "2"
    assert format_seconds(0.12345) == "0.123"
