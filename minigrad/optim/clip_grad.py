"""Gradient clipping: cap the length of the whole gradient vector (or each of its numbers)."""
import math

from minigrad import backend
from minigrad.tensor import Tensor


def gradients(parameters):
    """The .grad of each parameter that has one (a lone tensor counts as a list of one)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so their joint norm is at most max_norm; return the norm before
    (a 0-d tensor, as PyTorch). parameters: tensors, or one tensor.

        total = (sum over params of sum |g|^p)^(1/p)   (p = inf: the largest |g|),
        g <- g * max_norm / (total + 1e-6)  where that factor is < 1

    (the 1e-6, as PyTorch's, keeps a zero norm from dividing by zero). One shared
    factor keeps the direction of the step and only shortens it, so one bad batch
    cannot throw the weights far. Parameters without a gradient are skipped;
    gradients within the limit (factor >= 1) are left untouched. If any
    gradient holds a NaN, the norm is NaN and every gradient becomes NaN, as in
    PyTorch: a NaN guard after clipping then sees it whichever parameter it checks;
    error_if_nonfinite=True raises instead, touching nothing. foreach (PyTorch's choice
    of kernel) is accepted and ignored.
    """
    if not max_norm >= 0:  # `not >=` also catches NaN
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0 (the longest the gradient may be; 0 zeroes it), "
                         f"got {max_norm}: a negative one would flip every gradient, climbing the loss")
    grads = gradients(parameters)
    p = float(norm_type)
    if not p > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive (or inf), got {norm_type!r}")
    if p == math.inf:
        maxima = [float(abs(g.data).max()) for g in grads]
        total = math.nan if any(map(math.isnan, maxima)) else max(maxima, default=0.0)  # max() can miss a NaN
    else:
        powers = [sum_of_powers(g.data, p) for g in grads]
        total = float(sum(powers)) ** (1 / p) if powers else 0.0
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {p} of the gradients is non-finite ({total}), "
                           "so it cannot be clipped; pass error_if_nonfinite=False to scale them by it anyway")
    scale = max_norm / (total + 1e-6)  # + 1e-6 as PyTorch: no division by zero
    if not scale >= 1:  # `scale < 1` would be False for a NaN scale and leave the other gradients finite
        for g in grads:
            g.mul_(scale)
    return Tensor(total, dtype=grads[0].dtype, device=grads[0].device) if grads else Tensor(0.0)


def sum_of_powers(array, p):
    """sum |g|^p over the array, left on the device (summed with the others there: one sync)."""
    if p == 2:  # one BLAS dot product, no squared temporary
        return backend.xp_of(array).vdot(array.ravel(), array.ravel())
    return (abs(array) ** p).sum()


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient number into [-clip_value, clip_value], each on its own (unlike the norm,
    this changes the step's direction). foreach is accepted and ignored, as in clip_grad_norm_."""
    if not clip_value >= 0:  # `not >=` also catches NaN
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0 (the largest |gradient| kept), got {clip_value}: "
                         "a negative one would set every gradient to -clip_value")
    for g in gradients(parameters):
        backend.xp_of(g.data).clip(g.data, -clip_value, clip_value, out=g.data)
