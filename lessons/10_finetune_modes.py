"""Lesson 10: every fine-tuning mode on the bundled sentiment task, side by side.

A pretrained language model already "knows" a lot about reviews; fine-tuning
adapts it to one task -- here: is a review positive or negative? Every mode
puts a new classification head (a Linear layer on the last token's hidden
state) on the pretrained body; they differ in *what else* trains:

  full          every parameter, at one learning rate. Global fine-tuning, as BERT
                (Devlin et al. 2019) does it: the strongest baseline in the
                literature (not always here), but a full copy of the model per task.
  head          only the new head; the body is frozen ("replace the last layer",
                feature extraction / linear probing).
  layers        the top k blocks + head (default k = 2). Layer fine-tuning: lower
                layers hold general features, upper ones task-specific ones
                (Yosinski et al. 2014, "How transferable are features ...").
  params        parameters chosen by name; "*bias" is BitFit (Ben Zaken et al.
                2021): only the biases, ~1 % of the model.
  layerwise-lr  everything, but the learning rate shrinks by a factor per layer
                going down: ULMFiT's discriminative learning rates ("layer-wise
                lr decay" when fine-tuning BERT-style models). Its option unfreeze_every=N adds ULMFiT's
                gradual unfreezing: the head alone first, one layer more every N
                steps (the README shows it forgetting 50x less).
  prompt        n learnable vectors put in front of the input; the model is
                frozen. Prompt tuning (Lester et al. 2021).
  prefix        n learnable keys and values put in front of every block's own;
                the model is frozen. Prefix tuning (Li & Liang 2021).
  adapter       a small bottleneck MLP after each sublayer, the identity at the
                start; the model is frozen. Houlsby et al. 2019.
  lora          a low-rank update B A of the attention's query and value
                weights, zero at the start; the model is frozen. LoRA (Hu et al.
                2021).
  ia3           vectors that rescale each block's keys, values and MLP
                activations, 1 at the start; the model is frozen. (IA)^3 (Liu
                et al. 2022).

Two baselines frame the numbers: always answering the majority class, and the
same network trained from random weights ("scratch") for the same steps -- the
gap to it is what pretraining buys. Each mode runs through
models.compare.run_mode (the code behind `minigrad compare`): the same
pretrained weights, the same batches in the same order, the same validation
set. "forgetting" is how much worse the body got at its pretraining task
(next-token loss on reviews) after fine-tuning: exactly 0 for head-only and
prompt and prefix tuning, which change nothing the LM path uses; small for adapters and
LoRA (and (IA)^3), which leave the body's weights alone but change what its blocks compute.

Accuracy is one number; the lesson ends by looking behind it, at one mode's
per-class precision (of the reviews it called positive, how many were),
recall (of the positive reviews, how many it found), their harmonic mean F1,
and the confusion matrix -- and at why macro F1 (the mean of the classes' F1)
exposes the majority-class baseline that accuracy flatters.

Last, luck: the seed draws the new weights (the head, LoRA's A) and the order
of the batches, and on 500 validation reviews that alone moves a mode by about
as much as separates the good modes. Two modes trained with a few seeds each
show how much: a difference smaller than the spread is no difference
(`minigrad compare --seeds 3` runs every mode this way).

Run: python lessons/10_finetune_modes.py   (--quick: three modes, a few steps)
"""
import argparse
import time
from dataclasses import replace
from pathlib import Path

from models import data, pretrained
from models.compare import CompareConfig, majority_row, run_mode, with_defaults
from models.finetune import MODES
from models.forgetting import forgetting_probe
from models.metrics import classification_report
from models.report import class_details, plot_score_vs_parameters
from models.seeds import aggregate

FIGURES = Path(__file__).parent / "figures"


def behind_the_accuracy(row, task):
    """Precision, recall, F1 and the confusion matrix of one mode, and macro F1 against the baseline."""
    print(f"\nbehind {row['mode']}'s {row['val_accuracy']:.1%} validation accuracy, class by class:")
    print("\n".join("  " + line for line in class_details(row["val_per_class"], row["val_confusion_matrix"],
                                                             task.labels)))
    print("precision = right among those predicted as the class; recall = found among those truly of it;")
    print("F1 = 2 P R / (P + R). Macro F1 averages F1 over the classes, so each class counts the same.")
    labels = [e.label for e in task.train]
    most = max(range(len(task.labels)), key=labels.count)  # the majority-class baseline's one answer
    always = classification_report([e.label for e in task.valid], [most] * len(task.valid), len(task.labels))
    missed = ", ".join(repr(task.labels[c]) for c in range(len(task.labels)) if c != most)
    print(f"the majority-class baseline (always {task.labels[most]!r}): accuracy {always['accuracy']:.1%}, "
          f"macro F1 {always['macro_f1']:.3f}:\nits recall on {missed} is 0, so that F1 is 0, and the macro "
          "average counts it as much as the class it always gets right.")


