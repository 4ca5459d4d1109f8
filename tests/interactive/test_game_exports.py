"""The game-ready exports, checked field by field against their published formats: the JSON against
its schema (loopfind_core/interactive/events.schema.json), the Beat Saber map (Info.dat and
difficulty format 2.0.0, as on the BSMG wiki) and the osu! archive (``osu file format v14``, as
on the osu! wiki), each unzipped, parsed and converted back to the events' times."""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import numpy as np
import pytest
import soundfile as sf

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
from loopfind_core.cli import main
from loopfind_core.interactive.export import (
    FORMATS,
    PACKAGE_FORMATS,
    Event,
    TrackInfo,
    export,
    format_of_path,
    library_track_events,
    to_json,
)
from testkit.audio import SR_HZ

SCHEMA_PATH = (Path(__file__).resolve().parents[2] / "loopfind_core" / "interactive"
               / "events.schema.json")
GRID = BeatGrid(120.0, np.arange(0.5, 40.0, 0.5))  # a beat every 0.5 s from 0.5 s
NO_GRID = BeatGrid(0.0, np.array([]))
TRACK = TrackInfo("my track.wav", 44100, GRID)
EVENTS = [
    Event("zap", 11.7, 0.6, 0.8),
    Event("kick loop", 2.0, 2.0, 1.0),
    Event("zap", 3.1, 0.6, 1.0),
    Event("hat", 25.0004, 0.3, 0.55),
]
ONE_MS = 0.001
# Beat Saber: the difficulties and their ranks (Info.dat _difficulty ↔ _difficultyRank)
BEAT_SABER_RANKS = {"Easy": 1, "Normal": 3, "Hard": 5, "Expert": 7, "ExpertPlus": 9}
INFO_REQUIRED = {  # Info.dat v2 fields every loader reads, with their JSON types
    "_version": str, "_songName": str, "_songSubName": str, "_songAuthorName": str,
    "_levelAuthorName": str, "_beatsPerMinute": (int, float), "_songTimeOffset": (int, float),
    "_shuffle": (int, float), "_shufflePeriod": (int, float),
    "_previewStartTime": (int, float), "_previewDuration": (int, float), "_songFilename": str,
    "_coverImageFilename": str, "_environmentName": str, "_difficultyBeatmapSets": list,
}
NOTE_FIELDS = {"_time", "_lineIndex", "_lineLayer", "_type", "_cutDirection"}
# osu!: the sections in the order the v14 format lists them (a file may leave some out)
OSU_SECTIONS = ["[General]", "[Editor]", "[Metadata]", "[Difficulty]", "[Events]",
                "[TimingPoints]", "[Colours]", "[HitObjects]"]


@pytest.fixture(scope="module")
def schema() -> dict:
    document = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return document


@pytest.fixture(scope="module")
def audio(planted):
    """40 s of planted chirps on a 120 BPM kick, as if read from a 44.1 kHz file."""
    return audio_from_samples(planted.samples, SR_HZ, name="my track.wav")


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def check_ogg_vorbis(data: bytes, duration_s: float) -> None:
    """The song decodes as Ogg Vorbis and lasts as long as the track."""
    info = sf.info(io.BytesIO(data))
    assert (info.format, info.subtype) == ("OGG", "VORBIS")
    samples, rate = sf.read(io.BytesIO(data))
    assert abs(len(samples) / rate - duration_s) < ONE_MS


