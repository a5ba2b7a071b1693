"""minigrad vs PyTorch (CPU): forward + backward of an MLP and of attention blocks.

The model code is written once and run by both frameworks: it uses only what
the two share (`@`, `+`, `*`, reshape, permute, relu, mean, backward) plus three
functions looked up in a per-framework table (layer_norm, GELU, fused
scaled-dot-product attention). Both get the same float32 weights, the same
inputs and the same number of threads, and must agree on the loss and every
gradient before anything is timed. Then the cases are timed in turn, one step
each, `--repeats` times, and the medians compared -- once per thread count.

    python benchmarks/bench_engine.py            # writes the engine section of RESULTS.md
    python benchmarks/bench_engine.py --quick    # a smoke run; RESULTS.md untouched

Benchmark-only dependencies: `pip install torch==2.13.0 threadpoolctl` (torch's
CPU build; threadpoolctl sets the BLAS thread count at run time).
"""
import argparse
import os
from types import SimpleNamespace

from common import limit_threads, machine_info, thread_report, time_interleaved, today, using_threads, write_section


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}",
                        help="comma-separated thread counts for BLAS and torch, each timed in turn (default: 1 and all)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed steps per case, median taken (default 40; 5 with --quick)")
    parser.add_argument("--pause", type=float, default=0.25,
                        help="seconds of sleep before each timed step when threads > 1 (see common.time_interleaved)")
    parser.add_argument("--quick", action="store_true", help="few repeats, print only (no RESULTS.md)")
    return parser.parse_args()


ARGS = parse_args()
THREADS = sorted({int(n) for n in ARGS.threads.split(",")})
limit_threads(max(THREADS))  # before NumPy and PyTorch start their thread pools; lowered per run below

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import minigrad as mg  # noqa: E402

MINIGRAD = SimpleNamespace(
    name="minigrad", tensor=lambda a, grad=True: mg.tensor(a, requires_grad=grad),
    layer_norm=mg.ops.layer_norm, gelu=mg.ops.gelu, attention=mg.ops.scaled_dot_product_attention,
)
TORCH = SimpleNamespace(
    name="torch", tensor=lambda a, grad=True: torch.tensor(a, requires_grad=grad),
    layer_norm=F.layer_norm, gelu=F.gelu, attention=F.scaled_dot_product_attention,
)
MLP = dict(batch=256, width=512, layers=3)
ATTENTION = dict(batch=8, seq=64, d=128, heads=4, d_ff=512, blocks=2)


# ---- the two workloads, written once --------------------------------------------------

def mlp_weights(rng, width, layers, **_):
    # He init (std sqrt(2 / fan_in)) keeps relu activations O(1) through the layers
    return [(rng.standard_normal((width, width), dtype=np.float32) * np.float32(np.sqrt(2 / width)),
             np.zeros(width, dtype=np.float32)) for _ in range(layers)]


def mlp_step(fw, params, x):
    """Linear layers with relu between them; loss = mean(out^2)."""
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w + b  # (B, 512) @ (512, 512) + (512,)
        if i < len(params) - 1:
            h = h.relu()
    loss = (h * h).mean()
    loss.backward()
    return loss


def attention_weights(rng, d, d_ff, blocks, **_):
    def linear(n_in, n_out):
        w = rng.standard_normal((n_in, n_out), dtype=np.float32) / np.float32(np.sqrt(n_in))
        return w, np.zeros(n_out, np.float32)

    def norm():
        return np.ones(d, np.float32), np.zeros(d, np.float32)

    return [dict(ln1=norm(), q=linear(d, d), k=linear(d, d), v=linear(d, d), o=linear(d, d),
                 ln2=norm(), up=linear(d, d_ff), down=linear(d_ff, d)) for _ in range(blocks)]


