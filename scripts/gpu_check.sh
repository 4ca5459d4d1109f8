#!/usr/bin/env bash
# The GPU path, checked on a CUDA machine in one run, each step against the CPU:
#   1. the gpu-marked tests (pytest -m gpu): window search, encoder inference, a session's
#      proposals, the app's hunt, training steps on one GPU, faiss on the GPU (when a CUDA
#      faiss is installed; README, "On a GPU");
#   2. `bench` on CUDA and on the CPU, side by side;
#   3. training under torchrun on every GPU (NCCL; needs 2 or more GPUs).
# Usage: scripts/gpu_check.sh [--dry-run] [--out DIR] [--bench-duration SECONDS]
#   --dry-run (also taken when no CUDA GPU is found): the same steps with the CPU standing in
#   for the GPU (LOOPFIND_GPU_STAND_IN=cpu), a 30-s bench track and 2 gloo ranks: what CI runs.
# Python: $PY, else .venv/bin/python, else python3, with the project installed
# (pip install ".[app,test]"); it installs nothing, so it runs on a machine without a network.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dry_run=0 out="" bench_duration=""
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry_run=1 ;;
    --out) out=$2; shift ;;
    --bench-duration) bench_duration=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0" | cut -c3-; exit 0 ;;
    *) echo "gpu_check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "${PY:-}" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
out=${out:-$(mktemp -d -t loopfind-gpu-check.XXXX)}
mkdir -p "$out"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"  # testkit/ and the checkout's packages

gpus=$("$PY" -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)")
if [ "$dry_run" = 0 ] && [ "$gpus" = 0 ]; then
  echo "gpu_check: no CUDA GPU found: a dry run on the CPU instead" >&2
  dry_run=1
fi
if [ "$dry_run" = 1 ]; then
  device=cpu
  export LOOPFIND_GPU_STAND_IN=cpu
  bench_duration=${bench_duration:-30} repeats=1
  echo "gpu_check: DRY RUN: the CPU stands in for the GPU (nothing here is measured on CUDA)"
else
  device=cuda
  bench_duration=${bench_duration:-120} repeats=3
  "$PY" -c "import torch; print('gpu_check:', torch.cuda.device_count(), 'x',
torch.cuda.get_device_name(0), '| torch', torch.__version__, '| CUDA', torch.version.cuda)"
fi
"$PY" -c "import faiss; print('gpu_check: faiss', faiss.__version__, '|', getattr(faiss,
'get_num_gpus', lambda: 0)(), 'GPU(s) seen by faiss')"

echo "== 1/3 the gpu-marked tests on $device"
"$PY" -m pytest -m gpu -q -rs -p no:cacheprovider tests

echo "== 2/3 bench on $device$([ "$device" = cpu ] && echo " (dry run: one run is both sides)" \
  || echo " and on the cpu"), a ${bench_duration}-s track"
"$PY" -m loopfind_core bench --device "$device" --duration "$bench_duration" \
  --repeats "$repeats" --json "$out/bench-$device.json"
if [ "$device" != cpu ]; then
  "$PY" -m loopfind_core bench --device cpu --duration "$bench_duration" \
    --repeats "$repeats" --json "$out/bench-cpu.json"
fi
"$PY" - "$out/bench-$device.json" "$out/bench-cpu.json" "$device" <<'EOF'
import json, sys

gpu, cpu = (json.load(open(path)) for path in sys.argv[1:3])
print(f"kind       first proposal: {sys.argv[3]:>5} / cpu        step: {sys.argv[3]:>5} / cpu")
for g, c in zip(gpu["kinds"], cpu["kinds"]):
    print(f"{g['kind']:<9} {g['first_proposal_s']:8.3f} s / {c['first_proposal_s']:6.3f} s   "
          f"{g['step_ms']:8.2f} ms / {c['step_ms']:6.2f} ms")
EOF

echo "== 3/3 training under torchrun"
if [ "$device" = cpu ] || [ "$gpus" -ge 2 ]; then
  ranks=$([ "$device" = cpu ] && echo 2 || echo "$gpus")
  "$PY" -c "import sys; from pathlib import Path; from testkit.training import \
write_training_audio; Path(sys.argv[1]).mkdir(exist_ok=True); \
write_training_audio(Path(sys.argv[1]), tracks=$ranks)" "$out/train-audio"
  OMP_NUM_THREADS=1 "$PY" -m torch.distributed.run --standalone --nproc-per-node="$ranks" \
    -m loopfind_core train --data "$out/train-audio" --out "$out/ddp.pt" --iters 5 \
    --batch $((8 * ranks)) --excerpt-frames 32 --aug noise,drop --device "$device"
else
  echo "one GPU: NCCL training needs two; the one-GPU training steps ran in step 1"
fi
echo "gpu_check: passed ($([ "$device" = cpu ] && echo "dry run on the CPU" || echo "$gpus CUDA GPU(s)")); results in $out"
