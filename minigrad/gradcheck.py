"""Check a backward pass against finite differences.

For a function f and an input x, the engine's backward gives dL/dx. The same
number can be estimated without calculus, by nudging x both ways:

    df/dx ~= (f(x + eps) - f(x - eps)) / (2 eps)        (error O(eps^2))

If the two disagree, the backward is wrong. This only works in float64: with
eps = 1e-6, float32's rounding error (~1e-7 relative) swamps the signal.

Full mode builds both whole Jacobians, element by element: exact, but two
forward passes per input element and one backward per output element. Fast mode
(as Chainer's check_backward and PyTorch's fast_mode do) compares one number per
random direction instead: v . J . u, with u over the input and v over the
output -- backward gives v . J, a directional difference gives J . u.
"""
import math
from dataclasses import dataclass

from minigrad import backend
from minigrad.autograd import grad as gradients
from minigrad.grad_mode import no_grad
from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic gradient (backward) disagrees with finite differences."""


@dataclass
class GradcheckResult:
    max_abs_error: float
    max_rel_error: float

    def __bool__(self):
        return True  # a failure raises instead


FLOAT32_EXPLANATION = (
    "gradcheck needs float64 inputs: float32 keeps ~7 significant digits, so with eps = {eps} the rounding "
    "of f(x + eps) - f(x - eps) puts the finite differences off by far more than the tolerance (~1 % at 1e-6). "
    "Make the inputs with dtype=mg.float64, or pass upcast=True to check float64 copies."
)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast=False, upcast=False, directions=3, seed=0,
              raise_exception=True):
    """Raise GradcheckError unless backward of fn(*inputs) matches finite differences (with
    raise_exception=False, return False instead, as PyTorch's gradcheck).

    inputs: a tensor or a sequence of them. Every floating-point input with requires_grad=True is
    checked; other inputs (indices, masks, constants) are passed through unchanged. fn may return a
    tensor of any shape, or a tuple of them (each floating one is checked: topk's indices have no
    gradient). No .grad changes: the gradients are taken as values (mg.autograd.grad).
    """
    given = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not any(isinstance(x, Tensor) and x.requires_grad for x in given):
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    compare = compare_projections if fast else compare_jacobians
    try:
        inputs = [prepare_input(x, upcast, eps) for x in given]
        checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
        check_copies_are_used(fn, inputs, [i for i in checked if inputs[i] is not given[i]])
        return compare(fn, inputs, checked, eps, atol, rtol, directions, seed)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def outputs_of(fn, inputs):
    """fn(*inputs)'s floating outputs, as a list: one tensor, or those of a tuple (an integer one, such
    as topk's indices, has no gradient to check)."""
    out = fn(*inputs)
    outputs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outputs if isinstance(o, Tensor) and backend.is_floating(o.dtype)]


def check_copies_are_used(fn, inputs, copied):
    """A copy fn never reads (it reads the original: `lambda w: layer(x)` reads layer.weight) would pass
    with both Jacobians 0, having checked nothing: refused. One backward finds which inputs fn reaches."""
    if not copied:
        return
    ones = backend.xp_of(inputs[copied[0]].data).ones(evaluate(fn, inputs).size)
    unused = [i for i, g in zip(copied, gradients_of(fn, inputs, copied, ones)) if g is None]
    if unused:
        raise GradcheckError(
            f"input {unused[0]} is checked through a float64 copy (made by upcast=True, or because a graph "
            "computed it), and fn never uses that copy: fn reads the original tensor itself. Make the model "
            "float64 (model.to(mg.float64)) and pass its float64 parameters instead")


def prepare_input(x, upcast, eps):
    """A checked input: the tensor itself where it is a float64 leaf (fn may read it from outside, as
    `lambda w: layer(x)` reads layer.weight), else a float64 leaf copy. An input a graph computed
    (mg.randn(...) * 0.1) would get no .grad and would take backward on into its own history."""
    if not (isinstance(x, Tensor) and x.requires_grad):
        return x
    if x.dtype != backend.float64 and not upcast:
        raise GradcheckError(FLOAT32_EXPLANATION.format(eps=eps))
    if x.dtype == backend.float64 and x.is_leaf:
        return x
    return Tensor(x.data.astype(backend.float64, copy=True), requires_grad=True)


def evaluate(fn, inputs):
    """f(inputs) as a flat float64 array (every floating output's elements, in order), without
    recording a graph."""
    with no_grad():
        outputs = outputs_of(fn, inputs)
    if not outputs:
        raise ValueError("gradcheck: fn returns no floating-point tensor, so there is no gradient to check")
    xp = backend.xp_of(outputs[0].data)
    return xp.concatenate([o.data.astype(backend.float64).ravel() for o in outputs])


def gradients_of(fn, inputs, wanted, output_grad):
    """The backward pass of fn(*inputs) with v = output_grad (cut into a piece per output): the gradient
    of each wanted input, taken as a value (mg.autograd.grad), or None where fn does not reach it."""
    outputs, seeds, start = outputs_of(fn, inputs), [], 0
    for o in outputs:
        seeds.append(output_grad[start:start + o.numel()].reshape(o.shape).astype(o.dtype))
        start += o.numel()
    differentiable = [(o, seed) for o, seed in zip(outputs, seeds) if o.requires_grad]
    if not differentiable:
        return [None] * len(wanted)
    return gradients([o for o, _ in differentiable], [inputs[i] for i in wanted],
                     [seed for _, seed in differentiable], allow_unused=True)


