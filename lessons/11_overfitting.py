"""Lesson 11: overfitting a small training set, and five ways to fight it.

Fine-tune the whole pretrained model (237 k parameters) on only 64 labelled
reviews, pass after pass (AdamW, lr 1e-3 decaying to 0 on a cosine). The
training loss goes to ~0: the model can simply memorise 64 answers. The
validation loss -- on 200 reviews it never trains on -- falls for a few
steps, then climbs: the model grows ever more *confident* (a few wrong
answers get probabilities near 0, and -log of that is huge) and drifts away
from what made it general. That climb is overfitting.

The remedies, each run from the same start with the same batches:

  early stopping   evaluate every 5 steps; stop after `patience` evaluations
                   without a better validation loss and go back to the best
                   weights (TrainConfig(patience=...) does both).
  dropout          zero 10 % of the activations at random while training
                   (model.set_dropout(0.1): the body's and the head's), so no
                   single feature can be relied on.
  weight decay     AdamW multiplies every weight matrix by (1 - lr * wd) each
                   step (decoupled weight decay, Loshchilov & Hutter 2019);
                   biases and LayerNorm gains are spared, as in nanoGPT.
  augmentation     a new random variant of each text every epoch: drop words
                   and swap neighbours. Careful: here a word can *be* the label
                   -- drop "not" from "not bad" and a positive review now reads
                   negative under the old label. The second variant never drops
                   or moves negations and contrast words (data.augment's keep=).
  fewer parameters freeze the body and train a LoRA update (lesson 12): it can
                   still memorise 64 reviews, but not move the pretrained features far.

Each run prints its best validation accuracy and loss, then where it ended,
scored on 500 *test* reviews: early stopping chose its weights by the
validation loss, so only data that played no part in choosing can say how good
the choice was. The figure shows the train and validation curves of each. Regularisation
cannot add information that 64 examples lack; it limits the damage the extra
steps do -- and, as the run shows, not every textbook remedy suits a model
that is already pretrained. Expect noise: on 200 validation reviews one
review is 0.5 %.

Run: python lessons/11_overfitting.py   (--quick for fewer steps)
"""
import argparse
import itertools
import random
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt

import minigrad as mg
from models import data, pretrained, tasks
from models.finetune import prepare
from models.train import TrainConfig, train

FIGURES = Path(__file__).parent / "figures"
N_TRAIN, N_VALID, BATCH, LR = 64, 200, 16, 1e-3
LABEL_WORDS = set(data.NEGATIONS) | {"but", "although", "and"}  # words that decide (or flip) the sentiment


def epochs(examples, tokenizer, p_augment=0.0, keep=()):
    """Batches forever, epoch after epoch, each in a new seeded order (and new augmentations)."""
    for epoch in itertools.count():
        texts = data.augment_examples(examples, p_augment, epoch, keep) if p_augment else examples
        yield from data.batches(texts, tokenizer, BATCH, max_len=48, seed=epoch)


def fine_tune(base, task, steps, eval_every, lr=LR, mode="full", dropout=0.0, weight_decay=0.0, patience=0,
              p_augment=0.0, keep=()):
    """One run; returns (history of evaluations, TrainResult, test and training scores at the end)."""
    mg.manual_seed(0)  # the same new head in every run
    model = prepare(base, mode, num_labels=2)
    model.set_dropout(dropout)  # body and head (the shipped model was pretrained with none)
    settings = {"max_len": 48}

    def evaluate(m):
        valid = tasks.evaluate(m, task.valid, base.tokenizer, 2, settings)
        return {**valid, "train_loss_all": tasks.evaluate(m, task.train, base.tokenizer, 2, settings)["loss"]}

    start = {"step": 0, **evaluate(model)}  # before the first step: a random head, loss ~ ln 2
    result = train(model, tasks.loss, epochs(task.train, base.tokenizer, p_augment, keep),
                   TrainConfig(steps=steps, lr=lr, weight_decay=weight_decay,
                               eval_every=eval_every, patience=patience, progress=False),
                   evaluate=evaluate, param_groups=model.param_groups)
    end = {**tasks.evaluate(model, task.test, base.tokenizer, 2, settings),  # the weights train() returns
           "train_loss_all": tasks.evaluate(model, task.train, base.tokenizer, 2, settings)["loss"]}
    return [start] + result.history, result, end


def label_flips(task, p, keep, seed=0):
    """How many augmented training texts lost a negation (and so may now read the other way)."""
    rng = random.Random(seed)
    lost = 0
    for e in task.train:
        before = [w for w in e.text.split() if w in data.NEGATIONS]
        after = [w for w in data.augment(e.text, rng, p, p, keep).split() if w in data.NEGATIONS]
        lost += len(after) < len(before)
    return lost


