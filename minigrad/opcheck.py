"""The op catalogue: every differentiable op, with inputs it is checked on.

One table drives both the test suite (tests/test_ops.py draws random shapes
for it with hypothesis) and `minigrad gradcheck` (which runs it on the fixed
shapes below and prints a table). Each input is drawn from a *domain*: a range
where the op is smooth, so finite differences are meaningful -- log needs
x > 0, and relu is checked away from its kink at 0 (its sub-gradient there is
tested on its own).
"""
import math
from dataclasses import dataclass
from typing import Callable

from minigrad import backend, ops
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.tensor import Tensor


# ---- domains: (rng, shape) -> float64 array ------------------------------------
def real(rng, shape):
    return rng.uniform(-2, 2, shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2, shape)


def above_minus_one(rng, shape):
    """Values where log1p is defined (x > -1), kept away from -1, where it falls to -inf."""
    return rng.uniform(-0.5, 2, shape)


def nonzero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2, shape)


def distinct(rng, shape):
    """n reals in [-2, 2), no two closer than 2/n (one to each slot of width 4/n, in its middle half),
    so a max never has a near-tie that a finite-difference step (1e-6) could cross."""
    n = math.prod(shape)
    return ((rng.permutation(n) + rng.uniform(0.25, 0.75, n)) * (4 / n) - 2).reshape(shape)


def avoiding(*kinks, margin=0.1):
    """Real values at least `margin` away from each kink (where the op has no derivative)."""

    def sample(rng, shape):
        x = real(rng, shape)
        for kink in kinks:
            close = abs(x - kink) < margin
            x[close] = kink + margin * (1 + rng.uniform(0, 1, close.sum())) * rng.choice([-1, 1], close.sum())
        return x

    return sample


# ---- elementwise ops: name -> (function, domain of each input) ------------------
UNARY = {
    "neg": (ops.neg, real),
    "exp": (ops.exp, real),
    "log": (ops.log, positive),
    "log1p": (ops.log1p, above_minus_one),
    "expm1": (ops.expm1, real),
    "sqrt": (ops.sqrt, positive),
    "sin": (ops.sin, real),
    "cos": (ops.cos, real),
    "tanh": (ops.tanh, real),
    "sigmoid": (ops.sigmoid, real),
    "relu": (ops.relu, avoiding(0)),
    "gelu": (ops.gelu, real),
    "erf": (ops.erf, real),
    "gelu_tanh": (lambda x: ops.gelu(x, approximate="tanh"), real),
    "abs": (ops.abs, avoiding(0)),
    "clamp": (lambda x: ops.clamp(x, -0.5, 0.5), avoiding(-0.5, 0.5)),
    "pow_scalar": (lambda x: ops.pow(x, 3), real),
    "pow_fractional": (lambda x: ops.pow(x, 1.5), positive),
    "rpow_scalar": (lambda x: ops.pow(2.0, x), real),
    "clone": (ops.clone, real),
}

BINARY = {
    "add": (ops.add, real, real),
    "sub": (ops.sub, real, real),
    "mul": (ops.mul, real, real),
    "div": (ops.div, real, nonzero),
    "pow": (ops.pow, positive, real),
    "maximum": (ops.maximum, real, real),  # random reals never tie; ties are tested apart
}


# ---- structured cases for `minigrad gradcheck` -----------------------------------
@dataclass
class Case:
    name: str
    fn: Callable
    inputs: Callable  # (rng, device) -> list of inputs (Tensors needing grad, or constants)


def leaf(array, device):
    return Tensor(backend.as_array(array, backend.float64, device), requires_grad=True)


def index(values, device):
    return Tensor(backend.as_array(values, backend.int64, device))


def seeded_dropout(x):
    backend.manual_seed(0)  # the same mask on every call, so finite differences see one function
    return ops.dropout(x, p=0.3)


def causal_attention(q, k, v):
    return ops.scaled_dot_product_attention(q, k, v, is_causal=True)


def padded_attention(q, k, v):
    keep = Tensor(backend.as_array([[True, True, True, False]], device=q.device))  # last key is padding
    return ops.scaled_dot_product_attention(q, k, v, attn_mask=keep)


