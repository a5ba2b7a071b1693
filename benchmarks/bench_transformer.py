"""A transformer training step, minigrad vs the same model in PyTorch (CPU): time and peak memory.

The PyTorch twin (benchmarks/torch_twin.py) mirrors models/transformer.py module for
module (same parameter names), gets minigrad's initial weights, and must give the same loss
before anything is timed. A step is forward, next-token cross-entropy,
backward, gradient clipping and an AdamW update. Time: interleaved repeats,
median, in one process. Peak memory: each framework in a fresh subprocess that runs no step
before, peak resident memory during the steps (the high-water mark reset first) minus resident
memory just before them.

    python benchmarks/bench_transformer.py           # writes the transformer section of RESULTS.md
    python benchmarks/bench_transformer.py --quick   # smoke run

Benchmark-only dependencies: `pip install torch==2.13.0 threadpoolctl`.
"""
import argparse

from common import (limit_threads, machine_info, memory_in_subprocess, peak_memory_mib, time_interleaved, today,
                    using_threads, write_section)

CONFIGS = {  # name: (model config overrides, batch, sequence length)
    "tiny (the shipped model)": (dict(), 32, 48),
    "larger": (dict(n_layers=6, d_model=256, n_heads=8, d_ff=1024, max_len=128), 16, 128),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per case (default 20; 3 with --quick)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory-of", default=None, help=argparse.SUPPRESS)  # internal: one subprocess measurement
    return parser.parse_args()


ARGS = parse_args()
limit_threads(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import minigrad as mg  # noqa: E402
from lm_steps import minigrad_step, torch_step  # noqa: E402
from models.heads import LanguageModel  # noqa: E402
from models.transformer import TransformerConfig  # noqa: E402
from torch_twin import twin_of  # noqa: E402


# ---- the configs, and both frameworks on the same weights --------------------------------
def config_for(name):
    overrides, batch, seq = CONFIGS[name]
    tiny = dict(vocab_size=512, n_layers=4, d_model=64, n_heads=4, d_ff=256, max_len=64, gelu_approximate="tanh")
    return TransformerConfig(**{**tiny, **overrides, "dropout": 0.0}), batch, seq


def build(name, check=True):
    """Both models with the same weights and a batch of token ids; with check, one step of each, which
    must agree (a memory measurement skips it: the first step, which allocates most, is measured)."""
    config, batch, seq = config_for(name)
    mg.manual_seed(0)
    ours = LanguageModel(config)
    twin = twin_of(ours)
    ids = np.random.default_rng(0).integers(0, config.vocab_size, (batch, seq + 1))
    steps = {"minigrad": minigrad_step(ours, ids), "torch": torch_step(twin, ids)}
    if not check:
        return steps, None
    first = {framework: step() for framework, step in steps.items()}
    assert abs(first["minigrad"] - first["torch"]) < 1e-4, f"the twins disagree: {first}"
    return steps, first


def main():
    repeats = ARGS.repeats or (3 if ARGS.quick else 20)
    rows = []
    with using_threads(ARGS.threads, torch):
        for name in CONFIGS:
            steps, first = build(name)
            print(f"{name}: first-step loss minigrad {first['minigrad']:.5f}, torch {first['torch']:.5f}")
            times = time_interleaved(steps, repeats)
            memory = {fw: memory_in_subprocess(__file__, "--threads", str(ARGS.threads), "--memory-of", f"{fw}:{name}")
                      for fw in steps}
            config, batch, seq = config_for(name)
            rows.append(f"| {name}: {config.n_layers} layers, d {config.d_model}, batch {batch}, seq {seq} | "
                        f"{1e3 * times['minigrad']:.1f} | {1e3 * times['torch']:.1f} | "
                        f"**{times['minigrad'] / times['torch']:.2f}x** | {memory['minigrad']:.0f} | "
                        f"{memory['torch']:.0f} | **{memory['minigrad'] / max(memory['torch'], 1):.2f}x** |")
            print(rows[-1])
    body = f"""## Transformer training step: minigrad vs PyTorch CPU (`benchmarks/bench_transformer.py`)

{today()} on {machine_info()}; {ARGS.threads} thread(s) for BLAS and torch.
A step: forward, next-token cross-entropy, backward, clip to norm 1, AdamW. Same weights, same
batch; both give the same first loss. Time: median of {repeats} interleaved steps. Memory: peak
resident memory of 3 steps minus resident memory before them (the high-water mark reset first, so
set-up does not count), each framework in its own process.
Targets: time <= 1.3x, memory <= 1.5x.

| config | minigrad ms | PyTorch ms | time ratio | minigrad MiB | PyTorch MiB | memory ratio |
|---|---:|---:|---:|---:|---:|---:|
""" + "\n".join(rows)
    if ARGS.quick:
        print(body)
    else:
        write_section("transformer", body)
        print("wrote the transformer section of benchmarks/RESULTS.md")


if __name__ == "__main__":
    if ARGS.memory_of:  # in a fresh process: only this framework's steps exist
        framework, name = ARGS.memory_of.split(":", 1)
        print(peak_memory_mib(build(name, check=False)[0][framework]))
    else:
        main()
