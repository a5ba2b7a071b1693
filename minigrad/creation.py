"""Ways to make a tensor: from data, filled with a constant, or random."""
from minigrad import backend
from minigrad.ops.shape import sizes_given  # zeros(2, 3) or zeros((2, 3)), as reshape takes them
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
    if isinstance(data, (list, tuple)):
        refuse_graphs(data)
        try:
            return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)
        except ValueError as error:  # NumPy's "inhomogeneous shape": say which rows, in a tensor's terms
            raise ValueError(f"tensor: {ragged(data) or error}") from None
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def refuse_graphs(items):
    """mg.tensor([a * 2, a * 3]) would copy the values and leave their graph behind, so that no gradient
    reaches a: refused (PyTorch only warns). The items are looked at, not every number of a nested list,
    and a list that starts with a number is taken to be numbers: the look costs less than the copy."""
    if items and isinstance(items[0], (int, float)):
        return
    for i, item in enumerate(items):
        if isinstance(item, Tensor) and item.requires_grad:
            raise TypeError(f"tensor: item {i} is a tensor that requires grad, and mg.tensor copies values, "
                            "leaving its graph behind (no gradient would reach it): mg.stack(items) keeps the "
                            "gradients (or .detach() the items to copy them on purpose)")


def ragged(rows, where="data"):
    """Where nested lists stop being a box of numbers: "the items of data[1] have lengths [2, 1] ...", or ""."""
    lists = [isinstance(row, (list, tuple)) for row in rows]
    if any(lists) and (not all(lists) or len({len(row) for row in rows}) > 1):
        sizes = [len(row) if isinstance(row, (list, tuple)) else "a number" for row in rows]
        return (f"the items of {where} have lengths {sizes[:8]}{' ...' if len(sizes) > 8 else ''}, not one: "
                "pad the shorter ones first (a tensor is a box of numbers)")
    for i, row in enumerate(rows):
        said = ragged(row, f"{where}[{i}]") if isinstance(row, (list, tuple)) else ""
        if said:
            return said
    return ""


def as_tensor(data, dtype=None, device=None):
    """data as a tensor, copying only when it must, as torch.as_tensor: a tensor already of that dtype
    and on that device is returned itself (else converted, as .to() does), a NumPy array of that
    dtype on the CPU is shared (changing one changes the other); lists and scalars are copied in."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    return Tensor(data, dtype=dtype, device=device)


def full(shape, value, dtype=None, device="cpu", requires_grad=False):
    """A tensor filled with value; its dtype, unless given, is value's, as in torch.full: float32 for a
    float, int64 for an int (labels, ignore_index), bool for a bool (masks)."""
    xp = backend.xp_for(device)
    if isinstance(value, Tensor):  # a 0-d tensor, as torch.full takes: its number
        value = value.item()
    dtype = backend.dtype_of(dtype) if dtype is not None else backend.as_array(value).dtype
    return Tensor(xp.full(sizes_given((shape,)), value, dtype=dtype), requires_grad=requires_grad)


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    return full(sizes_given(shape), 0, dtype or backend.DEFAULT_DTYPE, device, requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    return full(sizes_given(shape), 1, dtype or backend.DEFAULT_DTYPE, device, requires_grad)


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


def randn(*shape, dtype=None, device="cpu", requires_grad=False, generator=None):
    """Standard normal samples from the device's seeded generator (or from `generator`, an mg.Generator)."""
    dtype = backend.dtype_of(dtype or backend.DEFAULT_DTYPE)
    array = backend.generator(device, generator).standard_normal(sizes_given(shape), dtype=dtype)
    return Tensor(array, requires_grad=requires_grad)


def rand(*shape, dtype=None, device="cpu", requires_grad=False, generator=None):
    """Uniform samples in [0, 1) from the device's seeded generator (or from `generator`)."""
    dtype = backend.dtype_of(dtype or backend.DEFAULT_DTYPE)
    array = backend.generator(device, generator).random(sizes_given(shape), dtype=dtype)
    return Tensor(array, requires_grad=requires_grad)


def randint(low, high=None, size=None, dtype=None, device="cpu", generator=None):
    """Integers drawn uniformly from [low, high), int64 unless dtype says otherwise; as in PyTorch,
    randint(high, size) starts at 0."""
    if size is None:  # randint(high, size)
        if not isinstance(high, (tuple, list)):  # randint(0, 5): two bounds, and the size forgotten
            example = f"randint({low}, {high}, (3,))" if low < high else f"randint({low}, ({high},))"
            raise TypeError(f"randint: size must be a tuple, as in {example}; randint({low}, {high}) gives no size "
                            "(for randint(high, size), size is a tuple)")
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=size)
        low, high = 0, low
    if not low < high:
        raise ValueError(f"randint: low ({low}) must be below high ({high}): it draws from [low, high)")
    array = backend.generator(device, generator).integers(low, high, size=sizes_given((size,)))
    return Tensor(array, dtype=dtype or backend.int64)


