"""The real-music corpus's machinery on a tiny ProTracker module written here byte by byte:
4 channels, 2 synthetic samples, the order list [0, 1, 0] (pattern 0 played twice).

What the module holds, and so what the truth must be (speed 6, 125 bpm: a frame is 441
samples at 22050 Hz, a row 2646, a pattern 64 rows = 7.68 s):

- channel 0: sample 1 (a decaying sine, "kick") at C-2 on rows 0, 16, 32, 48 of both patterns:
  its column repeats in all three plays while channel 1 differs in pattern 1;
- channel 1: sample 2 (decaying noise, "hat") at C-2 on rows 8, 24, 40, 56 of pattern 0, at
  C-3 on rows 4 and 12 of pattern 1;
- channel 2: the hat at C-3 on row 20 of pattern 1, with a note delay ED3 (3 frames late);
- channel 3: the kick at C-2 on row 4 of pattern 1 at volume 1 (C01), under the loud hat of
  channel 1: inaudible, so not an occurrence.

So channel 0's one-bar (16-row) drum figure is a figure loop at all 12 bars, and channel 1's
bar of pattern 0 one at the 8 bars of plays 0 and 2. A second module (:func:`write_figure_module`)
holds two-bar figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from loopfind_core.base.errors import ConfigurationError
from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.tracker import LabelSettings, label_song, render_song
from loopfind_core.corpus.tracker.labels import Sound, pick_loops
from loopfind_core.corpus.tracker.libxmp import SAMPLE_RATE_HZ, XmpPlayer, load_library
from loopfind_core.corpus.tracker.sources import select_sources, split_of
from testkit.tracker import C2, C3, HAT, KICK, ROW, cell, pattern, write_module

PATTERN_S = 64 * ROW / SAMPLE_RATE_HZ


def _write_module(path, pattern0: bytes, pattern1: bytes) -> None:
    """A 4-channel M.K. ProTracker file with the kick and hat samples, orders [0, 1, 0]."""
    write_module(path, [pattern0, pattern1], [0, 1, 0])


def write_test_module(path) -> None:
    """The module of the docstring."""
    kicks = {(row, 0): cell(KICK, C2) for row in (0, 16, 32, 48)}
    pattern0 = pattern({**kicks, **{(row, 1): cell(HAT, C2) for row in (8, 24, 40, 56)}})
    pattern1 = pattern({**kicks, (4, 1): cell(HAT, C3), (12, 1): cell(HAT, C3),
                         (20, 2): cell(HAT, C3, 0xE, 0xD3), (4, 3): cell(KICK, C2, 0xC, 1)})
    _write_module(path, pattern0, pattern1)


def write_figure_module(path) -> None:
    """Bars (16 rows) of channel 0: X = kicks on rows 0, 6, 8; Y = kicks on rows 0, 8.
    Pattern 0 plays X Y X Y (a two-bar figure XY whose bars are heard only inside it), pattern 1
    X X Y Y (X and Y heard on their own). Channel 1: hats on rows 4 and 12 of every bar, the
    same in both patterns. Channel 2: one hat on row 0 of pattern 0 only, so once per play of
    pattern 0 (those plays are the pattern loop)."""
    bars = {"X": (0, 6, 8), "Y": (0, 8)}

    def kicks(figure: str) -> dict[tuple[int, int], bytes]:
        return {(16 * bar + row, 0): cell(KICK, C2)
                for bar, name in enumerate(figure) for row in bars[name]}

    hats = {(16 * bar + row, 1): cell(HAT, C2) for bar in range(4) for row in (4, 12)}
    _write_module(path, pattern({**kicks("XYXY"), **hats, (0, 2): cell(HAT, C3)}),
                  pattern({**kicks("XXYY"), **hats}))


@pytest.fixture(scope="module")
def module_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tracker") / "test.mod"
    write_test_module(path)
    return path


@pytest.fixture(scope="module")
def renders(module_path):
    return render_song(module_path)


@pytest.fixture(scope="module")
def figure_renders(tmp_path_factory):
    path = tmp_path_factory.mktemp("figures") / "figures.mod"
    write_figure_module(path)
    return render_song(path)


def _row_spans(rows: list[int], length: int) -> tuple[tuple[float, float], ...]:
    return tuple((r * ROW / SAMPLE_RATE_HZ, (r + length) * ROW / SAMPLE_RATE_HZ) for r in rows)


def test_libxmp_is_installed():
    """CI installs libxmp4 (.ci/run): a missing library fails here, it is never skipped."""
    load_library()


def test_module_data_is_read_as_written(module_path):
    with XmpPlayer(module_path) as player:
        module = player.module
    assert module.channels == 4
    assert module.orders == (0, 1, 0)
    assert module.initial_speed == 6 and module.initial_bpm == 125
    assert module.pattern_rows == (64, 64)
    events = [module.event(0, row, 0) for row in (0, 1, 16)]
    assert events[0][1] == KICK and events[0][0] > 0 and events[1][0] == 0
    assert module.event(1, 20, 2)[3:5].tolist() == [0xE, 0xD3]


def test_score_times_follow_the_rendered_samples(renders):
    score = renders.score
    assert renders.ended_by == "loop"  # the song came back round after its three positions
    assert score.n_samples == 3 * 64 * ROW
    assert score.row_starts[:, 0].tolist() == [r * ROW for r in range(3 * 64)]
    assert score.row_starts[:, 1].tolist() == [p for p in range(3) for _ in range(64)]
    assert [(p.pattern, p.start_sample, p.end_sample) for p in score.plays] == [
        (0, 0, 64 * ROW), (1, 64 * ROW, 128 * ROW), (0, 128 * ROW, 192 * ROW)]
    delayed = [n for n in score.notes if n.channel == 2]
    assert [n.onset_sample for n in delayed] == [(64 + 20) * ROW + 3 * 441]
    assert len(score.notes) == 12 + 8 + 2 + 1 + 1


def test_solo_renders_sum_to_the_mix(renders):
    assert all(len(s) == len(renders.mix) for s in renders.stems)
    assert renders.residual_db is not None and renders.residual_db < -40
    total = np.sum(renders.stems, axis=0)
    assert np.max(np.abs(total - renders.mix)) < 4 / 32768


def test_labels_are_exact(renders):
    sounds = {s.sound: s for s in label_song(renders.score, renders.mix, renders.stems,
                                             LabelSettings(), seed=0)}
    notes = {(n.instrument, n.note) for n in renders.score.notes}
    (kick_note,) = {n for i, n in notes if i == KICK}
    hat_low, hat_high = sorted(n for i, n in notes if i == HAT)
    kick = f"s-i01-n{kick_note:03d}"
    low, high = f"s-i02-n{hat_low:03d}", f"s-i02-n{hat_high:03d}"
    assert set(sounds) == {kick, low, high, "loop-pat00", "loop-pat00-ch00",
                           "loop-pat00-rows00-15-ch00", "loop-pat00-rows00-15-ch01"}

    def starts(name):
        return [round(a * SAMPLE_RATE_HZ) for a, _ in sounds[name].occurrences]

    kick_rows = [p * 64 + r for p in range(3) for r in (0, 16, 32, 48)]
    assert starts(kick) == [r * ROW for r in kick_rows]  # the quiet channel-3 kick is left out
    assert sounds[kick].inaudible == 1
    assert starts(low) == [(p * 64 + r) * ROW for p in (0, 2) for r in (8, 24, 40, 56)]
    assert starts(high) == [(64 + 4) * ROW, (64 + 12) * ROW, (64 + 20) * ROW + 3 * 441]
    for name in (kick, low, high):
        windows = {round(b - a, 4) for a, b in sounds[name].occurrences}
        assert len(windows) == 1 and 0.15 <= windows.pop() <= 2.0
    assert sounds["loop-pat00"].occurrences == ((0.0, PATTERN_S), (2 * PATTERN_S, 3 * PATTERN_S))
    channel_loop = sounds["loop-pat00-ch00"]
    assert channel_loop.channels == (0,) and channel_loop.kind == "channel"
    assert channel_loop.occurrences == tuple((k * PATTERN_S, (k + 1) * PATTERN_S)
                                             for k in range(3))
    drums = sounds["loop-pat00-rows00-15-ch00"]  # the kick bar, heard in all 12 bars
    assert drums.kind == "figure" and drums.channels == (0,)
    assert drums.occurrences == _row_spans(list(range(0, 192, 16)), 16)
    hats = sounds["loop-pat00-rows00-15-ch01"]  # pattern 0's hat bar, in plays 0 and 2 only
    assert hats.occurrences == _row_spans([0, 16, 32, 48, 128, 144, 160, 176], 16)


def test_figure_loops_take_the_shortest_period_and_avoid_double_labels(figure_renders):
    sounds = {s.sound: s for s in label_song(figure_renders.score, figure_renders.mix,
                                             figure_renders.stems, LabelSettings(), seed=0)
              if s.category == "loop"}
    # the channel-0 and channel-2 columns of pattern 0 repeat exactly where the pattern does
    assert set(sounds) == {"loop-pat00", "loop-pat00-ch01", "loop-pat00-rows00-31-ch00",
                           "loop-pat00-rows00-15-ch00", "loop-pat00-rows16-31-ch00",
                           "loop-pat00-rows00-15-ch01"}
    assert {s.kind for s in sounds.values()} == {"pattern", "channel", "figure"}
    # XY: two bars at a time; its bars X and Y count because pattern 1 plays them on their own
    assert sounds["loop-pat00-rows00-31-ch00"].occurrences == _row_spans([0, 32, 128, 160], 32)
    assert sounds["loop-pat00-rows00-15-ch00"].occurrences == _row_spans(
        [0, 32, 64, 80, 128, 160], 16)
    assert sounds["loop-pat00-rows16-31-ch00"].occurrences == _row_spans(
        [16, 48, 96, 112, 144, 176], 16)
    # channel 1 repeats its bar: the figure is the bar (12 times), not 32 rows (6 times)
    assert sounds["loop-pat00-rows00-15-ch01"].occurrences == _row_spans(
        list(range(0, 192, 16)), 16)
    assert sounds["loop-pat00-ch01"].occurrences == _row_spans([0, 64, 128], 64)


def test_caps_and_audibility_threshold(renders):
    capped = label_song(renders.score, renders.mix, renders.stems,
                        LabelSettings(max_samples=1, max_loops=1), seed=0)
    assert [s.category for s in capped] == ["sample", "loop"]
    assert capped[1].kind == "channel"  # channel loops come first
    strict = label_song(renders.score, renders.mix, renders.stems,
                        LabelSettings(max_occurrences=8), seed=0)
    assert all(len(s.occurrences) <= 8 for s in strict)


def _fake_loops(kind: str, counts: list[int]) -> list[Sound]:
    return [Sound("loop", f"{kind}-{k}", tuple((float(i), i + 1.0) for i in range(n)), (0,),
                  (0.0,) * n, kind) for k, n in enumerate(counts)]


def test_loop_places_are_shared_and_busy_figures_come_first():
    rng = np.random.default_rng(0)
    loops = (_fake_loops("channel", [2] * 5) + _fake_loops("pattern", [3] * 5)
             + _fake_loops("figure", [2, 5, 12, 40, 2, 3]))
    picked = pick_loops(loops, 8, rng)
    assert [s.kind for s in picked] == ["channel"] * 3 + ["figure"] * 3 + ["pattern"] * 2
    assert sorted(len(s.occurrences) for s in picked if s.kind == "figure") == [5, 12, 40]
    few = pick_loops(_fake_loops("channel", [2]) + _fake_loops("figure", [2] * 9), 8, rng)
    assert [s.kind for s in few] == ["channel"] + ["figure"] * 7  # unused places pass on


def test_sources_refuse_unknown_packages_and_split_by_name():
    with pytest.raises(ConfigurationError, match="Unknown"):
        select_sources(("no-such-package",))
    assert split_of("pingus-data-pingus-1") in ("dev", "test", "train")
    splits = [split_of(f"song-{k}") for k in range(1000)]
    assert 0.3 < splits.count("dev") / 1000 < 0.5
    assert 0.2 < splits.count("test") / 1000 < 0.4


def test_build_writes_a_readable_corpus(module_path, tmp_path, monkeypatch):
    from loopfind_core.corpus.tracker import build, sources

    source = sources.Source("test-package", (str(module_path),))
    monkeypatch.setattr(sources, "SOURCES", (source,))
    monkeypatch.setattr(build, "package_version", lambda package: "1.0")
    monkeypatch.setattr(build, "split_of", lambda song: "dev")
    summary = build.build_real_corpus(tmp_path / "real")
    dataset = read_dataset(tmp_path / "real" / "dev")
    assert dataset.files == ("test-package-test.wav",)
    assert summary["counts"]["dev"]["sample"]["sounds"] == 3
    assert summary["counts"]["dev"]["loop"]["sounds"] == 4
    assert summary["sources"][0]["version"] == "1.0"


def test_a_missing_libxmp_names_the_apt_line(monkeypatch):
    from loopfind_core.corpus.tracker import libxmp

    def no_library(name):
        raise OSError(name)

    libxmp.load_library.cache_clear()
    monkeypatch.setattr(libxmp.ctypes, "CDLL", no_library)
    monkeypatch.setattr(libxmp.ctypes.util, "find_library", lambda name: None)
    try:
        with pytest.raises(ConfigurationError, match="apt-get install libxmp4"):
            libxmp.load_library()
    finally:
        libxmp.load_library.cache_clear()


def test_missing_source_packages_name_the_apt_line(module_path, tmp_path, monkeypatch):
    from loopfind_core.corpus.tracker import build, sources

    missing = sources.Source("missing-music-data", ("/nonexistent/*.mod",))
    present = sources.Source("test-package", (str(module_path),))
    monkeypatch.setattr(build, "package_version",
                        lambda package: None if package.startswith("missing") else "1.0")
    monkeypatch.setattr(sources, "SOURCES", (missing,))
    with pytest.raises(ConfigurationError, match="apt-get install missing-music-data"):
        build.build_real_corpus(tmp_path / "none")
    monkeypatch.setattr(sources, "SOURCES", (missing, present))
    summary = build.build_real_corpus(tmp_path / "some")
    assert summary["missing_sources"] == ["missing-music-data"]
    assert [s["package"] for s in summary["sources"]] == ["test-package"]
