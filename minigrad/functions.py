"""The torch.X(t, ...) forms of tensor methods, for code ported from PyTorch: mg.exp(x) is
x.exp(), mg.sum(x, 1) is x.sum(1), mg.max(a, b) is a.max(b). Each is one line that calls the
method (or the op), so there is nothing here to differentiate: the ops do that.

A Python number or a list in place of the tensor becomes a tensor first (float32 for floats).
In the two-operand ones (add, mul, maximum, ...), a Python number next to a tensor stays a number,
as in PyTorch: a weak scalar that keeps the tensor's dtype (mg.mul(t, 2.0) of a float64 t is
float64); a list becomes a tensor (on the other operand's device); two numbers give a 0-d tensor.
"""
from minigrad import backend, creation, ops
from minigrad.ops.shape import sizes_given
from minigrad.tensor import Tensor, accepts_keepdims


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def is_tensor(obj):
    """Whether obj is a Tensor (a Parameter is one too), as torch.is_tensor."""
    return isinstance(obj, Tensor)


def numel(x):
    return x.numel()


def get_default_dtype():
    """The dtype of new float tensors: float32, unless set_default_dtype changed it."""
    return backend.DEFAULT_DTYPE


def set_default_dtype(dtype):
    """Make new float tensors (mg.tensor of floats, zeros, randn, ...; integers meeting a float) of
    dtype, mg.float32 or mg.float64, as torch.set_default_dtype: backend.DEFAULT_DTYPE is the one
    place they all read it from."""
    dtype = backend.dtype_of(dtype)
    if dtype not in (backend.float32, backend.float64):
        raise TypeError(f"set_default_dtype: expected mg.float32 or mg.float64, got {dtype.name}")
    backend.DEFAULT_DTYPE = dtype


def _operands(a, b):
    """a and b for an op taking two: tensors as they are, numbers kept as weak scalars (NumPy's too),
    anything else (a list) as a tensor; the first as a tensor when both are numbers."""
    a, b = backend.python_scalar(a), backend.python_scalar(b)
    device = next((x.device for x in (a, b) if isinstance(x, Tensor)), None)
    a, b = (x if isinstance(x, (Tensor, int, float)) else Tensor(x, device=device) for x in (a, b))
    if not isinstance(b, Tensor):  # a number: the op then needs a as a tensor (two numbers give a 0-d one)
        a = _tensor(a)
    return a, b


# ---- elementwise ------------------------------------------------------------------------------
def exp(x):
    return _tensor(x).exp()


def log(x):
    return _tensor(x).log()


def log1p(x):
    return _tensor(x).log1p()


def expm1(x):
    return _tensor(x).expm1()


def log2(x):
    return _tensor(x).log2()


def log10(x):
    return _tensor(x).log10()


def erf(x):
    return _tensor(x).erf()


def rsqrt(x):
    return _tensor(x).rsqrt()


def reciprocal(x):
    return _tensor(x).reciprocal()


def sign(x):
    return _tensor(x).sign()


def floor(x):
    return _tensor(x).floor()


def ceil(x):
    return _tensor(x).ceil()


def round(x, decimals=0):
    return _tensor(x).round(decimals)


def square(x):
    return _tensor(x).square()


def isnan(x):
    return _tensor(x).isnan()


def isinf(x):
    return _tensor(x).isinf()


def isfinite(x):
    return _tensor(x).isfinite()


def sqrt(x):
    return _tensor(x).sqrt()


def sin(x):
    return _tensor(x).sin()


def cos(x):
    return _tensor(x).cos()


def tanh(x):
    return _tensor(x).tanh()


def sigmoid(x):
    return _tensor(x).sigmoid()


def relu(x):
    return _tensor(x).relu()


def abs(x):
    return _tensor(x).abs()


def clamp(x, min=None, max=None):
    return _tensor(x).clamp(min, max)


clip = clamp


