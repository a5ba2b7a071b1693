"""Every differentiable op, one Function class each, with a lowercase wrapper."""
from minigrad.ops.elementwise import (
    abs, add, cast, clamp, clone, cos, div, exp, gelu, log, maximum, minimum, mul, neg, pow, relu,
    sigmoid, sin, sqrt, sub, tanh, tril, triu, where,
)
from minigrad.ops.reduce import max, mean, min, sum, var
from minigrad.ops.shape import (
    cat, chunk, expand, gather, getitem, permute, reshape, split, squeeze, stack, transpose, unsqueeze,
)
from minigrad.ops.linalg import linear, matmul
from minigrad.ops.fused import (
    cross_entropy, dropout, embedding, layer_norm, log_softmax, scaled_dot_product_attention,
    softmax,
)
