"""Every differentiable op, one Function class each, with a lowercase wrapper."""
from minigrad.ops.elementwise import (
    abs, add, cast, clamp, clone, cos, div, exp, floor_divide, gelu, log, log1p, maximum, minimum, mul, neg,
    pow, relu, remainder, sigmoid, sin, sqrt, sub, tanh, tril, triu, where,
)
from minigrad.ops.reduce import cumsum, logsumexp, max, mean, min, norm, prod, sum, var
from minigrad.ops.shape import (
    argsort, cat, chunk, expand, flip, gather, getitem, permute, repeat, reshape, sort, split, squeeze, stack,
    topk, transpose, unsqueeze,
)
from minigrad.ops.linalg import einsum, linear, matmul
from minigrad.ops.fused import (
    cross_entropy, dropout, embedding, layer_norm, log_softmax, scaled_dot_product_attention,
    softmax,
)
