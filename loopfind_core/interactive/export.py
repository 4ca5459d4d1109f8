"""Export found occurrences: CSV, versioned JSON, Audacity labels, MIDI, and game-ready packages
for osu! and Beat Saber.

Every format takes the same list of :class:`Event` — one per occurrence (the query included),
for one or several sounds hunted in the same track — and returns text or bytes; nothing here
touches the file system, so the app can offer each as a download and the CLI can write it.
The two game packages (:mod:`.game_packages`) hold the song too: :func:`export` needs the
track's audio for them. The formats, field by field: ``docs/exports.md``.

Formats (keys of :data:`FORMATS`):

- ``csv``: ``sound,start,end,duration,chance`` (seconds, 3 decimals; ``chance`` 0…1).
- ``json``: one shape whatever the number of sounds, versioned and published as a JSON Schema
  (``events.schema.json`` beside this module): ``{"schema_version", "track": {"name",
  "sample_rate_hz", "tempo_bpm", "first_beat_s"}, "sounds": [{"name", "events": [{"start_s",
  "end_s", "duration_s", "start_sample", "beat", "chance"}]}]}``.
- ``audacity``: a label track, ``start<TAB>end<TAB>label`` per line (seconds, 6 decimals).
- ``midi``: type 1, 480 ticks per beat, the estimated tempo; per event a marker with the
  sound's name and a note (one pitch per sound, velocity from the chance).
- ``osz``: an osu! beatmap archive (beatmap, audio, background).
- ``beatsaber``: a Beat Saber map folder as a zip (``Info.dat``, one difficulty, song, cover).

Also the library CSV (a hunt across many tracks): ``track,start,end`` (seconds into that
track), and :func:`library_track_events`, which turns one track's share of a library hunt into
events that export through every format above.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence

from loopfind_core.base.audio import Audio
from loopfind_core.base.errors import SelectionError
from loopfind_core.interactive.events import (
    Event,
    TrackInfo,
    label_text,
    sorted_events,
    sounds_in_order,
    tempo_bpm,
)
from loopfind_core.interactive.game_packages import beat_saber_archive, osu_archive
from loopfind_core.library.hunt import LibraryEvent, LibraryHunt
from loopfind_core.retrieval.session import RetrievalSession

EVENTS_SCHEMA_VERSION = "2.0"  # events.schema.json beside this module; a new major = breaking
MIDI_TICKS_PER_BEAT = 480
MIDI_FIRST_NOTE = 36  # C2: sound k gets note 36 + k (a drum-pad row in most DAWs)
CSV_COLUMNS = ("sound", "start", "end", "duration", "chance")
LIBRARY_CSV_COLUMNS = ("track", "start", "end")
LIBRARY_SOUND = "sound"  # a library hunt's events' sound name (the hunt has no name)
FORMATS = {  # name → (file extension, MIME type)
    "csv": ("csv", "text/csv"),
    "json": ("json", "application/json"),
    "audacity": ("txt", "text/plain"),
    "midi": ("mid", "audio/midi"),
    "osz": ("osz", "application/octet-stream"),  # a zip; octet-stream keeps browsers off it
    "beatsaber": ("zip", "application/zip"),
}
FORMAT_LABELS = {  # name → what a download button or a message calls it
    "csv": "CSV", "json": "JSON (game engines)", "audacity": "Audacity labels",
    "midi": "MIDI markers", "osz": "osu! beatmap (.osz)", "beatsaber": "Beat Saber map (.zip)",
}
PACKAGE_FORMATS = ("osz", "beatsaber")  # they hold the song: export() needs the audio
FILE_SUFFIXES = {"beatsaber": "-beatsaber"}  # "x-loopfind-beatsaber.zip", not "x-loopfind.zip"


def session_events(session: RetrievalSession, sound: str) -> list[Event]:
    """The query and every confirmed occurrence of a hunt, as events of ``sound``, each start
    refined below a frame (:meth:`RetrievalSession.refined_start_s`), the duration the
    query's, and the chance it had when shown (:meth:`RetrievalSession.answer_chances`, as
    the Hunt page's found table shows it; 1 for the query)."""
    duration = session.query.duration_s
    chance_of = session.answer_chances()
    return [Event(sound, session.refined_start_s(session.query), duration, 1.0)] + [
        Event(sound, session.refined_start_s(c), duration, chance_of[c.start_frame])
        for c in session.found
    ]


def library_track_events(hunt: LibraryHunt, track: str, sound: str = LIBRARY_SOUND
                         ) -> list[Event]:
    """The events a library hunt found in the indexed track ``track`` (the query included
    when it is there), with the chance each had when shown (1 for the query), in time order:
    what the per-track formats of the Library page export."""
    session = hunt.session
    chance_of = {session.query.start_frame: 1.0, **session.answer_chances()}
    events = []
    for candidate in [session.query, *session.found]:
        name, at_s = hunt.location(candidate)
        if name == track:
            events.append(Event(sound, at_s, candidate.duration_s,
                                chance_of[candidate.start_frame]))
    return sorted(events, key=lambda e: e.start_s)


