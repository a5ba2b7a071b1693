"""Elementwise ops: out[i] = f(x[i]) or f(a[i], b[i]).

Each backward returns dL/d(input) = dL/d(out) * d(out)/d(input), computed
elementwise. Inputs may broadcast; the engine sums each gradient back to its
input's shape afterwards (engine.unbroadcast), so no op here worries about it.
"""
import math

from minigrad import backend
from minigrad.function import Function, check_same_device_and_dtype
from minigrad.tensor import Tensor


PLAIN_NUMBERS = (float, int, type(None))  # None: a missing operand (linear without a bias)


def promote(*operands):
    """Integer/bool tensors meeting a float tensor become that float dtype, and meeting a Python
    float the default dtype (float32 unless mg.set_default_dtype changed it), as in PyTorch (NumPy
    would make float64 of float32 * int64 or of int64 * 0.5). NumPy scalars count as Python numbers,
    as in PyTorch."""
    if all(type(x) in PLAIN_NUMBERS or isinstance(x, Tensor) and x.data.dtype.kind == "f" for x in operands):
        return operands  # the usual case, checked in one quick pass (this runs on every op)
    operands = tuple(backend.python_scalar(x) for x in operands)
    if not any(isinstance(x, Tensor) and not backend.is_floating(x.dtype) for x in operands):
        return operands  # no integer or bool tensor: nothing to convert
    floats = [x.dtype for x in operands if isinstance(x, Tensor) and backend.is_floating(x.dtype)]
    if not floats and any(isinstance(x, float) for x in operands):
        floats = [backend.DEFAULT_DTYPE]
    if not floats:
        return operands
    return tuple(Tensor._from_array(x.data.astype(floats[0]))
                 if isinstance(x, Tensor) and not backend.is_floating(x.dtype) else x for x in operands)


def floating(x):
    """An integer or bool tensor as the default dtype (float32, as PyTorch's), for ops whose values are real
    (exp, log, mean, ...): NumPy would make float64 of them. Anything else as it is."""
    if isinstance(x, Tensor) and not backend.is_floating(x.dtype):
        return Tensor._from_array(x.data.astype(backend.DEFAULT_DTYPE))
    return x


class Add(Function):
    """a + b;  d/da = 1, d/db = 1"""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def add(a, b):
    return Add.apply(*promote(a, b))


class Sub(Function):
    """a - b;  d/da = 1, d/db = -1"""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


def sub(a, b):
    return Sub.apply(*promote(a, b))


class Neg(Function):
    """-x;  d/dx = -1"""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


def neg(x):
    return Neg.apply(x)


