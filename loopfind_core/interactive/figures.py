"""Plotly figures of a track and a hunt, shared by the app and the reports.

Every time axis is in seconds. Colours are chosen to read on light and dark backgrounds
(mid-tones, semi-transparent fills); the app lets Streamlit's theme set the background.

Spectrograms are drawn on a fixed scale in dB, never stretched to each image's own range:
the track's picture spans its peak down to :data:`TRACK_RANGE_DB` below it (the floor of
the log-mel itself), so silence and the end of a fade are the colour map's floor (black);
the small pictures of a hunt share one scale (:func:`picture_range`) that fits the sound
they show, loud or quiet. The colour map is Magma with its floor written ``#000000``:
Streamlit's Plotly theme replaces the colours ``#000001``–``#000040`` with theme colours,
and Plotly's own Magma starts at ``#000004``, which the theme turns pink.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from loopfind_core.base.beats import BeatGrid
from loopfind_core.corpus.dataset import Occurrence

if TYPE_CHECKING:  # compare imports torch (seconds): the app's first page must not wait for it
    from loopfind_core.interactive.compare import DistanceCurve

ENVELOPE_POINTS = 2400  # waveform columns drawn: enough for a full-width plot
MEL_COLUMNS = 1600  # spectrogram columns drawn (max-pooled)
COLORS = {
    "wave": "#5B8DEF",
    "query": "#4C78A8",
    "found": "#2CA02C",
    "rejected": "#D62728",
    "candidate": "#FF9F1C",
    "truth": "#9467BD",
    "beat": "rgba(128,128,128,0.35)",
}
MEL_COLORSCALE = [  # Magma, its floor black (#000004 is a Streamlit theme placeholder)
    [0.0, "#000000"], [1 / 9, "#180f3d"], [2 / 9, "#440f76"], [3 / 9, "#721f81"],
    [4 / 9, "#9e2f7f"], [5 / 9, "#cd4071"], [6 / 9, "#f1605d"], [7 / 9, "#fd9668"],
    [8 / 9, "#feca8d"], [1.0, "#fcfdbf"],
]
TRACK_RANGE_DB = 80.0  # the track's picture: its peak down to this far below (= the log-mel's)
PICTURE_RANGE_DB = 60.0  # the hunt's small pictures: never more than this below their peak
PICTURE_MIN_RANGE_DB = 24.0  # ... nor less (a flat window must not look like a loud one)
PICTURE_PERCENTILES = (5.0, 99.5)  # robust low and high of the values a picture shows
KIND_COLORS = {"mfcc": "#E45756", "mel": "#72B7B2", "mel-std": "#54A24B", "learned": "#4C78A8",
               "fused": "#B279A2"}
REGION_OPACITY = 0.3


@dataclass(frozen=True)
class Envelope:
    """A waveform reduced to min/max per column."""

    times_s: np.ndarray  # (columns,) column start times
    low: np.ndarray  # (columns,) minimum sample per column
    high: np.ndarray  # (columns,) maximum sample per column


def waveform_envelope(samples: np.ndarray, sr_hz: int, points: int = ENVELOPE_POINTS) -> Envelope:
    """Min/max of the samples in ``points`` equal columns (fewer for very short audio)."""
    points = max(1, min(points, len(samples)))
    bounds = np.linspace(0, len(samples), points + 1).astype(int)
    low = np.minimum.reduceat(samples, bounds[:-1])
    high = np.maximum.reduceat(samples, bounds[:-1])
    return Envelope(bounds[:-1] / sr_hz, low.astype(np.float32), high.astype(np.float32))


def mel_image(mel_db: np.ndarray, frame_rate_hz: float,
              columns: int = MEL_COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """(times_s, image): log-mel (n_mels, frames) max-pooled to at most ``columns`` columns."""
    n_frames = mel_db.shape[1]
    columns = max(1, min(columns, n_frames))
    bounds = np.linspace(0, n_frames, columns + 1).astype(int)
    image = np.maximum.reduceat(mel_db, bounds[:-1], axis=1)
    return bounds[:-1] / frame_rate_hz, image.astype(np.float32)


def spectrogram_range(mel_db_image: np.ndarray,
                      range_db: float = TRACK_RANGE_DB) -> tuple[float, float]:
    """(zmin, zmax) of a whole track's picture: its peak, and ``range_db`` below it.

    The log-mel is floored at its peak − 80 dB (``base.spectrogram.LOG_MEL_TOP_DB``), so
    digital silence, and a fade-out once it is below the floor, sit exactly at ``zmin``: the
    colour map's floor, whatever else the track holds."""
    if mel_db_image.size == 0:
        return -range_db, 0.0
    peak = float(np.max(mel_db_image))
    return peak - range_db, peak