def to_csv(events: Sequence[Event]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in sorted_events(events):
        writer.writerow([e.sound, f"{e.start_s:.3f}", f"{e.end_s:.3f}", f"{e.duration_s:.3f}",
                         f"{e.chance:.3f}"])
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
        "start_s": round(event.start_s, 6),
        "end_s": round(event.end_s, 6),
        "duration_s": round(event.duration_s, 6),
        "start_sample": int(round(event.start_s * track.sample_rate_hz)),
        "beat": None if math.isnan(beat) else round(beat, 4),
        "chance": round(min(1.0, max(0.0, event.chance)), 4),
    }


def to_json_document(events: Sequence[Event], track: TrackInfo) -> dict:
    """The JSON export as a dict (schema ``loopfind_core/interactive/events.schema.json``, version
    :data:`EVENTS_SCHEMA_VERSION`): the track, then each sound in order of first appearance
    with its events in time order. The shape never depends on the number of sounds."""
    ordered = sorted_events(events)
    grid = track.beats.has_beats
    return {
        "schema_version": EVENTS_SCHEMA_VERSION,
        "track": {
            "name": track.name,
            "sample_rate_hz": track.sample_rate_hz,
            "tempo_bpm": round(track.beats.tempo_bpm, 3) if grid else None,
            "first_beat_s": round(float(track.beats.beat_times_s[0]), 6) if grid else None,
        },
        "sounds": [
            {"name": name, "events": [_json_event(e, track) for e in ordered if e.sound == name]}
            for name in sounds_in_order(ordered)
        ],
    }


def to_json(events: Sequence[Event], track: TrackInfo) -> str:
    return json.dumps(to_json_document(events, track), indent=2, ensure_ascii=False) + "\n"


def to_audacity_labels(events: Sequence[Event]) -> str:
    return "".join(
        f"{e.start_s:.6f}\t{e.end_s:.6f}\t{label_text(e.sound)}\n" for e in sorted_events(events)
    )


def to_midi(events: Sequence[Event], track: TrackInfo) -> bytes:
    import mido

    ordered = sorted_events(events)
    bpm = tempo_bpm(track)
    ticks_per_second = MIDI_TICKS_PER_BEAT * bpm / 60.0
    pitch = {name: MIDI_FIRST_NOTE + k for k, name in enumerate(sounds_in_order(ordered))}
    timed: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []  # (tick, order, message)
    for e in ordered:
        on = int(round(e.start_s * ticks_per_second))
        off = max(on + 1, int(round(e.end_s * ticks_per_second)))
        velocity = max(1, min(127, int(round(1 + 126 * e.chance))))
        timed.append((on, 1, mido.MetaMessage("marker", text=label_text(e.sound))))
        timed.append((on, 2, mido.Message("note_on", note=pitch[e.sound], velocity=velocity)))
        timed.append((off, 0, mido.Message("note_off", note=pitch[e.sound], velocity=0)))
    midi_track = mido.MidiTrack()
    midi_track.append(mido.MetaMessage("track_name", name=label_text(track.name), time=0))
    midi_track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
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


def export(events: Sequence[Event], track: TrackInfo, fmt: str,
           audio: Audio | None = None) -> bytes:
    """The events in format ``fmt`` (a key of :data:`FORMATS`), as bytes ready to download.
    ``audio``: the track's audio, needed by the packages (:data:`PACKAGE_FORMATS`), which
    hold the song; the other formats ignore it.

    Raises:
        SelectionError: no events, an unknown format, or a package asked without the audio."""
    if fmt not in FORMATS:
        raise SelectionError(f"Unknown export format {fmt!r}; choose one of "
                             f"{', '.join(FORMATS)}.")
    if fmt in PACKAGE_FORMATS and audio is None:
        raise SelectionError(f"The {FORMAT_LABELS[fmt]} holds the song itself: export it "
                             "with the track's audio.")
    if fmt == "csv":
        return to_csv(events).encode()
    if fmt == "json":
        return to_json(events, track).encode()
    if fmt == "audacity":
        return to_audacity_labels(events).encode()
    if fmt == "midi":
        return to_midi(events, track)
    if fmt == "osz":
        return osu_archive(events, track, audio)
    return beat_saber_archive(events, track, audio)


EXTENSION_FORMATS = {"csv": "csv", "json": "json", "txt": "audacity", "mid": "midi",
                     "midi": "midi", "osz": "osz", "zip": "beatsaber"}


def format_of_path(path: str) -> str:
    """The export format a file name asks for, by its extension (``.zip``: the Beat Saber
    map)."""
    extension = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    if extension not in EXTENSION_FORMATS:
        raise SelectionError(
            f"Cannot tell the export format of {str(path)!r}: use one of the extensions "
            f"{', '.join('.' + e for e in EXTENSION_FORMATS)}."
        )
    return EXTENSION_FORMATS[extension]


def export_file_name(track: TrackInfo | str, fmt: str) -> str:
    """A safe download name: the track's stem (letters, digits, - and _ only) + the format's
    extension; ``track``: its info or its file name. User-typed names never reach a path."""
    name = track.name if isinstance(track, TrackInfo) else str(track)
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem).strip("_")
    return f"{safe or 'track'}-loopfind{FILE_SUFFIXES.get(fmt, '')}.{FORMATS[fmt][0]}"
