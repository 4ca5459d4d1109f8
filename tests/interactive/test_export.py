"""The core behind the app: beat grid, workspace, exports, comparison, listening clips, demo."""

from __future__ import annotations

import csv
import io
import json

import mido
import numpy as np
import pytest
import soundfile as sf

from loopfind_core.base.audio import audio_from_samples, clip_wav_bytes
from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import AudioError, LoopfindError, SelectionError
from loopfind_core.corpus.dataset import Occurrence, SoundTruth, read_dataset
from loopfind_core.corpus.demo import ensure_demo_track
from loopfind_core.corpus.synth import corpus_track, generate_corpus
from loopfind_core.corpus.truth import matching_sound
from loopfind_core.features.registry import extract_features
from loopfind_core.interactive.compare import (
    distance_curve,
    occurrence_ranks,
    ranked_proposals,
    self_similarity,
    simulated_recalls,
)
from loopfind_core.interactive.export import (
    Event,
    TrackInfo,
    export,
    export_file_name,
    to_audacity_labels,
    to_beat_saber,
    to_csv,
    to_json,
    to_midi,
    to_osu,
)
from loopfind_core.interactive.figures import (
    TimelineMarks,
    distance_figure,
    selection_figure,
    self_similarity_figure,
    timeline_figure,
    waveform_envelope,
)
from loopfind_core.interactive.workspace import Workspace, clean_sound_name

from .conftest import SR_HZ

GRID = BeatGrid(120.0, np.arange(0.5, 40.0, 0.5))  # a beat every 0.5 s from 0.5 s
TRACK = TrackInfo("my track.wav", 44100, GRID)
EVENTS = [
    Event("zap", 11.7, 0.6, 0.8),
    Event("kick loop", 2.0, 2.0, 1.0),
    Event("zap", 3.1, 0.6, 1.0),
]


@pytest.fixture
def planted_workspace(planted):
    grid = BeatGrid(120.0, np.arange(0.0, 40.0, 0.5))
    return Workspace(audio_from_samples(planted.samples, SR_HZ, "planted.wav"),
                     beats_provider=lambda: grid)


def test_beat_grid_snaps_and_positions():
    assert GRID.beat_period_s == pytest.approx(0.5)
    assert GRID.snap(3.3) == pytest.approx(3.5)
    assert GRID.snap_duration(1.1) == pytest.approx(1.0)
    assert GRID.snap_duration(0.1) == pytest.approx(0.5)  # never zero beats
    assert GRID.beat_position(0.5) == 0.0 and GRID.beat_position(1.75) == pytest.approx(2.5)
    assert GRID.beat_position(0.0) == pytest.approx(-1.0)
    empty = BeatGrid(0.0, np.array([]))
    assert not empty.has_beats and empty.snap(3.3) == 3.3 and np.isnan(empty.beat_position(1))


def test_csv_and_audacity_list_every_event_in_time_order():
    rows = list(csv.DictReader(io.StringIO(to_csv(EVENTS))))
    assert [r["sound"] for r in rows] == ["kick loop", "zap", "zap"]
    assert rows[1] == {"sound": "zap", "start": "3.100", "end": "3.700", "duration": "0.600",
                       "confidence": "1.000"}
    lines = to_audacity_labels(EVENTS).splitlines()
    assert lines[0] == "2.000000\t4.000000\tkick loop"
    assert all(len(line.split("\t")) == 3 for line in lines)
    assert to_audacity_labels([Event("a\tb\nc", 1.0, 1.0, 1.0)]) == "1.000000\t2.000000\ta b c\n"


def test_json_has_the_game_engine_fields():
    one = json.loads(to_json([e for e in EVENTS if e.sound == "zap"], TRACK))
    assert set(one) == {"track", "sample_rate", "tempo", "sound", "events"}
    assert one["sound"] == "zap" and one["tempo"] == 120.0 and one["sample_rate"] == 44100
    first = one["events"][0]
    assert first == {"time": 3.1, "duration": 0.6, "sample": 136710, "beat": 5.2,
                     "confidence": 1.0}
    both = json.loads(to_json(EVENTS, TRACK))
    assert [s["sound"] for s in both["sounds"]] == ["kick loop", "zap"]
    no_grid = json.loads(to_json(EVENTS[:1], TrackInfo("t", 22050, BeatGrid(0.0, np.array([])))))
    assert no_grid["tempo"] is None and no_grid["events"][0]["beat"] is None


def test_midi_has_a_marker_and_a_note_per_event_at_the_right_time():
    midi = mido.MidiFile(file=io.BytesIO(to_midi(EVENTS, TRACK)))
    seconds, markers, notes = 0.0, [], []
    tempo = None
    for message in midi.tracks[0]:
        seconds += mido.tick2second(message.time, midi.ticks_per_beat, tempo or 500000)
        if message.type == "set_tempo":
            tempo = message.tempo
        elif message.type == "marker":
            markers.append((round(seconds, 3), message.text))
        elif message.type == "note_on":
            notes.append((round(seconds, 3), message.note))
    assert mido.tempo2bpm(tempo) == pytest.approx(120.0)
    assert markers == [(2.0, "kick loop"), (3.1, "zap"), (11.7, "zap")]
    assert notes == [(2.0, 36), (3.1, 37), (11.7, 37)]


