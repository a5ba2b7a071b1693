"""Tests that close the gaps a coverage audit of the op tests found, against the standard "every
differentiable op is gradchecked in float64 (hypothesis over small shapes, broadcasting, transposed
(non-contiguous) inputs, repeated indices); fused ops also agree with their composed versions".

What was missing, by op:
  where: non-contiguous branches, a condition smaller than the output;  var / std: non-contiguous
  inputs, correction 2;  logsumexp, norm, flip, repeat, topk, sort, index_select, masked_select, index_add
  (no gradcheck at all before), batched diagonal: only fixed shapes;  getitem, gather, cumprod:
  no non-contiguous input (and getitem no repeated index pairs over two dims);  cat: pieces of one
  size only;  scatter: never with repeated indices;  softmax / log_softmax: one dim at a time;
  cross_entropy: composed agreement only for contiguous logits;  attention: only k non-contiguous;
  batch_norm, huber / smooth_l1, kl_div, normalize, cosine_similarity, pad, cross_entropy with
  probability targets: fixed shapes;  glu, nll_loss: no non-contiguous input;  and no
  gradient was ever checked through the fast CPU reductions (backend.sum_dims / max_dims on arrays of
  FAST_REDUCE_MIN_SIZE elements or more), which hypothesis's small shapes never reach.

Every gradient check is in float64 (mg.gradcheck), with the shared strategies and helpers."""
import math

import numpy as np
import pytest
import scipy.special
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, ops
from minigrad.nn import functional as F
from minigrad.opcheck import distinct, positive, real
from tests.strategies import broadcastable_pairs, make_input, nonempty_shapes, seeds, small_dims
from tests.test_fused import (
    assert_same_value_and_grad, attention_case, allowed_of, classification, composed_attention,
    composed_cross_entropy, ids_tensor, leaf, transposed_leaf,
)

checks = settings(max_examples=25, deadline=None)
few = settings(max_examples=12, deadline=None)

several_dims = st.lists(small_dims, min_size=2, max_size=3).map(tuple)


def as_leaf(array, transposed=False):
    """A float64 leaf of array's values, in a non-contiguous (Fortran-order) layout when transposed."""
    return transposed_leaf(array) if transposed else leaf(array)


@st.composite
def shape_and_dims(draw, shape_strategy=nonempty_shapes, allow_none=True):
    """A shape and the dims to reduce: None (all), one dim (negative too) or a tuple of distinct dims."""
    shape = draw(shape_strategy)
    options = [st.integers(-len(shape), len(shape) - 1),
               st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple)]
    if allow_none:
        options.append(st.none())
    return shape, draw(st.one_of(*options))


def reduced_count(shape, dims):
    if dims is None:
        return math.prod(shape)
    return math.prod(shape[d] for d in np.atleast_1d(dims))


def numpy_axis(dims):
    return dims if dims is None or isinstance(dims, int) else tuple(dims)


def with_some_zeros(rng, shape):
    x = rng.uniform(-2, 2, shape)
    return np.where(rng.uniform(size=shape) < 0.3, 0.0, x)


def away_from_zero(rng, shape, margin=0.1):
    """Reals in [-2, 2] at least margin from 0, where |x| has its kink."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(margin, 2, shape)


# ---- 1. elementwise and reductions --------------------------------------------------------------------
@st.composite
def where_case(draw):
    """(condition, a, b) shapes: a and b broadcast either way round, the condition the broadcast
    shape or one narrower than it (leading dims dropped, some dims 1), so it broadcasts too."""
    a_shape, b_shape = draw(broadcastable_pairs())
    full = np.broadcast_shapes(a_shape, b_shape)
    drop = draw(st.integers(0, len(full)))
    condition = tuple(1 if draw(st.booleans()) else n for n in full[drop:])
    return condition, a_shape, b_shape


@checks
@given(case=where_case(), seed=seeds, transposed=st.tuples(st.booleans(), st.booleans()))
def test_where_with_non_contiguous_branches_and_a_broadcast_condition(case, seed, transposed):
    """ops.where(c, a, b) with a and b of broadcast shapes (either non-contiguous) and c narrower than
    the output equals np.where and passes gradcheck in both branches."""
    condition_shape, a_shape, b_shape = case
    a, b = make_input(real, a_shape, seed, transposed[0]), make_input(real, b_shape, seed + 1, transposed[1])
    condition = np.random.default_rng(seed).uniform(size=condition_shape) > 0.5
    c = mg.tensor(condition)
    np.testing.assert_array_equal(ops.where(c, a, b).numpy(), np.where(condition, a.numpy(), b.numpy()))
    mg.gradcheck(lambda a, b: ops.where(c, a, b), [a, b])


@checks
@given(case=shape_and_dims(several_dims), keepdim=st.booleans(), correction=st.sampled_from([0, 1, 2]),
       seed=seeds)
def test_var_and_std_of_non_contiguous_inputs(case, keepdim, correction, seed):
    """ops.var / ops.std of a transposed (non-contiguous) input, over one dim, several or all, with
    corrections 0, 1 and 2, equal NumPy's (ddof) and pass gradcheck."""
    shape, dims = case
    assume(reduced_count(shape, dims) > correction)
    x = make_input(real, shape, seed, transposed=True)
    for op, reference in ((ops.var, np.var), (ops.std, np.std)):
        expected = reference(x.numpy(), axis=numpy_axis(dims), keepdims=keepdim, ddof=correction)
        np.testing.assert_allclose(op(x, dims, keepdim, correction=correction).numpy(), expected, rtol=1e-12)
        mg.gradcheck(lambda x: op(x, dims, keepdim, correction=correction), [x])