def picture_range(*mel_dbs: np.ndarray) -> tuple[float, float]:
    """One (zmin, zmax) for the small pictures drawn side by side (a query and a candidate),
    from all their values together: zmax a robust peak (99.5th percentile), zmin a robust low
    (5th percentile) but never more than :data:`PICTURE_RANGE_DB` below zmax; a range
    narrower than :data:`PICTURE_MIN_RANGE_DB` is widened upwards, so a flat window (silence)
    stays at the floor. So a short or quiet sound fills the colour map instead of sitting in
    its bottom third, and one picture quieter than the other looks darker."""
    values = np.concatenate([np.asarray(m, dtype=np.float32).ravel() for m in mel_dbs]
                            or [np.zeros(0, np.float32)])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return -PICTURE_RANGE_DB, 0.0
    low, high = (float(v) for v in np.percentile(values, PICTURE_PERCENTILES))
    low = max(low, high - PICTURE_RANGE_DB)
    return low, max(high, low + PICTURE_MIN_RANGE_DB)


def _mel_heatmap(x: np.ndarray, z: np.ndarray, zrange: tuple[float, float],
                 **kwargs) -> go.Heatmap:
    return go.Heatmap(x=x, z=z, colorscale=MEL_COLORSCALE, zmin=zrange[0], zmax=zrange[1],
                      zauto=False, showscale=False, **kwargs)


def _envelope_trace(envelope: Envelope, name: str = "waveform") -> go.Scatter:
    """The waveform as one filled band (down the maxima, back up the minima)."""
    x = np.concatenate([envelope.times_s, envelope.times_s[::-1]])
    y = np.concatenate([envelope.high, envelope.low[::-1]])
    return go.Scatter(x=x, y=y, fill="toself", mode="lines", name=name, hoverinfo="x",
                      line={"width": 0.6, "color": COLORS["wave"]},
                      fillcolor="rgba(91,141,239,0.55)", showlegend=False)


def _region(fig: go.Figure, start_s: float, end_s: float, color: str, label: str = "",
            row: int | None = None, dash: bool = False) -> None:
    kwargs: dict = {"row": row, "col": 1} if row is not None else {}
    if label:
        kwargs |= {"annotation_text": label, "annotation_position": "top left",
                   "annotation_font_size": 11}
    fig.add_vrect(x0=start_s, x1=end_s, fillcolor=color, opacity=REGION_OPACITY,
                  line={"width": 1.5 if dash else 0, "color": color,
                        "dash": "dot" if dash else "solid"},
                  layer="above", **kwargs)


def _style(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      hovermode="x", legend={"orientation": "h", "y": 1.08, "x": 0})
    return fig


