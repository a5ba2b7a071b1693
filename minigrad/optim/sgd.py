"""Stochastic gradient descent, with momentum, Nesterov momentum and L2 weight decay."""
from minigrad.optim.optimizer import Optimizer, weight_decayed


class SGD(Optimizer):
    """p <- p - lr g, with optional extras (PyTorch's formulation):

        g   <- g + weight_decay p                       (L2 penalty on the weights)
        buf <- momentum buf + (1 - dampening) g         (buf = g on the first step)
        g   <- g + momentum buf  if nesterov  else  buf
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):  # torch's order
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay))

    def update(self, p, g, state, group):
        g = weight_decayed(p, g, group)
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p.sub_(group["lr"] * g)