def check_png(data: bytes, size: int = 256) -> None:
    """A valid PNG (signature, chunk CRCs, IHDR, image data) of size × size RGB pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks = 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        at += 12 + length
    assert [k for k, _ in chunks][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (width, height, depth, colour) == (size, size, 8, 2)
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(pixels) == size * (1 + 3 * size)
    with pytest.importorskip("PIL.Image").open(io.BytesIO(data)) as image:
        assert image.size == (size, size) and image.mode == "RGB"


# ----- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize("events, track", [
    ([e for e in EVENTS if e.sound == "zap"], TRACK),
    (EVENTS, TRACK),
    (EVENTS[:1], TrackInfo("t.flac", 22050, NO_GRID)),
    ([Event("a\tb\nc é", 0.0, 0.05, 0.0), Event("a\tb\nc é", 0.2, 0.05, 1.0)], TRACK),
])
def test_every_json_export_validates_against_the_published_schema(events, track, schema):
    document = json.loads(to_json(events, track))
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert set(document) == set(schema["required"])
    assert set(document["track"]) == set(schema["properties"]["track"]["required"])
    for sound in document["sounds"]:
        assert set(sound) == set(schema["$defs"]["sound"]["required"])
        assert all(set(e) == set(schema["$defs"]["event"]["required"]) for e in sound["events"])
        starts = [e["start_s"] for e in sound["events"]]
        assert starts == sorted(starts)
    assert sum(len(s["events"]) for s in document["sounds"]) == len(events)


def test_the_schema_rejects_the_old_shapes_and_a_new_major_version(schema):
    validator = jsonschema.Draft202012Validator(schema)
    document = json.loads(to_json(EVENTS, TRACK))
    old_one_sound = {"track": "t.wav", "sample_rate": 44100, "tempo": 120.0, "sound": "zap",
                     "events": [{"time": 1.0, "duration": 0.5, "sample": 44100, "beat": 1.0,
                                 "confidence": 1.0}]}
    assert not validator.is_valid(old_one_sound)
    assert not validator.is_valid(document | {"schema_version": "3.0"})
    version_1 = document | {"schema_version": "1.0", "sounds": [
        s | {"events": [{k if k != "chance" else "confidence": v for k, v in e.items()}
                        for e in s["events"]]} for s in document["sounds"]]}
    assert not validator.is_valid(version_1)  # 2.0 renamed "confidence" to "chance"
    assert validator.is_valid(document | {"schema_version": "2.7", "added_in_2_7": []})
    no_events = json.loads(json.dumps(document))
    no_events["sounds"][0]["events"] = []
    assert not validator.is_valid(no_events)


def test_the_cli_writes_a_json_midi_and_both_packages(planted_wav, tmp_path, monkeypatch,
                                                      schema):
    replies = iter(["y", "y", "d"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(replies))
    outs = [tmp_path / name for name in ("a.mid", "a.json", "a.zip", "a.osz")]
    assert main(["hunt", str(planted_wav), "--start", "3.1", "--duration", "0.6",
                 "--features", "mfcc", "--review", "one", "--name", "zap", "--out",
                 *map(str, outs)]) == 0
    document = json.loads(outs[1].read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    starts = [e["start_s"] for e in document["sounds"][0]["events"]]
    assert document["sounds"][0]["name"] == "zap" and len(starts) == 3
    files = unzip(outs[2].read_bytes())
    assert {"Info.dat", "NormalStandard.dat", "song.egg", "cover.png"} == set(files)
    bpm = json.loads(files["Info.dat"])["_beatsPerMinute"]
    notes = json.loads(files["NormalStandard.dat"])["_notes"]
    assert [n["_time"] * 60 / bpm for n in notes] == pytest.approx(starts, abs=ONE_MS)
    assert any(name.endswith(".osu") for name in unzip(outs[3].read_bytes()))
    assert [format_of_path(p) for p in outs] == ["midi", "json", "beatsaber", "osz"]


# ----- the packages need the song ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", PACKAGE_FORMATS)
def test_a_package_asked_without_the_audio_says_why(fmt):
    with pytest.raises(SelectionError, match="holds the song"):
        export(EVENTS, TRACK, fmt)
    assert FORMATS[fmt][0] in ("osz", "zip")


# ----- Beat Saber -------------------------------------------------------------------------------


def beat_saber_map(events, track, audio) -> tuple[dict, dict, dict[str, bytes]]:
    files = unzip(export(events, track, "beatsaber", audio=audio))
    info = json.loads(files["Info.dat"])
    (characteristic,) = info["_difficultyBeatmapSets"]
    (difficulty,) = characteristic["_difficultyBeatmaps"]
    return info, json.loads(files[difficulty["_beatmapFilename"]]), files


def test_the_beat_saber_map_follows_the_v2_format_field_by_field(audio):
    info, beatmap, files = beat_saber_map(EVENTS, TRACK, audio)
    assert all("/" not in name and "\\" not in name for name in files), "files at the root"

    for field, kind in INFO_REQUIRED.items():
        assert isinstance(info[field], kind), field
    assert info["_version"] == "2.0.0"
    assert info["_songName"] == "my track" and info["_songAuthorName"]
    assert info["_levelAuthorName"] and info["_beatsPerMinute"] == 120.0
    assert info["_songTimeOffset"] == 0 and info["_shuffle"] >= 0 and info["_shufflePeriod"] >= 0
    assert 0 <= info["_previewStartTime"] < audio.duration_s
    assert 0 < info["_previewDuration"] <= audio.duration_s - info["_previewStartTime"]
    assert info["_songFilename"].endswith((".egg", ".ogg")) and info["_songFilename"] in files
    assert info["_coverImageFilename"] in files
    assert info["_environmentName"].endswith("Environment")
    (characteristic,) = info["_difficultyBeatmapSets"]
    assert characteristic["_beatmapCharacteristicName"] == "Standard"
    (difficulty,) = characteristic["_difficultyBeatmaps"]
    assert BEAT_SABER_RANKS[difficulty["_difficulty"]] == difficulty["_difficultyRank"]
    assert difficulty["_beatmapFilename"].endswith(".dat")
    assert difficulty["_beatmapFilename"] in files
    assert difficulty["_noteJumpMovementSpeed"] > 0
    assert isinstance(difficulty["_noteJumpStartBeatOffset"], (int, float))
    custom = difficulty["_customData"]
    assert isinstance(custom["_difficultyLabel"], str) and len(custom["_information"]) == 3

    raw = files[difficulty["_beatmapFilename"]].decode()
    assert raw.startswith('{"_version":"2.0.0"'), "version first: Beat Saber 1.20+ reads it so"
    assert raw == json.dumps(beatmap, separators=(",", ":"), ensure_ascii=False), "compact"
    assert {"_version", "_notes", "_obstacles", "_events"} <= set(beatmap)
    assert beatmap["_obstacles"] == [] and beatmap["_events"] == []
    notes = beatmap["_notes"]
    for note in notes:
        assert set(note) == NOTE_FIELDS
        assert isinstance(note["_time"], (int, float)) and note["_time"] >= 0
        assert note["_lineIndex"] in range(4) and note["_lineLayer"] in range(3)
        assert note["_type"] in (0, 1) and note["_cutDirection"] in range(9)
        assert note["_type"] == (0 if note["_lineIndex"] < 2 else 1), "red left, blue right"
    ordered = sorted(EVENTS, key=lambda e: e.start_s)
    seconds = [n["_time"] * 60.0 / info["_beatsPerMinute"] for n in notes]
    assert seconds == pytest.approx([e.start_s for e in ordered], abs=ONE_MS)
    places = {}
    for note, event in zip(notes, ordered):
        places.setdefault(event.sound, set()).add((note["_lineIndex"], note["_lineLayer"]))
    assert all(len(p) == 1 for p in places.values()), "a sound keeps its place"
    assert len({next(iter(p)) for p in places.values()}) == len(places), "each its own"

    check_ogg_vorbis(files[info["_songFilename"]], audio.duration_s)
    check_png(files[info["_coverImageFilename"]])


def test_beat_saber_notes_land_on_time_at_the_estimated_tempo_or_120(audio):
    odd = TrackInfo("odd.wav", 48000, BeatGrid(97.351, np.arange(0.31, 40.0, 60 / 97.351)))
    for track in (odd, TrackInfo("none.wav", 48000, NO_GRID)):
        info, beatmap, _ = beat_saber_map(EVENTS, track, audio)
        assert info["_beatsPerMinute"] == (97.351 if track is odd else 120.0)
        seconds = [n["_time"] * 60.0 / info["_beatsPerMinute"] for n in beatmap["_notes"]]
        assert seconds == pytest.approx(sorted(e.start_s for e in EVENTS), abs=ONE_MS)


def test_thirteen_sounds_wrap_round_the_twelve_places(audio):
    events = [Event(f"s{k}", 1.0 + k, 0.2, 1.0) for k in range(13)]
    _, beatmap, _ = beat_saber_map(events, TRACK, audio)
    places = [(n["_lineIndex"], n["_lineLayer"]) for n in beatmap["_notes"]]
    assert len(set(places[:12])) == 12 and places[12] == places[0]


# ----- osu! -------------------------------------------------------------------------------------


def osu_sections(text: str) -> dict[str, list[str]]:
    """The ``.osu`` text's sections: title → its lines (blank lines and comments left out)."""
    lines = text.splitlines()
    assert lines[0] == "osu file format v14"
    sections: dict[str, list[str]] = {}
    current = None
    for line in lines[1:]:
        if re.fullmatch(r"\[[A-Za-z]+\]", line):
            current = line
            sections[current] = []
        elif line.strip() and not line.startswith("//"):
            assert current is not None, line
            sections[current].append(line)
    return sections


