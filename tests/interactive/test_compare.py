"""Comparing feature kinds: distance curves, ranked proposals, self-similarity, recalls."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.base.errors import SelectionError
from loopfind_core.corpus.dataset import Occurrence, SoundTruth
from loopfind_core.corpus.truth import matching_sound
from loopfind_core.features.registry import extract_features
from loopfind_core.interactive.compare import (
    Answers,
    compare_kinds,
    comparison_csv,
    distance_curve,
    judged_hunt,
    occurrence_ranks,
    ranked_proposals,
    read_answers,
    self_similarity,
    sign_test_p,
    simulated_recalls,
    verdict,
)
from loopfind_core.interactive.compare_figures import (
    CURVE_POINTS,
    comparison_html,
    judged_distance_figure,
    rank_figure,
)
from testkit.audio import SR_HZ


def test_compare_ranks_the_planted_sound_first(planted):
    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mel-std")
    query = planted.sound_starts_s[0]
    curve = distance_curve(track, query, planted.sound_duration_s)
    assert np.median(curve.relative_distance) == pytest.approx(1.0, abs=1e-3)  # torch: lower
    proposals = ranked_proposals(curve, limit=10)
    others = [Occurrence(s, s + planted.sound_duration_s) for s in planted.sound_starts_s[1:]]
    assert sorted(occurrence_ranks(proposals, curve.window_s, others)) == [1, 2, 3]
    matrix = self_similarity(track, size=50)
    assert matrix.shape == (50, 50) and np.allclose(np.diag(matrix), 1.0, atol=1e-4)
    sound = SoundTruth("p.wav", "test", "sample", "zap",
                       tuple(Occurrence(s, s + planted.sound_duration_s)
                             for s in planted.sound_starts_s))
    assert matching_sound([sound], 11.8, 0.6) == (sound, 1)
    assert matching_sound([sound], 20.0, 0.6) is None
    recalls = simulated_recalls({"mel-std": track}, sound, 0, patience=2)
    assert [(r.strategy, r.recall) for r in recalls] == [("naive", 1.0), ("active", 1.0)]


# ----- judging every kind against a user's answers -----
def _planted_answers(planted, rejected=(20.0,)) -> Answers:
    starts = planted.sound_starts_s
    return Answers("p.wav", starts[0], planted.sound_duration_s, tuple(starts[1:]),
                   tuple(rejected))


def test_answers_round_trip_and_the_events_export_reads_as_answers(planted):
    answers = _planted_answers(planted)
    assert read_answers(answers.to_json()) == answers
    events = {"schema_version": "1.0", "track": {"name": "p.wav"}, "sounds": [{"name": "zap",
              "events": [{"start_s": s, "duration_s": 0.6} for s in planted.sound_starts_s]}]}
    from_events = read_answers(json.dumps(events), query_start_s=11.0)
    assert from_events.query_start_s == planted.sound_starts_s[1]
    assert from_events.confirmed_s == tuple(s for i, s in enumerate(planted.sound_starts_s)
                                            if i != 1)
    assert from_events.rejected_s == ()
    for bad in ("not json", "[]", '{"format": "loopfind-answers"}', '{"x": 1}'):
        with pytest.raises(SelectionError):
            read_answers(bad)


def test_a_kind_is_judged_by_the_answers_and_unjudged_windows_are_counted(planted):
    track = extract_features(audio_from_samples(planted.samples, SR_HZ), "mel-std")
    answers = _planted_answers(planted)
    hunt = judged_hunt(track, answers)
    assert hunt.complete and hunt.found == hunt.total == 3
    assert hunt.judgements == 3 and hunt.unknown == 0  # the planted zap comes first
    partials = [judged_hunt(track, Answers("p.wav", answers.query_start_s, answers.duration_s,
                                           (start,)))  # the other copies never judged
                for start in planted.sound_starts_s[1:]]
    assert all(p.complete for p in partials)
    assert [p.judgements for p in partials if p.judgements > 1]  # one came after another copy
    assert all(p.unknown == p.judgements - 1 for p in partials)  # each no was never judged
    stopped = judged_hunt(track, Answers("p.wav", answers.query_start_s, answers.duration_s,
                                         (5.0,)), max_judgements=4)
    assert not stopped.complete and stopped.judgements == 4


def test_comparison_verdict_csv_and_figures(planted):
    audio = audio_from_samples(planted.samples, SR_HZ)
    answers = _planted_answers(planted)
    comparison = compare_kinds(lambda kind, whiten: extract_features(audio, kind, whiten=whiten),
                               answers, kinds=("mfcc", "mel-std"), whitenings=(None,))
    assert [r.label for r in comparison.results] == ["mfcc", "mel-std"]
    assert all(len(r.ranks) == 3 for r in comparison.results)
    found = verdict(comparison, whitened=False)
    assert found is not None and found.kind == "mel-std" and found.baseline == "mfcc"
    assert found.text.startswith("On this song mel-std needs ")
    assert "for the 3 confirmed occurrences, MFCC" in found.text
    assert verdict(comparison, whitened=True) is None  # no whitened result
    rows = comparison_csv(comparison).splitlines()
    assert rows[0].startswith("kind,whitened,occurrence_start_s,rank") and len(rows) == 1 + 6
    ranks = rank_figure(comparison, False)
    assert sum(len(t.y) for t in ranks.data if t.mode == "markers") == 2 * 3
    curves = judged_distance_figure(comparison, False, zoom_s=(0.0, 25.0))
    names = {t.name for t in curves.data if t.mode == "markers"}
    assert names == {"confirmed", "rejected"}
    assert all(len(t.x) <= CURVE_POINTS for t in curves.data)
    assert found.text in comparison_html(comparison, False, found).replace("&#x27;", "'")


def test_sign_test():
    assert sign_test_p(0, 0) == 1.0 and sign_test_p(1, 1) == 1.0
    assert sign_test_p(10, 0) == pytest.approx(2 / 1024)
    assert sign_test_p(8, 2) == sign_test_p(2, 8) == pytest.approx(112 / 1024)


def test_the_cli_gives_the_numbers_of_the_shared_comparison(planted, tmp_path, capsys):
    import soundfile as sf

    from loopfind_core.base.audio import load_audio
    from loopfind_core.cli import main

    wav = tmp_path / "p.wav"
    sf.write(wav, planted.samples, SR_HZ)
    answers = tmp_path / "answers.json"
    answers.write_text(_planted_answers(planted).to_json())
    out = tmp_path / "ranks.csv"
    assert main(["compare", str(wav), "--answers", str(answers), "--kinds", "mfcc,mel-std",
                 "--csv", str(out), "--html", str(tmp_path / "c.html")]) == 0
    audio = load_audio(wav)
    expected = compare_kinds(lambda k, w: extract_features(audio, k, whiten=w),
                             _planted_answers(planted), kinds=("mfcc", "mel-std"))
    assert out.read_text() == comparison_csv(expected)
    printed = capsys.readouterr().out
    assert verdict(expected, True).text in printed and verdict(expected, False).text in printed
