"""Tensor: an array plus the bookkeeping reverse-mode autodiff needs.

A Tensor made by an op remembers the op's Context (`_ctx`): which op, which
inputs, which arrays it saved, so the tensors form a graph from the leaves
(parameters, data) to the result. `backward()` hands that graph to the engine
(minigrad/engine.py), which walks it back to the leaves with the chain rule and
adds each leaf's gradient into its `.grad`. The rest of this file is the
PyTorch-style surface: properties, operators and methods that call the ops.
"""
import functools
import math
import warnings
from typing import NamedTuple

from minigrad import backend
from minigrad.grad_mode import is_grad_enabled
from minigrad.hooks import add_hook

def device_and_dtype(name, args, device=None, dtype=None):
    """(Device or None, NumPy dtype or None) from what .to() takes, for tensors and modules:
    to("cuda"), to(mg.float64), to("cuda", mg.float64), to(device=..., dtype=...), to(other_tensor)
    (its device and dtype); each named once."""
    found = {"device": [], "dtype": []}
    for each in args:
        if isinstance(each, Tensor):
            found["device"].append(each.device)
            found["dtype"].append(each.dtype)
        elif each is not None:
            target = backend.device_or_dtype(each)
            found["device" if isinstance(target, str) else "dtype"].append(target)
    if device is not None:
        found["device"].append(backend.check_device(device))
    if dtype is not None:
        found["dtype"].append(backend.dtype_of(dtype))
    for kind, values in found.items():
        if len(values) > 1:
            raise TypeError(f"{name}: {kind} given more than once, got {', '.join(map(str, values))}")
    return (found["device"] or [None])[0], (found["dtype"] or [None])[0]


def cuda_device(device=None):
    """.cuda(device)'s device: None, 0 or a name ("cuda", "cuda:0", mg.device): minigrad's one GPU."""
    if device is None:
        return "cuda"
    return f"cuda:{device}" if isinstance(device, int) else device


def correction_of(unbiased, correction):
    """var's and std's divisor n - c: c from correction= where given, else 1 if unbiased, 0 if not."""
    if correction is not None and unbiased is not True:
        raise TypeError("var/std: give unbiased or correction, not both")
    return (1 if unbiased else 0) if correction is None else correction


def accepts_keepdims(reduction):
    """PyTorch's reductions also take NumPy's spelling, keepdims= for keepdim= (makemore's
    P.sum(1, keepdims=True)): the same here."""
    @functools.wraps(reduction)
    def reduce(x, *args, keepdims=None, **kwargs):
        if keepdims is not None:
            kwargs["keepdim"] = keepdims
        return reduction(x, *args, **kwargs)
    return reduce


# ufunc name -> the Tensor method Python calls for `number_or_array OP tensor` (see __array_ufunc__)
REFLECTED = {"add": "__radd__", "subtract": "__rsub__", "multiply": "__rmul__", "divide": "__rtruediv__",
             "power": "__rpow__", "matmul": "__rmatmul__", "floor_divide": "__rfloordiv__", "remainder": "__rmod__",
             "less": "__gt__", "less_equal": "__ge__", "greater": "__lt__", "greater_equal": "__le__",
             "equal": "__eq__", "not_equal": "__ne__"}


class ValuesIndices(NamedTuple):
    """What max and min along one dim (and topk and sort) return, as PyTorch's torch.return_types.max:
    the values (which carry the gradient) and the indices where they sit (the first on ties). On ties
    max's and min's gradient is split evenly among the tied elements; PyTorch's max(dim) gives it all
    to the returned index (both are valid subgradients)."""
    values: "Tensor"
    indices: "Tensor"


