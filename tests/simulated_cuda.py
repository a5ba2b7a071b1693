"""A simulated CUDA device: a fake `cupy` (and the bits of `cupyx` backend.py uses) on NumPy.

    pytest --simulated-cuda                                   # every "cuda" test, on the fake device
    python -m tests.simulated_cuda -m models.cli compare --device cuda --steps 2   # any command on it
    python -m tests.simulated_cuda benchmarks/bench_gpu.py --quick               # any script on it

No GPU has ever run the "cuda" code path, and a GPU session is short: a bug like an array made
with NumPy while the model lives on the GPU, a host/device mix, an implicit `np.asarray` of a
device array, or a mask drawn from the wrong device's generator should be found here, on the CPU.
Installed (see `install`, or `pytest --simulated-cuda`), `minigrad.backend.cupy` is this module's
`cupy`, so `mg.cuda_is_available()` is True and every "cuda" test runs on the fake device.

What it simulates, as CuPy does it (checked against CuPy's source and docs):
- a device array is its own type, `cupy.ndarray`, not an np.ndarray subclass; it holds a NumPy
  array (its "device memory") and computes with NumPy;
- mixing it with a host np.ndarray in an operator, a ufunc or a cupy function is a TypeError
  ("Unsupported type"), and so is `device_array + t` for any t with an `__array_ufunc__` of its own
  (a minigrad Tensor: CuPy defers to t.__radd__ only when t.__array_ufunc__ is None); Python and
  NumPy scalars are fine; `np.asarray(device_array)` is a TypeError ("Implicit conversion to a
  NumPy array is not allowed...");
- host -> device only through `cupy.asarray` / `cupy.array` (and, as CuPy allows, NumPy index
  arrays and values in advanced-index assignment); device -> host through `cupy.asnumpy`, `.get()`,
  and the syncing conversions `.item()`, `.tolist()`, `float()`, `int()`, `bool()`;
- `x[...] = host_array` (basic indexing) is CuPy's ValueError "non-scalar numpy.ndarray cannot be
  used for fill";
- reductions and integer indexing give 0-d device arrays, never NumPy scalars (so a result that
  reaches json or a host array without `.item()` fails here as on a GPU);
- `.base` of a view is the array owning the memory (identity kept), `.flags` has only
  c_contiguous, f_contiguous and owndata (no `writeable`), and `broadcast_to` views are writable;
- `cupyx.scatter_add` with integer-array indices accepts only the dtypes CUDA's atomicAdd does
  (float16/32/64, int32, uint32, uint64: not int64);
- `cupy.where(condition, ...)` needs an array condition (CuPy calls `condition.astype`; NumPy's takes
  a Python bool);
- `cupy.random.default_rng(seed)` is a generator of device arrays with its own stream (not
  NumPy's PCG64 draws for the same seed), without NumPy's `bit_generator.state`.

Keywords NumPy's reductions have and CuPy's lack (initial=, where=) are refused, as CuPy does.

What it cannot catch: kernel speed and synchronisation costs, the float32 rounding of real GPU
kernels (different summation orders, TF32, fused multiply-adds), out-of-memory and memory-pool
behaviour (the pool reports 0 bytes), and NumPy's keyword arguments that CuPy's functions lack
(cupy.NAME is NumPy's NAME for each name CuPy 14.2 has, listed in tests/cupy_names.txt; other
names are refused). Out-of-range integer-array indices wrap around, read or written, as in
CuPy (NumPy raises): x[[5]] of 3 rows is row 2.
"""
import collections
import types
import weakref
from pathlib import Path

import numpy as np
import scipy.special

NAME = "Simulated CUDA device (NumPy)"
IMPLICIT_CONVERSION = ("Implicit conversion to a NumPy array is not allowed. "
                       "Please use `.get()` to construct a NumPy array explicitly.")


# ---- moving values between the host and the fake device ------------------------------------------
def to_host(value, allow_host=False):
    """The NumPy arrays inside value (an argument of a cupy call), refusing host arrays as CuPy does
    unless allow_host (the places where CuPy copies host data to the device itself)."""
    if isinstance(value, ndarray):
        return value._host
    if isinstance(value, np.ndarray):
        if not allow_host:
            raise TypeError(f"Unsupported type {type(value)}: a host NumPy array cannot meet a device "
                            "array (copy it with cupy.asarray first)")
        return value
    if getattr(value, "__array_ufunc__", None) is not None:  # another array-like type (a minigrad Tensor)
        # CuPy's operators hand `device_array + other` to other's reflected operator only when
        # other.__array_ufunc__ is None (cupy/_core/core.pyx, _should_use_rop); else its kernels refuse it
        raise TypeError(f"Unsupported type {type(value)}")
    if isinstance(value, (list, tuple)):
        return type(value)(to_host(v, allow_host) for v in value)
    if isinstance(value, dict):
        return {k: to_host(v, allow_host) for k, v in value.items()}
    return value


