"""More PyTorch porting gaps a probe listed: einsum, the smooth L1 / Huber / KL losses, normalize,
cosine_similarity and pad, and the small tensor helpers (outer, allclose, type_as, normal_, uniform_).
Each is gradchecked in float64 and, where torch is installed, compared with PyTorch (values and
gradients)."""
import contextlib
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


def leaves(rng, *shapes):
    """float64 leaves of uniform(-2, 2) values, one per shape."""
    return [mg.tensor(rng.uniform(-2, 2, shape), dtype=mg.float64, requires_grad=True) for shape in shapes]


def matches_torch(ours_fn, theirs_fn, inputs, rtol=1e-10, atol=1e-12):
    """ours_fn(*inputs) and theirs_fn on torch copies agree, in value and in the gradients of a
    random weighted sum of the output (so every output element's gradient counts, differently)."""
    torch = pytest.importorskip("torch")
    copies = [torch.tensor(x.numpy(), requires_grad=x.requires_grad) for x in inputs]
    ours, theirs = ours_fn(*inputs), theirs_fn(*copies)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)
    weights = np.random.default_rng(1).uniform(-1, 1, theirs.shape)
    (ours * mg.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    for x, copy in zip(inputs, copies):
        if x.requires_grad:
            np.testing.assert_allclose(x.grad.numpy(), copy.grad.numpy(), rtol=rtol, atol=atol)


# ---- 1. einsum ---------------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),  # matmul
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),  # batched matmul
    ("i,j->ij", [(3,), (4,)]),  # outer
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),  # a chain of three
    ("ij->i", [(3, 4)]),  # sum out: j's gradient broadcasts back
    ("ij->ji", [(3, 4)]),  # transpose
    ("ij,jk", [(3, 4), (4, 2)]),  # implicit output: ik
    ("ba,Ac", [(2, 3), (4, 5)]),  # implicit, mixed case: uppercase first (A, a, b, c)
    ("i,i->", [(3,), (3,)]),  # dot product to a 0-d tensor
    ("ijk,j->i", [(2, 3, 4), (3,)]),  # k summed out of the first operand alone
    ("ij,jk->ik", [(3, 1), (4, 2)]),  # j of length 1 in a: broadcast against b's 4
    ("ij,jk->ik", [(3, 4), (1, 2)]),  # ... and in b: a's gradient is the same along j
]


@pytest.mark.parametrize("spec, shapes", EINSUMS, ids=[spec for spec, _ in EINSUMS])
def test_einsum_gradcheck(spec, shapes):
    inputs = leaves(np.random.default_rng(0), *shapes)
    mg.gradcheck(lambda *xs: mg.einsum(spec, *xs), inputs)


@pytest.mark.parametrize("spec, shapes", EINSUMS, ids=[spec for spec, _ in EINSUMS])
def test_einsum_matches_torch(spec, shapes):
    torch = pytest.importorskip("torch")
    inputs = leaves(np.random.default_rng(0), *shapes)
    matches_torch(lambda *xs: mg.einsum(spec, *xs), lambda *xs: torch.einsum(spec, *xs), inputs)


def test_einsum_is_matmul_and_takes_a_list_of_operands():
    a, b = leaves(np.random.default_rng(0), (3, 4), (4, 2))
    np.testing.assert_allclose(mg.einsum("ij,jk->ik", [a, b]).numpy(), (a @ b).numpy())
    assert mg.einsum("i j , j k -> i k", a, b).shape == (3, 2)  # spaces are ignored, as in PyTorch


def test_einsum_promotes_integers_and_leaves_them_without_gradient():
    a = mg.tensor([[1.0, 2.0]], requires_grad=True)
    counts = mg.tensor([[3], [4]])
    out = mg.einsum("ij,jk->ik", a, counts)
    assert out.dtype == mg.float32 and out.item() == 11.0
    out.backward()
    assert a.grad.tolist() == [[3.0, 4.0]]


