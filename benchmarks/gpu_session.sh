#!/usr/bin/env bash
# Everything a session lent a GPU should run, as one call of the device tool (about 7 minutes):
#
#     run(command="bash benchmarks/gpu_session.sh", timeout_s=560)
#
# The GPU machine's image already has NumPy, SciPy, CuPy, PyTorch (CUDA), pytest and hypothesis,
# so minigrad runs from the working tree without installing. The device tool brings back at most
# 8 files from $OUT; these 6 come back: the GPU tests' log, bench_gpu.py's log and the RESULTS.md
# it wrote (copy its gpu section here), and `minigrad compare --device cuda` on a larger model
# (6 layers, d 256, pretrained here on the GPU first: MiniLM's 88 MB cannot travel): its log
# with the table, results.json and the accuracy plot.
#
# Rehearse it without a GPU, on the simulated device of tests/simulated_cuda.py (minutes, on CPU):
#
#     REHEARSE=1 bash benchmarks/gpu_session.sh
set -o pipefail
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1 OUT="${OUT:-/tmp/gpu-session}"
mkdir -p "$OUT"
if [ -n "$REHEARSE" ]; then  # the fake device, and every count and size cut to a smoke run
    RUN="python3 -m tests.simulated_cuda" TESTS="--simulated-cuda" QUICK="--quick"
    LARGER_MODEL="--n-layers 2 --d-model 32 --n-heads 2 --d-ff 64 --steps 3" COMPARE_STEPS="--steps 2"
else
    RUN="python3" TESTS="" QUICK="" COMPARE_STEPS=""
    LARGER_MODEL="--n-layers 6 --d-model 256 --n-heads 8 --d-ff 1024 --steps 600"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
fi
MINIGRAD="$RUN -m models.cli"

echo "== the op, engine, nn, optimizer and parity tests on cuda"
timeout 150 python3 -m pytest -p no:cacheprovider --device cuda -k "cuda or gpu" $TESTS \
    tests/test_engine.py tests/test_io.py tests/test_nn.py tests/test_ops.py tests/test_optim.py \
    tests/test_parity.py tests/test_fused.py tests/test_simulated_cuda.py tests/exercises/test_exercises.py \
    2>&1 | tail -n 40 | tee "$OUT/gpu-tests.log"

echo "== NumPy vs CuPy vs PyTorch CUDA"
timeout 200 $RUN benchmarks/bench_gpu.py $QUICK 2>&1 | tee "$OUT/bench-gpu.log" && cp benchmarks/RESULTS.md "$OUT/"

echo "== minigrad compare on the GPU, on a larger model pretrained here first"
LARGER=/tmp/gpu-session-larger
rm -rf "$LARGER"
timeout 60 $MINIGRAD pretrain --device cuda $LARGER_MODEL --out "$LARGER/pretrained" 2>&1 \
    | tail -n 5 | tee "$OUT/compare-cuda.log"
timeout 150 $MINIGRAD compare --device cuda --model "$LARGER/pretrained/model.safetensors" $COMPARE_STEPS \
    --out "$LARGER/compare" 2>&1 | tee -a "$OUT/compare-cuda.log"
cp "$LARGER/compare/results.json" "$LARGER/compare/accuracy_vs_parameters.png" "$OUT/" 2>/dev/null
ls "$OUT"
