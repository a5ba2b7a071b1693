"""Every differentiable op, one Function class each, with a lowercase wrapper."""
from minigrad.ops.elementwise import (
    abs, add, cast, ceil, clamp, clone, cos, div, erf, exp, expm1, floor, floor_divide, gelu, log, log1p, maximum,
    minimum, mul, neg, pow, relu, remainder, round, sigmoid, sign, sin, sqrt, sub, tanh, to_device, tril, triu,
    where,
)
from minigrad.ops.reduce import cumprod, cumsum, logsumexp, max, mean, min, norm, prod, std, sum, var
from minigrad.ops.shape import (
    argsort, cat, chunk, diag, diagonal, expand, flip, gather, getitem, index_add, index_select, masked_select,
    permute, repeat, repeat_interleave, reshape, roll, scatter, scatter_add, sort, split, squeeze, stack, topk,
    transpose, unsqueeze,
)
from minigrad.ops.linalg import einsum, linear, matmul
from minigrad.ops.fused import (
    cross_entropy, dropout, embedding, layer_norm, log_softmax, scaled_dot_product_attention,
    softmax,
)
