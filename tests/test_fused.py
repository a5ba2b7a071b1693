"""Fused ops: gradchecked in float64 against finite differences, checked against the same
computation composed from primitive ops (value and gradient), and their errors and
behaviour (masking, seeding, ignored targets) tested one by one."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import ops

FAST = settings(max_examples=20, deadline=None)
NEG_INF = float("-inf")


# ---- helpers ------------------------------------------------------------------------------
def floats(shape, low=-3.0, high=3.0):
    """A float64 array strategy with safe values (no NaN, no inf, no subnormals)."""
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_subnormal=False))


def leaf(array, requires_grad=True):
    """A float64 leaf holding array's values in row-major order (np.array alone would keep a transpose's
    column-major layout, and `x.T` of it would hand the op a contiguous array again)."""
    return mg.tensor(np.array(array, dtype=np.float64, order="C"), dtype=mg.float64, requires_grad=requires_grad)


def transposed_leaf(array):
    """A leaf holding `array`'s values in a non-contiguous (Fortran-order) array: its .T view."""
    t = mg.tensor(np.ascontiguousarray(np.asarray(array, dtype=np.float64).T).T, dtype=mg.float64,
                  requires_grad=True)
    if sum(n > 1 for n in t.shape) >= 2:
        assert not t.data.flags.c_contiguous
    return t


def ids_tensor(values):
    return mg.tensor(np.asarray(values, dtype=np.int64))


def value_and_grads(fn, inputs, seed=0):
    """fn(*inputs) and the gradient of every leaf input, for a fixed random upstream gradient."""
    leaves = [x for x in inputs if isinstance(x, mg.Tensor) and x.requires_grad]
    for x in leaves:
        x.grad = None
    out = fn(*inputs)
    out.backward(gradient=np.random.default_rng(seed).standard_normal(out.shape))
    return out.numpy(), [None if x.grad is None else x.grad.numpy() for x in leaves]


def assert_same_value_and_grad(fused, composed, inputs, atol=1e-10):
    value, grads = value_and_grads(fused, inputs)
    value_composed, grads_composed = value_and_grads(composed, inputs)
    np.testing.assert_allclose(value, value_composed, rtol=1e-9, atol=atol)
    for grad, grad_composed in zip(grads, grads_composed):
        if grad_composed is None:
            assert grad is None or not grad.any()
        else:
            np.testing.assert_allclose(grad, grad_composed, rtol=1e-9, atol=atol)


@st.composite
def array_and_dim(draw, max_dims=3, max_side=4):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=max_side))
    return draw(floats(shape)), draw(st.integers(-len(shape), len(shape) - 1))


# ---- composed versions, built from primitive ops only ---------------------------------------
def composed_softmax(x, dim=-1):
    e = (x - x.max(dim, keepdim=True).values).exp()
    return e / e.sum(dim, keepdim=True)


def composed_log_softmax(x, dim=-1):
    shifted = x - x.max(dim, keepdim=True).values
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


