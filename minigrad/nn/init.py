"""Initialisation: fill a parameter in place with values from a chosen distribution.

Everything draws from the device's generator, so mg.manual_seed(s) makes a
model's initial weights reproducible. Each function works under no_grad (it is
not part of any computation to differentiate) and returns the tensor.

Why the scale matters: a layer y = W x with fan_in inputs sums fan_in terms,
so Var(y) = fan_in Var(W) Var(x). Keeping Var(y) ~ Var(x) through many layers
needs Var(W) ~ 1 / fan_in (Kaiming / He; times 2 for ReLU, which zeroes half
the signal), or 2 / (fan_in + fan_out) to balance forward and backward passes
(Xavier / Glorot).
"""
import math

from minigrad.tensor import no_grad


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Samples from U(a, b)."""
    with no_grad():
        return tensor.uniform_(a, b, generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Samples from N(mean, std^2)."""
    with no_grad():
        return tensor.normal_(mean, std, generator)


def constant_(tensor, value):
    with no_grad():
        return tensor.fill_(value)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def fans(tensor):
    """(fan_in, fan_out) of a weight (out, in, *kernel): inputs and outputs each unit connects to."""
    if tensor.ndim < 2:
        raise ValueError(f"fan_in and fan_out need a weight with at least 2 dims, got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def calculate_gain(nonlinearity, param=None):
    """The factor by which a nonlinearity shrinks the standard deviation, undone by the init."""
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)  # relu keeps half the variance
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected linear, sigmoid, tanh, relu or leaky_relu")


def xavier_uniform_(tensor, gain=1.0):
    """U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)): variance gain^2 2 / (fan_in + fan_out)."""
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_scale(tensor, a, mode, nonlinearity):
    """gain / sqrt(fan): the standard deviation Kaiming (He) initialisation aims for."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(tensor)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-b, b), b = sqrt(3) gain / sqrt(fan) (a uniform with that standard deviation)."""
    bound = math.sqrt(3.0) * kaiming_scale(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std^2), std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, kaiming_scale(tensor, a, mode, nonlinearity))
