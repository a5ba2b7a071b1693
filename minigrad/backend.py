"""The one place that knows about NumPy and CuPy.

Every other file asks this module for `xp`, the array module of a device:
"cpu" -> numpy, "cuda" -> cupy. Both speak the same API, so the engine is
written once. Random numbers come from one seeded generator per device, so a
run is reproducible.
"""
import ctypes
import functools
import math
import operator
import sys
import tracemalloc

import numpy as np
import scipy.special

try:  # CuPy is the optional extra `gpu`; everything works without it.
    import cupy
    import cupyx
    import cupyx.scipy.special
except ImportError:  # pragma: no cover - depends on the machine
    cupy = None

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int64 = np.dtype("int64")
int32 = np.dtype("int32")
bool_ = np.dtype("bool")
DEFAULT_DTYPE = float32
DEVICES = ("cpu", "cuda")

CUDA_HELP = (
    "CuPy and an NVIDIA GPU are needed for device='cuda'. Install CuPy with "
    "`pip install -e .[gpu]` (or `pip install cupy-cuda12x`), or use device='cpu'."
)


def cuda_is_available():
    """True when CuPy is installed and sees at least one GPU."""
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CUDA driver missing or broken
        return False


def cuda_device_count():
    """How many GPUs minigrad can use: 1 (the first GPU, "cuda" or "cuda:0") when one is available,
    else 0. A machine with more GPUs still reports 1, so that ported code never takes a multi-GPU
    path (DataParallel, "cuda:1") that minigrad does not have."""
    return 1 if cuda_is_available() else 0


def cuda_device_name():
    """The GPU's name, e.g. "NVIDIA H200" (for benchmark reports)."""
    return cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"].decode()


class Device(str):
    """A device, as PyTorch's torch.device: mg.device("cpu"), mg.device("cuda"), mg.device("cuda:0")
    or mg.device("cuda", 0). It is a str, the device's name ("cpu" or "cuda"), so `x.device == "cuda"`
    and a dict keyed by names keep working; .type is that name and .index is None on the CPU and 0 on
    the GPU (minigrad uses one, the first: "cuda:0" is "cuda"). There are two instances, CPU and CUDA,
    made once: mg.device("cuda:0") is CUDA, and x.device allocates nothing. Making one checks only the
    name; using "cuda" without a GPU is the error (as in PyTorch)."""

    def __new__(cls, name, index=None):
        if index is not None:  # mg.device("cuda", 0)
            name = f"{name}:{index}"
        return named_device(name)

    @property
    def type(self):
        """The name, "cpu" or "cuda", as a plain str."""
        return str.__str__(self)

    @property
    def index(self):
        """None on the CPU, 0 on the GPU (the one minigrad uses), as PyTorch's tensor.device.index."""
        return None if self is CPU else 0

    def __repr__(self):
        return "device(type='cpu')" if self is CPU else "device(type='cuda', index=0)"

    def __reduce__(self):  # pickled and copied as its name: unpickled, it is the cached instance again
        return Device, (self.type,)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


CPU = str.__new__(Device, "cpu")
CUDA = str.__new__(Device, "cuda")
_DEVICE_NAMES = {"cpu": CPU, "cpu:0": CPU, "cuda": CUDA, "cuda:0": CUDA}


def named_device(name):
    """The device (CPU or CUDA, a Device) a name or Device stands for; PyTorch's "cuda:0" (the first
    GPU) is "cuda", the one GPU minigrad uses. Only the name is checked, not that the GPU is there."""
    canonical = _DEVICE_NAMES.get(name) if isinstance(name, str) else None
    if canonical is None:
        raise ValueError(f"unknown device {name!r}; expected one of {DEVICES} (or 'cuda:0')")
    return canonical


def check_device(device):
    """named_device(device), which must be usable: "cuda" without a GPU is an error."""
    canonical = named_device(device)
    if canonical is CUDA and not cuda_is_available():
        raise RuntimeError(CUDA_HELP)
    return canonical


