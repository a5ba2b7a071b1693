"""Gradient accumulation: the update of a large batch in the memory of a small one (minigrad only).

One training step (forward, backward, clip, AdamW) of full fine-tuning, three ways, on the same
32 texts: one batch of 32; four batches of 8 accumulated (`--accumulate 4 --batch-size 8`); and,
for the memory it should cost, one batch of 8 alone. Before timing, the accumulated step's
gradient (the change an SGD step at lr 1 makes) is checked against the batch of 32's. Peak memory
is what NumPy allocates during the step (tracemalloc, as `minigrad compare` measures it); time is
the median of interleaved steps.

    python benchmarks/bench_accumulate.py            # writes the accumulate section of RESULTS.md
    python benchmarks/bench_accumulate.py --quick    # smoke run
"""
import argparse

from common import limit_threads, machine_info, time_interleaved, today, write_section

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--quick", action="store_true")
ARGS = parser.parse_args()
limit_threads(ARGS.threads)

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import backend  # noqa: E402
from models import data, pretrained, tasks  # noqa: E402
from models.finetune import prepare  # noqa: E402
from models.heads import LanguageModel  # noqa: E402
from models.train import TrainConfig, make_optimizer, training_step  # noqa: E402
from models.transformer import TransformerConfig  # noqa: E402


def parts(batch, size):
    """The batch cut into batches of `size` rows (every tensor of it, row-wise)."""
    rows = len(batch["input_ids"])
    return [{name: value[start:start + size] for name, value in batch.items()} for start in range(0, rows, size)]


def update(base, batches):
    """What one training step on batches changes in every weight, with SGD at lr 1 and no clipping:
    minus the step's gradient."""
    mg.manual_seed(0)  # the same new head for every way of cutting the batch
    model = prepare(base, "full", num_labels=2)
    model.set_dropout(0.0)  # the same function, too
    before = [p.numpy().copy() for p in model.parameters()]
    optimizer = make_optimizer(model.param_groups, TrainConfig(optimizer="sgd", momentum=0.0, lr=1.0))
    training_step(model, tasks.loss, batches, optimizer, list(model.parameters()), 0, 0, tasks.loss_items)
    return [p.numpy() - b for p, b in zip(model.parameters(), before)]


def measure(base, batch, repeats):
    whole, apart = update(base, [batch]), update(base, parts(batch, 8))
    difference = max(float(np.abs(a - w).max()) for a, w in zip(apart, whole))
    largest = max(float(np.abs(w).max()) for w in whole)
    if difference > 1e-4 * largest:
        raise RuntimeError(f"4 x 8 accumulated gives another gradient than 32 at once: {difference:.1e} apart")
    mg.manual_seed(0)
    model = prepare(base, "full", num_labels=2)
    optimizer = make_optimizer(model.param_groups, TrainConfig(lr=1e-6))  # tiny steps: the model barely moves
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    ways = {"one batch of 32": [batch], "4 batches of 8, accumulated": parts(batch, 8),
            "one batch of 8 (for its memory)": parts(batch, 8)[:1]}
    steps = {name: (lambda b=b: training_step(model, tasks.loss, b, optimizer, trainable, 1.0, 0, tasks.loss_items))
             for name, b in ways.items()}
    peaks = {}
    for name, step in steps.items():
        step()  # AdamW's moments exist before the measurement
        with backend.PeakMemory("cpu") as memory:
            step()
        peaks[name] = memory.peak_bytes / 2**20
    times = time_interleaved(steps, repeats)
    return difference, largest, [(name, peaks[name], times[name]) for name in ways]


def main():
    repeats = 3 if ARGS.quick else 20
    tiny = pretrained.load("tiny")
    batch = next(data.batches(data.load_task("sentiment").train, tiny.tokenizer, 32, 48, seed=0))
    larger = LanguageModel(TransformerConfig(vocab_size=tiny.config.vocab_size, n_layers=6, d_model=256,
                                             n_heads=8, d_ff=1024, max_len=128, dropout=0.0,
                                             gelu_approximate="tanh"))
    sections = []
    for title, base in (("tiny (shipped)", tiny), ("larger (6 layers, d 256)", larger)):
        difference, largest, rows = measure(base, batch, repeats)
        reference = rows[0]
        lines = [f"| {name} | {peak:.1f} | **{peak / reference[1]:.2f}x** | {1e3 * seconds:.1f} | "
                 f"**{seconds / reference[2]:.2f}x** |" for name, peak, seconds in rows]
        header = "| step | peak MiB | vs 32 | ms per step | vs 32 |\n|---|---:|---:|---:|---:|\n"
        sections.append(f"**{title}**, full fine-tuning, median of {repeats}; the accumulated gradient is the "
                        f"batch of 32's to {difference:.1e} (its largest entry: {largest:.1e})\n\n"
                        + header + "\n".join(lines))
        print(sections[-1], "\n")
    body = f"""## Gradient accumulation: a batch of 32 in the memory of 8 (`benchmarks/bench_accumulate.py`)

{today()} on {machine_info()}; {ARGS.threads} thread(s). One step of full fine-tuning (forward,
backward, clip, AdamW) on the sentiment task's first 32 texts (T <= 48): as one batch, as four
batches of 8 accumulated (`--accumulate 4 --batch-size 8`: each batch's graph is gone before the
next one's forward), and one batch of 8 alone. Peak MiB: the most NumPy had allocated during the
step beyond what it held before (the weights and AdamW's moments; the gradients are the step's own).

""" + "\n\n".join(sections)
    if not ARGS.quick:
        write_section("accumulate", body)
        print("wrote the accumulate section of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
