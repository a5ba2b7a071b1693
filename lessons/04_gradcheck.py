"""Lesson 4: catching a wrong backward with gradcheck.

A new op needs two functions: forward (the value) and backward (its
derivative). A gradient of the wrong shape the engine catches at once (it
names the op); one of the right shape but the wrong value crashes nothing --
training just quietly follows the wrong slope. The cure is to check every
backward against finite differences, which need no calculus:

    df/dx ~= (f(x + eps) - f(x - eps)) / (2 eps)

`mg.gradcheck(fn, inputs)` does exactly that for every input element and
raises `mg.GradcheckError` naming the worst one.

We write an op the way minigrad's own ops are written -- a `Function` subclass
with a static `forward(ctx, x)` and `backward(ctx, grad)` on raw NumPy arrays,
called via `Cube.apply(x)` -- make a classic slip (forget the 3 in
d(x^3)/dx = 3x^2), watch gradcheck catch it, fix it, and see it pass.

Then: why gradcheck insists on float64. float32 keeps ~7 significant digits;
at eps = 1e-6 the rounding of f(x + eps) - f(x - eps) puts the slope off by ~1 %,
ten times gradcheck's rtol, and at 1e-8 it is all noise.

Run: python lessons/04_gradcheck.py   (--quick for fewer eps values)
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad.function import Function

FIGURES = Path(__file__).parent / "figures"


class BuggyCube(Function):
    """x^3;  d/dx = 3x^2 ... but backward forgets the 3"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)  # backward needs x
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * x**2  # BUG: should be grad * 3 * x**2


class Cube(Function):
    """x^3;  d/dx = 3x^2"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * 3 * x**2  # chain rule: upstream gradient times the local slope


def central_difference(f, x, eps):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


def main(quick):
    x = mg.tensor([0.5, -1.0, 2.0], dtype=mg.float64, requires_grad=True)

    print("1. The buggy op runs without complaint -- and gives the wrong gradient:")
    BuggyCube.apply(x).sum().backward()
    print(f"   x = {x.numpy()},  x.grad = {x.grad.numpy()},  but 3x^2 = {3 * x.numpy() ** 2}")

    print("\n2. gradcheck catches it:")
    try:
        mg.gradcheck(BuggyCube.apply, [x])
    except mg.GradcheckError as error:
        print(f"   GradcheckError: {error}")
        print("   (analytic / numeric = 1/3: exactly the forgotten factor 3)")

    print("\n3. With the 3 restored, gradcheck passes:")
    result = mg.gradcheck(Cube.apply, [x])
    print(f"   passed; max abs error {result.max_abs_error:.1e}, max rel error {result.max_rel_error:.1e}")
    print("   fast mode (random directions v.J.u, for big inputs) agrees:")
    try:
        mg.gradcheck(BuggyCube.apply, [x], fast=True)
    except mg.GradcheckError as error:
        print(f"   buggy: GradcheckError: {error}")
    mg.gradcheck(Cube.apply, [x], fast=True)
    print("   fixed: passed")

    print("\n4. gradcheck refuses float32 inputs, and says why:")
    x32 = mg.tensor([0.5, -1.0, 2.0], requires_grad=True)  # float32, the default
    try:
        mg.gradcheck(Cube.apply, [x32])
    except mg.GradcheckError as error:
        print(f"   GradcheckError: {error}")
    mg.gradcheck(Cube.apply, [x32], upcast=True)
    print("   with upcast=True it checks a float64 copy instead: passed")

    print("\n5. The numbers behind that: d(x^3)/dx at x = 0.7 is 3 * 0.49 = 1.47.")
    print("   Central-difference error |estimate - 1.47| for each eps:")
    x0, exact = 0.7, 3 * 0.7**2
    cube = lambda v: v**3  # noqa: E731
    exponents = range(1, 9) if quick else np.arange(1, 9.5, 0.5)
    epsilons = [10.0 ** -k for k in exponents]
    errors = {}
    for dtype in (np.float32, np.float64):
        # every operation rounds to dtype: that rounding, divided by 2 eps, is the noise
        errors[dtype] = [abs(float(central_difference(cube, dtype(x0), dtype(eps))) - exact) for eps in epsilons]
    print(f"   {'eps':>8} {'float32 error':>14} {'float64 error':>14}")
    for i, eps in enumerate(epsilons):
        print(f"   {eps:8.0e} {errors[np.float32][i]:14.2e} {errors[np.float64][i]:14.2e}")
    print("   Two errors compete: truncation ~ eps^2 (x^3's Taylor remainder is exactly eps^2 here)")
    print("   and rounding ~ unit roundoff / eps (float32: 6e-8, float64: 1.1e-16).")
    at = epsilons.index(1e-6)
    for dtype in (np.float32, np.float64):
        best = int(np.argmin(errors[dtype]))
        print(f"   {np.dtype(dtype).name}: best error {errors[dtype][best]:.1e} (at eps {epsilons[best]:.0e}); "
              f"at gradcheck's eps = 1e-6: {errors[dtype][at]:.1e} = {errors[dtype][at] / exact:.1e} relative")
    print("   At eps = 1e-6, float32 misses by more than gradcheck's rtol of 1e-3, so a *correct*")
    print("   backward would fail. A hand-tuned eps could rescue float32 here, but the best eps")
    print("   depends on each function's scale; in float64 one eps suits everything.")

    fig, ax = plt.subplots(figsize=(7, 4))
    for dtype, style in ((np.float32, "o-"), (np.float64, "s-")):
        # a zero error cannot sit on a log scale: floor it at 1e-17
        ax.loglog(epsilons, np.maximum(errors[dtype], 1e-17), style, label=np.dtype(dtype).name)
    ax.axvline(1e-6, color="gray", linestyle=":", label="gradcheck's eps = 1e-6")
    ax.set_xlabel("eps")
    ax.set_ylabel("|finite difference - exact|")
    ax.set_title("d(x³)/dx at x = 0.7: rounding (left) vs truncation (right)")
    ax.legend()
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "04_gradcheck.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"\nfigure written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer eps values (used by CI)")
    main(parser.parse_args().quick)
