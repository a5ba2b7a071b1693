"""NAdam: Adam with Nesterov momentum, its first moment looked at one step ahead."""
from minigrad import backend
from minigrad.optim.adam import moments_
from minigrad.optim.optimizer import Optimizer, weight_decayed


class NAdam(Optimizer):
    """NAdam (Dozat, 2016), in PyTorch's formulation, at step t:

        g    <- g + weight_decay p      (or, decoupled_weight_decay=True, p <- p (1 - lr weight_decay))
        mu_t  = beta1 (1 - 0.96^(t momentum_decay) / 2)       (momentum warms up towards beta1)
        M_t   = mu_1 mu_2 ... mu_t                             (state "mu_product")
        m, v  as in Adam;   d = sqrt(v / (1 - beta2^t)) + eps
        p    <- p - lr (1 - mu_t) / (1 - M_t) g / d  -  lr mu_{t+1} / (1 - M_t mu_{t+1}) m / d

    The two terms are the bias-corrected gradient and the bias-corrected m of the
    next step: Nesterov's look-ahead, which Adam's p - lr m_hat / d lacks.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay))

    def update(self, p, g, state, group):
        xp = backend.xp_of(g)
        lr, (beta1, beta2), momentum_decay = group["lr"], group["betas"], group["momentum_decay"]
        g = weight_decayed(p, g, group, decoupled=group["decoupled_weight_decay"])
        t, m, v = moments_(state, p, g, group["betas"])
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        state["mu_product"] = state.get("mu_product", 1.0) * mu  # M_t (M_0 = 1, the empty product)
        denominator = xp.sqrt(v / (1 - beta2**t))
        denominator += group["eps"]
        p.sub_(lr * (1 - mu) / (1 - state["mu_product"]) * g / denominator)
        p.sub_(lr * mu_next / (1 - state["mu_product"] * mu_next) * m / denominator)
