"""RAdam: Adam whose adaptive step is switched on only once v has seen enough gradients to trust."""
import math

from minigrad import backend
from minigrad.optim.adam import moments_
from minigrad.optim.optimizer import Optimizer, weight_decayed


class RAdam(Optimizer):
    """RAdam (Liu et al., 2020), in PyTorch's formulation, at step t:

        g      <- g + weight_decay p    (or, decoupled_weight_decay=True, p <- p (1 - lr weight_decay))
        m, v      as in Adam;   m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1,   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                    p <- p - lr m_hat r sqrt(1 - beta2^t) / (sqrt(v) + eps)
        otherwise:  p <- p - lr m_hat                            (plain momentum SGD)

    rho_t is about how many gradients v averages over. While it is small, 1 / sqrt(v)
    varies wildly (the reason Adam needs a warmup); r scales it down by how much,
    and before rho_t passes 5 the adaptive step is not taken at all.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def update(self, p, g, state, group):
        xp = backend.xp_of(g)
        lr, (beta1, beta2) = group["lr"], group["betas"]
        g = weight_decayed(p, g, group, decoupled=group["decoupled_weight_decay"])
        t, m, v = moments_(state, p, g, group["betas"])
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p.sub_(lr * r * math.sqrt(1 - beta2**t) * m_hat / (xp.sqrt(v) + group["eps"]))
        else:
            p.sub_(lr * m_hat)