@checks
@given(case=shape_and_dims(allow_none=False), keepdim=st.booleans(), seed=seeds, transposed=st.booleans())
def test_logsumexp_over_drawn_dims_and_layouts(case, keepdim, seed, transposed):
    """ops.logsumexp over one dim (negative too) or a tuple of them, of a contiguous or transposed input,
    equals scipy's and passes gradcheck."""
    shape, dims = case
    x = make_input(real, shape, seed, transposed)
    expected = scipy.special.logsumexp(x.numpy(), axis=numpy_axis(dims), keepdims=keepdim)
    np.testing.assert_allclose(ops.logsumexp(x, dims, keepdim).numpy(), expected, rtol=1e-12)
    mg.gradcheck(lambda x: ops.logsumexp(x, dims, keepdim), [x])


NORM_DOMAINS = {  # p: where its inputs come from (|x| has a kink at 0; the inf-norm a max, kept free of ties)
    1: away_from_zero, 2: real, 3: real, "fro": real,
    float("inf"): lambda rng, shape: distinct(rng, shape) + 2.5,  # positive and distinct: |x| has no ties
}


@checks
@given(case=shape_and_dims(), p=st.sampled_from(sorted(NORM_DOMAINS, key=str)), keepdim=st.booleans(),
       seed=seeds, transposed=st.booleans())
def test_norm_over_p_dims_and_layouts(case, p, keepdim, seed, transposed):
    """ops.norm for p = 1, 2, 3, 'fro' and inf over all dims, one or a tuple, of a contiguous or transposed
    input, equals (sum |x|^p)^(1/p) (max |x| for inf) and passes gradcheck."""
    shape, dims = case
    x = make_input(NORM_DOMAINS[p], shape, seed, transposed)
    magnitude, axis = np.abs(x.numpy()), numpy_axis(dims)
    if p == float("inf"):
        expected = magnitude.max(axis=axis, keepdims=keepdim)
    else:
        power = 2 if p == "fro" else p
        expected = (magnitude ** power).sum(axis=axis, keepdims=keepdim) ** (1 / power)
    np.testing.assert_allclose(ops.norm(x, p, dims, keepdim).numpy(), expected, rtol=1e-12)
    mg.gradcheck(lambda x: ops.norm(x, p, dims, keepdim), [x])


@checks
@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_cumprod_of_non_contiguous_inputs_with_zeros(shape, seed, data):
    """x.cumprod(dim) of a transposed input with ~30% exact zeros equals np.cumprod and passes gradcheck."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = make_input(with_some_zeros, shape, seed, transposed=True)
    np.testing.assert_allclose(x.cumprod(dim).numpy(), np.cumprod(x.numpy(), dim), rtol=1e-12, atol=1e-15)
    mg.gradcheck(lambda x: x.cumprod(dim), [x])


# ---- 2. indexing: repeated indices and non-contiguous inputs ---------------------------------------------
@checks
@given(shape=several_dims, seed=seeds, data=st.data())
def test_getitem_of_a_non_contiguous_input_with_repeated_index_pairs(shape, seed, data):
    """x[rows, cols] with integer arrays (negative ones too) over two dims of a transposed input, one
    (row, col) pair picked twice, and x[:, cols] with a repeated column: NumPy's values, and gradcheck
    (the gradient of a pair picked twice adds up)."""
    x = make_input(real, shape, seed, transposed=True)
    n0, n1 = shape[:2]
    rows = data.draw(st.lists(st.integers(-n0, n0 - 1), min_size=1, max_size=4))
    cols = data.draw(st.lists(st.integers(-n1, n1 - 1), min_size=len(rows), max_size=len(rows)))
    r, c = np.array(rows + rows[:1]), np.array(cols + cols[:1])  # the first pair twice
    np.testing.assert_array_equal(x[mg.tensor(r), mg.tensor(c)].numpy(), x.numpy()[r, c])
    mg.gradcheck(lambda x: x[mg.tensor(r), mg.tensor(c)], [x])
    np.testing.assert_array_equal(x[:, mg.tensor(c)].numpy(), x.numpy()[:, c])
    mg.gradcheck(lambda x: x[:, mg.tensor(c)], [x])


@checks
@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_gather_from_a_non_contiguous_input_with_repeated_indices(shape, seed, data):
    """x.gather(dim, index) of a transposed input, index one longer than x along dim (so every line
    repeats a position): np.take_along_axis's values, and gradcheck."""
    dim = data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(shape[d] + 1 if d == dim else data.draw(st.integers(1, n)) for d, n in enumerate(shape))
    index = np.random.default_rng(seed).integers(0, shape[dim], index_shape)
    x = make_input(real, shape, seed, transposed=True)
    widened = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index_shape))
    np.testing.assert_array_equal(x.gather(dim, mg.tensor(index)).numpy(),
                                  np.take_along_axis(x.numpy()[widened], index, dim))
    mg.gradcheck(lambda x: x.gather(dim, mg.tensor(index)), [x])


