"""Property tests that close gaps an audit of the op tests found: remainder over broadcasting,
cumsum and prod over random dims (with exact zeros), einsum over random specs, Cast and ToDevice
gradients, attention with broadcast batch shapes, ties in max / min / maximum, and the fused
binary cross-entropy, dropout and linear against their composed versions.

Every gradient check is in float64 (mg.gradcheck); hypothesis draws small shapes, broadcasting
and transposed (non-contiguous) layouts, with the shared strategies and helpers imported."""
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import ops
from minigrad.opcheck import nonzero, real
from tests import simulated_cuda
from tests.strategies import broadcastable_pairs, make_input, nonempty_shapes, seeds, shapes
from tests.test_fused import (
    assert_same_value_and_grad, composed_attention, leaf, transposed_leaf,
)
from tests.test_porting_more import matches_torch

checks = settings(max_examples=40, deadline=None)
few = settings(max_examples=20, deadline=None)


def as_leaf(array, transposed=False):
    """A float64 leaf of array's values, in a non-contiguous (Fortran-order) layout when transposed."""
    return transposed_leaf(array) if transposed else leaf(array)


def sum_to(array, shape):
    """array summed back to shape, the way a broadcast operand's gradient adds up (NumPy only)."""
    added = array.ndim - len(shape)
    array = array.sum(axis=tuple(range(added))) if added else array
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and array.shape[i] != 1)
    return array.sum(axis=stretched, keepdims=True) if stretched else array


@st.composite
def shape_and_one_dim(draw, shape_strategy=nonempty_shapes):
    """A non-empty shape and one of its dims (negative ones too), as cumsum and prod take."""
    shape = draw(shape_strategy)
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


# ---- 1. remainder ----------------------------------------------------------------------------------
def away_from_jumps_broadcast(pair, seed):
    """(a, b) of the two shapes of a broadcastable pair with every a / b of the broadcast at least 0.2
    from a whole number. broadcastable_pairs makes one shape the whole broadcast shape: that operand is
    built from the other, a = b (n + f) or b = a / (n + f), with f in [0.2, 0.8]."""
    rng = np.random.default_rng(seed)
    full = np.broadcast_shapes(*pair)
    quotient = rng.integers(-3, 3, full) + rng.uniform(0.2, 0.8, full)
    if tuple(pair[0]) == full:
        b = nonzero(rng, pair[1])
        return b * quotient, b
    a = nonzero(rng, pair[0])
    return a, a / quotient


@checks
@given(pair=broadcastable_pairs(), seed=seeds, transposed=st.booleans())
def test_remainder_over_broadcasting_away_from_the_jumps(pair, seed, transposed):
    """ops.remainder equals np.remainder and passes gradcheck for broadcast operands (a transposed
    one too), where a / b keeps 0.2 away from the whole numbers at which a % b jumps."""
    a_array, b_array = away_from_jumps_broadcast(pair, seed)
    ratio = np.broadcast_to(a_array / b_array, np.broadcast_shapes(*pair))
    assert (np.abs(ratio - np.round(ratio)) >= 0.2 - 1e-9).all()
    a, b = as_leaf(a_array, transposed), as_leaf(b_array)
    np.testing.assert_allclose(ops.remainder(a, b).numpy(), np.remainder(a_array, b_array), rtol=1e-12, atol=1e-12)
    mg.gradcheck(ops.remainder, [a, b])


def test_remainder_gradient_at_the_jumps_is_the_documented_one():
    """Remainder documents d/da = 1 and d/db = -floor(a/b); at a jump (a / b whole, a % b = 0) that
    is still the rule, with floor(a/b) = a/b, as in torch.remainder."""
    a = mg.tensor([3.0, -3.0, 2.0, 0.0, 4.5], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([1.5, 1.5, -0.5, 2.0, -1.5], dtype=mg.float64, requires_grad=True)
    w = np.array([0.5, -2.0, 1.5, 3.0, -0.25])
    out = ops.remainder(a, b)
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.0, 0.0, 0.0, 0.0])
    (out * mg.tensor(w, dtype=mg.float64)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), w)
    np.testing.assert_array_equal(b.grad.numpy(), -w * np.array([2.0, -2.0, -4.0, 0.0, -3.0]))
    for x in (a, b):
        x.grad = None
    torch = pytest.importorskip("torch")
    matches_torch(ops.remainder, torch.remainder, [a, b])


