"""NumPy vs CuPy vs PyTorch CUDA: a transformer training step on a GPU.

The same model, weights and batch three ways: minigrad on "cpu" (NumPy, every core
of the machine), minigrad on "cuda" (CuPy), and the PyTorch twin on CUDA where a
CUDA build of PyTorch is installed. A step is forward, next-token cross-entropy,
backward, clip, AdamW (benchmarks/lm_steps.py); its loss is read back each time, so
the GPU's queued work is finished inside the timing. Targets (issue #7): CuPy >= 20x
NumPy on the large config, and <= 2x PyTorch CUDA.

    python benchmarks/bench_gpu.py           # writes the gpu section of RESULTS.md
    python benchmarks/bench_gpu.py --quick   # smoke run; RESULTS.md untouched

On a machine without CuPy and an NVIDIA GPU it says so, measures nothing and exits with
common.SKIPPED (77).
"""
import argparse
import os
import sys
from copy import deepcopy

from common import SKIPPED, machine_info, time_interleaved, today, write_section

import numpy as np

import minigrad as mg
from lm_steps import minigrad_step, torch_step
from models.heads import LanguageModel
from models.transformer import TransformerConfig

CONFIGS = {  # name: (config, batch, sequence length)
    "default (the shipped model's shape)": (dict(n_layers=4, d_model=64, n_heads=4, d_ff=256), 32, 48),
    "large": (dict(n_layers=8, d_model=512, n_heads=8, d_ff=2048), 32, 256),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per case (default 10; 2 with --quick)")
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args()


def torch_cuda():
    """PyTorch, if a CUDA build of it is installed and sees the GPU; else None."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False  # full float32, as NumPy and CuPy compute
    return torch


def build(name, torch):
    """{case: step function} with the same weights and batch everywhere, and their first losses."""
    dims, batch, seq = CONFIGS[name]
    config = TransformerConfig(vocab_size=512, max_len=seq, dropout=0.0, gelu_approximate="tanh", **dims)
    mg.manual_seed(0)
    ours = LanguageModel(config)
    ids = np.random.default_rng(0).integers(0, config.vocab_size, (batch, seq + 1))
    steps = {"NumPy": minigrad_step(ours, ids, "cpu"), "CuPy": minigrad_step(deepcopy(ours).to("cuda"), ids, "cuda")}
    if torch is not None:
        from torch_twin import twin_of

        steps["PyTorch CUDA"] = torch_step(twin_of(ours).to("cuda"), ids, "cuda")
    first = {case: step() for case, step in steps.items()}
    spread = max(first.values()) - min(first.values())
    assert spread < 1e-3, f"the frameworks disagree on the first loss: {first}"
    return steps, first, config, batch, seq


def main():
    args = parse_args()
    if not mg.cuda_is_available():
        print("bench_gpu skipped: no CuPy + NVIDIA GPU on this machine, nothing to measure (RESULTS.md untouched)")
        sys.exit(SKIPPED)
    torch = torch_cuda()
    repeats = args.repeats or (2 if args.quick else 10)
    rows = []
    for name in CONFIGS:
        steps, first, config, batch, seq = build(name, torch)
        print(f"{name}: first-step loss " + ", ".join(f"{case} {loss:.5f}" for case, loss in first.items()))
        times = time_interleaved(steps, repeats, warmup=1)
        versus_torch = f"{times['CuPy'] / times['PyTorch CUDA']:.2f}x" if "PyTorch CUDA" in times else "-"
        torch_ms = f"{1e3 * times['PyTorch CUDA']:.1f}" if "PyTorch CUDA" in times else "-"
        rows.append(f"| {name}: {config.n_layers} layers, d {config.d_model}, batch {batch}, seq {seq} | "
                    f"{1e3 * times['NumPy']:.1f} | {1e3 * times['CuPy']:.1f} | {torch_ms} | "
                    f"**{times['NumPy'] / times['CuPy']:.1f}x** | **{versus_torch}** |")
        print(rows[-1])
    body = f"""## Transformer training step on a GPU: NumPy vs CuPy vs PyTorch CUDA (`benchmarks/bench_gpu.py`)

{today()} on {machine_info()}, {mg.backend.cuda_device_name()}; NumPy with {os.cpu_count()} CPU threads.
Median of {repeats} interleaved steps (forward, next-token cross-entropy, backward, clip, AdamW) after one
warm-up; the loss is read back every step. Same weights and batch; the first losses agree.
{"PyTorch: " + torch.__version__ if torch else "PyTorch CUDA: not installed on this machine"}.
Targets: CuPy >= 20x NumPy on the large config, CuPy <= 2x PyTorch CUDA.

| config | NumPy ms | CuPy ms | PyTorch CUDA ms | CuPy speed-up over NumPy | CuPy / PyTorch CUDA |
|---|---:|---:|---:|---:|---:|
""" + "\n".join(rows)
    print(body)
    if getattr(mg.backend.cupy, "SIMULATED", False):  # tests/simulated_cuda.py: NumPy dressed as a GPU
        print("the simulated device: RESULTS.md untouched")
    elif not args.quick:
        print(f"wrote {write_section('gpu', body)}")


if __name__ == "__main__":
    main()