@pytest.mark.parametrize("spec, shape", [("ii->", (3, 3)), ("ii->i", (3, 3)), ("...ij->...ji", (2, 3, 4))])
def test_einsum_refuses_diagonals_and_ellipsis_by_name(spec, shape):
    x = mg.zeros(*shape, requires_grad=True)
    with pytest.raises(NotImplementedError, match=f"einsum '{spec}'".replace(".", "\\.")):
        mg.einsum(spec, x)


def test_einsum_says_when_operands_do_not_fit():
    with pytest.raises(ValueError, match="names 2 operand"):
        mg.einsum("ij,jk->ik", mg.zeros(2, 2))
    with pytest.raises(ValueError, match="Einsum"):  # NumPy's own message, naming the op
        mg.einsum("ij,jk->ik", mg.zeros(2, 3), mg.zeros(4, 2))


# ---- 2. smooth L1, Huber and KL divergence losses ------------------------------------------------
def away_from(rng, shape, kinks, margin=0.1):
    """Differences x - y at least margin from each kink (where the loss's second derivative jumps, or
    |d| has none), as (input, target) float64 leaves."""
    diff = rng.uniform(-3, 3, shape)
    for kink in kinks:
        diff = np.where(np.abs(diff - kink) < margin, kink + 2 * margin * np.where(diff >= kink, 1, -1), diff)
    target = rng.uniform(-1, 1, shape)
    return (mg.tensor(target + diff, dtype=mg.float64, requires_grad=True),
            mg.tensor(target, dtype=mg.float64, requires_grad=True))


REGRESSION_LOSSES = [  # (name, the call given F (ours or torch's), kinks of the difference)
    ("smooth_l1", lambda F, x, y, r: F.smooth_l1_loss(x, y, reduction=r), (-1, 1)),
    ("smooth_l1_beta", lambda F, x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.5), (-0.5, 0.5)),
    ("smooth_l1_beta0", lambda F, x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.0), (0,)),
    ("huber", lambda F, x, y, r: F.huber_loss(x, y, reduction=r), (-1, 1)),
    ("huber_delta", lambda F, x, y, r: F.huber_loss(x, y, reduction=r, delta=2.0), (-2, 2)),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, call, kinks", REGRESSION_LOSSES, ids=[c[0] for c in REGRESSION_LOSSES])
def test_regression_losses_gradcheck_and_match_torch(name, call, kinks, reduction):
    x, y = away_from(np.random.default_rng(0), (4, 5), kinks)
    mg.gradcheck(lambda x, y: call(F, x, y, reduction), [x, y])
    torch = pytest.importorskip("torch")
    matches_torch(lambda x, y: call(F, x, y, reduction),
                  lambda x, y: call(torch.nn.functional, x, y, reduction), [x, y])


def test_huber_and_smooth_l1_values_on_both_sides_of_the_kink():
    x, y = mg.tensor([0.5, 3.0, -4.0]), mg.zeros(3)
    assert F.huber_loss(x, y, reduction="none", delta=2.0).tolist() == [0.125, 4.0, 6.0]  # 2 (|d| - 1)
    assert F.smooth_l1_loss(x, y, reduction="none", beta=2.0).tolist() == [0.0625, 2.0, 3.0]  # huber / 2
    assert F.smooth_l1_loss(x, y, beta=0.0).item() == pytest.approx(F.l1_loss(x, y).item())


def test_regression_losses_refuse_bad_arguments():
    x = mg.zeros(3)
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="beta must not be negative"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        F.huber_loss(x, mg.zeros(3, 1))