# ---- 2. cumsum and prod ------------------------------------------------------------------------------
def with_some_zeros(rng, shape):
    """Reals in [-2, 2) with about 30% of the elements exactly 0."""
    x = rng.uniform(-2, 2, shape)
    return np.where(rng.uniform(size=shape) < 0.3, 0.0, x)


@checks
@given(case=shape_and_one_dim(), seed=seeds, transposed=st.booleans())
def test_cumsum_along_any_dim(case, seed, transposed):
    """ops.cumsum along one dim (negative too), of a contiguous or transposed input, equals np.cumsum
    and passes gradcheck."""
    shape, dim = case
    x = make_input(real, shape, seed, transposed)
    np.testing.assert_allclose(ops.cumsum(x, dim).numpy(), np.cumsum(x.numpy(), axis=dim), rtol=1e-12, atol=1e-12)
    mg.gradcheck(lambda x: ops.cumsum(x, dim), [x])


@checks
@given(case=shape_and_one_dim(), whole=st.booleans(), keepdim=st.booleans(), seed=seeds, transposed=st.booleans())
def test_prod_with_exact_zeros(case, whole, keepdim, seed, transposed):
    """ops.prod along one dim (or of everything), of inputs with ~30% exact zeros, contiguous or
    transposed, equals np.prod and passes gradcheck: the gradient at a 0 is the others' product."""
    shape, dim = case
    dim = None if whole else dim
    x = make_input(with_some_zeros, shape, seed, transposed)
    expected = np.prod(x.numpy(), axis=dim, keepdims=keepdim)
    np.testing.assert_allclose(ops.prod(x, dim, keepdim).numpy(), expected, rtol=1e-12, atol=1e-12)
    mg.gradcheck(lambda x: ops.prod(x, dim, keepdim), [x])


# ---- 3. einsum ------------------------------------------------------------------------------------
LETTERS = "abcd"


@st.composite
def einsum_cases(draw):
    """(spec, operand shapes, which operands are transposed): 1-3 operands, each with 1-3 distinct
    letters of LETTERS; each letter has one size in 1-3, but an operand may hold it as 1 (broadcast).
    The output is implicit, or an explicit subset of the letters in any order (the rest summed out)."""
    sizes = {c: draw(st.integers(1, 3)) for c in LETTERS}
    count = draw(st.integers(1, 3))
    terms = ["".join(draw(st.lists(st.sampled_from(LETTERS), min_size=1, max_size=3, unique=True)))
             for _ in range(count)]
    used = sorted(set("".join(terms)))
    spec = ",".join(terms)
    if draw(st.booleans()):
        spec += "->" + "".join(draw(st.lists(st.sampled_from(used), max_size=len(used), unique=True)))
    operand_shapes = [tuple(1 if draw(st.integers(0, 3)) == 0 else sizes[c] for c in term) for term in terms]
    return spec, operand_shapes, [draw(st.booleans()) for _ in terms]


@checks
@given(case=einsum_cases(), seed=seeds)
@example(case=("a->", [(1,)], [False]), seed=0)  # a size-1 letter summed out alone
@example(case=("ab,c->c", [(2, 1), (2,)], [True, False]), seed=0)
def test_einsum_random_specs(case, seed):
    """mg.einsum over random valid specs (broadcast size-1 dims, letters summed out, implicit outputs,
    non-contiguous operands) equals np.einsum, passes gradcheck, and matches torch.einsum in value and
    gradient."""
    spec, operand_shapes, transposed = case
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-2, 2, shape) for shape in operand_shapes]
    operands = [as_leaf(a, t) for a, t in zip(arrays, transposed)]
    np.testing.assert_allclose(mg.einsum(spec, *operands).numpy(), np.einsum(spec, *arrays), rtol=1e-12, atol=1e-12)
    mg.gradcheck(lambda *xs: mg.einsum(spec, *xs), operands)
    torch = pytest.importorskip("torch")
    matches_torch(lambda *xs: mg.einsum(spec, *xs), lambda *xs: torch.einsum(spec, *xs), operands)


