"""The PyTorch API gaps a porting probe hit: torch.X(t) forms, dtype names and casts, and the
tensor methods ordinary PyTorch programs call. Each new op is gradchecked in float64 (here or
through minigrad.opcheck's catalogue) and, where torch is installed, compared with PyTorch."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import ops
from tests.strategies import make_input
from minigrad.opcheck import real, distinct


def torch_or_skip():
    return pytest.importorskip("torch")


def pair(values, dtype=mg.float64, requires_grad=True):
    """The same values as a minigrad tensor and a torch tensor (both requiring grad)."""
    torch = torch_or_skip()
    array = np.asarray(values, dtype=np.dtype(dtype))
    return (mg.tensor(array, dtype=dtype, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def assert_same(ours, theirs, rtol=1e-7, atol=1e-12):
    np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), rtol=rtol, atol=atol)


# ---- 1. torch.X(t, ...) forms ------------------------------------------------------------------
UNARY_FUNCTIONS = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "abs"]


@pytest.mark.parametrize("name", UNARY_FUNCTIONS)
def test_unary_functions_match_torch(name):
    torch = torch_or_skip()
    x, tx = pair([[0.5, 1.5, 2.0], [0.7, 1.1, 3.0]])
    ours, theirs = getattr(mg, name)(x), getattr(torch, name)(tx)
    assert_same(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    assert_same(x.grad, tx.grad)


@pytest.mark.parametrize("call", [
    lambda m, x: m.softmax(x, 1), lambda m, x: m.log_softmax(x, 0), lambda m, x: m.sum(x),
    lambda m, x: m.sum(x, 1, keepdim=True), lambda m, x: m.mean(x, 0), lambda m, x: m.max(x),
    lambda m, x: m.min(x), lambda m, x: m.max(x, 1)[0], lambda m, x: m.min(x, 0).values,
    lambda m, x: m.clamp(x, -0.5, 0.5), lambda m, x: m.clamp(x, min=0.1), lambda m, x: m.reshape(x, (3, 2)),
    lambda m, x: m.transpose(x, 0, 1), lambda m, x: m.flatten(x), lambda m, x: m.unsqueeze(x, 1),
    lambda m, x: m.squeeze(m.unsqueeze(x, 0)), lambda m, x: m.matmul(x, m.transpose(x, 0, 1)),
    lambda m, x: m.maximum(x, x * -0.5 + 0.1),
    lambda m, x: m.minimum(x, m.zeros_like(x)), lambda m, x: m.max(x, m.zeros_like(x)),
    lambda m, x: m.min(x, m.ones_like(x) * 0.5), lambda m, x: m.std(x, 1), lambda m, x: m.pow(x, 2),
], ids=lambda c: None)
def test_functions_match_torch(call):
    torch = torch_or_skip()
    x, tx = pair([[0.3, -1.2, 2.0], [-0.7, 1.1, 0.9]])
    ours, theirs = call(mg, x), call(torch, tx)
    assert_same(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    assert_same(x.grad, tx.grad)


def test_argmax_argmin_functions_match_torch():
    torch = torch_or_skip()
    x, tx = pair([[0.3, -1.2, 2.0], [-0.7, 1.1, 0.9]], requires_grad=False)
    assert mg.argmax(x).item() == torch.argmax(tx).item()
    assert mg.argmax(x, 1).tolist() == torch.argmax(tx, 1).tolist()
    assert mg.argmin(x, 0, keepdim=True).tolist() == torch.argmin(tx, 0, keepdim=True).tolist()


def test_functions_are_the_methods():
    x = mg.tensor([[1.0, 2.0], [3.0, 5.0]])
    assert mg.sum(x, 0).tolist() == x.sum(0).tolist()
    assert mg.exp(1.0).item() == pytest.approx(np.e)  # a number becomes a tensor first
    assert mg.sqrt([4.0, 9.0]).tolist() == [2.0, 3.0]


def test_like_constructors_keep_shape_dtype_and_device():
    x = mg.zeros(2, 3, dtype=mg.float64)
    for made in (mg.randn_like(x), mg.rand_like(x), mg.full_like(x, 7), mg.empty_like(x)):
        assert made.shape == (2, 3) and made.dtype == mg.float64 and made.device == "cpu"
    assert mg.full_like(x, 7).tolist() == [[7.0] * 3] * 2
    assert mg.empty_like(x, dtype=mg.float32).dtype == mg.float32
    assert 0 <= mg.rand_like(x).numpy().min() and mg.rand_like(x).numpy().max() < 1
    assert mg.randn_like(x, requires_grad=True).requires_grad
    mg.manual_seed(3)
    a = mg.randn_like(x)
    mg.manual_seed(3)
    assert a.tolist() == mg.randn_like(x).tolist()  # the seeded generator


# ---- 4. max(other) is the elementwise maximum ---------------------------------------------------
def test_max_and_min_of_two_tensors_are_elementwise_as_in_torch():
    assert mg.ones(2).max(mg.zeros(2)).tolist() == [1.0, 1.0]
    assert mg.ones(2).min(mg.zeros(2)).tolist() == [0.0, 0.0]
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = mg.tensor([2.0, 2.0, 1.0], requires_grad=True)
    mg.min(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1, 0.5, 0])  # a tie splits the gradient, as maximum
    np.testing.assert_allclose(b.grad.numpy(), [0, 0.5, 1])


def test_minimum_gradchecks():
    a, b = make_input(real, (2, 3), 0), make_input(real, (3,), 1)
    mg.gradcheck(ops.minimum, [a, b])
    mg.gradcheck(lambda a: ops.minimum(a, 0.25), [a])


# ---- 2. dtype names and casts -----------------------------------------------------------------
def test_dtype_names_as_in_torch():
    assert mg.float == mg.float32 and mg.double == mg.float64 and mg.long == mg.int64 and mg.int == mg.int32
    assert mg.zeros(2, dtype=mg.int32).dtype == mg.int32 and mg.zeros(2, dtype=mg.bool).dtype == mg.bool
    assert mg.tensor([1, 2], dtype=mg.int).dtype.name == "int32"


def test_cast_methods():
    x = mg.tensor([1.7, -2.2, 0.0])
    assert x.double().dtype == mg.float64 and x.double().float().dtype == mg.float32
    assert x.long().tolist() == [1, -2, 0] and x.int().dtype == mg.int32
    assert x.bool().tolist() == [True, True, False]
    assert x.cpu() is x and x.to("cpu") is x


def test_float_double_casts_keep_the_gradient_path_and_integer_casts_leave_it():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.requires_grad and y.dtype == mg.float64
    (y * y).sum().backward()
    assert x.grad.dtype == mg.float32 and x.grad.tolist() == [2.0, 4.0]
    assert not x.int().requires_grad and not x.bool().requires_grad
    mg.gradcheck(lambda x: x.double() * 3, [make_input(real, (2, 3), 0)])  # (float32 would defeat finite differences)


def test_to_takes_device_and_dtype_together_and_by_keyword():
    x = mg.tensor([1.0, 2.0])
    assert x.to("cpu", mg.float64).dtype == mg.float64
    assert x.to(device="cpu", dtype="float64").dtype == mg.float64
    assert x.to(dtype=mg.int64).tolist() == [1, 2]


def test_cuda_colon_zero_is_cuda_and_other_numbers_are_unknown():
    with pytest.raises(ValueError, match=r"unknown device 'cuda:1'"):
        mg.zeros(2).to("cuda:1")
    if not mg.cuda_is_available():
        with pytest.raises(RuntimeError, match="pip install"):
            mg.zeros(2).to("cuda:0")


@pytest.fixture
def fake_cuda(monkeypatch):
    from tests import simulated_cuda
    simulated_cuda.install(monkeypatch)


def test_cuda_colon_zero_moves_to_the_gpu(fake_cuda):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cuda:0")
    assert y.device == "cuda" and y.requires_grad
    assert mg.zeros(2, device="cuda:0").device == "cuda" and mg.randn(2, device="cuda:0").device == "cuda"
    assert y.cpu().device == "cpu" and x.cuda().device == "cuda"
    assert mg.randn_like(y).device == "cuda"
