"""What ordinary PyTorch programs reach for in torch.nn: loss functions and modules, activation and
utility modules, one_hot, Embedding's padding_idx. Each is checked against NumPy, gradchecked in
float64, and compared with PyTorch itself (values and gradients, float32) when torch is installed."""
import math

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn import functional as F
from tests.strategies import make_input, nonempty_shapes, seeds, shapes

checks = settings(max_examples=20, deadline=None)
REDUCTIONS = ["mean", "sum", "none"]


def real(rng, shape):
    return rng.uniform(-2, 2, shape)


def probability(rng, shape):  # away from 0 and 1, where log's slope is steep for finite differences
    return rng.uniform(0.05, 0.95, shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2, shape)


def constant(domain, shape, seed):
    """A float64 tensor that needs no gradient (class weights, pos_weight)."""
    return mg.tensor(np.asarray(domain(np.random.default_rng(seed), shape)), dtype=mg.float64)


def ids(values):
    return mg.tensor(np.asarray(values, dtype=np.int64))


def reduce(losses, reduction):
    return losses if reduction == "none" else losses.sum() if reduction == "sum" else losses.mean()


@st.composite
def shape_and_broadcast(draw):
    """An input shape and a shape that broadcasts into it (leading dims dropped, some dims 1)."""
    shape = draw(shapes)
    drop = draw(st.integers(0, len(shape)))
    return shape, tuple(1 if draw(st.booleans()) else n for n in shape[drop:])


@st.composite
def classification(draw):
    """(log-prob-like scores (lead..., C), integer targets (lead...)) with some targets ignored (-100)."""
    lead = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    classes = draw(st.integers(1, 4))
    target = draw(hnp.arrays(np.int64, lead, elements=st.integers(0, classes - 1) | st.just(-100)))
    return lead + (classes,), target


# ---- activations and utility modules ---------------------------------------------------------------
np_sigmoid = scipy.special.expit


