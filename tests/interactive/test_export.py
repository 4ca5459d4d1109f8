"""Exports: CSV, Audacity labels, JSON for game engines, MIDI (the osu! and Beat Saber packages
and the JSON schema: test_game_exports.py)."""

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
    to_csv,
    to_json,
    to_midi,
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
                       "chance": "1.000"}
    lines = to_audacity_labels(EVENTS).splitlines()
    assert lines[0] == "2.000000\t4.000000\tkick loop"
    assert all(len(line.split("\t")) == 3 for line in lines)
    assert to_audacity_labels([Event("a\tb\nc", 1.0, 1.0, 1.0)]) == "1.000000\t2.000000\ta b c\n"


def test_json_has_the_game_engine_fields_in_one_shape():
    one = json.loads(to_json([e for e in EVENTS if e.sound == "zap"], TRACK))
    assert set(one) == {"schema_version", "track", "sounds"}
    assert one["schema_version"] == "2.0"
    assert one["track"] == {"name": "my track.wav", "sample_rate_hz": 44100, "tempo_bpm": 120.0,
                            "first_beat_s": 0.5}
    assert [s["name"] for s in one["sounds"]] == ["zap"]
    first = one["sounds"][0]["events"][0]
    assert first == {"start_s": 3.1, "end_s": 3.7, "duration_s": 0.6, "start_sample": 136710,
                     "beat": 5.2, "chance": 1.0}
    both = json.loads(to_json(EVENTS, TRACK))
    assert set(both) == set(one), "the shape does not depend on the number of sounds"
    assert [s["name"] for s in both["sounds"]] == ["kick loop", "zap"]
    assert [e["start_s"] for e in both["sounds"][1]["events"]] == [3.1, 11.7]
    no_grid = json.loads(to_json(EVENTS[:1], TrackInfo("t", 22050, BeatGrid(0.0, np.array([])))))
    assert no_grid["track"]["tempo_bpm"] is None and no_grid["track"]["first_beat_s"] is None
    assert no_grid["sounds"][0]["events"][0]["beat"] is None


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
    assert export_file_name(TRACK, "beatsaber") == "my_track-loopfind-beatsaber.zip"
    assert export_file_name("sub/dir/my track.wav", "osz") == "my_track-loopfind.osz"
    with pytest.raises(SelectionError, match="Unknown export format"):
        export(EVENTS, TRACK, "xml")
    with pytest.raises(SelectionError, match="Nothing to export"):
        to_csv([])