class Mul(Function):
    """a * b;  d/da = b, d/db = a"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


def mul(a, b):
    return Mul.apply(*promote(a, b))


class Div(Function):
    """a / b;  d/da = 1/b, d/db = -a/b^2 = -(a/b) / b

    d/db is taken as -(g / b) (a / b), never through b^2: b^2 underflows to 0 (|b| < 1e-23 in float32)
    or overflows to inf (|b| > 1.8e19) long before the gradient itself does."""

    @staticmethod
    def forward(ctx, a, b):
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        b, out = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b  # g / b: d/da, and half of d/db
        return (grad_a if need_a else None), (-grad_a * out if need_b else None)


def div(a, b):
    a, b = promote(a, b)
    if not any(isinstance(x, Tensor) and backend.is_floating(x.dtype) for x in (a, b)):
        # integer / integer is a float: of the default dtype, as in PyTorch (NumPy would give float64)
        a, b = (cast(x, backend.DEFAULT_DTYPE) if isinstance(x, Tensor) else x for x in (a, b))
    return Div.apply(a, b)


class Pow(Function):
    """a ** b;  d/da = b * a^(b-1), d/db = a^b * log(a)"""

    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        xp = backend.xp_of(grad)
        # (b == 0) lifts the exponent to 0 where b = 0: the slope of the flat x^0 = 1 is then
        # b * a^0 = 0, not 0 * a^-1 = 0 * inf at a = 0 (and b may be an array or a Python number)
        grad_a = grad * b * a ** (b - 1 + (b == 0)) if need_a else None
        if not need_b:
            return grad_a, None
        # log(a) is only real for a > 0. Elsewhere we give 0: 0 ** b (b > 0) is flat in b, and a < 0
        # has a ** b real only at whole b, so no slope in b (PyTorch gives NaN there). A number a (2 ** x)
        # is taken on its own: CuPy's where needs an array condition, not a Python bool
        log_a = xp.log(xp.where(a > 0, a, 1)) if backend.is_array(a) else (math.log(a) if a > 0 else 0.0)
        return grad_a, grad * out * log_a


def pow(a, b):
    a, b = promote(a, b)
    if not has_float(a, b) and bool((b.data < 0).any() if isinstance(b, Tensor) else b < 0):  # a GPU read
        # as NumPy and PyTorch refuse (CuPy would give 0): 2 ** -1 is no integer
        raise ValueError("pow: integers to negative integer powers are not allowed (the result is a fraction); "
                         "make the base a float first, e.g. x.float() ** -1")
    return Pow.apply(a, b)


def has_float(a, b):
    """Whether a Python float or a float tensor takes part (after promote, every tensor then is one)."""
    return any(isinstance(x, float) or (isinstance(x, Tensor) and backend.is_floating(x.dtype)) for x in (a, b))


def values_of(a, b):
    """The arrays of tensors, numbers as they are: for results computed outside the graph."""
    return [x.data if isinstance(x, Tensor) else x for x in (a, b)]


def check_integer_divisor(name, a, b):
    """Raise ZeroDivisionError when a and b are integers and b holds a 0, as PyTorch does (NumPy
    gives 0 with a warning; CuPy gives 0 silently). Floats divide by 0 as IEEE says: inf or nan."""
    if has_float(a, b):
        return
    if bool((b.data == 0).any() if isinstance(b, Tensor) else b == 0):  # one read back from a GPU
        raise ZeroDivisionError(f"{name}: integer division by zero (a float divisor gives inf or nan instead)")


def whole(x, round_array):
    """round_array(x's array) for a float x; for an integer or bool x, already whole, a copy keeping its
    dtype (NumPy's floor of an integer array would be float64). Outside the graph, as floor_divide:
    a step function (floor, ceil, round, sign) is flat wherever it has a slope, so no gradient flows."""
    if not backend.is_floating(x.dtype):
        return Tensor._from_array(x.data.copy())
    return Tensor._from_array(round_array(x.data))


def floor(x):
    """The largest whole number <= x, elementwise; no gradient (see whole)."""
    return whole(x, backend.xp_of(x.data).floor)


def ceil(x):
    """The smallest whole number >= x, elementwise; no gradient (see whole)."""
    return whole(x, backend.xp_of(x.data).ceil)


def round(x, decimals=0):
    """x rounded to `decimals` places, halves to the even neighbour (2.5 -> 2), as PyTorch and NumPy;
    no gradient (see whole)."""
    return whole(x, lambda array: backend.xp_of(array).round(array, decimals))


def sign(x):
    """-1, 0 or 1 as x is negative, zero or positive, in x's dtype; a step function too, so no
    gradient (see whole)."""
    return Tensor._from_array(backend.xp_of(x.data).sign(x.data))


def floor_divide(a, b):
    """a // b rounded down (floor), as Python's // and torch.floor_divide, for integers and floats. A
    step function: its slope is 0 wherever it has one, so it is returned outside the graph (no gradient)."""
    a, b = promote(a, b)
    check_same_device_and_dtype("floor_divide", [x for x in (a, b) if isinstance(x, Tensor)])
    check_integer_divisor("floor_divide", a, b)
    dividend, divisor = values_of(a, b)
    return Tensor._from_array(dividend // divisor)


class Remainder(Function):
    """a mod b with the sign of b (Python's %, torch.remainder) = a - floor(a/b) b;
    d/da = 1, d/db = -floor(a/b)"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a % b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        return (grad if need_a else None), (-grad * (a // b) if need_b else None)


def remainder(a, b):
    a, b = promote(a, b)
    check_integer_divisor("remainder", a, b)
    return Remainder.apply(a, b)


class Exp(Function):
    """e^x;  d/dx = e^x"""

    @staticmethod
    def forward(ctx, x):
        out = backend.xp_of(x).exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        return grad * out


def exp(x):
    return Exp.apply(floating(x))


class Log(Function):
    """ln x;  d/dx = 1/x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.xp_of(x).log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad / x


def log(x):
    return Log.apply(floating(x))


class Log1p(Function):
    """ln(1 + x);  d/dx = 1/(1 + x). One op, not log(1 + x): for tiny x, 1 + x rounds x away
    (1 + 1e-10 is 1.0000000001 only to ~7 digits in float64, and 1 in float32), log1p keeps it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.xp_of(x).log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad / (1 + x)


def log1p(x):
    return Log1p.apply(floating(x))


class Expm1(Function):
    """e^x - 1;  d/dx = e^x. One op, not exp(x) - 1, for the same reason as log1p: for tiny x,
    e^x rounds to 1 and the difference to 0 (float32 gives 0 for x = -1e-10), expm1 keeps x.
    The slope is e^x itself, not out + 1 (PyTorch's): where e^x is below the float's resolution
    out rounds to -1 and out + 1 to 0, so ELU's slope at x = -20 in float32 would be 0, not 2e-9."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.xp_of(x).expm1(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * backend.xp_of(x).exp(x)


def expm1(x):
    return Expm1.apply(floating(x))


class Erf(Function):
    """erf x = (2 / sqrt(pi)) * integral from 0 to x of e^(-t^2) dt;  d/dx = (2 / sqrt(pi)) e^(-x^2)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.erf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * (2 / math.sqrt(math.pi)) * backend.xp_of(x).exp(-x * x)


def erf(x):
    return Erf.apply(floating(x))


class Sqrt(Function):
    """sqrt(x);  d/dx = 1 / (2 sqrt(x))"""

    @staticmethod
    def forward(ctx, x):
        out = backend.xp_of(x).sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        return grad / (2 * out)


def sqrt(x):
    return Sqrt.apply(floating(x))


class Sin(Function):
    """sin x;  d/dx = cos x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.xp_of(x).sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * backend.xp_of(x).cos(x)


def sin(x):
    return Sin.apply(floating(x))


class Cos(Function):
    """cos x;  d/dx = -sin x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.xp_of(x).cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return -grad * backend.xp_of(x).sin(x)


def cos(x):
    return Cos.apply(floating(x))


class Tanh(Function):
    """tanh x;  d/dx = 1 - tanh(x)^2"""

    @staticmethod
    def forward(ctx, x):
        out = backend.xp_of(x).tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        return grad * (1 - out * out)


def tanh(x):
    return Tanh.apply(floating(x))


class Sigmoid(Function):
    """s(x) = 1 / (1 + e^-x);  d/dx = s(x) (1 - s(x))"""

    @staticmethod
    def forward(ctx, x):
        # with e = e^-|x| (never overflows): 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0, so a
        # large negative x gives its tiny value in full, not 1 - (almost 1) rounded to 0
        xp = backend.xp_of(x)
        e = xp.exp(-xp.abs(x))
        out = xp.where(x >= 0, 1, e) / (1 + e)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        return grad * out * (1 - out)


def sigmoid(x):
    return Sigmoid.apply(floating(x))


class Relu(Function):
    """max(x, 0);  d/dx = 1 if x > 0 else 0 (0 at the kink x = 0)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.xp_of(x).maximum(x, 0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * (x > 0)


def relu(x):
    return Relu.apply(x)


class Gelu(Function):
    """x Phi(x), Phi the normal CDF;  d/dx = Phi(x) + x phi(x), phi the normal density"""

    @staticmethod
    def forward(ctx, x):
        cdf = 0.5 * (1 + backend.erf(x / math.sqrt(2)))
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, grad):
        x, cdf = ctx.saved_arrays
        density = backend.xp_of(x).exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad * (cdf + x * density)


class GeluTanh(Function):
    """0.5 x (1 + tanh(u)), u = k (x + c x^3), k = sqrt(2/pi), c = 0.044715;
    d/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh(u)^2) k (1 + 3 c x^2)

    Written with in-place updates of fresh temporaries: on big activations every
    pass over memory counts (NumPy does one pass per operation)."""

    @staticmethod
    def forward(ctx, x):
        xp, k = backend.xp_of(x), math.sqrt(2 / math.pi)
        t = xp.multiply(x, x, out=xp.empty_like(x))  # out=: an array even when x is 0-d
        t *= 0.044715 * k
        t += k
        t *= x  # u = k (x + c x^3)
        xp.tanh(t, out=t)
        ctx.save_for_backward(x, t)
        out = t + 1
        out *= 0.5  # before x: (1 + tanh u) x would overflow at the largest x, where 0.5 (1 + tanh u) x is x
        out *= x
        return out

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_arrays
        xp, k = backend.xp_of(x), math.sqrt(2 / math.pi)
        # Two arrays of x's size at a time, no more (each pass in place). Beyond |x| = 10, 1 - tanh^2 is
        # below 1e-37 and the term it multiplies is nothing; x clipped there, x k (1 + 3 c x^2) cannot
        # overflow to inf, which times that 0 would be NaN
        slope = xp.multiply(t, t, out=xp.empty_like(t))
        xp.subtract(1, slope, out=slope)  # 1 - tanh^2
        near = xp.clip(x, -10, 10, out=xp.empty_like(x))
        slope *= near
        near *= near
        near *= 3 * 0.044715 * k
        near += k  # k (1 + 3 c x^2)
        slope *= near  # x (1 - tanh^2) k (1 + 3 c x^2)
        slope += t
        slope += 1
        slope *= 0.5
        slope *= grad
        return slope


def gelu(x, approximate="none"):
    x = floating(x)
    if approximate == "none":
        return Gelu.apply(x)
    if approximate == "tanh":
        return GeluTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


class Abs(Function):
    """|x|;  d/dx = sign(x) (0 at the kink x = 0)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.xp_of(x).abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * backend.xp_of(x).sign(x)


def abs(x):
    return Abs.apply(x)


class Clamp(Function):
    """min(max(x, low), high);  d/dx = 1 inside [low, high], 0 outside"""

    @staticmethod
    def forward(ctx, x, low=None, high=None):
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return backend.xp_of(x).clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        inside = backend.xp_of(x).ones_like(grad, dtype=bool)  # grad's shape: a tensor bound may widen x
        if ctx.low is not None:
            inside &= x >= ctx.low
        if ctx.high is not None:
            inside &= x <= ctx.high
        return grad * inside  # summed back to x's shape by the engine, as any broadcast


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min= and max=")
    if any(isinstance(bound, Tensor) and bound.requires_grad for bound in (min, max)):
        raise TypeError("clamp: min= and max= are constants here; for bounds that learn, "
                        "use x.maximum(low) and mg.where(x > high, high, x)")
    x, min, max = promote(x, min, max)  # an integer x clamped to 0.5 becomes float32, as in PyTorch
    min, max = (x._raw(bound) if isinstance(bound, Tensor) else bound for bound in (min, max))
    return Clamp.apply(x, low=min, high=max)


def array_module(a, b):
    """numpy or cupy, from whichever of a and b is an array (the other may be a number: maximum(0, x))."""
    return backend.xp_of(a if backend.is_array(a) else b)


class Maximum(Function):
    """max(a, b) elementwise;  d/da = 1 where a > b, 0 where a < b, 1/2 on ties"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a, b).maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        share_a = ((a > b) + 0.5 * (a == b)).astype(grad.dtype)  # a tie splits the gradient evenly
        need_a, need_b = ctx.needs_input_grad
        return (grad * share_a if need_a else None), (grad * (1 - share_a) if need_b else None)


def maximum(a, b):
    return Maximum.apply(*promote(a, b))


def minimum(a, b):
    """min(a, b) elementwise = -max(-a, -b) for floats: Maximum's rule (ties split evenly), no second
    class. Integers and bools have no gradient (and -x of a bool is no order reversal): their
    minimum is computed directly."""
    a, b = promote(a, b)
    if has_float(a, b):
        return neg(maximum(-a, -b))
    a, b = values_of(a, b)
    return Tensor._from_array(array_module(a, b).minimum(a, b))


class Where(Function):
    """condition ? a : b;  d/da = condition, d/db = not condition.

    The gradient is *selected*, never multiplied by a 0/1 mask, so an inf or NaN
    gradient arriving where a branch was not taken is dropped, not made 0 * inf = NaN.
    That does not guard the branch's own backward: it still runs, with gradient 0,
    so where(x > 0, x.log(), 0) gives x a NaN gradient at 0 (0 times log's slope
    1/0 = inf). Guard the input too: where(x > 0, where(x > 0, x, 1).log(), 0).
    """

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        return backend.xp_of(condition).where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_arrays
        xp = backend.xp_of(grad)
        _, need_a, need_b = ctx.needs_input_grad
        return (
            None,
            xp.where(condition, grad, 0) if need_a else None,
            xp.where(condition, 0, grad) if need_b else None,
        )


def where(condition, a=None, b=None):
    """a where condition is True, b elsewhere. With the condition alone, as torch.where(x): the
    indices of its nonzero (True) elements, one integer tensor per dim (a 0-d condition counts as
    one element: (tensor([0]),) when True)."""
    if a is None and b is None and isinstance(condition, Tensor):
        flat = condition.data.reshape(-1) if condition.ndim == 0 else condition.data  # NumPy: no nonzero of 0-d
        return tuple(Tensor._from_array(i.astype(backend.int64, copy=False))
                     for i in backend.xp_of(flat).nonzero(flat))
    if a is None or b is None:  # NumPy would make an array of objects of where(condition, a, None)
        raise TypeError("where: give the condition alone (the indices where it is True) or all three, "
                        "where(condition, a, b) (a where True, b elsewhere)")
    if not isinstance(condition, Tensor) or condition.dtype != backend.bool_:
        raise TypeError(f"where: the condition must be a bool tensor (e.g. x > 0), got "
                        f"{condition.dtype.name if isinstance(condition, Tensor) else type(condition).__name__}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # two numbers: a tensor of a's default
        a = Tensor(a, device=condition.device)  # dtype (float32 or int64), as in PyTorch; NumPy: float64 for floats
    return Where.apply(condition, *promote(a, b))


def on_or_below(x, diagonal, name):
    """A bool mask over x's last two dims: True on and below its diagonal-th diagonal."""
    if x.ndim < 2:
        raise ValueError(f"{name}: needs a tensor of at least 2 dims, got shape {x.shape}")
    return Tensor._from_array(backend.xp_of(x.data).tri(*x.shape[-2:], k=diagonal, dtype=backend.bool_))


def tril(x, diagonal=0):
    """x with the elements above its diagonal-th diagonal (over the last two dims) set to 0, as torch.tril;
    tril(ones(T, T)) is a causal mask. where(kept, x, 0): only kept elements pass a gradient back.
    The 0 has x's dtype, so x's dtype is kept (a bool mask stays bool)."""
    return where(on_or_below(x, diagonal, "tril"), x, x.new_zeros(()))


def triu(x, diagonal=0):
    """x with the elements below its diagonal-th diagonal set to 0, as torch.triu."""
    return where(on_or_below(x, diagonal - 1, "triu"), x.new_zeros(()), x)


class Cast(Function):
    """x converted to another float dtype;  d/dx = 1 (the gradient converted back)"""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.input_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.input_dtype)


def cast(x, dtype):
    return Cast.apply(x, dtype=dtype)


class ToDevice(Function):
    """x copied to another device (CPU <-> GPU);  d/dx = 1 (the gradient copied back to x's device)"""

    @staticmethod
    def forward(ctx, x, device):
        ctx.source = backend.device_of(x)
        return backend.as_array(x, device=device)

    @staticmethod
    def backward(ctx, grad):
        return backend.as_array(grad, device=ctx.source)


def to_device(x, device):
    return ToDevice.apply(x, device=device)


class Clone(Function):
    """a copy of x with its own memory;  d/dx = 1"""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(x):
    return Clone.apply(x)
