"""Shared fixtures: small generated audio with planted sounds, written to tmp folders. The
helpers that build them live in :mod:`testkit` (the scripts use them too)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Before loopfind_core is imported (it points numba's cache there): one compile cache for every
# test run of this machine, beside the private cache folder each run gets (private_cache below),
# so librosa's kernels compile once, not per run (loopfind_core/base/compile_cache.py).
os.environ.setdefault("LOOPFIND_COMPILE_CACHE",
                      str(Path(tempfile.gettempdir()) / "loopfind-test-compile-cache"))

import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from loopfind_core.base.audio import audio_from_samples  # noqa: E402
from loopfind_core.features.registry import extract_features  # noqa: E402
from testkit.audio import SR_HZ, PlantedTrack, planted_track, write_tiny_dataset  # noqa: E402
from testkit.training import TINY, write_training_audio  # noqa: E402


@pytest.fixture(scope="session")
def planted() -> PlantedTrack:
    return planted_track()


@pytest.fixture(scope="session")
def planted_mfcc(planted):
    return extract_features(audio_from_samples(planted.samples, SR_HZ), "mfcc")


@pytest.fixture
def planted_wav(tmp_path: Path, planted) -> Path:
    path = tmp_path / "planted.wav"
    sf.write(path, planted.samples, SR_HZ, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """Two planted tracks, each with its chirp annotated as a sample (testkit.audio)."""
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def training_audio(tmp_path_factory) -> Path:
    """A folder of two 40-s planted tracks to train on."""
    return write_training_audio(tmp_path_factory.mktemp("train-audio"))


@pytest.fixture(scope="session")
def tiny_checkpoint(training_audio, tmp_path_factory) -> Path:
    """An encoder trained for 3 iterations on ``training_audio`` (testkit.training.TINY)."""
    from loopfind_core.training.loop import train

    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train([training_audio], out, TINY, device="cpu", description="two planted tracks")
    return out


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Tests never write to the user's cache (~/.cache/loopfind)."""
    import os

    previous = os.environ.get("LOOPFIND_CACHE")
    os.environ["LOOPFIND_CACHE"] = str(tmp_path_factory.mktemp("loopfind-cache"))
    yield
    if previous is None:
        os.environ.pop("LOOPFIND_CACHE", None)
    else:
        os.environ["LOOPFIND_CACHE"] = previous


_MAIN_AT_START = sys.modules.get("__main__")


@pytest.fixture(autouse=True)
def _main_module_restored():
    """Streamlit's script runner (AppTest) makes the app script ``__main__`` and leaves it so:
    a process a later test spawns would then run the app while it starts. Put pytest's back."""
    yield
    if _MAIN_AT_START is not None and sys.modules.get("__main__") is not _MAIN_AT_START:
        sys.modules["__main__"] = _MAIN_AT_START