def distributions(rng, shape, zeros=False):
    """(log-probabilities, probabilities) along the last dim, float64 leaves; some target
    probabilities exactly 0 when asked (0 log 0 counts as 0)."""
    log_p = rng.uniform(-2, 2, shape)
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    q = rng.uniform(0.1, 1, shape)
    if zeros:
        q[..., 0] = 0
    q /= q.sum(-1, keepdims=True)
    return (mg.tensor(log_p, dtype=mg.float64, requires_grad=True),
            mg.tensor(q, dtype=mg.float64, requires_grad=not zeros))  # log y's slope at 0 is infinite


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_gradchecks_and_matches_torch(reduction, log_target):
    torch = pytest.importorskip("torch")
    x, y = distributions(np.random.default_rng(0), (3, 4))
    if log_target:
        y = mg.tensor(np.log(y.numpy()), dtype=mg.float64, requires_grad=True)
    mg.gradcheck(lambda x, y: F.kl_div(x, y, reduction=reduction, log_target=log_target), [x, y])
    # PyTorch warns that "mean" is not the KL's mean (batchmean is); its value is ours all the same
    with pytest.warns(UserWarning, match="batchmean") if reduction == "mean" else contextlib.nullcontext():
        matches_torch(lambda x, y: F.kl_div(x, y, reduction, log_target),
                      lambda x, y: torch.nn.functional.kl_div(x, y, reduction=reduction, log_target=log_target),
                      [x, y])


def test_kl_div_counts_zero_probabilities_as_zero():
    x, y = distributions(np.random.default_rng(0), (3, 4), zeros=True)
    loss = F.kl_div(x, y, reduction="batchmean")
    assert np.isfinite(loss.item())
    mg.gradcheck(lambda x: F.kl_div(x, y, reduction="sum"), [x])
    log_p = mg.tensor([[0.5, 0.5]], dtype=mg.float64).log().requires_grad_()
    losses = F.kl_div(log_p, mg.tensor([[1.0, 0.0]], dtype=mg.float64), reduction="none")
    assert losses.tolist() == [[pytest.approx(math.log(2), rel=1e-12), 0.0]]  # 1 (log 1 - log 1/2), 0 log 0 = 0
    losses.sum().backward()
    assert log_p.grad.tolist() == [[-1.0, 0.0]]  # -y


def test_kl_div_with_zero_probabilities_matches_torch():
    torch = pytest.importorskip("torch")
    x, y = distributions(np.random.default_rng(0), (3, 4), zeros=True)
    matches_torch(lambda x, y: F.kl_div(x, y, reduction="batchmean"),
                  lambda x, y: torch.nn.functional.kl_div(x, y, reduction="batchmean"), [x, y])


def test_kl_div_of_a_distribution_with_itself_is_zero_and_batchmean_divides_by_rows():
    x, y = distributions(np.random.default_rng(0), (3, 4))
    assert F.kl_div(x, x.detach().exp(), reduction="sum").item() == pytest.approx(0, abs=1e-12)
    total = F.kl_div(x, y, reduction="sum").item()
    assert F.kl_div(x, y, reduction="batchmean").item() == pytest.approx(total / 3)
    assert F.kl_div(x, y).item() == pytest.approx(total / 12)
    with pytest.raises(ValueError, match="'batchmean'"):
        F.kl_div(x, y, reduction="average")


def test_loss_modules_keep_their_options():
    x, y = mg.tensor([0.5, 3.0, -4.0]), mg.zeros(3)
    assert nn.SmoothL1Loss(beta=2.0)(x, y).item() == F.smooth_l1_loss(x, y, beta=2.0).item()
    assert nn.HuberLoss(reduction="sum", delta=2.0)(x, y).item() == 10.125
    log_p, p = mg.tensor([[-1.0, -0.5]]), mg.tensor([[0.25, 0.75]])
    assert nn.KLDivLoss(reduction="batchmean", log_target=True)(log_p, p.log()).item() == pytest.approx(
        F.kl_div(log_p, p, reduction="batchmean").item())


# ---- 3. normalize, cosine_similarity, pad ----------------------------------------------------------
@pytest.mark.parametrize("p, dim", [(2, 1), (2, -1), (1, 0), (3, 2)])
def test_normalize_gradchecks_and_matches_torch(p, dim):
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).uniform(-2, 2, (2, 3, 4))
    x = mg.tensor(np.where(np.abs(values) < 0.1, 0.5, values), dtype=mg.float64, requires_grad=True)  # |x|'s kink
    mg.gradcheck(lambda x: F.normalize(x, p, dim), [x])
    matches_torch(lambda x: F.normalize(x, p, dim), lambda x: torch.nn.functional.normalize(x, p, dim), [x])


