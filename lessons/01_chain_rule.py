"""Lesson 1: the chain rule, three ways.

Take f(x) = sin(x^2). It is a composition: an inner function u = x^2 fed to an
outer one, sin(u). The chain rule says the slopes multiply:

    df/dx = df/du * du/dx = cos(u) * 2x = cos(x^2) * 2x

We compute that derivative at several x in three independent ways and check
they agree:

  1. by hand: evaluate the formula above;
  2. by finite differences: nudge x by a small h both ways and measure the
     change, (f(x + h) - f(x - h)) / 2h -- no calculus at all;
  3. by the engine: build sin(x^2) from minigrad tensors, call backward(),
     and read x.grad. The engine knows only the two local rules
     d(sin u)/du = cos u and d(x^2)/dx = 2x, and multiplies them for us.

Run: python lessons/01_chain_rule.py   (--quick for a shorter run)
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg

FIGURES = Path(__file__).parent / "figures"


def f(x):
    return np.sin(x**2)


def by_hand(x):
    return np.cos(x**2) * 2 * x  # the chain rule: outer slope (cos u) times inner slope (2x)


def by_finite_differences(x, h=1e-5):
    # central differences: the error shrinks like h^2 (float64 keeps this accurate)
    return (f(x + h) - f(x - h)) / (2 * h)


def by_engine(x):
    # float64, so that all three columns can agree to ~10 digits
    xt = mg.tensor(x, dtype=mg.float64, requires_grad=True)
    y = (xt**2).sin()  # the graph: x -> Pow -> Sin -> y
    # backward() needs a scalar; each y_i depends on x_i only, so
    # d(sum y)/dx_i = dy_i/dx_i: one backward gives every derivative at once
    y.sum().backward()
    return xt.grad.numpy()


def main(quick):
    xs = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
    hand, numeric, engine = by_hand(xs), by_finite_differences(xs), by_engine(xs)

    print("d/dx sin(x^2) = cos(x^2) * 2x\n")
    print(f"{'x':>6} {'by hand':>13} {'finite diff':>13} {'engine':>13} {'|engine-hand|':>14} {'|fd-hand|':>10}")
    for x, a, b, c in zip(xs, hand, numeric, engine):
        print(f"{x:6.2f} {a:13.8f} {b:13.8f} {c:13.8f} {abs(c - a):14.2e} {abs(b - a):10.2e}")
    print(f"\nlargest |engine - hand|          = {np.abs(engine - hand).max():.2e}  (the engine multiplies the very same two local slopes)")
    print(f"largest |finite diff - hand|     = {np.abs(numeric - hand).max():.2e}  (truncation ~h^2 + rounding)")
    print("For example at x = 1: cos(1) * 2 = 2 * 0.54030231 = 1.08060461.")

    # a picture: the function, its derivative, and the engine's values on top
    grid = np.linspace(-3.2, 3.2, 200 if quick else 800)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(grid, f(grid), label="f(x) = sin(x²)")
    ax.plot(grid, by_hand(grid), label="f'(x) = cos(x²)·2x (by hand)")
    ax.plot(xs, engine, "o", color="black", label="x.grad from the engine")
    ax.set_xlabel("x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=9)
    ax.set_title("The chain rule: the engine's gradients sit on the hand-derived curve")
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "01_chain_rule.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"\nfigure written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (used by CI)")
    main(parser.parse_args().quick)