def key_values(lines: list[str]) -> dict[str, str]:
    pairs = [line.split(":", 1) for line in lines]
    assert all(len(p) == 2 for p in pairs), lines
    return {key.strip(): value.strip() for key, value in pairs}


def osu_archive(events, track, audio) -> tuple[str, dict[str, list[str]], dict[str, bytes]]:
    files = unzip(export(events, track, "osz", audio=audio))
    (name,) = [n for n in files if n.endswith(".osu")]
    return name, osu_sections(files[name].decode("utf-8")), files


def test_the_osz_follows_osu_file_format_v14_field_by_field(audio):
    name, sections, files = osu_archive(EVENTS, TRACK, audio)
    assert set(files) == {name, "audio.ogg", "cover.png"}
    assert list(sections) == [s for s in OSU_SECTIONS if s in sections]
    assert {"[General]", "[Metadata]", "[Difficulty]", "[TimingPoints]", "[HitObjects]"} <= set(
        sections)

    general = key_values(sections["[General]"])
    assert general["AudioFilename"] in files
    assert int(general["AudioLeadIn"]) >= 0 and int(general["PreviewTime"]) == 2000
    assert int(general["Countdown"]) in (0, 1, 2, 3) and general["Mode"] == "0"
    assert general["SampleSet"] in ("Normal", "Soft", "Drum")
    assert 0 <= float(general["StackLeniency"]) <= 1
    metadata = key_values(sections["[Metadata]"])
    for field in ("Title", "TitleUnicode", "Artist", "ArtistUnicode", "Creator", "Version",
                  "Source", "Tags", "BeatmapID", "BeatmapSetID"):
        assert field in metadata, field
    assert metadata["Title"] == "my track" and metadata["Title"].isascii()
    assert metadata["Version"] == "kick loop + zap + hat"
    assert int(metadata["BeatmapID"]) >= 0 and int(metadata["BeatmapSetID"]) == -1
    assert name == f"{metadata['Artist']} - my track ({metadata['Creator']}) "\
                   f"[{metadata['Version']}].osu"
    difficulty = {k: float(v) for k, v in key_values(sections["[Difficulty]"]).items()}
    assert set(difficulty) == {"HPDrainRate", "CircleSize", "OverallDifficulty", "ApproachRate",
                               "SliderMultiplier", "SliderTickRate"}
    assert all(0 <= difficulty[k] <= 10 for k in ("HPDrainRate", "CircleSize",
                                                  "OverallDifficulty", "ApproachRate"))
    assert difficulty["SliderMultiplier"] > 0 and difficulty["SliderTickRate"] > 0
    (background,) = sections["[Events]"]
    event_type, start, filename, *offsets = background.split(",")
    assert (event_type, start) == ("0", "0") and filename.strip('"') in files
    assert all(re.fullmatch(r"-?\d+", o) for o in offsets)

    (timing,) = sections["[TimingPoints]"]
    time, beat_length, meter, sample_set, sample_index, volume, uninherited, effects = (
        timing.split(","))
    assert re.fullmatch(r"-?\d+", time) and float(beat_length) > 0
    assert 60000.0 / float(beat_length) == pytest.approx(120.0)
    assert int(meter) > 0 and int(sample_set) in range(4) and int(sample_index) >= 0
    assert 0 <= int(volume) <= 100 and uninherited == "1" and int(effects) >= 0
    beats_to_first = (500.0 - int(time)) / float(beat_length)
    assert beats_to_first == pytest.approx(round(beats_to_first)), "on the beat grid"

    objects = [line.split(",") for line in sections["[HitObjects]"]]
    ordered = sorted(EVENTS, key=lambda e: e.start_s)
    assert [int(o[2]) for o in objects] == [round(1000 * e.start_s) for e in ordered]
    assert int(time) <= int(objects[0][2])
    places = {}
    for (x, y, _, kind, hit_sound, hit_sample), event in zip(objects, ordered):
        assert 0 <= int(x) <= 512 and 0 <= int(y) <= 384
        assert int(kind) & 1 and not int(kind) & (2 | 8 | 128), "a hit circle"
        assert 0 <= int(hit_sound) <= 15
        assert re.fullmatch(r"[0-3]:[0-3]:\d+:\d+:[^,]*", hit_sample)
        places.setdefault(event.sound, set()).add((x, y))
    assert all(len(p) == 1 for p in places.values())
    assert len({next(iter(p)) for p in places.values()}) == 3
    assert [int(o[3]) & 4 for o in objects] == [4, 4, 0, 4], "each change of sound: a combo"

    check_ogg_vorbis(files[general["AudioFilename"]], audio.duration_s)
    check_png(files[filename.strip('"')])