def luck_or_real(base, task, config, forgetting, modes, seeds):
    """Each of modes trained with seeds 0..seeds-1 on the same data: its runs, their mean and spread."""
    print(f"\nluck or a real difference? {' and '.join(modes)}, each with seeds 0-{seeds - 1} (the same data):")
    for mode in modes:
        runs = [run_mode(mode, base, task, replace(config, seed=seed), forgetting)[0] for seed in range(seeds)]
        row = aggregate(runs)  # the mean, and the sample standard deviation over the runs
        accuracies = ", ".join(f"{run['val_accuracy']:.1%}" for run in runs)
        print(f"  {mode:<6} runs {accuracies}: "
              f"mean {row['val_accuracy']:.1%} ± {row['val_accuracy_std']:.1%}")
    print("Two means closer than about two standard deviations are not told apart by runs this few and a")
    print("validation set this small; `minigrad compare --seeds 3` gives every row as a mean ± deviation.")


def main(quick):
    started = time.perf_counter()
    base = pretrained.load("tiny")
    task = data.load_task("sentiment")
    modes = ["head", "params", "lora"] if quick else list(MODES) + ["scratch"]
    steps = 12 if quick else 50
    config = with_defaults(CompareConfig(steps=steps, eval_every=steps // 2, batch_size=32, max_len=48, seed=0),
                           task.kind)  # + the learning rate of each mode for this model
    print(f"task: {len(task.train)} train / {len(task.valid)} valid reviews, labels {task.labels}")
    print(f"model: the shipped pretrained transformer, {sum(p.numel() for p in base.parameters()):,} parameters")
    print(f"each mode: {steps} steps of batch {config.batch_size} (AdamW, warmup + cosine), "
          "learning rate per mode from models.compare.MODEL_DEFAULTS\n")

    forgetting = forgetting_probe(base)  # next-token loss on held-out reviews, after - before
    majority = majority_row(task)
    header = f"{'mode':<14} {'lr':>6} {'trainable':>10} {'%':>7} {'s/step':>7} {'peak MiB':>8} {'val acc':>8} {'forgetting':>11}"
    print(header)
    print("-" * len(header))
    print(f"{'majority':<14} {'':>6} {0:>10,} {0:>7.2f} {'':>7} {'':>8} {majority['val_accuracy']:8.1%} {'':>11}")
    rows = []
    for mode in modes:
        row, _ = run_mode(mode, base, task, config, forgetting)  # (table row, fine-tuned model)
        forgot = "" if mode == "scratch" else f"{row['forgetting']:+11.3f}"
        print(f"{mode:<14} {row['lr']:6.0e} {row['trainable']:>10,} {row['trainable_pct']:7.2f} "
              f"{row['seconds_per_step']:7.3f} {row['peak_mib']:8.1f} {row['val_accuracy']:8.1%} {forgot:>11}",
              flush=True)
        rows.append(row)

    print(f"\npretraining loss of the body before fine-tuning: {forgetting.before:.3f} (forgetting = after - before)")
    print("Read the table: a frozen body with only a head already scores far above the majority class --")
    print("the pretrained features carry the sentiment. head, prompt and prefix leave the body as it was")
    print("(forgetting 0); LoRA and adapters add a small path inside it, so its next-token loss moves a")
    print("little, but the pretrained weights themselves are intact (remove the update and the original is")
    print("back); params, layers, full and layerwise-lr change the pretrained weights themselves.")
    print("The step gets much cheaper only where backward can stop early (head: no gradient enters the")
    print("body); BitFit, prompt, prefix, adapters, LoRA and (IA)^3 still backpropagate through the layers")
    print("(lesson 12).")
    print("(s/step is measured while training, on whatever else the machine is doing: expect it to wobble.)")
    if not quick:
        scratch = rows[-1]["val_accuracy"]
        best = max(rows[:-1], key=lambda r: r["val_accuracy"])
        learned = ("no better than always answering the majority class: it has learned nothing yet"
                   if scratch <= majority["val_accuracy"] else "")
        print(f"From random weights the same {steps} steps reach {scratch:.1%}{f' ({learned})' if learned else ''}; "
              f"the best mode ({best['mode']}) {best['val_accuracy']:.1%}: that gap is what pretraining buys.")

    behind_the_accuracy(rows[0], task)
    luck_or_real(base, task, config, forgetting, ["head", "lora"], 2 if quick else 3)

    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "10_finetune_modes.png"
    # the plot `minigrad compare` draws: each mode a labelled point, the majority class a dotted line
    plot_score_vs_parameters(rows + [majority], path, run=f"'tiny' on 'sentiment': {steps} steps each, seed 0")
    print(f"\nfigure written to {path}  ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three modes, a few steps (used by CI)")
    main(parser.parse_args().quick)
