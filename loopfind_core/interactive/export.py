"""Export found occurrences: CSV, JSON for game engines, Audacity labels, MIDI markers.

Every format takes the same list of :class:`Event` — one per occurrence (the query included),
for one or several sounds hunted in the same track — and returns text or bytes; nothing here
touches the file system, so the app can offer each as a download and the CLI can write it.

Formats:

- CSV: ``sound,start,end,duration,confidence`` (seconds, 3 decimals).
- Library CSV (a hunt across many tracks): ``track,start,end`` (seconds into that track,
  3 decimals), in track and time order.
- JSON: with one sound, ``{"track", "sample_rate", "tempo", "sound", "events": [{"time",
  "duration", "sample", "beat", "confidence"}]}``; with several, ``{"track", "sample_rate",
  "tempo", "sounds": [{"sound", "events": [...]}, ...]}``. ``time`` and ``duration`` are
  seconds, ``sample`` the start as a sample index at the original file's ``sample_rate``,
  ``beat`` the start on the beat grid (fractional beats from the first beat; null without a
  grid), ``tempo`` BPM (null without a grid).
- Audacity label track: ``start<TAB>end<TAB>label`` per line (seconds, 6 decimals).
- MIDI (type 1, 480 ticks per beat, the estimated tempo): per event a marker meta message with
  the sound's name and a note (one pitch per sound, velocity from the confidence) lasting the
  event's duration.
- osu! beatmap (``osu file format v14``, standard mode): one uninherited timing point at the
  first beat with the estimated tempo, and a hit circle per event at its start (ms); each sound
  has its own place on the 512 × 384 playfield and starts a new combo.
- Beat Saber difficulty (v2 ``_notes`` layout, as in ``ExpertStandard.dat``): a note per event
  at ``_time`` = start in beats at the estimated tempo (seconds × BPM / 60); each sound has its
  own lane, layer and colour, cut direction any.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from loopfind_core.base.beats import BeatGrid
from loopfind_core.base.errors import SelectionError
from loopfind_core.library.hunt import LibraryEvent
from loopfind_core.retrieval.session import RetrievalSession

MIDI_TICKS_PER_BEAT = 480
MIDI_DEFAULT_TEMPO_BPM = 120.0  # used when the track has no beat grid
MIDI_FIRST_NOTE = 36  # C2: sound k gets note 36 + k (a drum-pad row in most DAWs)
CSV_COLUMNS = ("sound", "start", "end", "duration", "confidence")
LIBRARY_CSV_COLUMNS = ("track", "start", "end")
FORMATS = {  # name → (file extension, MIME type)
    "csv": ("csv", "text/csv"),
    "json": ("json", "application/json"),
    "audacity": ("txt", "text/plain"),
    "midi": ("mid", "audio/midi"),
    "osu": ("osu", "text/plain"),
    "beatsaber": ("dat", "application/json"),
}
OSU_PLAYFIELD = (512, 384)  # osu! pixels
BEAT_SABER_LANES, BEAT_SABER_LAYERS = 4, 3
BEAT_SABER_ANY_DIRECTION = 8


@dataclass(frozen=True)
class Event:
    """One occurrence of a sound in the track."""

    sound: str  # the user's name for the sound
    start_s: float  # seconds from the start of the track
    duration_s: float
    confidence: float  # 0…1: how close it is to the query (1 = identical)

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class TrackInfo:
    """What the exports say about the track."""

    name: str  # display name of the audio file
    sample_rate_hz: int  # the original file's sample rate
    beats: BeatGrid


def session_events(session: RetrievalSession, sound: str) -> list[Event]:
    """The query and every confirmed occurrence of a hunt, as events of ``sound``, each start
    refined below a frame (:meth:`RetrievalSession.refined_start_s`) and the duration the
    query's."""
    duration = session.query.duration_s
    return [
        Event(sound, session.refined_start_s(c), duration, session.confidence(c))
        for c in [session.query, *session.found]
    ]


def sounds_in_order(events: Sequence[Event]) -> list[str]:
    """Sound names in order of first appearance."""
    return list(dict.fromkeys(e.sound for e in events))


def _sorted(events: Sequence[Event]) -> list[Event]:
    if not events:
        raise SelectionError("Nothing to export yet: confirm at least one occurrence first.")
    return sorted(events, key=lambda e: (e.start_s, e.sound))


