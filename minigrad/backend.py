"""The one place that knows about NumPy and CuPy.

Every other file asks this module for `xp`, the array module of a device:
"cpu" -> numpy, "cuda" -> cupy. Both speak the same API, so the engine is
written once. Random numbers come from one seeded generator per device, so a
run is reproducible.
"""
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


def check_device(device):
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    if device == "cuda" and not cuda_is_available():
        raise RuntimeError(CUDA_HELP)
    return device


def xp_for(device):
    """The array module (numpy or cupy) for a device name."""
    return cupy if check_device(device) == "cuda" else np


def device_of(array):
    return "cuda" if cupy is not None and isinstance(array, cupy.ndarray) else "cpu"


def xp_of(array):
    return cupy if device_of(array) == "cuda" else np


def is_array(value):
    return isinstance(value, np.ndarray) or (cupy is not None and isinstance(value, cupy.ndarray))


def as_array(data, dtype=None, device="cpu"):
    """Turn nested lists, scalars or arrays into an array on `device`.

    Python floats become float32 (the default dtype) and Python ints int64;
    an existing array keeps its dtype unless one is given.
    """
    xp = xp_for(device)
    if device == "cpu" and device_of(data) == "cuda":
        data = cupy.asnumpy(data)
    if dtype is None and not is_array(data):
        kind = np.asarray(data).dtype.kind
        dtype = DEFAULT_DTYPE if kind in "fc" else int64 if kind in "iu" else None
    return xp.asarray(data, dtype=None if dtype is None else dtype_of(dtype))


def to_numpy(array):
    """A host NumPy array, whatever device the array lives on."""
    return cupy.asnumpy(array) if device_of(array) == "cuda" else np.asarray(array)


def dtype_of(dtype):
    """Normalise "float32", np.float32 or mg.float32 to a NumPy dtype."""
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; expected float32, float64, int64 or bool") from None


def is_floating(dtype):
    return np.dtype(dtype).kind == "f"  # (np.issubdtype is 10x slower, and this runs on every op)


def erf(array):
    """The error function, accurate to float64 (used by the exact GELU)."""
    return cupyx.scipy.special.erf(array) if device_of(array) == "cuda" else scipy.special.erf(array)


def scatter_add(target, indices, values):
    """target[indices] += values, where repeated indices add up (not overwrite)."""
    if device_of(target) == "cuda":
        cupyx.scatter_add(target, indices, values)
    else:
        np.add.at(target, indices, values)


_generators = {}


def manual_seed(seed):
    """Seed every device's generator, so runs are reproducible."""
    _generators["cpu"] = np.random.default_rng(seed)
    if cuda_is_available():
        _generators["cuda"] = cupy.random.default_rng(seed)


def generator(device="cpu"):
    """The seeded random generator of a device (seed 0 until manual_seed is called)."""
    if device not in _generators:
        xp = xp_for(device)
        _generators[device] = xp.random.default_rng(0)
    return _generators[device]


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
