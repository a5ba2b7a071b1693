"""Exercise 12: the backward pass of layer normalisation.

Forward (given):   over the last dim (D features) of x, for every row:

    mean = (1/D) sum_i x_i          var = (1/D) sum_i (x_i - mean)^2
    sigma = sqrt(var + eps)         x_hat = (x - mean) / sigma
    y = x_hat * w + b               w, b of shape (D,): broadcast over all rows

Backward (yours):  given g = dL/dy, return dL/dx (x's shape), dL/dw and dL/db
(both (D,)).

w and b: y_i = x_hat_i w_i + b_i, elementwise -- but one w is shared by every
row, so its gradient sums over all the leading dims (exercise 7):

    dL/dw = sum over rows of g * x_hat          dL/db = sum over rows of g

x: first through w, g_hat = dL/dx_hat = g * w. Then, per row, x_hat depends on
x directly AND through mean and sigma. Work out

    d mean / d x_j = 1/D         d sigma / d x_j = (x_j - mean) / (D sigma) = x_hat_j / D

and d x_hat_i / d x_j from the quotient rule; summing g_hat_i d x_hat_i / d x_j
over i gives

    dL/dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sigma

with both means over the last dim. (Derive it: it is the classic exercise. The
check below catches a slip either way.)

Hints
- Forward saved x_hat, 1/sigma (shape (..., 1): it broadcasts) and w.
- `a.mean(axis=-1, keepdims=True)` keeps the last dim with size 1.
- The leading dims of x: `tuple(range(g.ndim - 1))`; sum over them for w and b.

Grade it:  python lessons/exercises/grade.py ex12
"""
from minigrad import backend
from minigrad.function import Function


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b, over the last dim"""

    @staticmethod
    def forward(ctx, x, w, b, eps=1e-5):
        centered = x - x.mean(axis=-1, keepdims=True)
        inv_sigma = 1 / backend.xp_of(x).sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
        x_hat = centered * inv_sigma
        ctx.save_for_backward(x_hat, inv_sigma, w)
        return x_hat * w + b

    @staticmethod
    def backward(ctx, grad):
        x_hat, inv_sigma, w = ctx.saved_arrays
        # TODO: return dL/dx, dL/dw, dL/db
        raise NotImplementedError("TODO: write LayerNorm.backward")
