"""Mistakes a learner makes early, each answered with a warning or an error that names the fix instead of a
silent wrong result: .grad of a non-leaf, layers kept in a Python list, a bad LayerNorm size, swapped
cross_entropy arguments; and float32 products and ELU's tail, which must not turn finite gradients into
inf or NaN."""
import re
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


def no_warnings(fn):
    """fn(), failing on any warning it gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


# ---- 1. .grad of a tensor that is not a leaf ------------------------------------------------------------------
def test_grad_of_a_non_leaf_warns_and_says_to_retain_it_or_read_the_leaf():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match=r"\.grad of a tensor that is not a leaf \(it was computed by MulBackward0\)"
                                         r".*\.retain_grad\(\).*before backward\(\).*\.grad of the leaf") as record:
        assert y.grad is None
    assert record[0].filename == __file__  # points at the learner's line, not into minigrad
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_a_leaf_scaled_after_creation_is_the_classic_case():
    w = mg.randn(3, requires_grad=True) * 0.1  # the product, not a leaf: backward never fills its .grad
    (w * w).sum().backward()
    with pytest.warns(UserWarning, match=r"not a leaf.*\(mg\.randn\(3\) \* 0\.1\)\.requires_grad_\(\)"):
        assert w.grad is None


def grad_reads(lib):
    """(case, tensor whose .grad is read) for lib = minigrad or torch, built alike with either."""
    x = lib.ones(2, requires_grad=True)
    retained = x * 3
    retained.retain_grad()
    given = x * 4
    given.grad = lib.ones(2)
    with lib.no_grad():
        under_no_grad = x * 5
    (retained.sum() + given.sum()).backward()
    return [("non-leaf", x * 2), ("leaf", x), ("leaf without grad", lib.ones(2)),
            ("op on tensors without grad", lib.ones(2) * 2), ("retained non-leaf", retained),
            ("non-leaf with a grad set", given), ("result under no_grad", under_no_grad),
            ("detached", (x * 2).detach())]


def test_grad_warns_exactly_where_pytorch_warns():
    torch = pytest.importorskip("torch")

    def warns(tensor):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tensor.grad  # noqa: B018  (the read is the test)
        return any(issubclass(w.category, UserWarning) for w in caught)

    ours = {case: warns(t) for case, t in grad_reads(mg)}
    theirs = {case: warns(t) for case, t in grad_reads(torch)}
    assert ours == theirs
    assert ours["non-leaf"] and not ours["leaf without grad"]


def test_training_and_gradient_tools_never_read_a_non_leaf_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.LayerNorm(4), nn.Linear(4, 2))
    optimizer = mg.optim.AdamW(model.parameters(), lr=0.01)
    x, y = mg.randn(5, 3), mg.tensor([0, 1, 1, 0, 1])

    def step():
        hidden = model[0](x)
        hidden.register_hook(lambda grad: grad * 1.0)
        loss = F.cross_entropy(model[1:](hidden), y)
        optimizer.zero_grad()
        loss.backward()
        mg.optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        model.zero_grad(set_to_none=False)
        model.to(mg.float64).to(mg.float32)
        mg.autograd.grad((model(x) ** 2).sum(), list(model.parameters()))
        mg.gradcheck(lambda a: (a * a).tanh().sum(), [mg.randn(3, dtype=mg.float64, requires_grad=True)])

    no_warnings(step)


# ---- 2. weights kept where Module does not register them -------------------------------------------------------
class Holder(nn.Module):
    def __init__(self, name, value):
        super().__init__()
        setattr(self, name, value)


@pytest.mark.parametrize("value, container", [
    ([nn.Linear(2, 2), nn.Linear(2, 2)], "nn.ModuleList"),
    ((nn.ReLU(), nn.Linear(2, 2)), "nn.ModuleList"),
    ({"a": nn.Linear(2, 2)}, "nn.ModuleDict"),
    ([nn.Parameter(mg.ones(2))], "nn.ParameterList"),
    ({"scale": nn.Parameter(mg.ones(2))}, "nn.ParameterDict"),
])
def test_a_python_container_of_modules_or_parameters_warns_with_the_container_to_use(value, container):
    kind = type(value).__name__
    with pytest.warns(UserWarning, match=rf"Holder\.layers is set to a Python {kind} holding .*registers none of "
                                         rf"them.*parameters\(\).*self\.layers = {container}\(\.\.\.\)") as record:
        holder = Holder("layers", value)
    assert record[0].filename.endswith("test_learner_pitfalls.py")  # Holder's setattr line
    assert list(holder.parameters()) == []  # the silent bug the warning is about


def test_a_plain_tensor_that_requires_grad_warns_to_wrap_it_in_parameter():
    with pytest.warns(UserWarning, match=r"Holder\.w is set to a plain Tensor that requires grad.*not be in "
                                         r"parameters\(\).*self\.w = nn\.Parameter\(tensor\)"):
        holder = Holder("w", mg.randn(2, requires_grad=True))
    assert list(holder.parameters()) == []


def test_registered_and_plain_attributes_do_not_warn():
    def build():
        holder = Holder("layers", nn.ModuleList([nn.Linear(2, 2)]))
        holder.weight = nn.Parameter(mg.ones(2))
        holder.register_buffer("mask", mg.ones(2))
        holder.mask = mg.zeros(2)  # a buffer stays a buffer
        holder.sizes, holder.names, holder.empty = [2, 3], {"a": 1}, ()
        holder.values = mg.ones(2)  # no grad: data, not a weight
        holder.last_output = holder.layers[0](mg.ones(2))  # computed, kept for a look: not a weight either
        holder.train().eval()
        return holder

    holder = no_warnings(build)
    assert len(list(holder.parameters())) == 3


def test_the_library_and_models_modules_hold_nothing_unregistered():
    from models.transformer import Transformer, TransformerConfig

    def build():
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16), num_layers=2)
        nn.MultiheadAttention(8, 2)
        nn.BatchNorm1d(3), nn.RMSNorm(4), nn.Embedding(5, 3), nn.ParameterList([nn.Parameter(mg.ones(1))])
        Transformer(TransformerConfig(vocab_size=16, n_layers=2, d_model=8, n_heads=2, d_ff=16, max_len=8))

    no_warnings(build)


# ---- 3. LayerNorm's sizes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [nn.LayerNorm, nn.RMSNorm])
@pytest.mark.parametrize("shape", [-1, 0, (2, -3), [4, 0], ()])
def test_norm_sizes_below_one_are_named_in_the_error(layer, shape):
    name = layer.__name__
    with pytest.raises(ValueError, match=rf"{name}: normalized_shape must be a size >= 1.*sizes of the input's "
                                         rf"last dims.*got {re.escape(repr(shape))}$"):
        layer(shape)


# ---- 4. cross_entropy(target, logits) -------------------------------------------------------------------------
@pytest.mark.parametrize("loss", [F.cross_entropy, nn.CrossEntropyLoss(), F.nll_loss],
                         ids=["F.cross_entropy", "nn.CrossEntropyLoss", "F.nll_loss"])
@pytest.mark.parametrize("logits_shape", [(4, 3), (4,)])  # (4,): the same shape as the labels, once silent
def test_swapped_loss_arguments_are_named(loss, logits_shape):
    labels, logits = mg.tensor([0, 1, 2, 1]), mg.randn(*logits_shape)
    with pytest.raises(TypeError, match=r"input must be a floating-point tensor of (logits|log-probabilities), got "
                                        r"dtype int64; the arguments look swapped: \w+ takes \(input, target\)"):
        loss(labels, logits)


def test_integer_logits_without_a_swap_get_the_dtype_error_alone():
    with pytest.raises(TypeError, match=r"cross_entropy: input must be a floating-point tensor of logits, "
                                        r"got dtype int64$"):
        F.cross_entropy(mg.tensor([[1, 2], [3, 4]]), mg.tensor([0, 1]))


# ---- 5. float32 running products and ELU's far tail -----------------------------------------------------------
def float64_reference(fn, values, upstream):
    """fn's value and gradient in float64, rounded to float32 (inf where float32 cannot hold them)."""
    x = mg.tensor(values, dtype=mg.float64, requires_grad=True)
    out = fn(x)
    out.backward(mg.tensor(upstream, dtype=mg.float64))
    with np.errstate(over="ignore"):
        return out.numpy().astype(np.float32), x.grad.numpy().astype(np.float32)