def to_device(result):
    """A NumPy result as device arrays: arrays wrapped, NumPy scalars as 0-d arrays (CuPy's
    reductions and integer indexing return arrays, not scalars); anything else as it is."""
    if isinstance(result, np.ndarray):
        return wrap(result)
    if isinstance(result, np.generic):
        return wrap(np.asarray(result))
    if isinstance(result, (list, tuple)):
        return type(result)(to_device(r) for r in result)
    return result


# Every time the host waits for the device to read a value back: on a GPU each is a synchronisation
# that stops the queue of kernels, so a training step should have a handful, not one per op.
host_reads = collections.Counter()


# Each array that owns its memory has one wrapper, found again by its NumPy array's id, so that a
# view's `.base` is the very object that owns the memory (backend.memory_owner compares by `is`).
_owners = weakref.WeakValueDictionary()


def wrap(host):
    """The device array showing the NumPy array host (the existing wrapper if host already has one)."""
    root = host
    while isinstance(root.base, np.ndarray):
        root = root.base
    owner = _owners.get(id(root))
    if owner is None or owner._host is not root:  # (a dead wrapper's id may be reused)
        owner = ndarray(root, None)
        _owners[id(root)] = owner
    return owner if root is host else ndarray(host, owner)


def index_parts(index):
    """The parts of an index, one per indexed dim (x[i] is x[(i,)])."""
    return index if isinstance(index, tuple) else (index,)


def host_index(index):
    """An index's NumPy form (CuPy copies host index data to the device itself; a list is one array)."""
    index = to_host(index, allow_host=True)
    return np.asarray(index) if isinstance(index, list) else index


def wrapped_around(index, shape):
    """index with its integer arrays taken modulo the size of the dim each picks from: how CuPy's
    gather kernel reads an out-of-range index (it never raises)."""
    parts, dim, out = index_parts(index), 0, []
    picks = [0 if p is None else p.ndim if isinstance(p, np.ndarray) and p.dtype == np.bool_ else 1
             for p in parts if p is not Ellipsis]
    for part in parts:
        if part is Ellipsis:
            dim += len(shape) - sum(picks)
        elif part is None:
            pass
        elif isinstance(part, np.ndarray) and part.dtype == np.bool_:
            dim += part.ndim
        else:
            if isinstance(part, np.ndarray) and part.dtype.kind in "iu" and dim < len(shape) and shape[dim]:
                part = part % shape[dim]
            dim += 1
        out.append(part)
    return tuple(out) if isinstance(index, tuple) else out[0]


def is_advanced(index):
    """True when an index gathers with arrays or lists (CuPy then copies host index data itself)."""
    return any(isinstance(p, (ndarray, np.ndarray, list)) for p in index_parts(index))


class Flags:
    """CuPy's flags: only these three (no `writeable`: device memory is always writable)."""

    def __init__(self, host, owndata):
        self.c_contiguous, self.f_contiguous = host.flags.c_contiguous, host.flags.f_contiguous
        self.owndata = owndata


