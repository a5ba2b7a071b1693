"""minigrad.nn.functional, imported as F: the layers' math as plain functions.

Most are the engine's ops under their PyTorch names; a layer such as
nn.Linear only owns parameters and calls one of these in its forward.
"""
from minigrad.ops import (  # noqa: F401  (re-exported)
    cross_entropy, dropout, embedding, gelu, layer_norm, log_softmax, relu,
    scaled_dot_product_attention, sigmoid, softmax,
)


def linear(x, weight, bias=None):
    """y = x W^T + b for x (..., in), weight (out, in) as in PyTorch, bias (out,).

    Leading dims are flattened first, so both x and the gradient of W are
    plain 2-D matrix products (one BLAS call each) whatever the batch shape.
    """
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {x.shape} has {x.shape[-1]} features, "
            f"but the weight {weight.shape} (out, in) expects {weight.shape[-1]}"
        )
    lead = x.shape[:-1]
    y = x.reshape(-1, x.shape[-1]) @ weight.T if x.ndim > 2 else x @ weight.T  # (N, out)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, weight.shape[0]) if x.ndim > 2 else y
