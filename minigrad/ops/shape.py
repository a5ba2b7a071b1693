"""Ops that move values around without changing them.

Their backward moves the gradient back the same way: reshape it back, permute
it back, or scatter it back to where each value came from. Where one input
element feeds several outputs (repeated indices), the gradients add up.
"""
import itertools
import math

from minigrad import backend
from minigrad.function import Function
from minigrad.ops.elementwise import promote, where
from minigrad.ops.reduce import normalize_dims
from minigrad.tensor import Tensor, ValuesIndices


def sizes_given(sizes):
    """x.reshape(2, 3) or x.reshape((2, 3)): the numbers as one tuple, however they were passed."""
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes


class Reshape(Function):
    """x with a new shape, same values in the same order;  the gradient is reshaped back"""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


def reshape(x, *shape):
    shape = sizes_given(shape)
    try:
        return Reshape.apply(x, shape=shape)
    except ValueError:  # NumPy's words ("into shape (4,newaxis)") put in a tensor's terms, only when it fails
        raise RuntimeError(f"reshape: shape {shape} is invalid for a tensor of {x.numel()} elements (shape "
                           f"{x.shape}): the sizes must multiply to {x.numel()}, with at most one -1 to be inferred"
                           ) from None


def squeeze(x, dim=None):
    """x without its size-1 dims: all of them, or those of dim (an int or a tuple, as in PyTorch 2)."""
    dims = normalize_dims(dim, x.ndim)
    return reshape(x, *[n for i, n in enumerate(x.shape) if not (i in dims and n == 1)])


def unsqueeze(x, dim):
    dim = backend.positive_dim(dim, x.ndim + 1)
    return reshape(x, *x.shape[:dim], 1, *x.shape[dim:])


class Permute(Function):
    """x with its axes reordered;  the gradient is permuted back by the inverse order"""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(sorted(range(len(dims)), key=lambda i: dims[i]))
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.inverse)