def xp_for(device):
    """The array module (numpy or cupy) for a device name."""
    return cupy if check_device(device) is CUDA else np


def device_of(array):
    """The Device an array lives on: CPU or CUDA (the two cached instances)."""
    return CUDA if cupy is not None and isinstance(array, cupy.ndarray) else CPU


def xp_of(array):
    return cupy if device_of(array) is CUDA else np


def is_array(value):
    return isinstance(value, np.ndarray) or (cupy is not None and isinstance(value, cupy.ndarray))


def memory_owner(array):
    """The array that owns the memory `array` shows (itself, unless it is a view)."""
    while is_array(array.base):
        array = array.base
    return array


def shares_elements(array):
    """Whether several elements of array sit in one place in memory: a view made by expand or
    broadcast_to (stride 0 along a dim longer than 1), where writing one element writes them all.
    Strides, not NumPy's read-only flag: CuPy's broadcast views are writable and have no such flag.
    An array with no elements shares none (NumPy gives a (3, 0) array a stride of 0)."""
    return array.size > 0 and any(stride == 0 and n > 1 for stride, n in zip(array.strides, array.shape))


def as_array(data, dtype=None, device="cpu"):
    """Turn nested lists, scalars or arrays into an array on `device`.

    Python floats become float32 (the default dtype) and Python ints int64;
    an existing array (or NumPy scalar, as in PyTorch) keeps its dtype unless one is given.
    """
    xp = xp_for(device)
    if device == "cpu" and device_of(data) == "cuda":
        data = cupy.asnumpy(data)
    if dtype is None and not is_array(data) and not isinstance(data, np.generic):  # np.float64(2.5) keeps its dtype
        kind = np.asarray(data).dtype.kind
        if kind not in "fciub":
            raise TypeError(f"a tensor holds numbers (or booleans), got {type(data).__name__} {data!r:.60}")
        dtype = DEFAULT_DTYPE if kind in "fc" else int64 if kind in "iu" else None
    return xp.asarray(data, dtype=None if dtype is None else dtype_of(dtype))


def is_numpy_scalar(value):
    """Whether value is one element of a NumPy array (np.float32(0.5), x[i]), which has a dtype of its own."""
    return isinstance(value, np.generic)


def python_scalar(value):
    """A NumPy scalar (np.float64(2), np.sqrt(d)) as the Python number it holds; anything else as it is.
    PyTorch treats both alike, as weak scalars: float32 * np.float64(2) stays float32 (NumPy would
    make it float64)."""
    return value.item() if isinstance(value, np.generic) else value


def to_numpy(array):
    """A host NumPy array, whatever device the array lives on."""
    return cupy.asnumpy(array) if device_of(array) == "cuda" else np.asarray(array)


def array_text(array, prefix):
    """array's values as PyTorch prints a tensor: commas between them, 4 decimals ("1., 2." when
    every value is whole), scientific notation for a wide range, later rows aligned under prefix."""
    host = to_numpy(array)
    whole = host.dtype.kind != "f" or bool(np.all(np.mod(host[np.isfinite(host)], 1) == 0))
    return np.array2string(host, separator=", ", precision=4, floatmode="maxprec" if whole else "fixed",
                           prefix=prefix)


def dtype_of(dtype):
    """Normalise "float32", np.float32 or mg.float32 to a NumPy dtype."""
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; expected float32, float64, int64, int32 or bool") from None


def device_or_dtype(target):
    """What .to(target) asks for: a device name as itself ("cuda:0" as "cuda"), anything else as a
    dtype. Other numbered devices ("cuda:1") are named as unknown devices, not as unknown dtypes."""
    if isinstance(target, str) and target.split(":")[0] in DEVICES:
        return check_device(target)  # a Device (CPU or CUDA)
    try:
        return dtype_of(target)
    except TypeError:  # "gpu", "mps", a torch.device: most likely a device meant
        raise TypeError(f"unknown device or dtype {target!r}; expected a device ({', '.join(map(repr, DEVICES))}) "
                        "or a dtype (float32, float64, int64, int32, bool)") from None


