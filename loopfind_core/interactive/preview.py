"""What the Preview plays: the track as compressed audio, and a JSON-ready document of its
lanes, events, beats and waveform, built from the same events every export gets
(:meth:`~loopfind_core.interactive.workspace.Workspace.events`, latency offset included).

Also the demo's "preview a demo sound": hunt an annotated sound of the track by answering the
hunt from the ground truth (the simulated user of :mod:`loopfind_core.corpus.truth`), so a
first visit has events to play without any hunting.

Nothing here draws or plays: the app's component (``loopfind_app/preview_component/``) does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from loopfind_core.base.audio import Audio, ogg_vorbis_bytes
from loopfind_core.base.beats import BeatGrid
from loopfind_core.corpus.dataset import SoundTruth
from loopfind_core.corpus.truth import simulate_user
from loopfind_core.interactive.export import Event
from loopfind_core.interactive.figures import Envelope
from loopfind_core.interactive.workspace import Hunt, Workspace

PREVIEW_COLUMNS = 1200  # waveform columns sent to the browser (max-pooled from the envelope)
MAX_BEATS_SENT = 4000  # beat lines drawn (a 6-minute track at 128 BPM has ~770)


def preview_audio(audio: Audio) -> bytes:
    """The whole track as the browser decodes it: OGG Vorbis at the analysis rate (mono)."""
    return ogg_vorbis_bytes(audio)


def _pooled(values: np.ndarray, columns: int, reduce) -> list[float]:
    if len(values) == 0:
        return []
    bounds = np.linspace(0, len(values), min(columns, len(values)) + 1).astype(int)
    return [round(float(v), 4) for v in reduce.reduceat(values, bounds[:-1])]


def preview_document(events: Sequence[Event], duration_s: float, envelope: Envelope | None,
                     beats: BeatGrid | None = None, offset_ms: float = 0.0,
                     track_name: str = "track", columns: int = PREVIEW_COLUMNS) -> dict:
    """Everything the Preview draws, JSON-ready: one lane per sound (in order of first
    appearance), the events (seconds, already shifted by the offset, in time order, each with
    its lane), the beat grid, and the waveform as min/max per column.

    ``offset_ms`` is shown, not applied: ``events`` come from ``Workspace.events()``, which has
    applied it, so the preview plays exactly what the exports hold.
    """
    ordered = sorted(events, key=lambda e: (e.start_s, e.sound))
    lanes = list(dict.fromkeys(e.sound for e in ordered))  # in order of first appearance
    lane_of = {name: k for k, name in enumerate(lanes)}
    beat_times = beats.beat_times_s if beats is not None and beats.has_beats else np.array([])
    return {
        "track": str(track_name),
        "duration": round(float(duration_s), 6),
        "offsetMs": round(float(offset_ms), 3),
        "lanes": [{"name": name, "count": sum(e.sound == name for e in ordered)}
                  for name in lanes],
        "events": [{"t": round(e.start_s, 6), "d": round(e.duration_s, 6),
                    "lane": lane_of[e.sound], "c": round(_finite(e.chance), 4)}
                   for e in ordered],
        "beats": [round(float(t), 4) for t in beat_times[:MAX_BEATS_SENT]],
        "tempo": round(float(beats.tempo_bpm), 3) if len(beat_times) else None,
        "envelope": {
            "low": _pooled(envelope.low, columns, np.minimum) if envelope is not None else [],
            "high": _pooled(envelope.high, columns, np.maximum) if envelope is not None else [],
        },
    }


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0


def demo_sounds(workspace: Workspace) -> list[SoundTruth]:
    """The track's annotated sounds not hunted yet, most occurrences first (loops before
    samples on a tie): the order "preview a demo sound" hunts them in."""
    return sorted((s for s in workspace.truth if s.sound not in workspace.hunts),
                  key=lambda s: (-len(s.occurrences), s.category != "loop", s.sound))


def hunt_from_truth(workspace: Workspace, sound: SoundTruth, kind: str) -> Hunt:
    """Hunt ``sound`` (its first occurrence as the query) with features ``kind``, answering
    every proposal from the ground truth until the hunt ends; the hunt is named after the
    sound and kept in the workspace like any other (it becomes the current one). Interrupted
    (the app stops a run when the user clicks again), it leaves no half-answered hunt."""
    first = sound.occurrences[0]
    workspace.select(first.start_s, first.duration_s)
    hunt = workspace.start_hunt(kind, sound=sound.sound)
    try:
        simulate_user(hunt.session, sound.occurrences, 0)
    except BaseException:
        workspace.forget(hunt.sound)
        raise
    return hunt