def test_hostile_names_stay_inside_the_archives(audio):
    track = TrackInfo('../C:\\dir/"wéird"<name>?.wav', 44100, NO_GRID)
    events = [Event("[x]\tπ/../\n", 1.0, 0.5, 1.0)]
    name, sections, files = osu_archive(events, track, audio)
    assert name.isascii() and not set('<>:"/\\|?*') & set(name.removesuffix(".osu"))
    assert key_values(sections["[Metadata]"])["Title"].isascii()
    info, beatmap, files = beat_saber_map(events, track, audio)
    assert set(files) == {"Info.dat", "NormalStandard.dat", "song.egg", "cover.png"}
    assert "\n" not in info["_songName"] and len(beatmap["_notes"]) == 1


# ----- the Library page: one track's share of a hunt across tracks ------------------------------


def test_a_library_hunt_exports_one_track_at_a_time(schema):
    candidates = [SimpleNamespace(at=("b.wav", 5.0), duration_s=0.5),
                  SimpleNamespace(at=("a.wav", 9.0), duration_s=0.5),
                  SimpleNamespace(at=("b.wav", 1.0), duration_s=0.5)]
    for frame, candidate in enumerate(candidates):
        candidate.start_frame = frame
    session = SimpleNamespace(query=candidates[0], found=candidates[1:],
                              answer_chances=lambda: {1: 0.75, 2: 0.5})
    hunt = SimpleNamespace(session=session, location=lambda c: c.at)
    events = library_track_events(hunt, "b.wav")
    assert [(e.start_s, e.chance) for e in events] == [(1.0, 0.5), (5.0, 1.0)]
    assert library_track_events(hunt, "c.wav") == []
    document = json.loads(to_json(events, TrackInfo("b.wav", 44100, GRID)))
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
