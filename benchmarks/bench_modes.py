"""Each fine-tuning mode's training step, relative to full fine-tuning (minigrad only).

A frozen parameter gets no gradient and no graph node, so the backward pass skips
its weight-gradient matmul and the optimizer skips its update. How much that saves
depends on what else the step does: on a tiny model the per-op Python overhead
and elementwise passes are the same for every mode; on a larger one, where matmuls
dominate, frozen weights save more. Both are measured, interleaved, in one run.

    python benchmarks/bench_modes.py            # writes the modes section of RESULTS.md
    python benchmarks/bench_modes.py --quick    # smoke run
"""
import argparse

from common import limit_threads, machine_info, time_interleaved, today, write_section

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--repeats", type=int, default=None, help="timed steps per mode (default 20; 3 with --quick)")
parser.add_argument("--quick", action="store_true")
ARGS = parser.parse_args()
limit_threads(ARGS.threads)

import minigrad as mg  # noqa: E402
from models import data, pretrained  # noqa: E402
from models import tasks  # noqa: E402
from models.finetune import MODES, count_parameters, prepare  # noqa: E402
from models.heads import LanguageModel  # noqa: E402
from models.train import TrainConfig, make_optimizer, training_step  # noqa: E402
from models.transformer import TransformerConfig  # noqa: E402

TARGETS = {"head": 0.4, "adapter": 0.8, "lora": 0.8, "prompt": 0.8}


def floor_case(config):
    """The floor of a frozen-body step: only the first LayerNorm the input meets (and the head)
    trains, so the backward runs through every layer, computing activation gradients but no
    weight gradients. A prompt sits below it (its gradient reaches the embeddings), so it cannot cost
    less; adapters, LoRA, prefixes and (IA)^3 sit inside the bottom block and stop a few ops short of
    it (that block's attention, or its projections' input gradients), so they cost about as much, a
    little less at most. Pre-LN meets blocks.0.ln1 first; post-LN (BERT) normalises the embeddings first."""
    first_norm = "*blocks.0.ln1.weight" if config.norm_first else "*embedding_norm.weight"
    return "floor", "params", {"patterns": [first_norm]}


def step_function(model, batch):
    optimizer = make_optimizer(model.param_groups, TrainConfig(lr=1e-4))
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    return lambda: training_step(model, tasks.loss, [batch], optimizer, trainable, 1.0, 0)


def measure(base, batch, repeats, **head_options):
    cases, counts = {}, {}
    for name, mode, options in [(mode, mode, {}) for mode in MODES] + [floor_case(base.config)]:
        mg.manual_seed(0)
        model = prepare(base, mode, num_labels=2, **options, **head_options)
        cases[name] = step_function(model, batch)
        counts[name] = count_parameters(model)
    times = time_interleaved(cases, repeats)
    return [(name, counts[name], times[name], times[name] / times["full"]) for name in cases]


def versus_pytorch(tiny, batch, repeats):
    """The frozen-body modes in both frameworks on the tiny model, next-token loss (the PyTorch
    twin has no classification head): is the floor minigrad's or the model's?"""
    try:
        import torch
    except ImportError:
        print("PyTorch section skipped: pip install torch==2.13.0")
        return None
    from lm_steps import minigrad_step, torch_step
    from torch_twin import fine_tuning_twin

    torch.set_num_threads(ARGS.threads)
    ids = batch["input_ids"].numpy()  # (32, T): predict tokens 1.. from the ones before
    floor_mode, floor_options = floor_case(tiny.config)[1:]
    modes = ("full", "floor", "lora", "adapter", "prompt", "prefix", "ia3")
    cases = {}
    for mode in modes:
        mg.manual_seed(0)
        ours = prepare(tiny, floor_mode, task="lm", **floor_options) if mode == "floor" else prepare(tiny, mode, task="lm")
        prompt = ours.body.prompt.numpy() if mode == "prompt" else None
        prefix = (([k.numpy() for k in ours.body.prefix_keys], [v.numpy() for v in ours.body.prefix_values])
                  if mode == "prefix" else None)
        cases["minigrad", mode] = minigrad_step(ours, ids)
        cases["PyTorch", mode] = torch_step(fine_tuning_twin(tiny, mode, prompt, prefix), ids)
    for mode in modes:  # the same work: the first steps' losses agree
        ours, theirs = cases["minigrad", mode](), cases["PyTorch", mode]()
        if abs(ours - theirs) > 1e-4 * abs(theirs):
            raise RuntimeError(f"{mode}: minigrad's first loss {ours} but PyTorch's {theirs}: not the same model")
    times = time_interleaved(cases, repeats)
    lines = [f"| {mode} | {1e3 * times['minigrad', mode]:.1f} | **{times['minigrad', mode] / times['minigrad', 'full']:.3f}x** | "
             f"{1e3 * times['PyTorch', mode]:.1f} | **{times['PyTorch', mode] / times['PyTorch', 'full']:.3f}x** |"
             for mode in modes]
    return (f"**tiny, next-token loss, minigrad and PyTorch {torch.__version__}** (the same modes, "
            f"benchmarks/torch_twin.py), median of {repeats}\n\n"
            "| mode | minigrad ms | vs full | PyTorch ms | vs full |\n|---|---:|---:|---:|---:|\n" + "\n".join(lines))


