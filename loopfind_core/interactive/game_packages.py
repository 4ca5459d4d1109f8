"""Game-ready packages: an osu! beatmap archive (``.osz``) and a Beat Saber map (``.zip``).

Both hold the song itself, so each takes the track's :class:`~loopfind_core.base.audio.Audio`
besides the events. The song is the decoded track (mono, at the analysis rate) encoded as Ogg
Vorbis; a 256 × 256 PNG cover is drawn from its waveform with the events marked.

- osu! (``osu file format v14``, osu!standard): ``<Artist> - <Title> (Loopfind) [<sounds>].osu``,
  ``audio.ogg`` and ``cover.png`` (the background) in one zip named ``.osz``. One uninherited
  timing point at the estimated tempo on the beat grid, a hit circle per event at its start
  (integer ms from the start of the audio); each sound has its own place on the 512 × 384
  playfield and starts a new combo.
- Beat Saber (``Info.dat`` and difficulty file both format 2.0.0): ``Info.dat``,
  ``NormalStandard.dat`` (one Normal difficulty of the Standard characteristic), ``song.egg``
  (Ogg Vorbis under Beat Saber's extension) and ``cover.png``, at the root of a zip as BeatSaver
  serves maps. A note per event at ``_time`` = start in beats at ``_beatsPerMinute``
  (seconds × BPM / 60; the game counts beats from the start of the audio at one tempo); each
  sound has its own lane, layer and colour (red left of centre, blue right), any cut direction.
  Both JSON files are written compact with ``_version`` first: Beat Saber 1.20 and later fail
  to load a v2 difficulty file that is indented.

Format 2.0.0 for both Beat Saber files: it is what every Beat Saber version since 1.0 loads
(with SongCore for custom levels) and what the map editors and BeatSaver read; 2.1 only adds
per-difficulty environments and colour schemes, and v3/v4 are not read by older tools.
"""

from __future__ import annotations

import io
import json
import math
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Sequence

import numpy as np

from loopfind_core.base.audio import Audio, ogg_vorbis_bytes
from loopfind_core.interactive.events import (
    Event,
    TrackInfo,
    label_text,
    sorted_events,
    sounds_in_order,
    tempo_bpm,
    track_title,
)

COVER_FILE, COVER_SIZE = "cover.png", 256  # pixels; Beat Saber shows covers at 256 × 256
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # entries carry no server clock time (zip's earliest date)
ARTIST = "Unknown artist"  # the exports know the file, not who made the music
CREATOR = "Loopfind"

OSU_AUDIO_FILE = "audio.ogg"
OSU_PLAYFIELD = (512, 384)  # osu! pixels
OSU_DIFFICULTY = {"HPDrainRate": 5, "CircleSize": 4, "OverallDifficulty": 5, "ApproachRate": 7,
                  "SliderMultiplier": 1.4, "SliderTickRate": 1}

BEAT_SABER_VERSION = "2.0.0"  # Info.dat and the difficulty file alike
BEAT_SABER_SONG_FILE = "song.egg"
BEAT_SABER_DIFFICULTY = {"_difficulty": "Normal", "_difficultyRank": 3,
                         "_beatmapFilename": "NormalStandard.dat",
                         "_noteJumpMovementSpeed": 10, "_noteJumpStartBeatOffset": 0}
BEAT_SABER_LANES = (1, 2, 0, 3)  # sound k's lane (0 = far left): the middle two first
BEAT_SABER_LAYERS = 3  # 0 bottom … 2 top: sounds 5–8 on the middle layer, 9–12 on top
BEAT_SABER_RED, BEAT_SABER_BLUE, BEAT_SABER_ANY_DIRECTION = 0, 1, 8
BEAT_SABER_PREVIEW_S = 10.0


# ----- the song and the cover -------------------------------------------------------------------