def add(a, b, alpha=1):
    """a + alpha * b."""
    a, b = _operands(a, b)
    return ops.add(a, b if alpha == 1 else b * alpha)


def sub(a, b, alpha=1):
    """a - alpha * b."""
    a, b = _operands(a, b)
    return ops.sub(a, b if alpha == 1 else b * alpha)


def mul(a, b):
    return ops.mul(*_operands(a, b))


def div(a, b, rounding_mode=None):
    a, b = _operands(a, b)
    if rounding_mode is None:
        return ops.div(a, b)
    return (a if isinstance(a, Tensor) else Tensor(a, device=b.device)).div(b, rounding_mode)


def pow(x, exponent):
    return ops.pow(*_operands(x, exponent))


def maximum(a, b):
    return ops.maximum(*_operands(a, b))


def minimum(a, b):
    return ops.minimum(*_operands(a, b))


def masked_fill(x, mask, value):
    return _tensor(x).masked_fill(mask, value)


def logical_and(a, b):
    return _tensor(a).logical_and(b)


def logical_or(a, b):
    return _tensor(a).logical_or(b)


def logical_xor(a, b):
    return _tensor(a).logical_xor(b)


def logical_not(x):
    return _tensor(x).logical_not()


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = _operands(a, b)
    return a.isclose(b, rtol, atol, equal_nan)


def equal(a, b):
    return _tensor(a).equal(_tensor(b))


def softmax(x, dim):
    return _tensor(x).softmax(dim)


def log_softmax(x, dim):
    return _tensor(x).log_softmax(dim)


# ---- reductions -------------------------------------------------------------------------------
@accepts_keepdims
def sum(x, dim=None, keepdim=False):
    return _tensor(x).sum(dim, keepdim)


@accepts_keepdims
def mean(x, dim=None, keepdim=False):
    return _tensor(x).mean(dim, keepdim)