def test_normalize_makes_unit_vectors_and_leaves_zero_vectors_zero():
    torch = pytest.importorskip("torch")
    x = mg.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=mg.float64, requires_grad=True)
    assert F.normalize(x).tolist() == [[0.6, 0.8], [0.0, 0.0]]
    matches_torch(F.normalize, torch.nn.functional.normalize, [x])  # at 0 too: 1 / eps, as PyTorch


@pytest.mark.parametrize("shapes, dim", [([(3, 4), (3, 4)], 1), ([(2, 3, 4), (1, 4)], -1), ([(4, 3), (4, 1)], 0)])
def test_cosine_similarity_gradchecks_and_matches_torch(shapes, dim):
    torch = pytest.importorskip("torch")
    a, b = leaves(np.random.default_rng(0), *shapes)
    mg.gradcheck(lambda a, b: F.cosine_similarity(a, b, dim), [a, b])
    matches_torch(lambda a, b: F.cosine_similarity(a, b, dim),
                  lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim), [a, b])


def test_cosine_similarity_values_by_hand():
    a = mg.tensor([[1.0, 0.0], [1.0, 1.0], [3.0, 4.0], [1.0, 2.0]], dtype=mg.float64)
    b = mg.tensor([[1.0, 0.0], [1.0, 0.0], [-3.0, -4.0], [-2.0, 1.0]], dtype=mg.float64)
    np.testing.assert_allclose(F.cosine_similarity(a, b).numpy(), [1.0, 1 / math.sqrt(2), -1.0, 0.0],
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.cosine_similarity(a.T, b.T, dim=0).numpy(), [1.0, 1 / math.sqrt(2), -1.0, 0.0],
                               rtol=1e-12, atol=1e-15)


def test_cosine_similarity_makes_each_a_unit_vector_first_as_pytorch():
    """For vectors shorter than eps, PyTorch's max(||a||, eps) max(||b||, eps) and the older
    max(||a|| ||b||, eps) differ: two parallel vectors of length 1e-5 have cosine 1, not 0.01. (Below eps
    the gradients differ: PyTorch clamps the norm's value but not its gradient; ours is the gradient
    of the value computed.)"""
    torch = pytest.importorskip("torch")
    a, b = [[1e-5, 0.0], [1e-9, 2e-9], [0.0, 0.0]], [[1e-5, 0.0], [1.0, 2.0], [1.0, 0.0]]
    ours = F.cosine_similarity(mg.tensor(a, dtype=mg.float64), mg.tensor(b, dtype=mg.float64))
    theirs = torch.nn.functional.cosine_similarity(*(torch.tensor(v, dtype=torch.float64) for v in (a, b)))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    assert ours[0].item() == pytest.approx(1.0) and ours[2].item() == 0.0


PADS = [(1, 2), (0, 1, 2, 0), (1, 1, 0, 2, 1, 0), (-1, 2), (2, -1, -1, 1), (0, 0)]


@pytest.mark.parametrize("amounts", PADS, ids=str)
def test_pad_gradchecks_and_matches_torch(amounts):
    torch = pytest.importorskip("torch")
    x, = leaves(np.random.default_rng(0), (2, 3, 4))
    mg.gradcheck(lambda x: F.pad(x, amounts, value=0.5), [x])
    matches_torch(lambda x: F.pad(x, amounts, value=0.5),
                  lambda x: torch.nn.functional.pad(x, amounts, value=0.5), [x])


def test_pad_fills_with_value_in_the_input_dtype_and_refuses_other_modes():
    ids = mg.tensor([[1, 2]])
    padded = F.pad(ids, (1, 0, 0, 1), value=7)
    assert padded.dtype == mg.int64 and padded.tolist() == [[7, 1, 2], [7, 7, 7]]
    with pytest.raises(NotImplementedError, match="mode 'reflect'"):
        F.pad(mg.zeros(2, 3), (1, 1), mode="reflect")
    with pytest.raises(ValueError, match="pairs"):
        F.pad(mg.zeros(3), (1, 1, 1, 1))


