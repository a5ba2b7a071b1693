"""Adagrad: each weight's step shrinks with the sum of all its squared gradients so far."""
from minigrad import backend
from minigrad.optim.optimizer import Optimizer, weight_decayed


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011), in PyTorch's formulation, at step t:

        g   <- g + weight_decay p
        s   <- s + g^2                        (s starts at initial_accumulator_value)
        p   <- p - lr_t g / (sqrt(s) + eps),   lr_t = lr / (1 + (t - 1) lr_decay)

    s only grows, so weights that keep getting large gradients slow down the most,
    while rarely updated ones (rare words' embeddings) keep a large step.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def update(self, p, g, state, group):
        xp = backend.xp_of(g)
        if not state:
            state.update(step=0, sum=xp.full_like(p.data, group["initial_accumulator_value"]))
        state["step"] += 1
        g = weight_decayed(p, g, group)
        state["sum"] += g * g
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        p.sub_(lr_t * g / (xp.sqrt(state["sum"]) + group["eps"]))