def is_floating(dtype):
    return np.dtype(dtype).kind == "f"  # (np.issubdtype is 10x slower, and this runs on every op)


def unravel_index(flat_index, shape):
    """The position (a tuple of Python ints) of element flat_index in a C-ordered array of shape
    (host arithmetic, any device: CuPy's unravel_index wants a GPU array of indices)."""
    return tuple(int(i) for i in np.unravel_index(flat_index, shape))


def finfo(dtype):
    """The limits of a float dtype (eps, max, min, tiny, bits), as torch.finfo: NumPy's, the same names."""
    return np.finfo(dtype_of(dtype))


def iinfo(dtype):
    """The limits of an integer dtype (max, min, bits), as torch.iinfo."""
    return np.iinfo(dtype_of(dtype))


def positive_dim(dim, ndim):
    """A dim in [-ndim, ndim) as its index in [0, ndim); a 0-d tensor accepts 0 and -1, as in PyTorch."""
    dim = operator.index(dim)  # Python or NumPy integers, nothing else
    size = ndim or 1
    if not -size <= dim < size:
        raise IndexError(f"dim {dim} is out of range for a tensor with {ndim} dims "
                         f"(expected a dim from {-size} to {size - 1})")
    return dim % size


def index_dims(parts, ndim):
    """The dim each part of an index picks from (None for None, which adds a dim): x[..., i] picks
    from the last; a boolean mask picks from as many dims as it has."""
    def width(part):
        return 0 if part is None else part.ndim if is_array(part) and part.dtype == bool_ else 1
    dims, dim = [], 0
    for part in parts:
        if part is Ellipsis:
            dim += ndim - sum(width(p) for p in parts if p is not Ellipsis)
        dims.append(None if part is None or part is Ellipsis else dim)
        dim += 0 if part is Ellipsis else width(part)
    return dims


def check_index_range(parts, shape, what):
    """Raise IndexError for an integer-array index outside [-n, n) of the dim it picks from.
    NumPy raises by itself, but CuPy wraps such indices around without a word (x[5] of 3 rows
    is row 2), so the check is ours, the same on both devices. One read back from a GPU
    per index with arrays in it, none for plain slices and integers."""
    if not any(isinstance(part, list) or is_array(part) for part in parts):
        return  # slices and integers: NumPy and CuPy both raise for those themselves
    parts = [np.asarray(part) if isinstance(part, list) else part for part in parts]  # x[[0, 2]]
    arrays = [(part, dim) for part, dim in zip(parts, index_dims(parts, len(shape)))
              if is_array(part) and part.dtype.kind in "iu" and dim is not None and dim < len(shape)]
    if not arrays:
        return
    outside = [(a < -shape[d]) | (a >= shape[d]) for a, d in arrays]
    if not bool(functools.reduce(operator.or_, [o.any() for o in outside])):  # the one read back
        return
    for (array, dim), bad in zip(arrays, outside):
        if bad.any():
            n = shape[dim]
            raise IndexError(f"{what}: index {int(array[bad].ravel()[0])} is out of range for dim {dim} of "
                             f"size {n} in a tensor of shape {tuple(shape)} (expected -{n}..{n - 1})")


def keep_dims_shape(shape, dims):
    """shape with the reduced dims kept as size 1 (what keepdims=True gives)."""
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def broadcast_shape(*shapes):
    """The shape NumPy broadcasting gives these shapes (pure shape arithmetic, any device)."""
    return np.broadcast_shapes(*shapes)


def broadcast_or_none(*shapes):
    """The shape these shapes broadcast to, or None where they do not broadcast together."""
    try:
        return broadcast_shape(*shapes)
    except ValueError:
        return None


