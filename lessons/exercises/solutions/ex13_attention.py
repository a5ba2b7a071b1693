"""Exercise 13: the backward pass of (single-head) scaled dot-product attention.

REFERENCE SOLUTION: don't read on before you have tried lessons/exercises/ex13_attention.py.

Forward (given):   queries q (Tq, D), keys k (Tk, D), values v (Tk, Dv)
(or a batch of them: (B, Tq, D) and so on), s = 1 / sqrt(D):

    S = q k^T s                   scores (Tq, Tk): how well query i matches key j
    S[i, j] = -inf for j > i      only if causal: query i may not look ahead
    P = softmax(S) over keys      attention weights; each row sums to 1
    out = P v                     (Tq, Dv): per query, a weighted mix of values

Backward (yours):  given g = dL/dout, return dL/dq, dL/dk, dL/dv. Nothing new:
chain exercises 9 (matmul) and 10 (softmax), from the output back:

    out = P v          ->   dL/dv = ?         dL/dP = ?                (ex 9)
    P = softmax(S)     ->   dL/dS = P * (dP - sum(dP * P) over keys)   (ex 10)
    S = q k^T s        ->   dL/dq = ?         dL/dk = ?                (ex 9 again)

Hints
- Forward saved q, k, v, P and the scale s (ctx.scale).
- Transpose with `xp.swapaxes(x, -1, -2)` so a batch of heads works too.
- The causal mask needs no code in backward: masked entries of P are exactly 0,
  so the softmax step gives them dL/dS = 0, and the -inf added in forward is a
  constant with no gradient.
- S = q k^T s means S^T = k q^T s: dL/dk is the same pattern as dL/dq with the
  roles of q and k swapped (and dL/dS transposed).

Grade it:  python lessons/exercises/grade.py ex13 --solutions
"""
import math

from minigrad import backend
from minigrad.function import Function


class Attention(Function):
    """out = softmax(q k^T / sqrt(D), masked if causal) v"""

    @staticmethod
    def forward(ctx, q, k, v, causal=False):
        xp = backend.xp_of(q)
        scale = 1 / math.sqrt(q.shape[-1])
        scores = q @ xp.swapaxes(k, -1, -2) * scale  # (..., Tq, Tk)
        if causal:  # hide key j from query i when j > i (above the diagonal)
            hidden = xp.triu(xp.ones(scores.shape[-2:], dtype=bool), k=1)
            scores = xp.where(hidden, -xp.inf, scores)
        e = xp.exp(scores - scores.max(axis=-1, keepdims=True))  # e^-inf = 0 where hidden
        probs = e / e.sum(axis=-1, keepdims=True)  # (..., Tq, Tk)
        ctx.save_for_backward(q, k, v, probs)
        ctx.scale = scale
        return probs @ v  # (..., Tq, Dv)

    @staticmethod
    def backward(ctx, grad):
        q, k, v, probs = ctx.saved_arrays
        xp = backend.xp_of(grad)
        grad_v = xp.swapaxes(probs, -1, -2) @ grad  # out = P v: dV = P^T g   (..., Tk, Dv)
        grad_probs = grad @ xp.swapaxes(v, -1, -2)  # dP = g v^T                 (..., Tq, Tk)
        # softmax over keys (ex 10); masked entries have P = 0, so they get dS = 0
        grad_scores = probs * (grad_probs - (grad_probs * probs).sum(axis=-1, keepdims=True))
        grad_q = grad_scores @ k * ctx.scale  # S = q k^T s: dq = dS k s        (..., Tq, D)
        grad_k = xp.swapaxes(grad_scores, -1, -2) @ q * ctx.scale  # dk = dS^T q s   (..., Tk, D)
        return grad_q, grad_k, grad_v