def backward_of(fn, inputs, checked, output_grad):
    """The engine's v . J for each checked input, as float64 arrays (zeros where fn does not reach it)."""
    xp = backend.xp_of(output_grad)
    return [xp.zeros(inputs[i].shape) if g is None else g.data.astype(backend.float64)
            for i, g in zip(checked, gradients_of(fn, inputs, checked, output_grad))]


def directional_difference(fn, inputs, x, direction, eps):
    """(f(x + eps u) - f(x - eps u)) / 2 eps, nudging x's array in place and restoring it."""
    original = x.data.copy()
    x.data += eps * direction
    plus = evaluate(fn, inputs)
    x.data[...] = original - eps * direction
    minus = evaluate(fn, inputs)
    x.data[...] = original
    return (plus - minus) / (2 * eps)


def compare_jacobians(fn, inputs, checked, eps, atol, rtol, directions, seed):
    xp = backend.xp_of(inputs[checked[0]].data)
    with no_grad():
        out_shapes = [tuple(o.shape) for o in outputs_of(fn, inputs)]
    n_out = sum(math.prod(shape) for shape in out_shapes)
    # analytic: one backward per output element k gives row k of every input's Jacobian
    analytic = [xp.zeros((n_out, inputs[i].numel())) for i in checked]
    for k in range(n_out):
        one_hot = xp.zeros(n_out)
        one_hot[k] = 1
        for jac, grad in zip(analytic, backward_of(fn, inputs, checked, one_hot)):
            jac[k] = grad.ravel()
    worst = GradcheckResult(0.0, 0.0)
    for position, i in enumerate(checked):
        x = inputs[i]
        numeric = xp.zeros_like(analytic[position])
        for j in range(x.numel()):  # one column of the Jacobian per nudged element
            direction = xp.zeros(x.numel())
            direction[j] = 1
            numeric[:, j] = directional_difference(fn, inputs, x, direction.reshape(x.shape), eps)
        worst = report(analytic[position], numeric, atol, rtol, worst, describe=lambda k, j: (
            f"input {i} (shape {x.shape}), element {backend.unravel_index(j, x.shape)}, "
            f"{output_element(k, out_shapes)}"))
    return worst


def output_element(k, shapes):
    """The k-th of the outputs' elements counted together, by its place: "output element (1, 0)", or
    with several outputs "output 1, element (1, 0)"."""
    for n, shape in enumerate(shapes):
        if k < math.prod(shape):
            return f"output {n}, element {backend.unravel_index(k, shape)}" if len(shapes) > 1 else \
                f"output element {backend.unravel_index(k, shape)}"
        k -= math.prod(shape)
    raise IndexError(k)


def compare_projections(fn, inputs, checked, eps, atol, rtol, directions, seed):
    xp = backend.xp_of(inputs[checked[0]].data)
    rng = xp.random.default_rng(seed)
    n_out = evaluate(fn, inputs).size
    worst = GradcheckResult(0.0, 0.0)
    for d in range(directions):
        v = rng.standard_normal(n_out)
        grads = backward_of(fn, inputs, checked, v)
        for position, i in enumerate(checked):
            x = inputs[i]
            u = rng.standard_normal(x.shape)
            analytic = xp.asarray([[float((grads[position] * u).sum())]])
            numeric = xp.asarray([[float((directional_difference(fn, inputs, x, u, eps) * v).sum())]])
            worst = report(analytic, numeric, atol, rtol, worst, describe=lambda k, j: (
                f"input {i} (shape {x.shape}), random direction {d} (v . J . u)"))
    return worst


def report(analytic, numeric, atol, rtol, worst, describe):
    """Raise on the worst element beyond atol + rtol |numeric|; else update the running maxima."""
    if analytic.size == 0:  # an empty output (e.g. a mask that picks nothing) has nothing to compare
        return worst
    xp = backend.xp_of(analytic)
    error = xp.abs(analytic - numeric)
    excess = error - (atol + rtol * xp.abs(numeric))
    # a NaN/inf on either side always fails: a backward that gives one is wrong, and a function
    # that is not finite next to the point cannot vouch for any gradient
    excess = xp.where(xp.isfinite(analytic) & xp.isfinite(numeric), excess, xp.inf)
    k, j = backend.unravel_index(int(xp.argmax(excess)), excess.shape)
    if excess[k, j] > 0:
        raise GradcheckError(
            f"gradient mismatch at {describe(k, j)}: analytic (backward) {float(analytic[k, j]):.6g} "
            f"vs numeric (finite differences) {float(numeric[k, j]):.6g}, "
            f"abs error {float(error[k, j]):.3g} > atol {atol} + rtol {rtol} * |numeric|"
        )
    scale = xp.maximum(xp.abs(analytic), xp.abs(numeric))
    relative = xp.where(scale > atol, error / xp.where(scale > atol, scale, 1), 0)
    return GradcheckResult(max(worst.max_abs_error, float(error.max())),  # not empty: see the top
                           max(worst.max_rel_error, float(relative.max())))