def png_bytes(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB image (height × width × 3) as a PNG file."""
    pixels = np.ascontiguousarray(np.clip(rgb, 0, 255).astype(np.uint8))
    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)  # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def cover_image(audio: Audio, events: Sequence[Event], size: int = COVER_SIZE) -> np.ndarray:
    """A square picture of the track: its loudness (RMS) across, the events' spans lit."""
    columns = np.array_split(audio.samples.astype(np.float64), size)
    levels = np.array([math.sqrt(float(np.mean(c * c))) if len(c) else 0.0 for c in columns])
    levels = levels / levels.max() if levels.max() > 0 else levels  # RMS, loudest column = 1
    rows = np.arange(size, dtype=np.float64)[:, None]
    shade = rows / (size - 1)
    image = np.empty((size, size, 3))
    image[...] = np.stack([16 + 20 * shade, 18 + 6 * shade, 34 + 30 * shade], axis=-1)  # dusk
    lit = np.zeros(size, dtype=bool)
    seconds_per_column = audio.duration_s / size
    for e in events:
        first = int(e.start_s / seconds_per_column)
        lit[first:max(first + 1, int(math.ceil(e.end_s / seconds_per_column)))] = True
    centre, reach = (size - 1) / 2, 0.36 * size
    distance = np.abs(rows - centre) / reach  # 0 at the centre line, 1 at a full peak
    wave = distance <= levels[None, :]
    glow = (1.0 - 0.45 * np.clip(distance, 0, 1))[..., None]
    colour = np.where(lit[None, :, None], [255, 150, 60], [70, 200, 190])
    image[:, lit] = image[:, lit] * 0.6 + np.array([255, 150, 60]) * 0.12  # a faint band
    image = np.where(wave[..., None], colour * glow, image)
    marks = np.zeros((size, size), dtype=bool)
    marks[size - 14:size - 8, :] = lit[None, :]
    image[marks] = [255, 196, 120]
    return image


def cover_png(audio: Audio, events: Sequence[Event]) -> bytes:
    """:func:`cover_image` as a PNG file."""
    return png_bytes(cover_image(audio, events))


def _zip(files: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip of ``(name, data)`` entries at its root; audio and images stored, text deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files:
            entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            entry.external_attr = 0o644 << 16
            entry.compress_type = (zipfile.ZIP_STORED if name.endswith((".ogg", ".egg", ".png"))
                                   else zipfile.ZIP_DEFLATED)
            archive.writestr(entry, data)
    return out.getvalue()


def _ascii(text: str, fallback: str) -> str:
    """``text`` romanised the simple way (accents dropped, other non-ASCII left out)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return label_text(plain) if plain.strip() else fallback


def _file_part(text: str) -> str:
    """``text`` with the characters no file system accepts replaced by ``_``."""
    return "".join("_" if ch in '<>:"/\\|?*' or ord(ch) < 32 else ch for ch in text).strip(". ")


# ----- osu! -------------------------------------------------------------------------------------


def _osu_position(sound_index: int, n_sounds: int) -> tuple[int, int]:
    """Sound k's place on the playfield: the centre for one sound, else evenly round an
    ellipse inside the 512 × 384 field."""
    width, height = OSU_PLAYFIELD
    if n_sounds <= 1:
        return width // 2, height // 2
    angle = 2 * math.pi * sound_index / n_sounds
    return (int(round(width / 2 + 0.35 * width * math.cos(angle))),
            int(round(height / 2 + 0.35 * height * math.sin(angle))))


def _osu_version(names: Sequence[str]) -> str:
    """The difficulty name: the sounds, joined."""
    return " + ".join(label_text(n) for n in names)


def osu_beatmap(events: Sequence[Event], track: TrackInfo, audio_file: str = OSU_AUDIO_FILE,
                background: str | None = COVER_FILE) -> str:
    """The ``.osu`` text (format v14) of the events, playing ``audio_file``."""
    ordered = sorted_events(events)
    names = sounds_in_order(ordered)
    beat_ms = 60000.0 / tempo_bpm(track)
    first_beat_ms = 1000.0 * track.beats.beat_times_s[0] if track.beats.has_beats else 0.0
    timing_ms = int(round(first_beat_ms % beat_ms))  # on the grid, at or before the first beat
    title = track_title(track)
    lines = [
        "osu file format v14", "",
        "[General]", f"AudioFilename: {audio_file}", "AudioLeadIn: 0",
        f"PreviewTime: {int(round(1000 * ordered[0].start_s))}", "Countdown: 0",
        "SampleSet: Normal", "StackLeniency: 0.7", "Mode: 0", "LetterboxInBreaks: 0",
        "WidescreenStoryboard: 0", "",
        "[Metadata]", f"Title:{_ascii(title, 'Untitled')}", f"TitleUnicode:{title}",
        f"Artist:{ARTIST}", f"ArtistUnicode:{ARTIST}", f"Creator:{CREATOR}",
        f"Version:{_osu_version(names)}", "Source:", "Tags:loopfind", "BeatmapID:0",
        "BeatmapSetID:-1", "",
        "[Difficulty]", *(f"{key}:{value}" for key, value in OSU_DIFFICULTY.items()), "",
        "[Events]", *([f'0,0,"{background}",0,0'] if background else []), "",
        "[TimingPoints]", f"{timing_ms},{beat_ms:.12g},4,1,0,100,1,0", "",
        "[HitObjects]",
    ]
    previous = None
    for e in ordered:
        x, y = _osu_position(names.index(e.sound), len(names))
        kind = 1 | (4 if e.sound != previous else 0)  # hit circle; a new sound = new combo
        lines.append(f"{x},{y},{int(round(1000 * e.start_s))},{kind},0,0:0:0:0:")
        previous = e.sound
    return "\n".join(lines) + "\n"


def osu_file_name(events: Sequence[Event], track: TrackInfo) -> str:
    """The beatmap's name inside the archive, as osu! names it: ``Artist - Title (Creator)
    [Version].osu``, in ASCII (zip tools disagree on other file names)."""
    version = _ascii(_osu_version(sounds_in_order(sorted_events(events))), "sounds")
    title = _ascii(track_title(track), "Untitled")
    return _file_part(f"{ARTIST} - {title} ({CREATOR}) [{version}]")[:200] + ".osu"


def osu_archive(events: Sequence[Event], track: TrackInfo, audio: Audio) -> bytes:
    """The ``.osz``: the beatmap, its audio and its background in one zip."""
    return _zip([
        (osu_file_name(events, track), osu_beatmap(events, track).encode()),
        (OSU_AUDIO_FILE, ogg_vorbis_bytes(audio)),
        (COVER_FILE, cover_png(audio, events)),
    ])


# ----- Beat Saber -------------------------------------------------------------------------------


def beat_saber_bpm(track: TrackInfo) -> float:
    """``_beatsPerMinute``: the estimated tempo to a thousandth (notes are placed with it)."""
    return round(tempo_bpm(track), 3)


def beat_saber_place(sound_index: int) -> tuple[int, int, int]:
    """Sound k's ``(_lineIndex, _lineLayer, _type)``: its own lane and layer; red notes left of
    the centre, blue ones right of it, as the sabers are held."""
    lane = BEAT_SABER_LANES[sound_index % len(BEAT_SABER_LANES)]
    layer = (sound_index // len(BEAT_SABER_LANES)) % BEAT_SABER_LAYERS
    return lane, layer, BEAT_SABER_RED if lane < 2 else BEAT_SABER_BLUE


def _compact(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def beat_saber_difficulty(events: Sequence[Event], track: TrackInfo) -> str:
    """The difficulty file (format 2.0.0): a note per event."""
    ordered = sorted_events(events)
    names = sounds_in_order(ordered)
    beats_per_second = beat_saber_bpm(track) / 60.0
    notes = []
    for e in ordered:
        lane, layer, colour = beat_saber_place(names.index(e.sound))
        notes.append({"_time": round(e.start_s * beats_per_second, 5), "_lineIndex": lane,
                      "_lineLayer": layer, "_type": colour,
                      "_cutDirection": BEAT_SABER_ANY_DIRECTION})
    return _compact({"_version": BEAT_SABER_VERSION, "_notes": notes, "_obstacles": [],
                     "_events": []})


def _place_words(sound_index: int) -> str:
    lane, layer, colour = beat_saber_place(sound_index)
    return (f"lane {lane + 1} of 4, {('bottom', 'middle', 'top')[layer]} row, "
            f"{'red' if colour == BEAT_SABER_RED else 'blue'}")


def beat_saber_info(events: Sequence[Event], track: TrackInfo, duration_s: float) -> str:
    """``Info.dat`` (format 2.0.0): the song, its cover and the one difficulty."""
    ordered = sorted_events(events)
    names = sounds_in_order(ordered)
    preview_s = round(max(0.0, min(ordered[0].start_s, duration_s - BEAT_SABER_PREVIEW_S)), 3)
    difficulty = dict(BEAT_SABER_DIFFICULTY)
    difficulty["_customData"] = {
        "_difficultyLabel": _osu_version(names)[:40],
        "_information": [f"{label_text(n)}: {_place_words(k)}" for k, n in enumerate(names)],
    }
    return _compact({
        "_version": BEAT_SABER_VERSION,
        "_songName": track_title(track),
        "_songSubName": "",
        "_songAuthorName": ARTIST,
        "_levelAuthorName": CREATOR,
        "_beatsPerMinute": beat_saber_bpm(track),
        "_songTimeOffset": 0,
        "_shuffle": 0,
        "_shufflePeriod": 0.5,
        "_previewStartTime": preview_s,
        "_previewDuration": round(min(BEAT_SABER_PREVIEW_S, duration_s - preview_s), 3),
        "_songFilename": BEAT_SABER_SONG_FILE,
        "_coverImageFilename": COVER_FILE,
        "_environmentName": "DefaultEnvironment",
        "_allDirectionsEnvironmentName": "GlassDesertEnvironment",
        "_difficultyBeatmapSets": [{"_beatmapCharacteristicName": "Standard",
                                    "_difficultyBeatmaps": [difficulty]}],
    })


def beat_saber_archive(events: Sequence[Event], track: TrackInfo, audio: Audio) -> bytes:
    """The map folder as a zip: ``Info.dat``, the difficulty, the song and the cover."""
    return _zip([
        ("Info.dat", beat_saber_info(events, track, audio.duration_s).encode()),
        (BEAT_SABER_DIFFICULTY["_beatmapFilename"],
         beat_saber_difficulty(events, track).encode()),
        (BEAT_SABER_SONG_FILE, ogg_vorbis_bytes(audio)),
        (COVER_FILE, cover_png(audio, events)),
    ])
