"""Lesson 2: gradient descent on a parabola.

Training a network means: compute a loss, ask the engine for the gradient of
the loss with respect to each parameter, and step every parameter a little
*against* its gradient (downhill). Here the whole "network" is one number w and
the loss is

    L(w) = (w - 2)^2,          dL/dw = 2 (w - 2),       minimum at w = 2.

One step with learning rate lr = 0.1 is

    w <- w - lr * dL/dw = w - 0.2 (w - 2)

so the distance to the minimum shrinks by the same factor every step:
w - 2 <- 0.8 (w - 2). From w = 5: 5 -> 4.4 -> 3.92 -> 3.536 -> ... -> 2,
that is w_t = 2 + 3 * 0.8^t. The engine computes dL/dw; we check every step
against that closed form.

Run: python lessons/02_gradient_descent.py   (--quick for fewer steps)
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg

FIGURES = Path(__file__).parent / "figures"


def loss_fn(w):
    return (w - 2) ** 2


def descend(w0=5.0, lr=0.1, steps=30):
    """Run gradient descent; return w, dL/dw (from the engine) and loss before each step, and the final w."""
    # float64 keeps the printed digits exact (float32 would show 4.4000001)
    w = mg.tensor(w0, dtype=mg.float64, requires_grad=True)
    ws, grads, losses = [], [], []
    for _ in range(steps):
        loss = loss_fn(w)
        loss.backward()  # fills w.grad with dL/dw = 2 (w - 2)
        ws.append(w.item())
        grads.append(w.grad.item())
        losses.append(loss.item())
        # The update itself must not be recorded as part of the graph, and
        # the gradient must be cleared: backward() *adds* into .grad.
        with mg.no_grad():
            w.sub_(lr * w.grad)
        w.grad = None
    return ws, grads, losses, w.item()


def main(quick):
    steps = 20 if quick else 40
    ws, grads, losses, final = descend(steps=steps)

    print("minimise L(w) = (w - 2)^2 from w = 5 with lr = 0.1\n")
    print(f"{'step':>4} {'w':>12} {'w.grad':>12} {'2(w-2)':>12} {'loss':>12} {'2 + 3*0.8^t':>12}")
    for t, (w, grad, loss) in enumerate(zip(ws, grads, losses)):  # the loss shrinks by 0.64 a step: .2e shows it
        print(f"{t:4d} {w:12.6f} {grad:12.6f} {2 * (w - 2):12.6f} {loss:12.2e} {2 + 3 * 0.8**t:12.6f}")
    print(f"{steps:4d} {final:12.6f} {'':>12} {'':>12} {'':>12} {2 + 3 * 0.8**steps:12.6f}")
    print("(w.grad is the engine's dL/dw; 2(w-2) and 2 + 3*0.8^t are the hand-derived values)")
    print(f"\nafter one step w = {ws[1]:.4g} (= 5 - 0.1 * 2 * (5 - 2) = 5 - 0.6)")
    print(f"after {steps} steps w = {final:.6f}; distance to the minimum 3 * 0.8^{steps} = {3 * 0.8**steps:.2e}")
    gap = max(abs(w - (2 + 3 * 0.8**t)) for t, w in enumerate(ws))
    print(f"largest difference from the closed form: {gap:.1e}")

    # two pictures: the loss falling (log scale: a straight line, since it
    # shrinks by 0.8^2 = 0.64 per step) and the path of w on the parabola
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.semilogy(losses, "o-", markersize=3)
    left.set_xlabel("step")
    left.set_ylabel("loss (log scale)")
    left.set_title("loss = 9 * 0.64^t")
    grid = np.linspace(-1.0, 5.5, 200)
    right.plot(grid, (grid - 2) ** 2, color="lightgray", label="L(w) = (w - 2)²")
    right.plot(ws, losses, "o-", markersize=4, label="w_t, t = 0, 1, 2, ...")
    for t in range(3):
        right.annotate(f"{ws[t]:.4g}", (ws[t], losses[t]), textcoords="offset points", xytext=(6, 4))
    right.set_xlabel("w")
    right.set_ylabel("loss")
    right.set_title("w slides down the parabola to 2")
    right.legend()
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "02_gradient_descent.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"\nfigure written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (used by CI)")
    main(parser.parse_args().quick)
