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
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from loopfind_core.base.errors import ConfigurationError
from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.tracker import LabelSettings, label_song, render_song
from loopfind_core.corpus.tracker.libxmp import SAMPLE_RATE_HZ, XmpPlayer, load_library
from loopfind_core.corpus.tracker.sources import select_sources, split_of

ROW = 2646  # samples per row at speed 6, 125 bpm, 22050 Hz
PATTERN_S = 64 * ROW / SAMPLE_RATE_HZ
C2, C3 = 428, 214  # ProTracker periods
KICK, HAT = 1, 2


def _sample_data() -> tuple[bytes, bytes]:
    t = np.arange(2000) / 8287.0
    kick = np.sin(2 * np.pi * 110 * t) * np.exp(-t * 12)
    noise = np.random.default_rng(0).uniform(-1, 1, 1600)
    hat = noise * np.exp(-np.arange(1600) / 1600 * 6)
    return tuple((np.clip(x, -1, 1) * 120).astype(np.int8).tobytes() for x in (kick, hat))


def _cell(sample: int = 0, period: int = 0, effect: int = 0, param: int = 0) -> bytes:
    return bytes([(sample & 0xF0) | (period >> 8), period & 0xFF,
                  ((sample & 0x0F) << 4) | effect, param])


def _pattern(cells: dict[tuple[int, int], bytes]) -> bytes:
    return b"".join(cells.get((row, ch), _cell()) for row in range(64) for ch in range(4))


def write_test_module(path) -> None:
    """The module of the docstring, as a 4-channel M.K. ProTracker file."""
    kick, hat = _sample_data()
    headers = b""
    for data in (kick, hat):
        headers += b"\0" * 22 + struct.pack(">HBBHH", len(data) // 2, 0, 64, 0, 1)
    headers += (b"\0" * 22 + struct.pack(">HBBHH", 0, 0, 0, 0, 1)) * 29
    orders = bytes([0, 1, 0]) + b"\0" * 125
    kicks = {(row, 0): _cell(KICK, C2) for row in (0, 16, 32, 48)}
    pattern0 = _pattern({**kicks, **{(row, 1): _cell(HAT, C2) for row in (8, 24, 40, 56)}})
    pattern1 = _pattern({**kicks, (4, 1): _cell(HAT, C3), (12, 1): _cell(HAT, C3),
                         (20, 2): _cell(HAT, C3, 0xE, 0xD3), (4, 3): _cell(KICK, C2, 0xC, 1)})
    path.write_bytes(b"test".ljust(20, b"\0") + headers + bytes([3, 127]) + orders + b"M.K."
                     + pattern0 + pattern1 + kick + hat)


@pytest.fixture(scope="module")
def module_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tracker") / "test.mod"
    write_test_module(path)
    return path


@pytest.fixture(scope="module")
def renders(module_path):
    return render_song(module_path)


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
    assert set(sounds) == {kick, low, high, "loop-pat00", "loop-pat00-ch00"}

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


def test_caps_and_audibility_threshold(renders):
    capped = label_song(renders.score, renders.mix, renders.stems,
                        LabelSettings(max_samples=1, max_loops=1), seed=0)
    assert [s.category for s in capped] == ["sample", "loop"]
    assert capped[1].kind == "channel"  # channel loops come first
    strict = label_song(renders.score, renders.mix, renders.stems,
                        LabelSettings(max_occurrences=8), seed=0)
    assert all(len(s.occurrences) <= 8 for s in strict)


def test_sources_refuse_unknown_packages_and_split_by_name():
    with pytest.raises(ConfigurationError, match="Unknown"):
        select_sources(("no-such-package",))
    assert split_of("pingus-data-pingus-1") in ("dev", "train")
    splits = [split_of(f"song-{k}") for k in range(1000)]
    assert 0.6 < splits.count("dev") / 1000 < 0.8


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
    assert summary["counts"]["dev"]["loop"]["sounds"] == 2
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
