"""How ``evaluate`` reports: text tables (recall, effort, auto-accept), JSON and an HTML plot.

A batch-review method (``evaluate --batch n``) is its own column or row, named
``features/strategy batch<n>``, next to the same method one at a time; in the effort table its
answers are every window shown (ticked or not) and ``pages/found`` counts pages of n.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from loopfind_core.corpus.dataset import CATEGORIES
from loopfind_core.research.evaluate import ALL, ONE_AT_A_TIME, EvaluationReport, RecallRow


def method_name(row: RecallRow) -> str:
    """``features/strategy``, and `` batch<n>`` for a batch-review row."""
    name = f"{row.features}/{row.strategy}"
    return name if row.review == ONE_AT_A_TIME else f"{name} {row.review}"


def format_auto_accept(report: EvaluationReport) -> str:
    """Auto-accept after a few answers, per threshold: the precision of the automatic
    accepts, the precision estimated before accepting (pooled the same way) and the range
    shown with it, the share of the
    still-unfound occurrences they took, the hunt's recall and the user's answers."""
    headers = ["category", "method", "threshold", "precision", "estimated", "range shown",
               "took", "recall", "answers"]
    lines = [[r.category, f"{r.features}/{r.strategy}", f"{r.threshold:.2f}",
              f"{r.precision:.3f}", f"{r.estimated_precision:.3f}",
              f"{r.estimated_low:.2f}-{r.estimated_high:.2f}", f"{r.accepted_share:.3f}",
              f"{r.recall:.3f}", f"{r.answers:.2f}"] for r in report.auto_accept]
    widths = [max(len(x) for x in col) for col in zip(headers, *lines)]
    rendered = [headers, ["-" * w for w in widths], *lines]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in rendered)


def _ordered_genres(rows: Iterable[RecallRow]) -> list[str]:
    genres = sorted({r.genre for r in rows if r.genre != ALL})
    return genres + [ALL]


def format_table(report: EvaluationReport) -> str:
    """Mean recall as a text table: a row per category × genre, a column per method."""
    methods = list(dict.fromkeys(method_name(r) for r in report.rows))
    cell = {(method_name(r), r.category, r.genre): r for r in report.rows}
    headers = ["category", "genre", "sounds"] + methods
    lines = []
    for category in [c for c in (*CATEGORIES, ALL) if any(r.category == c for r in report.rows)]:
        for genre in _ordered_genres(report.rows):
            present = [cell.get((m, category, genre)) for m in methods]
            if not any(present):
                continue
            n = max(r.n_sounds for r in present if r)
            lines.append(
                [category, genre, str(n)]
                + [f"{r.recall:.3f}" if r else "-" for r in present]
            )
    widths = [max(len(x) for x in col) for col in zip(headers, *lines)]
    rendered = [headers, ["-" * w for w in widths], *lines]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in rendered)


def format_effort(report: EvaluationReport) -> str:
    """Per category (all genres) and method: recall, answers per occurrence found, the
    share of hunts that found every occurrence, and the start errors of the found occurrences
    (median, 90th percentile, share within 20 ms); with batch-review rows also pages per
    occurrence found (a page is one card one at a time, n windows in batch review)."""
    batch = any(r.review != ONE_AT_A_TIME for r in report.rows)
    headers = ["category", "method", "recall", "pooled", "answers/found", "complete",
               "start median ms", "p90 ms", "within 20 ms"] + (["pages/found"] if batch else [])
    lines = [
        [r.category, method_name(r), f"{r.recall:.3f}", f"{r.pooled_recall:.3f}",
         f"{r.answers_per_found:.2f}", f"{r.complete_share:.3f}",
         f"{r.start_error_median_ms:.1f}", f"{r.start_error_p90_ms:.1f}",
         f"{r.within_20ms:.3f}"] + ([f"{r.pages_per_found:.2f}"] if batch else [])
        for category in (*CATEGORIES, ALL) for r in report.rows
        if r.genre == ALL and r.category == category
    ]
    widths = [max(len(x) for x in col) for col in zip(headers, *lines)]
    rendered = [headers, ["-" * w for w in widths], *lines]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in rendered)


def format_bands(report: EvaluationReport) -> str:
    """Per method, category and occurrence band: sounds, occurrences to find, pooled recall,
    complete hunts, windows judged per hunt and per occurrence found."""
    headers = ["category", "method", "occurrences", "sounds", "to find", "pooled recall",
               "complete", "judged/hunt", "judged/found"]
    lines = [[b.category, method_name(b), b.band, str(b.n_sounds), str(b.occurrences_to_find),
              f"{b.pooled_recall:.3f}", f"{b.complete_share:.3f}",
              f"{b.judgements_per_hunt:.1f}", f"{b.judged_per_found:.2f}"]
             for b in report.bands]
    return _render(headers, lines)


def format_estimates(report: EvaluationReport) -> str:
    """The chance shown against the share observed, per bin (adaptive review)."""
    headers = ["category", "method", "chance shown", "windows", "mean shown", "observed"]
    lines = [[e.category, f"{e.features}/{e.strategy}", f"{e.low:.1f}-{e.high:.1f}",
              str(e.n_windows), f"{e.shown:.3f}", f"{e.observed:.3f}"]
             for e in report.estimates]
    return _render(headers, lines)


def _render(headers: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(headers, *lines)]
    rendered = [headers, ["-" * w for w in widths], *lines]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in rendered)


def _finite_or_none(record: dict) -> dict:
    """JSON has no infinity: a non-finite number is written as null."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in record.items()}


