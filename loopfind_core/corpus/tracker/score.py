"""The score of one play of a module: when each row started, which notes started where, and the
pattern plays, all on the clock of the render that was logged (sample counts, not libxmp's
millisecond timer), so the truth and the audio cannot drift apart.

- A **row start** is a logged frame with frame number 0 (a pattern delay ``EEx`` repeats a row
  without resetting the frame counter, so it is still one row start).
- A **note** is an event with a note number (not key off/cut/fade) and no tone portamento
  (``3xx``/``5xx``, which glide the playing note instead of starting one). Its onset is the
  first sample of the row's frame ``x`` under a note delay ``EDx`` (S3M/IT ``SDx`` load as the
  same effect); a delay past the row's last frame never plays and is skipped. The instrument is
  the event's, or the channel's last one (tracker memory).
- A **pattern play** is a run of rows at one order position; its content is what decides
  repetition: the speed and bpm it starts at and every played row's events (instruments
  resolved where a note plays), for all channels (the pattern) or one (a channel's column).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loopfind_core.corpus.tracker.libxmp import SAMPLE_RATE_HZ, XMP_KEY_OFF, ModuleData, Render

FX_ARPEGGIO, FX_PORTA_UP, FX_PORTA_DN, FX_TONEPORTA, FX_TONE_VSLIDE = 0x00, 0x01, 0x02, 0x03, 0x05
FX_OFFSET, FX_EXTENDED, FX_MULTI_RETRIG, FX_HIOFFSET = 0x09, 0x0E, 0x1B, 0x8C
FX_S3M_ARPEGGIO = 0xB4
EX_F_PORTA_UP, EX_F_PORTA_DN, EX_RETRIG, EX_DELAY = 0x1, 0x2, 0x9, 0xD
TONE_PORTAMENTO = frozenset({FX_TONEPORTA, FX_TONE_VSLIDE, 0x62, 0x68, 0x7A})
PITCH_EFFECTS = frozenset({FX_PORTA_UP, FX_PORTA_DN, FX_MULTI_RETRIG, FX_S3M_ARPEGGIO,
                           0x60, 0x61, 0x73, 0x74, 0x75, 0x76, 0x78, 0x79, 0x9C, 0x9D, 0x9E, 0x9F,
                           0xAF, 0xB0, 0xB2, 0xB8, 0xB9}) | TONE_PORTAMENTO
PITCH_EXTENDED = frozenset({EX_F_PORTA_UP, EX_F_PORTA_DN, EX_RETRIG})


@dataclass(frozen=True)
class Note:
    """One note that started: where, on which channel, and what sound it is."""

    channel: int
    instrument: int  # libxmp's 1-based instrument number
    note: int  # libxmp's note number (1-based semitones)
    offset: int  # sample offset parameter (9xx), 0 if none: part of the sound's identity
    row_index: int  # index into Score.row_starts
    onset_sample: int
    pitch_altered: bool = False  # arpeggio, portamento or retrigger while it sounds

    @property
    def onset_s(self) -> float:
        return self.onset_sample / SAMPLE_RATE_HZ

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.instrument, self.note, self.offset)


@dataclass(frozen=True)
class PatternPlay:
    """One run of rows at one order position."""

    pos: int
    pattern: int
    first_row: int  # index into Score.row_starts
    last_row: int  # inclusive
    start_sample: int
    end_sample: int  # the next row's start, or the end of the render
    complete: bool  # False for a play the render cut short (the 5-minute limit)
    content: tuple  # speed, bpm and every row's events of every channel
    columns: tuple[tuple, ...]  # per channel: speed, bpm and its events (None: no note)


@dataclass(frozen=True)
class Score:
    """Row starts, notes and pattern plays of one render."""

    channels: int
    n_samples: int
    row_starts: np.ndarray  # int64 (rows, 6): sample, pos, pattern, row, speed, bpm
    notes: tuple[Note, ...]
    plays: tuple[PatternPlay, ...]


def _frame_sample(frames: np.ndarray, first: int, frame: int) -> int | None:
    """First sample of frame ``frame`` of the row whose frame 0 is log entry ``first``."""
    index = first + frame
    if index < len(frames) and frames[index, 4] == frame and all(
            frames[index, 1:4] == frames[first, 1:4]):
        return int(frames[index, 0])
    return None


def _effects(event: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    return (int(event[3]), int(event[4])), (int(event[5]), int(event[6]))


def _note_delay(event: np.ndarray) -> int:
    for fxt, fxp in _effects(event):
        if fxt == FX_EXTENDED and fxp >> 4 == EX_DELAY:
            return fxp & 0x0F
    return 0


def _changes_pitch(event: np.ndarray) -> bool:
    for fxt, fxp in _effects(event):
        if fxt in PITCH_EFFECTS or (fxt == FX_ARPEGGIO and fxp != 0):
            return True
        if fxt == FX_EXTENDED and fxp >> 4 in PITCH_EXTENDED and fxp & 0x0F:
            return True
    return False


def _offset(event: np.ndarray) -> int:
    for fxt, fxp in _effects(event):
        if fxt in (FX_OFFSET, FX_HIOFFSET):
            return fxt << 8 | fxp
    return 0


def _is_tone_portamento(event: np.ndarray) -> bool:
    return any(fxt in TONE_PORTAMENTO for fxt, _ in _effects(event))


def build_score(module: ModuleData, render: Render, altered_window_s: float = 2.0) -> Score:
    """Read the score off a logged render (any render of the module: they share one clock).

    ``altered_window_s``: how long after its onset a pitch effect on the note's channel (before
    the channel's next note) marks the note :attr:`Note.pitch_altered`.
    """
    frames = render.frames
    starts = np.flatnonzero(frames[:, 4] == 0) if len(frames) else np.zeros(0, np.int64)
    row_starts = frames[starts][:, [0, 1, 2, 3, 5, 6]] if len(starts) else np.zeros((0, 6),
                                                                                    np.int64)
    n_samples = len(render.audio)
    channels = module.channels
    last_instrument = [0] * channels
    notes: list[Note] = []
    open_notes: list[int | None] = [None] * channels  # index in notes of the sounding note
    resolved_rows: list[tuple] = []
    for r, entry in enumerate(starts):
        _, pos, pattern, row = (int(x) for x in frames[entry, :4])
        cells = []
        for c in range(channels):
            event = module.event(pattern, row, c)
            note, ins = int(event[0]), int(event[1])
            if ins:
                last_instrument[c] = ins
            played = ins or (last_instrument[c] if 0 < note < XMP_KEY_OFF else 0)
            cells.append((note, played, *(int(x) for x in event[2:7])))
            begins = (0 < note < XMP_KEY_OFF and not _is_tone_portamento(event)
                      and last_instrument[c] > 0)
            sounding = open_notes[c]
            if not begins and sounding is not None and _changes_pitch(event):
                old = notes[sounding]
                if row_starts[r, 0] - old.onset_sample < altered_window_s * SAMPLE_RATE_HZ:
                    notes[sounding] = _altered(old)
            if note >= XMP_KEY_OFF:
                open_notes[c] = None
            if not begins:
                continue
            onset = _frame_sample(frames, int(entry), _note_delay(event))
            if onset is None:
                continue
            notes.append(Note(c, last_instrument[c], note, _offset(event), r, onset,
                              pitch_altered=_changes_pitch(event)))
            open_notes[c] = len(notes) - 1
        resolved_rows.append(tuple(cells))
    plays = _pattern_plays(row_starts, resolved_rows, n_samples, render.ended_by, channels)
    return Score(channels, n_samples, row_starts, tuple(notes), plays)


def _altered(note: Note) -> Note:
    return Note(note.channel, note.instrument, note.note, note.offset, note.row_index,
                note.onset_sample, pitch_altered=True)


def _pattern_plays(row_starts: np.ndarray, rows: list[tuple], n_samples: int, ended_by: str,
                   channels: int) -> tuple[PatternPlay, ...]:
    plays = []
    first = 0
    for r in range(1, len(rows) + 1):
        if r < len(rows) and row_starts[r, 1] == row_starts[first, 1]:
            continue
        end = int(row_starts[r, 0]) if r < len(rows) else n_samples
        complete = r < len(rows) or ended_by != "limit"
        tempo = (int(row_starts[first, 4]), int(row_starts[first, 5]))
        played = rows[first:r]
        columns = tuple(
            (*tempo, tuple(row[c] for row in played))
            if any(0 < row[c][0] < XMP_KEY_OFF for row in played) else None
            for c in range(channels))
        plays.append(PatternPlay(
            pos=int(row_starts[first, 1]), pattern=int(row_starts[first, 2]), first_row=first,
            last_row=r - 1, start_sample=int(row_starts[first, 0]), end_sample=end,
            complete=complete, content=(*tempo, tuple(played)), columns=columns))
        first = r
    return tuple(plays)
