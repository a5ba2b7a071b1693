"""Adam and AdamW: per-parameter step sizes from running moments of the gradient."""
import math

from minigrad import backend
from minigrad.optim.optimizer import Optimizer, running_average_, weight_decayed


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), at step t:

        g <- g + weight_decay p              (L2 penalty, as in PyTorch's Adam)
        m <- beta1 m + (1 - beta1) g         (running mean of g)
        v <- beta2 v + (1 - beta2) g^2       (running mean of g^2)
        p <- p - lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

    Dividing by 1 - beta^t undoes the pull towards the zero that m and v start
    from. Each weight moves by about lr, whatever the scale of its gradient.

    amsgrad=True (Reddi et al., 2018) divides by the largest v so far instead of v:
    v_max <- max(v_max, v) (state "max_exp_avg_sq"). The denominator never shrinks, so
    a weight's steps do not grow again when its gradients turn small after large ones.
    decoupled_weight_decay=True is AdamW.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, decoupled_weight_decay=decoupled_weight_decay))

    def update(self, p, g, state, group):
        xp = backend.xp_of(g)
        beta1, beta2 = group["betas"]
        g = weight_decayed(p, g, group, decoupled=group["decoupled_weight_decay"])
        t, m, v = moments_(state, p, g, group["betas"])
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:  # (setdefault would allocate a zeros array every step)
                state["max_exp_avg_sq"] = xp.zeros_like(v)
            v_max = state["max_exp_avg_sq"]
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        # lr m_hat / (sqrt(v_hat) + eps), the bias corrections applied as scalars (fewer array passes);
        # sqrt(v) / sqrt(1 - beta2^t), in PyTorch's order: v / (1 - beta2^t) first would overflow a float32
        # (1 - beta2^t ~ 1e-3 on the first steps) for gradients past ~1e19, and the step would be m / inf = 0
        denominator = xp.sqrt(v)
        denominator /= math.sqrt(1 - beta2**t)
        denominator += group["eps"]
        p.sub_(group["lr"] / (1 - beta1**t) * m / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019):

        p <- p (1 - lr weight_decay), then the Adam step without any L2 term in g.

    With Adam's L2 the decay is divided by sqrt(v) like the gradient, so weights
    with large gradients are hardly decayed; decoupled, every weight shrinks by
    the same factor.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         decoupled_weight_decay=True)


def moments_(state, p, g, betas):
    """Adam's bookkeeping, shared by its variants: count the step t and update, in state,

        m <- beta1 m + (1 - beta1) g   ("exp_avg"),   v <- beta2 v + (1 - beta2) g^2   ("exp_avg_sq"),

    both zeros before the first step (PyTorch's names, so state dicts read alike); return t, m, v.
    """
    if not state:
        xp = backend.xp_of(p.data)
        state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_avg_sq=xp.zeros_like(p.data))
    beta1, beta2 = betas
    state["step"] += 1
    running_average_(state["exp_avg"], g, beta1)
    running_average_(state["exp_avg_sq"], g, beta2, squared=True)
    return state["step"], state["exp_avg"], state["exp_avg_sq"]