def broadcastable(*shapes):
    """Whether arrays of these shapes broadcast together."""
    return broadcast_or_none(*shapes) is not None


def broadcasts_to(shape, target):
    """Whether an array of `shape` broadcasts to `target` unchanged (what an in-place write needs)."""
    return broadcast_or_none(shape, target) == tuple(target)


def erf(array):
    """The error function (used by the exact GELU): SciPy's, accurate to float64, except
    for float32 on the CPU, where SciPy's erf is ~30x slower than the rest of a GELU."""
    if device_of(array) == "cuda":
        return cupyx.scipy.special.erf(array)
    return erf_float32(array) if array.dtype == float32 else scipy.special.erf(array)


# erf(x) = x P(x^2) / Q(x^2) on |x| <= 4 (beyond, erf is 1 to float32's precision): a rational function
# fitted to SciPy's erf by weighted least squares for this project (relative error, reweighted by 1/Q),
# within 4e-7 of erf relative to its value everywhere, near 0 too (x P / Q is odd and ~ 2x/sqrt(pi) there),
# and cheap: ten multiply-adds and a division, no exp. Coefficients lowest power first.
ERF_CLAMP = 4.0
ERF_NUMERATOR = (1.12837911, 1.89910978e-01, 5.26661091e-02, 3.74129741e-03, 2.83743779e-04, 2.04469643e-06)
ERF_DENOMINATOR = (1.0, 5.01637042e-01, 1.13889143e-01, 1.49189485e-02, 1.15567609e-03, 3.79799894e-05)


def erf_float32(x):
    shape = x.shape
    x = np.clip(x.reshape(-1), -ERF_CLAMP, ERF_CLAMP)  # 1-d: NumPy makes a 0-d result a scalar, which out= refuses
    squared = x * x
    numerator, denominator = polynomial(ERF_NUMERATOR, squared), polynomial(ERF_DENOMINATOR, squared)
    numerator *= x
    numerator /= denominator
    return np.clip(numerator, -1, 1, out=numerator).reshape(shape)


def polynomial(coefficients, x):
    """c_0 + c_1 x + ... + c_n x^n in Horner's form, highest power first, in x's dtype."""
    result = np.full_like(x, coefficients[-1])
    for c in coefficients[-2::-1]:
        result *= x
        result += c
    return result


# ---- sums and maxima along axes -----------------------------------------------------------------
# NumPy reduces a short contiguous axis one row at a time: summing the 64 features of each of
# 1,536 rows takes about 7x as long as one elementwise pass over the same array, and taking their
# max about 10x. A sum over a run of axes of a contiguous array is a product with a vector of ones,
# which BLAS streams at memory speed: (rows, k) @ ones(k) for trailing axes, ones(m) @ (m, columns)
# for leading ones, ones(1, k) @ (before, k, after) for axes in between. A max over a short axis
# folds it in halves, each fold one vectorised np.maximum of two half-blocks (NumPy's own max wins
# from axes of ~256 on); the fold is ~3x faster when the axis is not the last, because each half is
# then a block of whole rows. Small arrays keep NumPy's call, cheaper than setting either up.
# CuPy's reductions are fast already.
FAST_REDUCE_MIN_SIZE = 1024
FOLD_MAX_BELOW_LENGTH = 256


def _fast_cpu_reduce(x, dims):
    return (device_of(x) == "cpu" and dims and x.size >= FAST_REDUCE_MIN_SIZE and x.dtype.kind == "f"
            and x.flags.c_contiguous and dims == tuple(range(dims[0], dims[-1] + 1)))


