"""Loopfind's own numba compile cache (loopfind_core/base/compile_cache.py): a folder per
numba, librosa and Python version, and processes that compile at once wait for each other
instead of corrupting it (the race of docs/reliability.md, "Crash containment and the
compile cache")."""

from __future__ import annotations

import importlib.metadata
import os
import sys

import pytest

from loopfind_core.base import compile_cache
from testkit.compile_race import race


def test_the_folder_is_named_after_the_versions_it_was_compiled_by(monkeypatch, tmp_path):
    monkeypatch.setenv(compile_cache.COMPILE_CACHE_ENV, str(tmp_path))
    folder = compile_cache.compile_cache_folder()
    assert folder.parent == tmp_path
    for part in (f"numba{importlib.metadata.version('numba')}",
                 f"librosa{importlib.metadata.version('librosa')}",
                 f"py{sys.version_info.major}.{sys.version_info.minor}"):
        assert part in folder.name


def test_without_a_shared_folder_it_lives_in_the_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(compile_cache.COMPILE_CACHE_ENV, raising=False)
    monkeypatch.setenv("LOOPFIND_CACHE", str(tmp_path))
    assert compile_cache.compile_cache_folder() == (tmp_path / "numba"
                                                    / compile_cache.compile_cache_tag())


def test_numba_uses_loopfinds_folder_not_librosas_sources():
    compile_cache.ensure_compiled()  # librosa, hence numba, is loaded after this
    config = sys.modules["numba"].core.config
    folder = compile_cache.compile_cache_folder()
    assert os.environ["NUMBA_CACHE_DIR"] == str(folder) == config.CACHE_DIR


def test_ensure_compiled_leaves_a_complete_cache_and_runs_once_per_process():
    compile_cache.ensure_compiled()
    folder = compile_cache.compile_cache_folder()
    assert (folder / compile_cache.COMPLETE_NAME).is_file()
    assert any(folder.rglob("*.nbi")), "numba wrote its index files into Loopfind's folder"
    assert compile_cache.ensure_compiled() is False  # already done in this process


@pytest.mark.slow
def test_six_processes_on_a_cold_cache_then_three_more_all_track_beats(tmp_path):
    """Without the lock, 10 of 12 such processes died with SIGSEGV (docs/reliability.md)."""
    assert race(6, tmp_path, "loopfind") == [0] * 6
    assert (tmp_path / compile_cache.compile_cache_tag() / compile_cache.COMPLETE_NAME).is_file()
    assert race(3, tmp_path, "loopfind") == [0] * 3
