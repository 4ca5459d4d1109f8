"""The evaluation protocol: a simulated user on a small handmade dataset (``tiny_dataset``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loopfind_core.research.evaluate import EvaluationConfig, evaluate_dataset, summarize
from loopfind_core.research.reports import format_table


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


def test_batch_review_is_reported_next_to_one_at_a_time(tiny_dataset):
    from loopfind_core.research.reports import format_effort

    plain = evaluate_dataset(tiny_dataset, EvaluationConfig(strategies=("active",), jobs=1))
    report = evaluate_dataset(tiny_dataset,
                              EvaluationConfig(strategies=("active",), jobs=1, batch=3))
    one = [r for r in report.rows if r.review == "one"]
    assert one == list(plain.rows), "one-at-a-time numbers are unchanged by batch review"
    assert [s for s in report.sounds if s.review == "one"] == list(plain.sounds)
    batch = {(r.category, r.genre): r for r in report.rows if r.review == "batch3"}
    pooled = batch[("all", "all")]
    assert pooled.n_sounds == 2 and pooled.recall == pytest.approx(1.0)
    # every window shown is an answer; a page of 3 shows ≥ 1 window: pages ≤ answers
    assert pooled.answers_per_found >= 1.0 and pooled.pages_per_found <= pooled.answers_per_found
    for sound in (s for s in report.sounds if s.review == "batch3"):
        assert sound.pages <= sound.answers <= 3 * sound.pages
        assert sound.pages >= 5, "patience 5: five pages with nothing ticked end the hunt"
    one_pooled = next(r for r in one if r.category == "all" and r.genre == "all")
    assert one_pooled.pages_per_found == one_pooled.answers_per_found  # a card is a page of one
    effort = format_effort(report)
    assert "mfcc/active batch3" in effort and "pages/found" in effort
    assert "pages/found" not in format_effort(plain), "the table is unchanged without batches"


def test_batch_size_is_checked(tiny_dataset):
    from loopfind_core.base.errors import SelectionError

    with pytest.raises(SelectionError, match="batch"):
        evaluate_dataset(tiny_dataset, EvaluationConfig(batch=-1, jobs=1))


def test_bands_pool_occurrences_and_count_every_window_judged():
    from loopfind_core.research.bands import band_name, summarize_bands
    from loopfind_core.research.evaluate import SoundResult

    results = [  # 3 occurrences (2 to find), 40 occurrences (39 to find)
        SoundResult("a", "House", "loop", "x", "mfcc", "active", 3, 1, 0.5, 6, 1.0, 0.0),
        SoundResult("a", "House", "loop", "y", "mfcc", "active", 40, 1, 1.0, 50, 39.0, 1.0),
    ]
    assert (band_name(2), band_name(3), band_name(9), band_name(30)) == ("2-3", "2-3", "4-9",
                                                                       "30+")
    bands = {(b.category, b.band): b for b in summarize_bands(results)}
    pooled = bands[("loop", "all")]
    assert pooled.pooled_recall == pytest.approx(40 / 41)  # not the mean of 0.5 and 1.0
    assert pooled.judgements_per_hunt == 28.0 and pooled.judged_per_found == pytest.approx(56 / 40)
    assert bands[("loop", "2-3")].complete_share == 0.0
    assert bands[("loop", "30+")].occurrences_to_find == 39


def test_the_adaptive_review_reports_bands_and_the_chances_it_showed(tiny_dataset):
    config = EvaluationConfig(features=("mfcc",), strategies=("active",), jobs=1,
                              review="adaptive", patience=8)
    report = evaluate_dataset(tiny_dataset, config)
    assert {r.review for r in report.rows} == {"adaptive"}
    assert all(s.shown and len(s.shown) == s.answers for s in report.sounds)
    assert all(s.expected_left is not None for s in report.sounds)
    assert any(b.band == "4-9" for b in report.bands)
    assert report.estimates and all(0.0 <= e.observed <= 1.0 for e in report.estimates)
    with pytest.raises(Exception, match="review must be one of"):
        evaluate_dataset(tiny_dataset, EvaluationConfig(review="pages"))
