"""Normalisation layers: LayerNorm and RMSNorm (per example, over its last dims) and BatchNorm1d
(per channel, over the batch). Each keeps its scale (and shift) as parameters and calls one function of F.

Why normalise: a deep stack of layers changes the size of its activations from layer to layer;
rescaling each layer's input to a steady size keeps gradients in a range that one learning rate
suits, and a learned weight (and bias) gives back any scale the model wants.
"""
from minigrad import creation
from minigrad.nn import functional as F
from minigrad.nn.layers import check_size
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.fused import shape_tuple


def normalized_shape_of(layer, normalized_shape):
    """normalized_shape as a tuple of sizes >= 1. NumPy's own error for a negative size ("negative dimensions
    are not allowed") names no argument; a size 0 would average over no elements (0 / 0), and is almost
    always a size computed wrong (PyTorch accepts it, and normalises nothing)."""
    shape = shape_tuple(normalized_shape)
    if not shape or min(shape) < 1:
        raise ValueError(f"{layer}: normalized_shape must be a size >= 1, or a non-empty sequence of them (the "
                         f"sizes of the input's last dims, e.g. {layer}(d_model)), got {normalized_shape!r}")
    return shape


class LayerNorm(Module):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last dims, weight 1 and bias 0 at first."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        shape = normalized_shape_of("LayerNorm", normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.weight = Parameter(creation.ones(shape)) if elementwise_affine else None
        self.bias = Parameter(creation.zeros(shape)) if elementwise_affine and bias else None
        self.to(device=device, dtype=dtype)  # PyTorch's factory arguments

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        # the defaults are left out; PyTorch prints both flags always, bias=False too when there is no weight
        text = f"{self.normalized_shape}, eps={self.eps}"
        if self.weight is None:
            text += ", elementwise_affine=False"
        if self.bias is None:
            text += ", bias=False"
        return text


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last dims (LLaMA's norm), weight 1 at first.
    eps=None: the machine epsilon of x's dtype, as PyTorch."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape, self.eps = normalized_shape_of("RMSNorm", normalized_shape), eps
        self.weight = Parameter(creation.ones(self.normalized_shape)) if elementwise_affine else None
        self.to(device=device, dtype=dtype)

    def forward(self, x):  # x, not input: PyTorch's RMSNorm names it so
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):  # PyTorch's
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"


class BatchNorm1d(Module):
    """(x - mean) / sqrt(var + eps) * weight + bias for each channel of an (N, C) or (N, C, L) input, the
    statistics over N (and L). Training: the batch's own, while their running averages are kept as
    buffers (running_mean, running_var and num_batches_tracked, saved in state_dict as PyTorch's);
    eval(): those running averages. momentum=None: a plain average over every batch so far."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None):
        super().__init__()
        num_features = check_size("BatchNorm1d", "num_features", num_features)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(creation.ones(num_features)) if affine else None
        self.bias = Parameter(creation.zeros(num_features)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features))
            self.register_buffer("running_var", creation.ones(num_features))
            self.register_buffer("num_batches_tracked", creation.tensor(0))  # int64
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self.to(device=device, dtype=dtype)

    def forward(self, input):  # (N, C) or (N, C, L)
        if input.ndim not in (2, 3) or input.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: expected an input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got shape {input.shape}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if momentum is None:  # the k-th batch weighs 1/k: the running values are the plain average
                momentum = 1 / self.num_batches_tracked.item()
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training or not self.track_running_stats, momentum=momentum,
                            eps=self.eps)

    def extra_repr(self):  # PyTorch's
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
