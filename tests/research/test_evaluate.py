"""The evaluation protocol: a simulated user on a small handmade dataset."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf

from loopfind_core.cli import main
from loopfind_core.corpus.dataset import Annotation, Occurrence, write_annotations
from loopfind_core.corpus.truth import overlap_s, simulate_user
from loopfind_core.research.evaluate import EvaluationConfig, evaluate_dataset, summarize
from loopfind_core.research.reports import format_table
from loopfind_core.retrieval.session import RetrievalSession

from .conftest import SR_HZ, planted_track


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """Two planted tracks, each with its chirp annotated as a sample."""
    root = tmp_path_factory.mktemp("tiny")
    rows = []
    for i, genre in enumerate(["House", "Dubstep"]):
        track = planted_track(seed=i)
        name = f"t{i}.wav"
        sf.write(root / name, track.samples, SR_HZ, subtype="PCM_16")
        for start in track.sound_starts_s:
            rows.append(
                Annotation(name, genre, "sample", "chirp", start, start + track.sound_duration_s)
            )
        rows.append(Annotation(name, genre, "loop", "lonely", 1.0, 2.0))  # one occurrence
    write_annotations(root / "annotations.csv", rows)
    return root


def test_simulated_user_finds_all_planted(planted_mfcc, planted):
    occurrences = [Occurrence(s, s + planted.sound_duration_s) for s in planted.sound_starts_s]
    session = RetrievalSession(planted_mfcc, occurrences[0].start_s, occurrences[0].duration_s)
    hunt = simulate_user(session, occurrences, 0)
    assert hunt.found == 3 and hunt.answers == 3 + 5


def test_simulated_user_needs_half_overlap(planted_mfcc, planted):
    # Ground truth shifted by 70% of d: the planted copies no longer count as matches.
    d = planted.sound_duration_s
    occurrences = [Occurrence(s + 0.7 * d, s + 1.7 * d) for s in planted.sound_starts_s]
    occurrences[0] = Occurrence(planted.sound_starts_s[0], planted.sound_starts_s[0] + d)
    session = RetrievalSession(planted_mfcc, occurrences[0].start_s, d)
    assert simulate_user(session, occurrences, 0).found == 0


def test_overlap():
    assert overlap_s(0, 2, 1, 3) == 1 and overlap_s(0, 1, 2, 3) == 0


@pytest.mark.parametrize("queries", ["first", "all"])
def test_evaluate_dataset_rows(tiny_dataset, queries):
    config = EvaluationConfig(
        features=("mfcc", "mel"), strategies=("naive", "active"), queries=queries, jobs=1
    )
    report = evaluate_dataset(tiny_dataset, config)
    rows = {(r.features, r.strategy, r.category, r.genre): r for r in report.rows}
    for features in ("mfcc", "mel"):
        for strategy in ("naive", "active"):
            pooled = rows[(features, strategy, "all", "all")]
            assert pooled.n_sounds == 2 and pooled.recall == pytest.approx(1.0)
            assert pooled.complete_share == 1.0 and pooled.answers_per_found >= 1.0
            assert rows[(features, strategy, "sample", "House")].n_sounds == 1
    assert len(report.skipped) == 2 and "only one occurrence" in report.skipped[0]
    assert all(s.n_queries == (4 if queries == "all" else 1) for s in report.sounds)
    table = format_table(report)
    assert "mfcc/active" in table and "Dubstep" in table


def test_summarize_pools_all():
    from loopfind_core.research.evaluate import SoundResult

    results = [
        SoundResult("a", "House", "loop", "x", "mfcc", "naive", 3, 1, 1.0, 4, 2.0, 1.0),
        SoundResult("b", "Dubstep", "loop", "y", "mfcc", "naive", 3, 1, 0.0, 5, 0.0, 0.0),
        SoundResult("b", "Dubstep", "sample", "z", "mfcc", "naive", 3, 1, 0.5, 6, 1.0, 0.0),
    ]
    rows = {(r.category, r.genre): r for r in summarize(results)}
    assert rows[("loop", "all")].recall == 0.5 and rows[("loop", "all")].n_sounds == 2
    assert rows[("all", "all")].recall == pytest.approx(0.5) and rows[("all", "all")].n_sounds == 3
    assert rows[("all", "Dubstep")].recall == 0.25
    assert rows[("all", "all")].answers_per_found == pytest.approx(15 / 3)  # totals, not means
    assert rows[("loop", "all")].complete_share == 0.5
    assert rows[("loop", "Dubstep")].answers_per_found == float("inf")  # nothing found

def test_cli_evaluate_writes_json_and_plot(tiny_dataset, tmp_path, capsys):
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    code = main([
        "evaluate", "--data", str(tiny_dataset), "--features", "mfcc", "--strategy", "active",
        "--jobs", "2", "--json", str(out_json), "--plot", str(out_html),
    ])
    assert code == 0
    payload = json.loads(out_json.read_text())
    assert {"results", "seconds"} <= payload.keys()
    keys = {"features", "strategy", "category", "genre", "recall", "n_sounds"}
    assert all(keys <= row.keys() for row in payload["results"])
    assert any(r["genre"] == "all" and r["category"] == "all" for r in payload["results"])
    assert all(r["answers_per_found"] is None or r["answers_per_found"] >= 1
               for r in payload["results"])
    assert all(0 <= r["complete_share"] <= 1 for r in payload["results"])
    assert "plotly" in out_html.read_text()[:200000].lower()
    assert "mfcc/active" in capsys.readouterr().out


def test_cli_reports_user_errors(tmp_path, capsys):
    assert main(["evaluate", "--data", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(tmp_path), "--features", "sift"]) == 2
    assert "Unknown feature kind" in capsys.readouterr().err


def test_rows_are_means_over_sounds(tiny_dataset):
    report = evaluate_dataset(tiny_dataset, EvaluationConfig(strategies=("naive",), jobs=1))
    recalls = [s.recall for s in report.sounds]
    pooled = [r for r in report.rows if r.genre == "all" and r.category == "all"][0]
    assert pooled.recall == pytest.approx(np.mean(recalls))


def test_auto_accept_is_measured_per_threshold(tiny_dataset):
    config = EvaluationConfig(features=("mfcc",), strategies=("active",), jobs=1,
                              auto_accept=(0.0, 0.5, 1.0), manual_answers=1)
    report = evaluate_dataset(tiny_dataset, config)
    rows = {(r.category, r.threshold): r for r in report.auto_accept}
    assert {t for _, t in rows} == {0.0, 0.5, 1.0}
    everything = rows[("all", 0.0)]  # accepting everything finds all, with mistakes
    assert everything.recall == pytest.approx(1.0) and everything.precision < 1.0
    nothing = rows[("all", 1.0)]  # accepting nothing: only the one manual answer counts
    assert nothing.answers == 1.0
    assert nothing.precision == 1.0 or math.isnan(nothing.precision)


def test_discovery_finds_the_planted_chirp_and_is_measured(planted, tiny_dataset, capsys):
    from loopfind_core.base.audio import audio_from_samples
    from loopfind_core.corpus.dataset import SoundTruth
    from loopfind_core.features.registry import extract_features
    from loopfind_core.research.discovery import score_suggestions
    from loopfind_core.retrieval.discovery import discover

    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mel-std")
    suggestions = discover(track, None, max_suggestions=10)
    assert 1 <= len(suggestions) <= 10
    truth = SoundTruth("t", "House", "sample", "chirp", tuple(
        Occurrence(s, s + planted.sound_duration_s) for s in planted.sound_starts_s))
    score = score_suggestions(suggestions, [truth])
    assert score.sounds == 1 and score.discovered == 1 and score.occurrence_recall >= 0.75
    assert main(["discover", "--data", str(tiny_dataset), "--features", "mel-std"]) == 0
    assert "2 of 2 annotated sounds" in capsys.readouterr().out
    assert main(["discover"]) == 2
