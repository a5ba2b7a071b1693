"""More PyTorch porting gaps a probe listed: einsum, the smooth L1 / Huber / KL losses, normalize,
cosine_similarity and pad, and the small tensor helpers (outer, allclose, type_as, normal_, uniform_).
Each is gradchecked in float64 and, where torch is installed, compared with PyTorch (values and
gradients)."""
import numpy as np
import pytest

import minigrad as mg


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