def randperm(n, device="cpu", generator=None):
    """The numbers 0 .. n-1 in a random order (int64), e.g. to shuffle a dataset each epoch: the
    ranks of n uniform draws."""
    return Tensor(backend.generator(device, generator).random(n).argsort(), dtype=backend.int64)


def arange(start, end=None, step=1, dtype=None, device="cpu"):
    """Evenly spaced values in [start, end); int64 unless a float bound or dtype says otherwise."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero, got 0")
    array = backend.xp_for(device).arange(start, end, step)
    return Tensor(array, dtype=dtype or (backend.int64 if array.dtype.kind in "iu" else backend.DEFAULT_DTYPE))


def empty(*shape, dtype=None, device="cpu", requires_grad=False):
    """zeros: PyTorch leaves the values unset; here they are 0."""
    return zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def linspace(start, end, steps, dtype=None, device="cpu", requires_grad=False):
    """steps evenly spaced values from start to end, both included (float32 unless dtype says otherwise)."""
    array = backend.xp_for(device).linspace(start, end, steps)
    return Tensor(array, dtype=dtype or backend.DEFAULT_DTYPE, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device="cpu", requires_grad=False):
    """The n x m (n x n) identity matrix: ones on the diagonal, zeros elsewhere."""
    array = backend.xp_for(device).eye(n, m, dtype=backend.dtype_of(dtype or backend.DEFAULT_DTYPE))
    return Tensor(array, requires_grad=requires_grad)


def from_numpy(array):
    """A tensor sharing the memory of a NumPy array (changing one changes the other), with its dtype,
    as torch.from_numpy; mg.tensor(array) copies instead."""
    if not backend.is_array(array) or backend.device_of(array) != "cpu":
        raise TypeError(f"from_numpy expects a NumPy array, got {type(array).__name__}")
    return Tensor(array)


def multinomial(probs, num_samples, replacement=False, generator=None):
    """num_samples indices drawn with probabilities proportional to the weights in probs (1-d, or
    2-d: one row of draws per row), int64, from the device's seeded generator (or `generator`);
    no gradient. As torch.multinomial: without replacement, an index is drawn at most once per row.

    With replacement, each draw u in [0, 1) picks the first index whose running sum of weights
    exceeds u * total. Without, each index gets the key -log(1 - u) / weight, and the num_samples
    smallest keys win: drawing one by one without replacement gives the same distribution
    (Efraimidis & Spirakis, 2006). Zero weights are never drawn."""
    if probs.ndim not in (1, 2):
        raise ValueError(f"multinomial: probs must be 1-d or 2-d, got shape {probs.shape}")
    weights = probs.data.astype(backend.float64)
    xp, n = backend.xp_of(weights), probs.shape[-1]
    if not replacement and num_samples > n:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples from {n} categories without replacement")
    bad = (weights < 0).any() | ~xp.isfinite(weights).all() | (weights.sum(axis=-1) <= 0).any()
    if bool(bad):  # one read back from a GPU
        raise ValueError("multinomial: probs must be finite and non-negative, with a positive sum in each row")
    draws_per_row = num_samples if replacement else n  # without replacement: one key per index
    stream = backend.generator(probs.device, generator)
    draws = stream.random(weights.shape[:-1] + (draws_per_row,), dtype=backend.float64)
    if replacement:  # a binary search per draw: no (rows, num_samples, n) array of comparisons
        running = xp.cumsum(weights, axis=-1)
        threshold = draws * running[..., -1:]
        # a zero weight is never picked: its running sum is the one before it, which the threshold
        # already reached. u * total can round up to total itself: the last index then, not n
        picked = backend.searchsorted_rows(running.reshape(-1, n), threshold.reshape(-1, num_samples))
        picked = xp.minimum(picked, n - 1).reshape(threshold.shape)
    else:
        positive = weights > 0  # a zero weight gets the key inf (last), never 1 / 0
        keys = xp.where(positive, -xp.log(1 - draws) / xp.where(positive, weights, 1), xp.inf)
        picked = xp.argsort(keys, axis=-1)[..., :num_samples]
    return Tensor(picked, dtype=backend.int64)