def report_to_json(report: EvaluationReport) -> dict:
    return {
        "results": [_finite_or_none(asdict(r)) for r in report.rows],
        "auto_accept": [_finite_or_none(asdict(r)) for r in report.auto_accept],
        "bands": [_finite_or_none(asdict(b)) for b in report.bands],
        "estimates": [_finite_or_none(asdict(e)) for e in report.estimates],
        "sounds": [asdict(s) for s in report.sounds],
        "skipped": list(report.skipped),
        "seconds": report.seconds,
    }


def write_json(report: EvaluationReport, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report_to_json(report), indent=2))


def write_plot(report: EvaluationReport, path: str | Path) -> None:
    """Bar charts of recall per genre, one panel per category, as the paper's Fig. 1–2."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    categories = [c for c in (*CATEGORIES, ALL) if any(r.category == c for r in report.rows)]
    genres = _ordered_genres(report.rows)
    methods = list(dict.fromkeys(method_name(r) for r in report.rows))
    cell = {(method_name(r), r.category, r.genre): r for r in report.rows}
    figure = make_subplots(
        rows=1, cols=len(categories), shared_yaxes=True,
        subplot_titles=[f"{c}s" if c != ALL else "all sounds" for c in categories],
    )
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    for m, method in enumerate(methods):
        for col, category in enumerate(categories, start=1):
            rows = [cell.get((method, category, g)) for g in genres]
            figure.add_trace(
                go.Bar(
                    name=method.replace("/", " · ", 1), x=genres,
                    y=[r.recall if r else None for r in rows],
                    customdata=[r.n_sounds if r else 0 for r in rows],
                    hovertemplate="%{x}: recall %{y:.3f} over %{customdata} sounds",
                    marker_color=palette[m % len(palette)], legendgroup=f"{m}",
                    showlegend=col == 1,
                ),
                row=1, col=col,
            )
    figure.update_yaxes(title_text="recall within patience", range=[0, 1], row=1, col=1)
    figure.update_layout(
        barmode="group", title="Loopfind evaluation: recall per genre", template="plotly_white",
        height=450, width=max(700, 420 * len(categories)),
    )
    figure.write_html(str(path), include_plotlyjs=True)
