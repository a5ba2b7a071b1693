"""Adamax: Adam with the root-mean-square of the gradients replaced by their decaying maximum."""
from minigrad import backend
from minigrad.optim.optimizer import Optimizer, running_average_, weight_decayed


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015, section 7), in PyTorch's formulation, at step t:

        g <- g + weight_decay p
        m <- beta1 m + (1 - beta1) g
        u <- max(beta2 u, |g| + eps)         (the infinity norm in place of Adam's sqrt(v))
        p <- p - lr (m / (1 - beta1^t)) / u

    u needs no bias correction: a maximum is not pulled towards its starting zero
    as an average is.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def update(self, p, g, state, group):
        xp = backend.xp_of(g)
        beta1, beta2 = group["betas"]
        g = weight_decayed(p, g, group)
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_inf=xp.zeros_like(p.data))
        state["step"] += 1
        running_average_(state["exp_avg"], g, beta1)
        u = state["exp_inf"]
        u *= beta2
        xp.maximum(u, abs(g) + group["eps"], out=u)
        p.sub_(group["lr"] / (1 - beta1 ** state["step"]) * state["exp_avg"] / u)