def selection_figure(
    envelope: Envelope, mel_times_s: np.ndarray, mel_db_image: np.ndarray,
    selection: tuple[float, float] | None = None, beats: BeatGrid | None = None,
    height: int = 430,
) -> go.Figure:
    """Waveform above log-mel on one shared, zoomable time axis; drag a box to select."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        row_heights=[0.35, 0.65])
    fig.add_trace(_envelope_trace(envelope), row=1, col=1)
    fig.add_trace(_mel_heatmap(mel_times_s, mel_db_image, spectrogram_range(mel_db_image),
                               hovertemplate="%{x:.2f} s, bin %{y}<extra></extra>"),
                  row=2, col=1)
    if beats is not None and beats.has_beats:
        bars = beats.beat_times_s[::4]  # a line per bar (4 beats) keeps the plot readable
        fig.add_trace(go.Scatter(
            x=np.repeat(bars, 3), y=np.tile([-1.0, 1.0, np.nan], len(bars)), mode="lines",
            line={"width": 0.6, "color": COLORS["beat"]}, hoverinfo="skip", showlegend=False,
        ), row=1, col=1)
    if selection is not None:
        start, duration = selection
        _region(fig, start, start + duration, COLORS["query"], "selection", dash=True)
    fig.update_yaxes(visible=False, fixedrange=True)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_layout(dragmode="select", selectdirection="h")
    return _style(fig, height)


def spectrogram_figure(mel_times_s: np.ndarray, mel_db_image: np.ndarray,
                       height: int = 260) -> go.Figure:
    """The track's log-mel alone, zoomable in time (the Track page draws the waveform, with
    its playhead, above it)."""
    fig = go.Figure(_mel_heatmap(mel_times_s, mel_db_image, spectrogram_range(mel_db_image),
                                 hovertemplate="%{x:.2f} s, bin %{y}<extra></extra>"))
    fig.update_yaxes(visible=False, fixedrange=True)
    fig.update_xaxes(title_text="time (s)")
    return _style(fig, height)


@dataclass(frozen=True)
class TimelineMarks:
    """What a hunt has marked, as (start_s, end_s) windows."""

    query: tuple[float, float]
    found: Sequence[tuple[float, float]] = ()
    rejected: Sequence[tuple[float, float]] = ()
    candidate: tuple[float, float] | None = None
    truth: Sequence[tuple[float, float]] = ()  # ground truth, when known and shown
    automatic: Sequence[tuple[float, float]] = ()  # found windows accepted automatically


def _region_shape(start_s: float, end_s: float, color: str, dash: bool = False) -> dict:
    """A full-height translucent band over [start_s, end_s) seconds, as a layout shape."""
    return {"type": "rect", "xref": "x", "yref": "paper", "x0": start_s, "x1": end_s,
            "y0": 0, "y1": 1, "fillcolor": color, "opacity": REGION_OPACITY, "layer": "above",
            "line": {"width": 1.5 if dash else 0, "color": color,
                     "dash": "dot" if dash else "solid"}}


def _region_label(start_s: float, text: str) -> dict:
    return {"x": start_s, "y": 1, "xref": "x", "yref": "paper", "text": text,
            "showarrow": False, "xanchor": "left", "yanchor": "bottom", "font": {"size": 11}}


def timeline_figure(envelope: Envelope, marks: TimelineMarks, height: int = 200) -> go.Figure:
    """The waveform with the query, found, rejected and current candidate windows marked.

    The bands go into the layout in one call: adding them one by one (``add_vrect``)
    re-validates the layout each time, a cost that grows with the answers and that a hunt pays
    on every answer (measured in docs/results.md §7)."""
    shapes = [_region_shape(start, end, COLORS["truth"], dash=True) for start, end in marks.truth]
    shapes.append(_region_shape(*marks.query, COLORS["query"]))
    shapes += [_region_shape(start, end, COLORS["found"], dash=(start, end) in marks.automatic)
               for start, end in marks.found]
    shapes += [_region_shape(start, end, COLORS["rejected"]) for start, end in marks.rejected]
    labels = [_region_label(marks.query[0], "query")]
    if marks.candidate is not None:
        shapes.append(_region_shape(*marks.candidate, COLORS["candidate"], dash=True))
        labels.append(_region_label(marks.candidate[0], "?"))
    fig = go.Figure(_envelope_trace(envelope))
    fig.update_layout(shapes=shapes, annotations=labels)
    fig.update_yaxes(visible=False, fixedrange=True)
    fig.update_xaxes(title_text="time (s)")
    return _style(fig, height)


def excerpt_figure(mel_db: np.ndarray, frame_rate_hz: float, start_s: float,
                   height: int = 120, zrange: tuple[float, float] | None = None) -> go.Figure:
    """A small log-mel picture of one window (n_mels, frames), time axis in seconds from
    ``start_s``: lets the eye compare a candidate with the query. ``zrange``: the (zmin,
    zmax) in dB it shares with the pictures beside it (:func:`picture_range` of them all);
    by default that of this window alone."""
    times = start_s + np.arange(mel_db.shape[1]) / frame_rate_hz
    zrange = picture_range(mel_db) if zrange is None else zrange
    fig = go.Figure(_mel_heatmap(times, mel_db, zrange, hoverinfo="skip"))
    fig.update_yaxes(visible=False, fixedrange=True)
    fig.update_xaxes(visible=False, fixedrange=True)
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0})
    return fig


def distance_figure(curves: Sequence[DistanceCurve], truth: Sequence[Occurrence] = (),
                    height_per_kind: int = 150) -> go.Figure:
    """Each kind's relative distance from the query over the track (lower = more similar),
    one row per kind on a shared time axis, with the true occurrences shaded."""
    fig = make_subplots(rows=len(curves), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[c.kind for c in curves])
    for row, curve in enumerate(curves, start=1):
        fig.add_trace(go.Scatter(
            x=curve.times_s, y=curve.relative_distance, mode="lines", name=curve.kind,
            line={"width": 1, "color": KIND_COLORS.get(curve.kind, "#888")},
            hovertemplate="%{x:.2f} s: %{y:.2f}<extra>" + curve.kind + "</extra>",
        ), row=row, col=1)
        for occurrence in truth:
            _region(fig, occurrence.start_s, occurrence.end_s, COLORS["truth"], row=row)
        q = curve.query_frame / curve.frame_rate_hz
        _region(fig, q, q + curve.window_s, COLORS["query"], row=row)
        fig.update_yaxes(title_text="dist / median", rangemode="tozero", row=row, col=1)
    fig.update_xaxes(title_text="time (s)", row=len(curves), col=1)
    fig.update_layout(showlegend=False)
    return _style(fig, 40 + height_per_kind * len(curves))


def self_similarity_figure(matrices: Mapping[str, np.ndarray], duration_s: float,
                           height: int = 360) -> go.Figure:
    """Cosine self-similarity of each kind, side by side (axes in seconds)."""
    kinds = list(matrices)
    fig = make_subplots(rows=1, cols=len(kinds), subplot_titles=kinds, horizontal_spacing=0.08)
    for col, kind in enumerate(kinds, start=1):
        matrix = matrices[kind]
        axis = np.linspace(0.0, duration_s, len(matrix), endpoint=False)
        fig.add_trace(go.Heatmap(x=axis, y=axis, z=matrix, colorscale="Viridis", zmin=-1, zmax=1,
                                 showscale=col == len(kinds),
                                 hovertemplate="%{x:.0f} s × %{y:.0f} s: %{z:.2f}<extra></extra>"),
                      row=1, col=col)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{col if col > 1 else ''}",
                         row=1, col=col)
    fig.update_xaxes(nticks=4, ticksuffix=" s")  # few labels: they never collide at 1280 px
    fig.update_yaxes(nticks=4, ticksuffix=" s")
    return _style(fig, height)