@checks
@given(shape=nonempty_shapes, seed=seeds, transposed=st.booleans(), data=st.data())
def test_scatter_with_repeated_indices(shape, seed, transposed, data):
    """x.scatter(dim, index, src) with index one longer than x along dim, so every line writes some
    position twice: each written position holds one of the src values sent there, the rest keep x;
    x's gradient (0 where written) passes gradcheck; and src's gradient is the documented one, as
    PyTorch's: every src element gets the gradient of the position it was sent to, repeated ones too."""
    dim = data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(shape[d] + 1 if d == dim else data.draw(st.integers(1, n)) for d, n in enumerate(shape))
    rng = np.random.default_rng(seed)
    index = rng.integers(0, shape[dim], index_shape)
    x = make_input(real, shape, seed, transposed)
    src = make_input(real, index_shape, seed + 1)
    out = x.scatter(dim, mg.tensor(index), src).numpy()
    sent = {}  # position in x -> the src values sent there
    for position in np.ndindex(*index_shape):
        target = tuple(index[position] if d == dim else i for d, i in enumerate(position))
        sent.setdefault(target, []).append(src.numpy()[position])
    for position in np.ndindex(*shape):
        if position in sent:
            assert out[position] in sent[position]
        else:
            assert out[position] == x.numpy()[position]
    constant_src = mg.tensor(src.numpy(), dtype=mg.float64)
    mg.gradcheck(lambda x: x.scatter(dim, mg.tensor(index), constant_src), [x])
    g = rng.standard_normal(shape)
    x.scatter(dim, mg.tensor(index), src).backward(gradient=g)
    widened = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index_shape))
    np.testing.assert_array_equal(src.grad.numpy(), np.take_along_axis(g[widened], index, dim))
    written = np.zeros(shape, dtype=bool)
    for position in sent:
        written[position] = True
    np.testing.assert_array_equal(x.grad.numpy(), np.where(written, 0.0, g))


@checks
@given(shape=nonempty_shapes, seed=seeds, transposed=st.booleans(), data=st.data())
def test_index_select_with_repeated_and_negative_indices(shape, seed, transposed, data):
    """x.index_select(dim, index) with a repeated position and negative positions, of a contiguous or
    transposed input: np.take's values, and gradcheck (repeated picks add up)."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    picks = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
    index = np.array(picks + picks[:1])
    x = make_input(real, shape, seed, transposed)
    np.testing.assert_array_equal(x.index_select(dim, mg.tensor(index)).numpy(), np.take(x.numpy(), index, dim))
    mg.gradcheck(lambda x: x.index_select(dim, mg.tensor(index)), [x])


@checks
@given(shape=nonempty_shapes, seed=seeds, alpha=st.sampled_from([1, 0.5, -2.0]),
       transposed=st.tuples(st.booleans(), st.booleans()), data=st.data())
def test_index_add_with_repeated_indices_gradchecks_in_x_and_source(shape, seed, alpha, transposed, data):
    """x.index_add(dim, index, source, alpha) with a repeated index (its slices add up), x and source
    contiguous or transposed: np.add.at's values, and gradcheck in both x and source."""
    dim = data.draw(st.integers(0, len(shape) - 1))
    picks = data.draw(st.lists(st.integers(0, shape[dim] - 1), min_size=1, max_size=4))
    index = np.array(picks + picks[:1])
    source_shape = tuple(len(index) if d == dim else n for d, n in enumerate(shape))
    x = make_input(real, shape, seed, transposed[0])
    source = make_input(real, source_shape, seed + 1, transposed[1])
    expected = x.numpy().copy()
    np.add.at(np.moveaxis(expected, dim, 0), index, alpha * np.moveaxis(source.numpy(), dim, 0))
    i = mg.tensor(index)
    np.testing.assert_allclose(x.index_add(dim, i, source, alpha=alpha).numpy(), expected, rtol=1e-12, atol=1e-15)
    mg.gradcheck(lambda x, source: x.index_add(dim, i, source, alpha=alpha), [x, source])


@checks
@given(pair=broadcastable_pairs(), seed=seeds, transposed=st.booleans())
def test_masked_select_with_a_broadcast_mask_and_non_contiguous_input(pair, seed, transposed):
    """x.masked_select(mask) with x and mask of broadcast shapes (either the larger), x possibly
    transposed: the broadcast x's elements where the broadcast mask holds, and gradcheck (an x element
    picked at several broadcast places adds up their gradients)."""
    x = make_input(real, pair[0], seed, transposed)
    mask = np.random.default_rng(seed).uniform(size=pair[1]) > 0.4
    full = np.broadcast_shapes(*pair)
    expected = np.broadcast_to(x.numpy(), full)[np.broadcast_to(mask, full)]
    m = mg.tensor(mask)
    np.testing.assert_array_equal(x.masked_select(m).numpy(), expected)
    mg.gradcheck(lambda x: x.masked_select(m), [x])


