"""RMSprop: divide each gradient by a running root-mean-square of its recent values."""
from minigrad import backend
from minigrad.optim.optimizer import Optimizer, running_average_, weight_decayed


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), in PyTorch's formulation:

        g   <- g + weight_decay p
        v   <- alpha v + (1 - alpha) g^2
        buf <- momentum buf + g / (sqrt(v) + eps);   p <- p - lr buf    (momentum > 0)
        p   <- p - lr g / (sqrt(v) + eps)                               (otherwise)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum))

    def update(self, p, g, state, group):
        xp = backend.xp_of(g)
        alpha, momentum = group["alpha"], group["momentum"]
        g = weight_decayed(p, g, group)
        if not state:
            state["square_avg"] = xp.zeros_like(p.data)
            if momentum:
                state["momentum_buffer"] = xp.zeros_like(p.data)
        running_average_(state["square_avg"], g, alpha, squared=True)
        step = g / (xp.sqrt(state["square_avg"]) + group["eps"])
        if momentum:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += step
            step = buf
        p.sub_(group["lr"] * step)