def sum_dims(x, dims):
    """x.sum(axis=dims, keepdims=True), dims a sorted tuple of axes."""
    if not _fast_cpu_reduce(x, dims):
        return x.sum(axis=dims, keepdims=True)
    kept = keep_dims_shape(x.shape, dims)
    before, k = math.prod(x.shape[:dims[0]]), math.prod(x.shape[d] for d in dims)
    if dims[-1] == x.ndim - 1:  # trailing axes: (rows, k) @ ones(k)
        return (x.reshape(-1, k) @ np.ones(k, x.dtype)).reshape(kept)
    if before == 1:  # leading axes: ones(m) @ (m, columns)
        return (np.ones(k, x.dtype) @ x.reshape(k, -1)).reshape(kept)
    return (np.ones((1, k), x.dtype) @ x.reshape(before, k, -1)).reshape(kept)  # one product per leading index


def mean_dims(x, dims):
    """x.mean(axis=dims, keepdims=True)."""
    return sum_dims(x, dims) / math.prod(x.shape[d] for d in dims)  # of nothing: 0 / 0 = NaN, as NumPy


def max_dims(x, dims):
    """x.max(axis=dims, keepdims=True); over one short axis on the CPU, by folding it in halves.
    Over no elements (a dim of size 0) it is -inf, max's identity, for a float x: softmax's and
    logsumexp's shift of an empty row (NumPy would raise)."""
    if x.size == 0 and x.dtype.kind == "f":  # (CuPy's max has no initial=)
        return xp_of(x).full(keep_dims_shape(x.shape, dims), -np.inf, dtype=x.dtype)
    if not (_fast_cpu_reduce(x, dims) and len(dims) == 1 and 1 < x.shape[dims[0]] < FOLD_MAX_BELOW_LENGTH):
        return x.max(axis=dims, keepdims=True)
    kept = keep_dims_shape(x.shape, dims)
    n = x.shape[dims[0]]
    top = x.reshape(math.prod(x.shape[:dims[0]]), n, -1)  # (before, n, after)
    while n > 1:  # fold: top[:, i] = max(top[:, i], top[:, i + half]); an odd last one joins [0]
        half = n // 2
        folded = np.maximum(top[:, :half], top[:, half:2 * half])
        if n % 2:
            np.maximum(folded[:, :1], top[:, 2 * half:], out=folded[:, :1])
        top, n = folded, half
    return top.reshape(kept)


def einsum(spec, *arrays):
    """xp.einsum with its contraction order planned (optimize=True): pairs of operands then go through
    tensordot, which BLAS (or cuBLAS) computes; without it NumPy loops over every index in C."""
    return xp_of(arrays[0]).einsum(spec, *arrays, optimize=True)


def ignore_overflow():
    """A context in which NumPy does not warn when a result overflows to +-inf (one that is meant to)."""
    return np.errstate(over="ignore")


def silent_float_errors():
    """A context in which NumPy does not warn about overflow, 0/0 or inf - inf (CuPy never does): for
    training, where a diverging run ends as a non-finite loss that stops it with a message of its own."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


ATOMIC_ADD_DTYPES = ("float16", "float32", "float64", "int32", "uint32", "uint64")  # what CUDA's atomicAdd adds


def scatter_add(target, indices, values):
    """target[indices] += values, where repeated indices add up (not overwrite). On the GPU the adds are
    CUDA's atomicAdd, which has no signed 64-bit or smaller integer form: int64 is added as uint64 (two's
    complement adds alike), bool and small integers in int32 and cast back (as NumPy wraps them)."""
    if device_of(target) != "cuda":
        np.add.at(target, indices, values)
    elif target.dtype == int64:
        cupyx.scatter_add(target.view(cupy.uint64), indices, cupy.asarray(values, dtype=int64).view(cupy.uint64))
    elif target.dtype.name in ATOMIC_ADD_DTYPES:
        cupyx.scatter_add(target, indices, values)
    elif target.dtype.itemsize < 4 and target.dtype.kind in "biu":  # bool, (u)int8, (u)int16
        wide = target.astype(int32)
        cupyx.scatter_add(wide, indices, cupy.asarray(values).astype(int32))
        target[...] = wide.astype(target.dtype)
    else:
        raise TypeError(f"scatter_add: no GPU adds for {target.dtype} (CUDA's atomicAdd takes {ATOMIC_ADD_DTYPES})")


def searchsorted_rows(rows, values):
    """For each row r of the 2-d arrays: the first index i with rows[r, i] > v, for each v in values[r]
    (rows[r] ascending): searchsorted(side="right") one row at a time, since NumPy's and CuPy's
    searchsorted take a single 1-d array to search."""
    xp = xp_of(rows)
    found = xp.empty(values.shape, dtype=int64)
    for r in range(rows.shape[0]):
        found[r] = xp.searchsorted(rows[r], values[r], side="right")
    return found


def keep_freed_memory():
    """Ask glibc to keep freed memory for reuse instead of returning it to the OS.

    A training step frees and reallocates the same large temporaries every time;
    by default glibc serves arrays over 128 KB with fresh mmap pages and unmaps them
    on free, so each step pays thousands of page faults (PyTorch's allocator caches
    instead). Raising the mmap and trim thresholds makes malloc recycle them.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: heap, not mmap, below 32 MB
            libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GB of freed heap
        except (OSError, AttributeError):  # not glibc: nothing to tune
            pass


