"""Ways to make a tensor: from data, filled with a constant, or random."""
from minigrad import backend
from minigrad.tensor import Tensor


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new tensor from nested lists, a scalar, an array or a tensor (float32 by default for
    floats). It owns a copy of the data, as torch.tensor does: changing one never changes the other.
    An array keeps its device unless `device` says otherwise; anything else goes to the CPU.
    """
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_array(data):
        data = data.copy(order="K")  # keep the layout (a transposed array stays transposed)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def full(shape, value, dtype=None, device="cpu", requires_grad=False):
    """A tensor filled with value; its dtype, unless given, is value's, as in torch.full: float32 for a
    float, int64 for an int (labels, ignore_index), bool for a bool (masks)."""
    xp = backend.xp_for(device)
    dtype = backend.dtype_of(dtype) if dtype is not None else backend.as_array(value).dtype
    return Tensor(xp.full(_shape((shape,)), value, dtype=dtype), requires_grad=requires_grad)


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    return full(_shape(shape), 0, dtype or backend.DEFAULT_DTYPE, device, requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    return full(_shape(shape), 1, dtype or backend.DEFAULT_DTYPE, device, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return full(t.shape, 0, dtype or t.dtype, t.device, requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return full(t.shape, 1, dtype or t.dtype, t.device, requires_grad)


def full_like(t, value, dtype=None, requires_grad=False):
    return full(t.shape, value, dtype or t.dtype, t.device, requires_grad)


def empty_like(t, dtype=None, requires_grad=False):
    """zeros_like: PyTorch leaves the values unset; here they are 0 (the same cost on a CPU)."""
    return zeros_like(t, dtype, requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(*t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(*t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def randn(*shape, dtype=None, device="cpu", requires_grad=False):
    """Standard normal samples from the device's seeded generator."""
    dtype = backend.dtype_of(dtype or backend.DEFAULT_DTYPE)
    array = backend.generator(device).standard_normal(_shape(shape), dtype=dtype)
    return Tensor(array, requires_grad=requires_grad)


def rand(*shape, dtype=None, device="cpu", requires_grad=False):
    """Uniform samples in [0, 1) from the device's seeded generator."""
    dtype = backend.dtype_of(dtype or backend.DEFAULT_DTYPE)
    array = backend.generator(device).random(_shape(shape), dtype=dtype)
    return Tensor(array, requires_grad=requires_grad)


def randint(low, high=None, size=None, dtype=None, device="cpu"):
    """Integers drawn uniformly from [low, high), int64 unless dtype says otherwise; as in PyTorch,
    randint(high, size) starts at 0."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=size)
        low, high = 0, low
    array = backend.generator(device).integers(low, high, size=_shape((size,)))
    return Tensor(array, dtype=dtype or backend.int64)


def randperm(n, device="cpu"):
    """The numbers 0 .. n-1 in a random order (int64), e.g. to shuffle a dataset each epoch: the
    ranks of n uniform draws."""
    return Tensor(backend.generator(device).random(n).argsort(), dtype=backend.int64)


def arange(start, end=None, step=1, dtype=None, device="cpu"):
    """Evenly spaced values in [start, end); int64 unless a float bound or dtype says otherwise."""
    if end is None:
        start, end = 0, start
    array = backend.xp_for(device).arange(start, end, step)
    return Tensor(array, dtype=dtype or (backend.int64 if array.dtype.kind in "iu" else backend.DEFAULT_DTYPE))