# ---- 3. shape ops ---------------------------------------------------------------------------------------
@st.composite
def cat_case(draw):
    """Shapes that differ only along dim (1-3 long each: unequal pieces), and which are transposed."""
    shape = draw(nonempty_shapes)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    d = dim % len(shape)
    lengths = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    return [shape[:d] + (n,) + shape[d + 1:] for n in lengths], dim, [draw(st.booleans()) for _ in lengths]


@checks
@given(case=cat_case(), seed=seeds)
def test_cat_of_unequal_non_contiguous_pieces(case, seed):
    """mg.cat of pieces of different lengths along dim (each contiguous or transposed) equals
    np.concatenate and passes gradcheck: each piece gets back its own slice of the gradient."""
    piece_shapes, dim, transposed = case
    pieces = [make_input(real, shape, seed + i, t) for i, (shape, t) in enumerate(zip(piece_shapes, transposed))]
    np.testing.assert_array_equal(mg.cat(pieces, dim).numpy(), np.concatenate([p.numpy() for p in pieces], dim))
    mg.gradcheck(lambda *ps: mg.cat(list(ps), dim), pieces)


@checks
@given(shape=nonempty_shapes, seed=seeds, count=st.integers(1, 3), data=st.data())
def test_stack_of_non_contiguous_pieces(shape, seed, count, data):
    """mg.stack of transposed pieces along any new dim (negative too) equals np.stack and passes gradcheck."""
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    pieces = [make_input(real, shape, seed + i, transposed=True) for i in range(count)]
    np.testing.assert_array_equal(mg.stack(pieces, dim).numpy(), np.stack([p.numpy() for p in pieces], dim))
    mg.gradcheck(lambda *ps: mg.stack(list(ps), dim), pieces)


@checks
@given(shape=nonempty_shapes, seed=seeds, transposed=st.booleans(), data=st.data())
def test_flip_over_drawn_dims_and_layouts(shape, seed, transposed, data):
    """x.flip(dims) over one or several dims (negative ones too) of a contiguous or transposed input
    equals np.flip and passes gradcheck."""
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    dims = [d - len(shape) if data.draw(st.booleans()) else d for d in dims]
    x = make_input(real, shape, seed, transposed)
    np.testing.assert_array_equal(x.flip(dims).numpy(), np.flip(x.numpy(), tuple(dims)))
    mg.gradcheck(lambda x: x.flip(dims), [x])


@checks
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple), seed=seeds,
       transposed=st.booleans(), data=st.data())
def test_repeat_over_drawn_counts_and_layouts(shape, seed, transposed, data):
    """x.repeat(*counts), with as many counts as dims or one more (a new leading dim), of a contiguous or
    transposed input, equals np.tile and passes gradcheck (each element's copies add up)."""
    counts = data.draw(st.lists(st.integers(1, 2), min_size=len(shape), max_size=len(shape) + 1))
    x = make_input(real, shape, seed, transposed)
    np.testing.assert_array_equal(x.repeat(*counts).numpy(), np.tile(x.numpy(), counts))
    mg.gradcheck(lambda x: x.repeat(*counts), [x])


