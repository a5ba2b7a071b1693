"""One MLP training step, minigrad vs PyTorch on the CPU, with the same threads: time and peak memory.

The step is forward, cross-entropy, backward and an Adam update, written with
each framework's own layers (minigrad.nn / torch.nn, the same names), for a
784 -> 512 -> 512 -> 10 ReLU MLP on a batch of 256 (an MNIST-sized model).
Both start from the same weights and see the same batch, and must agree on the
first loss before anything is timed. Steps are timed in turn (minigrad, torch,
minigrad, ...) and the medians compared, once per thread count. Peak memory: each
framework in a fresh subprocess, peak resident memory of 3 steps minus that before them
(the process's high-water mark reset first, so set-up does not count).

    python benchmarks/bench_mlp.py            # writes the mlp section of RESULTS.md
    python benchmarks/bench_mlp.py --quick    # a smoke run; RESULTS.md untouched

Benchmark-only dependencies: `pip install torch==2.13.0 threadpoolctl`.
"""
import argparse
import os

from common import (limit_threads, machine_info, memory_in_subprocess, peak_memory_mib, thread_report,
                    time_interleaved, today, using_threads, write_section)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}",
                        help="comma-separated thread counts for BLAS and torch, each timed in turn (default: 1 and all)")
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per framework (default 40; 5 with --quick)")
    parser.add_argument("--pause", type=float, default=0.25,
                        help="seconds of sleep before each timed step when threads > 1 (see common.time_interleaved)")
    parser.add_argument("--quick", action="store_true", help="few repeats, print only (no RESULTS.md)")
    parser.add_argument("--memory-of", default=None, help=argparse.SUPPRESS)  # internal: one subprocess measurement
    return parser.parse_args()


ARGS = parse_args()
THREADS = sorted({int(n) for n in ARGS.threads.split(",")})
limit_threads(max(THREADS))  # before NumPy and PyTorch start their thread pools; lowered per run below

import numpy as np  # noqa: E402
import torch  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from minigrad.nn import functional as F  # noqa: E402

SIZES = (784, 512, 512, 10)
BATCH = 256


def mlp(library):
    """784 -> 512 -> 512 -> 10 with ReLUs between, from minigrad.nn or torch.nn."""
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [library.Linear(n_in, n_out), library.ReLU()]
    return library.Sequential(*layers[:-1])


def training_steps(seed=0):
    """One step function per framework, over the same MLP weights and batch."""
    mg.manual_seed(seed)
    ours, theirs = mlp(nn), mlp(torch.nn)
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            q.copy_(torch.tensor(p.numpy()))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    x_ours, y_ours, x_theirs, y_theirs = mg.tensor(x), mg.tensor(y), torch.from_numpy(x), torch.from_numpy(y)
    our_optimizer = optim.Adam(ours.parameters(), lr=1e-3)
    their_optimizer = torch.optim.Adam(theirs.parameters(), lr=1e-3)

    def minigrad_step():
        loss = F.cross_entropy(ours(x_ours), y_ours)
        our_optimizer.zero_grad()
        loss.backward()
        our_optimizer.step()
        return loss.item()

    def torch_step():
        loss = torch.nn.functional.cross_entropy(theirs(x_theirs), y_theirs)
        their_optimizer.zero_grad()
        loss.backward()
        their_optimizer.step()
        return loss.item()

    return minigrad_step, torch_step


def main():
    repeats = ARGS.repeats or (5 if ARGS.quick else 40)
    load_before = os.getloadavg()[0]
    rows, threads_used = [], []
    for n in THREADS:
        with using_threads(n, torch):
            minigrad_step, torch_step = training_steps()
            first = minigrad_step(), torch_step()
            if abs(first[0] - first[1]) > 1e-4:
                raise SystemExit(f"the two frameworks disagree on the first loss: {first}")
            medians = time_interleaved({"minigrad": minigrad_step, "torch": torch_step}, repeats,
                                       warmup=3, pause=0.0 if n == 1 else ARGS.pause)
            threads_used.append(f"- {n}: {thread_report(torch)}")
        ours, theirs = 1e3 * medians["minigrad"], 1e3 * medians["torch"]
        rows.append(f"| {n} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f}x |")
        print(f"{n} thread(s): minigrad {ours:.2f} ms, torch {theirs:.2f} ms, ratio {ours / theirs:.2f}x "
              f"(first loss {first[0]:.6f} vs {first[1]:.6f})")
    memory = {fw: memory_in_subprocess(__file__, "--threads", "1", "--memory-of", fw) for fw in ("minigrad", "torch")}
    print(f"peak memory of a step: minigrad {memory['minigrad']:.1f} MiB, torch {memory['torch']:.1f} MiB")
    load_after = os.getloadavg()[0]
    body = "\n".join([
        "## MLP training step: minigrad vs PyTorch CPU (`benchmarks/bench_mlp.py`)",
        "",
        f"{today()} on {machine_info()}.",
        f"Median of {repeats} interleaved steps (minigrad, PyTorch, minigrad, ...) after warm-up, per thread count;",
        f"1-minute load average {load_before:.2f} before, {load_after:.2f} after (above 0: other work shared the machine).",
        f"One step: forward through a {' -> '.join(map(str, SIZES))} ReLU MLP (nn.Linear layers) on a batch of {BATCH},",
        "cross-entropy, zero_grad, backward, Adam (lr 1e-3); both frameworks start from the same weights and batch",
        "and agree on the first loss. Target: minigrad / PyTorch <= 1.3x.",
        "",
        "| threads | minigrad ms | PyTorch ms | minigrad / PyTorch |",
        "|---:|---:|---:|---:|",
        *rows,
        "",
        "Peak memory of a step (1 thread; each framework in a fresh process, peak resident memory of 3",
        "steps minus resident memory before them, the high-water mark reset first; target <= 1.5x):",
        "",
        "| minigrad MiB | PyTorch MiB | minigrad / PyTorch |",
        "|---:|---:|---:|",
        f"| {memory['minigrad']:.1f} | {memory['torch']:.1f} | **{memory['minigrad'] / max(memory['torch'], 0.1):.2f}x** |",
        "",
        "Threads, as each pool reports them:",
        *threads_used,
    ])
    if ARGS.quick:
        print("\n--quick: RESULTS.md left as it is")
    else:
        print(f"\nwritten to {write_section('mlp', body)}")


if __name__ == "__main__":
    if ARGS.memory_of:  # in a fresh process: only this framework's step runs
        steps = dict(zip(("minigrad", "torch"), training_steps()))
        print(peak_memory_mib(steps[ARGS.memory_of]))
    else:
        main()