ACTIVATIONS = {  # name: (module, NumPy reference)
    "tanh": (nn.Tanh(), np.tanh),
    "sigmoid": (nn.Sigmoid(), np_sigmoid),
    "silu": (nn.SiLU(), lambda x: x * np_sigmoid(x)),
    "leaky_relu": (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    "leaky_relu_0.2": (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "identity": (nn.Identity(), lambda x: x),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@checks
@given(shape=shapes, seed=seeds, transposed=st.booleans())
def test_activation_modules(name, shape, seed, transposed):
    layer, reference = ACTIVATIONS[name]
    x = make_input(real, shape, seed, transposed)
    np.testing.assert_allclose(layer(x).numpy(), reference(x.numpy()), rtol=1e-12, atol=1e-15)
    mg.gradcheck(layer, [x])


def test_functional_activations_match_the_modules():
    x = make_input(real, (3, 4), 0)
    np.testing.assert_array_equal(F.tanh(x).numpy(), nn.Tanh()(x).numpy())
    np.testing.assert_array_equal(F.silu(x).numpy(), nn.SiLU()(x).numpy())
    np.testing.assert_array_equal(F.leaky_relu(x, 0.3).numpy(), nn.LeakyReLU(0.3)(x).numpy())


def test_leaky_relu_slope_at_zero_is_negative_slope_as_in_pytorch():
    x = mg.tensor([0.0, -2.0, 3.0], dtype=mg.float64, requires_grad=True)
    F.leaky_relu(x, 0.1).sum().backward()
    assert x.grad.tolist() == [0.1, 0.1, 1.0]
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


@pytest.mark.parametrize("layer, reference", [
    (nn.Softmax(dim=-1), lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
    (nn.Softmax(dim=0), lambda a: np.exp(a) / np.exp(a).sum(0, keepdims=True)),
    (nn.LogSoftmax(dim=1), lambda a: a - np.log(np.exp(a).sum(1, keepdims=True))),
])
def test_softmax_modules(layer, reference):
    x = make_input(real, (2, 3, 4), 1)
    np.testing.assert_allclose(layer(x).numpy(), reference(x.numpy()), rtol=1e-12)
    mg.gradcheck(layer, [x])
    assert repr(layer) == f"{type(layer).__name__}(dim={layer.dim})"
    with pytest.raises(TypeError):
        type(layer)()  # PyTorch's implicit choice of dim is deprecated: here dim is required


@checks
@given(shape=nonempty_shapes, seed=seeds, dims=st.tuples(st.integers(-3, 2), st.integers(-3, 2)))
def test_flatten_merges_start_dim_to_end_dim(shape, seed, dims):
    x = make_input(real, shape, seed)
    start, end = dims
    if not (-x.ndim <= start < x.ndim and -x.ndim <= end < x.ndim) or start % x.ndim > end % x.ndim:
        with pytest.raises((IndexError, ValueError)):
            nn.Flatten(start, end)(x)
        return
    s, e = start % x.ndim, end % x.ndim
    expected = shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:]
    out = nn.Flatten(start, end)(x)
    assert out.shape == expected
    np.testing.assert_array_equal(out.numpy(), x.numpy().reshape(expected))
    mg.gradcheck(nn.Flatten(start, end), [x])


def test_flatten_defaults_keep_the_batch_dim_and_handle_empty_tensors():
    assert nn.Flatten()(mg.zeros(2, 3, 4, 5)).shape == (2, 60)
    assert nn.Flatten()(mg.zeros(0, 3, 4)).shape == (0, 12)
    assert nn.Flatten(0, 1)(mg.zeros(2, 0, 4)).shape == (0, 4)  # -1 could not be inferred here
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    with pytest.raises(ValueError, match=r"start_dim 2 comes after end_dim 1 .*\(2, 3, 4\)"):
        nn.Flatten(2, 1)(mg.zeros(2, 3, 4))


def test_identity_accepts_and_ignores_arguments_and_returns_its_input():
    x = mg.randn(2, 3)
    assert nn.Identity(54, unused_argument=0.1)(x) is x
    assert list(nn.Identity().parameters()) == []


# ---- one_hot ---------------------------------------------------------------------------------------
def test_one_hot():
    out = F.one_hot(ids([[0, 2], [1, 2]]))
    assert out.dtype == mg.int64 and out.shape == (2, 2, 3) and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[[[0, 2], [1, 2]]])
    assert F.one_hot(ids([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    assert F.one_hot(ids([]).reshape(0), num_classes=3).shape == (0, 3)
    assert F.one_hot(ids(2)).tolist() == [0, 0, 1]  # a 0-d id


def test_one_hot_errors():
    with pytest.raises(TypeError, match="integer tensor, got dtype float32"):
        F.one_hot(mg.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match=r"ids must be in \[0, 3\), got ids from 0 to 3"):
        F.one_hot(ids([0, 3]), num_classes=3)
    with pytest.raises(IndexError, match=r"from -1 to 1"):
        F.one_hot(ids([-1, 1]))
    with pytest.raises(ValueError, match="empty tensor; pass num_classes"):
        F.one_hot(ids([]).reshape(0))


# ---- Embedding(padding_idx) ------------------------------------------------------------------------
def test_embedding_padding_row_starts_at_zero_and_never_gets_a_gradient():
    mg.manual_seed(0)
    table = nn.Embedding(5, 3, padding_idx=1).to(mg.float64)
    assert not table.weight.numpy()[1].any() and table.weight.numpy()[[0, 2, 3, 4]].all()
    batch = ids([[1, 2, 1], [4, 1, 2]])
    table(batch).sum().backward()
    assert table.weight.grad.numpy()[:, 0].tolist() == [0.0, 0.0, 2.0, 0.0, 1.0]
    with mg.no_grad():  # a padding row that was changed (loaded weights) is still looked up as it is
        table.weight[1] = 7.0
    np.testing.assert_array_equal(table(batch).numpy(), table.weight.numpy()[batch.numpy()])
    # every other row's gradient is the plain lookup's: the upstream gradients added up per id
    upstream = np.random.default_rng(0).standard_normal((2, 3, 3))
    table.weight.grad = None
    table(batch).backward(gradient=upstream)
    expected = np.zeros((5, 3))
    np.add.at(expected, batch.numpy(), upstream)
    expected[1] = 0
    np.testing.assert_allclose(table.weight.grad.numpy(), expected, rtol=1e-12)


def test_embedding_padding_idx_negative_repr_and_errors():
    table = nn.Embedding(4, 2, padding_idx=-1)
    assert table.padding_idx == 3 and not table.weight.numpy()[3].any()
    assert repr(table) == "Embedding(4, 2, padding_idx=3)  # 8 params"
    assert repr(nn.Embedding(4, 2)) == "Embedding(4, 2)  # 8 params"
    with pytest.raises(ValueError, match="padding_idx 4 is out of range for 4 rows"):
        nn.Embedding(4, 2, padding_idx=4)
    table(ids([3, 0])).sum().backward()
    assert table.weight.grad.numpy().tolist() == [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]


# ---- pointwise losses: mse, l1, binary cross-entropy ---------------------------------------------------
def np_log_sigmoid(x):
    return -np.logaddexp(0, -x)


def np_bce_with_logits(x, y, weight=None, pos_weight=None):
    p = 1 if pos_weight is None else pos_weight
    losses = -(p * y * np_log_sigmoid(x) + (1 - y) * np_log_sigmoid(-x))
    return losses if weight is None else losses * weight


def np_bce(x, y, weight=None):
    with np.errstate(divide="ignore"):
        losses = -(y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log(1 - x), -100))
    return losses if weight is None else losses * weight


POINTWISE = {  # name: (F function, NumPy reference, input domain, target domain)
    "mse_loss": (F.mse_loss, lambda x, y: (x - y) ** 2, real, real),
    "l1_loss": (F.l1_loss, lambda x, y: np.abs(x - y), real, real),
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits, np_bce_with_logits, real, probability),
    "binary_cross_entropy": (F.binary_cross_entropy, np_bce, probability, probability),
}


@pytest.mark.parametrize("name", sorted(POINTWISE))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@checks
@given(shape=shapes, seed=seeds, transposed=st.booleans())
def test_pointwise_loss_values_and_gradcheck(name, reduction, shape, seed, transposed):
    fn, reference, input_domain, target_domain = POINTWISE[name]
    x = make_input(input_domain, shape, seed, transposed)
    y = make_input(target_domain, shape, seed + 1)  # the target gets a gradient too, as in PyTorch
    expected = reduce(reference(x.numpy(), y.numpy()), reduction)
    np.testing.assert_allclose(fn(x, y, reduction=reduction).numpy(), expected, rtol=1e-12, atol=1e-15)
    mg.gradcheck(lambda x, y: fn(x, y, reduction=reduction), [x, y])


@pytest.mark.parametrize("name", ["binary_cross_entropy_with_logits", "binary_cross_entropy"])
@checks
@given(case=shape_and_broadcast(), seed=seeds, reduction=st.sampled_from(REDUCTIONS))
def test_binary_cross_entropy_weight_broadcasts(name, case, seed, reduction):
    fn, reference, input_domain, target_domain = POINTWISE[name]
    shape, weight_shape = case
    x, y = make_input(input_domain, shape, seed), make_input(target_domain, shape, seed + 1)
    weight = constant(positive, weight_shape, seed + 2)
    expected = reduce(reference(x.numpy(), y.numpy(), weight=weight.numpy()), reduction)
    np.testing.assert_allclose(fn(x, y, weight=weight, reduction=reduction).numpy(), expected, rtol=1e-12)
    mg.gradcheck(lambda x, y: fn(x, y, weight=weight, reduction=reduction), [x, y])


@checks
@given(batch=st.integers(1, 3), classes=st.integers(1, 4), seed=seeds, reduction=st.sampled_from(REDUCTIONS))
def test_binary_cross_entropy_with_logits_pos_weight_per_class(batch, classes, seed, reduction):
    x, y = make_input(real, (batch, classes), seed), make_input(probability, (batch, classes), seed + 1)
    pos_weight = constant(positive, (classes,), seed + 2)
    expected = reduce(np_bce_with_logits(x.numpy(), y.numpy(), pos_weight=pos_weight.numpy()), reduction)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction=reduction, pos_weight=pos_weight)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)
    mg.gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction,
                                                                 pos_weight=pos_weight), [x, y])


