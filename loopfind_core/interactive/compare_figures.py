"""The Compare page's pictures of a :class:`~.compare.Comparison`, and its HTML report.

- :func:`judged_distance_figure` — each kind's distance curve (one row per kind), the query,
  the confirmed windows (green dots) and the rejected ones (red crosses) marked on it, over the
  whole track or a zoomed region; the curve is min-pooled to :data:`CURVE_POINTS` columns so
  its dips survive and a 5-minute track stays light in the browser;
- :func:`rank_figure` — each confirmed occurrence's rank per kind (1 = proposed first), one
  line per occurrence, with each kind's judgement count above it;
- :func:`comparison_html` — both, the verdict and the table, as one self-contained HTML file.

Colours are mid-tones that read on light and dark backgrounds (see :mod:`.figures`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from loopfind_core.interactive.compare import (
    MAX_RANKED_PROPOSALS,
    Comparison,
    KindResult,
    Verdict,
)
from loopfind_core.interactive.figures import COLORS, KIND_COLORS, _style

CURVE_POINTS = 1500  # columns a distance curve is min-pooled to (a full-width plot)
CURVE_CEILING = 1.6  # the y axis stops here (relative distance): the dips are what matters
BEYOND_RANK = MAX_RANKED_PROPOSALS + 1  # where "not in the first 200" is drawn
FONT_SIZE = 13


def kind_color(kind: str) -> str:
    return KIND_COLORS.get(kind, "#B279A2")


def pooled_curve(result: KindResult, zoom_s: tuple[float, float] | None = None,
                 points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(times in s, relative distance) of ``result``'s curve inside ``zoom_s`` (seconds; None:
    the whole track), min-pooled to at most ``points`` columns (each column keeps its lowest
    value, so no dip is lost)."""
    curve = result.curve
    times, values = curve.times_s, np.asarray(curve.relative_distance, dtype=np.float32)
    if zoom_s is not None:
        keep = (times >= zoom_s[0]) & (times <= zoom_s[1])
        times, values = times[keep], values[keep]
    if len(values) <= points:
        return times, values
    bounds = np.linspace(0, len(values), points + 1).astype(int)
    return times[bounds[:-1]], np.minimum.reduceat(values, bounds[:-1])


def _value_at(result: KindResult, start_s: float) -> float:
    curve = result.curve
    frame = int(np.clip(round(start_s * curve.frame_rate_hz), 0,
                        len(curve.relative_distance) - 1))
    return float(min(curve.relative_distance[frame], CURVE_CEILING))


def _marks(fig: go.Figure, result: KindResult, starts_s: Sequence[float], row: int,
           name: str, color: str, symbol: str, show_legend: bool) -> None:
    if not starts_s:
        return
    fig.add_trace(go.Scatter(
        x=list(starts_s), y=[_value_at(result, s) for s in starts_s], mode="markers",
        name=name, legendgroup=name, showlegend=show_legend,
        marker={"color": color, "size": 9, "symbol": symbol,
                "line": {"width": 1, "color": "rgba(128,128,128,0.9)"}},
        hovertemplate="%{x:.2f} s<extra>" + name + "</extra>"), row=row, col=1)


def judged_distance_figure(comparison: Comparison, whitened: bool,
                           zoom_s: tuple[float, float] | None = None,
                           height_per_kind: int = 120) -> go.Figure:
    """One row per kind (raw or whitened as ``whitened`` says): the distance curve, the query
    shaded, the confirmed windows as green dots and the rejected ones as red crosses (at the
    window's start, on the curve). ``zoom_s``: the region shown (seconds)."""
    results = [r for r in comparison.results if r.whitened == whitened]
    answers = comparison.answers
    fig = make_subplots(rows=len(results), cols=1, shared_xaxes=True, vertical_spacing=0.05,
                        subplot_titles=[f"{r.kind}: {r.hunt.judgements} judgement"
                                        + ("" if r.hunt.judgements == 1 else "s")
                                        + ("" if r.hunt.complete else " (stopped)")
                                        for r in results])
    low, high = zoom_s if zoom_s else (0.0, float(results[0].curve.times_s[-1]) if results
                                       else 1.0)
    confirmed = [s for s in answers.confirmed_s if low <= s <= high]
    rejected = [s for s in answers.rejected_s if low <= s <= high]
    for row, result in enumerate(results, start=1):
        times, values = pooled_curve(result, zoom_s)
        fig.add_trace(go.Scatter(
            x=times, y=np.minimum(values, CURVE_CEILING), mode="lines", name=result.kind,
            showlegend=False, line={"width": 1, "color": kind_color(result.kind)},
            hovertemplate="%{x:.2f} s: %{y:.2f}<extra>" + result.kind + "</extra>"),
            row=row, col=1)
        fig.add_vrect(x0=answers.query_start_s, x1=answers.query_start_s + answers.duration_s,
                      fillcolor=COLORS["query"], opacity=0.35, line_width=0, row=row, col=1)
        _marks(fig, result, confirmed, row, "true occurrence" if answers.from_truth
               else "confirmed", COLORS["found"], "circle", row == 1)
        _marks(fig, result, rejected, row, "rejected", COLORS["rejected"], "x", row == 1)
        fig.update_yaxes(range=[0, CURVE_CEILING], nticks=4, row=row, col=1)
    fig.update_xaxes(range=[low, high])
    fig.update_xaxes(title_text="time (s)", row=len(results), col=1)
    fig.update_annotations(font_size=FONT_SIZE)
    _style(fig, 80 + height_per_kind * max(1, len(results)))
    # above the first row, from its left edge (anchored on the right, the legend would sit
    # left of the plots and plotly would widen the left margin to make room for it)
    return fig.update_layout(legend={"orientation": "h", "y": 1.0, "yanchor": "bottom",
                                     "x": 0.0, "xanchor": "left"},
                             font={"size": FONT_SIZE}, margin={"t": 60})


