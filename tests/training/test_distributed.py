"""Training under torchrun (DistributedDataParallel): every loss combination trains on two gloo
ranks on the CPU, each rank on its own share of the files, with identical weights on both and
one checkpoint written and announced by the first rank only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loopfind_core.features.encoder import load_encoder, weights_digest
from loopfind_core.training.loop import shard

REPO = Path(__file__).resolve().parents[2]


def torchrun_train(data: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    """``torchrun --nproc-per-node 2 -m loopfind_core -v train`` on the CPU, a tiny run."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         "-m", "loopfind_core", "-v", "train", "--data", str(data), "--out", str(out),
         "--iters", "3", "--batch", "8", "--excerpt-frames", "32", "--aug", "noise,drop,mix",
         "--device", "cpu", *options],
        capture_output=True, text=True, timeout=300, env=env, cwd=out.parent,
    )


@pytest.mark.slow  # three torch processes start per case (about 5 s)
@pytest.mark.parametrize("losses", ["ae", "byol", "byol,ae"])
def test_every_loss_combination_trains_on_two_ranks(losses, training_audio, tmp_path):
    """``ae`` alone leaves the projector and predictor without gradients and ``byol`` alone the
    decoder: DDP used to stop at the second step. Each rank loads its own file; the weights
    stay identical; the first rank alone writes the checkpoint and says so."""
    out = tmp_path / "ddp.pt"
    result = torchrun_train(training_audio, out, "--losses", losses)
    assert result.returncode == 0, result.stderr[-3000:]
    shares = dict(re.findall(r"rank (\d)/2: training on 1 of 2 files: (\S+)", result.stderr))
    assert shares == {"0": "t0.wav", "1": "t1.wav"}, result.stderr[-3000:]
    digests = dict(re.findall(r"rank (\d)/2: final encoder weights sha256 (\w+)", result.stderr))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]
    assert result.stdout.count("wrote ") == 1, result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp.pt"]
    loaded = load_encoder(out, "cpu")
    assert weights_digest(loaded.encoder) == digests["0"]
    assert loaded.metadata["world_size"] == 2 and loaded.metadata["training_files"] == 2
    assert set(loaded.metadata["final_losses"]) == {*losses.split(","), "total"}


def test_each_file_goes_to_exactly_one_rank():
    files = [Path(f"t{i}.wav") for i in range(7)]
    shares = [shard(files, rank, 3) for rank in range(3)]
    assert shares == [files[0::3], files[1::3], files[2::3]]
    assert sorted(f for share in shares for f in share) == sorted(files)


def test_with_fewer_files_than_ranks_each_rank_takes_one_in_turn():
    files = [Path("a.wav"), Path("b.wav")]
    assert [shard(files, rank, 5) for rank in range(5)] == [
        [files[0]], [files[1]], [files[0]], [files[1]], [files[0]]]
    assert shard(files, 0, 1) == files