class ndarray(np.lib.mixins.NDArrayOperatorsMixin):
    """An array on the fake device. Operators come from NumPy's mixin, which calls the ufuncs,
    which call __array_ufunc__ below: every operation passes the host/device check there."""

    def __init__(self, host, owner):
        self._host = host  # the "device memory"
        self._owner = owner  # the array owning that memory when this is a view, else None

    # ---- what it is
    shape = property(lambda self: self._host.shape)
    dtype = property(lambda self: self._host.dtype)
    ndim = property(lambda self: self._host.ndim)
    size = property(lambda self: self._host.size)
    nbytes = property(lambda self: self._host.nbytes)
    strides = property(lambda self: self._host.strides)
    base = property(lambda self: self._owner)
    flags = property(lambda self: Flags(self._host, self._owner is None))
    T = property(lambda self: wrap(self._host.T))

    def __getattr__(self, name):
        """Methods (reshape, astype, sum, ...) run NumPy's on the device memory, with the same
        host/device check as every cupy function. Special names are never delegated: NumPy would
        read `__array_interface__` and convert the array to the host behind CuPy's back."""
        if name.startswith("__"):
            raise AttributeError(name)
        method = getattr(self._host, name)
        if not callable(method):
            return to_device(method)

        def device_method(*args, **kwargs):
            refuse_numpy_only_keywords(name, kwargs)
            return to_device(method(*to_host(args), **to_host(kwargs)))

        return device_method

    # ---- leaving the device: explicit, or by the conversions that synchronise (counted in host_reads)
    def get(self):
        host_reads["get"] += 1
        return self._host.copy()

    def item(self):
        host_reads["item"] += 1
        return self._host.item()

    def tolist(self):
        host_reads["tolist"] += 1
        return self._host.tolist()

    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT_CONVERSION)

    def __float__(self):
        host_reads["float"] += 1
        return float(self._host)

    def __int__(self):
        host_reads["int"] += 1
        return int(self._host)

    def __bool__(self):
        host_reads["bool"] += 1
        return bool(self._host)

    def __len__(self):
        return len(self._host)

    def __iter__(self):  # as CuPy: the rows, as device arrays
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return repr(self._host)

    def __str__(self):
        return str(self._host)

    def __format__(self, spec):
        return format(self._host, spec)

    def __deepcopy__(self, memo):  # as CuPy's: a copy on the device (a prepared model is a deepcopy)
        return self.copy()

    # ---- NumPy protocols: compute on the device memory, refuse host arrays
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        result = getattr(ufunc, method)(*to_host(inputs), **to_host(kwargs))
        if out is not None:  # as NumPy: the out= arrays themselves (so `x += y` keeps x)
            return out[0] if len(out) == 1 else out
        return to_device(result)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.broadcast_to:
            return broadcast_to(*args, **kwargs)
        return to_device(func(*to_host(args), **to_host(kwargs)))

    # ---- indexing: CuPy copies NumPy index arrays to the device itself
    def __getitem__(self, index):
        if any(isinstance(p, ndarray) and p.dtype == np.bool_ for p in index_parts(index)):
            host_reads["boolean mask"] += 1  # CuPy must count the Trues before it can allocate the result
        return to_device(self._host[wrapped_around(host_index(index), self.shape)])

    def __setitem__(self, index, value):
        if isinstance(value, np.ndarray) and value.ndim and not is_advanced(index):
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")  # CuPy's message
        self._host[wrapped_around(host_index(index), self.shape)] = to_host(value, allow_host=True)


