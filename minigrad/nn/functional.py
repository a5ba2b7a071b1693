"""minigrad.nn.functional, imported as F: the layers' math as plain functions.

Most are the engine's ops under their PyTorch names; a layer such as
nn.Linear only owns parameters and calls one of these in its forward.
"""
from minigrad.ops import (  # noqa: F401  (re-exported)
    cross_entropy, dropout, embedding, gelu, layer_norm, linear, log_softmax, relu,
    scaled_dot_product_attention, sigmoid, softmax,
)