def composed_cross_entropy(logits, target, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    classes = logits.shape[-1]
    log_p = composed_log_softmax(logits.reshape(-1, classes))
    t = target.numpy().reshape(-1)
    kept = t != ignore_index
    picked = log_p.gather(1, ids_tensor(np.where(kept, t, 0)[:, None])).reshape(-1)
    losses = -(1 - label_smoothing) * picked - label_smoothing * log_p.mean(1)
    losses = losses * mg.tensor(kept.astype(np.float64), dtype=mg.float64)
    if reduction == "none":
        return losses.reshape(*target.shape)
    return losses.sum() / max(kept.sum(), 1) if reduction == "mean" else losses.sum()


def composed_layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    dims = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    out = (x - x.mean(dims, keepdim=True)) / (x.var(dims, keepdim=True, unbiased=False) + eps).sqrt()
    out = out if weight is None else out * weight
    return out if bias is None else out + bias


def composed_embedding(ids, weight):
    one_hot = np.eye(weight.shape[0])[ids.numpy()]  # ids.shape + (V,)
    return mg.tensor(one_hot, dtype=mg.float64) @ weight


def composed_attention(q, k, v, allowed=None, additive=None, scale=None):
    """softmax(q k^T scale + additive, disallowed -> -inf) v, from matmul, where and softmax."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale
    scores = scores if additive is None else scores + additive
    scores = scores if allowed is None else mg.where(allowed, scores, NEG_INF)
    return composed_softmax(scores) @ v


# ---- softmax and log_softmax ------------------------------------------------------------------
@pytest.mark.parametrize("op", [ops.softmax, ops.log_softmax])
@FAST
@given(case=array_and_dim(), transpose=st.booleans())
def test_softmax_and_log_softmax_gradcheck(op, case, transpose):
    array, dim = case
    if transpose:  # a non-contiguous view of the input
        mg.gradcheck(lambda x: op(x.T, dim), [leaf(array.T)])
    else:
        mg.gradcheck(lambda x: op(x, dim), [leaf(array)])


@pytest.mark.parametrize("op, composed", [(ops.softmax, composed_softmax),
                                          (ops.log_softmax, composed_log_softmax)])
@FAST
@given(case=array_and_dim())
def test_softmax_and_log_softmax_match_composed(op, composed, case):
    array, dim = case
    assert_same_value_and_grad(lambda x: op(x, dim), lambda x: composed(x, dim), [leaf(array)])
    assert_same_value_and_grad(lambda x: op(x, dim), lambda x: composed(x, dim), [transposed_leaf(array)])


def test_softmax_rows_sum_to_one_and_large_values_do_not_overflow():
    x = mg.tensor([[1000.0, 1000.0, -1000.0], [1.0, 2.0, 3.0]])
    y = ops.softmax(x)
    assert y.dtype == mg.float32
    np.testing.assert_allclose(y.numpy().sum(-1), 1, rtol=1e-6)
    np.testing.assert_allclose(y.numpy()[0], [0.5, 0.5, 0], atol=1e-7)
    log_y = ops.log_softmax(x)
    assert np.isfinite(log_y.numpy()[1]).all()
    np.testing.assert_allclose(log_y.numpy()[0, :2], [-math.log(2)] * 2, rtol=1e-6)
    np.testing.assert_allclose(log_y.numpy()[0, 2], -2000 - math.log(2), rtol=1e-6)


def test_softmax_tensor_methods_use_the_fused_ops():
    x = leaf([[0.1, -0.2], [0.3, 0.4]])
    np.testing.assert_allclose(x.softmax(0).numpy(), ops.softmax(x, 0).numpy())
    np.testing.assert_allclose(x.log_softmax(-1).numpy(), ops.log_softmax(x, -1).numpy())


def test_softmax_bad_dim_is_an_error():
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        ops.softmax(mg.randn(2, 3), dim=2)


# ---- cross_entropy ------------------------------------------------------------------------------
@st.composite
def classification(draw):
    """(logits (lead..., C), target (lead...)) with lead of 1 or 2 dims; some targets ignored."""
    lead = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    classes = draw(st.integers(1, 5))
    logits = draw(floats(lead + (classes,)))
    target = draw(hnp.arrays(np.int64, lead, elements=st.integers(0, classes - 1) | st.just(-100)))
    return logits, target


@FAST
@given(case=classification(), smoothing=st.sampled_from([0.0, 0.1, 0.5]),
       reduction=st.sampled_from(["mean", "sum", "none"]), transpose=st.booleans())
def test_cross_entropy_gradcheck(case, smoothing, reduction, transpose):
    logits, target = case
    t = ids_tensor(target)
    options = dict(label_smoothing=smoothing, reduction=reduction)
    if transpose:  # non-contiguous logits
        mg.gradcheck(lambda x: ops.cross_entropy(x.T, t, **options), [leaf(logits.T)])
    else:
        mg.gradcheck(lambda x: ops.cross_entropy(x, t, **options), [leaf(logits)])


@FAST
@given(case=classification(), smoothing=st.sampled_from([0.0, 0.2]),
       reduction=st.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy_matches_composed(case, smoothing, reduction):
    logits, target = case
    t = ids_tensor(target)
    options = dict(label_smoothing=smoothing, reduction=reduction)
    assert_same_value_and_grad(lambda x: ops.cross_entropy(x, t, **options),
                               lambda x: composed_cross_entropy(x, t, **options), [leaf(logits)])


def test_cross_entropy_known_values():
    # uniform logits: p = 1/C for every class, so the loss is log C
    loss = ops.cross_entropy(mg.zeros(4, 5), ids_tensor([0, 1, 2, 3]))
    assert loss.dtype == mg.float32
    assert loss.item() == pytest.approx(math.log(5), rel=1e-6)
    # label smoothing by hand: (1 - s) * -log p[target] + s * mean_c(-log p[c])
    z, s = [1.0, 2.0, 3.0], 0.2
    log_z = math.log(sum(math.exp(v) for v in z))
    expected = (1 - s) * (log_z - z[0]) + s * sum(log_z - v for v in z) / 3
    loss = ops.cross_entropy(leaf([z]), ids_tensor([0]), label_smoothing=s)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_label_smoothing_gradient_by_hand():
    z, s = [1.0, 2.0, 3.0], 0.2
    logits = leaf([z])
    ops.cross_entropy(logits, ids_tensor([0]), label_smoothing=s).backward()
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(logits.grad.numpy()[0], p - [1 - s + s / 3, s / 3, s / 3], rtol=1e-12)


def test_cross_entropy_ignored_rows_get_zero_gradient_and_do_not_count_in_the_mean():
    logits = leaf(np.random.default_rng(0).standard_normal((4, 3)))
    target = ids_tensor([2, -100, 0, -100])
    loss = ops.cross_entropy(logits, target)
    loss.backward()
    per_row = ops.cross_entropy(logits, target, reduction="none").numpy()
    assert per_row[1] == 0 and per_row[3] == 0
    assert loss.item() == pytest.approx(per_row.sum() / 2, rel=1e-12)
    assert not logits.grad.numpy()[[1, 3]].any()
    assert logits.grad.numpy()[[0, 2]].all()
    # a different ignore_index, inside the class range
    other = ops.cross_entropy(logits, ids_tensor([2, 0, 0, 1]), ignore_index=0)  # rows 1, 2 ignored
    np.testing.assert_allclose(
        other.item(), (-ops.log_softmax(logits).numpy()[[0, 3], [2, 1]]).mean(), rtol=1e-12)


def test_cross_entropy_all_targets_ignored_gives_zero_loss_and_gradient():
    logits = leaf([[1.0, 2.0], [3.0, 4.0]])
    loss = ops.cross_entropy(logits, ids_tensor([-100, -100]))
    loss.backward()
    assert loss.item() == 0 and not logits.grad.numpy().any()


def test_cross_entropy_tolerates_minus_inf_logits_of_masked_classes():
    logits = leaf([[NEG_INF, 1.0, 2.0], [NEG_INF, 0.5, 0.0]])  # class 0 masked out everywhere
    loss = ops.cross_entropy(logits, ids_tensor([2, -100]))
    loss.backward()
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-12)
    assert np.isfinite(logits.grad.numpy()).all() and not logits.grad.numpy()[1].any()


def test_cross_entropy_sequence_layout_and_huge_logits():
    logits = leaf(np.random.default_rng(1).standard_normal((2, 3, 4)) * 1000)
    target = ids_tensor([[0, 1, 2], [3, -100, 0]])
    loss = ops.cross_entropy(logits, target)
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.numpy()).all()
    flat = ops.cross_entropy(logits.reshape(6, 4), target.reshape(6))
    assert loss.item() == pytest.approx(flat.item(), rel=1e-12)


def test_cross_entropy_errors():
    logits = mg.randn(3, 4)
    with pytest.raises(IndexError, match=r"target 4 is out of range for 4 classes"):
        ops.cross_entropy(logits, ids_tensor([0, 4, 1]))
    with pytest.raises(IndexError, match=r"target -1 is out of range for 4 classes"):
        ops.cross_entropy(logits, ids_tensor([0, -1, 1]))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3,\).*\(2,\)"):
        ops.cross_entropy(logits, ids_tensor([0, 1]))
    with pytest.raises(TypeError, match="integer class indices.*float32"):
        ops.cross_entropy(logits, mg.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction"):
        ops.cross_entropy(logits, ids_tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        ops.cross_entropy(logits, ids_tensor([0, 1, 2]), label_smoothing=1.5)


# ---- layer_norm ---------------------------------------------------------------------------------
@st.composite
def layer_norm_case(draw):
    lead = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    normalized = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))
    x = draw(floats(lead + normalized))
    weight = draw(st.none() | floats(normalized))
    bias = draw(st.none() | floats(normalized))
    return x, normalized, weight, bias


@FAST
@given(case=layer_norm_case(), transpose=st.booleans())
def test_layer_norm_gradcheck(case, transpose):
    x, shape, weight, bias = case
    params = [leaf(p) for p in (weight, bias) if p is not None]

    def fn(x, *params):
        w = params[0] if weight is not None else None
        b = params[-1] if bias is not None else None
        return ops.layer_norm(x.T if transpose else x, shape, w, b)

    mg.gradcheck(fn, [leaf(x.T if transpose else x)] + params)


@FAST
@given(case=layer_norm_case())
def test_layer_norm_matches_composed(case):
    x, shape, weight, bias = case
    w, b = (None if p is None else leaf(p) for p in (weight, bias))
    for x_leaf in (leaf(x), transposed_leaf(x)):
        assert_same_value_and_grad(lambda x, w, b: ops.layer_norm(x, shape, w, b),
                                   lambda x, w, b: composed_layer_norm(x, shape, w, b), [x_leaf, w, b])


def test_layer_norm_normalises_each_row_and_keeps_dtype():
    x = mg.randn(4, 3, 8) * 5 + 2
    y = ops.layer_norm(x, 8)
    assert y.dtype == mg.float32 and y.shape == (4, 3, 8)
    np.testing.assert_allclose(y.numpy().mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(y.numpy().var(-1), 1, rtol=1e-3)


def test_layer_norm_frozen_weight_gets_no_gradient():
    rng = np.random.default_rng(2)
    x, w, b = leaf(rng.standard_normal((3, 4))), leaf(rng.standard_normal(4), False), leaf(np.zeros(4))
    ops.layer_norm(x, (4,), w, b).sum().backward()
    assert w.grad is None and b.grad is not None
    expected = leaf(x.numpy())
    composed_layer_norm(expected, (4,), w, b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected.grad.numpy(), atol=1e-12)


def test_layer_norm_errors():
    x = mg.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) does not end in normalized_shape \(3,\)"):
        ops.layer_norm(x, 3)
    with pytest.raises(ValueError, match=r"weight has shape \(3,\), expected normalized_shape \(4,\)"):
        ops.layer_norm(x, 4, weight=mg.ones(3))


# ---- dropout ------------------------------------------------------------------------------------
@FAST
@given(array=floats(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)),
       p=st.sampled_from([0.1, 0.5, 0.8]), transpose=st.booleans())
def test_dropout_gradcheck(array, p, transpose):
    def fn(x):
        mg.manual_seed(3)  # the same mask on every evaluation
        return ops.dropout(x.T if transpose else x, p)

    mg.gradcheck(fn, [leaf(array.T if transpose else array)])


def test_dropout_is_reproducible_with_manual_seed():
    x = mg.ones(1000)
    mg.manual_seed(7)
    a = ops.dropout(x, 0.3).numpy()
    mg.manual_seed(7)
    b = ops.dropout(x, 0.3).numpy()
    c = ops.dropout(x, 0.3).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_zeroes_about_p_and_keeps_the_mean(p):
    mg.manual_seed(0)
    y = ops.dropout(mg.ones(200_000), p).numpy()
    assert y.dtype == np.float32
    assert (y == 0).mean() == pytest.approx(p, abs=0.005)
    assert set(np.unique(y)) <= {0.0, np.float32(1 / (1 - p))}
    assert y.mean() == pytest.approx(1.0, abs=0.02)


def test_dropout_gradient_is_zero_exactly_where_dropped():
    x = leaf(np.random.default_rng(0).uniform(1, 2, (50, 40)))
    y = ops.dropout(x, 0.4)
    y.sum().backward()
    dropped = y.numpy() == 0
    assert 0 < dropped.mean() < 1
    np.testing.assert_array_equal(x.grad.numpy(), np.where(dropped, 0, 1 / 0.6))


def test_dropout_identity_cases_and_errors():
    x = mg.randn(3, 4, requires_grad=True)
    assert ops.dropout(x, 0.0) is x
    assert ops.dropout(x, 0.5, training=False) is x
    for p in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
            ops.dropout(x, p)


# ---- embedding ----------------------------------------------------------------------------------
@st.composite
def embedding_case(draw):
    rows, width = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    ids_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4))
    ids = draw(hnp.arrays(np.int64, ids_shape, elements=st.integers(0, rows - 1)))  # few rows: repeats
    return ids, draw(floats((rows, width)))


@FAST
@given(case=embedding_case(), transpose=st.booleans())
def test_embedding_gradcheck(case, transpose):
    ids, weight = case
    i = ids_tensor(ids)
    if transpose:  # a non-contiguous table
        mg.gradcheck(lambda w: ops.embedding(i, w.T), [leaf(weight.T)])
    else:
        mg.gradcheck(lambda w: ops.embedding(i, w), [leaf(weight)])


@FAST
@given(case=embedding_case())
def test_embedding_matches_one_hot_matmul(case):
    ids, weight = case
    i = ids_tensor(ids)
    for w in (leaf(weight), transposed_leaf(weight)):
        assert_same_value_and_grad(lambda w: ops.embedding(i, w), lambda w: composed_embedding(i, w), [w])


def test_embedding_repeated_ids_add_up():
    weight = leaf(np.arange(6.0).reshape(3, 2))
    out = ops.embedding(ids_tensor([[1, 1], [1, 0]]), weight)
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out.numpy()[0, 0], [2.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy(), [[1, 1], [3, 3], [0, 0]])


def test_embedding_frozen_table_records_nothing():
    out = ops.embedding(ids_tensor([0, 2]), mg.randn(3, 2))
    assert not out.requires_grad and out.is_leaf


def test_embedding_errors():
    weight = mg.randn(5, 2)
    with pytest.raises(IndexError, match=r"id 7 is out of range for a table of 5 rows"):
        ops.embedding(ids_tensor([[1, 7], [0, 2]]), weight)
    with pytest.raises(IndexError, match=r"id -1 is out of range for a table of 5 rows"):
        ops.embedding(ids_tensor([-1]), weight)
    with pytest.raises(TypeError, match="integer tensor, got dtype float32"):
        ops.embedding(mg.tensor([0.0, 1.0]), weight)
    with pytest.raises(ValueError, match=r"\(V, D\) table, got shape \(5,\)"):
        ops.embedding(ids_tensor([0]), mg.randn(5))


# ---- scaled_dot_product_attention ------------------------------------------------------------------
MASKS = ["none", "bool", "float", "causal", "causal+bool"]


@st.composite
def attention_case(draw, masks=tuple(MASKS)):
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=2))
    tq, tk, d, dv = (draw(st.integers(1, 3)) for _ in range(4))
    q, k, v = draw(floats(batch + (tq, d))), draw(floats(batch + (tk, d))), draw(floats(batch + (tk, dv)))
    kind = draw(st.sampled_from(masks))
    mask = None
    if "bool" in kind:  # may hide every key from some query: those rows must give zeros, not NaN
        mask = draw(hnp.arrays(np.bool_, (tq, tk)))
    elif kind == "float":  # any shape that broadcasts to the scores, 1-d included
        shape = draw(st.sampled_from([(tk,), (tq, tk), batch[-1:] + (1, tk), batch + (tq, tk)]))
        mask = draw(floats(shape, -2, 2))
    return q, k, v, mask, "causal" in kind


def allowed_of(mask, tq, tk, causal):
    allowed = None if mask is None or mask.dtype != np.bool_ else mask
    if causal:
        tril = np.tril(np.ones((tq, tk), dtype=bool))
        allowed = tril if allowed is None else allowed & tril
    return allowed


@FAST
@given(case=attention_case(), transpose_k=st.booleans())
def test_attention_gradcheck(case, transpose_k):
    q, k, v, mask, causal = case
    float_mask = mask is not None and mask.dtype == np.float64
    m = leaf(mask) if float_mask else (None if mask is None else mg.tensor(mask))
    k_leaf = leaf(np.swapaxes(k, -1, -2)) if transpose_k else leaf(k)

    def fn(q, k, v, m):
        k = k.transpose(-2, -1) if transpose_k else k  # a non-contiguous view
        return ops.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal)

    mg.gradcheck(fn, [leaf(q), k_leaf, leaf(v), m])


@FAST
@given(case=attention_case(), scale=st.sampled_from([None, 0.7]))
def test_attention_matches_composed(case, scale):
    q, k, v, mask, causal = case
    float_mask = mask is not None and mask.dtype == np.float64
    if mask is not None and not float_mask:
        mask[:, 0] = True  # composed softmax gives NaN on a row with nothing allowed (fused: zeros, below)
    allowed = allowed_of(mask, q.shape[-2], k.shape[-2], causal)  # causal keeps key 0 too
    allowed = None if allowed is None else mg.tensor(allowed)
    inputs = [leaf(q), leaf(k), leaf(v)] + ([leaf(mask)] if float_mask else [])
    bool_mask = None if mask is None or float_mask else mg.tensor(mask)

    def fused(q, k, v, additive=None):
        attn_mask = additive if float_mask else bool_mask
        return ops.scaled_dot_product_attention(q, k, v, attn_mask, is_causal=causal, scale=scale)

    def composed(q, k, v, additive=None):
        return composed_attention(q, k, v, allowed, additive, scale)

    assert_same_value_and_grad(fused, composed, inputs)


def random_qkv(*shape, tk=None, seed=0):
    """q (..., T, D), k and v (..., Tk, D) as float64 leaves."""
    rng = np.random.default_rng(seed)
    *lead, t, d = shape
    tk = t if tk is None else tk
    return [leaf(rng.standard_normal(tuple(lead) + (n, d))) for n in (t, tk, tk)]


def test_attention_causal_position_ignores_future_keys_and_values():
    q, k, v = random_qkv(2, 6, 4)
    out = ops.scaled_dot_product_attention(q, k, v, is_causal=True)
    k2, v2 = leaf(k.numpy()), leaf(v.numpy())
    k2.data[:, 3:] += 5.0
    v2.data[:, 3:] -= 7.0
    out2 = ops.scaled_dot_product_attention(q, k2, v2, is_causal=True)
    np.testing.assert_array_equal(out.numpy()[:, :3], out2.numpy()[:, :3])
    assert not np.allclose(out.numpy()[:, 3:], out2.numpy()[:, 3:])
    out2[:, :3].sum().backward()
    assert not k2.grad.numpy()[:, 3:].any() and not v2.grad.numpy()[:, 3:].any()
    assert k2.grad.numpy()[:, :3].any()


def test_attention_causal_with_more_keys_is_top_left_aligned_like_pytorch():
    q, k, v = random_qkv(1, 2, 3, tk=4)
    out = ops.scaled_dot_product_attention(q, k, v, is_causal=True)
    allowed = mg.tensor(np.tril(np.ones((2, 4), dtype=bool)))
    np.testing.assert_allclose(out.numpy(), composed_attention(q, k, v, allowed).numpy(), rtol=1e-12)


def test_attention_padded_keys_never_influence_outputs():
    q, k, v = random_qkv(2, 2, 5, 3)  # (B, H, T, D)
    lengths = np.array([5, 2])
    keep = np.arange(5)[None, :] < lengths[:, None]  # (B, Tk): True for real tokens
    mask = mg.tensor(keep[:, None, None, :])  # (B, 1, 1, Tk), broadcast over heads and queries
    for is_causal in (False, True):
        out = ops.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
        k2, v2 = leaf(k.numpy()), leaf(v.numpy())
        k2.data[1, :, 2:] = 100.0
        v2.data[1, :, 2:] = -1e6
        out2 = ops.scaled_dot_product_attention(q, k2, v2, attn_mask=mask, is_causal=is_causal)
        np.testing.assert_array_equal(out2.numpy(), out.numpy())
        out2.sum().backward()
        assert not k2.grad.numpy()[1, :, 2:].any() and not v2.grad.numpy()[1, :, 2:].any()


def test_attention_fully_masked_query_gives_zeros_without_nan():
    q, k, v = random_qkv(3, 2)
    allowed = np.array([[True, False, True], [False, False, False], [True, True, True]])
    for mask in (mg.tensor(allowed), mg.tensor(np.where(allowed, 0.0, NEG_INF), dtype=mg.float64)):
        for x in (q, k, v):
            x.grad = None
        out = ops.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out.sum().backward()
        assert not out.numpy()[1].any()
        assert all(np.isfinite(x.grad.numpy()).all() for x in (q, k, v))
        assert not q.grad.numpy()[1].any()
        partial = np.array([[True, False, True], [True, True, True]])  # queries 0 and 2
        expected = composed_attention(leaf(q.numpy()[[0, 2]]), k, v, mg.tensor(partial)).numpy()
        np.testing.assert_allclose(out.numpy()[[0, 2]], expected, rtol=1e-12)


def test_attention_float_additive_mask_with_minus_inf_equals_boolean_mask():
    q, k, v = random_qkv(2, 4, 3)
    allowed = np.random.default_rng(5).random((4, 4)) > 0.3
    allowed[:, 0] = True
    additive = mg.tensor(np.where(allowed, 0.0, NEG_INF), dtype=mg.float64)
    a = ops.scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(allowed)).numpy()
    b = ops.scaled_dot_product_attention(q, k, v, attn_mask=additive).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_dropout_gradcheck(causal):
    q, k, v = random_qkv(2, 3, 2)

    def fn(q, k, v):
        mg.manual_seed(11)  # the same dropout mask on every evaluation
        return ops.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=0.4)

    mg.gradcheck(fn, [q, k, v])


def test_attention_dropout_is_dropout_on_the_probabilities_and_is_seeded():
    q, k, v = random_qkv(2, 4, 3)
    allowed = mg.tensor(np.tril(np.ones((4, 4), dtype=bool)))

    def composed(q, k, v):
        scores = mg.where(allowed, q @ k.transpose(-2, -1) / math.sqrt(3), NEG_INF)
        mg.manual_seed(4)
        return ops.dropout(ops.softmax(scores), 0.5) @ v

    def fused(q, k, v):
        mg.manual_seed(4)
        return ops.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=0.5)

    assert_same_value_and_grad(fused, composed, [q, k, v])
    np.testing.assert_array_equal(fused(q, k, v).numpy(), fused(q, k, v).numpy())
    no_dropout = ops.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    assert not np.allclose(fused(q, k, v).numpy(), no_dropout)


def test_attention_keeps_dtype_and_batch_shape():
    q, k, v = mg.randn(2, 3, 5, 4), mg.randn(2, 3, 6, 4), mg.randn(2, 3, 6, 7)
    out = ops.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5, 7) and out.dtype == mg.float32


def test_attention_errors():
    q, k, v = mg.randn(2, 3, 4), mg.randn(2, 5, 4), mg.randn(2, 5, 6)
    with pytest.raises(ValueError, match=r"q \(2, 3, 4\), k \(2, 5, 3\), v \(2, 5, 6\)"):
        ops.scaled_dot_product_attention(q, mg.randn(2, 5, 3), v)
    with pytest.raises(ValueError, match=r"k \(2, 5, 4\), v \(2, 4, 6\)"):
        ops.scaled_dot_product_attention(q, k, mg.randn(2, 4, 6))
    with pytest.raises(TypeError, match="attn_mask must be boolean.*int64"):
        ops.scaled_dot_product_attention(q, k, v, attn_mask=ids_tensor(np.ones((3, 5), dtype=int)))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 4\) does not broadcast.*\(\.\.\., 3, 5\)"):
        ops.scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(np.ones((3, 4), dtype=bool)))
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\)"):
        ops.scaled_dot_product_attention(q, k, v, dropout_p=1.0)


# ---- the same ops on the GPU -------------------------------------------------------------------------
@pytest.mark.skipif(not mg.cuda_is_available(), reason="needs CuPy and an NVIDIA GPU")
def test_fused_ops_agree_on_cpu_and_cuda():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4))
    target = ids_tensor([[0, 1, -100], [3, 2, 1]])
    cases = [
        (lambda x: ops.softmax(x, 1), [x]),
        (lambda x: ops.log_softmax(x), [x]),
        (lambda x, t: ops.cross_entropy(x, t, label_smoothing=0.1), [x, target]),
        (lambda x, w, b: ops.layer_norm(x, 4, w, b), [x, rng.standard_normal(4), rng.standard_normal(4)]),
        (lambda i, w: ops.embedding(i, w), [target.numpy().clip(0), rng.standard_normal((4, 3))]),
        (lambda q, k, v: ops.scaled_dot_product_attention(q, k, v, is_causal=True), [x, x * 2, x * 3]),
    ]
    for fn, arrays in cases:
        arrays = [a.numpy() if isinstance(a, mg.Tensor) else a for a in arrays]
        results = []
        for device in ("cpu", "cuda"):
            inputs = [mg.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
            out = fn(*inputs)
            out.sum().backward()
            results.append([out.numpy()] + [t.grad.numpy() for t in inputs if t.requires_grad])
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
