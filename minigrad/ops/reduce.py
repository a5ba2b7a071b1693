"""Reductions: sum, mean, max, min, var, prod, norm over some dims (all dims by default), and the
running sum and product, cumsum and cumprod.

Backward spreads the gradient of each reduced value back over the elements
that produced it. `backend.keep_dims_shape` restores the reduced dims as size 1, so the
gradient then broadcasts against the input.
"""
from minigrad import backend
from minigrad.function import Function
from minigrad.ops.elementwise import abs, floating, pow, sqrt, where
from minigrad.tensor import Tensor


def normalize_dims(dim, ndim):
    """None -> every axis; an int or a tuple -> a sorted tuple of non-negative axes, each named once."""
    if dim is None:
        return tuple(range(ndim))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    dims = sorted(backend.positive_dim(d, ndim) for d in dims)
    for first, second in zip(dims, dims[1:]):
        if first == second:  # as PyTorch; NumPy would raise for a sum, but flip(0, 0) would flip once
            raise ValueError(f"dim {first} appears multiple times in the list of dims")
    return tuple(dims) if ndim else ()


def reduced_dims(dim, ndim):
    """The axes a reduction runs over: every one for None, and for an empty tuple or list too, as in
    PyTorch (x.sum(dim=()) is x.sum(); squeeze and flip take () as no axis)."""
    return normalize_dims(None if isinstance(dim, (tuple, list)) and not dim else dim, ndim)


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
    return Sum.apply(x, dims=reduced_dims(dim, x.ndim), keepdim=keepdim)


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
    return Mean.apply(floating(x), dims=reduced_dims(dim, x.ndim), keepdim=keepdim)