def test_binary_cross_entropy_with_logits_is_stable_and_exact_at_zero():
    x = mg.tensor([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([1.0, 0.0, 0.25, 1.0, 0.0], dtype=mg.float64)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    # no overflow at +-1000; a tiny loss is exact to float64's absolute precision at |x| (~1e-15)
    np.testing.assert_allclose(loss.numpy(), [1000.0, math.exp(-30), math.log(2), math.exp(-30), 1000.0],
                               rtol=1e-12, atol=1e-14)
    loss.sum().backward()
    # d/dx = sigmoid(x) - y; at x = 0 exactly 0.5 - y (each piece of the formula has a kink there)
    np.testing.assert_allclose(x.grad.numpy(), np_sigmoid(x.numpy()) - y.numpy(), rtol=1e-12, atol=1e-15)
    pos_weight = mg.tensor([3.0], dtype=mg.float64)
    x.grad = None
    F.binary_cross_entropy_with_logits(x[2:3], y[2:3], pos_weight=pos_weight).backward()
    assert x.grad.numpy()[2] == pytest.approx((1 - 0.25) - (1 + 2 * 0.25) * 0.5)  # (1 - y) - lw sigmoid(-x)


def test_binary_cross_entropy_floors_each_log_at_minus_100_with_finite_gradients():
    x = mg.tensor([0.0, 1.0, 0.0, 1.0, 1e-50], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([1.0, 0.0, 0.0, 1.0, 1.0], dtype=mg.float64)
    loss = F.binary_cross_entropy(x, y, reduction="none")
    assert loss.tolist() == [100.0, 100.0, 0.0, 0.0, 100.0]
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_binary_cross_entropy_gradient_at_0_and_1_is_pytorchs_steep_slope():
    # (x - y) / max(x (1 - x), 1e-12): -1e12 at x = 0, y = 1, +1e12 at x = 1, y = 0, 0 where x = y
    x = mg.tensor([0.0, 1.0, 0.0, 1.0], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([1.0, 0.0, 0.0, 1.0], dtype=mg.float64)
    F.binary_cross_entropy(x, y, reduction="sum").backward()
    assert x.grad.tolist() == [-1e12, 1e12, 0.0, 0.0]


@pytest.mark.parametrize("name", sorted(POINTWISE))
def test_pointwise_loss_shape_mismatch_names_both_shapes(name):
    fn = POINTWISE[name][0]
    with pytest.raises(ValueError, match=rf"{name}: input of shape \(4, 1\) and target of shape \(4,\) differ"):
        fn(mg.full((4, 1), 0.5), mg.full((4,), 0.5))  # PyTorch would broadcast to (4, 4) with a warning
    with pytest.raises(ValueError, match=rf"{name}: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        fn(mg.full((2,), 0.5), mg.full((2,), 0.5), reduction="avg")


def test_pointwise_losses_accept_a_plain_target_in_the_input_dtype():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    assert F.mse_loss(x, [0.0, 0.0]).item() == 2.5 and F.l1_loss(x, np.array([1.0, 1.0])).item() == 0.5


def test_binary_cross_entropy_refuses_values_outside_0_1():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*binary_cross_entropy_with_logits"):
        F.binary_cross_entropy(mg.tensor([0.5, 1.5]), mg.tensor([1.0, 0.0]))


# ---- nll_loss and weighted cross_entropy ---------------------------------------------------------------
def classes_second(x):
    """(N, ..., C) as PyTorch's (N, C, ...): the losses take the class dim second, as PyTorch."""
    return x if x.ndim <= 2 else x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def np_weighted_nll(log_p, target, weight, reduction, ignore_index=-100):
    log_p, target = log_p.reshape(-1, log_p.shape[-1]), target.reshape(-1)
    kept = target != ignore_index
    safe = np.where(kept, target, 0)
    w = np.where(kept, weight[safe], 0.0)
    losses = -log_p[np.arange(len(safe)), safe] * w
    if reduction == "none":
        return losses
    return losses.sum() / (w.sum() or 1) if reduction == "mean" else losses.sum()


@checks
@given(case=classification(), seed=seeds, weighted=st.booleans(), reduction=st.sampled_from(REDUCTIONS))
def test_nll_loss_values_and_gradcheck(case, seed, weighted, reduction):
    shape, target = case
    x = make_input(real, shape, seed)
    weight = constant(positive, shape[-1:], seed + 1) if weighted else None
    t = ids(target)
    expected = np_weighted_nll(x.numpy(), target, np.ones(shape[-1]) if weight is None else weight.numpy(),
                               reduction)
    out = F.nll_loss(classes_second(x), t, weight=weight, reduction=reduction)
    assert out.shape == (target.shape if reduction == "none" else ())
    np.testing.assert_allclose(out.numpy().reshape(-1), np.reshape(expected, -1), rtol=1e-12)
    mg.gradcheck(lambda x: F.nll_loss(classes_second(x), t, weight=weight, reduction=reduction), [x])


@checks
@given(case=classification(), seed=seeds, smoothing=st.sampled_from([0.0, 0.1, 0.6]),
       reduction=st.sampled_from(REDUCTIONS), transposed=st.booleans())
def test_weighted_cross_entropy_gradcheck(case, seed, smoothing, reduction, transposed):
    shape, target = case
    x, t = make_input(real, shape, seed, transposed), ids(target)
    weight = constant(positive, shape[-1:], seed + 1)
    mg.gradcheck(lambda x: F.cross_entropy(classes_second(x), t, weight=weight, reduction=reduction,
                                           label_smoothing=smoothing), [x])


def composed_weighted_cross_entropy(x, t, weight, reduction, label_smoothing):
    """PyTorch's definition, composed: nll_loss of log_softmax plus s/C times the weighted sum over
    classes of -log p, which "mean" divides by the same sum of w[t_i] as the nll term."""
    log_p = x.log_softmax(-1)
    nll = F.nll_loss(classes_second(log_p), t, weight=weight, reduction=reduction)
    kept = mg.tensor((t.numpy() != -100).astype(np.float64), dtype=mg.float64)
    smooth = -(log_p * weight).sum(-1) * kept
    if reduction == "mean":
        total = (weight.numpy()[np.where(t.numpy() != -100, t.numpy(), 0)] * kept.numpy()).sum()
        smooth = smooth.sum() / (total or 1)
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * nll + label_smoothing / x.shape[-1] * smooth


@checks
@given(case=classification(), seed=seeds, smoothing=st.sampled_from([0.0, 0.3]),
       reduction=st.sampled_from(REDUCTIONS))
def test_weighted_cross_entropy_is_nll_of_log_softmax_plus_smoothing(case, seed, smoothing, reduction):
    shape, target = case
    x, t = make_input(real, shape, seed), ids(target)
    weight = constant(positive, shape[-1:], seed + 1)
    fused = F.cross_entropy(classes_second(x), t, weight=weight, reduction=reduction, label_smoothing=smoothing)
    composed = composed_weighted_cross_entropy(x, t, weight, reduction, smoothing)
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(seed).standard_normal(fused.shape)
    fused.backward(gradient=upstream)
    fused_grad, x.grad = x.grad.numpy(), None
    composed.backward(gradient=upstream)
    np.testing.assert_allclose(fused_grad, x.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_weighted_mean_by_hand_and_unit_weights_change_nothing():
    x = make_input(real, (3, 2), 0)
    t, w = ids([0, 1, 1]), mg.tensor([1.0, 3.0], dtype=mg.float64)
    log_p = x.log_softmax(-1).numpy()
    expected = -(1 * log_p[0, 0] + 3 * log_p[1, 1] + 3 * log_p[2, 1]) / (1 + 3 + 3)
    assert F.cross_entropy(x, t, weight=w).item() == pytest.approx(expected, rel=1e-12)
    assert F.nll_loss(x.log_softmax(-1), t, weight=w).item() == pytest.approx(expected, rel=1e-12)
    ones = mg.ones(2, dtype=mg.float64)
    for options in (dict(), dict(label_smoothing=0.2), dict(reduction="none")):
        np.testing.assert_allclose(F.cross_entropy(x, t, weight=ones, **options).numpy(),
                                   F.cross_entropy(x, t, **options).numpy(), rtol=1e-12)


def test_nll_loss_ignored_rows_and_all_ignored():
    x = mg.tensor([[float("-inf"), 0.0], [-0.5, -1.0]], dtype=mg.float64, requires_grad=True)
    loss = F.nll_loss(x, ids([-100, 1]))  # the ignored row's -inf never reaches the loss or gradient
    loss.backward()
    assert loss.item() == 1.0 and x.grad.tolist() == [[0.0, 0.0], [0.0, -1.0]]
    x.grad = None
    loss = F.nll_loss(x, ids([-100, -100]))
    loss.backward()
    assert loss.item() == 0.0 and not x.grad.numpy().any()  # PyTorch gives NaN
    assert F.nll_loss(x, ids([1, 0]), ignore_index=0).item() == 0.0  # x[0, 1]


def test_nll_loss_and_cross_entropy_errors():
    x = mg.randn(3, 4)
    for fn in (F.nll_loss, F.cross_entropy):
        name = fn.__name__
        with pytest.raises(ValueError, match=rf"{name}: input of shape \(3, 4\) .* target of shape \(3,\), "
                                             r"got target of shape \(2,\)"):
            fn(x, ids([0, 1]))
        with pytest.raises((TypeError, ValueError), match="integer class indices|need an integer tensor"):
            fn(x, mg.tensor([0.0, 1.0, 2.0]))  # cross_entropy reads a float target as probabilities: wrong shape
        with pytest.raises(IndexError, match="target 4 is out of range for 4 classes"):
            fn(x, ids([0, 4, 1]))
        with pytest.raises(ValueError, match=r"weight must be a float tensor of shape \(4,\).*shape \(3,\)"):
            fn(x, ids([0, 1, 2]), weight=mg.ones(3))
        with pytest.raises(ValueError, match=r"dtype int64"):
            fn(x, ids([0, 1, 2]), weight=ids([1, 1, 1, 1]))
        with pytest.raises(ValueError, match="class weights are constants"):
            fn(x, ids([0, 1, 2]), weight=mg.ones(4, requires_grad=True))
        with pytest.raises(ValueError, match="reduction"):
            fn(x, ids([0, 1, 2]), reduction="avg")


# ---- loss modules --------------------------------------------------------------------------------
def test_loss_modules_call_their_functions_with_their_options():
    x = make_input(real, (4, 3), 0)
    t, y = ids([0, 2, -100, 1]), make_input(probability, (4, 3), 1)
    w = mg.tensor([1.0, 2.0, 0.5], dtype=mg.float64)
    cases = [
        (nn.CrossEntropyLoss(weight=w, label_smoothing=0.1, reduction="sum"), (x, t),
         F.cross_entropy(x, t, weight=w, label_smoothing=0.1, reduction="sum")),
        (nn.CrossEntropyLoss(ignore_index=2), (x, ids([0, 2, 2, 1])), F.cross_entropy(x[[0, 3]], ids([0, 1]))),
        (nn.NLLLoss(weight=w, reduction="none"), (x, t), F.nll_loss(x, t, weight=w, reduction="none")),
        (nn.MSELoss(reduction="sum"), (x, y), F.mse_loss(x, y, reduction="sum")),
        (nn.L1Loss(), (x, y), F.l1_loss(x, y)),
        (nn.BCEWithLogitsLoss(weight=w, pos_weight=w * 2), (x, y),
         F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=w * 2)),
        (nn.BCELoss(weight=w, reduction="none"), (y, y.detach()), F.binary_cross_entropy(y, y.detach(), w, "none")),
    ]
    for module, args, expected in cases:
        np.testing.assert_array_equal(module(*args).numpy(), expected.numpy())


def test_loss_weights_are_buffers_saved_and_moved_but_not_trained():
    criterion = nn.CrossEntropyLoss(weight=mg.tensor([1.0, 2.0]))
    assert list(criterion.parameters()) == [] and set(criterion.state_dict()) == {"weight"}
    assert criterion.to(mg.float64).weight.dtype == mg.float64
    assert nn.CrossEntropyLoss().weight is None and nn.CrossEntropyLoss().state_dict() == {}
    assert set(nn.BCEWithLogitsLoss(pos_weight=mg.ones(3)).state_dict()) == {"pos_weight"}
    assert repr(nn.MSELoss()) == "MSELoss()"


def test_a_pytorch_style_training_loop_runs():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.SiLU(), nn.Linear(8, 3))
    criterion, x = nn.CrossEntropyLoss(), mg.randn(16, 2, 2)
    y = mg.tensor(x.numpy().reshape(16, 4)[:, :3].argmax(1))  # learnable: the largest of three inputs
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2


def test_everything_is_exported():
    for name in ["CrossEntropyLoss", "MSELoss", "L1Loss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "Tanh",
                 "Sigmoid", "Identity", "Flatten", "LeakyReLU", "SiLU", "Softmax", "LogSoftmax"]:
        assert issubclass(getattr(nn, name), nn.Module)
    for name in ["mse_loss", "l1_loss", "nll_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy",
                 "tanh", "leaky_relu", "silu", "one_hot"]:
        assert callable(getattr(F, name))


# ---- against PyTorch (float32) -----------------------------------------------------------------------
def float32_pair(array, requires_grad=True):
    """The same float32 values as a minigrad leaf and a torch leaf."""
    torch = pytest.importorskip("torch")
    array = np.asarray(array, dtype=np.float32)
    return (mg.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def assert_agrees_with_torch(ours, theirs, leaves, rtol=1e-5, atol=1e-6):
    """ours and theirs: the same loss; leaves: (minigrad leaf, torch leaf) pairs whose gradients must agree."""
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)
    upstream = np.asarray(np.random.default_rng(0).standard_normal(ours.shape), dtype=np.float32)
    ours.backward(gradient=upstream)
    theirs.backward(gradient=pytest.importorskip("torch").tensor(upstream))
    for mine, torch_leaf in leaves:
        np.testing.assert_allclose(mine.grad.numpy(), torch_leaf.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits",
                                  "binary_cross_entropy"])
def test_pointwise_losses_agree_with_pytorch(name, reduction):
    torch = pytest.importorskip("torch")
    fn, _, input_domain, target_domain = POINTWISE[name]
    rng = np.random.default_rng(3)
    (x, tx), (y, ty) = float32_pair(input_domain(rng, (3, 4))), float32_pair(target_domain(rng, (3, 4)))
    w, tw = float32_pair(positive(rng, (4,)), requires_grad=False)
    weighted = name.startswith("binary")  # mse and l1 take no weight
    ours = fn(x, y, reduction=reduction, **({"weight": w} if weighted else {}))
    theirs = getattr(torch.nn.functional, name)(tx, ty, reduction=reduction, **({"weight": tw} if weighted else {}))
    assert_agrees_with_torch(ours, theirs, [(x, tx), (y, ty)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_pos_weight_agrees_with_pytorch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    (x, tx), (y, ty) = float32_pair(rng.normal(0, 5, (5, 3))), float32_pair(rng.uniform(0, 1, (5, 3)))
    p, tp = float32_pair([0.5, 2.0, 4.0], requires_grad=False)
    ours = nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=p)(x, y)
    theirs = torch.nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=tp)(tx, ty)
    assert_agrees_with_torch(ours, theirs, [(x, tx), (y, ty)])


def test_bce_at_exactly_0_and_1_agrees_with_pytorch_in_value():
    torch = pytest.importorskip("torch")
    (x, tx), (y, ty) = float32_pair([0.0, 1.0, 0.0, 1.0, 0.3]), float32_pair([1.0, 0.0, 0.0, 1.0, 0.5])
    np.testing.assert_allclose(F.binary_cross_entropy(x, y, reduction="none").numpy(),
                               torch.nn.functional.binary_cross_entropy(tx, ty, reduction="none").detach().numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("lead", [(6,), (2, 3)])
def test_cross_entropy_and_nll_with_weights_agree_with_pytorch(reduction, smoothing, lead):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    (x, tx) = float32_pair(rng.normal(0, 2, lead + (4,)))
    target = np.array([0, 3, -100, 1, 3, 2]).reshape(lead)
    t, tt = ids(target), torch.tensor(target)
    w, tw = float32_pair([0.2, 1.0, 3.0, 0.7], requires_grad=False)

    def torch_layout(scores):  # both take PyTorch's layout, the classes in dim 1: (B, C, T)
        return scores if scores.ndim == 2 else scores.permute(0, 2, 1)

    ours = nn.CrossEntropyLoss(weight=w, reduction=reduction, label_smoothing=smoothing)(torch_layout(x), t)
    theirs = torch.nn.CrossEntropyLoss(weight=tw, reduction=reduction, label_smoothing=smoothing)(torch_layout(tx), tt)
    assert_agrees_with_torch(ours, theirs, [(x, tx)])
    (x, tx) = float32_pair(rng.normal(0, 2, lead + (4,)))
    ours = nn.NLLLoss(weight=w, reduction=reduction)(torch_layout(x.log_softmax(-1)), t)
    theirs = torch.nn.NLLLoss(weight=tw, reduction=reduction)(torch_layout(tx.log_softmax(-1)), tt)
    assert_agrees_with_torch(ours, theirs, [(x, tx)])


@pytest.mark.parametrize("make", [
    lambda nn: nn.Tanh(), lambda nn: nn.Sigmoid(), lambda nn: nn.SiLU(), lambda nn: nn.LeakyReLU(),
    lambda nn: nn.LeakyReLU(0.3), lambda nn: nn.Softmax(dim=1), lambda nn: nn.LogSoftmax(dim=-1),
    lambda nn: nn.Identity(), lambda nn: nn.Flatten(), lambda nn: nn.Flatten(0, -2),
])
def test_activation_and_utility_modules_agree_with_pytorch(make):
    torch = pytest.importorskip("torch")
    x, tx = float32_pair(np.random.default_rng(6).normal(0, 2, (2, 3, 4)))
    assert_agrees_with_torch(make(nn)(x), make(torch.nn)(tx), [(x, tx)])


def test_one_hot_and_embedding_padding_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    batch = np.array([[0, 2, 1], [1, 1, 3]])
    np.testing.assert_array_equal(F.one_hot(ids(batch)).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(batch)).numpy())
    np.testing.assert_array_equal(F.one_hot(ids(batch), 6).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(batch), 6).numpy())
    ours, theirs = nn.Embedding(4, 3, padding_idx=1), torch.nn.Embedding(4, 3, padding_idx=1)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
    assert not theirs.weight[1].any()
    assert_agrees_with_torch(ours(ids(batch)), theirs(torch.tensor(batch)), [(ours.weight, theirs.weight)])


def test_functional_embedding_padding_idx_as_in_torch():
    torch = pytest.importorskip("torch")
    batch = np.array([[0, 2, 1], [1, 0, 3]])
    for padding_idx in (0, 2, -1):
        (w, tw) = float32_pair(np.random.default_rng(7).normal(0, 1, (4, 3)))
        assert_agrees_with_torch(F.embedding(ids(batch), w, padding_idx=padding_idx),
                                 torch.nn.functional.embedding(torch.tensor(batch), tw, padding_idx=padding_idx),
                                 [(w, tw)])
        assert not w.grad.numpy()[padding_idx].any()
    with pytest.raises(ValueError, match="embedding: padding_idx 4 is out of range for a table of 4 rows"):
        F.embedding(ids(batch), w, padding_idx=4)


def test_bce_gradient_at_exactly_0_and_1_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    (x, tx), (y, ty) = float32_pair([0.0, 1.0, 0.0, 1.0, 0.3, 0.0]), float32_pair([1.0, 0.0, 0.0, 1.0, 0.5, 0.25])
    assert_agrees_with_torch(F.binary_cross_entropy(x, y, reduction="none"),
                             torch.nn.functional.binary_cross_entropy(tx, ty, reduction="none"), [(x, tx)])
    assert abs(x.grad.numpy()[0]) > 1e11 and x.grad.numpy()[2] == 0  # (0 - 1) / 1e-12 where x = 0, y = 1; 0 where x = y


def test_losses_take_pytorchs_layout_with_the_classes_second():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, tx = float32_pair(rng.normal(0, 2, (2, 5, 5)))  # C = T = 5: the classes-last reading ran silently wrong
    target = rng.integers(0, 5, (2, 5))
    assert_agrees_with_torch(F.cross_entropy(x, ids(target)), torch.nn.functional.cross_entropy(tx, torch.tensor(target)),
                             [(x, tx)])
    x, tx = float32_pair(rng.normal(0, 2, (2, 5, 5)))
    assert_agrees_with_torch(F.nll_loss(x.log_softmax(1), ids(target), reduction="none"),
                             torch.nn.functional.nll_loss(tx.log_softmax(1), torch.tensor(target), reduction="none"),
                             [(x, tx)])
    with pytest.raises(ValueError, match=r"input of shape \(2, 3, 4\) \(N, C, d1, ...: the classes in dim 1, as "
                                         r"PyTorch\) needs a target of shape \(2, 4\), got target of shape \(2, 3\)"):
        F.cross_entropy(mg.zeros(2, 3, 4), ids(np.zeros((2, 3), dtype=np.int64)))


@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}, {"reduction": "sum"}, {"reduction": "none"},
                                     {"weighted": True}])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4)])
