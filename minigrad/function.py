"""Function: the contract every differentiable op follows.

An op is a subclass with two static methods working on raw arrays:

    forward(ctx, *inputs, **options) -> output array
    backward(ctx, grad)              -> one gradient per input (or None)

The inputs are the positional arguments of `Op.apply` (tensors, or constants
such as None); keyword options are not inputs and get no gradient. backward
returns a tuple in the inputs' order (or a lone array for a one-input op),
each gradient of its input's shape (or, where forward broadcast that input, of
the broadcast shape: the engine sums it back). Tensor.backward raises an error
naming the op when the count or a shape is wrong.

`ctx` carries what backward needs: arrays saved with `ctx.save_for_backward`,
any attribute the op sets, and `ctx.needs_input_grad` so that backward can
skip gradients nobody asked for (a frozen weight costs no matmul). Everything
else -- building the graph, checking devices and dtypes, summing broadcast
gradients back to each input's shape -- is done once, here and in tensor.py.
"""
import weakref

from minigrad import backend
from minigrad.grad_mode import is_grad_enabled
from minigrad.tensor import Tensor


class Context:
    """The node of the graph: one op application, its inputs and saved arrays. It is also what
    x.grad_fn shows, as PyTorch's: `<MulBackward0 object at ...>`, with .name() and
    .next_functions, the nodes its gradient flows on to (a tutorial can print and walk the graph)."""

    def __init__(self, op, inputs):
        self.op = op
        self.inputs = inputs  # the Tensor (or constant) arguments, in order
        self.needs_input_grad = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        self._saved = ()
        self._saved_versions = ()
        self.freed = False

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_arrays(self):
        if self.freed:
            raise self.freed_error()
        for tensor_ref, version in self._saved_versions:
            tensor = tensor_ref()
            if tensor is not None and tensor._version != version:
                raise RuntimeError(
                    f"{self.op.__name__}: a tensor of shape {tensor.shape} that this op saved for "
                    f"backward was modified in place (version {version} -> {tensor._version}); "
                    "its gradient would be wrong. Clone it before changing it in place."
                )
        return self._saved

    def remember_versions(self, output):
        """Record the version of every Tensor whose array was saved, to catch in-place edits."""
        if not self._saved:
            return
        saved = {id(array) for array in self._saved}
        self._saved_versions = tuple(
            (weakref.ref(t), t._version)
            for t in (*self.inputs, output)
            if isinstance(t, Tensor) and id(t.data) in saved
        )

    def free(self):
        """After a backward without retain_graph: the saved arrays go, and the inputs too (their arrays are
        activations as well). The node keeps only where its gradient went (next_functions), as PyTorch's
        grad_fn does, so a loss kept after backward (losses.append(loss)) holds none of the step's memory."""
        self._next_functions = self.next_functions
        self._saved = ()
        self.inputs = ()
        self.freed = True

    def freed_error(self):
        return RuntimeError(
            f"{self.op.__name__}: trying to backward through the graph a second time, but it was freed "
            "(its saved arrays and inputs) by an earlier backward() that did not pass retain_graph=True. "
            "To backward through a graph more than once, pass retain_graph=True to every backward() but the last."
        )

    # ---- seen as a grad_fn ------------------------------------------------------------------------
    def name(self):
        return f"{self.op.__name__}Backward0"

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self):
        """One (node, 0) pair per input, as PyTorch's: the input's grad_fn, an AccumulateGrad for a
        leaf that requires grad, None for an input that needs no gradient (or a constant)."""
        if self.freed:
            return self._next_functions
        return tuple((next_node(x) if needed else None, 0) for x, needed in zip(self.inputs, self.needs_input_grad))


def next_node(tensor):
    """Where a gradient goes after reaching tensor: its op's node, or an AccumulateGrad for a leaf."""
    return tensor._ctx if tensor._ctx is not None else AccumulateGrad(tensor)


class AccumulateGrad:
    """The end of a path in grad_fn.next_functions, as PyTorch's: backward adds the gradient into
    .grad of the leaf .variable. One per leaf, as far as == and sets go (a walk over the graph visits
    a leaf once however many ops use it), though each look makes a new one."""

    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)


class Function:
    """Base class of every op. Call ops through `Op.apply(*inputs, **options)`."""

    @staticmethod
    def forward(ctx, *inputs, **options):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options):
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        check_same_device_and_dtype(cls.__name__, tensors)
        ctx = Context(cls, inputs)
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        try:
            out = Tensor._from_array(cls.forward(ctx, *arrays, **options))
        except ValueError as error:  # e.g. NumPy's broadcast error: say which op it was
            if str(error).lower().startswith(cls.__name__.lower()):
                raise
            raise ValueError(f"{cls.__name__}: {error}") from error
        if out.data.base is not None:  # a view (reshape, permute, slicing, expand) or a reshaped temporary
            share_version_counter(out, tensors)
        if is_grad_enabled() and any(ctx.needs_input_grad) and backend.is_floating(out.dtype):
            out._requires_grad = True
            out._ctx = ctx
            ctx.remember_versions(out)
        return out


def share_version_counter(view, tensors):
    """A view and the tensor whose memory it shows count in-place changes together: writing
    through either makes every op that saved the other see its saved values went stale."""
    owner = backend.memory_owner(view.data)
    for tensor in tensors:
        if backend.memory_owner(tensor.data) is owner:
            view._version_counter = tensor._version_counter
            return


def check_same_device_and_dtype(op_name, tensors):
    if len(tensors) < 2:
        return
    first = tensors[0].data
    if all(type(t.data) is type(first) and t.data.dtype == first.dtype for t in tensors[1:]):
        return  # the usual case, checked quickly: one array type (one device), one dtype
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise RuntimeError(
            f"{op_name}: inputs live on different devices {sorted(devices)}; "
            "move them to one device with .to(device) first."
        )
    float_dtypes = {t.dtype for t in tensors if t.dtype.kind == "f"}
    if len(float_dtypes) > 1:
        raise TypeError(
            f"{op_name}: inputs mix dtypes {sorted(d.name for d in float_dtypes)}; convert one with "
            ".to(mg.float32) or .to(mg.float64) first."
        )