def rank_figure(comparison: Comparison, whitened: bool, height: int = 380) -> go.Figure:
    """Each confirmed occurrence's rank per kind on a log axis, 1 (proposed first) at the top:
    a line per occurrence across the kinds, so a kind that ranks them all near the top shows at
    a glance. Above each kind, the judgements a simulated user needed to find them all."""
    results = [r for r in comparison.results if r.whitened == whitened]
    kinds = [r.kind for r in results]
    fig = go.Figure()
    for i in range(len(comparison.answers.confirmed_s)):
        ranks = [r.ranks[i] or BEYOND_RANK for r in results]
        fig.add_trace(go.Scatter(
            x=kinds, y=ranks, mode="lines", showlegend=False, hoverinfo="skip",
            line={"width": 1, "color": "rgba(128,128,128,0.45)"}))
    for result in results:
        ranks = [rank or BEYOND_RANK for rank in result.ranks]
        fig.add_trace(go.Scatter(
            x=[result.kind] * len(ranks), y=ranks, mode="markers", name=result.kind,
            showlegend=False, marker={"color": kind_color(result.kind), "size": 11,
                                      "line": {"width": 1, "color": "rgba(128,128,128,0.9)"}},
            customdata=list(comparison.answers.confirmed_s),
            hovertemplate="occurrence at %{customdata:.2f} s: rank %{y}<extra>"
                          + result.kind + "</extra>"))
        fig.add_annotation(x=result.kind, y=1.0, yref="paper", yanchor="bottom",
                           showarrow=False, font={"size": FONT_SIZE},
                           text=f"<b>{result.hunt.judgements}</b> judgement"
                                + ("" if result.hunt.judgements == 1 else "s")
                                + ("" if result.hunt.complete else
                                   f"<br>{result.hunt.found}/{result.hunt.total} found"))
    top = max([BEYOND_RANK if None in r.ranks else max(r.ranks, default=1) for r in results],
              default=10)
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200) if t <= max(top, 10)]
    labels = [str(t) for t in ticks]
    if top >= BEYOND_RANK:
        ticks, labels = ticks + [BEYOND_RANK], labels + [f">{MAX_RANKED_PROPOSALS}"]
    fig.update_yaxes(type="log", autorange="reversed", tickvals=ticks, ticktext=labels,
                     title_text="rank (1 = proposed first)")
    fig.update_xaxes(title_text="feature kind" + (" (whitened)" if whitened else " (raw)"))
    fig.update_layout(font={"size": FONT_SIZE}, margin={"t": 50})
    return _style(fig, height)


def comparison_html(comparison: Comparison, whitened: bool, verdict: Verdict | None) -> str:
    """A self-contained HTML page (plotly.js inlined, nothing fetched) with the verdict, the
    rank plot, the distance curves and the table of ranks and judgements."""
    answers = comparison.answers
    rows = "".join(
        f"<tr><td>{html.escape(r.label)}</td><td>{r.hunt.judgements}</td>"
        f"<td>{r.hunt.found}/{r.hunt.total}</td><td>{r.hunt.unknown}</td>"
        + "".join(f"<td>{rank or '&gt;' + str(MAX_RANKED_PROPOSALS)}</td>" for rank in r.ranks)
        + "</tr>" for r in comparison.results)
    heads = "".join(f"<th>{s:.2f} s</th>" for s in answers.confirmed_s)
    ranks = rank_figure(comparison, whitened).to_html(full_html=False, include_plotlyjs=True)
    curves = judged_distance_figure(comparison, whitened).to_html(full_html=False,
                                                                  include_plotlyjs=False)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Loopfind comparison</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;text-align:right}</style></head><body>"
        f"<h1>Feature kinds on {html.escape(answers.track or 'the track')}</h1>"
        f"<p>Query {answers.query_start_s:.2f} s + {answers.duration_s:.2f} s; "
        f"{len(answers.confirmed_s)} confirmed, {len(answers.rejected_s)} rejected windows "
        f"({html.escape(answers.source)}).</p>"
        f"<p><b>{html.escape(verdict.text) if verdict else 'No verdict: nothing confirmed.'}"
        "</b></p>"
        f"{ranks}{curves}<h2>Ranks and judgements</h2><table><tr><th>kind</th>"
        f"<th>judgements</th><th>found</th><th>never judged</th>{heads}</tr>{rows}</table>"
        "</body></html>")
