"""Reductions: sum, mean, max, min, var over some dims (all dims by default).

Backward spreads the gradient of each reduced value back over the elements
that produced it. `backend.keep_dims_shape` restores the reduced dims as size 1, so the
gradient then broadcasts against the input.
"""
from minigrad import backend
from minigrad.function import Function
from minigrad.ops.elementwise import floating


def normalize_dims(dim, ndim):
    """None -> every axis; an int or a tuple -> a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    return tuple(sorted(backend.positive_dim(d, ndim) for d in dims)) if ndim else ()


def drop_dims(reduced, dims, keepdim):
    """A reduction computed with its dims kept (size 1), without them unless keepdim."""
    return reduced if keepdim else reduced.reshape([n for i, n in enumerate(reduced.shape) if i not in dims])


def count(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d]
    return n


class Sum(Function):
    """sum_i x_i;  d/dx_i = 1: every element gets the whole gradient"""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.input_shape, ctx.dims = x.shape, dims
        return drop_dims(backend.sum_dims(x, dims), dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        xp = backend.xp_of(grad)
        return xp.broadcast_to(grad.reshape(backend.keep_dims_shape(ctx.input_shape, ctx.dims)), ctx.input_shape)


def sum(x, dim=None, keepdim=False):
    return Sum.apply(x, dims=normalize_dims(dim, x.ndim), keepdim=keepdim)


class Mean(Function):
    """(1/n) sum_i x_i;  d/dx_i = 1/n"""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.input_shape, ctx.dims = x.shape, dims
        return drop_dims(backend.mean_dims(x, dims), dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        xp = backend.xp_of(grad)
        n = count(ctx.input_shape, ctx.dims)
        return xp.broadcast_to(grad.reshape(backend.keep_dims_shape(ctx.input_shape, ctx.dims)) / n, ctx.input_shape)


def mean(x, dim=None, keepdim=False):
    return Mean.apply(floating(x), dims=normalize_dims(dim, x.ndim), keepdim=keepdim)


class Max(Function):
    """max_i x_i;  d/dx_i = 1/k for each of the k elements equal to the max (ties split evenly, as
    PyTorch's max() and amax), else 0"""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = backend.max_dims(x, dims)
        ctx.save_for_backward(x, out)
        ctx.dims = dims
        return drop_dims(out, dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_arrays
        winners = x == out
        share = winners / winners.sum(axis=ctx.dims, keepdims=True)
        return grad.reshape(out.shape) * share


def max(x, dim=None, keepdim=False):
    return Max.apply(x, dims=normalize_dims(dim, x.ndim), keepdim=keepdim)


def min(x, dim=None, keepdim=False):
    """min x = -max(-x): the same tie rule, no second class. Booleans have no minus (NumPy refuses it):
    for them min x = not max(not x), with x == 0 as not x."""
    if x.dtype == backend.bool_:
        return max(x == 0, dim, keepdim) == 0
    return -max(-x, dim, keepdim)


class Var(Function):
    """(1/(n - c)) sum_i (x_i - mean)^2, c = 1 if unbiased;  d/dx_i = 2 (x_i - mean) / (n - c)"""

    @staticmethod
    def forward(ctx, x, dims, keepdim, unbiased):
        centered = x - backend.mean_dims(x, dims)
        ctx.save_for_backward(centered)
        n = count(x.shape, dims)
        ctx.dims, ctx.divisor = dims, n - 1 if unbiased and n else n  # nothing to average: 0 / 0 = NaN
        return drop_dims(backend.sum_dims(centered * centered, dims), dims, keepdim) / ctx.divisor

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_arrays
        return grad.reshape(backend.keep_dims_shape(centered.shape, ctx.dims)) * 2 * centered / ctx.divisor


def var(x, dim=None, keepdim=False, unbiased=True):
    return Var.apply(floating(x), dims=normalize_dims(dim, x.ndim), keepdim=keepdim, unbiased=unbiased)