def test_export_dispatch_names_and_empty_lists():
    assert export(EVENTS, TRACK, "csv").startswith(b"sound,start")
    assert export_file_name(TrackInfo("../x y?.wav", 1, GRID), "midi") == "x_y-loopfind.mid"
    with pytest.raises(SelectionError, match="Unknown export format"):
        export(EVENTS, TRACK, "xml")
    with pytest.raises(SelectionError, match="Nothing to export"):
        to_csv([])


def test_workspace_selects_hunts_and_exports(planted_workspace, planted):
    ws = planted_workspace
    with pytest.raises(SelectionError, match="Select a sound first"):
        ws.start_hunt("mfcc")
    selection = ws.selection_from_box((planted.sound_starts_s[0] + 0.6,
                                       planted.sound_starts_s[0]))
    assert selection.start_s == pytest.approx(planted.sound_starts_s[0])
    hunt = ws.start_hunt("mfcc", "active", 3, sound="  my\tzap  ")
    assert hunt.sound == "my zap" and ws.hunt is hunt
    while (candidate := hunt.session.propose()) is not None:
        hunt.session.answer(any(abs(candidate.start_s - s) < 0.3
                                for s in planted.sound_starts_s))
    assert len(hunt.session.found) == 3
    events = ws.events()
    assert [e.sound for e in events] == ["my zap"] * 4
    assert [round(e.start_s) for e in events] == [round(s) for s in planted.sound_starts_s]
    assert events[0].confidence == pytest.approx(1.0)
    assert all(0 <= e.confidence <= 1 for e in events)
    second = ws.start_hunt("mel", "naive", 1)
    assert second.sound == "sound 2" and list(ws.hunts) == ["my zap", "sound 2"]
    ws.forget("sound 2")
    assert ws.current == "my zap"


def test_workspace_snaps_to_beats_and_refuses_nonsense(planted_workspace):
    ws = planted_workspace
    assert ws.select(3.1, 0.6, snap_to_beats=True) == ws.selection
    assert (ws.selection.start_s, ws.selection.duration_s) == (3.0, 0.5)
    for start, duration in [(1.0, 0.0), (-1.0, 1.0), (39.5, 2.0), (0.0, 30.0), ("x", 1.0)]:
        with pytest.raises(SelectionError):
            ws.select(start, duration)
    assert clean_sound_name("   ", "sound 1") == "sound 1"
    assert len(clean_sound_name("x" * 500, "s")) == 60


def test_compare_ranks_the_planted_sound_first(planted):
    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mel-std")
    query = planted.sound_starts_s[0]
    curve = distance_curve(track, query, planted.sound_duration_s)
    assert np.median(curve.relative_distance) == pytest.approx(1.0, abs=1e-3)  # torch: lower
    proposals = ranked_proposals(curve, limit=10)
    others = [Occurrence(s, s + planted.sound_duration_s) for s in planted.sound_starts_s[1:]]
    assert sorted(occurrence_ranks(proposals, curve.window_s, others)) == [1, 2, 3]
    matrix = self_similarity(track, size=50)
    assert matrix.shape == (50, 50) and np.allclose(np.diag(matrix), 1.0, atol=1e-4)
    sound = SoundTruth("p.wav", "test", "sample", "zap",
                       tuple(Occurrence(s, s + planted.sound_duration_s)
                             for s in planted.sound_starts_s))
    assert matching_sound([sound], 11.8, 0.6) == (sound, 1)
    assert matching_sound([sound], 20.0, 0.6) is None
    recalls = simulated_recalls({"mel-std": track}, sound, 0, patience=2)
    assert [(r.strategy, r.recall) for r in recalls] == [("naive", 1.0), ("active", 1.0)]


def test_figures_build(planted):
    envelope = waveform_envelope(planted.samples, SR_HZ, points=500)
    assert len(envelope.times_s) == 500 and np.all(envelope.low <= envelope.high)
    image = np.zeros((128, 300), dtype=np.float32)
    figure = selection_figure(envelope, np.arange(300) / 10, image, (3.0, 1.0), GRID)
    assert figure.layout.dragmode == "select"
    marks = TimelineMarks((3.1, 3.7), [(11.7, 12.3)], [(20.0, 20.6)], (22.4, 23.0))
    assert len(timeline_figure(envelope, marks).layout.shapes) == 4
    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mfcc")
    curve = distance_curve(track, 3.1, 0.6)
    assert len(distance_figure([curve, curve]).data) == 2
    assert len(self_similarity_figure({"a": np.eye(3), "b": np.eye(3)}, 40.0).data) == 2


def test_listening_clips_are_wav_excerpts(planted):
    audio = audio_from_samples(planted.samples, SR_HZ)
    samples, rate = sf.read(io.BytesIO(clip_wav_bytes(audio, 3.0, 4.0)))
    assert rate == SR_HZ and len(samples) == SR_HZ
    with pytest.raises(AudioError, match="outside the track"):
        clip_wav_bytes(audio, 100.0, 101.0)


