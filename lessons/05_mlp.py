"""Lesson 5: a multi-layer perceptron learns two moons.

Two interleaved half-circles of points, one class each, cannot be split by a
straight line: a linear classifier (logistic regression) gets about 88-90 % of these points
right, never the tips of the moons, which lie on the wrong side of any line. A hidden layer fixes
that. The model is three PyTorch-shaped pieces from minigrad.nn:

    logits = Linear(64 -> 2)( relu( Linear(64 -> 64)( relu( Linear(2 -> 64)(x) ))))

and training is the loop every model in this project uses:

    loss = F.cross_entropy(model(x), y)   # forward: how wrong are we?
    optimizer.zero_grad()                 # forget the last step's gradients
    loss.backward()                       # d loss / d every parameter
    optimizer.step()                      # Adam (lesson 6) moves each parameter downhill

Numbers to check: before training the two logits are nearly equal, so each
class gets probability ~1/2 and the loss starts near ln 2 = 0.6931; at the end
the accuracy on held-out points is above 95 %.

Why zero_grad? backward() does not overwrite .grad, it adds to it. The last part
of the lesson uses that on purpose: four backward passes over quarters of the
batch, each of loss / 4, leave in .grad the gradient of the whole batch (the mean
of four means of 100 is the mean of 400), while only one quarter's activations
exist at a time. That is gradient accumulation, how a batch too large for memory
is trained (`minigrad finetune --accumulate 4`). Parts of unequal sizes need each
mean weighed by its part's share instead of 1/4: a loss averaged over the tokens
of texts of different lengths is the case Hugging Face's Trainer got wrong until 2024.

Run: python lessons/05_mlp.py   (--quick for fewer steps)
"""
import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn import functional as F

FIGURES = Path(__file__).parent / "figures"


def two_moons(n, noise=0.15, seed=0):
    """n points on two interleaved half-circles (class 0 on top, class 1 below), with Gaussian noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    angle = rng.uniform(0, np.pi, n)
    top = np.stack([np.cos(angle), np.sin(angle)], 1)
    bottom = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], 1)
    points = np.where(labels[:, None] == 0, top, bottom) + rng.normal(0, noise, (n, 2))
    return points.astype(np.float32), labels


def accuracy(model, x, y):
    with mg.no_grad():  # evaluation: no graph needed
        return float((model(x).argmax(dim=-1).numpy() == y.numpy()).mean())


def main(quick):
    mg.manual_seed(0)  # the same initial weights every run
    train_x, train_y = two_moons(400, seed=0)
    test_x, test_y = two_moons(400, seed=1)
    x, y = mg.tensor(train_x), mg.tensor(train_y)
    tx, ty = mg.tensor(test_x), mg.tensor(test_y)

    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    print(model)
    nn.print_trainable_parameters(model)  # 2*64+64 + 64*64+64 + 64*2+2 = 4,482
    optimizer = optim.Adam(model.parameters(), lr=0.01)

    steps = 150 if quick else 400
    print(f"\nln 2 = {math.log(2):.4f}: the loss of a guess that gives each class probability 1/2")
    print(f"{'step':>5} {'loss':>8} {'train acc':>10}")
    start, losses = time.perf_counter(), []
    for step in range(steps + 1):
        loss = F.cross_entropy(model(x), y)  # the whole training set is one batch
        losses.append(loss.item())
        if step % (steps // 5) == 0:
            print(f"{step:5d} {loss.item():8.4f} {accuracy(model, x, y):10.1%}")
        if step == steps:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(model, tx, ty)
    print(f"\n{steps} steps in {seconds:.1f} s; accuracy on 400 held-out points: {test_accuracy:.1%}")
    print("more than 95 %: yes" if test_accuracy > 0.95 else "more than 95 %: NO")

    print("\ngradient accumulation: backward adds into .grad")
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()  # the whole batch of 400 at once
    whole = [p.grad.numpy().copy() for p in model.parameters()]
    optimizer.zero_grad()
    for quarter in range(4):  # four batches of 100; each graph is freed by its own backward
        rows = slice(100 * quarter, 100 * (quarter + 1))
        (F.cross_entropy(model(x[rows]), y[rows]) / 4).backward()  # / 4: the mean over the four
    largest = max(float(np.abs(p.grad.numpy() - w).max()) for p, w in zip(model.parameters(), whole))
    print(f"four quarters, loss / 4 each, against the whole batch: largest gradient difference {largest:.1e}")
    print("the same gradient, up to float32 rounding: yes" if largest < 1e-6 else "the same gradient: NO")

    # the decision boundary: the model's class for every point of a grid
    grid_x, grid_y = np.meshgrid(np.linspace(-1.5, 2.5, 200), np.linspace(-1.0, 1.5, 150))
    grid = mg.tensor(np.stack([grid_x.ravel(), grid_y.ravel()], 1).astype(np.float32))
    with mg.no_grad():
        p_class1 = F.softmax(model(grid), dim=-1).numpy()[:, 1].reshape(grid_x.shape)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    left.contourf(grid_x, grid_y, p_class1, levels=20, cmap="RdBu_r", alpha=0.35)
    left.contour(grid_x, grid_y, p_class1, levels=[0.5], colors="black")
    for label, color in ((0, "tab:blue"), (1, "tab:red")):
        left.scatter(*test_x[test_y == label].T, color=color, edgecolors="black", linewidths=0.3, s=16,
                     label=f"class {label}")
    left.legend(loc="lower left")
    left.set_title(f"Decision boundary (black) on held-out points: {test_accuracy:.1%} correct")
    right.plot(losses)
    right.axhline(math.log(2), color="gray", linestyle="--", label="ln 2")
    right.set_xlabel("step")
    right.set_ylabel("cross-entropy loss")
    right.set_yscale("log")
    right.set_title("Training loss")
    right.legend()
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "05_mlp.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"\nfigure written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (used by CI)")
    main(parser.parse_args().quick)
