"""Gradient clipping: cap the length of the whole gradient vector."""
import math

from minigrad import backend
from minigrad.tensor import Tensor


def clip_grad_norm_(parameters, max_norm):
    """Scale all gradients together so their joint L2 norm is at most max_norm; return the norm before.

        total = sqrt(sum over params of sum(g^2)),   g <- g * max_norm / total  if total > max_norm

    One shared factor keeps the direction of the step and only shortens it, so
    one bad batch cannot throw the weights far. Parameters without a gradient
    are skipped; gradients already within the limit are left untouched. If any
    gradient holds a NaN, the norm is NaN and every gradient becomes NaN, as in
    PyTorch: a NaN guard after clipping then sees it whichever parameter it checks.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    # one BLAS dot product per gradient (no squared temporary), summed on the device: one sync
    squares = [backend.xp_of(g.data).vdot(g.data.ravel(), g.data.ravel()) for g in grads]
    total = math.sqrt(float(sum(squares))) if squares else 0.0
    scale = max_norm / (total + 1e-6)  # + 1e-6 as PyTorch: no division by zero
    if not scale >= 1:  # `scale < 1` would be False for a NaN scale and leave the other gradients finite
        for g in grads:
            g.mul_(scale)
    return total
