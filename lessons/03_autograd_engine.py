"""Lesson 3: inside the autograd engine.

Every op on tensors that require grad records a node: which op ran, on which
inputs, and what it saved for later. Here we build a tiny "neuron"

    e = a * b          (input times weight)
    n = e + c          (plus a bias)
    t = tanh(n)        (the activation)
    L = t * d          (scaled: our loss)

with a = 2, b = -3, c = 6 + ln 2, d = 5, chosen so the numbers come out round:
n = -6 + 6 + ln 2 = ln 2, and tanh(ln 2) = (4 - 1) / (4 + 1) = 0.6, so L = 3.

backward() hands the graph to the engine (minigrad/engine.py, one screen of code to read
alongside this lesson), which does three things, printed here one by one:
  1. orders the nodes so every node comes after its inputs (topological order);
  2. asks each op for its *local* derivative, d(out)/d(in), which depends only
     on that op and the values it saw;
  3. walks the order in reverse, multiplying each node's gradient by the local
     derivatives (the chain rule) and *adding* the results into its inputs.

To show the machinery this lesson peeks at what user code never needs: the
engine's `topological_order(t)`, and each node's `t._ctx` (its op class
`_ctx.op`, its `_ctx.inputs`, and the op's `backward`). Everything else is the
public API, which the last part shows as PyTorch has it: `L.grad_fn` and
`next_functions`, and `register_hook` to watch or change a gradient on its way.

Run: python lessons/03_autograd_engine.py   (--quick: same lesson, it is already quick)
"""
import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad.engine import topological_order

FIGURES = Path(__file__).parent / "figures"


def build():
    leaf = lambda v: mg.tensor(v, dtype=mg.float64, requires_grad=True)  # noqa: E731
    a, b, c, d = leaf(2.0), leaf(-3.0), leaf(6 + math.log(2)), leaf(5.0)
    e = a * b
    n = e + c
    t = n.tanh()
    L = t * d
    names = {id(x): name for name, x in dict(a=a, b=b, c=c, d=d, e=e, n=n, t=t, L=L).items()}
    return (a, b, c, d, e, n, t, L), names


def describe(node, names):
    if node._ctx is None:
        return "leaf"
    ins = ", ".join(names[id(x)] for x in node._ctx.inputs)
    return f"{node._ctx.op.__name__}({ins})"


def local_derivatives(node):
    """d(node)/d(each input): the op's backward, handed an upstream gradient of 1."""
    ctx = node._ctx
    grads = ctx.op.backward(ctx, np.ones_like(node.data))
    return grads if isinstance(grads, tuple) else (grads,)