def test_the_demo_track_is_the_demo_corpus_first_track(tmp_path):
    folder = ensure_demo_track()
    dataset = read_dataset(folder)
    assert dataset.files == ("track_000_house.flac",)
    assert len(dataset.sounds()) >= 4
    track = corpus_track(2024, 0)
    stored, _ = sf.read(folder / dataset.files[0], dtype="float32")
    assert len(stored) == len(track.samples)
    assert np.max(np.abs(stored - track.samples)) < 1e-4  # 16-bit FLAC of the same music
    small = generate_corpus(tmp_path / "c", 2, 77)
    again, _ = sf.read(small[1], dtype="float32")
    assert np.max(np.abs(again - corpus_track(77, 1).samples)) < 1e-4


def test_osu_beatmap_follows_the_v14_layout():
    text = to_osu(EVENTS, TRACK)
    lines = text.splitlines()
    assert lines[0] == "osu file format v14"
    sections = [line for line in lines if line.startswith("[")]
    assert sections == ["[General]", "[Metadata]", "[Difficulty]", "[TimingPoints]",
                        "[HitObjects]"]
    timing = lines[lines.index("[TimingPoints]") + 1].split(",")
    assert len(timing) == 8 and int(timing[0]) == 500 and float(timing[1]) == 500.0
    assert timing[6] == "1"  # uninherited: it sets the tempo
    objects = [line.split(",") for line in lines[lines.index("[HitObjects]") + 1:] if line]
    assert [int(o[2]) for o in objects] == [2000, 3100, 11700]
    for x, y, _, kind, hit_sound, sample in objects:
        assert 0 <= int(x) <= 512 and 0 <= int(y) <= 384
        assert int(kind) & 1 and hit_sound == "0" and sample == "0:0:0:0:"
    assert [int(o[3]) & 4 for o in objects] == [4, 4, 0]  # each sound starts a combo
    assert (objects[1][0], objects[1][1]) == (objects[2][0], objects[2][1])  # same sound, place
    assert "AudioFilename: my track.wav" in lines


def test_beat_saber_notes_follow_the_v2_layout():
    document = json.loads(to_beat_saber(EVENTS, TRACK))
    assert document["_version"].startswith("2.") and document["_obstacles"] == []
    notes = document["_notes"]
    assert [n["_time"] for n in notes] == [4.0, 6.2, 23.4]  # seconds × 120 / 60
    for note in notes:
        assert set(note) == {"_time", "_lineIndex", "_lineLayer", "_type", "_cutDirection"}
        assert 0 <= note["_lineIndex"] <= 3 and 0 <= note["_lineLayer"] <= 2
        assert note["_type"] in (0, 1) and 0 <= note["_cutDirection"] <= 8
    assert notes[1]["_lineIndex"] == notes[2]["_lineIndex"] != notes[0]["_lineIndex"]
    assert export(EVENTS, TRACK, "beatsaber").startswith(b"{")


def test_cli_hunt_answers_from_ground_truth_and_writes_every_format(tmp_path, capsys):
    from loopfind_core.cli import main

    folder = ensure_demo_track()
    stab = {s.sound: s for s in read_dataset(folder).sounds()}["loop_stab_1"]
    query = stab.occurrences[0]
    outs = [tmp_path / f"e.{x}" for x in ("csv", "json", "txt", "mid", "osu", "dat")]
    code = main(["hunt", str(folder / "track_000_house.flac"), "--start", str(query.start_s),
                 "--duration", str(query.duration_s), "--features", "mel",
                 "--answers-from", str(folder), "--name", "stab", "--out", *map(str, outs)])
    assert code == 0
    document = json.loads(outs[1].read_text())
    assert document["sound"] == "stab" and len(document["events"]) >= 4
    assert all(path.stat().st_size > 0 for path in outs)
    assert main(["hunt", str(folder / "track_000_house.flac"), "--start", "1",
                 "--duration", "1", "--out", str(tmp_path / "x.xml")]) == 2
    assert "Cannot tell the export format" in capsys.readouterr().err


def test_cli_hunt_asks_and_understands_undo_and_done(planted_wav, tmp_path, monkeypatch, capsys):
    from loopfind_core.cli import main

    replies = iter(["y", "?", "u", "y", "n", "d"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(replies))
    out = tmp_path / "zap.csv"
    assert main(["hunt", str(planted_wav), "--start", "3.1", "--duration", "0.6",
                 "--features", "mfcc", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2  # the query and the one kept "yes" (undo took the first back)
    assert "answer with" in capsys.readouterr().out


def test_index_is_incremental_and_a_hunt_spans_every_track(tmp_path, monkeypatch, capsys):
    from loopfind_core.cli import main
    from loopfind_core.library.hunt import open_library
    from loopfind_core.library.store import build_index

    from .conftest import planted_track

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
                 "--duration", "0.6"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 2  # header, query, one yes
