"""Adam and AdamW: per-parameter step sizes from running moments of the gradient."""
from minigrad import backend
from minigrad.optim.optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), at step t:

        g <- g + weight_decay p              (L2 penalty, as in PyTorch's Adam)
        m <- beta1 m + (1 - beta1) g         (running mean of g)
        v <- beta2 v + (1 - beta2) g^2       (running mean of g^2)
        p <- p - lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

    Dividing by 1 - beta^t undoes the pull towards the zero that m and v start
    from. Each weight moves by about lr, whatever the scale of its gradient.
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def update(self, p, g, state, group):
        xp = backend.xp_of(g)
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["weight_decay"]
        if decay and self.decoupled_weight_decay:
            p.mul_(1 - lr * decay)
        elif decay:
            g = g + decay * p.data
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_avg_sq=xp.zeros_like(p.data))
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        # lr m_hat / (sqrt(v_hat) + eps), the bias corrections applied as scalars (fewer array passes)
        denominator = xp.sqrt(v / (1 - beta2**t))
        denominator += group["eps"]
        p.sub_(lr / (1 - beta1**t) * m / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019):

        p <- p (1 - lr weight_decay), then the Adam step without any L2 term in g.

    With Adam's L2 the decay is divided by sqrt(v) like the gradient, so weights
    with large gradients are hardly decayed; decoupled, every weight shrinks by
    the same factor.
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