def to_csv(events: Sequence[Event]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in _sorted(events):
        writer.writerow([e.sound, f"{e.start_s:.3f}", f"{e.end_s:.3f}", f"{e.duration_s:.3f}",
                         f"{e.confidence:.3f}"])
    return out.getvalue()


def library_events_csv(events: Sequence[LibraryEvent]) -> str:
    """A library hunt's occurrences (:meth:`~loopfind_core.library.hunt.LibraryHunt.events`)
    as CSV: ``track,start,end``, seconds into the track, in track and time order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LIBRARY_CSV_COLUMNS)
    for e in sorted(events, key=lambda e: (e.track, e.start_s)):
        writer.writerow([e.track, f"{e.start_s:.3f}", f"{e.end_s:.3f}"])
    return out.getvalue()


def _json_event(event: Event, track: TrackInfo) -> dict:
    beat = track.beats.beat_position(event.start_s)
    return {
        "time": round(event.start_s, 6),
        "duration": round(event.duration_s, 6),
        "sample": int(round(event.start_s * track.sample_rate_hz)),
        "beat": None if math.isnan(beat) else round(beat, 4),
        "confidence": round(event.confidence, 4),
    }


def to_json(events: Sequence[Event], track: TrackInfo) -> str:
    ordered = _sorted(events)
    document: dict = {
        "track": track.name,
        "sample_rate": track.sample_rate_hz,
        "tempo": round(track.beats.tempo_bpm, 3) if track.beats.has_beats else None,
    }
    per_sound = [
        {"sound": name, "events": [_json_event(e, track) for e in ordered if e.sound == name]}
        for name in sounds_in_order(ordered)
    ]
    if len(per_sound) == 1:
        document |= per_sound[0]
    else:
        document["sounds"] = per_sound
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _label_text(name: str) -> str:
    """Labels are one line with no tabs, whatever the user typed."""
    return " ".join(name.split()) or "sound"


def to_audacity_labels(events: Sequence[Event]) -> str:
    return "".join(
        f"{e.start_s:.6f}\t{e.end_s:.6f}\t{_label_text(e.sound)}\n" for e in _sorted(events)
    )


def to_midi(events: Sequence[Event], track: TrackInfo) -> bytes:
    import mido

    ordered = _sorted(events)
    tempo_bpm = _tempo_bpm(track)
    ticks_per_second = MIDI_TICKS_PER_BEAT * tempo_bpm / 60.0
    pitch = {name: MIDI_FIRST_NOTE + k for k, name in enumerate(sounds_in_order(ordered))}
    timed: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []  # (tick, order, message)
    for e in ordered:
        on = int(round(e.start_s * ticks_per_second))
        off = max(on + 1, int(round(e.end_s * ticks_per_second)))
        velocity = max(1, min(127, int(round(1 + 126 * e.confidence))))
        timed.append((on, 1, mido.MetaMessage("marker", text=_label_text(e.sound))))
        timed.append((on, 2, mido.Message("note_on", note=pitch[e.sound], velocity=velocity)))
        timed.append((off, 0, mido.Message("note_off", note=pitch[e.sound], velocity=0)))
    midi_track = mido.MidiTrack()
    midi_track.append(mido.MetaMessage("track_name", name=_label_text(track.name), time=0))
    midi_track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    now = 0
    for tick, _, message in sorted(timed, key=lambda item: (item[0], item[1])):
        midi_track.append(message.copy(time=tick - now))
        now = tick
    midi_track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=1, ticks_per_beat=MIDI_TICKS_PER_BEAT)
    midi.tracks.append(midi_track)
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


def _tempo_bpm(track: TrackInfo) -> float:
    return track.beats.tempo_bpm if track.beats.has_beats else MIDI_DEFAULT_TEMPO_BPM


def _osu_position(sound_index: int, n_sounds: int) -> tuple[int, int]:
    """Sound k's place on the playfield: evenly round an ellipse inside the 512 × 384 field."""
    angle = 2 * math.pi * sound_index / max(1, n_sounds)
    width, height = OSU_PLAYFIELD
    return (int(round(width / 2 + 0.35 * width * math.cos(angle))),
            int(round(height / 2 + 0.35 * height * math.sin(angle))))


def to_osu(events: Sequence[Event], track: TrackInfo) -> str:
    ordered = _sorted(events)
    names = sounds_in_order(ordered)
    tempo = _tempo_bpm(track)
    offset_ms = int(round(1000 * track.beats.beat_times_s[0])) if track.beats.has_beats else 0
    title = _label_text(track.name.rsplit(".", 1)[0]).replace(",", " ")
    lines = [
        "osu file format v14", "",
        "[General]", f"AudioFilename: {_label_text(track.name)}", "AudioLeadIn: 0",
        "PreviewTime: -1", "Countdown: 0", "SampleSet: Normal", "StackLeniency: 0.7", "Mode: 0",
        "", "[Metadata]", f"Title:{title}", f"TitleUnicode:{title}", "Artist:Unknown",
        "ArtistUnicode:Unknown", "Creator:Loopfind", "Version:" + " + ".join(
            _label_text(n).replace(",", " ") for n in names), "Source:", "Tags:loopfind",
        "", "[Difficulty]", "HPDrainRate:5", "CircleSize:4", "OverallDifficulty:5",
        "ApproachRate:7", "SliderMultiplier:1.4", "SliderTickRate:1",
        "", "[TimingPoints]", f"{offset_ms},{60000.0 / tempo:.6f},4,1,0,100,1,0",
        "", "[HitObjects]",
    ]
    previous = None
    for e in ordered:
        x, y = _osu_position(names.index(e.sound), len(names))
        kind = 1 | (4 if e.sound != previous else 0)  # hit circle; a new sound = new combo
        lines.append(f"{x},{y},{int(round(1000 * e.start_s))},{kind},0,0:0:0:0:")
        previous = e.sound
    return "\n".join(lines) + "\n"


def to_beat_saber(events: Sequence[Event], track: TrackInfo) -> str:
    ordered = _sorted(events)
    names = sounds_in_order(ordered)
    beats_per_second = _tempo_bpm(track) / 60.0
    notes = []
    for e in ordered:
        k = names.index(e.sound)
        notes.append({
            "_time": round(e.start_s * beats_per_second, 4),
            "_lineIndex": k % BEAT_SABER_LANES,
            "_lineLayer": (k // BEAT_SABER_LANES) % BEAT_SABER_LAYERS,
            "_type": k % 2,  # 0 red, 1 blue
            "_cutDirection": BEAT_SABER_ANY_DIRECTION,
        })
    document = {"_version": "2.2.0", "_notes": notes, "_obstacles": [], "_events": [],
                "_customData": {"_bpm": round(_tempo_bpm(track), 3), "_sounds": names}}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def export(events: Sequence[Event], track: TrackInfo, fmt: str) -> bytes:
    """The events in format ``fmt`` (a key of :data:`FORMATS`), as bytes ready to download."""
    if fmt == "csv":
        return to_csv(events).encode()
    if fmt == "json":
        return to_json(events, track).encode()
    if fmt == "audacity":
        return to_audacity_labels(events).encode()
    if fmt == "midi":
        return to_midi(events, track)
    if fmt == "osu":
        return to_osu(events, track).encode()
    if fmt == "beatsaber":
        return to_beat_saber(events, track).encode()
    raise SelectionError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")


EXTENSION_FORMATS = {"csv": "csv", "json": "json", "txt": "audacity", "mid": "midi",
                     "midi": "midi", "osu": "osu", "dat": "beatsaber"}


def format_of_path(path: str) -> str:
    """The export format a file name asks for, by its extension."""
    extension = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    if extension not in EXTENSION_FORMATS:
        raise SelectionError(
            f"Cannot tell the export format of {str(path)!r}: use one of the extensions "
            f"{', '.join('.' + e for e in EXTENSION_FORMATS)}."
        )
    return EXTENSION_FORMATS[extension]


def export_file_name(track: TrackInfo, fmt: str) -> str:
    """A safe download name: the track's stem (letters, digits, - and _ only) + the format's
    extension. User-typed names never reach a path."""
    stem = track.name.rsplit(".", 1)[0]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem).strip("_")
    return f"{safe or 'track'}-loopfind.{FORMATS[fmt][0]}"
