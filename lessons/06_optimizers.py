"""Lesson 6: four optimizers on one loss surface.

Every optimizer in minigrad.optim starts from the same update as lesson 2,

    w <- w - lr * dL/dw                      (SGD)

and changes how the step is taken:

  - momentum keeps a running sum of past gradients, buf <- 0.9 buf + g, and
    steps along it: it speeds up where gradients agree and damps zig-zags;
  - RMSprop divides each coordinate's gradient by the root of a running mean
    of its squares, so steep and flat directions move at similar speeds;
  - Adam does both: a running mean of g over a running root-mean-square of g
    (with a correction for their start at zero). Its first step moves every
    coordinate by lr (up to eps), whatever the gradient's size, unless it is ~0.

The surface is a long, narrow valley, L(x, y) = x^2 / 20 + y^2, minimum at
(0, 0): steep across (y), shallow along (x), the shape that makes plain SGD
slow. The same start, the same number of steps, each optimizer at a learning
rate that suits it; trajectories go to a PNG.

Run: python lessons/06_optimizers.py   (--quick for fewer steps)
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad import nn, optim

FIGURES = Path(__file__).parent / "figures"
START = (-9.0, 2.0)


def valley(w):
    """L(x, y) = x^2 / 20 + y^2: dL/dx = x / 10, dL/dy = 2 y."""
    return w[0] ** 2 / 20 + w[1] ** 2


def one_sgd_step():
    """The update from lesson 2, now done by optim.SGD: L(w) = (w - 2)^2 from w = 5, lr = 0.1."""
    w = nn.Parameter(mg.tensor(5.0, dtype=mg.float64))
    optimizer = optim.SGD([w], lr=0.1)
    loss = (w - 2) ** 2
    loss.backward()  # dL/dw = 2 (w - 2) = 6
    print(f"SGD on L(w) = (w - 2)^2 from w = 5, lr = 0.1: dL/dw = {w.grad.item():g}")
    print(f"  w <- w - lr * dL/dw = 5 - 0.1 * {w.grad.item():g} = {5 - 0.1 * w.grad.item():g}")
    optimizer.step()
    print(f"  optim.SGD after one step: w = {w.item():g}\n")


def descend(make_optimizer, steps):
    """The path of (x, y) from START under one optimizer, and the final loss."""
    w = nn.Parameter(mg.tensor(START, dtype=mg.float64))
    optimizer = make_optimizer([w])
    path = [w.numpy().copy()]
    for _ in range(steps):
        loss = valley(w)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append(w.numpy().copy())
    return np.array(path), valley(w).item()


OPTIMIZERS = {
    "SGD (lr 0.4)": lambda ps: optim.SGD(ps, lr=0.4),
    "SGD + momentum 0.9 (lr 0.1)": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "RMSprop (lr 0.1)": lambda ps: optim.RMSprop(ps, lr=0.1),
    "Adam (lr 0.5)": lambda ps: optim.Adam(ps, lr=0.5),
}


def main(quick):
    one_sgd_step()

    first = descend(OPTIMIZERS["Adam (lr 0.5)"], 1)[0][1]
    print(f"Adam's first step from {START}: to ({first[0]:g}, {first[1]:g}) -- each coordinate moved by lr = 0.5,")
    print("although the gradient there, (-0.9, 4), is over four times steeper across than along.\n")

    steps = 40 if quick else 100
    print(f"L(x, y) = x^2/20 + y^2 from {START} (L = {valley(mg.tensor(START)).item():g}), {steps} steps:")
    print(f"{'optimizer':<30} {'final x':>9} {'final y':>9} {'final loss':>11}")
    paths = {}
    for name, make_optimizer in OPTIMIZERS.items():
        path, final_loss = descend(make_optimizer, steps)
        paths[name] = path
        print(f"{name:<30} {path[-1][0]:9.4f} {path[-1][1]:9.4f} {final_loss:11.2e}")
    print("\nSGD's lr is capped by the steep y direction (lr > 1 diverges there), so it crawls along x;")
    print("momentum builds up speed along x, RMSprop and Adam rescale each coordinate instead.")

    xs, ys = np.meshgrid(np.linspace(-10, 4, 200), np.linspace(-3, 3, 120))
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.contour(xs, ys, xs**2 / 20 + ys**2, levels=np.geomspace(0.01, 15, 14), colors="lightgray")
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], "o-", markersize=2.5, linewidth=1, label=name)
    ax.plot(*START, "ks")
    ax.plot(0, 0, "k*", markersize=12)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{steps} steps on L = x²/20 + y² from {START}: the minimum is the star")
    ax.legend(loc="upper right", fontsize=9)
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "06_optimizers.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"\nfigure written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (used by CI)")
    main(parser.parse_args().quick)
