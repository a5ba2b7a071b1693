"""Exercise 10: the backward pass of softmax.

REFERENCE SOLUTION: don't read on before you have tried lessons/exercises/ex10_softmax.py.

Forward (given):   y = softmax(x) along dim:  y_i = e^(x_i) / sum_j e^(x_j)
(forward subtracts max x first: the value is the same, and e^x cannot overflow).

Backward (yours):  given grad = g = dL/dy, return dL/dx, x's shape.

Unlike exercises 1-6, every y_i depends on every x_j along dim, so the local
derivative is a matrix, the Jacobian. Derive it with the quotient rule:

    d y_i / d x_j = y_i (delta_ij - y_j)        (delta_ij = 1 if i == j else 0)

then apply it to g (the chain rule sums over every y_i that x_j feeds):

    dL/dx_j = sum_i g_i  d y_i / d x_j = ?

Simplify until no (n x n) matrix is left: the answer is two elementwise
products and one sum along dim.

Hints
- Forward saved its output y and the (non-negative) dim.
- `(g * y).sum(axis=ctx.dim, keepdims=True)` keeps the summed dim with size 1,
  so it broadcasts back against g and y.
- Check yourself: adding a constant to every x_j leaves y unchanged, so the
  entries of dL/dx along dim must sum to 0.

Grade it:  python lessons/exercises/grade.py ex10 --solutions
"""
from minigrad import backend
from minigrad.function import Function


class Softmax(Function):
    """y = e^x / sum(e^x) along dim"""

    @staticmethod
    def forward(ctx, x, dim=-1):
        e = backend.xp_of(x).exp(x - x.max(axis=dim, keepdims=True))
        y = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        ctx.dim = dim % x.ndim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        # dL/dx_j = sum_i g_i y_i (delta_ij - y_j) = y_j g_j - y_j sum_i g_i y_i
        return y * (grad - (grad * y).sum(axis=ctx.dim, keepdims=True))