@pytest.mark.parametrize("values, upstream", [
    ([1e20, 1e20, 1e-30], [0.0, 0.0, 1.0]),  # 1e20 * 1e20 overflows on the way to 1e10
    ([1.0, 1e-30, 1e30, 1e30], [0.0, 0.0, 0.0, 1.0]),  # 1e30 * 1e30 overflows in the product after x_1
    ([0.0, 1e-30, 1e30, 1e30], [1.0, 1.0, 1.0, 1.0]),  # and 0 * inf was NaN
    ([1e-25, 1e-25, 1e30, 3.0], [1.0, 0.0, 1.0, 1.0]),  # underflow on the way
    ([2.0, 0.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]),  # zeros
])
def test_float32_cumprod_and_prod_match_float64_where_running_products_leave_float32(values, upstream):
    for fn, seed in [(lambda x: mg.cumprod(x, 0), upstream), (lambda x: x.prod(), 1.0)]:
        x = mg.tensor(values, requires_grad=True)
        out = no_warnings(lambda: fn(x))
        no_warnings(lambda: out.backward(mg.tensor(seed)))
        want_out, want_grad = float64_reference(fn, values, seed)
        np.testing.assert_allclose(out.numpy(), want_out, rtol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), want_grad, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu_far_negative_tail_matches_pytorch(dtype, alpha):
    torch = pytest.importorskip("torch")
    values = [-float("inf"), -1e30, -1e4, -100.0, -20.0, -1e-10, 0.0, 2.0]
    x = mg.tensor(values, dtype=getattr(mg, dtype), requires_grad=True)
    out = no_warnings(lambda: F.elu(x, alpha))
    no_warnings(lambda: out.sum().backward())
    tx = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
    torch.nn.functional.elu(tx, alpha).sum().backward()
    np.testing.assert_allclose(out.numpy(), torch.nn.functional.elu(tx, alpha).detach().numpy(), rtol=1e-6, atol=0)
    # the slope alpha e^x is tiny but not 0 at -20 and -100 (out + 1 would round it to 0)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=0)
    assert x.grad.numpy()[4] > 0


def test_backward_takes_the_gradient_as_grad_too():
    """grad= is the name the design promises; gradient= is PyTorch's. Both give the same vector-Jacobian product."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(grad=mg.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 40.0]
    with pytest.raises(TypeError, match="two names for one argument"):
        (x * x).backward(mg.ones(2), grad=mg.ones(2))