@accepts_keepdims
def var(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    return _tensor(x).var(dim, unbiased, keepdim, correction=correction)


@accepts_keepdims
def std(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    return _tensor(x).std(dim, unbiased, keepdim, correction=correction)


@accepts_keepdims
def max(x, dim=None, keepdim=False):
    """The largest element; (values, indices) along an int dim; given a tensor, the elementwise maximum."""
    return _tensor(x).max(dim, keepdim)


@accepts_keepdims
def min(x, dim=None, keepdim=False):
    return _tensor(x).min(dim, keepdim)


@accepts_keepdims
def logsumexp(x, dim, keepdim=False):
    return _tensor(x).logsumexp(dim, keepdim)


@accepts_keepdims
def any(x, dim=None, keepdim=False):  # torch.any; the builtin any is not used in this module
    return _tensor(x).any(dim, keepdim)


@accepts_keepdims
def all(x, dim=None, keepdim=False):
    return _tensor(x).all(dim, keepdim)


def clone(x):
    return _tensor(x).clone()


@accepts_keepdims
def argmax(x, dim=None, keepdim=False):
    return _tensor(x).argmax(dim, keepdim)


@accepts_keepdims
def argmin(x, dim=None, keepdim=False):
    return _tensor(x).argmin(dim, keepdim)


# ---- shapes -----------------------------------------------------------------------------------
def matmul(a, b):
    return ops.matmul(*_operands(a, b))


def mm(a, b):
    return _tensor(a).mm(_tensor(b))


def bmm(a, b):
    return _tensor(a).bmm(_tensor(b))


def outer(a, b):
    return _tensor(a).outer(_tensor(b))


def dot(a, b):
    return _tensor(a).dot(_tensor(b))


def broadcast_to(x, size):
    """x expanded to size (a view, as x.expand); the gradient is summed back."""
    return _tensor(x).expand(size)


def reshape(x, shape):
    return _tensor(x).reshape(shape)


def transpose(x, dim0, dim1):
    return _tensor(x).transpose(dim0, dim1)


def permute(x, dims):
    return _tensor(x).permute(dims)


def flatten(x, start_dim=0, end_dim=-1):
    return _tensor(x).flatten(start_dim, end_dim)


def unsqueeze(x, dim):
    return _tensor(x).unsqueeze(dim)


def squeeze(x, dim=None):
    return _tensor(x).squeeze(dim)


def split(x, split_size_or_sections, dim=0):
    return _tensor(x).split(split_size_or_sections, dim)


def chunk(x, chunks, dim=0):
    return _tensor(x).chunk(chunks, dim)


def gather(x, dim, index):
    return _tensor(x).gather(dim, index)


def index_select(x, dim, index):
    return _tensor(x).index_select(dim, index)


def scatter_add(x, dim, index, src):
    return _tensor(x).scatter_add(dim, index, src)


def scatter(x, dim, index, src=None, value=None):
    return _tensor(x).scatter(dim, index, src, value)


def index_add(x, dim, index, source, alpha=1):
    return _tensor(x).index_add(dim, index, source, alpha=alpha)


def masked_select(x, mask):
    return _tensor(x).masked_select(mask)


def nonzero(x, as_tuple=False):
    return _tensor(x).nonzero(as_tuple)


def repeat_interleave(x, repeats, dim=None):
    return _tensor(x).repeat_interleave(repeats, dim)


def roll(x, shifts, dims=None):
    return _tensor(x).roll(shifts, dims)


def diagonal(x, offset=0, dim1=0, dim2=1):
    return _tensor(x).diagonal(offset, dim1, dim2)


def diag(x, diagonal=0):
    return _tensor(x).diag(diagonal)


def cumsum(x, dim):
    return _tensor(x).cumsum(dim)


def cumprod(x, dim):
    return _tensor(x).cumprod(dim)


@accepts_keepdims
def prod(x, dim=None, keepdim=False):
    return _tensor(x).prod(dim, keepdim)


def norm(x, p=2, dim=None, keepdim=False):
    return _tensor(x).norm(p, dim, keepdim)


def topk(x, k, dim=-1, largest=True, sorted=True):
    return _tensor(x).topk(k, dim, largest, sorted)


def sort(x, dim=-1, descending=False, stable=False):
    return _tensor(x).sort(dim, descending, stable)


def argsort(x, dim=-1, descending=False, stable=False):
    return _tensor(x).argsort(dim, descending, stable)


def flip(x, dims):
    return _tensor(x).flip(dims)


def unbind(x, dim=0):
    return _tensor(x).unbind(dim)


def floor_divide(a, b):
    return ops.floor_divide(*_operands(a, b))


def remainder(a, b):
    return ops.remainder(*_operands(a, b))


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = _operands(a, b)
    return a.allclose(b, rtol, atol, equal_nan)


# ---- random draws -----------------------------------------------------------------------------
def bernoulli(probs, generator=None):
    return probs.bernoulli(generator)


def normal(mean, std, size=None, generator=None):
    """Samples of N(mean, std^2), as torch.normal: mean and std numbers with size= the shape, or
    tensors (broadcast together; the result takes their shape, dtype and device). No gradient:
    PyTorch's for mean and std is 0 anyway."""
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if not tensors and size is None:
        raise TypeError("normal: with a number for both mean and std, give size= (as normal(0.0, 1.0, size=(2, 3)))")
    if tensors and size is not None:
        raise TypeError("normal: give size= only when mean and std are both numbers; a tensor's shape is the size")
    mean, std = (x.data if isinstance(x, Tensor) else x for x in (mean, std))
    if bool((std < 0).any() if backend.is_array(std) else std < 0):  # one read back from a GPU
        raise ValueError("normal: std must be >= 0")
    if not tensors:
        return creation.randn(*sizes_given((size,)), generator=generator) * std + mean
    shape = backend.broadcast_shape(*(x.shape for x in tensors))
    draws = creation.randn(*shape, dtype=tensors[0].dtype, device=tensors[0].device, generator=generator)
    return Tensor._from_array(draws.data * std + mean)