def main(quick):
    (a, b, _, d, e, n, t, L), names = build()  # c's gradient is checked below via `order`
    name = lambda x: names[id(x)]  # noqa: E731

    print("1. The graph, in topological order (every node after its inputs):")
    order = topological_order(L)
    parents = {id(node): node._ctx.inputs for node in order if node._ctx is not None}  # backward frees them
    for i, node in enumerate(order):
        print(f"   {i}: {name(node):2s} = {describe(node, names):12s} value {node.item():+.6f}")
    print("   (any order with inputs before outputs would do; this one comes from a depth-first")
    print("   walk back from L, kept on an explicit stack so that very deep graphs work too)")

    print("\n2. Local derivatives d(out)/d(in), from each op's backward with upstream gradient 1:")
    by_hand = {
        ("e", "a"): ("b", b.item()), ("e", "b"): ("a", a.item()),
        ("n", "e"): ("1", 1.0), ("n", "c"): ("1", 1.0),
        ("t", "n"): ("1 - tanh(n)^2 = 1 - 0.36", 1 - t.item() ** 2),
        ("L", "t"): ("d", d.item()), ("L", "d"): ("t", t.item()),
    }
    for node in order:
        if node._ctx is None:
            continue
        for parent, local in zip(node._ctx.inputs, local_derivatives(node)):
            formula, expected = by_hand[(name(node), name(parent))]
            print(f"   d{name(node)}/d{name(parent)} = {float(local):+.4f}   by hand: {formula} = {expected:+.4f}")

    print("\n3. backward(): gradients dL/dx, walking the order in reverse, checked by hand:")
    for x in (e, n, t, L):
        x.retain_grad()  # intermediates normally drop their .grad; keep it to print
    L.backward(retain_graph=True)  # keep the saved arrays: we backward again below
    expected = {
        "t": ("d", 5.0), "d": ("t", 0.6), "n": ("d * 0.64", 3.2), "c": ("dL/dn", 3.2),
        "e": ("dL/dn", 3.2), "a": ("dL/de * b", -9.6), "b": ("dL/de * a", 6.4),
    }
    for node in reversed(order[:-1]):
        formula, value = expected[name(node)]
        print(f"   dL/d{name(node)} = {node.grad.item():+.4f}   by hand: {formula} = {value:+.4f}")
    print("   The chain rule, spelled out along the path from L back to a:")
    print("   dL/da = dL/dt * dt/dn * dn/de * de/da = 5 * 0.64 * 1 * (-3) = -9.6")
    first_grads = {id(node): node.grad.item() for node in order}  # for the figure

    print("\n4. Gradients add up, in two ways.")
    x = mg.tensor(3.0, dtype=mg.float64, requires_grad=True)
    (x * x).backward()  # x reaches the product by two edges: 3 + 3
    print("   Within one backward, a value used twice gets the sum of both paths' gradients:")
    print(f"   y = x * x at x = 3: x.grad = {x.grad.item():.1f} = 3 + 3 = 2x.")
    L.backward(retain_graph=True)
    print(f"   Across backward() calls, .grad adds up too: after a second one, a.grad = {a.grad.item():+.4f}"
          " (= 2 * -9.6).")
    print("   That lets you add up the gradients of several small batches before one step (gradient")
    print("   accumulation); it also means clearing them between training steps (a.grad = None), as optimizers do.")

    print("\n5. retain_graph: without it, backward() frees the arrays each op saved.")
    L.backward()  # a third backward, without retain_graph: this one frees the graph
    print("   a third backward, without retain_graph=True, runs and then frees the graph;")
    try:
        L.backward()
    except RuntimeError as error:
        print(f"   a fourth backward raises RuntimeError:\n   {error}")

    print("\n6. The same graph as PyTorch shows it: grad_fn, and hooks on the gradients.")
    (a2, _, _, _, _, n2, _, L2), names2 = build()  # a fresh graph (the one above was freed)
    print(f"   L = {L2!r}")
    print("   L.grad_fn.next_functions, walked back to the leaves (AccumulateGrad puts a leaf's .grad):")
    show_grad_fn(L2.grad_fn, names2)
    seen = []
    n2.register_hook(lambda grad: seen.append(grad.item()))  # called with dL/dn once it is complete
    a2.register_hook(lambda grad: grad * 0.5)  # a returned tensor replaces the gradient: here halved
    L2.backward()
    print(f"   a hook on n saw dL/dn = {seen[0]:+.4f}; one on a halved it: a.grad = {a2.grad.item():+.4f} (not -9.6)")

    draw(order, parents, names, first_grads)


def show_grad_fn(node, names, indent="   "):
    """Print node and, below it, the nodes it passes gradients to (PyTorch's grad_fn tree)."""
    leaf = getattr(node, "variable", None)  # an AccumulateGrad node knows its leaf
    print(f"{indent}{node.name()}" + (f" -> {names[id(leaf)]}.grad" if leaf is not None else ""))
    for next_node, _ in node.next_functions:
        if next_node is not None:
            show_grad_fn(next_node, names, indent + "  ")


def draw(order, parents, names, grads):
    """The graph as boxes (value and gradient) and arrows, inputs on the left."""
    # (column, row) of each node, placed by hand for this small graph
    place = dict(a=(0, 0), b=(0, -1.2), e=(1, -0.6), c=(1, -1.9), n=(2, -1.2), t=(3, -1.2),
                 d=(3, -2.5), L=(4, -1.8))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for node in order:
        x, y = place[names[id(node)]]
        op = node._ctx.op.__name__ if node._ctx is not None else "leaf"
        label = f"{op}\n{names[id(node)]} = {node.item():.3f}\ngrad {grads[id(node)]:+.3f}"
        ax.text(x, y, label, ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round", facecolor="lightyellow" if op == "leaf" else "lightblue"))
        for parent in parents.get(id(node), ()):
            ax.annotate("", (x, y), place[names[id(parent)]],
                        arrowprops=dict(arrowstyle="->", shrinkA=32, shrinkB=32))
    ax.set_xlim(-0.5, 4.5)
    ax.set_ylim(-3.0, 0.5)
    ax.axis("off")
    ax.set_title("L = tanh(a*b + c) * d: values forward, gradients dL/dx backward")
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "03_autograd_engine.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"\nfigure written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted for CI; the lesson is already quick")
    main(parser.parse_args().quick)