def test_soft_targets_agree_with_pytorch_and_pass_gradcheck(options, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    options = dict(options)
    weight = float32_pair([0.5, 2.0, 1.0], requires_grad=False) if options.pop("weighted", False) else (None, None)
    probabilities = rng.dirichlet(np.ones(3), (shape[0],) + shape[2:])  # (N, d1, C), each row sums to 1
    probabilities = np.moveaxis(probabilities, -1, 1)  # PyTorch's layout: (N, C, d1)
    (x, tx), (q, tq) = float32_pair(rng.normal(0, 2, shape)), float32_pair(probabilities)
    ours = F.cross_entropy(x, q, weight=weight[0], **options)
    theirs = torch.nn.functional.cross_entropy(tx, tq, weight=weight[1], **options)
    assert_agrees_with_torch(ours, theirs, [(x, tx), (q, tq)])  # the target's gradient too


def test_soft_targets_are_smoothed_by_label_smoothing_over_the_class_count():
    # q = (1 - s) q + s / C: with s = 0.2, C = 2, the target [1, 0] becomes [0.9, 0.1]
    x = mg.tensor([[0.0, 0.0], [0.0, math.log(3)]], dtype=mg.float64)  # p = [1/2, 1/2] and [1/4, 3/4]
    q = mg.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=mg.float64)
    losses = F.cross_entropy(x, q, label_smoothing=0.2, reduction="none")
    np.testing.assert_allclose(losses.numpy(), [math.log(2), 0.9 * math.log(4) + 0.1 * math.log(4 / 3)], rtol=1e-12)
    three = F.cross_entropy(mg.tensor([[0.0, math.log(2), math.log(5)]], dtype=mg.float64),  # p = [1/8, 2/8, 5/8]
                            mg.tensor([[0.0, 0.0, 1.0]], dtype=mg.float64), label_smoothing=0.3)
    assert three.item() == pytest.approx(-(0.1 * math.log(1 / 8) + 0.1 * math.log(2 / 8) + 0.8 * math.log(5 / 8)),
                                         rel=1e-12)


@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}, {"reduction": "none"}])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4)])
def test_soft_targets_pass_gradcheck_for_the_logits_and_the_probabilities(options, shape):
    probabilities = np.moveaxis(np.random.default_rng(13).dirichlet(np.ones(3), (shape[0],) + shape[2:]), -1, 1)
    x, q = make_input(real, shape, 3), mg.tensor(probabilities, dtype=mg.float64, requires_grad=True)
    weight = mg.tensor([0.5, 2.0, 1.0], dtype=mg.float64)
    mg.gradcheck(lambda x, q: F.cross_entropy(x, q, weight=weight, **options), [x, q])