# ---- 4. cast ----------------------------------------------------------------------------------------
@few
@given(shape=shapes, seed=seeds, transposed=st.booleans())
def test_cast_sends_back_exactly_the_gradient_in_the_inputs_dtype(shape, seed, transposed):
    """x.to(mg.float32) of a float64 leaf: backward of sum(y * w) gives x.grad == w.astype(float64)
    exactly (a float64 array, no rounding), and the reverse cast gives w.astype(float32)."""
    x = make_input(real, shape, seed, transposed)
    w = np.random.default_rng(seed + 1).standard_normal(shape).astype(np.float32)
    y = x.to(mg.float32)
    assert y.dtype == mg.float32 and not y.is_leaf
    (y * mg.tensor(w, dtype=mg.float32)).sum().backward()
    assert x.grad.dtype == mg.float64 and x.grad.shape == tuple(shape)
    np.testing.assert_array_equal(x.grad.numpy(), w.astype(np.float64))

    x32 = mg.tensor(x.numpy().astype(np.float32), dtype=mg.float32, requires_grad=True)
    w64 = np.random.default_rng(seed + 2).standard_normal(shape)
    (x32.to(mg.float64) * mg.tensor(w64, dtype=mg.float64)).sum().backward()
    assert x32.grad.dtype == mg.float32
    np.testing.assert_array_equal(x32.grad.numpy(), w64.astype(np.float32))


# ---- 5. to_device -------------------------------------------------------------------------------------
@pytest.fixture
def fake_cuda(monkeypatch):
    simulated_cuda.install(monkeypatch)
    mg.manual_seed(0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=nonempty_shapes, seed=seeds, transposed=st.booleans())
def test_to_device_round_trip_gradient_on_the_simulated_gpu(fake_cuda, shape, seed, transposed):
    """ToDevice on the simulated GPU: lambda x: (x.to("cuda") * w).cpu() passes gradcheck, and x.grad
    of sum(out * g) lands on the CPU as g * w; a GPU leaf moved to the CPU gets its gradient on the GPU."""
    rng = np.random.default_rng(seed)
    x = make_input(real, shape, seed, transposed)
    w_array, g = rng.uniform(-2, 2, shape), rng.standard_normal(shape)
    w = mg.tensor(w_array, dtype=mg.float64, device="cuda")
    fn = lambda x: (x.to("cuda") * w).cpu()  # noqa: E731
    mg.gradcheck(fn, [x])
    out = fn(x)
    assert out.device == "cpu"
    out.backward(gradient=g)
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), g * w_array, rtol=1e-15)

    on_gpu = mg.tensor(x.numpy(), dtype=mg.float64, device="cuda", requires_grad=True)
    (on_gpu.cpu() * mg.tensor(w_array, dtype=mg.float64)).backward(gradient=g)
    assert on_gpu.grad.device == "cuda"
    np.testing.assert_allclose(on_gpu.grad.numpy(), g * w_array, rtol=1e-15)


# ---- 6. attention with broadcast batch shapes ----------------------------------------------------------
@st.composite
def broadcast_attention_case(draw):
    """q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) whose batch shapes differ but broadcast: each
    drops some leading dims of one batch shape and sets some of its dims to 1."""
    batch = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))

    def part():
        kept = batch[draw(st.integers(0, len(batch))):]
        return tuple(1 if draw(st.booleans()) else n for n in kept)

    tq, tk, d, dv = (draw(st.integers(1, 3)) for _ in range(4))
    return part() + (tq, d), part() + (tk, d), part() + (tk, dv)


@checks
@given(case=broadcast_attention_case(), causal=st.booleans(), scale=st.sampled_from([None, 0.7]), seed=seeds,
       transpose_k=st.booleans())
