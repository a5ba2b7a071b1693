"""Matrix multiplication, batched and broadcasting like NumPy's matmul, and the linear layer."""
import math

from minigrad import backend
from minigrad.function import Function
from minigrad.ops.elementwise import promote


def rows(a):
    """(..., n) -> (rows, n), every leading index one row (reshape(-1, n) cannot say how many when n is 0)."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def flattens(a, b):
    """A batch of inputs times one matrix (every Linear layer): fold the batch into rows."""
    return a.ndim > 2 and b.ndim == 2


class Matmul(Function):
    """A @ B;  dL/dA = dL/dC @ B^T,  dL/dB = A^T @ dL/dC  (over every batch)

    Batch dims broadcast; the engine sums each gradient back over them. A 1-d
    operand is a row (on the left) or a column (on the right), as in NumPy.
    """

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs at least 1-d operands, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[max(b.ndim - 2, 0)]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} don't line up: the last dim of the first "
                f"({a.shape[-1]}) must equal the {'first' if b.ndim == 1 else 'second-to-last'} dim "
                f"of the second ({b.shape[max(b.ndim - 2, 0)]})"
            )
        ctx.save_for_backward(a, b)
        if flattens(a, b):  # (..., K) @ (K, N) as one (M, K) @ (K, N) product, not a batch of small ones
            return (rows(a) @ b).reshape(*a.shape[:-1], b.shape[1])
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        xp = backend.xp_of(grad)
        need_a, need_b = ctx.needs_input_grad
        if flattens(a, b):  # the same single products as forward: no (batch, K, N) array to sum
            grad2 = rows(grad)  # (M, N)
            return ((grad2 @ b.T).reshape(a.shape) if need_a else None,
                    (rows(a).T @ grad2) if need_b else None)
        # treat 1-d operands as (1, n) rows / (n, 1) columns, then drop that dim again
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        grad2 = grad
        if a.ndim == 1:
            grad2 = xp.expand_dims(grad2, -2 if b.ndim > 1 else 0)
        if b.ndim == 1:
            grad2 = xp.expand_dims(grad2, -1)
        grad_a = grad_b = None
        if need_a:
            grad_a = grad2 @ xp.swapaxes(b2, -1, -2)
            grad_a = grad_a[..., 0, :] if a.ndim == 1 else grad_a
        if need_b:
            grad_b = xp.swapaxes(a2, -1, -2) @ grad2
            grad_b = grad_b[..., 0] if b.ndim == 1 else grad_b
        return grad_a, grad_b


def matmul(a, b):
    return Matmul.apply(*promote(a, b))  # integers times floats: floats (NumPy: float64 of float32 @ int64)


class Linear(Function):
    """y = x W^T + b for x (..., in), W (out, in), b (out,);
    dL/dx = g W,  dL/dW = g^T x,  dL/db = sum of g over rows  (rows = every leading index)

    One fused op instead of transpose + matmul + add: the weight gradient comes out as
    one (out, in) product in the weight's own layout, and the graph has one node, not three.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        if x.shape[-1] != weight.shape[-1]:
            raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features, "
                             f"but the weight {weight.shape} (out, in) expects {weight.shape[-1]}")
        ctx.save_for_backward(x, weight)
        y = rows(x) @ weight.T  # (rows, out)
        if bias is not None:
            y += bias
        return y.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_arrays
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad2 = rows(grad)  # (rows, out)
        return ((grad2 @ weight).reshape(x.shape) if need_x else None,
                grad2.T @ rows(x) if need_weight else None,
                backend.sum_dims(grad2, (0,))[0] if need_bias else None)


def linear(x, weight, bias=None):
    return Linear.apply(*promote(x, weight, bias))
