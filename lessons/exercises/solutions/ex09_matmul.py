"""Exercise 9: the backward pass of matrix multiplication.

REFERENCE SOLUTION: don't read on before you have tried lessons/exercises/ex09_matmul.py.

Forward (given):   out = a @ b:  a (n, k) @ b (k, m) -> out (n, m), and
batched: a (B, n, k) @ b (B, k, m) -> (B, n, m), or a (B, n, k) @ b (k, m),
where one b is shared by the whole batch (that is a linear layer: x @ W).

Backward (yours):  given grad = dL/dout, return dL/da and dL/db.

    out[i, j] = sum_p a[i, p] b[p, j]
    d out[i, j] / d a[i, p] = b[p, j]   ->   dL/da[i, p] = sum_j grad[i, j] b[p, j]
    d out[i, j] / d b[p, j] = a[i, p]   ->   dL/db[p, j] = sum_i a[i, p] grad[i, j]

Write those two sums as matrix products.

Hints
- Let the shapes guide you: dL/da must be (n, k), and grad is (n, m), b is
  (k, m): the only product that fits is grad @ (b transposed). Likewise for b.
- Transpose the last two dims with `xp.swapaxes(b, -1, -2)` (not `b.T`, which
  reverses ALL dims of a batch): then the same code works for 2-D and batched.
- When b is shared by the batch, (a^T @ grad) has a batch dim that b lacks:
  b was used once per batch element, so sum those contributions over the
  leading dim(s) to get b's shape (exercise 7 again).

Grade it:  python lessons/exercises/grade.py ex09 --solutions
"""
from minigrad import backend
from minigrad.function import Function


class Matmul(Function):
    """out = a @ b"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        xp = backend.xp_of(grad)
        grad_a = grad @ xp.swapaxes(b, -1, -2)  # (..., n, m) @ (..., m, k) -> (..., n, k)
        grad_b = xp.swapaxes(a, -1, -2) @ grad  # (..., k, n) @ (..., n, m) -> (..., k, m)
        # an input with fewer dims (b shared by a batch) was reused: sum over the dims it lacks
        return sum_leading(grad_a, a.ndim), sum_leading(grad_b, b.ndim)


def sum_leading(grad, ndim):
    """Sum grad over its leading dims until it has ndim dims."""
    return grad.sum(axis=tuple(range(grad.ndim - ndim))) if grad.ndim > ndim else grad
