#!/usr/bin/env bash
# Everything a session lent a GPU should run, as one call of the device tool (about 6 minutes):
#
#     run(command="bash benchmarks/gpu_session.sh", timeout_s=540)
#
# The GPU machine's image already has NumPy, SciPy, CuPy, PyTorch (CUDA), pytest and hypothesis,
# so minigrad runs from the working tree without installing. What comes back in $OUT: the GPU
# tests' log, bench_gpu.py's log and the RESULTS.md it wrote (copy its gpu section here),
# and `minigrad compare --device cuda`'s table, results.json and plots (7 files; $OUT returns at most 8).
set -o pipefail
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1 OUT="${OUT:-/tmp/gpu-session}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

echo "== the op, engine, nn, optimizer and parity tests on cuda"
timeout 150 python3 -m pytest -q -p no:cacheprovider --device cuda -k "cuda or gpu" \
    tests/test_engine.py tests/test_io.py tests/test_nn.py tests/test_ops.py tests/test_optim.py \
    tests/test_parity.py tests/test_fused.py tests/exercises/test_exercises.py 2>&1 | tail -n 40 | tee "$OUT/gpu-tests.log"

echo "== NumPy vs CuPy vs PyTorch CUDA"
timeout 200 python3 benchmarks/bench_gpu.py 2>&1 | tee "$OUT/bench-gpu.log" && cp benchmarks/RESULTS.md "$OUT/"

echo "== minigrad compare on the GPU"
timeout 120 python3 -c "import sys; from models.cli import main; sys.exit(main(sys.argv[1:]))" \
    compare --device cuda --out "$OUT/compare" 2>&1 | tee "$OUT/compare-cuda.log"