def main(quick):
    started = time.perf_counter()
    base = pretrained.load("tiny")
    task = data.load_task("sentiment", n_train=N_TRAIN)
    task.valid = task.valid[:N_VALID // 2 if quick else N_VALID]
    task.test = task.test[:100 if quick else 500]
    steps, eval_every = (16, 4) if quick else (80, 5)
    epochs_done = steps * BATCH / N_TRAIN
    print(f"{N_TRAIN} training reviews, {len(task.valid)} validation reviews; full fine-tuning of the shipped model,")
    print(f"AdamW lr {LR:g}, batch {BATCH}, {steps} steps = {epochs_done:.0f} passes over the training set\n")

    rng = random.Random(1)
    text = next(e.text for e in task.train if " not " in e.text)
    print(f"augmentation of {text!r}:")
    print(f"  p = 0.15          : {data.augment(text, rng, 0.15, 0.15)!r}")
    print(f"  p = 0.15, keeping : {data.augment(text, rng, 0.15, 0.15, LABEL_WORDS)!r}")
    print(f"one epoch at p = 0.15 drops a negation from {label_flips(task, 0.15, ())} of the {N_TRAIN} "
          f"reviews (keeping the label words: {label_flips(task, 0.15, LABEL_WORDS)})\n")

    remedies = {  # name -> fine_tune options
        "none": {},
        "early stopping": {"patience": 3},
        "dropout 0.1": {"dropout": 0.1},
        "weight decay 1.0": {"weight_decay": 1.0},
        "augment 0.15": {"p_augment": 0.15},
        "augment, keep labels": {"p_augment": 0.15, "keep": LABEL_WORDS},
        "LoRA (3 % trains)": {"mode": "lora", "lr": 5e-3},
    }
    print(f"{'remedy':<21} {'steps':>5} {'best val acc':>12} {'best val loss':>13} {'test acc':>9} "
          f"{'test loss':>9} {'end train loss':>14} {'s':>5}")
    runs, ends = {}, {}
    for name, options in remedies.items():
        t = time.perf_counter()
        history, result, end = fine_tune(base, task, steps, eval_every, **options)
        runs[name], ends[name] = history, end
        best_acc = max(h["accuracy"] for h in history)
        best_loss = min(h["loss"] for h in history)
        print(f"{name:<21} {result.steps_done:5d} {best_acc:12.1%} {best_loss:13.3f} {end['accuracy']:9.1%} "
              f"{end['loss']:9.3f} {end['train_loss_all']:14.4f} {time.perf_counter() - t:5.1f}", flush=True)

    none = runs["none"]
    lowest = min(none, key=lambda h: h["loss"])
    print(f"\nwithout a remedy the training loss ends at {none[-1]['train_loss_all']:.4f} (memorised) while the "
          f"validation loss,\nlowest at step {lowest['step']} ({lowest['loss']:.3f}), ends at {none[-1]['loss']:.3f}: "
          "overfitting.")
    others = [n for n in remedies if n != "none"]
    lower_loss = [n for n in others if ends[n]["loss"] < ends["none"]["loss"]]
    higher_accuracy = [n for n in others if ends[n]["accuracy"] > ends["none"]["accuracy"]]
    print(f"lower test loss than no remedy:     {', '.join(lower_loss) or 'none'}")
    print(f"higher test accuracy than no remedy: {', '.join(higher_accuracy) or 'none'}")
    print("(the two can disagree: the loss also rewards being less sure, which is not the same as more right)")
    lora = next(name for name in remedies if name.startswith("LoRA"))
    memorised = min(ends, key=lambda name: ends[name]["train_loss_all"])
    lora_place = ", lowest of all" if memorised == lora else f"; '{memorised}' ends lowest"
    # AdamW's decay multiplies each matrix by (1 - lr_t * wd) per step; the cosine's lr_t from LR down to 0
    # sums to LR * (steps + 1) / 2 over the run
    shrink = LR * remedies["weight decay 1.0"]["weight_decay"] * (steps + 1) / 2
    print(f"""
why, remedy by remedy:
- early stopping keeps the weights of its best validation loss and saves the steps after it: the
  cheapest remedy. The test columns say how well that choice carries over to unseen reviews.
- weight decay pulls every weight matrix towards 0 (biases and gains are spared). Here it is a
  small pull (AdamW shrinks by lr * wd = 1e-3 per step at most, ~{shrink:.1%} over this whole cosine run),
  and one seed cannot tell its curves from noise. In general, for a pretrained model 0 is not a
  good place to pull to (L2-SP, Li et al. 2018, pulls towards the pretrained weights instead); it
  is the classic remedy for a model trained from scratch.
- dropout: the shipped model was pretrained without it, so switching it on now perturbs features
  the model relies on; it helps most when a model is trained with it from the start.
- augmentation must keep the label true: the naive one drops "not" and flips some reviews' meaning
  (counted above); keeping the label words fixes that. Swaps still garble word order, which this
  task depends on.
- a small LoRA update on a frozen body still memorises 64 reviews (its train loss ends at
  {ends[lora]["train_loss_all"]:.4f}{lora_place}), yet it cannot move the pretrained features far: what it
  memorises disturbs less of what the body knew, and its validation and test losses stay lower.
  Restricting what trains is the usual safeguard when fine-tuning on little data.""")
    print("On the command line: minigrad finetune --mode full --augment 0.15 "
          "--augment-keep not,never,hardly,but,although,and")
    print("(and --dropout 0.1, --weight-decay 1.0, --patience 3 for the other remedies).\n")

    fig, axes = plt.subplots(2, (len(runs) + 1) // 2, figsize=(15, 6.5), sharey=True, squeeze=False)
    for ax, (name, history) in zip(axes.flat, runs.items()):
        steps_seen = [h["step"] for h in history]
        ax.plot([h["step"] for h in none], [h["loss"] for h in none], color="lightgray", label="val, no remedy")
        ax.plot(steps_seen, [h["train_loss_all"] for h in history], "--", color="tab:blue", label="train")
        ax.plot(steps_seen, [h["loss"] for h in history], "-o", markersize=3, color="tab:orange", label="validation")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
    for ax in axes.flat[len(runs):]:
        ax.axis("off")
    axes[0, 0].set_ylabel("cross-entropy")
    axes[1, 0].set_ylabel("cross-entropy")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Fine-tuning on {N_TRAIN} reviews: train loss -> 0, validation loss climbs; remedies")
    fig.tight_layout()
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "11_overfitting.png"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    print(f"figure written to {path}  ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (used by CI)")
    main(parser.parse_args().quick)