keep_freed_memory()

_generators = {}
_seed = 0  # the last manual_seed's, which restart_generator starts from


def manual_seed(seed):
    """Seed every device's generator, so runs are reproducible."""
    global _seed
    _seed = seed
    _generators["cpu"] = np.random.default_rng(seed)
    if cuda_is_available():
        _generators["cuda"] = cupy.random.default_rng(seed)


def new_generator(device, seed):
    """A random generator of its own on a device, for mg.Generator."""
    return xp_for(device).random.default_rng(seed)


def generator(device="cpu", chosen=None):
    """The seeded random generator of a device (seed 0 until manual_seed is called), or the one an
    mg.Generator holds (`chosen`, as PyTorch's generator= arguments), which must be on that device."""
    device = check_device(device)
    if chosen is not None:
        if chosen.device != device:
            raise ValueError(f"a generator on {chosen.device} cannot draw numbers for {device}; make one with "
                             f"mg.Generator({str(device)!r})")
        return chosen.stream
    if device not in _generators:
        xp = xp_for(device)
        _generators[device] = xp.random.default_rng(0)
    return _generators[device]


def restart_generator(device, key):
    """Start a device's generator afresh, from the manual seed and key (an int, e.g. a training step).
    For the GPU, whose generator cannot be saved (CuPy: "random states cannot be serialized"): a
    checkpoint restarts it at its step, and a run resumed from that checkpoint restarts it the same
    way, so both draw the same numbers (dropout masks) from there on."""
    _generators[check_device(device)] = xp_for(device).random.default_rng([_seed, key])


def cpu_generator_state():
    """The CPU generator's state, as plain Python data (JSON-able): what a checkpoint saves so that
    the random draws after it (dropout masks) continue as if training had never stopped."""
    return generator("cpu").bit_generator.state


def set_cpu_generator_state(state):
    generator("cpu").bit_generator.state = state


class PeakMemory:
    """`with PeakMemory(device) as m: ...` then m.peak_bytes: the most memory the block
    had allocated at once, beyond what was allocated before it.

    CPU: NumPy reports its array allocations to tracemalloc. GPU: CuPy's memory pool
    keeps freed blocks for reuse, so the bytes it holds after the block (emptied
    before) are the block's high-water mark.
    """

    def __init__(self, device="cpu"):
        self.device, self.peak_bytes = check_device(device), 0

    def __enter__(self):
        if self.device == "cuda":
            pool = cupy.get_default_memory_pool()
            pool.free_all_blocks()
            self.before = pool.used_bytes()
        else:
            tracemalloc.start()
        return self

    def __exit__(self, *exc):
        if self.device == "cuda":
            self.peak_bytes = cupy.get_default_memory_pool().total_bytes() - self.before
        else:
            self.peak_bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