@checks
@given(shape=nonempty_shapes, seed=seeds, largest=st.booleans(), data=st.data())
def test_topk_and_sort_of_non_contiguous_inputs(shape, seed, largest, data):
    """x.topk(k, dim, largest) and x.sort(dim, descending) of a transposed input of distinct values:
    NumPy's sorted values and order, and gradcheck of the values."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[dim]))
    x = make_input(distinct, shape, seed, transposed=True)
    order = np.argsort(x.numpy(), axis=dim)
    order = np.flip(order, dim) if largest else order
    top = x.topk(k, dim, largest)
    expected = np.take(order, np.arange(k), axis=dim)
    np.testing.assert_array_equal(top.indices.numpy(), expected)
    np.testing.assert_array_equal(top.values.numpy(), np.take_along_axis(x.numpy(), expected, dim))
    mg.gradcheck(lambda x: x.topk(k, dim, largest).values, [x])
    ordered = x.sort(dim, descending=largest)
    np.testing.assert_array_equal(ordered.indices.numpy(), order)
    mg.gradcheck(lambda x: x.sort(dim, descending=largest).values, [x])


@checks
@given(shape=st.lists(small_dims, min_size=3, max_size=3).map(tuple), offset=st.integers(-3, 3), seed=seeds,
       dims=st.lists(st.integers(-3, 2), min_size=2, max_size=2).filter(lambda d: d[0] % 3 != d[1] % 3),
       transposed=st.booleans())
def test_batched_diagonal_over_any_two_dims(shape, offset, seed, dims, transposed):
    """x.diagonal(offset, dim1, dim2) of a 3-d input (contiguous or transposed), over any ordered pair
    of dims (negative ones too), equals np.diagonal and passes gradcheck."""
    x = make_input(real, shape, seed, transposed)
    np.testing.assert_array_equal(x.diagonal(offset, *dims).numpy(), np.diagonal(x.numpy(), offset, *dims))
    mg.gradcheck(lambda x: x.diagonal(offset, *dims), [x])


# ---- 4. fused ops: several dims, non-contiguous inputs, agreement with their composed versions ---------
def composed_softmax_over(x, dims):
    e = (x - x.amax(dims, keepdim=True)).exp()
    return e / e.sum(dims, keepdim=True)


def composed_log_softmax_over(x, dims):
    shifted = x - x.amax(dims, keepdim=True)
    return shifted - shifted.exp().sum(dims, keepdim=True).log()


@st.composite
def shape_and_several_dims(draw):
    shape = draw(several_dims)
    return shape, tuple(draw(st.lists(st.integers(0, len(shape) - 1), min_size=2, unique=True)))


@pytest.mark.parametrize("op, composed, reference", [
    (ops.softmax, composed_softmax_over, scipy.special.softmax),
    (ops.log_softmax, composed_log_softmax_over, scipy.special.log_softmax),
], ids=["softmax", "log_softmax"])
@checks
@given(case=shape_and_several_dims(), seed=seeds, transposed=st.booleans())
def test_softmax_and_log_softmax_over_several_dims(op, composed, reference, case, seed, transposed):
    """ops.softmax / ops.log_softmax over a tuple of dims (normalising over all of them at once), of a
    contiguous or transposed input: scipy's values, gradcheck, and the composed version's value and
    gradient (max, sub, exp, sum, div / log over the same dims)."""
    shape, dims = case
    x = make_input(real, shape, seed, transposed)
    np.testing.assert_allclose(op(x, dims).numpy(), reference(x.numpy(), axis=dims), rtol=1e-12, atol=1e-15)
    mg.gradcheck(lambda x: op(x, dims), [x])
    assert_same_value_and_grad(lambda x: op(x, dims), lambda x: composed(x, dims), [x])


@checks
@given(case=classification(), smoothing=st.sampled_from([0.0, 0.2]),
       reduction=st.sampled_from(["mean", "sum", "none"]), ignore_index=st.sampled_from([-100, 0]))
def test_cross_entropy_of_non_contiguous_logits_matches_composed(case, smoothing, reduction, ignore_index):
    """ops.cross_entropy of transposed (non-contiguous) logits of 1 or 2 leading dims, with label
    smoothing and an ignore_index outside or inside the class range, agrees with the composed
    log-softmax, gather and mean, in value and gradient."""
    logits, target = case
    if ignore_index == 0:
        target = np.where(target == -100, 0, target)
    t = ids_tensor(target)
    options = dict(label_smoothing=smoothing, reduction=reduction, ignore_index=ignore_index)
    assert_same_value_and_grad(lambda x: ops.cross_entropy(x, t, **options),
                               lambda x: composed_cross_entropy(x, t, **options), [transposed_leaf(logits)])


@checks
@given(case=attention_case(), scale=st.sampled_from([None, 0.7]))
def test_attention_with_every_operand_non_contiguous(case, scale):
    """scaled_dot_product_attention with q, k and v all held non-contiguous (and a float mask too,
    when there is one) passes gradcheck and agrees with softmax(q k^T scale + mask) v composed, in
    value and gradient."""
    q, k, v, mask, causal = case
    float_mask = mask is not None and mask.dtype == np.float64
    if mask is not None and not float_mask:
        mask[:, 0] = True  # composed softmax gives NaN on a row with nothing allowed (fused: zeros)
    allowed = allowed_of(mask, q.shape[-2], k.shape[-2], causal)
    allowed = None if allowed is None else mg.tensor(allowed)
    bool_mask = None if mask is None or float_mask else mg.tensor(mask)
    inputs = [transposed_leaf(a) for a in (q, k, v)] + ([transposed_leaf(mask)] if float_mask else [])

    def fused(q, k, v, additive=None):
        return ops.scaled_dot_product_attention(q, k, v, additive if float_mask else bool_mask,
                                                is_causal=causal, scale=scale)

    def composed(q, k, v, additive=None):
        return composed_attention(q, k, v, allowed, additive, scale)

    mg.gradcheck(fused, inputs)
    assert_same_value_and_grad(fused, composed, inputs)


# ---- 5. the fast CPU reductions (arrays of FAST_REDUCE_MIN_SIZE elements or more) -----------------------
def targets_for(x):
    """Fixed class targets for (N, C) scores (a tensor or an array)."""
    return ids_tensor(np.random.default_rng(1).integers(0, x.shape[-1], x.shape[:-1]))


def np_cross_entropy(a):
    return -np.mean(scipy.special.log_softmax(a, -1)[np.arange(a.shape[0]), targets_for(a).numpy()])


FAST_PATH_CASES = {  # name: (shape, the op, NumPy's answer, domain)
    "sum_trailing": ((6, 8, 40), lambda x: ops.sum(x, (1, 2)), lambda a: a.sum((1, 2)), real),
    "sum_leading": ((48, 40), lambda x: ops.sum(x, 0), lambda a: a.sum(0), real),
    "sum_middle": ((6, 40, 8), lambda x: ops.sum(x, 1, keepdim=True), lambda a: a.sum(1, keepdims=True), real),
    "mean": ((48, 40), lambda x: ops.mean(x, -1), lambda a: a.mean(-1), real),
    "var": ((48, 40), lambda x: ops.var(x, 1), lambda a: a.var(1, ddof=1), real),
    "std": ((48, 40), lambda x: ops.std(x, 0, correction=0), lambda a: a.std(0), real),
    "max": ((48, 40), lambda x: ops.max(x, 1), lambda a: a.max(1), distinct),  # folded in halves
    "softmax": ((48, 40), lambda x: ops.softmax(x, -1), lambda a: scipy.special.softmax(a, -1), real),
    "log_softmax": ((48, 40), lambda x: ops.log_softmax(x, 0), lambda a: scipy.special.log_softmax(a, 0), real),
    "logsumexp": ((48, 40), lambda x: ops.logsumexp(x, 1), lambda a: scipy.special.logsumexp(a, 1), real),
    "layer_norm": ((48, 40), lambda x: ops.layer_norm(x, 40),
                   lambda a: (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1e-5), real),
    "cross_entropy": ((48, 40), lambda x: ops.cross_entropy(x, targets_for(x)), np_cross_entropy, real),
}


@pytest.mark.parametrize("name", sorted(FAST_PATH_CASES))
def test_reductions_on_large_arrays_take_the_fast_path_and_gradcheck(name):
    """The reductions that backend.sum_dims / max_dims compute by BLAS products or by folding once an
    array holds FAST_REDUCE_MIN_SIZE elements (hypothesis's small shapes never get there): NumPy's value,
    and gradcheck in fast mode (v . J . u in random directions) on a contiguous input that large."""
    shape, fn, reference, domain = FAST_PATH_CASES[name]
    assert math.prod(shape) >= backend.FAST_REDUCE_MIN_SIZE
    x = make_input(domain, shape, 0)
    np.testing.assert_allclose(fn(x).numpy(), reference(x.numpy()), rtol=1e-10, atol=1e-12)
    mg.gradcheck(fn, [x], fast=True, directions=4)


# ---- 6. nn.functional's composed functions over hypothesis shapes ---------------------------------------
@st.composite
def batch_norm_case(draw):
    n, c = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    return (n, c) + tuple(draw(st.lists(st.integers(1, 3), max_size=1)))


@few
@given(shape=batch_norm_case(), seed=seeds, transposed=st.booleans(), affine=st.booleans())
def test_batch_norm_in_training_and_eval_over_shapes(shape, seed, transposed, affine):
    """F.batch_norm of (N, C) or (N, C, L) inputs (possibly transposed), with or without weight and bias:
    the per-channel statistics' values, and gradcheck in the input and the affine parameters, both with
    the batch's statistics (training) and with fixed running ones (eval)."""
    channels = shape[1]
    x = make_input(real, shape, seed, transposed)
    params = [make_input(positive, (channels,), seed + 1), make_input(real, (channels,), seed + 2)] if affine else []
    dims = (0,) + tuple(range(2, len(shape)))
    a, per_channel = x.numpy(), (1, channels) + (1,) * (len(shape) - 2)
    expected = (a - a.mean(dims, keepdims=True)) / np.sqrt(a.var(dims, keepdims=True) + 1e-5)
    if affine:
        expected = expected * params[0].numpy().reshape(per_channel) + params[1].numpy().reshape(per_channel)
    training = lambda x, *wb: F.batch_norm(x, None, None, *wb, training=True)  # noqa: E731
    np.testing.assert_allclose(training(x, *params).numpy(), expected, rtol=1e-10, atol=1e-12)
    mg.gradcheck(training, [x] + params)
    rng = np.random.default_rng(seed + 3)
    running_mean = mg.tensor(rng.uniform(-1, 1, channels), dtype=mg.float64)
    running_var = mg.tensor(rng.uniform(0.5, 2, channels), dtype=mg.float64)
    mg.gradcheck(lambda x, *wb: F.batch_norm(x, running_mean, running_var, *wb, training=False), [x] + params)


def away_from_kinks(rng, shape, kinks, margin=0.1):
    """(input, target) arrays whose differences stay margin away from each kink."""
    diff = rng.uniform(-3, 3, shape)
    for kink in kinks:
        diff = np.where(np.abs(diff - kink) < margin, kink + 2 * margin * np.where(diff >= kink, 1, -1), diff)
    target = rng.uniform(-1, 1, shape)
    return target + diff, target


def np_huber(d, delta):
    return np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))


