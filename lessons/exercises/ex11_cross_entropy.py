"""Exercise 11: the backward pass of softmax cross-entropy, the loss of every LLM.

Forward (given):   logits (N, C), one row of C class scores per example, and
integer targets t (N,). With p = softmax(logits) along the classes,

    loss = (1/N) sum_n -log p[n, t_n]          (a scalar: the mean over rows)

Forward computes log p directly ("log-softmax": x - max - log sum e^(x - max)),
never log(softmax(x)), which would give log 0 = -inf for a tiny probability.

Backward (yours):  given grad = dL/dloss (a scalar, as a 0-d array), return
dL/dlogits, shape (N, C). Derive, for one row (drop n):

    -log p_t = -x_t + log sum_j e^(x_j)
    d(-log p_t) / d x_c = ?        (two terms; the first only when c == t)

Then add the 1/N of the mean and the chain-rule factor grad.

Hints
- The result is famous: "probabilities minus one-hot targets", divided by N.
- p = e^(log p): forward saved log p (N, C) and the targets.
- `xp.arange(N)` and t pick one element per row: `p[xp.arange(N), t] -= 1`
  (p must be a fresh array before you change it in place -- e^(log p) is).

Grade it:  python lessons/exercises/grade.py ex11
"""
from minigrad import backend
from minigrad.function import Function


class CrossEntropy(Function):
    """loss = mean_n -log softmax(logits)[n, t_n]"""

    @staticmethod
    def forward(ctx, logits, target):
        xp = backend.xp_of(logits)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
        ctx.save_for_backward(log_p, target)
        return -log_p[xp.arange(logits.shape[0]), target].mean()

    @staticmethod
    def backward(ctx, grad):
        log_p, target = ctx.saved_arrays
        xp = backend.xp_of(grad)
        # TODO: return dL/dlogits, shape (N, C)
        raise NotImplementedError("TODO: write CrossEntropy.backward")
