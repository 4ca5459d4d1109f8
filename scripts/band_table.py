"""Print the occurrence-band table (pooled recall, complete hunts, windows judged per hunt and
per found occurrence) of any ``evaluate --json`` report, also one written before the bands
existed: ``python scripts/band_table.py REPORT.json [REPORT.json ...]``."""

from __future__ import annotations

import dataclasses
import json
import sys

from loopfind_core.research.bands import summarize_bands
from loopfind_core.research.evaluate import EvaluationReport, SoundResult
from loopfind_core.research.reports import format_bands


def sounds_of(path: str) -> list[SoundResult]:
    names = {f.name for f in dataclasses.fields(SoundResult)}
    records = json.loads(open(path).read())["sounds"]
    return [SoundResult(**{k: tuple(map(tuple, v)) if k == "shown" else
                           tuple(v) if isinstance(v, list) else v
                           for k, v in r.items() if k in names}) for r in records]


def main(paths: list[str]) -> None:
    for path in paths:
        sounds = sounds_of(path)
        report = EvaluationReport((), tuple(sounds), (), 0.0, bands=summarize_bands(sounds))
        print(path)
        print(format_bands(report))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