class Tensor:
    """An n-dimensional array that can record how it was computed."""

    __hash__ = object.__hash__  # == is elementwise; hashing stays by identity

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        """What NumPy does when one of its arrays or numbers meets a Tensor.

        - `np.float64(2) * t`, `array + t`: the tensor's own operator (t.__rmul__, t.__radd__), so the
          result is a tensor, as if NumPy had stepped aside (not an object array of tensors).
        - `W.data += -lr * W.grad`, the weight update of micrograd and makemore: W.data is the NumPy
          array itself here, and it is updated in place with the tensor's values. No graph is made,
          as with PyTorch's .data.
        Anything else (np.exp(t), ...) is a TypeError that names what to use instead (t.exp())."""
        if out is not None and method == "__call__" and all(backend.is_array(o) for o in out):
            return ufunc(*(x.data if isinstance(x, Tensor) else x for x in inputs), out=out, **kwargs)
        if method == "__call__" and len(inputs) == 2 and inputs[1] is self and not kwargs and out is None \
                and ufunc.__name__ in REFLECTED:
            return getattr(self, REFLECTED[ufunc.__name__])(inputs[0])
        # np.exp(t) and the like: NumPy would compute on the values and drop the graph, so say what works
        call = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        name = {"absolute": "abs", "true_divide": "div"}.get(ufunc.__name__, ufunc.__name__)
        instead = f"t.{name}(...)" if method == "__call__" and hasattr(Tensor, name) else "the tensor's own methods"
        raise TypeError(f"{call} on a minigrad Tensor: NumPy's functions cannot record it in the graph, so its "
                        f"gradient would be lost; use {instead}, or {call}(t.numpy(){', ...' * (ufunc.nin > 1)}) "
                        "for plain numbers without a gradient")

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        if device is None:  # an array stays where it is; lists and scalars go to the CPU
            device = backend.device_of(data)
        self.data = backend.as_array(data, dtype=dtype, device=device)
        self._grad = None
        self._ctx = None
        self._version_counter = [0]  # in-place changes of this memory; a view shares its base's list
        self._retains_grad = False
        self._hooks = {}  # register_hook's: handle -> hook, in the order registered
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_array(cls, array):
        """Wrap an array an op produced, without copying or converting it."""
        out = cls.__new__(cls)
        out.data, out._grad, out._ctx = array, None, None
        out._version_counter, out._retains_grad, out._requires_grad = [0], False, False
        out._hooks = {}
        return out

    @property
    def _version(self):
        """How many times this tensor's memory was changed in place (by it or by any view of it):
        an op that saved it for backward compares this number to catch a gradient gone stale."""
        return self._version_counter[0]

    # ---- what it is -------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        """The graph node that made this tensor (None for a leaf, or where no graph was recorded), as
        PyTorch's: print it (<MulBackward0 object at ...>) or walk the graph by its .next_functions."""
        return self._ctx

    @property
    def is_cuda(self):
        return self.device == "cuda"

    def is_contiguous(self):
        """Whether the elements lie in memory in row-major order with no gaps (a transposed or expanded
        view does not; .contiguous() gives a copy that does)."""
        return bool(self.data.flags.c_contiguous)

    def stride(self, dim=None):
        """How many elements apart in memory neighbours along each dim (or along dim) are, as PyTorch
        counts them (NumPy's strides count bytes): (3, 1) for a (2, 3) tensor, (1, 3) for its .T."""
        strides = tuple(step // self.data.itemsize for step in self.data.strides)
        return strides if dim is None else strides[backend.positive_dim(dim, self.ndim)]

    def element_size(self):
        """Bytes per element: 4 for float32, 8 for float64 and int64."""
        return self.data.itemsize

    def numel(self):
        return int(self.data.size)

    nelement = numel  # PyTorch's older name

    def size(self, dim=None):
        """The shape, or the length of one dim (x.size(-1)), as PyTorch's x.size()."""
        if dim is None:
            return self.shape
        if self.ndim == 0:
            raise IndexError(f"size: a 0-d tensor has no dim {dim} (its shape is ())")
        return self.shape[backend.positive_dim(dim, self.ndim)]

    def dim(self):
        return self.ndim

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor; it holds one value: use .item()")
        return self.shape[0]

    def __iter__(self):  # the rows; without it, list() of a 0-d tensor would be [] (via __getitem__)
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        """As PyTorch prints a tensor: its values, its dtype where it is not the default one (float32,
        int64, bool), its device where it is the GPU, and grad_fn (an op's result) or requires_grad (a leaf)."""
        parts = [backend.array_text(self.data, prefix="tensor(")]
        if self.data.size == 0 and self.ndim != 1:  # "[]" alone would not say (2, 0) from (0, 3)
            parts.append(f"size={tuple(self.shape)}")
        if self.dtype not in (backend.DEFAULT_DTYPE, backend.int64, backend.bool_):
            parts.append(f"dtype={self.dtype.name}")
        if self.device == "cuda":
            parts.append("device=cuda")
        if self._ctx is not None:
            parts.append(f"grad_fn=<{self._ctx.name()}>")
        elif self.requires_grad:
            parts.append("requires_grad=True")
        return f"tensor({', '.join(parts)})"

    # ---- leaving the graph -------------------------------------------------
    def numpy(self):
        """The values as a host NumPy array: on the CPU the tensor's own memory, and read-only where the
        tensor requires grad, since a write there would slip past the in-place check and spoil its
        gradient (PyTorch refuses numpy() on such a tensor; change it under mg.no_grad() instead). A
        tensor that needs no gradient stays writable, as in PyTorch, even where an op saved it for a
        backward still to come. A copy when the tensor is on the GPU."""
        values = backend.to_numpy(self.data)
        if self.requires_grad and values is self.data:
            values = values.view()
            values.flags.writeable = False
        return values

    def __array__(self, dtype=None, copy=None):  # np.asarray(t), np.testing on tensors: the values, not an object array
        values = self.numpy()
        if dtype is not None:
            return values.astype(dtype)
        return values.copy() if copy else values  # np.array(t) asks for a copy

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def __float__(self):  # float(loss), as in PyTorch: the one element's value
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):  # d[i:i + n] with i from an integer tensor (a batch's start), as in PyTorch
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(f"only an integer tensor of one element can be an index, got dtype "
                            f"{self.dtype.name} and shape {self.shape}")
        return int(self.item())

    def __format__(self, spec):  # f"{loss:.4f}": a 0-d tensor formats as its value, as in PyTorch
        return format(self.item(), spec) if self.ndim == 0 else object.__format__(self, spec)

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same values, cut from the graph (shares memory, never requires grad)."""
        out = Tensor._from_array(self.data)
        out._version_counter = self._version_counter  # same memory: an in-place change shows in both
        return out

    def detach_(self):
        """This tensor cut from its graph, in place: a leaf that does not require grad."""
        self._ctx, self._requires_grad = None, False
        return self

    def is_floating_point(self):
        return backend.is_floating(self.dtype)

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad):  # x.requires_grad = True: the same checks as requires_grad_
        self.requires_grad_(requires_grad)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not backend.is_floating(self.dtype):
            raise TypeError(
                f"only floating-point tensors can require grad, got dtype {self.dtype.name}; "
                "integer tensors hold indices and labels"
            )
        if not requires_grad and self._ctx is not None:  # the op that made it would still send it gradients
            raise RuntimeError(
                "requires_grad can only be switched off on a leaf tensor; this one was computed by "
                f"{self._ctx.name()}: use x.detach() for its values without the graph"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self):
        """d(loss)/d(self) after backward(): filled on leaves that require grad and on tensors that
        called retain_grad(), None before. Read on any other tensor an op computed, it warns, as
        PyTorch does: backward() never fills it there, and a silent None looks like a lost gradient.
        A property for that one check; the optimizers read p.grad of every parameter every step, so
        a gradient that is there costs one attribute read and one comparison."""
        grad = self._grad
        if grad is None and self._ctx is not None and not self._retains_grad:
            warnings.warn(f"reading .grad of a tensor that is not a leaf (it was computed by {self._ctx.name()}): "
                          "backward() fills .grad only on leaf tensors, made with requires_grad=True such as "
                          "parameters, so it is None here. Call .retain_grad() on this tensor before backward() "
                          "to keep its gradient, or read .grad of the leaf it was computed from (a tensor made "
                          "as mg.randn(3, requires_grad=True) * 0.1 is the product, not a leaf: write "
                          "(mg.randn(3) * 0.1).requires_grad_())", UserWarning, stacklevel=2)
        return grad

    @grad.setter
    def grad(self, grad):  # p.grad = None, or a tensor of p's shape (Module.to moves it with p)
        self._grad = grad

    def retain_grad(self):
        """Also keep .grad on this intermediate (non-leaf) tensor after backward()."""
        self._retains_grad = True
        return self

    def to(self, *args, device=None, dtype=None, non_blocking=False, copy=False):
        """A copy on another device ("cpu", "cuda", "cuda:0" or an mg.device), or a cast to a dtype,
        or both: x.to("cuda", mg.float64), x.to(device="cuda", dtype=mg.float64). Already on that
        device and of that dtype, it is self, not a copy, as in PyTorch (so an in-place change of
        the result changes x: call .clone() for a copy). A move between devices and a cast between
        float dtypes are differentiable (the gradient goes back to x's device and dtype), so the copy of
        a leaf that requires grad is not a leaf, as in PyTorch: create a tensor on its device instead
        (mg.randn(3, device="cuda", requires_grad=True)). A cast to an integer or bool dtype leaves the graph.
        x.to(other) takes other's device and dtype; copy=True always gives a new tensor; non_blocking
        is accepted and ignored (each copy here completes before it returns)."""
        device, dtype = device_and_dtype("to", args, device, dtype)
        out = self
        if device is not None and device != self.device:
            out = ops.to_device(self, device)
        if dtype is not None and dtype != out.dtype:
            out = ops.cast(out, dtype)
        return ops.clone(self) if copy and out is self else out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        """On the GPU; device may be None, 0, "cuda", "cuda:0" or mg.device("cuda"), all the one GPU."""
        return self.to(cuda_device(device))

    # the dtype casts of PyTorch, as .to(dtype)
    def float(self):
        return self.to(backend.float32)

    def double(self):
        return self.to(backend.float64)

    def long(self):
        return self.to(backend.int64)

    def int(self):
        return self.to(backend.int32)

    def bool(self):
        return self.to(backend.bool_)

    def type_as(self, other):
        """A cast to other's dtype (between float dtypes the gradient flows back, cast), as .to(other.dtype)."""
        return self.to(other.dtype)

    # ---- backward ------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=False, *, grad=None):
        """Add d(self)/d(leaf) into .grad of every leaf this tensor depends on (gradients
        accumulate: clear them between steps).

        On a scalar, gradient defaults to 1. On anything else, pass gradient= (the
        gradient g of some scalar loss with respect to this tensor, PyTorch's name; grad=,
        the name minigrad's design gave it, is the same): each leaf then gets the
        vector-Jacobian product g . d(self)/d(leaf).
        """
        from minigrad.engine import backpropagate  # here: the engine imports Tensor

        if grad is not None:
            if gradient is not None:
                raise TypeError("backward: gradient= and grad= are two names for one argument; pass one")
            gradient = grad

        def deliver(node, node_grad):  # leaves, and the tensors asked to keep theirs (retain_grad)
            if node._ctx is None or node._retains_grad:
                node._accumulate_grad(node_grad)

        backpropagate(self, gradient, retain_graph, deliver)

    def register_hook(self, hook):
        """Have backward (and mg.autograd.grad) call hook(grad) with this tensor's whole gradient,
        once every op that used the tensor has passed its share back. If the hook returns a tensor,
        that replaces the gradient: it flows on to the inputs, and on a leaf it is what lands in
        .grad. The hook should not change its argument in place (the array may be shared with other
        gradients). Returns a handle: handle.remove() takes the hook off again."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return add_hook(self._hooks, hook, "register_hook")

    def _run_hooks(self, grad):
        """grad after each hook in turn (a hook returning None leaves it as it is)."""
        for hook in list(self._hooks.values()):  # a copy: a hook may remove itself
            replaced = hook(Tensor._from_array(grad))
            if replaced is None:
                continue
            if not isinstance(replaced, Tensor) or (replaced.shape, replaced.dtype) != (self.shape, self.dtype):
                got = (f"shape {replaced.shape} and dtype {replaced.dtype}" if isinstance(replaced, Tensor)
                       else type(replaced).__name__)
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned {got} for the gradient of "
                                   f"a tensor of shape {self.shape} and dtype {self.dtype}; return a tensor of "
                                   "that shape and dtype, or None to keep it")
            grad = replaced.data
        return grad

    def _forget_grad(self, set_to_none=True):
        """What zero_grad does to each parameter: no gradient (None), or zeros (not grad * 0, which
        would keep a NaN)."""
        if set_to_none or self._grad is None:
            self._grad = None
        else:
            self._grad = Tensor._from_array(backend.xp_of(self._grad.data).zeros_like(self._grad.data))

    def _accumulate_grad(self, grad):
        # a fresh, row-major array: op gradients may alias each other (add passes grad through),
        # and a transposed one would make every optimizer pass over it strided
        if self._grad is None:
            self._grad = Tensor._from_array(grad.astype(self.dtype, order="C", copy=True))
        else:
            self._grad = Tensor._from_array(self._grad.data + grad)

    # ---- in-place updates (optimizers, initialisation) ------------------------
    def _check_inplace(self, what, value=None):
        if self.requires_grad and is_grad_enabled() and self.is_leaf:
            raise RuntimeError(
                f"{what}: in-place change of a tensor that requires grad while grad mode is on; "
                "wrap the update in `with mg.no_grad():` (as optimizers do)"
            )
        if self.requires_grad and is_grad_enabled():  # a non-leaf: no_grad would not help, backward would miss it
            raise RuntimeError(
                f"{what}: in-place change of a tensor the graph computed; the graph cannot record it, so "
                "compute a new tensor instead: h = h.masked_fill(mask, value), mg.where(condition, value, h)"
            )
        if backend.shares_elements(self.data):
            raise RuntimeError(f"{what}: this tensor is an expanded view, where many elements share one "
                               "place in memory; change a .clone() of it instead")
        if isinstance(value, Tensor) and value.requires_grad and is_grad_enabled():
            # the tensor's history cannot be rebased in place (ops that already used it point to
            # it), so the value's gradient would be dropped without a word
            raise RuntimeError(
                f"{what}: the value written requires grad, and an in-place write cannot record it, so its "
                "gradient would be lost; build the tensor from its parts instead (mg.cat / mg.stack), or "
                "select with mg.where(mask, value, out) (or write value.detach() if no gradient should flow)"
            )
        self._version_counter[0] += 1

    def _raw(self, other):
        """other's array (or other itself, a scalar), on this tensor's device: copied when it lives
        on the other one, as PyTorch's copy_ does (NumPy and CuPy arrays never mix)."""
        data = other.data if isinstance(other, Tensor) else other
        if backend.is_array(data) and backend.device_of(data) != self.device:
            data = backend.as_array(data, device=self.device)
        return data

    def add_(self, other, alpha=1.0):
        return self._add_scaled_("add_", other, alpha)

    def sub_(self, other, alpha=1.0):
        return self._add_scaled_("sub_", other, -alpha)

    def _add_scaled_(self, name, other, alpha):
        """self += alpha * other in place, for add_ and sub_ (each named in its errors)."""
        self._check_inplace(name, other)
        other = self._raw(other)
        if alpha == -1.0:  # sub_ as the optimizers call it: one pass, no temporary -other
            self.data -= other
        else:
            self.data += other if alpha == 1.0 else alpha * other
        return self

    def mul_(self, other):
        self._check_inplace("mul_", other)
        self.data *= self._raw(other)
        return self

    def div_(self, other):
        self._check_inplace("div_", other)
        self.data /= self._raw(other)
        return self

    # a += b: PyTorch changes a in place, and so does minigrad where no graph is recorded (under
    # mg.no_grad(), or where nothing requires grad): `p -= lr * p.grad` updates the parameter. Where
    # one is, an in-place change cannot be recorded, so a non-leaf gets a new node, as `a = a + b`:
    # the same value and gradient, though another name for the old tensor keeps its old value.
    def _augmented(self, other, in_place, out_of_place, symbol):
        other_requires_grad = isinstance(other, Tensor) and other.requires_grad
        recorded = is_grad_enabled() and (self.requires_grad or other_requires_grad)
        if not recorded:
            return in_place(other)
        if self.is_leaf and self.requires_grad:
            raise RuntimeError(f"{symbol}: in-place change of a tensor that requires grad while grad mode is on; "
                               f"wrap the update in `with mg.no_grad():` (as optimizers do: p {symbol} lr * p.grad)")
        return out_of_place(other)

    def __iadd__(self, other):
        return self._augmented(other, self.add_, self.__add__, "+=")

    def __isub__(self, other):
        return self._augmented(other, self.sub_, self.__sub__, "-=")

    def __imul__(self, other):
        return self._augmented(other, self.mul_, self.__mul__, "*=")

    def __itruediv__(self, other):
        return self._augmented(other, self.div_, self.__truediv__, "/=")

    def copy_(self, other):
        """other's values written into this tensor, broadcast to its shape (and cast to its dtype)."""
        self._check_inplace("copy_", other)
        source = self._raw(other)
        if not backend.broadcasts_to(tuple(getattr(source, "shape", ())), self.shape):
            raise ValueError(f"copy_: source of shape {tuple(source.shape)} does not broadcast to {self.shape}")
        self.data[...] = source
        return self

    def exp_(self):
        """e^x in place (a float tensor), as add_: only where no graph would have to record it."""
        self._check_inplace("exp_")
        backend.xp_of(self.data).exp(self.data, out=self.data)
        return self

    def relu_(self):
        """max(x, 0) in place, as clamp_(min=0)."""
        return self.clamp_(min=0)

    def clamp_(self, min=None, max=None):
        """clamp in place, as add_: only where no graph would have to record it (see clamp)."""
        if min is None and max is None:
            raise ValueError("clamp_: give at least one of min= and max=")
        self._check_inplace("clamp_")
        backend.xp_of(self.data).clip(self.data, self._raw(min), self._raw(max), out=self.data)
        return self

    # squeeze_ / unsqueeze_ change the shape alone: the same memory seen through a new shape, so
    # every other view of it stays one. As in PyTorch, that counts as an in-place change.
    def squeeze_(self, dim=None):
        self._check_inplace("squeeze_")
        self.data = self.data.reshape(ops.squeeze(self.detach(), dim).shape)
        return self

    def unsqueeze_(self, dim):
        self._check_inplace("unsqueeze_")
        self.data = self.data.reshape(ops.unsqueeze(self.detach(), dim).shape)
        return self

    def fill_(self, value, name="fill_"):
        """Every element set to value: a number, or a 0-d tensor (its array: no trip to the host)."""
        self._check_inplace(name, value)
        value = self._raw(value)
        if backend.is_array(value) and value.ndim:
            raise RuntimeError(f"{name}: the value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        self.data.fill(value)
        return self

    def zero_(self):
        return self.fill_(0, name="zero_")

    # Random refills are nn.init's; the in-place rules are checked here, in the caller's grad mode
    # (init's functions write under no_grad, where a leaf that requires grad may change: initialisation)
    def normal_(self, mean=0.0, std=1.0, generator=None):
        """Samples from N(mean, std^2), in place, drawn from the device's seeded generator (or `generator`)."""
        self._check_inplace("normal_")
        draws = backend.generator(self.device, generator).standard_normal(self.shape, dtype=self.dtype)
        self.data[...] = mean + std * draws
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        """Samples from U(a, b), in place, drawn from the device's seeded generator (or `generator`)."""
        self._check_inplace("uniform_")
        draws = backend.generator(self.device, generator).random(self.shape, dtype=self.dtype)
        self.data[...] = a + (b - a) * draws
        return self

    def masked_fill_(self, mask, value):
        """value where the bool mask (broadcast to this shape) is True, in place; as fill_, only
        where no graph would have to record it (see masked_fill for the differentiable form)."""
        mask = self._raw(mask)
        if mask.dtype != backend.bool_:
            raise TypeError(f"masked_fill_: the mask must be a bool tensor (e.g. x > 0), got {mask.dtype.name}")
        if not backend.broadcasts_to(mask.shape, self.shape):
            raise ValueError(f"masked_fill_: a mask of shape {tuple(mask.shape)} does not fit a tensor "
                             f"of shape {self.shape}")
        self._check_inplace("masked_fill_", value)
        self.data[...] = backend.xp_of(self.data).where(mask, self._raw(value), self.data)
        return self

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__", value)
        parts = tuple(self._raw(p) for p in (index if isinstance(index, tuple) else (index,)))
        backend.check_index_range(parts, self.shape, "assignment")
        self.data[parts if isinstance(index, tuple) else parts[0]] = self._raw(value)

    # ---- comparisons give boolean tensors (no gradient) -----------------------
    def __eq__(self, other):
        return Tensor._from_array(self.data == self._raw(other))

    def __ne__(self, other):
        return Tensor._from_array(self.data != self._raw(other))

    def __lt__(self, other):
        return Tensor._from_array(self.data < self._raw(other))

    def __le__(self, other):
        return Tensor._from_array(self.data <= self._raw(other))

    def __gt__(self, other):
        return Tensor._from_array(self.data > self._raw(other))

    def __ge__(self, other):
        return Tensor._from_array(self.data >= self._raw(other))

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def isclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        """Elementwise |self - other| <= atol + rtol |other|, a bool tensor (allclose is its all())."""
        return Tensor._from_array(backend.xp_of(self.data).isclose(self.data, self._raw(other), rtol, atol, equal_nan))

    def equal(self, other):
        """Whether other has this shape and the same values everywhere (a Python bool), as torch.equal."""
        return self.shape == tuple(other.shape) and bool((self.data == self._raw(other)).all())

    # Logic on truth values: any dtype, nonzero as True, a bool tensor out (`&` and `|` are bitwise)
    def logical_and(self, other):
        return Tensor._from_array(backend.xp_of(self.data).logical_and(self.data, self._raw(other)))

    def logical_or(self, other):
        return Tensor._from_array(backend.xp_of(self.data).logical_or(self.data, self._raw(other)))

    def logical_xor(self, other):
        return Tensor._from_array(backend.xp_of(self.data).logical_xor(self.data, self._raw(other)))

    def logical_not(self):
        return Tensor._from_array(backend.xp_of(self.data).logical_not(self.data))

    def nonzero(self, as_tuple=False):
        """The positions of the nonzero (True) elements, in row-major order: an int64 tensor with one
        row (of ndim indices) per element, or with as_tuple=True one 1-d tensor per dim (as where(x))."""
        if as_tuple:
            return ops.where(self)
        return Tensor._from_array(backend.xp_of(self.data).argwhere(self.data).astype(backend.int64, copy=False))

    # Logic on masks (bool, or bitwise on integers), as comparisons: values with no gradient
    def _logic(self, other, symbol, combine):
        for x in (self, other):
            if isinstance(x, Tensor) and backend.is_floating(x.dtype) or isinstance(x, float):
                raise TypeError(f"{symbol} works on boolean (or integer) tensors, such as masks from comparisons; "
                                f"got {x.dtype.name if isinstance(x, Tensor) else 'a float'}")
        return Tensor._from_array(combine(self.data, self._raw(other)))

    def __and__(self, other):
        return self._logic(other, "&", lambda a, b: a & b)

    def __or__(self, other):
        return self._logic(other, "|", lambda a, b: a | b)

    def __xor__(self, other):
        return self._logic(other, "^", lambda a, b: a ^ b)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        return self._logic(None, "~", lambda a, _: ~a)  # no second operand

    # NaN / infinity tests, elementwise
    def isnan(self):
        return Tensor._from_array(backend.xp_of(self.data).isnan(self.data))

    def isinf(self):
        return Tensor._from_array(backend.xp_of(self.data).isinf(self.data))

    def isfinite(self):
        return Tensor._from_array(backend.xp_of(self.data).isfinite(self.data))

    @accepts_keepdims
    def argmax(self, dim=None, keepdim=False):
        """The index of the largest element (of the flattened tensor, or along dim); the first on ties."""
        return self.arg_extreme("argmax", dim, keepdim)

    @accepts_keepdims
    def argmin(self, dim=None, keepdim=False):
        return self.arg_extreme("argmin", dim, keepdim)

    def arg_extreme(self, name, dim, keepdim):
        """argmax / argmin, with errors in a tensor's terms: a dim out of range, or nothing to pick from."""
        axis = None if dim is None else backend.positive_dim(dim, self.ndim)  # a 0-d tensor takes 0 and -1
        axis = axis if self.ndim else None
        if axis is None and self.data.size == 0:
            raise ValueError(f"{name}: the tensor of shape {self.shape} has no elements to pick from")
        if axis is not None and self.shape[axis] == 0:
            raise ValueError(f"{name}: dim {dim} of the input's shape {self.shape} has size 0: nothing to pick from")
        return Tensor._from_array(getattr(self.data, name)(axis=axis, keepdims=keepdim))

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()")
        return bool(self.data)

    def allclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        """Whether every |self - other| <= atol + rtol |other| (a Python bool, no graph), as torch.allclose."""
        return bool(backend.xp_of(self.data).allclose(self.data, self._raw(other), rtol, atol, equal_nan))

    @accepts_keepdims
    def any(self, dim=None, keepdim=False):
        """Whether any element is nonzero (True), over everything or along dim: a bool tensor, as in
        PyTorch (`if x.any():` reads its one element)."""
        return Tensor._from_array(backend.xp_of(self.data).asarray(self.data.any(axis=dim, keepdims=keepdim)))

    @accepts_keepdims
    def all(self, dim=None, keepdim=False):
        """Whether every element is nonzero (True), over everything or along dim: a bool tensor."""
        return Tensor._from_array(backend.xp_of(self.data).asarray(self.data.all(axis=dim, keepdims=keepdim)))

    # ---- step functions: no gradient flows through them (see ops.elementwise.whole) ------
    def sign(self):
        return ops.sign(self)

    def floor(self):
        return ops.floor(self)

    def ceil(self):
        return ops.ceil(self)

    def round(self, decimals=0):
        return ops.round(self, decimals)

    # ---- arithmetic: Python operators map to ops ------------------------------
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __rpow__(self, base):
        return ops.pow(base, self)

    def __neg__(self):
        return ops.neg(self)

    mul, neg = __mul__, __neg__

    def div(self, other, rounding_mode=None):
        """self / other; rounding_mode "floor" rounds the quotient down (self // other), "trunc" toward
        zero, both without a gradient (as floor), and for integers giving integers, as PyTorch's."""
        if rounding_mode is None:
            return ops.div(self, other)
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
        floor = ops.floor_divide(self, other)
        if rounding_mode == "floor":
            return floor
        # trunc(a / b) = floor(a / b) + 1 where the division is inexact and a / b < 0 (a and b of other signs)
        signs_differ = (self < 0) ^ (other < 0)
        return floor + ((ops.remainder(self, other) != 0) & signs_differ).to(floor.dtype)

    def add(self, other, alpha=1):
        """self + alpha * other, as PyTorch's x.add(y, alpha=...)."""
        return ops.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        """self - alpha * other."""
        return ops.sub(self, other if alpha == 1 else other * alpha)

    def __floordiv__(self, other):  # no gradient (see ops.floor_divide)
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return ops.floor_divide(other, self)

    def __mod__(self, other):
        return ops.remainder(self, other)

    def __rmod__(self, other):
        return ops.remainder(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # ---- methods: the same ops, PyTorch-style --------------------------------
    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def log2(self):
        return ops.log(self) / math.log(2)  # log2 x = ln x / ln 2: d/dx = 1 / (x ln 2)

    def log10(self):
        return ops.log(self) / math.log(10)

    def log1p(self):
        """log(1 + x), exact also for tiny x (where 1 + x would round x away)."""
        return ops.log1p(self)

    def expm1(self):
        """exp(x) - 1, exact also for tiny x (where exp(x) would round to 1)."""
        return ops.expm1(self)

    def square(self):
        return ops.mul(self, self)

    def rsqrt(self):
        """1 / sqrt(x) = x^(-1/2), by pow: d/dx = -x^(-3/2) / 2."""
        return ops.pow(self, -0.5)

    def reciprocal(self):
        """1 / x, by div: d/dx = -1 / x^2."""
        return ops.div(1.0, self)

    def erf(self):
        return ops.erf(self)

    def sqrt(self):
        return ops.sqrt(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def relu(self):
        return ops.relu(self)

    def abs(self):
        return ops.abs(self)

    def clamp(self, min=None, max=None):
        return ops.clamp(self, min, max)

    clip = clamp

    def tril(self, diagonal=0):
        return ops.tril(self, diagonal)

    def triu(self, diagonal=0):
        return ops.triu(self, diagonal)

    def where(self, condition, other):
        """self where condition is True, other elsewhere: mg.where(condition, self, other)."""
        return ops.where(condition, self, other)

    def masked_select(self, mask):
        return ops.masked_select(self, mask)

    def masked_fill(self, mask, value):
        """value where the bool mask is True, self elsewhere (e.g. -inf on the attention scores of
        future tokens): where(mask, value, self), so the filled places pass no gradient back. The
        result has self's dtype, as in PyTorch (a number value is converted to it)."""
        if not isinstance(value, Tensor):
            value = self.new_full((), value)
        return ops.where(mask, value, self)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    @accepts_keepdims
    def sum(self, dim=None, keepdim=False):
        return ops.sum(self, dim, keepdim)

    @accepts_keepdims
    def mean(self, dim=None, keepdim=False):
        return ops.mean(self, dim, keepdim)

    @accepts_keepdims
    def max(self, dim=None, keepdim=False):
        """The largest element; along one dim, as PyTorch: (values, indices), so that
        `values, indices = x.max(1)` unpacks them. A tuple of dims gives the values alone.
        Given a tensor instead of a dim, the elementwise maximum, as torch.max(a, b)."""
        if isinstance(dim, Tensor):
            return ops.maximum(self, dim)
        values = ops.max(self, dim, keepdim)
        return ValuesIndices(values, self.argmax(dim, keepdim)) if isinstance(dim, int) else values

    @accepts_keepdims
    def min(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):  # torch.min(a, b): the elementwise minimum
            return ops.minimum(self, dim)
        values = ops.min(self, dim, keepdim)
        return ValuesIndices(values, self.argmin(dim, keepdim)) if isinstance(dim, int) else values

    @accepts_keepdims
    def amax(self, dim=(), keepdim=False):
        """The largest values over dim (an int or a tuple; all dims by default): values only, and the
        gradient of tied maxima split evenly, as PyTorch's amax does (max(dim) here does so too)."""
        return ops.max(self, dim, keepdim)

    @accepts_keepdims
    def amin(self, dim=(), keepdim=False):
        return ops.min(self, dim, keepdim)

    @accepts_keepdims
    def prod(self, dim=None, keepdim=False):
        return ops.prod(self, dim, keepdim)

    def cumsum(self, dim):
        return ops.cumsum(self, dim)

    def cumprod(self, dim):
        return ops.cumprod(self, dim)

    @accepts_keepdims
    def logsumexp(self, dim, keepdim=False):
        """log sum e^x along dim (an int or a tuple), computed without overflow (see ops.logsumexp)."""
        return ops.logsumexp(self, dim, keepdim)

    def norm(self, p=2, dim=None, keepdim=False):
        return ops.norm(self, p, dim, keepdim)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return ops.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, stable=False):
        """(values, indices) sorted along dim, as torch.sort; the values carry the gradient back."""
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return ops.argsort(self, dim, descending, stable)

    def floor_divide(self, other):
        return ops.floor_divide(self, other)

    def remainder(self, other):
        return ops.remainder(self, other)

    @accepts_keepdims
    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        """The variance over dim, as torch's: divided by n - 1 (unbiased) or by n (unbiased=False);
        correction=c divides by n - c. Positional arguments in PyTorch's order: dim, unbiased, keepdim."""
        return ops.var(self, dim, keepdim, correction_of(unbiased, correction))

    @accepts_keepdims
    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        """The standard deviation, sqrt(var) (the same arguments); its gradient is 0 where it is 0."""
        return ops.std(self, dim, keepdim, correction_of(unbiased, correction))

    def reshape(self, *shape):
        return ops.reshape(self, *shape)

    view = reshape

    def contiguous(self):
        """self if its elements lie in row-major order already (is_contiguous), else a copy that has
        them so, as PyTorch's. (view() is reshape() here, which copies when it must, so
        x.transpose(1, 2).view(B, T, C) would work without it too.)"""
        return self if self.is_contiguous() else ops.clone(self)

    def flatten(self, start_dim=0, end_dim=-1):
        """The dims start_dim .. end_dim (both included) merged into one, as PyTorch's flatten;
        a 0-d tensor becomes 1-d."""
        if self.ndim == 0:
            return ops.reshape(self, 1)
        start, end = backend.positive_dim(start_dim, self.ndim), backend.positive_dim(end_dim, self.ndim)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} in shape {self.shape}")
        merged = math.prod(self.shape[start:end + 1])  # not -1: that cannot say how many when a dim is 0
        return ops.reshape(self, *self.shape[:start], merged, *self.shape[end + 1:])

    def transpose(self, dim0=-2, dim1=-1):
        return ops.transpose(self, dim0, dim1)

    swapaxes = swapdims = transpose  # PyTorch's other names for it

    def movedim(self, source, destination):
        """The dims `source` (an int or a sequence) moved to positions `destination`, the others keeping
        their order: a permute, as PyTorch's movedim."""
        source, destination = ([d] if isinstance(d, int) else list(d) for d in (source, destination))
        if len(source) != len(destination):
            raise ValueError(f"movedim: source {source} and destination {destination} name different numbers of dims")
        source = [backend.positive_dim(d, self.ndim) for d in source]
        destination = [backend.positive_dim(d, self.ndim) for d in destination]
        rest = iter(d for d in range(self.ndim) if d not in source)
        placed = dict(zip(destination, source))
        return ops.permute(self, *(placed[i] if i in placed else next(rest) for i in range(self.ndim)))

    def narrow(self, dim, start, length):
        """length elements of dim from start on: a slice, as PyTorch's narrow (a view here too)."""
        dim = backend.positive_dim(dim, self.ndim)
        start = start + self.shape[dim] if start < 0 else start
        if not 0 <= start <= start + length <= self.shape[dim]:
            raise IndexError(f"narrow: {length} elements from {start} do not fit in dim {dim} of size {self.shape[dim]}")
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    def unflatten(self, dim, sizes):
        """dim split into several of these sizes (one may be -1), as PyTorch's unflatten."""
        dim = backend.positive_dim(dim, self.ndim)
        return ops.reshape(self, *self.shape[:dim], *sizes, *self.shape[dim + 1:])

    def permute(self, *dims):
        return ops.permute(self, *dims)

    @property
    def T(self):
        return ops.permute(self, *reversed(range(self.ndim)))

    @property
    def mT(self):
        """The last two dims swapped: a batch of matrices, each transposed."""
        if self.ndim < 2:
            raise ValueError(f"mT needs a tensor of at least 2 dims (a matrix, or a batch of them), "
                             f"got shape {self.shape}")
        return ops.transpose(self, -2, -1)

    def t(self):
        """A matrix's transpose (PyTorch's t(): at most 2 dims)."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor of at most 2 dims, got shape {self.shape}; use transpose(dim0, dim1)")
        return self.T

    def expand(self, *shape):
        return ops.expand(self, *shape)

    def expand_as(self, other):
        return ops.expand(self, *other.shape)

    def reshape_as(self, other):
        return ops.reshape(self, *other.shape)

    view_as = reshape_as

    def repeat(self, *sizes):
        return ops.repeat(self, *sizes)

    def repeat_interleave(self, repeats, dim=None):
        return ops.repeat_interleave(self, repeats, dim)

    def roll(self, shifts, dims=None):
        return ops.roll(self, shifts, dims)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return ops.diagonal(self, offset, dim1, dim2)

    def diag(self, diagonal=0):
        return ops.diag(self, diagonal)

    def flip(self, *dims):
        """x.flip(0), x.flip(0, 1) or x.flip([0, 1]), as PyTorch."""
        if not dims:
            raise TypeError("flip() needs the dims to flip: x.flip(0), x.flip(0, 1) or x.flip([0, 1])")
        return ops.flip(self, dims[0] if len(dims) == 1 else dims)

    def unbind(self, dim=0):
        """The slices along dim, that dim removed: a tuple, as torch.unbind (each a view by indexing)."""
        dim = backend.positive_dim(dim, self.ndim)
        return tuple(self[(slice(None),) * dim + (i,)] for i in range(self.shape[dim]))

    def squeeze(self, dim=None):
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim):
        return ops.unsqueeze(self, dim)

    def split(self, split_size_or_sections, dim=0):
        return ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return ops.chunk(self, chunks, dim)

    def gather(self, dim, index):
        return ops.gather(self, dim, index)

    def index_select(self, dim, index):
        return ops.index_select(self, dim, index)

    def scatter_add(self, dim, index, src):
        """self with src added at the positions index names along dim (gather's opposite), out of place."""
        return ops.scatter_add(self, dim, index, src)

    def scatter(self, dim, index, src=None, value=None):
        """self with src (a tensor, or a number) or value (a number) written at the positions index
        names along dim, out of place."""
        return ops.scatter(self, dim, index, src, value)

    def scatter_(self, dim, index, src=None, value=None):
        """scatter, in place; as fill_, only where no graph would have to record it. The one-hot idiom:
        mg.zeros(n, classes).scatter_(1, labels.unsqueeze(1), 1.0)."""
        written = ops.scatter(self.detach(), dim, index, src, value).data  # first: a bad index changes nothing
        self._check_inplace("scatter_", src)
        self.data[...] = written
        return self

    def index_add(self, dim, index, source, alpha=1):
        """self with alpha * source's slices added at the positions index (1-d) names along dim, out of place."""
        return ops.index_add(self, dim, index, source, alpha)

    def matmul(self, other):
        return ops.matmul(self, other)

    def mm(self, other):
        """A matrix product of two 2-d tensors, as torch.mm (matmul, with no broadcasting to allow)."""
        if self.ndim != 2 or other.ndim != 2 or self.shape[1] != other.shape[0]:
            raise ValueError(f"mm: expects matrices (n, m) and (m, p), got shapes {self.shape} and {other.shape}")
        return ops.matmul(self, other)

    def bmm(self, other):
        """A batch of matrix products, as torch.bmm: (b, n, m) @ (b, m, p) -> (b, n, p), no broadcasting."""
        if (self.ndim != 3 or other.ndim != 3 or self.shape[0] != other.shape[0]
                or self.shape[2] != other.shape[1]):
            raise ValueError(f"bmm: expects batches of matrices (b, n, m) and (b, m, p), got shapes "
                             f"{self.shape} and {other.shape}")
        return ops.matmul(self, other)

    def dot(self, other):
        """The inner product of two 1-d tensors of one length, sum_i self[i] other[i] (0-d), as torch.dot."""
        if self.ndim != 1 or other.ndim != 1 or self.shape != other.shape:
            raise ValueError(f"dot: expects two 1-d tensors of one length, got shapes {self.shape} and {other.shape}")
        return ops.matmul(self, other)

    def outer(self, other):
        """The outer product of two vectors: out[i, j] = self[i] other[j] (a broadcast product)."""
        if self.ndim != 1 or other.ndim != 1:
            raise ValueError(f"outer: expects two 1-d tensors, got shapes {self.shape} and {other.shape}")
        return self[:, None] * other[None, :]

    def softmax(self, dim=-1):
        return ops.softmax(self, dim)

    def log_softmax(self, dim=-1):
        return ops.log_softmax(self, dim)

    def clone(self):
        return ops.clone(self)

    def bernoulli(self, generator=None):
        """1 with probability p, else 0, for each element p of this float tensor of probabilities (in
        its dtype), as torch.bernoulli; drawn from the device's seeded generator (or `generator`), no gradient."""
        if not backend.is_floating(self.dtype):
            raise TypeError(f"bernoulli: the probabilities must be a float tensor, got {self.dtype.name}")
        if bool(((self.data < 0) | (self.data > 1)).any()):  # one read back from a GPU
            raise ValueError("bernoulli: every probability must lie in [0, 1]")
        draws = backend.generator(self.device, generator).random(self.shape, dtype=self.dtype)
        return Tensor._from_array((draws < self.data).astype(self.dtype))

    def multinomial(self, num_samples, replacement=False, generator=None):
        """Indices drawn with these weights: mg.multinomial(self, ...)."""
        return creation.multinomial(self, num_samples, replacement, generator)

    # ---- new tensors like this one (its dtype and device, unless given), as PyTorch's x.new_* ----
    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        return creation.full(size, fill_value, dtype=dtype or self.dtype, device=self.device,
                             requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        return creation.zeros(*size, dtype=dtype or self.dtype, device=self.device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return creation.ones(*size, dtype=dtype or self.dtype, device=self.device, requires_grad=requires_grad)

    new_empty = new_zeros

    def new_tensor(self, data, dtype=None, requires_grad=False):
        return creation.tensor(data, dtype=dtype or self.dtype, device=self.device, requires_grad=requires_grad)


from minigrad import creation, ops  # noqa: E402  (they need Tensor defined first)
