"""Per-op overhead: what one op costs when the arrays are too small for the arithmetic to matter.

On an 8 x 8 input an op's time is all bookkeeping: Python calls, shape checks,
recording the graph node, allocating the output. That fixed cost is paid once
per op per step whatever the size, so it decides how fast a small model trains
(the tiny transformer's step runs ~250 ops). Each op is timed on 8 x 8 and on
256 x 256 float32 inputs, forward only (with the graph recorded) and forward +
backward, in minigrad and in PyTorch eager, interleaved, one thread.

    python benchmarks/bench_overhead.py            # writes the overhead section of RESULTS.md
    python benchmarks/bench_overhead.py --quick    # a smoke run; RESULTS.md untouched
"""
import argparse

from common import limit_threads, machine_info, thread_report, time_interleaved, today, using_threads, write_section

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--repeats", type=int, default=None, help="timed rounds per op, median taken (default 15; 3 with --quick)")
parser.add_argument("--quick", action="store_true", help="few repeats, print only (no RESULTS.md)")
ARGS = parser.parse_args()
limit_threads(1)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import minigrad as mg  # noqa: E402

CALLS = 200  # ops per timed round: one op is a few microseconds, below the timer's resolution
SIZES = (8, 256)

# Each op written once: fw is minigrad's or torch's functional namespace, a and b are (n, n) leaves.
OPS = {
    "add": lambda fw, a, b: a + b,
    "mul": lambda fw, a, b: a * b,
    "exp": lambda fw, a, b: a.exp(),
    "tanh": lambda fw, a, b: a.tanh(),
    "sum(dim=-1)": lambda fw, a, b: a.sum(-1),
    "reshape": lambda fw, a, b: a.reshape(-1),
    "transpose": lambda fw, a, b: a.transpose(0, 1),
    "getitem a[1:]": lambda fw, a, b: a[1:],
    "matmul": lambda fw, a, b: a @ b,
    "softmax": lambda fw, a, b: fw.softmax(a, -1),
    "layer_norm": lambda fw, a, b: fw.layer_norm(a, (a.shape[-1],)),
}
FRAMEWORKS = {"minigrad": (mg, mg.nn.functional), "torch": (torch, TF)}


def leaves(lib, n, rng):
    return [lib.tensor(rng.standard_normal((n, n), dtype=np.float32), requires_grad=True) for _ in range(2)]


def forward_only(fn, functional, a, b):
    def run():
        for _ in range(CALLS):
            fn(functional, a, b)
    return run


def forward_backward(fn, functional, a, b):
    """op, then a sum (one more op in both) to get a scalar, then backward."""
    def run():
        for _ in range(CALLS):
            fn(functional, a, b).sum().backward()
        a.grad = b.grad = None
    return run


def measure(repeats):
    rows = []
    for n in SIZES:
        rng = np.random.default_rng(0)
        inputs = {name: leaves(lib, n, np.random.default_rng(0)) for name, (lib, _) in FRAMEWORKS.items()}
        for op, fn in OPS.items():
            cases = {}
            for name, (_, functional) in FRAMEWORKS.items():
                a, b = inputs[name]
                cases[(name, "fwd")] = forward_only(fn, functional, a, b)
                cases[(name, "fwd+bwd")] = forward_backward(fn, functional, a, b)
            times = {key: t / CALLS * 1e6 for key, t in time_interleaved(cases, repeats).items()}  # us per op
            rows.append((f"{n} x {n}", op, times))
        del rng
    return rows


def table(rows):
    lines = ["| input | op | minigrad fwd us | PyTorch fwd us | ratio | minigrad fwd+bwd us | PyTorch fwd+bwd us | ratio |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for size, op, t in rows:
        fwd, both = (t[("minigrad", k)] / t[("torch", k)] for k in ("fwd", "fwd+bwd"))
        lines.append(f"| {size} | {op} | {t[('minigrad', 'fwd')]:.1f} | {t[('torch', 'fwd')]:.1f} | {fwd:.2f}x "
                     f"| {t[('minigrad', 'fwd+bwd')]:.1f} | {t[('torch', 'fwd+bwd')]:.1f} | {both:.2f}x |")
    return "\n".join(lines)


def geometric_mean(values):
    return float(np.exp(np.mean(np.log(values))))


def main():
    repeats = ARGS.repeats or (3 if ARGS.quick else 15)
    with using_threads(1, torch):
        rows = measure(repeats)
        threads = thread_report(torch)
    small = [t for size, _, t in rows if size.startswith(f"{SIZES[0]} ")]
    summary = {k: geometric_mean([t[("minigrad", k)] / t[("torch", k)] for t in small]) for k in ("fwd", "fwd+bwd")}
    body = f"""## Per-op overhead: minigrad vs PyTorch CPU (`benchmarks/bench_overhead.py`)

{today()} on {machine_info()}; one thread ({threads}).
Microseconds per op: the median of {repeats} interleaved rounds of {CALLS} calls each, inputs two float32
leaves that require gradients. "fwd" runs the op and records its graph node; "fwd+bwd" adds a `.sum()`
and `backward()` (so it is three ops' worth of bookkeeping in both frameworks). On {SIZES[0]} x {SIZES[0]}
inputs the time is nearly all fixed cost; on {SIZES[1]} x {SIZES[1]} the arithmetic starts to count.

{table(rows)}

Geometric mean of the ratios on {SIZES[0]} x {SIZES[0]}: forward {summary['fwd']:.2f}x, forward + backward
{summary['fwd+bwd']:.2f}x. minigrad's fixed cost is Python (the Function's apply: checks, a Context, the
output Tensor); PyTorch's is C++ dispatch. It is paid per op, so it matters for tiny models and not for
big ones (see the transformer step sections).
"""
    print(body)
    if not ARGS.quick:
        print(f"wrote {write_section('overhead', body)}")


if __name__ == "__main__":
    main()