@example(case=((3, 2), (4, 2), (1, 4, 2)), causal=False, scale=None, seed=0, transpose_k=False)  # v has more dims
@example(case=((2, 3, 2, 2), (1, 3, 4, 2), (3, 4, 1)), causal=True, scale=None, seed=0, transpose_k=True)
def test_attention_with_broadcast_batch_shapes(case, causal, scale, seed, transpose_k):
    """scaled_dot_product_attention with q, k, v of different, broadcastable batch shapes (k possibly
    non-contiguous) passes gradcheck and agrees in value and gradient with the composed
    softmax(q k^T scale) v, each gradient summed back to its own operand's shape."""
    rng = np.random.default_rng(seed)
    q, k, v = (as_leaf(rng.standard_normal(shape), t) for shape, t in zip(case, (False, transpose_k, False)))
    allowed = mg.tensor(np.tril(np.ones((case[0][-2], case[1][-2]), dtype=bool))) if causal else None

    def fused(q, k, v):
        return ops.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)

    def composed(q, k, v):
        return composed_attention(q, k, v, allowed, scale=scale)

    mg.gradcheck(fused, [q, k, v])
    assert_same_value_and_grad(fused, composed, [q, k, v])
    assert q.grad.shape == case[0] and k.grad.shape == case[1] and v.grad.shape == case[2]


# ---- 7. ties -----------------------------------------------------------------------------------------
def tied(shape):
    """Whole numbers in [-2, 2] as float64: small shapes then have many ties."""
    return hnp.arrays(np.float64, shape, elements=st.integers(-2, 2).map(float))


@st.composite
def tied_array_and_dim(draw):
    shape, dim = draw(shape_and_one_dim())
    return draw(tied(shape)), dim


@pytest.mark.parametrize("name", ["max", "min"])
@checks
@given(case=tied_array_and_dim(), keepdim=st.booleans(), seed=seeds)
def test_max_and_min_split_the_gradient_evenly_among_tied_winners(name, case, keepdim, seed):
    """ops.max / ops.min along a dim of integer-valued input: the gradient of sum(out * w) is w shared
    evenly by the elements equal to the max (min) along that dim, as torch.amax (amin) gives."""
    array, dim = case
    reduce = {"max": ops.max, "min": ops.min}[name]
    extreme = {"max": np.max, "min": np.min}[name](array, axis=dim, keepdims=True)
    winners = array == extreme
    x = leaf(array)
    out = reduce(x, dim, keepdim)
    np.testing.assert_array_equal(out.numpy(), extreme if keepdim else np.squeeze(extreme, dim))
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * mg.tensor(w, dtype=mg.float64)).sum().backward()
    expected = winners * w.reshape(extreme.shape) / winners.sum(axis=dim, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14, atol=1e-15)
    x.grad = None
    torch = pytest.importorskip("torch")
    amax_or_amin = {"max": torch.amax, "min": torch.amin}[name]
    matches_torch(lambda x: reduce(x, dim, keepdim), lambda x: amax_or_amin(x, dim, keepdim), [x])


@st.composite
def tied_pairs(draw):
    pair = draw(broadcastable_pairs())
    return draw(tied(pair[0])), draw(tied(pair[1]))