def permute(x, *dims):
    dims = sizes_given(dims)
    if len(dims) != x.ndim or sorted(backend.positive_dim(d, x.ndim) for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not an ordering of the {x.ndim} dims of shape {x.shape}")
    return Permute.apply(x, dims=tuple(backend.positive_dim(d, x.ndim) for d in dims))


def transpose(x, dim0=-2, dim1=-1):
    if x.ndim < 2 and (dim0, dim1) == (-2, -1):
        raise ValueError(f"transpose: a tensor of shape {x.shape} has no two dims to swap; name them")
    dim0, dim1 = backend.positive_dim(dim0, x.ndim), backend.positive_dim(dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(x, dims=tuple(dims))


class Expand(Function):
    """x broadcast to a larger shape (a view, no copy);  the engine sums the gradient back"""

    @staticmethod
    def forward(ctx, x, shape):
        return backend.xp_of(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad  # engine.unbroadcast sums over the expanded dims


def expand(x, *shape):
    shape = sizes_given(shape)
    lead = len(shape) - x.ndim  # new dims go in front
    if lead < 0 or -1 in shape[:lead]:
        raise ValueError(f"expand: cannot expand shape {x.shape} to {shape}: give at least {x.ndim} dims, "
                         "and -1 (keep the size) only for dims the tensor has")
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return Expand.apply(x, shape=shape)


def has_array(index):
    """True when indexing gathers (integer or boolean arrays), so positions can repeat."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(backend.is_array(p) or isinstance(p, list) for p in parts)


class GetItem(Function):
    """x[index] for slices, integers, integer arrays and boolean masks;
    d/dx: each picked element gets its gradient back, repeated picks add up"""

    @staticmethod
    def forward(ctx, x, index):
        ctx.input_shape, ctx.input_dtype, ctx.index = x.shape, x.dtype, index
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        full = backend.xp_of(grad).zeros(ctx.input_shape, dtype=grad.dtype)
        if has_array(ctx.index):
            backend.scatter_add(full, ctx.index, grad)
        else:
            full[ctx.index] = grad  # plain slicing never picks an element twice
        return full


def own_copy(part):
    """One part of an index, with any array in it copied: changing the index tensor after the
    forward pass must not move where the gradient goes back to."""
    if isinstance(part, Tensor):
        return part.data.copy()
    return part.copy() if backend.is_array(part) else part


def getitem(x, index):
    parts = tuple(own_copy(p) for p in (index if isinstance(index, tuple) else (index,)))
    backend.check_index_range(parts, x.shape, "indexing")
    return GetItem.apply(x, index=parts if isinstance(index, tuple) else parts[0])


class Cat(Function):
    """inputs joined along one dim;  each input gets back its own slice of the gradient"""

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim, ctx.sizes = dim, [a.shape[dim] for a in arrays]
        return backend.xp_of(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        bounds = list(itertools.accumulate(ctx.sizes[:-1]))
        return tuple(backend.xp_of(grad).split(grad, bounds, axis=ctx.dim))


def cat(tensors, dim=0):
    if isinstance(tensors, Tensor):  # cat(x) for cat([x, y]): a tensor is not a sequence of them here
        raise TypeError("cat: expected a list (or tuple) of tensors, got one tensor; mg.cat([a, b], dim)")
    if not tensors:
        raise ValueError("cat: needs at least one tensor")
    if tensors[0].ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be joined; stack them, or unsqueeze first")
    return Cat.apply(*promote(*tensors), dim=backend.positive_dim(dim, tensors[0].ndim))


def stack(tensors, dim=0):
    """Join along a new dim: unsqueeze each, then cat."""
    if isinstance(tensors, Tensor):
        raise TypeError("stack: expected a list (or tuple) of tensors, got one tensor; mg.stack([a, b], dim)")
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: every tensor needs the same shape, got {sorted(shapes)}")
    dim = backend.positive_dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim)


def split(x, split_size_or_sections, dim=0):
    """Slices of x along dim, of split_size elements each (the last may be shorter) or of the listed
    sizes, as torch.split: nanoGPT's q, k, v = qkv.split(d_model, dim=2). Each slice's gradient
    goes back to its own place in x."""
    dim = backend.positive_dim(dim, x.ndim)
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        sizes = [min(split_size_or_sections, n - start) for start in range(0, n, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {sum(sizes)}, but dim {dim} of shape {x.shape} is {n}")
    starts = itertools.accumulate([0] + sizes)
    return tuple(getitem(x, (slice(None),) * dim + (slice(start, start + size),))
                 for start, size in zip(starts, sizes))


def chunk(x, chunks, dim=0):
    """x split along dim into `chunks` slices of ceil(n / chunks) elements (fewer slices if they run out)."""
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a whole number >= 1, got {chunks!r}")
    return split(x, -(-x.shape[backend.positive_dim(dim, x.ndim)] // chunks), dim)


def along_dim_index(xp, index, dim):
    """The full index tuple that picks x[..., index[...], ...] along `dim` (PyTorch's gather)."""
    grids = [xp.arange(n).reshape([n if i == axis else 1 for i in range(index.ndim)])
             for axis, n in enumerate(index.shape)]
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    """out[i][j] = x[index[i][j]][j] for dim 0 (and likewise for any dim);
    d/dx: scatter-add the gradient back to the gathered positions"""

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.input_shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)  # saved, so that changing the index in place is caught
        return x[along_dim_index(backend.xp_of(x), index, dim)]

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_arrays
        xp = backend.xp_of(grad)
        full = xp.zeros(ctx.input_shape, dtype=grad.dtype)
        backend.scatter_add(full, along_dim_index(xp, index, ctx.dim), grad)
        return full, None  # the index, an integer tensor, has no gradient


def gather(x, dim, index):
    dim = checked_along_dim("gather", x, dim, index)
    return Gather.apply(x, index, dim=dim)


def checked_along_dim(name, x, dim, index):
    """dim made positive, once index is checked to be what gather and the scatters take (as PyTorch):
    an integer tensor with x's dims, no longer than x in any other dim, its values in 0..n-1 along
    dim (no negative ones: PyTorch refuses them here, where x[-1] would wrap around)."""
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        got = index.dtype.name if isinstance(index, Tensor) else type(index).__name__
        raise TypeError(f"{name}: index must be an integer tensor (int64), got {got}")
    if x.ndim == 0 or index.ndim != x.ndim:
        raise ValueError(f"{name}: index {index.shape} must have as many dims as x {x.shape}, at least one")
    dim = backend.positive_dim(dim, x.ndim)
    if any(i > n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != dim):
        raise ValueError(f"{name}: index {index.shape} must fit inside x {x.shape} in every dim but {dim}")
    n, values = x.shape[dim], index.data
    outside = (values < 0) | (values >= n)
    if bool(outside.any()):  # one read back from a GPU
        raise IndexError(f"{name}: index {int(values[outside].ravel()[0])} is out of range for dim {dim} of size {n} "
                         f"(expected 0..{n - 1})")
    return dim


class ScatterAdd(Function):
    """out = x, then out[index[i][j]][j] += src[i][j] for dim 0 (likewise any dim; repeated indices add up);
    d/dx = g,  d/dsrc[i][j] = g[index[i][j]][j]: Gather's forward and backward, the other way round"""

    @staticmethod
    def forward(ctx, x, index, src, dim):
        ctx.dim, ctx.src_shape = dim, src.shape
        ctx.save_for_backward(index)
        out = x.copy()
        backend.scatter_add(out, along_dim_index(backend.xp_of(x), index, dim), src[index_extent(index)])
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_arrays
        return grad, None, (where_src_went(ctx, grad, index) if ctx.needs_input_grad[2] else None)


class Scatter(Function):
    """out = x, then out[index[i][j]][j] = src[i][j] for dim 0 (likewise any dim), as torch.scatter;
    d/dx = g where x is kept, 0 where src overwrote it;  d/dsrc[i][j] = g[index[i][j]][j]

    Where an index repeats, one of its src values lands there, which one unspecified (as in PyTorch:
    a GPU's threads race), and each of them gets that position's gradient, as in PyTorch."""

    @staticmethod
    def forward(ctx, x, index, src, dim):
        ctx.dim, ctx.src_shape = dim, src.shape
        ctx.save_for_backward(index)
        out = x.copy()
        out[along_dim_index(backend.xp_of(x), index, dim)] = src[index_extent(index)]
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_arrays
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad.copy()
            grad_x[along_dim_index(backend.xp_of(grad), index, ctx.dim)] = 0  # overwritten: no path to the output
        return grad_x, None, (where_src_went(ctx, grad, index) if ctx.needs_input_grad[2] else None)


def where_src_went(ctx, grad, index):
    """A scatter's d/dsrc: each src element gets the gradient of the position it was written to
    (src past index's extent was not used: 0)."""
    xp = backend.xp_of(grad)
    grad_src = xp.zeros(ctx.src_shape, dtype=grad.dtype)
    grad_src[index_extent(index)] = grad[along_dim_index(xp, index, ctx.dim)]
    return grad_src


def index_extent(index):
    """The slices that pick the part of src an index of this shape uses (src may be larger, as in PyTorch)."""
    return tuple(slice(0, n) for n in index.shape)


def scatter_add(x, dim, index, src):
    """x with src added at the positions index names along dim, as torch.scatter_add."""
    dim, src = checked_scatter("scatter_add", x, dim, index, src)
    return ScatterAdd.apply(x, index, src, dim=dim)


def scatter(x, dim, index, src=None, value=None):
    """x with src written at the positions index names along dim, as torch.scatter; or value, a
    number, written at every one of them (src may be that number too, as PyTorch takes it)."""
    if (src is None) == (value is None):
        raise TypeError("scatter: give src (a tensor, or a number) or value (a number), one of the two")
    dim, src = checked_scatter("scatter", x, dim, index, value if src is None else src, numbers=True)
    return Scatter.apply(x, index, src, dim=dim)


def checked_scatter(name, x, dim, index, src, numbers=False):
    """(dim made positive, src) once index fits x (checked_along_dim) and src: index no longer than src in
    any dim (src may be larger: only index's extent is used), src of x's dtype (PyTorch does not convert).
    numbers: src may be a number, the value every indexed position gets (filled to index's shape)."""
    dim = checked_along_dim(name, x, dim, index)
    if numbers and isinstance(src, (int, float)):
        if not backend.is_floating(x.dtype) and not math.isfinite(src):
            raise ValueError(f"{name}: {src} cannot be written into a tensor of {x.dtype.name}")
        src = Tensor(backend.xp_for(x.device).full(index.shape, src, dtype=x.dtype))
    if not isinstance(src, Tensor):
        raise TypeError(f"{name}: src must be a tensor{' or a number' if numbers else ''}, got {type(src).__name__}")
    if src.ndim != x.ndim or any(i > n for i, n in zip(index.shape, src.shape)):
        raise ValueError(f"{name}: index {index.shape} must fit inside src {src.shape} (with as many dims)")
    if src.dtype != x.dtype:
        raise TypeError(f"{name}: src is {src.dtype.name} and x {x.dtype.name}; expected one dtype "
                        f"(convert src with .to(x.dtype))")
    return dim, src


def index_add(x, dim, index, source, alpha=1):
    """x with alpha * source's slices added at x's positions index (1-d) names along dim, as
    torch.index_add; composed: index spread to source's shape, then scatter_add."""
    dim = backend.positive_dim(dim, x.ndim)
    if index.ndim != 1 or source.ndim != x.ndim or index.shape[0] != source.shape[dim]:
        raise ValueError(f"index_add: index must be 1-d with one entry per slice of source along dim {dim}, got "
                         f"index {index.shape} and source {source.shape} for x {x.shape}")
    spread = expand(reshape(index, *[-1 if d == dim else 1 for d in range(x.ndim)]), *source.shape)
    return scatter_add(x, dim, spread, source if alpha == 1 else source * alpha)


def flip(x, dims):
    """x with the order of its elements reversed along dims (an int or a list), as torch.flip: a
    slice with step -1 in each, so the gradient is flipped back by GetItem."""
    dims = normalize_dims(dims, x.ndim)
    return getitem(x, tuple(slice(None, None, -1) if d in dims else slice(None) for d in range(x.ndim)))


def repeat(x, *sizes):
    """x tiled sizes[i] times along dim i, as PyTorch's x.repeat (extra leading sizes add dims).
    Composed, no backward of its own: each dim of size n gets a size-1 dim before it, expanded to
    the repeat count, then the pairs merge -- (r, n) -> r * n -- so Expand sums the gradient back."""
    sizes = sizes_given(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: give at least one count per dim of shape {x.shape}, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    pairs = reshape(x, *[n for size in shape for n in (1, size)])
    tiled = expand(pairs, *[n for count, size in zip(sizes, shape) for n in (count, size)])
    return reshape(tiled, *[count * size for count, size in zip(sizes, shape)])


def repeat_interleave(x, repeats, dim=None):
    """Each element repeated `repeats` times in a row along dim (of the flattened x when dim is None),
    as torch.repeat_interleave with an int: [a, b] -> [a, a, b, b]. Composed, as repeat: a size-1 dim
    after dim, expanded to the count, then the pair merged -- (n, r) -> n * r -- so Expand sums the
    gradient back."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 0:
        raise TypeError(f"repeat_interleave: repeats must be an int >= 0 here, got {repeats!r}")
    if dim is None:
        return repeat_interleave(reshape(x, -1), repeats, 0)
    dim = backend.positive_dim(dim, x.ndim)
    pairs = unsqueeze(x, dim + 1)
    tiled = expand(pairs, *pairs.shape[:dim + 1], repeats, *pairs.shape[dim + 2:])
    return reshape(tiled, *x.shape[:dim], x.shape[dim] * repeats, *x.shape[dim + 1:])


def roll(x, shifts, dims=None):
    """x shifted along dims, what falls off one end coming back at the other, as torch.roll:
    x.roll(1, 0), x.roll((1, -2), (0, 1)), or with dims=None the flattened x rolled and put back in
    shape. Along a dim of n, out[i] = x[(i - shift) mod n]: index_select picks that, so the
    gradient goes back to where each element came from."""
    if dims is None:
        return reshape(roll(reshape(x, -1), shifts, 0), *x.shape)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shift(s) for {len(dims)} dim(s); give one shift per dim")
    xp = backend.xp_of(x.data)
    for shift, dim in zip(shifts, dims):
        n = x.shape[backend.positive_dim(dim, x.ndim)]
        x = index_select(x, dim, Tensor._from_array((xp.arange(n) - shift) % n))
    return x


def index_select(x, dim, index):
    """The slices of x along dim at the positions in index (an integer tensor of at most 1 dim), as
    torch.index_select: x[:, index] for dim 1. Indexing, so repeated positions add up their gradients."""
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu" or index.ndim > 1:
        got = f"{index.dtype.name} of shape {index.shape}" if isinstance(index, Tensor) else type(index).__name__
        raise TypeError(f"index_select: index must be an integer tensor of 0 or 1 dims, got {got}")
    dim = backend.positive_dim(dim, x.ndim)
    return getitem(x, (slice(None),) * dim + (index.data.reshape(-1),))


def masked_select(x, mask):
    """The elements of x where the bool mask is True, as a 1-d tensor in row-major order (x and mask
    broadcast to one shape first), as torch.masked_select; indexing by the mask passes the gradient back."""
    if not isinstance(mask, Tensor) or mask.dtype != backend.bool_:
        raise TypeError("masked_select: the mask must be a bool tensor (e.g. x > 0)")
    shape = backend.broadcast_shape(x.shape, mask.shape)
    return getitem(expand(x, *shape), backend.xp_of(mask.data).broadcast_to(mask.data, shape))


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The offset-th diagonal over dims dim1 and dim2 (offset > 0 above the main one, < 0 below), as a new
    last dim, as torch.diagonal: out[..., i] = x[..., i, i + offset] once the two dims are moved last.
    Picked by indexing, so the gradient goes back to the diagonal and nowhere else."""
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs a tensor of at least 2 dims, got shape {x.shape}")
    dim1, dim2 = backend.positive_dim(dim1, x.ndim), backend.positive_dim(dim2, x.ndim)
    if dim1 == dim2:
        raise ValueError(f"diagonal: needs two different dims, got dim {dim1} twice (of shape {x.shape})")
    others = [d for d in range(x.ndim) if d not in (dim1, dim2)]
    moved = permute(x, *others, dim1, dim2)  # (..., rows, cols)
    rows, cols = moved.shape[-2:]
    first_row, first_col = max(-offset, 0), max(offset, 0)  # where the diagonal starts
    steps = backend.xp_of(x.data).arange(max(min(rows - first_row, cols - first_col), 0))
    return getitem(moved, (slice(None),) * len(others) + (steps + first_row, steps + first_col))


def diag(x, offset=0):
    """A 1-d x as the offset-th diagonal of a square matrix (the rest 0); a 2-d x's offset-th diagonal
    as a vector: torch.diag both ways (whose keyword for offset is `diagonal`). The matrix is
    where(on the diagonal, x[i], 0), i = min(row, col) the place along the diagonal: the gradient
    goes back from the diagonal alone."""
    if x.ndim == 2:
        return diagonal(x, offset)
    if x.ndim != 1:
        raise ValueError(f"diag: expects a 1-d tensor (to make a matrix) or a 2-d one (to read its diagonal), "
                         f"got shape {x.shape}")
    xp, n = backend.xp_of(x.data), x.shape[0]
    size = n + abs(offset)
    if n == 0:  # no values to place, and none to pick with `along` below: all zeros, as torch.diag
        return x.new_zeros(size, size)
    rows, cols = xp.arange(size)[:, None], xp.arange(size)[None, :]
    on_diagonal = Tensor._from_array(cols - rows == offset)
    along = xp.minimum(xp.minimum(rows, cols), n - 1)  # (off the diagonal, any index: where drops it)
    return where(on_diagonal, getitem(x, along), x.new_zeros(()))  # a 0 of x's dtype: bool stays bool


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest) elements along dim and their indices, as torch.topk: (values,
    indices), the values gathered from x, so the gradient goes back to where they came from.
    Sorted best first (also when sorted=False, which PyTorch allows); NaN counts as the largest, as in
    PyTorch, and tied values come lowest index first, always (PyTorch's partial sort mostly gives
    that order, but not always: [2, 2, 2, 0, 5, 0].topk(2) -> indices [4, 2] there). A 0-d x gives
    0-d values and indices (k=0 too: a 0-d result cannot be empty, and PyTorch gives the element)."""
    dim = backend.positive_dim(dim, x.ndim)
    n = x.shape[dim] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for dim {dim} of size {n} in shape {x.shape}")
    if x.ndim == 0:
        values, indices = topk(x.reshape(1), 1, 0, largest, sorted)
        return ValuesIndices(values.reshape(()), indices.reshape(()))
    order = sort_order(x.data, dim, descending=largest)
    indices = Tensor._from_array(order[(slice(None),) * dim + (slice(0, k),)])
    return ValuesIndices(gather(x, dim, indices), indices)


def sort_order(array, dim, descending):
    """The indices that sort array along dim (a non-negative dim of an array of at least 1 dim), ties
    lowest index first, NaN counted as the largest (last ascending, first descending), as PyTorch."""
    xp = backend.xp_of(array)
    if not descending:
        return xp.argsort(array, axis=dim, kind="stable")
    # descending, ties lowest index first: a stable ascending sort of x reversed along dim puts
    # ties highest index first (NaN last); reversing that order, and mapping the positions in the
    # reversed x back (i -> n - 1 - i), gives it. (-x would break on NaN, bools and unsigned ints.)
    n = array.shape[dim]
    return n - 1 - xp.flip(xp.argsort(xp.flip(array, dim), axis=dim, kind="stable"), dim)


def argsort(x, dim=-1, descending=False, stable=False):
    """The indices that sort x along dim (int64), as torch.argsort; always stable here (tied values keep
    their order), so stable=True changes nothing. No gradient: indices are not differentiable."""
    if x.ndim == 0:  # PyTorch sorts a 0-d tensor as one element: index 0
        return Tensor._from_array(backend.xp_of(x.data).zeros((), dtype=backend.int64))
    return Tensor._from_array(sort_order(x.data, backend.positive_dim(dim, x.ndim), descending))


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) along dim, as torch.sort: the values gathered from x at the indices, so the
    gradient goes back to where each value came from. Stable (see argsort); NaN sorts as the largest."""
    indices = argsort(x, dim, descending)
    if x.ndim == 0:
        return ValuesIndices(gather(x.reshape(1), 0, indices.reshape(1)).reshape(()), indices)
    return ValuesIndices(gather(x, dim, indices), indices)
