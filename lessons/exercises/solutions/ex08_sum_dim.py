"""Exercise 8: the backward pass of a sum over one dim.

REFERENCE SOLUTION: don't read on before you have tried lessons/exercises/ex08_sum_dim.py.

Forward (given):   y = x.sum(dim, keepdim). For x of shape (2, 3, 4):
    dim=1                -> y (2, 4)
    dim=1, keepdim=True  -> y (2, 1, 4)

Backward (yours):  given grad = dL/dy (y's shape), return dL/dx (x's shape).

    y[i, k] = sum_j x[i, j, k]   so   d y[i, k] / d x[i, j, k] = ?

Every x[i, j, k] along the summed dim gets the same gradient, grad[i, k]:
backward of a sum is a copy (just as backward of a copy -- broadcasting, in
exercise 7 -- is a sum).

Hints
- Without keepdim, the summed dim is gone from grad; put it back with size 1:
  `xp.expand_dims(grad, ctx.dim)` (forward stored dim as 0..ndim-1 already).
- Then stretch size 1 to x's shape: `xp.broadcast_to(g, ctx.x_shape)`, or
  `g * xp.ones(ctx.x_shape, dtype=g.dtype)`.
- `xp = backend.xp_of(grad)`: numpy on the CPU, cupy on a GPU.

Grade it:  python lessons/exercises/grade.py ex08 --solutions
"""
from minigrad import backend
from minigrad.function import Function


class SumDim(Function):
    """y = x.sum(dim, keepdim)"""

    @staticmethod
    def forward(ctx, x, dim, keepdim=False):
        ctx.x_shape = x.shape
        ctx.dim = dim % x.ndim  # a negative dim counts from the end: -1 is the last
        ctx.keepdim = keepdim
        return x.sum(axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        xp = backend.xp_of(grad)
        # d y/d x = 1 for every element summed: each gets grad, copied along dim
        if not ctx.keepdim:
            grad = xp.expand_dims(grad, ctx.dim)  # the summed dim is back, with size 1
        return xp.broadcast_to(grad, ctx.x_shape)