@checks
@given(case=tied_pairs(), seed=seeds)
def test_maximum_and_minimum_split_ties_half_and_half_under_broadcasting(case, seed):
    """ops.maximum (and ops.minimum) of broadcast integer-valued operands: each output's gradient goes to
    the larger (smaller) operand, 0.5 / 0.5 on a tie, summed back over the broadcast; as torch's."""
    a_array, b_array = case
    full = np.broadcast_shapes(a_array.shape, b_array.shape)
    w = np.random.default_rng(seed).standard_normal(full)
    for op, sign in ((ops.maximum, 1), (ops.minimum, -1)):
        a, b = leaf(a_array), leaf(b_array)
        out = op(a, b)
        np.testing.assert_array_equal(out.numpy(), sign * np.maximum(sign * a_array, sign * b_array))
        (out * mg.tensor(w, dtype=mg.float64)).sum().backward()
        share_a = (sign * a_array > sign * b_array) + 0.5 * (a_array == b_array)
        np.testing.assert_allclose(a.grad.numpy(), sum_to(w * share_a, a_array.shape), rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(b.grad.numpy(), sum_to(w * (1 - share_a), b_array.shape), rtol=1e-14, atol=1e-14)
        a.grad = b.grad = None
        torch = pytest.importorskip("torch")
        matches_torch(op, {1: torch.maximum, -1: torch.minimum}[sign], [a, b])


# ---- 8. fused ops against their composed versions ----------------------------------------------------
def composed_binary_cross_entropy(x, y):
    return -(y * x.log() + (1 - y) * (1 - x).log())


@checks
@given(pair=broadcastable_pairs(), seed=seeds, transposed=st.booleans())
def test_binary_cross_entropy_matches_composed_under_broadcasting(pair, seed, transposed):
    """ops.fused.binary_cross_entropy of probabilities x in (0.05, 0.95) and targets y in [0, 1], of
    broadcast shapes either way round (x possibly transposed), passes gradcheck in both inputs and
    equals -(y log x + (1 - y) log(1 - x)) composed, in value and gradient."""
    rng = np.random.default_rng(seed)
    x = as_leaf(rng.uniform(0.05, 0.95, pair[0]), transposed)
    y = leaf(rng.uniform(0, 1, pair[1]))
    bce = ops.fused.binary_cross_entropy
    mg.gradcheck(bce, [x, y])
    assert_same_value_and_grad(bce, composed_binary_cross_entropy, [x, y])


@few
@given(shape=nonempty_shapes, seed=seeds)
def test_functional_binary_cross_entropy_mean_matches_composed(shape, seed):
    """nn.functional.binary_cross_entropy (the fused op, then the mean) equals the composed loss's mean."""
    rng = np.random.default_rng(seed)
    x, y = leaf(rng.uniform(0.05, 0.95, shape)), leaf(rng.uniform(0, 1, shape))
    assert_same_value_and_grad(mg.nn.functional.binary_cross_entropy,
                               lambda x, y: composed_binary_cross_entropy(x, y).mean(), [x, y])


@checks
@given(shape=nonempty_shapes, p=st.sampled_from([0.1, 0.3, 0.5, 0.8]), seed=seeds, mask_seed=seeds,
       transposed=st.booleans())
def test_dropout_matches_the_same_seeded_mask_composed(shape, p, seed, mask_seed, transposed):
    """ops.dropout after mg.manual_seed(s) is x * keep / (1 - p), keep = (mg.rand(x.shape) >= p) drawn
    after the same seed (dropout's draw: the device generator's uniform [0, 1) in x's dtype), in value
    and gradient, for a contiguous or transposed x."""
    x = make_input(real, shape, seed, transposed)

    def fused(x):
        mg.manual_seed(mask_seed)
        return ops.dropout(x, p)

    def composed(x):
        mg.manual_seed(mask_seed)
        keep = mg.rand(*x.shape, dtype=x.dtype) >= p
        return x * keep / (1 - p)

    assert_same_value_and_grad(fused, composed, [x])


@st.composite
def linear_case(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    features_in, features_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return batch + (features_in,), (features_out, features_in), draw(st.booleans())


@checks
@given(case=linear_case(), seed=seeds, transposed_x=st.booleans())
def test_linear_with_a_non_contiguous_weight_matches_composed(case, seed, transposed_x):
    """ops.linear(x, W, b) with W held non-contiguous (a transposed layout), with and without a bias,
    passes gradcheck and equals x @ W.T + b composed, in value and gradient."""
    x_shape, w_shape, with_bias = case
    rng = np.random.default_rng(seed)
    x = as_leaf(rng.uniform(-2, 2, x_shape), transposed_x)
    weight = transposed_leaf(rng.uniform(-2, 2, w_shape))
    bias = leaf(rng.uniform(-2, 2, w_shape[:1])) if with_bias else None

    def composed(x, weight, bias):
        y = x @ weight.T
        return y if bias is None else y + bias

    mg.gradcheck(ops.linear, [x, weight, bias])
    assert_same_value_and_grad(ops.linear, composed, [x, weight, bias])