def reduce_as(losses, reduction):
    return {"none": lambda l: l, "sum": np.sum, "mean": np.mean}[reduction](losses)


@checks
@given(shape=nonempty_shapes, seed=seeds, loss=st.sampled_from(["huber", "smooth_l1"]),
       width=st.sampled_from([0.5, 1.0, 2.0]), reduction=st.sampled_from(["mean", "sum", "none"]),
       transposed=st.tuples(st.booleans(), st.booleans()))
def test_huber_and_smooth_l1_over_shapes_and_layouts(shape, seed, loss, width, reduction, transposed):
    """F.huber_loss(delta) and F.smooth_l1_loss(beta) of contiguous or transposed inputs and targets, their
    differences away from the kinks at +-width: NumPy's values, and gradcheck in both."""
    x_array, y_array = away_from_kinks(np.random.default_rng(seed), shape, (-width, width))
    x, y = as_leaf(x_array, transposed[0]), as_leaf(y_array, transposed[1])
    if loss == "huber":
        fn = lambda x, y: F.huber_loss(x, y, reduction=reduction, delta=width)  # noqa: E731
        expected = np_huber(x_array - y_array, width)
    else:
        fn = lambda x, y: F.smooth_l1_loss(x, y, reduction=reduction, beta=width)  # noqa: E731
        expected = np_huber(x_array - y_array, width) / width
    np.testing.assert_allclose(fn(x, y).numpy(), reduce_as(expected, reduction), rtol=1e-12)
    mg.gradcheck(fn, [x, y])


