"""minigrad: a readable reverse-mode autograd engine on NumPy (CPU) or CuPy (GPU).

    import minigrad as mg
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad  # tensor([2., 4.]): d/dx sum(x^2) = 2x
"""
from minigrad.backend import cuda_is_available, finfo, float32, float64, iinfo, int32, int64, manual_seed
from minigrad.backend import Device as device  # mg.device("cuda"), as torch.device
from minigrad.backend import bool_ as bool
# PyTorch's other names for the dtypes, in code you port: dtype=torch.long, torch.float, ...
long, int, float, double = int64, int32, float32, float64
from minigrad.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from minigrad.tensor import Tensor
from minigrad.creation import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, multinomial, ones,
    ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like,
)
from minigrad.functions import (  # the torch.X(t, ...) forms of the tensor methods
    abs, add, all, allclose, any, argmax, argmin, argsort, bernoulli, bmm, broadcast_to, ceil, chunk, clamp, clip, cos,
    clone, cumprod, cumsum, diag, diagonal, div, dot, equal, erf, exp, expm1, flatten, flip, floor, floor_divide, gather,
    get_default_dtype, index_add, index_select, is_tensor, isclose, isfinite, isinf, isnan, log, log1p, log2, log10, log_softmax,
    logical_and, logical_not, logical_or, logical_xor, logsumexp, masked_fill, masked_select, matmul, max,
    maximum, mean, min, minimum, mm, mul, nonzero, norm, normal, numel, outer, permute, pow, prod, reciprocal,
    relu, remainder, repeat_interleave, reshape, roll, round, rsqrt, scatter, scatter_add, set_default_dtype, sigmoid,
    sign, sin, softmax, sort, split, sqrt, square, squeeze, std, sub, sum, tanh, topk, transpose, unbind, unsqueeze, var,
)
from minigrad.ops import cat, einsum, stack, tril, triu, where
concat = cat  # torch.concat, the same function
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.random import Generator

from minigrad.io import save, load
from minigrad import autograd, cuda, nn, optim, utils
