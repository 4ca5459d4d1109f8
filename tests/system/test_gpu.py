"""The CUDA path, against the CPU in the same run: the learned encoder, a session's proposals,
the app's hunt, training steps on one GPU, and faiss on the GPU (when a CUDA faiss is
installed). ``scripts/gpu_check.sh`` runs these (``pytest -m gpu``) with ``bench`` on both
devices; the window search's own check is tests/retrieval/test_search.py.

Without CUDA they skip, except under ``scripts/gpu_check.sh --dry-run``
(``LOOPFIND_GPU_STAND_IN=cpu``), where the CPU stands in for the GPU: every step still runs, so
a broken check is found before a GPU session is spent on it.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from loopfind_core.base.audio import audio_from_samples
from loopfind_core.features.encoder import load_encoder
from loopfind_core.features.registry import extract_features
from loopfind_core.interactive.workspace import Workspace
from loopfind_core.retrieval.session import RetrievalSession
from loopfind_core.training.loop import train
from testkit.audio import SR_HZ, is_planted
from testkit.training import TINY

pytestmark = pytest.mark.gpu
STAND_IN = "LOOPFIND_GPU_STAND_IN"  # "cpu": scripts/gpu_check.sh --dry-run


@pytest.fixture
def gpu() -> str:
    """The device under test: ``cuda``, or ``cpu`` standing in for it in a dry run."""
    if torch.cuda.is_available():
        return "cuda"
    if os.environ.get(STAND_IN) == "cpu":
        return "cpu"
    pytest.skip(f"needs a CUDA GPU ({STAND_IN}=cpu, as scripts/gpu_check.sh --dry-run sets, "
                "runs it with the CPU standing in)")


def hunt(session, planted, limit: int = 12) -> tuple[list[float], list[float]]:
    """Answer as the planted ground truth says; (proposed starts, found starts)."""
    proposed = []
    while len(proposed) < limit and (candidate := session.propose()) is not None:
        proposed.append(round(candidate.start_s, 3))
        session.answer(is_planted(candidate, planted))
    return proposed, sorted(round(c.start_s, 3) for c in session.found)


def test_encoder_inference_on_the_gpu_matches_the_cpu(planted, gpu):
    """The shipped encoder: the same embeddings within TF32 precision (cuDNN's default)."""
    audio = audio_from_samples(planted.samples, SR_HZ)
    cpu = extract_features(audio, "learned", device="cpu").values
    on_gpu = extract_features(audio, "learned", device=gpu).values
    assert on_gpu.shape == cpu.shape and np.isfinite(on_gpu).all()
    assert np.abs(on_gpu - cpu).max() <= 1e-2 * np.abs(cpu).max()


def test_a_session_proposes_the_same_on_the_gpu_as_on_the_cpu(planted, planted_mfcc, gpu):
    start_s, duration_s = planted.sound_starts_s[0], planted.sound_duration_s
    runs = {device: hunt(RetrievalSession(planted_mfcc, start_s, duration_s, 3, "active",
                                          device=device), planted)
            for device in ("cpu", gpu)}
    assert runs[gpu] == runs["cpu"]
    assert len(runs[gpu][1]) == len(planted.sound_starts_s) - 1  # every planted copy found


def test_the_apps_hunt_runs_on_the_gpu(planted, gpu):
    """What a Hunt page does (learned features, whitened, the session on the best device)
    runs on the GPU when there is one, and finds the planted copies."""
    workspace = Workspace(audio_from_samples(planted.samples, SR_HZ), ())
    workspace.select(planted.sound_starts_s[0], planted.sound_duration_s)
    session = workspace.start_hunt("learned", "active", 3, "zap").session
    assert session._search.device.type == gpu
    proposed, found = hunt(session, planted)
    assert proposed and len(found) >= 2


def test_training_steps_on_one_gpu(training_audio, tmp_path, gpu):
    out = tmp_path / "gpu.pt"
    result = train([training_audio], out, TINY, device=gpu)
    assert result.wrote and all(np.isfinite(v) for v in result.final_losses.values())
    loaded = load_encoder(out, "cpu")  # trained on the GPU, used anywhere
    assert loaded.metadata["device"].startswith(gpu)
    assert np.isfinite(loaded.embed(np.zeros((loaded.mean_db.shape[0], 64)))).all()


def test_faiss_searches_on_the_gpu():
    import faiss

    if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() == 0:
        pytest.skip("faiss has no GPU here (faiss-cpu; README, 'On a GPU', installs the CUDA "
                    "build)")
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((5000, 32)).astype(np.float32)
    queries = vectors[:64] + 0.01 * rng.standard_normal((64, 32)).astype(np.float32)
    cpu = faiss.IndexFlatL2(32)
    cpu.add(vectors)
    on_gpu = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, cpu)
    (_, cpu_ids), (_, gpu_ids) = cpu.search(queries, 5), on_gpu.search(queries, 5)
    assert (gpu_ids[:, 0] == np.arange(64)).all() and (gpu_ids[:, 0] == cpu_ids[:, 0]).all()
