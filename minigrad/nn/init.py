"""Initialisation: fill a parameter in place with values from a chosen distribution.

Everything draws from the device's generator, so mg.manual_seed(s) makes a
model's initial weights reproducible. Each function works under no_grad (it is
not part of any computation to differentiate) and returns the tensor.

Why the scale matters: a layer y = W x with fan_in inputs sums fan_in terms,
so Var(y) = fan_in Var(W) E[x^2] (for zero-mean W; E[x^2] = Var(x) when x has
zero mean). Keeping the signal's size through many layers needs Var(W) ~ 1 / fan_in
(Kaiming / He; times 2 for ReLU, whose output keeps half of E[z^2] of an
input z symmetric about 0, as zero-mean symmetric weights make it), or
2 / (fan_in + fan_out) to balance forward and backward passes (Xavier / Glorot).
"""
import math

from minigrad import backend, creation
from minigrad.grad_mode import no_grad


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Samples from U(a, b)."""
    with no_grad():
        return tensor.uniform_(a, b, generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Samples from N(mean, std^2)."""
    with no_grad():
        return tensor.normal_(mean, std, generator)


def normal_mass(mean, std, a, b):
    """P(a <= X <= b) for X ~ N(mean, std^2), from the normal CDF Phi(z) = (1 + erf(z / sqrt 2)) / 2."""
    def cdf(x):
        return 0.5 * (1 + math.erf((x - mean) / (std * math.sqrt(2))))
    return cdf(b) - cdf(a)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Samples from N(mean, std^2) restricted to [a, b]: a draw outside is drawn again until it lands
    inside (rejection sampling, which gives exactly that distribution). a and b are values, not
    numbers of std: timm's trunc_normal_(w, std=0.02) cuts at +-2, 100 std out, so in effect nowhere."""
    if not std > 0 or not a < b:
        raise ValueError(f"trunc_normal_: needs std > 0 and a < b, got std={std}, a={a}, b={b}")
    inside = normal_mass(mean, std, a, b)  # the chance that one draw lands in [a, b]
    if inside < 0.01:  # each value would take 1/inside draws on average
        raise ValueError(f"trunc_normal_: [{a}, {b}] holds only {inside:.2g} of N({mean}, {std}^2); "
                         "choose a mean and std for which at least 1% of draws land in [a, b]")
    with no_grad():
        values = creation.empty(tensor.numel(), dtype=tensor.dtype, device=tensor.device)
        todo = creation.arange(tensor.numel(), device=tensor.device)  # the positions still to draw: all
        while todo.numel():
            draws = mean + std * creation.randn(todo.numel(), dtype=tensor.dtype, device=tensor.device,
                                                generator=generator)
            values[todo] = draws
            todo = todo[(draws < a) | (draws > b)]  # only those outside [a, b] are drawn again
        return tensor.copy_(values.reshape(tensor.shape))


def orthogonal_(tensor, gain=1.0, generator=None):
    """gain times a (semi-)orthogonal matrix, dims after the first flattened into (rows, cols): its
    rows (or its columns, whichever are fewer) are orthonormal, so W x keeps the length of x in
    their span and a deep linear stack neither explodes nor vanishes (Saxe et al., 2013).

    Q of the QR factorisation of a Gaussian matrix, each column's sign set by R's diagonal: that
    makes Q uniformly distributed over the orthogonal matrices (Mezzadri, 2007), as PyTorch does."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor of at least 2 dims, got shape {tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    draws = creation.randn(max(rows, cols), min(rows, cols), dtype=tensor.dtype, device=tensor.device,
                           generator=generator).data  # tall: QR gives as many orthonormal columns as it has
    xp = backend.xp_of(draws)
    q, r = xp.linalg.qr(draws)
    q *= xp.sign(xp.diagonal(r))
    with no_grad():
        return tensor.copy_((q if rows >= cols else q.T).reshape(tensor.shape) * gain)


def eye_(tensor):
    """The identity matrix in a 2-d tensor (ones on the diagonal, zeros elsewhere): a Linear layer
    that starts by passing its inputs through unchanged (as many as fit)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: needs a 2-d tensor, got shape {tensor.shape}")
    with no_grad():
        return tensor.copy_(creation.eye(*tensor.shape, dtype=tensor.dtype, device=tensor.device))


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
    """PyTorch's recommended scale factor for the init before a nonlinearity: exact for relu and
    leaky_relu (undoing the share of E[z^2] they drop: half for relu, (1 - s^2) / 2 for slope s), a
    convention for tanh (5/3) and sigmoid (1)."""
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