@checks
@given(shape=nonempty_shapes, seed=seeds, log_target=st.booleans(),
       reduction=st.sampled_from(["mean", "batchmean", "sum", "none"]), transposed=st.booleans())
def test_kl_div_over_shapes_and_layouts(shape, seed, log_target, reduction, transposed):
    """F.kl_div of log-probabilities against probabilities (or their logs) along the last dim, the input
    possibly transposed: y (log y - x) summed as the reduction says, and gradcheck in both."""
    rng = np.random.default_rng(seed)
    log_p = scipy.special.log_softmax(rng.uniform(-2, 2, shape), -1)
    q = scipy.special.softmax(rng.uniform(-2, 2, shape), -1)
    x, y = as_leaf(log_p, transposed), leaf(np.log(q) if log_target else q)
    losses = q * (np.log(q) - log_p)
    expected = losses.sum() / shape[0] if reduction == "batchmean" else reduce_as(losses, reduction)
    fn = lambda x, y: F.kl_div(x, y, reduction=reduction, log_target=log_target)  # noqa: E731
    np.testing.assert_allclose(fn(x, y).numpy(), expected, rtol=1e-12, atol=1e-15)
    mg.gradcheck(fn, [x, y])


@checks
@given(shape=nonempty_shapes, seed=seeds, p=st.sampled_from([1, 2, 3]), transposed=st.booleans(), data=st.data())
def test_normalize_over_shapes_dims_and_layouts(shape, seed, p, transposed, data):
    """F.normalize(x, p, dim) of a contiguous or transposed input (kept away from |x|'s kink at 0):
    x / ||x||_p along dim, and gradcheck."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = make_input(away_from_zero, shape, seed, transposed)
    a = x.numpy()
    expected = a / (np.abs(a) ** p).sum(dim, keepdims=True) ** (1 / p)
    np.testing.assert_allclose(F.normalize(x, p, dim).numpy(), expected, rtol=1e-12)
    mg.gradcheck(lambda x: F.normalize(x, p, dim), [x])


@checks
@given(pair=broadcastable_pairs(), seed=seeds, transposed=st.tuples(st.booleans(), st.booleans()), data=st.data())
def test_cosine_similarity_over_broadcast_shapes_and_layouts(pair, seed, transposed, data):
    """F.cosine_similarity(a, b, dim) of broadcast shapes (either the larger, either transposed), dim any
    dim both have, broadcast along it too (a size-1 vector there stands for that many copies of its entry):
    the cosine of the broadcast vectors, and gradcheck in both."""
    assume(min(len(s) for s in pair) > 0)
    dim = data.draw(st.integers(-min(len(s) for s in pair), -1))
    a, b = make_input(away_from_zero, pair[0], seed, transposed[0]), make_input(away_from_zero, pair[1], seed + 1,
                                                                                 transposed[1])
    x, y = np.broadcast_arrays(a.numpy(), b.numpy())
    unit = lambda v: v / np.maximum(np.linalg.norm(v, axis=dim, keepdims=True), 1e-8)  # noqa: E731
    np.testing.assert_allclose(F.cosine_similarity(a, b, dim).numpy(), (unit(x) * unit(y)).sum(dim), rtol=1e-12)
    mg.gradcheck(lambda a, b: F.cosine_similarity(a, b, dim), [a, b])


@st.composite
def pad_case(draw):
    """A shape and (before, after) amounts for its last 1..ndim dims: -1..2 each, a crop never taking
    a dim below one element."""
    shape = draw(nonempty_shapes)
    amounts = []
    for dim in reversed(range(len(shape) - draw(st.integers(0, len(shape) - 1)), len(shape))):
        before = draw(st.integers(-1 if shape[dim] > 1 else 0, 2))
        after = draw(st.integers(-1 if shape[dim] - max(-before, 0) > 1 else 0, 2))
        amounts += [before, after]
    return shape, tuple(amounts)


def np_pad(a, amounts, value):
    for i in range(len(amounts) // 2):
        dim, before, after = a.ndim - 1 - i, amounts[2 * i], amounts[2 * i + 1]
        kept = [slice(None)] * a.ndim
        kept[dim] = slice(max(-before, 0), a.shape[dim] - max(-after, 0))
        widths = [(0, 0)] * a.ndim
        widths[dim] = (max(before, 0), max(after, 0))
        a = np.pad(a[tuple(kept)], widths, constant_values=value)
    return a


@checks
@given(case=pad_case(), seed=seeds, transposed=st.booleans())
def test_pad_over_shapes_amounts_and_layouts(case, seed, transposed):
    """F.pad with positive (pad) and negative (crop) amounts over the trailing dims of a contiguous or
    transposed input: np.pad's values after the crops, and gradcheck."""
    shape, amounts = case
    x = make_input(real, shape, seed, transposed)
    np.testing.assert_array_equal(F.pad(x, amounts, value=0.5).numpy(), np_pad(x.numpy(), amounts, 0.5))
    mg.gradcheck(lambda x: F.pad(x, amounts, value=0.5), [x])