def away_from_jumps(rng, shape):
    """(a, b) with b in [0.5, 2) of either sign and a / b at least 0.2 from a whole number, where
    a % b jumps."""
    b = nonzero(rng, shape)
    return [b * (rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)), b]


def with_zeros(rng, shape):
    """Reals with some elements exactly 0 (one row with one zero, one with two), where a product's
    gradient must not divide by zero."""
    x = real(rng, shape)
    x[0, 1] = 0
    x[-1, :2] = 0
    return x


def catalogue_cases():
    """Every op on a few fixed shapes: plain, broadcast, transposed, repeated indices."""
    cases = []
    for name, (fn, domain) in UNARY.items():
        cases.append(Case(name, fn, lambda rng, d, domain=domain: [leaf(domain(rng, (3, 4)), d)]))
        cases.append(Case(name, fn, lambda rng, d, domain=domain: [leaf(domain(rng, (4, 3)).T, d)]))
    for name, (fn, domain_a, domain_b) in BINARY.items():
        cases.append(Case(name, fn, lambda rng, d, a=domain_a, b=domain_b: [leaf(a(rng, (2, 3)), d), leaf(b(rng, (2, 3)), d)]))
        cases.append(Case(name, fn, lambda rng, d, a=domain_a, b=domain_b: [leaf(a(rng, (2, 1, 4)), d), leaf(b(rng, (3, 1)), d)]))
    matrix = lambda rng, d: [leaf(real(rng, (3, 4)), d)]  # noqa: E731
    cases += [
        Case("sum", lambda x: ops.sum(x, 1), matrix),
        Case("sum", lambda x: ops.sum(x), matrix),
        Case("mean", lambda x: ops.mean(x, 0, keepdim=True), matrix),
        Case("max", lambda x: ops.max(x, 1), lambda rng, d: [leaf(distinct(rng, (3, 4)), d)]),
        Case("min", lambda x: ops.min(x), lambda rng, d: [leaf(distinct(rng, (3, 4)), d)]),
        Case("minimum", ops.minimum, lambda rng, d: [leaf(real(rng, (2, 3)), d), leaf(real(rng, (3,)), d)]),
        Case("var", lambda x: ops.var(x, 1), matrix),
        Case("var", lambda x: ops.var(x, correction=0), matrix),
        Case("std", lambda x: ops.std(x, 1), matrix),
        Case("prod", lambda x: ops.prod(x, 1), lambda rng, d: [leaf(with_zeros(rng, (3, 4)), d)]),
        Case("prod", lambda x: ops.prod(x, 0, keepdim=True), lambda rng, d: [leaf(with_zeros(rng, (3, 4)), d)]),
        Case("prod", lambda x: ops.prod(x), matrix),
        Case("cumsum", lambda x: ops.cumsum(x, 1), matrix),
        Case("cumsum", lambda x: ops.cumsum(x, 0), lambda rng, d: [leaf(real(rng, (4, 3)).T, d)]),
        Case("norm", lambda x: ops.norm(x), matrix),
        Case("norm", lambda x: ops.norm(x, 1, dim=1), lambda rng, d: [leaf(avoiding(0)(rng, (3, 4)), d)]),
        Case("norm", lambda x: ops.norm(x, 3, dim=0, keepdim=True), matrix),
        Case("norm", lambda x: ops.norm(x, float("inf"), dim=1), lambda rng, d: [leaf(distinct(rng, (3, 4)), d)]),
        Case("remainder", ops.remainder, lambda rng, d: [leaf(x, d) for x in away_from_jumps(rng, (3, 4))]),
        Case("topk", lambda x: ops.topk(x, 2, dim=1).values, lambda rng, d: [leaf(distinct(rng, (3, 4)), d)]),
        Case("topk", lambda x: ops.topk(x, 3, dim=0, largest=False).values,
             lambda rng, d: [leaf(distinct(rng, (3, 4)), d)]),
        Case("flip", lambda x: ops.flip(x, (0, 1)), matrix),
        Case("repeat", lambda x: ops.repeat(x, 2, 1, 3), matrix),
        Case("reshape", lambda x: ops.reshape(x, 2, 6), matrix),
        Case("transpose", lambda x: ops.transpose(x, 0, 1), matrix),
        Case("permute", lambda x: ops.permute(x, 2, 0, 1), lambda rng, d: [leaf(real(rng, (2, 3, 4)), d)]),
        Case("expand", lambda x: ops.expand(x, 2, 3, 4), lambda rng, d: [leaf(real(rng, (3, 1)), d)]),
        Case("squeeze", lambda x: ops.squeeze(x, 1), lambda rng, d: [leaf(real(rng, (3, 1, 2)), d)]),
        Case("unsqueeze", lambda x: ops.unsqueeze(x, 0), matrix),
        Case("getitem", lambda x: x[1:, ::2], matrix),
        Case("getitem", lambda x, i: x[i], lambda rng, d: [leaf(real(rng, (3, 4)), d), index([0, 2, 0, 0], d)]),
        Case("getitem", lambda x: x[x.detach() > 0], matrix),
        Case("cat", lambda a, b: ops.cat([a, b], 1), lambda rng, d: [leaf(real(rng, (2, 3)), d), leaf(real(rng, (2, 1)), d)]),
        Case("stack", lambda a, b: ops.stack([a, b], 1), lambda rng, d: [leaf(real(rng, (2, 3)), d), leaf(real(rng, (2, 3)), d)]),
        Case("gather", lambda x, i: ops.gather(x, 1, i), lambda rng, d: [leaf(real(rng, (2, 4)), d), index([[3, 3, 0], [1, 2, 1]], d)]),
        Case("scatter_add", lambda x, i, s: ops.scatter_add(x, 1, i, s), lambda rng, d: [
            leaf(real(rng, (2, 4)), d), index([[3, 3, 0], [1, 2, 1]], d), leaf(real(rng, (2, 3)), d)]),
        Case("scatter", lambda x, i, s: ops.scatter(x, 1, i, s), lambda rng, d: [
            leaf(real(rng, (2, 4)), d), index([[3, 1, 0], [1, 2, 0]], d), leaf(real(rng, (2, 3)), d)]),
        Case("matmul", ops.matmul, lambda rng, d: [leaf(real(rng, (3, 4)), d), leaf(real(rng, (4, 2)), d)]),
        Case("matmul", ops.matmul, lambda rng, d: [leaf(real(rng, (2, 1, 3, 4)), d), leaf(real(rng, (3, 4, 2)), d)]),
        Case("matmul", ops.matmul, lambda rng, d: [leaf(real(rng, (2, 3, 4)), d), leaf(real(rng, (2, 4)).T, d)]),
        Case("matmul", ops.matmul, lambda rng, d: [leaf(real(rng, (4,)), d), leaf(real(rng, (2, 4, 3)), d)]),
        Case("matmul", ops.matmul, lambda rng, d: [leaf(real(rng, (4, 3)).T, d), leaf(real(rng, (4,)), d)]),
        Case("einsum", lambda a, b: ops.einsum("bij,bjk->bik", a, b),
             lambda rng, d: [leaf(real(rng, (2, 3, 4)), d), leaf(real(rng, (2, 4, 5)), d)]),
        Case("einsum", lambda q, k: ops.einsum("bhqd,bhkd->bhqk", q, k),  # attention scores, k not transposed
             lambda rng, d: [leaf(real(rng, (2, 2, 3, 4)), d), leaf(real(rng, (2, 2, 5, 4)).transpose(1, 0, 2, 3), d)]),
        Case("einsum", lambda a, b, c: ops.einsum("ij,jk,kl", a, b, c),  # implicit output: il
             lambda rng, d: [leaf(real(rng, (2, 3)), d), leaf(real(rng, (3, 4)), d), leaf(real(rng, (4, 2)), d)]),
        Case("einsum", lambda a, b: ops.einsum("ijk,j->i", a, b),  # k summed out of a alone: its gradient broadcasts
             lambda rng, d: [leaf(real(rng, (2, 3, 4)), d), leaf(real(rng, (3,)), d)]),
        Case("linear", ops.linear, lambda rng, d: [leaf(real(rng, (2, 3, 4)), d), leaf(real(rng, (5, 4)), d),
                                                   leaf(real(rng, (5,)), d)]),
        Case("linear", ops.linear, lambda rng, d: [leaf(real(rng, (4, 3)).T, d), leaf(real(rng, (4, 3)).T, d), None]),
        Case("where", lambda c, a, b: ops.where(c, a, b), lambda rng, d: [
            Tensor(backend.as_array(rng.uniform(0, 1, (3, 4)) > 0.5, device=d)), leaf(real(rng, (3, 4)), d), leaf(real(rng, (4,)), d)]),
        Case("logsumexp", lambda x: ops.logsumexp(x, 1), matrix),
        Case("logsumexp", lambda x: ops.logsumexp(x, (0, 1), keepdim=True), matrix),
        Case("sort", lambda x: ops.sort(x, 1).values, lambda rng, d: [leaf(distinct(rng, (3, 4)), d)]),
        Case("sort", lambda x: ops.sort(x, 0, descending=True).values, lambda rng, d: [leaf(distinct(rng, (3, 4)), d)]),
        Case("softmax", lambda x: ops.softmax(x, -1), matrix),
        Case("log_softmax", lambda x: ops.log_softmax(x, 0), matrix),
        Case("cross_entropy", lambda x, t: ops.cross_entropy(x, t), lambda rng, d: [leaf(real(rng, (4, 5)), d), index([1, 0, 4, 1], d)]),
        Case("cross_entropy", lambda x, t: ops.cross_entropy(x, t, ignore_index=0, label_smoothing=0.1),
             lambda rng, d: [leaf(real(rng, (4, 5)), d), index([1, 0, 4, 1], d)]),
        Case("layer_norm", lambda x, w, b: ops.layer_norm(x, (4,), w, b), lambda rng, d: [
            leaf(real(rng, (3, 4)), d), leaf(real(rng, (4,)), d), leaf(real(rng, (4,)), d)]),
        Case("dropout", seeded_dropout, lambda rng, d: [leaf(real(rng, (4, 5)), d)]),
        Case("embedding", lambda i, w: ops.embedding(i, w), lambda rng, d: [index([[0, 2, 2], [1, 0, 2]], d), leaf(real(rng, (3, 4)), d)]),
        Case("binary_cross_entropy", ops.fused.binary_cross_entropy,  # probabilities away from 0 and 1
             lambda rng, d: [leaf(rng.uniform(0.05, 0.95, (3, 4)), d), leaf(rng.uniform(0, 1, (3, 4)), d)]),
        Case("attention", causal_attention, lambda rng, d: [leaf(real(rng, (2, 4, 3)), d) for _ in range(3)]),
        Case("attention", padded_attention, lambda rng, d: [leaf(real(rng, (1, 2, 4, 3)), d) for _ in range(3)]),
    ]
    return cases


def describe_shapes(inputs):
    """'3x4 4' for two inputs; a trailing T marks a transposed (non-contiguous) one."""
    return " ".join(("x".join(map(str, x.shape)) or "scalar") + ("" if x.data.flags.c_contiguous else "T")
                    for x in inputs if isinstance(x, Tensor))


def run_catalogue(device="cpu", seed=0):
    """Gradcheck every case; one row per op: shapes tried, worst errors, pass/fail."""
    rng = backend.xp_for("cpu").random.default_rng(seed)
    rows = {}
    for case in catalogue_cases():
        inputs = case.inputs(rng, device)
        row = rows.setdefault(case.name, {"op": case.name, "shapes": [], "max_abs_error": 0.0,
                                          "max_rel_error": 0.0, "passed": True, "error": ""})
        row["shapes"].append(describe_shapes(inputs))
        try:
            result = gradcheck(case.fn, inputs)
            row["max_abs_error"] = max(row["max_abs_error"], result.max_abs_error)
            row["max_rel_error"] = max(row["max_rel_error"], result.max_rel_error)
        except GradcheckError as error:
            row["passed"], row["error"] = False, str(error)
    return list(rows.values())
