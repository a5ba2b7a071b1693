"""Exercise 7: the backward pass of a broadcasting add.

REFERENCE SOLUTION: don't read on before you have tried lessons/exercises/ex07_broadcast_add.py.

Forward (given):   out = a + b with NumPy broadcasting. Shapes are lined up
from the right; a missing dim counts as size 1, and a size-1 dim is stretched
to match the other input:

    a (3, 4)    + b (4,)    -> out (3, 4)      b is reused by every row
    a (2, 3, 4) + b (3, 1)  -> out (2, 3, 4)   b gains a leading dim and is stretched along the last
    a (3, 1)    + b (1, 4)  -> out (3, 4)      both are stretched

Backward (yours):  given grad = dL/dout (out's shape), return dL/da and dL/db,
each of ITS INPUT'S shape. (minigrad's engine would sum a broadcast gradient
back for you, in one shared helper; here the grader checks the shapes you
return, so you write that helper yourself.)

Derive it: d out / d a is 1 everywhere, so grad passes through unchanged --
except that an element of b that was used in many places of out gets a
gradient from every one of them (the multivariate chain rule: contributions
along every path add up). So:

    dL/db[j] = sum of grad over every position of out that b[j] was copied to

Hints
- Write a helper `sum_to(grad, shape)` and use it for both inputs:
  1. sum over the leading dims that broadcasting added: the first
     grad.ndim - len(shape) dims;
  2. then sum, with keepdims=True, over every dim where `shape` has size 1
     but grad does not.
- `array.sum(axis=(0, 2), keepdims=True)` sums over several dims at once.
- forward stored the input shapes in ctx.a_shape and ctx.b_shape.

Grade it:  python lessons/exercises/grade.py ex07 --solutions
"""
from minigrad.function import Function


class BroadcastAdd(Function):
    """out = a + b, broadcasting"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad):
        # d out/d a = d out/d b = 1: grad passes through, then each input sums it back to its shape
        return sum_to(grad, ctx.a_shape), sum_to(grad, ctx.b_shape)


def sum_to(grad, shape):
    """Sum grad back to `shape`, undoing broadcasting: an element used in many places of the
    output gets the sum of the gradients from all of them."""
    leading = grad.ndim - len(shape)  # dims broadcasting added in front
    grad = grad.sum(axis=tuple(range(leading)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)
