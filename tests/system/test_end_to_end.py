"""The whole core on its own demo corpus: generated once, the paper's claims hold, and
`evaluate` defaults to it."""

from __future__ import annotations

import json

import pytest

from loopfind_core.cli import main
from loopfind_core.corpus.demo import DEMO_TRACKS, ensure_demo_corpus
from loopfind_core.research.evaluate import EvaluationConfig, evaluate_dataset

pytestmark = pytest.mark.slow  # the demo corpus is composed first


@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOOPFIND_CACHE", str(cache))
        yield ensure_demo_corpus()


def test_demo_corpus_is_generated_once(demo_corpus, monkeypatch):
    monkeypatch.setenv("LOOPFIND_CACHE", str(demo_corpus.parent))
    assert len(list(demo_corpus.glob("*.flac"))) == DEMO_TRACKS
    stamp = (demo_corpus / "annotations.csv").stat().st_mtime_ns
    assert ensure_demo_corpus() == demo_corpus
    assert (demo_corpus / "annotations.csv").stat().st_mtime_ns == stamp


def test_active_beats_naive_in_both_categories(demo_corpus):
    report = evaluate_dataset(demo_corpus, EvaluationConfig(features=("mfcc",)))
    recall = {(r.strategy, r.category): r.recall for r in report.rows if r.genre == "all"}
    for category in ("sample", "loop"):
        assert recall[("active", category)] > recall[("naive", category)] + 0.05, recall
    # the naive baseline is neither trivial nor hopeless on the generated music
    assert 0.1 < recall[("naive", "sample")] < 0.6 and 0.25 < recall[("naive", "loop")] < 0.8


def test_cli_evaluate_defaults_to_the_demo_corpus(demo_corpus, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("LOOPFIND_CACHE", str(demo_corpus.parent))
    out = tmp_path / "r.json"
    assert main(["evaluate", "--strategy", "naive", "--json", str(out)]) == 0
    assert "built-in demo corpus" in capsys.readouterr().out
    assert json.loads(out.read_text())["results"]