# ---- 4. outer, allclose, type_as, normal_, uniform_ ------------------------------------------------
def test_outer_gradchecks_and_matches_torch():
    torch = pytest.importorskip("torch")
    a, b = leaves(np.random.default_rng(0), (3,), (4,))
    mg.gradcheck(mg.outer, [a, b])
    matches_torch(mg.outer, torch.outer, [a, b])
    assert mg.outer([1.0, 2.0], [3.0]).tolist() == [[3.0], [6.0]] and a.outer(b).shape == (3, 4)
    with pytest.raises(ValueError, match="two 1-d tensors"):
        mg.outer(mg.zeros(2, 2), b)


def test_allclose_is_a_bool_with_pytorchs_tolerances():
    torch = pytest.importorskip("torch")
    a = mg.tensor([1.0, 100.0], requires_grad=True)
    for b in ([1.0, 100.0 + 1e-3], [1.0 + 1e-7, 100.0], [1.0 + 1e-4, 100.0], [1.0, 100.0]):
        expected = torch.allclose(torch.tensor([1.0, 100.0]), torch.tensor(b))
        assert mg.allclose(a, mg.tensor(b)) is expected and a.allclose(mg.tensor(b)) is expected
    assert a.allclose(a + 1e-3, atol=1e-2) and not a.allclose(a + 1e-3, rtol=0, atol=0)
    assert mg.allclose(a, 1.0, rtol=100.0) and not mg.allclose(mg.tensor([float("nan")]), float("nan"))
    assert mg.allclose(mg.tensor([float("nan")]), float("nan"), equal_nan=True)


def test_type_as_casts_to_the_other_dtype_keeping_the_gradient_between_floats():
    x = mg.tensor([1.5, 2.5], requires_grad=True)
    y = x.type_as(mg.zeros(1, dtype=mg.float64))
    assert y.dtype == mg.float64
    (y * y).sum().backward()
    assert x.grad.dtype == mg.float32 and x.grad.tolist() == [3.0, 5.0]
    assert x.type_as(mg.tensor([1])).tolist() == [1, 2] and not x.type_as(mg.tensor([1])).requires_grad
    mg.gradcheck(lambda x: x.type_as(x) * 2, leaves(np.random.default_rng(0), (3,)))


@pytest.mark.parametrize("name, args, check", [
    ("normal_", (3.0, 0.5), lambda v: abs(v.mean() - 3.0) < 0.05 and abs(v.std() - 0.5) < 0.05),
    ("uniform_", (-2.0, -1.0), lambda v: v.min() >= -2.0 and v.max() < -1.0 and abs(v.mean() + 1.5) < 0.05),
])
def test_random_refills_draw_from_the_seeded_generator_in_place(name, args, check):
    x = mg.zeros(100, 100, dtype=mg.float64)
    mg.manual_seed(3)
    assert getattr(x, name)(*args) is x and check(x.numpy())
    first = x.numpy().copy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(getattr(mg.zeros(100, 100, dtype=mg.float64), name)(*args).numpy(), first)
    assert getattr(mg.zeros(3), name)().dtype == mg.float32  # keeps the tensor's dtype


@pytest.mark.parametrize("name", ["normal_", "uniform_"])
def test_random_refills_follow_the_in_place_rules(name):
    w = mg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"{name}: in-place change of a tensor that requires grad"):
        getattr(w, name)()
    with mg.no_grad():  # initialisation: allowed, as for fill_
        getattr(w, name)()
    assert w.is_leaf and w.requires_grad and (w != 0).all()
    with pytest.raises(RuntimeError, match=f"{name}: in-place change of a tensor the graph computed"):
        getattr(w * 2, name)()
    with pytest.raises(RuntimeError, match="expanded view"):
        getattr(mg.zeros(1, 3).expand(2, 3), name)()
    y = mg.ones(3, requires_grad=True) * 1.0
    squared = y * y  # saved y for its backward ...
    with mg.no_grad():
        getattr(y, name)()
    with pytest.raises(RuntimeError, match="modified in place"):  # ... which the refill made stale
        squared.sum().backward()