def split_heads(y, heads):  # (B, T, D) -> (B, H, T, D/H)
    B, T, D = y.shape
    return y.reshape(B, T, heads, D // heads).permute(0, 2, 1, 3)


def attention_step(fw, blocks, x, heads=ATTENTION["heads"]):
    """Pre-LN transformer blocks (GPT-style, causal); loss = mean(out^2)."""
    B, T, D = x.shape
    for p in blocks:
        h = fw.layer_norm(x, (D,), *p["ln1"])
        q, k, v = (split_heads(h @ p[name][0] + p[name][1], heads) for name in "qkv")
        a = fw.attention(q, k, v, is_causal=True)  # (B, H, T, D/H)
        a = a.permute(0, 2, 1, 3).reshape(B, T, D)
        x = x + a @ p["o"][0] + p["o"][1]
        h = fw.layer_norm(x, (D,), *p["ln2"])
        x = x + fw.gelu(h @ p["up"][0] + p["up"][1]) @ p["down"][0] + p["down"][1]  # (B, T, D)
    loss = (x * x).mean()
    loss.backward()
    return loss


# ---- running both frameworks on the same numbers ---------------------------------------

def to_framework(fw, tree):
    """The same nested weights, as leaf tensors of one framework."""
    if isinstance(tree, np.ndarray):
        return fw.tensor(tree.copy())
    if isinstance(tree, dict):
        return {k: to_framework(fw, v) for k, v in tree.items()}
    return type(tree)(to_framework(fw, v) for v in tree)


def leaves(tree):
    if isinstance(tree, dict):
        return [t for v in tree.values() for t in leaves(v)]
    if isinstance(tree, (list, tuple)):
        return [t for v in tree for t in leaves(v)]
    return [tree]


def make_case(fw, step, weights, x):
    """A zero-argument function running one training step, and the parameters it updates."""
    params, x = to_framework(fw, weights), fw.tensor(x, grad=False)

    def run():
        for p in leaves(params):
            p.grad = None
        return step(fw, params, x)

    return run, params


def check_agree(name, mg_case, torch_case):
    """Same loss and gradients from both: the two really do the same work."""
    (mg_run, mg_params), (torch_run, torch_params) = mg_case, torch_case
    loss_mg, loss_torch = mg_run().item(), torch_run().item()
    grads = [(a.grad.numpy(), b.grad.numpy()) for a, b in zip(leaves(mg_params), leaves(torch_params))]
    # relative to the largest gradient anywhere: some gradients are ~0 by symmetry (the key
    # bias's, since softmax ignores a constant added to every score of a row), so compare globally
    worst = max(float(np.abs(a - b).max()) for a, b in grads) / max(float(np.abs(b).max()) for _, b in grads)
    print(f"{name}: loss minigrad {loss_mg:.6f} vs torch {loss_torch:.6f}; largest gradient difference "
          f"{worst:.1e} of the largest gradient")
    assert abs(loss_mg - loss_torch) <= 1e-4 * max(1.0, abs(loss_torch)) and worst < 1e-3, "frameworks disagree"


def main():
    rng = np.random.default_rng(0)
    repeats = ARGS.repeats or (5 if ARGS.quick else 40)
    workloads = {
        "MLP": (MLP, mlp_step, mlp_weights(rng, **MLP),
                rng.standard_normal((MLP["batch"], MLP["width"]), dtype=np.float32)),
        "attention": (ATTENTION, attention_step, attention_weights(rng, **ATTENTION),
                      rng.standard_normal((ATTENTION["batch"], ATTENTION["seq"], ATTENTION["d"]), dtype=np.float32)),
    }
    cases = {}
    for workload, (_, step, weights, x) in workloads.items():
        made = {fw.name: make_case(fw, step, weights, x) for fw in (MINIGRAD, TORCH)}
        check_agree(workload, made["minigrad"], made["torch"])
        cases.update({f"{workload} {name}": run for name, (run, _) in made.items()})

    load_before = os.getloadavg()[0]
    rows, reports = [], []
    for n in THREADS:
        with using_threads(n, torch):
            print(f"{n} thread(s): timing {len(cases)} cases, {repeats} interleaved repeats each ...")
            # one thread: nothing spins, no pause needed; more: let the other library's pool go idle
            medians = time_interleaved(cases, repeats, pause=0.0 if n == 1 else ARGS.pause)
            reports.append(f"{n}: {thread_report(torch)}")
        for workload, (config, *_) in workloads.items():
            t_mg, t_torch = medians[f"{workload} minigrad"], medians[f"{workload} torch"]
            shape = ", ".join(f"{k} {v}" for k, v in config.items())
            rows.append(f"| {workload} ({shape}) | {n} | {t_mg * 1e3:.2f} | {t_torch * 1e3:.2f} | {t_mg / t_torch:.2f}x |")
    load = f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    table = "\n".join(["| forward + backward, float32 | threads | minigrad ms | PyTorch ms | minigrad / PyTorch |",
                       "|---|---:|---:|---:|---:|", *rows])
    threads = "\n".join(f"- {r}" for r in reports)
    print(f"\n{table}\n\nthreads in use (read back from each pool):\n{threads}\n1-minute load average: {load}")

    if ARGS.quick:
        print("(--quick: RESULTS.md not written)")
        return
    body = f"""## Engine: minigrad vs PyTorch CPU (`benchmarks/bench_engine.py`)

{today()} on {machine_info()}.
Median of {repeats} interleaved steps (minigrad, PyTorch, minigrad, ...) after warm-up, per thread count;
1-minute load average {load}: anything above 0 is other work sharing the machine, and a run
with more threads than the cores left idle measures that contention more than either library.
Each step zeroes the gradients, runs forward and backward, and ends with mean(out^2) as the loss.
The MLP is 3 x (matmul + bias), relu between; the attention model is pre-LN blocks of causal
4-head attention (q/k/v/o projections, fused `scaled_dot_product_attention`, residual) and a
GELU MLP (d -> d_ff -> d, exact erf GELU), with minigrad's fused `layer_norm` and attention
against `torch.nn.functional`'s. Target: minigrad / PyTorch <= 1.3x.

{table}

Threads, as each pool reports them (torch.set_num_threads, and threadpoolctl limits on the
OpenBLAS pool NumPy uses and on the OpenMP pool):
{threads}
"""
    path = write_section("engine", body)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