# ---- the cupy module ------------------------------------------------------------------------------
def asarray(a, dtype=None, order=None):
    """Host data (lists, scalars, NumPy arrays) copied to the device; a device array kept as it is."""
    if isinstance(a, ndarray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    return wrap(np.array(to_host(a, allow_host=True), dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K"):
    if isinstance(obj, ndarray) and not copy:
        return asarray(obj, dtype)
    return wrap(np.array(to_host(obj, allow_host=True), dtype=dtype, order=order))


def asnumpy(a):
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def broadcast_to(a, shape):
    """A broadcast view, writable as CuPy's are (NumPy's is read-only): writing through it is a bug
    that the GPU would not report, and here neither."""
    host = to_host(a)
    view = np.broadcast_to(host, shape)
    return wrap(np.lib.stride_tricks.as_strided(host, view.shape, view.strides, writeable=True))


class Ufunc:
    """A NumPy ufunc as cupy's: host arrays refused, results on the device (methods such as .at too)."""

    def __init__(self, ufunc):
        self.ufunc, self.__name__ = ufunc, ufunc.__name__

    def __call__(self, *args, **kwargs):
        return device_call(self.ufunc, args, kwargs)

    def __getattr__(self, name):
        method = getattr(self.ufunc, name)
        return (lambda *args, **kwargs: device_call(method, args, kwargs)) if callable(method) else method


NUMPY_ONLY_KEYWORDS = ("initial", "where")  # of the reductions: CuPy's max, sum, ... have neither


def refuse_numpy_only_keywords(name, kwargs):
    for keyword in NUMPY_ONLY_KEYWORDS:
        if keyword in kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument '{keyword}'")


def device_call(function, args, kwargs):
    refuse_numpy_only_keywords(getattr(function, "__name__", "function"), kwargs)
    out = kwargs.get("out")
    result = function(*to_host(args), **to_host(kwargs))
    if out is not None:
        return out
    return to_device(result)


CUPY_NAMES = frozenset(line for line in (Path(__file__).parent / "cupy_names.txt").read_text().splitlines()
                       if line and not line.startswith("#"))


def _numpy_function(name):
    """cupy.NAME: NumPy's NAME on device arrays (types, dtypes and constants as NumPy's own),
    for the names CuPy has: code calling a NumPy function that CuPy lacks fails here too."""
    if name not in CUPY_NAMES:  # (module machinery such as __path__ and __file__ included)
        raise AttributeError(f"module 'cupy' has no attribute {name!r}")
    attribute = getattr(np, name)
    if isinstance(attribute, np.ufunc):
        return Ufunc(attribute)
    if isinstance(attribute, type) or not callable(attribute):
        return attribute
    return lambda *args, **kwargs: device_call(attribute, args, kwargs)


def where(condition, *values):
    """cupy.where: its condition must be an array (CuPy calls condition.astype), where NumPy's may be
    a Python bool (numpy.where(2.0 > 0, 2.0, 1) works; CuPy's raises AttributeError)."""
    if not isinstance(condition, ndarray):
        raise AttributeError(f"{type(condition).__name__!r} object has no attribute 'astype' (cupy.where needs "
                             "an array condition)")
    return device_call(np.where, (condition, *values), {})


class Generator:
    """cupy.random.Generator: draws on the device, from a stream of its own (CuPy's XORWOW, not
    NumPy's PCG64: the same seed gives other numbers than the CPU's generator)."""

    def __init__(self, seed):
        self._rng = np.random.Generator(np.random.Philox(seed))
        self.bit_generator = types.SimpleNamespace()  # CuPy's keeps its state on the device: no .state

    def random(self, size=None, dtype=np.float64):
        return wrap(np.asarray(self._rng.random(size, dtype=dtype)))

    def standard_normal(self, size=None, dtype=np.float64):
        return wrap(np.asarray(self._rng.standard_normal(size, dtype=dtype)))


class MemoryPool:
    """cupy.get_default_memory_pool(): nothing is pooled here, so every count is 0."""

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


_pool = MemoryPool()


class Device:
    def __init__(self, device_id=0):
        self.id = device_id


def scatter_add(a, slices, value):
    """cupyx.scatter_add: a[slices] += value with repeated indices adding up; with integer-array
    indices only for the dtypes CUDA's atomicAdd supports, as CuPy checks."""
    if not isinstance(a, ndarray):
        raise TypeError(f"scatter_add needs a device array, got {type(a)}")
    gathers = any(isinstance(p, (ndarray, np.ndarray, list)) and np.asarray(to_host(p, True)).dtype.kind in "iu"
                  for p in index_parts(slices))
    if gathers and a.dtype not in (np.float16, np.float32, np.float64, np.int32, np.uint32, np.uint64):
        raise TypeError("scatter_add only supports int32, float16, float32, float64, uint32, uint64, as data type")
    np.add.at(a._host, to_host(slices, allow_host=True), to_host(value, allow_host=True))


cupy = types.ModuleType("cupy", "A simulated CuPy on NumPy (tests/simulated_cuda.py)")
cupy.SIMULATED = True  # so that a benchmark run on it never records its timings as a GPU's
cupy.ndarray, cupy.asarray, cupy.array, cupy.asnumpy, cupy.broadcast_to = ndarray, asarray, array, asnumpy, broadcast_to
cupy.where = where
cupy.get_default_memory_pool = lambda: _pool
cupy.random = types.SimpleNamespace(default_rng=Generator)
cupy.cuda = types.SimpleNamespace(
    Device=Device,
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1,
                                  getDeviceProperties=lambda device_id: {"name": NAME.encode()}))
cupy.__getattr__ = _numpy_function  # everything else: NumPy's, on device arrays (PEP 562)

cupyx = types.ModuleType("cupyx", "A simulated cupyx (tests/simulated_cuda.py)")
cupyx.scatter_add = scatter_add
cupyx.scipy = types.SimpleNamespace(special=types.SimpleNamespace(
    erf=lambda x: wrap(np.asarray(scipy.special.erf(to_host(x))))))


def install(monkeypatch):
    """Make minigrad's "cuda" the simulated device, for as long as monkeypatch lasts."""
    from minigrad import backend
    monkeypatch.setattr(backend, "cupy", cupy)
    monkeypatch.setattr(backend, "cupyx", cupyx, raising=False)  # absent when CuPy is not installed
    monkeypatch.delitem(backend._generators, "cuda", raising=False)  # a real GPU's generator, if any


if __name__ == "__main__":  # run a module (-m NAME) or a script with minigrad's "cuda" on the fake device
    import runpy
    import sys

    import pytest

    install(pytest.MonkeyPatch())
    target, *args = sys.argv[1:]
    if target == "-m":
        target, *args = args
        sys.argv = [target, *args]
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:  # as `python script.py` does: the script's folder first on the path (its sibling imports)
        sys.argv, sys.path[0] = [target, *args], str(Path(target).resolve().parent)
        runpy.run_path(target, run_name="__main__")