class Max(Function):
    """max_i x_i;  d/dx_i = 1/k for each of the k elements equal to the max (ties split evenly, as
    PyTorch's max() and amax), else 0. A NaN is the max of its row, and no element == NaN: the
    NaNs are the winners there (0/0 would make the whole row's gradient NaN, even where g = 0)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        empty = [d for d in dims if x.shape[d] == 0]
        if empty:  # as PyTorch: max_dims would give -inf, which is no element's value
            raise ValueError(f"max: dim {empty[0]} of the input's shape {x.shape} has size 0: "
                             "no elements to take the max of")
        out = backend.max_dims(x, dims)
        ctx.save_for_backward(x, out)
        ctx.dims = dims
        return drop_dims(out, dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_arrays
        winners = ((x == out) | (x != x)).astype(grad.dtype)  # x != x: NaN; as floats, so share keeps grad's dtype
        share = winners / winners.sum(axis=ctx.dims, keepdims=True)
        return grad.reshape(out.shape) * share


def max(x, dim=None, keepdim=False):
    return Max.apply(x, dims=reduced_dims(dim, x.ndim), keepdim=keepdim)


def min(x, dim=None, keepdim=False):
    """min x = -max(-x): the same tie rule, no second class. Booleans have no minus (NumPy refuses it):
    for them min x = not max(not x), with x == 0 as not x."""
    if x.dtype == backend.bool_:
        return max(x == 0, dim, keepdim) == 0
    return -max(-x, dim, keepdim)


def variance_parts(ctx, x, dims, correction):
    """(x - mean, the variance with its dims kept): var = sum_i (x_i - mean)^2 / (n - c), where c is the
    correction (1, Bessel's: unbiased; 0: the mean square). ctx keeps dims and n - c for backward."""
    centered = x - backend.mean_dims(x, dims)
    n = count(x.shape, dims)
    ctx.dims, ctx.divisor = dims, n - correction if n > correction else 0  # n <= c: x / 0, inf or NaN
    return centered, backend.sum_dims(centered * centered, dims) / ctx.divisor


class Var(Function):
    """(1/(n - c)) sum_i (x_i - mean)^2 (c: the correction, 1 = unbiased);  d/dx_i = 2 (x_i - mean) / (n - c)

    The path through the mean drops out: its contribution is
    -2/(n (n - c)) * sum_j (x_j - mean) = 0, since deviations from the mean sum to zero."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, correction):
        centered, variance = variance_parts(ctx, x, dims, correction)
        ctx.save_for_backward(centered)
        return drop_dims(variance, dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_arrays
        return grad.reshape(backend.keep_dims_shape(centered.shape, ctx.dims)) * 2 * centered / ctx.divisor


class Std(Function):
    """sqrt(var);  d/dx_i = (x_i - mean) / ((n - c) std), taken as 0 where std = 0

    A constant row (std 0) has every deviation 0 and sqrt's infinite slope at 0: composed, var().sqrt()
    gives 0 * inf = NaN there, which would spread into every parameter (LayerNorm written as
    (x - mean) / (std + eps) meets such rows). PyTorch's std takes 0 too."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, correction):
        centered, variance = variance_parts(ctx, x, dims, correction)
        std = backend.xp_of(x).sqrt(variance)
        ctx.save_for_backward(centered, std)
        return drop_dims(std, dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        centered, std = ctx.saved_arrays
        xp = backend.xp_of(grad)
        slope = 1 / xp.where(std == 0, xp.inf, ctx.divisor * std)  # 1 / ((n - c) std), and 1 / inf = 0 at std 0
        return grad.reshape(std.shape) * slope * centered


def var(x, dim=None, keepdim=False, correction=1):
    return Var.apply(floating(x), dims=reduced_dims(dim, x.ndim), keepdim=keepdim, correction=correction)


def std(x, dim=None, keepdim=False, correction=1):
    return Std.apply(floating(x), dims=reduced_dims(dim, x.ndim), keepdim=keepdim, correction=correction)


class Prod(Function):
    """x_1 x_2 ... x_n along one dim;  d/dx_i = the product of all the others

    The others' product is (product of those before i) * (product of those after i), two running
    products, never out / x_i: that would divide by zero wherever an element is 0.
    float32 is multiplied in float64 and rounded once at the end, as PyTorch's CPU cumprod does: a
    running product of float32 can overflow or underflow on the way to a finite result (1e20 * 1e20
    * 1e-30 would give inf, not 1e10), and then give inf * 0 = NaN in the gradient."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        ctx.save_for_backward(x)
        ctx.dim = dim
        if not backend.is_floating(x.dtype):  # integers multiply exactly as they are
            return x.prod(axis=dim, keepdims=keepdim)
        with backend.silent_float_errors():  # a true product beyond float32 is inf, without a warning
            return x.prod(axis=dim, keepdims=keepdim, dtype=backend.float64).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        xp = backend.xp_of(x)
        if x.shape[ctx.dim] == 0:
            return xp.zeros_like(x)
        row = xp.moveaxis(x, ctx.dim, -1).astype(backend.float64, copy=False)  # the reduced dim last
        ones = xp.ones_like(row[..., :1])
        before = xp.concatenate([ones, xp.cumprod(row[..., :-1], axis=-1)], axis=-1)
        after = xp.flip(xp.concatenate([ones, xp.cumprod(xp.flip(row, -1)[..., :-1], axis=-1)], axis=-1), -1)
        others = xp.moveaxis(before * after, -1, ctx.dim)
        with backend.silent_float_errors():
            return (grad.reshape(backend.keep_dims_shape(x.shape, (ctx.dim,))) * others).astype(x.dtype, copy=False)


def prod(x, dim=None, keepdim=False):
    """The product of all elements (dim=None) or along one dim, as torch.prod; its gradient is
    right where elements are 0 (see Prod)."""
    if dim is not None:
        dim = backend.positive_dim(dim, x.ndim)
    if dim is None or x.ndim == 0:  # the product of the flattened x, then shaped as a full reduction
        flat = x.reshape(-1) if x.ndim != 1 else x
        product = Prod.apply(flat, dim=0, keepdim=False)
        return product.reshape((1,) * x.ndim if keepdim else ())
    return Prod.apply(x, dim=dim, keepdim=keepdim)


class Cumsum(Function):
    """running sums along dim: out_i = x_1 + ... + x_i;  d/dx_j = sum of the gradient over i >= j"""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return backend.xp_of(x).cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        # the sum over i >= j is a running sum taken from the far end: flip, cumsum, flip back
        xp = backend.xp_of(grad)
        return xp.flip(xp.cumsum(xp.flip(grad, ctx.dim), axis=ctx.dim), ctx.dim)


def cumsum(x, dim):
    if x.ndim == 0:
        return cumsum(x.reshape(1), 0).reshape(())
    return Cumsum.apply(x, dim=backend.positive_dim(dim, x.ndim))


def cumprod(x, dim):
    """Running products along dim: out_i = x_1 x_2 ... x_i, the product of row i of a triangle whose row
    i holds x_1 .. x_i and then ones. Composed so (where, then Prod along the rows), its gradient is
    Prod's, right where elements are 0; the triangle costs n^2 elements per row of n. Integers, which
    have no gradient, are multiplied up directly."""
    if x.ndim == 0:
        return cumprod(x.reshape(1), 0).reshape(())
    dim = backend.positive_dim(dim, x.ndim)
    xp = backend.xp_of(x.data)
    if not backend.is_floating(x.dtype):
        return Tensor._from_array(xp.cumprod(x.data, axis=dim))
    last = x.transpose(dim, -1)  # (..., n): the running dim last
    n = last.shape[-1]
    upto = Tensor._from_array(xp.tri(n, dtype=backend.bool_))  # upto[i, j]: j <= i
    triangle = where(upto, last.unsqueeze(-2), 1.0)  # (..., n, n): row i is x_1 .. x_i, 1, .., 1
    return prod(triangle, -1).transpose(dim, -1)


def logsumexp(x, dim, keepdim=False):
    """log sum e^x along dim (an int or a tuple), as m + log sum e^(x - m), m the max along dim:
    e^(x - m) <= 1 never overflows, and one term is 1, so the log never sees 0 (a row of -inf
    gives -inf, a +inf gives +inf: m is taken as 0 there). Composed, with m detached: its
    gradient would cancel anyway, so the gradient is e^(x - logsumexp) = softmax(x) along dim."""
    x = floating(x)
    m = Tensor._from_array(backend.max_dims(x.data, reduced_dims(dim, x.ndim)))  # no gradient; -inf over no elements
    m = where(m.isfinite(), m, 0.0)
    with backend.silent_float_errors():  # log 0 = -inf for a row of -inf, as in PyTorch (no warning)
        total = sum((x - m).exp(), dim, keepdim).log()
    return total + m.reshape(total.shape)


def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm (sum_i |x_i|^p)^(1/p) over dims (all by default), as torch.norm: p = 2 (or "fro"),
    1, inf, or any p >= 1. Composed of other ops, so no backward of its own.

    At the zero vector the norm has no derivative; its gradient there is 0 (as PyTorch's), not
    the NaN of 0 * (1 / 0) a plain sqrt would give: the root is taken of where(s > 0, s, 1),
    and where selects the gradient, so none reaches the sum of the zero vector."""
    x = floating(x)
    if p == float("inf"):
        return max(abs(x), dim, keepdim)
    if p == 1:
        return sum(abs(x), dim, keepdim)
    if p in (2, "fro"):
        total = sum(x * x, dim, keepdim)
        root = sqrt
    elif isinstance(p, (int, float)) and p >= 1:
        total = sum(pow(abs(x), p), dim, keepdim)
        root = lambda s: pow(s, 1 / p)  # noqa: E731
    else:
        raise ValueError(f"norm: p must be a number >= 1, inf or 'fro', got {p!r}")
    positive = Tensor._from_array(total.data > 0)
    return where(positive, root(where(positive, total, 1.0)), 0.0)
