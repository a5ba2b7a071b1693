"""Lesson 12: parameter-efficient fine-tuning from the inside -- prompt and prefix tuning, adapters, LoRA, (IA)^3.

Full fine-tuning changes every weight: one full copy of the model per task.
The parameter-efficient modes freeze the pretrained weights and add a few new
ones, in five different places:

  prompt   (Lester et al. 2021)  n vectors in front of the input, as if they
           were the embeddings of n extra tokens: n * d numbers.
  prefix   (Li & Liang 2021)     n keys and values in front of every block's
           own, which every token attends to: 2 * n_layers * n * d numbers.
  adapter  (Houlsby et al. 2019) h -> h + up(gelu(down(h))) after the attention
           and after the MLP of every block; down: d -> r, up: r -> d (r = d / 16
           by default: reduction_factor=16), with `up` zero at the start, so the
           model starts exactly as pretrained.
  lora     (Hu et al. 2021)      W x -> W x + (alpha / r) B A x for the query and
           value projections; A (r, d), B (d, r), B zero at the start. After
           training, B A folds into W: no extra cost at inference.
  ia3      (Liu et al. 2022)     k -> l_k * k, v -> l_v * v, and the MLP's activations
           a -> l_ff * a in every block: vectors that start at 1 and multiply
           where LoRA adds, (2 d + d_ff) numbers per block, the fewest of the modes
           that change every block (only the prompt's n * d are fewer).

We look at where the new parameters sit (the module tree), count them against
the body, check what the frozen weights get from backward (nothing: p.grad is
None), see why a causal model's prompt needs computing only once per batch and
where prefix tuning starts, time one training step of each mode, merge and
unmerge LoRA and (IA)^3, see what LoRA's rank changes (its scale alpha / r), check that adapters, LoRA and (IA)^3 start as the
identity, and save only what trained.

Run: python lessons/12_peft.py   (--quick for fewer timing steps)
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from models import data, pretrained, tasks
from models.finetune import (count_parameters, describe, load_delta, merge_ia3, merge_lora, prepare, save_delta,
                             unmerge_ia3, unmerge_lora)
from models.train import TrainConfig, make_optimizer, train, training_step

FIGURES = Path(__file__).parent / "figures"
LR = {"full": 1e-3, "head": 1e-2, "prompt": 3e-2, "prefix": 1e-1, "adapter": 3e-3, "lora": 5e-3, "ia3": 1e-2}


def where_they_sit(base):
    """Prepare each PEFT mode, print where its trainable parameters are and count them."""
    config = base.config
    d, L = config.d_model, config.n_layers
    r = d // 16  # the adapters' bottleneck: d / reduction_factor, 16 by default
    body = sum(p.numel() for p in base.body.parameters())
    print(f"the pretrained body: {L} blocks, d_model {d}, {body:,} parameters (all frozen below)\n")
    models = {}
    for mode, options, formula in [
        ("prompt", {"n_prompt": 8}, lambda o: (f"n_prompt * d = 8 * {d}", 8 * d)),
        ("prefix", {"n_prefix": 8}, lambda o: (f"keys and values * {L} blocks * n_prefix * d = 2 * {L} * 8 * {d}",
                                               2 * L * 8 * d)),
        ("adapter", {"reduction_factor": 16}, lambda o: (f"2 per block * {L} blocks * (2 d r + r + d), r = d / 16 = {r}: "
                                                  f"{2 * L} * (2*{d}*{r} + {r} + {d})", 2 * L * (2 * d * r + r + d))),
        ("lora", {"r": 8}, lambda o: (f"2 targets (query, value) * {L} blocks * r (d_in + d_out) = {2 * L} * "
                                      f"8 * ({d} + {d})", 2 * L * 8 * (d + d))),
        ("ia3", {}, lambda o: (f"{L} blocks * (2 d + d_ff) = {L} * (2*{d} + {config.d_ff})",
                               L * (2 * d + config.d_ff))),
    ]:
        mg.manual_seed(0)
        tuned = prepare(base, mode, num_labels=2, **options)
        models[mode] = tuned
        print(f"== {mode} ==")
        describe(tuned)  # prints the mode and HF PEFT's "trainable params: X || all params: Y" line
        trainable = [(name, p) for name, p in tuned.named_parameters() if p.requires_grad]
        shown = [(n, p) for n, p in trainable if ".blocks." not in n or ".blocks.0." in n]
        for name, p in shown:
            print(f"  trains: {name:<48} {str(tuple(p.shape)):>10}")
        if len(shown) < len(trainable):
            print(f"  ... and the same in blocks 1 to {L - 1} ({len(trainable) - len(shown)} more tensors)")
        text, value = formula(options)
        new = sum(p.numel() for n, p in trainable if not n.startswith("head."))
        print(f"  new parameters: {text} = {value:,} (counted: {new:,}) = {100 * new / body:.2f} % of the body")
        if mode == "lora":
            print("  inside block 0 (the module tree; LoRALinear wraps the frozen Linear as `base`):")
            for line in repr(tuned.transformer.blocks[0].attn).splitlines()[:5]:
                print("    " + line)
        if mode == "adapter":
            print("  inside block 0 (WithAdapter = the frozen sublayer as `base`, then the adapter):")
            lines = repr(tuned.transformer.blocks[0].attn).splitlines()
            for line in lines[:2] + ["    ... (query, key, value, out: the frozen Linear layers)"] + lines[6:]:
                print("    " + line)
        print()
    return models


def gradients(model, batch):
    """After one backward in LoRA mode: frozen weights have no gradient at all."""
    loss = tasks.loss(model, batch)
    loss.backward()
    named = dict(model.named_parameters())
    print("after one backward() in lora mode:")
    for name in ["body.blocks.0.attn.query.base.weight", "body.blocks.0.attn.key.weight",
                 "body.token_embedding.weight", "body.blocks.0.attn.query.lora_A",
                 "body.blocks.0.attn.query.lora_B", "head.classifier.weight"]:
        p = named[name]
        grad = "None" if p.grad is None else f"a {tuple(p.grad.shape)} tensor"
        print(f"  {name:<40} requires_grad={str(p.requires_grad):<5}  p.grad is {grad}")
    frozen = [p for p in model.parameters() if not p.requires_grad]
    print(f"  {sum(p.grad is None for p in frozen)} of {len(frozen)} frozen tensors have p.grad None: no gradient is "
          "computed or stored for them, and the optimizer never sees them")
    model.zero_grad()
    print()


def time_steps(base, batch, repeats):
    """Median seconds of one training step (forward, backward, clip, AdamW update) per mode."""
    runs = {}
    # "floor": only the bottom block's first LayerNorm (and the head) trains, so backward runs through
    # every block for the activations' gradients and computes no weight gradient: about what any mode
    # with parameters in the bottom block costs (a prompt, below that LayerNorm, at least this much)
    for name, mode, options in [("full", "full", {}), ("head", "head", {}), ("prompt", "prompt", {}),
                                ("prefix", "prefix", {}), ("adapter", "adapter", {}), ("lora", "lora", {}),
                                ("ia3", "ia3", {}),
                                ("floor", "params", {"patterns": ["*blocks.0.ln1.weight"]})]:
        mg.manual_seed(0)
        model = prepare(base, mode, num_labels=2, **options)
        optimizer = make_optimizer(model.param_groups, TrainConfig(lr=LR.get(mode, 1e-3)))
        runs[name] = model, optimizer, [p for group in optimizer.param_groups for p in group["params"]], []
    for i in range(repeats + 2):  # round-robin, so a busy moment of the machine hits every mode alike
        for model, optimizer, trainable, samples in runs.values():
            started = time.perf_counter()
            training_step(model, tasks.loss, [batch], optimizer, trainable, 1.0, i)
            samples.append(time.perf_counter() - started)
    times = {mode: float(np.median(samples[2:])) for mode, (_, _, _, samples) in runs.items()}  # 2 warm-ups
    print(f"one training step, batch of {batch['input_ids'].shape[0]} reviews (median of {repeats}):")
    print(f"{'mode':<8} {'trainable':>10} {'ms/step':>8} {'vs full':>8}")
    for mode, seconds in times.items():
        trainable, _ = count_parameters(runs[mode][0])
        print(f"{mode:<8} {trainable:>10,} {1000 * seconds:8.1f} {seconds / times['full']:7.2f}x")
    print("head: nothing in the body requires grad, so its forward records no graph and backward stops at")
    print("the head. prompt, prefix, adapter, LoRA and ia3 have parameters inside or before every block, so backward")
    print("still runs through the whole body to reach them: it skips the weight gradients of the frozen")
    print("layers (and their optimizer state), not the gradients flowing through the activations.")
    print("floor trains only the bottom block's first LayerNorm: the forward plus that whole backward, with")
    print("no weight gradient. A prompt's gradient goes further down, to the embeddings, so prompt costs at")
    print("least that; prefix, adapter, LoRA and ia3 sit inside block 0 and stop a few ops short of it, so")
    print("they cost about the floor, plus their own ops. On this small model the weight gradients are only")
    print("about a quarter of a full step, so on an idle machine all of them land around 0.7-0.85x (bigger")
    print("models save more: see benchmarks/RESULTS.md). prompt costs most: its own pass through the body, and")
    print("8 more keys per query; prefix has the keys but not the pass.")
    print("(Timings on a shared machine wobble by tens of percent from run to run; what holds is head far")
    print("below full, and prompt, adapter and LoRA much closer to full than their parameter counts suggest.)")
    frozen_body = [mode for mode in ("prompt", "prefix", "adapter", "lora", "ia3") if times[mode] >= times["full"]]
    if frozen_body:  # none of them can cost more than full fine-tuning: something else took the CPU meanwhile
        print(f"This run was disturbed: {', '.join(frozen_body)} took as long as full fine-tuning or longer,")
        print("which they cannot on an idle machine (they do less of the same work). Run the lesson again.")
    print()
    return times, {mode: count_parameters(run[0])[0] for mode, run in runs.items()}


def lora_merge(base, task, steps):
    """Train LoRA a little (so B A is not 0), then fold B A into W and take it out again."""
    mg.manual_seed(0)
    model = prepare(base, "lora", num_labels=2, r=8)
    batches = data.batches(task.train, base.tokenizer, 32, max_len=48, seed=0)
    train(model, tasks.loss, batches, TrainConfig(steps=steps, lr=LR["lora"], progress=False),
          param_groups=model.param_groups)
    model.eval()
    probe = next(data.batches(task.valid[:64], base.tokenizer, 64, max_len=48, shuffle=False))
    with mg.no_grad():
        before = model(probe["input_ids"], probe["attention_mask"]).numpy()
        query = model.transformer.blocks[0].attn.query
        W = query.base.weight.numpy().copy()
        delta = query.delta_weight().numpy()
        merge_lora(model)
        merged = model(probe["input_ids"], probe["attention_mask"]).numpy()
        W_merged = query.base.weight.numpy().copy()
        unmerge_lora(model)
        unmerged = model(probe["input_ids"], probe["attention_mask"]).numpy()
        W_back = query.base.weight.numpy()
    print(f"LoRA after {steps} steps: block 0's query update (alpha/r) B A is {delta.shape[0]}x{delta.shape[1]} "
          f"but of rank {np.linalg.matrix_rank(delta)} (r = {query.r}); its largest entry {np.abs(delta).max():.4f}")
    print(f"merge:   W' = W + (alpha/r) B A;  max |W' - W - delta| = {np.abs(W_merged - W - delta).max():.1e}")
    print(f"         logits merged vs with the LoRA path: max abs difference {np.abs(merged - before).max():.1e}")
    print(f"unmerge: max |W_back - W| = {np.abs(W_back - W).max():.1e}; "
          f"logits max abs difference {np.abs(unmerged - before).max():.1e}")
    print("(unmerge puts back the W that merge kept aside: in float32, W + D - D need not give back W's last bit)\n")
    return model, probe, before


def rank_and_scale(base, task, steps):
    """LoRA's rank: more columns in B and rows in A, but the update is scaled by alpha / r. With Adam every
    entry of B moves about lr per step whatever r is, and B A sums r such rank-one terms with little in
    common, so |B A| grows with r (ideally like sqrt(r)): (alpha / r) B A then shrinks as r grows
    (ideally like 1 / sqrt(r); more slowly in the run below). A larger rank takes smaller steps. Rank-stabilised LoRA (Kalajdzievski 2023) scales by alpha / sqrt(r) instead,
    here by choosing alpha proportional to sqrt(r)."""
    print(f"LoRA's rank, after {steps} steps at lr {LR['lora']} (Adam): |update| is the size (Frobenius norm)")
    print("of block 0's query update (alpha / r) B A, with alpha = 16 (this LoRA mode's default) and with alpha = 5.66 sqrt(r)")
    print(f"{'r':>4} {'trainable':>10} {'|update|, alpha 16':>20} {'val acc':>8} {'|update|, alpha 5.66 sqrt(r)':>30} "
          f"{'val acc':>8}")
    for r in (1, 8, 32):
        cells = []
        for alpha in (16, 16 / 8 ** 0.5 * r ** 0.5):  # both 16 at r = 8, this LoRA mode's default
            mg.manual_seed(0)
            model = prepare(base, "lora", num_labels=2, r=r, alpha=alpha)
            batches = data.batches(task.train, base.tokenizer, 32, max_len=48, seed=0)
            train(model, tasks.loss, batches, TrainConfig(steps=steps, lr=LR["lora"], progress=False),
                  param_groups=model.param_groups)
            with mg.no_grad():
                update = model.transformer.blocks[0].attn.query.delta_weight().numpy()
            accuracy = tasks.evaluate(model, task.valid, base.tokenizer, 2, {"max_len": 48})["accuracy"]
            cells.append((np.linalg.norm(update), accuracy))
        (plain, plain_acc), (stable, stable_acc) = cells
        print(f"{r:>4} {count_parameters(model)[0]:>10,} {plain:>20.3f} {100 * plain_acc:>7.1f}% {stable:>30.3f} "
              f"{100 * stable_acc:>7.1f}%")
    print("With alpha / r the update shrinks as the rank grows: rank 32 moves the weights less than rank 1 in")
    print("the same steps, which is why, in `minigrad compare --modes lora:r=1,lora:r=32`, the higher rank")
    print("forgets less. With alpha ~ sqrt(r) the size of the steps depends far less on the rank.\n")


def ia3_merge(base, task, steps, probe):
    """(IA)^3 folds in too: its scales multiply the rows (keys, values) or the columns (the MLP's down
    projection) of the weights they scale."""
    mg.manual_seed(0)
    model = prepare(base, "ia3", num_labels=2)
    batches = data.batches(task.train, base.tokenizer, 32, max_len=48, seed=0)
    train(model, tasks.loss, batches, TrainConfig(steps=steps, lr=LR["ia3"], progress=False),
          param_groups=model.param_groups)
    model.eval()
    key = model.transformer.blocks[0].attn.key
    with mg.no_grad():
        before = model(probe["input_ids"], probe["attention_mask"]).numpy()
        merge_ia3(model)
        merged = model(probe["input_ids"], probe["attention_mask"]).numpy()
        unmerge_ia3(model)
    scale = key.ia3_scale.numpy()
    print(f"(IA)^3 after {steps} steps: block 0's key scales range {scale.min():.3f} to {scale.max():.3f}")
    print("merge:   W_K' = diag(l_k) W_K (and W_down' = W_down diag(l_ff)); logits merged vs scaled: max abs "
          f"difference {np.abs(merged - before).max():.1e}\n")


def identity_at_init(base, models, batch):
    """Adapters and LoRA add nothing at the start; a prompt changes the input, so it does."""
    ids, mask = batch["input_ids"], batch["attention_mask"]
    with mg.no_grad():
        reference = base.body(ids, mask).numpy()
        for mode in ["adapter", "lora", "ia3", "prompt", "prefix"]:
            hidden = models[mode].body(ids, mask).numpy()
            why = {"adapter": "up = 0, so h + up(...) = h", "lora": "B = 0, so B A x = 0", "ia3": "l = 1, so l * k = k",
                   "prompt": "8 extra vectors to attend to: not the identity",
                   "prefix": "8 extra keys and values per block: not the identity"}[mode]
            print(f"at init, {mode:<7} body vs pretrained body: max abs difference {np.abs(hidden - reference).max():.1e}"
                  f"   ({why})")
    print()


def prompt_through_a_cache(models, batch):
    """A causal body lets the prompt run once per batch: its keys and values are cached per block."""
    ids, mask = batch["input_ids"], batch["attention_mask"]
    prompted = models["prompt"].body  # PromptTuned: the frozen body and the prompt P (n, d)
    n = prompted.n_prompt
    with mg.no_grad():
        cached = prompted(ids, mask).numpy()
        concatenated = prompted.concatenated(ids, mask).numpy()
    print(f"prompt tuning as Lester et al. write it: [P; x], {n} + {ids.shape[1]} positions in every block.")
    print("In a causal body the prompt's positions attend only to each other, so their keys and values in")
    print(f"every block are the same for every review: minigrad runs P alone (batch 1, {n} positions) once per")
    print("batch, keeps each block's keys and values (a KV cache), and runs the reviews on their own")
    print(f"{ids.shape[1]} positions, attending to the cached prompt first. Same numbers: max abs difference "
          f"{np.abs(cached - concatenated).max():.1e}.")
    with mg.no_grad():
        prefixed = models["prefix"].body(ids, mask).numpy()  # prepared from the same random draw as the prompt
    print("Prefix tuning starts from exactly those cached keys and values (max abs difference "
          f"{np.abs(prefixed - cached).max():.1e})")
    print("and trains them directly, block by block: 2 * n_layers times the numbers, and no pass of P")
    print("through the body.\n")


def deltas(base, lora_model, probe, logits):
    """Save only what trained; load it back onto the base and get the same predictions."""
    full_size = os.path.getsize(pretrained.resolve("tiny"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sentiment-lora.safetensors"
        save_delta(lora_model, path)
        delta_size = path.stat().st_size
        loaded = load_delta(base, path).eval()
        with mg.no_grad():
            again = loaded(probe["input_ids"], probe["attention_mask"]).numpy()
    print(f"the saved LoRA delta: {delta_size:,} bytes; the full checkpoint: {full_size:,} bytes "
          f"({full_size / delta_size:.0f}x larger)")
    print(f"load_delta(base, path): logits max abs difference {np.abs(again - logits).max():.1e} "
          "(one base model on disk, a small file per task)")
    return delta_size, full_size


def main(quick):
    base = pretrained.load("tiny")
    task = data.load_task("sentiment")
    batch = next(data.batches(task.train, base.tokenizer, 32, max_len=48, seed=0))

    models = where_they_sit(base)
    gradients(models["lora"], batch)
    identity_at_init(base, models, batch)
    prompt_through_a_cache(models, batch)
    times, counts = time_steps(base, batch, repeats=5 if quick else 40)
    lora_model, probe, logits = lora_merge(base, task, steps=5 if quick else 30)
    rank_and_scale(base, task, steps=5 if quick else 30)
    ia3_merge(base, task, 5 if quick else 30, probe)
    delta_size, full_size = deltas(base, lora_model, probe, logits)

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    names = list(times)
    axes[0].bar(names, [counts[m] for m in names], color="tab:blue")
    axes[0].set_yscale("log")
    axes[0].set_title("trainable parameters (log scale)")
    axes[1].bar(names, [1000 * times[m] for m in names], color="tab:orange")
    axes[1].set_title("ms per training step")
    for ax in axes[:2]:
        ax.tick_params(axis="x", labelrotation=30)  # "prompt" and "adapter" ran into each other
    axes[2].bar(["full checkpoint", "LoRA delta"], [full_size / 1024, delta_size / 1024], color="tab:green")
    axes[2].set_yscale("log")
    axes[2].set_title("file size (KiB, log scale)")
    axes[2].set_ylim(bottom=1)
    fig.suptitle("Parameter-efficient fine-tuning: few new parameters, a cheaper step, a tiny file", y=1.03)
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "12_peft.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"\nfigure written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timing and training steps (used by CI)")
    main(parser.parse_args().quick)
