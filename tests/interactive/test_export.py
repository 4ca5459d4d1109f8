"""Exports: CSV, Audacity labels, JSON for game engines, MIDI, osu! and Beat Saber."""

from __future__ import annotations

import csv
import io
import json

import mido
import numpy as np
import pytest

from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
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

GRID = BeatGrid(120.0, np.arange(0.5, 40.0, 0.5))  # a beat every 0.5 s from 0.5 s
TRACK = TrackInfo("my track.wav", 44100, GRID)
EVENTS = [
    Event("zap", 11.7, 0.6, 0.8),
    Event("kick loop", 2.0, 2.0, 1.0),
    Event("zap", 3.1, 0.6, 1.0),
]


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