def main():
    repeats = ARGS.repeats or (3 if ARGS.quick else 20)
    tiny = pretrained.load("tiny")
    task = data.load_task("sentiment")
    batch = next(data.batches(task.train, tiny.tokenizer, 32, 48, seed=0))
    larger = LanguageModel(TransformerConfig(vocab_size=tiny.config.vocab_size, n_layers=6, d_model=256,
                                             n_heads=8, d_ff=1024, max_len=128, dropout=0.0,
                                             gelu_approximate="tanh"))
    cases = [("tiny (shipped), batch 32", tiny, batch, repeats, {}),
             ("larger (6 layers, d 256), batch 32", larger, batch, repeats, {})]
    try:  # the real model on the real task, where both are on this machine
        minilm = pretrained.load("minilm")
        real = next(data.batches(data.load_task("rt-polarity").train, minilm.tokenizer, 32, 64, seed=0))
        cases.append((f"MiniLM (all-MiniLM-L6-v2, 6 layers, d 384, encoder), rt-polarity, batch 32, "
                      f"T={real['input_ids'].shape[1]}", minilm, real, max(3, repeats // 4), {"pooling": "mean"}))
    except (FileNotFoundError, ImportError, RuntimeError) as missing:
        print(f"MiniLM section skipped: {missing}")
    sections = []
    pytorch = versus_pytorch(tiny, batch, repeats)
    for name, base, batch, repeats, head_options in cases:
        rows = measure(base, batch, repeats, **head_options)
        lines = [f"| {mode} | {trainable:,} / {total:,} | {1e3 * seconds:.1f} | **{ratio:.3f}x** | "
                 f"{'<= %.1fx: %s' % (TARGETS[mode], 'met' if ratio <= TARGETS[mode] else 'missed') if mode in TARGETS else ''} |"
                 for mode, (trainable, total), seconds, ratio in rows]
        sections.append(f"**{name}**, median of {repeats}\n\n| mode | trainable / total | ms per step | vs full | target |\n"
                        "|---|---:|---:|---:|---|\n" + "\n".join(lines))
        print(sections[-1], "\n")
    if pytorch:
        sections.append(pytorch)
        print(pytorch, "\n")
    body = f"""## Fine-tuning modes: step time relative to full fine-tuning (`benchmarks/bench_modes.py`)

{today()} on {machine_info()}; {ARGS.threads} thread(s). One training step (forward, backward, clip,
AdamW) on the same batch (the sentiment task's, B=32, T<=48; MiniLM's from rt-polarity), median of
interleaved steps. MiniLM is an encoder: its prompt is concatenated to every input (the KV cache
needs a causal body), and it trains with BERT's dropout 0.1. The last table runs the frozen-body
modes in PyTorch too, on the same model and batch with the next-token loss: where PyTorch's ratios
are the same, the cost of a frozen-body step is the model's shape, not the framework.
The **floor** row trains only the bottom block's first LayerNorm (and the head): its backward runs
through every layer for activation gradients, with no weight gradients. A prompt's gradient goes
further down (to the embeddings), so prompt tuning cannot cost less; adapters, LoRA, prefixes and
(IA)^3 sit inside the bottom block and stop a few ops short, so they cost about the floor.
A causal body's prompt runs once per batch through a KV cache (models/finetune/prompt.py), so the
batch's sequences stay T long; the prompt's own pass and its 8 extra keys per query are its cost.
A prefix (models/finetune/prefix.py) is learned keys and values: no pass of its own and no extra
queries, so it costs about the floor, as LoRA and adapters do.

""" + "\n\n".join(sections)
    if not ARGS.quick:
        write_section("modes", body)
        print("wrote the modes section of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