@checks
@given(shape=nonempty_shapes, seed=seeds, transposed=st.booleans(), data=st.data())
def test_glu_over_shapes_dims_and_layouts(shape, seed, transposed, data):
    """F.glu(x, dim) halves a dim of even size into a and b and gives a sigmoid(b): its values, and
    gradcheck, on a contiguous or transposed input."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape = shape[:dim % len(shape)] + (2 * shape[dim],) + shape[dim % len(shape) + 1:]
    x = make_input(real, shape, seed, transposed)
    a, b = np.split(x.numpy(), 2, axis=dim)
    np.testing.assert_allclose(F.glu(x, dim).numpy(), a * scipy.special.expit(b), rtol=1e-12)
    mg.gradcheck(lambda x: F.glu(x, dim), [x])


@checks
@given(case=classification(), reduction=st.sampled_from(["mean", "sum", "none"]), weighted=st.booleans())
def test_nll_loss_of_non_contiguous_log_probabilities(case, reduction, weighted):
    """F.nll_loss of non-contiguous log-probabilities in PyTorch's layout, (N, C) or (N, C, d), class
    weights or none, ignored targets (-100) among them: -w[t] log_p[t] per row, the mean dividing by the
    weights of the rows kept (as PyTorch), and gradcheck."""
    logits, target = case  # classes last: (N, C) or (N, d, C)
    kept = target != -100
    assume(reduction != "mean" or kept.any())
    log_p = scipy.special.log_softmax(logits, axis=-1)
    classes = log_p.shape[-1]
    weight = np.linspace(0.5, 2.0, classes) if weighted else np.ones(classes)
    safe = np.where(kept, target, 0)
    picked = np.take_along_axis(log_p, safe[..., None], axis=-1)[..., 0]
    losses = np.where(kept, -weight[safe] * picked, 0.0)
    expected = (losses if reduction == "none" else losses.sum() if reduction == "sum"
                else losses.sum() / (weight[safe] * kept).sum())
    t, w = ids_tensor(target), mg.tensor(weight) if weighted else None
    x = transposed_leaf(np.moveaxis(log_p, -1, 1))  # PyTorch's layout, the classes in dim 1, held transposed
    np.testing.assert_allclose(F.nll_loss(x, t, weight=w, reduction=reduction).numpy(), expected, rtol=1e-12)
    mg.gradcheck(lambda x: F.nll_loss(x, t, weight=w, reduction=reduction), [x])


@checks
@given(rows=st.integers(1, 4), classes=st.integers(2, 5), seed=seeds, smoothing=st.sampled_from([0.0, 0.2]),
       weighted=st.booleans(), transposed=st.tuples(st.booleans(), st.booleans()))
def test_cross_entropy_with_probability_targets_over_shapes_and_layouts(rows, classes, seed, smoothing, weighted,
                                                                        transposed):
    """F.cross_entropy with class-probability targets (float, the input's shape), each contiguous or not,
    smoothed or not, weighted or not: mean_i -sum_c w[c] q[i, c] log softmax(x)[i, c], and gradcheck in
    both the logits and the targets (they get a gradient too, as in PyTorch)."""
    x = make_input(real, (rows, classes), seed, transposed[0])
    q = make_input(lambda rng, shape: scipy.special.softmax(rng.standard_normal(shape), axis=-1), (rows, classes),
                   seed + 1)
    if transposed[1]:
        q = transposed_leaf(q.numpy())
    weight = mg.tensor(np.linspace(0.5, 2.0, classes)) if weighted else None
    smoothed = q.numpy() * (1 - smoothing) + smoothing / classes
    w = weight.numpy() if weighted else 1.0
    expected = -(smoothed * scipy.special.log_softmax(x.numpy(), axis=-1) * w).sum(-1).mean()
    loss = lambda x, q: F.cross_entropy(x, q, weight=weight, label_smoothing=smoothing)  # noqa: E731
    np.testing.assert_allclose(loss(x, q).numpy(), expected, rtol=1e-12)
    mg.gradcheck(loss, [x, q])
