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


# ---- 3. tensor methods ------------------------------------------------------------------------
X = [[0.3, -1.2, 2.0, 0.5], [-0.7, 1.1, 0.9, -2.5], [1.4, -0.2, -0.6, 0.8]]


@pytest.mark.parametrize("call", [
    lambda x: x.flatten(), lambda x: x.reshape(3, 2, 2).flatten(1), lambda x: x.reshape(3, 2, 2).flatten(0, 1),
    lambda x: x.reshape(3, 2, 2).flatten(-2, -1), lambda x: x.norm(), lambda x: x.norm(dim=1),
    lambda x: x.norm(1, dim=0, keepdim=True), lambda x: x.norm(3), lambda x: x.norm(float("inf"), dim=1),
    lambda x: x.norm(p="fro"), lambda x: x.expand_as(x.new_zeros(2, 3, 4)), lambda x: x.view_as(x.new_zeros(4, 3)),
    lambda x: x.reshape_as(x.new_zeros(2, 6)), lambda x: x.unbind(1)[2], lambda x: x.unbind(0)[-1],
    lambda x: x.repeat(2, 3), lambda x: x.repeat(2, 1, 2), lambda x: x.flip(0), lambda x: x.flip(0, 1),
    lambda x: x.flip([1]), lambda x: x.cumsum(1), lambda x: x.cumsum(-2), lambda x: x.prod(),
    lambda x: x.prod(1), lambda x: x.prod(0, keepdim=True), lambda x: x.topk(2).values,
    lambda x: x.topk(2, dim=0, largest=False)[0], lambda x: x.topk(4, dim=1).values,
    lambda x: x % 0.7, lambda x: x % -0.7, lambda x: (x * 0 + 1.3) % x, lambda x: x.remainder(x.flip(0)),
    lambda x: x.masked_fill(x > 0, 0.0), lambda x: x.detach() // 0.7 + x,
], ids=lambda c: None)
def test_methods_match_torch_values_and_gradients(call):
    x, tx = pair(X)
    ours, theirs = call(x), call(tx)
    assert_same(ours, theirs)
    weights = np.random.default_rng(0).uniform(-1, 1, ours.shape)
    (ours * mg.tensor(weights, dtype=mg.float64)).sum().backward()
    (theirs * pair(weights, requires_grad=False)[1]).sum().backward()
    assert_same(x.grad, tx.grad)


def test_topk_indices_match_torch_and_unpack_like_max():
    x, tx = pair(X, requires_grad=False)
    values, indices = x.topk(3, dim=1)
    assert indices.tolist() == tx.topk(3, dim=1).indices.tolist() and indices.dtype == mg.int64
    assert x.topk(1, dim=0, largest=False).indices.tolist() == tx.topk(1, dim=0, largest=False).indices.tolist()
    assert mg.topk(x, 2).values.tolist() == values[:, :2].tolist()
    with pytest.raises(ValueError, match="topk: k=5 is out of range for dim 1 of size 4"):
        x.topk(5)


def test_prod_gradient_is_right_with_zeros_present():
    """d/dx_i prod(x) = the product of the others: not NaN (0/0) where x_i = 0."""
    for values in ([2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 2.0], [0.0]):
        x, tx = pair(values)
        x.prod().backward()
        tx.prod().backward()
        assert_same(x.grad, tx.grad)
    x = mg.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0]], dtype=mg.float64, requires_grad=True)
    x.prod(1).sum().backward()
    assert x.grad.tolist() == [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]]
    assert mg.tensor([[1, 2], [3, 4]]).prod(0).tolist() == [3, 8]  # integers: no gradient, as they are


def test_norm_at_the_zero_vector_has_gradient_zero_not_nan():
    for p in (2, 3, 1, float("inf")):
        x = mg.zeros(3, dtype=mg.float64, requires_grad=True)
        x.norm(p).backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0], p
    x = mg.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=mg.float64, requires_grad=True)
    x.norm(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0], [0.6, 0.8]])
    with pytest.raises(ValueError, match="norm: p must be"):
        x.norm(0.5)


def test_prod_of_every_element_with_keepdim_keeps_each_dim_as_one():
    # minigrad's extension (torch.prod(x) takes no keepdim): as sum() over all dims with keepdim
    x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=mg.float64)
    assert x.prod(keepdim=True).shape == (1, 1) and x.prod(keepdim=True).tolist() == [[720.0]]
    assert mg.ones(2, 3, 4).prod(keepdim=True).shape == (1, 1, 1)
    assert x.prod().shape == () and x.prod().item() == 720.0


def test_p_norm_takes_absolute_values():
    x = mg.tensor([-1.0, 2.0], dtype=mg.float64, requires_grad=True)
    assert x.norm(3).item() == pytest.approx(9 ** (1 / 3), rel=1e-12)  # (|-1|^3 + 2^3)^(1/3), not 7^(1/3)
    assert mg.tensor([[-3.0, 0.0], [1.0, -1.0]]).norm(4, dim=1).tolist() == pytest.approx([3.0, 2 ** 0.25])
    x.norm(3).backward()  # d/dx = x |x| / norm^2
    np.testing.assert_allclose(x.grad.numpy(), [-1 / 9 ** (2 / 3), 4 / 9 ** (2 / 3)], rtol=1e-12)
    mixed = mg.tensor([[-1.5, 0.7, -0.4], [2.0, -0.3, 1.1]], dtype=mg.float64, requires_grad=True)
    mg.gradcheck(lambda x: x.norm(3), [mixed])
    mg.gradcheck(lambda x: x.norm(3, dim=1), [mixed])


def test_flatten_merges_start_dim_to_end_dim_both_included():
    x = mg.arange(24).reshape(2, 3, 4)
    assert x.flatten(1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4)
    assert x.flatten().shape == (24,) and x.flatten(-2, -1).shape == (2, 12) and x.flatten(1, 1).shape == (2, 3, 4)
    assert x.flatten(0, 1).tolist() == np.arange(24).reshape(6, 4).tolist()
    assert mg.tensor(5.0).flatten().shape == (1,)


def test_norm_and_cumsum_and_repeat_gradcheck():
    x = make_input(real, (2, 3, 4), 0)
    mg.gradcheck(lambda x: x.norm(dim=(0, 2)), [x])
    mg.gradcheck(lambda x: x.cumsum(2), [x])
    mg.gradcheck(lambda x: x.repeat(1, 2, 1, 2), [x])
    mg.gradcheck(lambda x: x.flip(1, 2) * x, [x])
    mg.gradcheck(lambda x: x.prod(-1), [x])
    assert mg.tensor(2.0).cumsum(0).tolist() == 2.0  # a 0-d tensor, as in PyTorch


def test_cumsum_of_integers_stays_integer():
    assert mg.tensor([1, 2, 3]).cumsum(0).tolist() == [1, 3, 6]
    assert mg.tensor([True, False, True]).cumsum(0).tolist() == [1, 1, 2]


@pytest.mark.parametrize("a, b", [([7, -7, 7, -7, 0], [2, 2, -2, -2, 3]),
                                  ([7.5, -7.5, 7.5, -7.5, 0.0], [2.0, 2.0, -2.0, -2.0, 3.0])])
def test_floor_divide_and_remainder_match_torch_for_integers_and_floats(a, b):
    torch = torch_or_skip()
    x, y, tx, ty = mg.tensor(a), mg.tensor(b), torch.tensor(a), torch.tensor(b)
    for ours, theirs in [(x // y, tx // ty), (x % y, tx % ty), (x // 2, tx // 2), (x % 3, tx % 3),
                         (10 // y, 10 // ty), (10 % y, 10 % ty), (mg.remainder(x, y), torch.remainder(tx, ty)),
                         (mg.floor_divide(x, y), torch.floor_divide(tx, ty))]:
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert (mg.tensor([7, 8]) // 2.0).dtype == mg.float32  # an integer meeting a float is float32, as in PyTorch


def test_floor_divide_has_no_gradient_and_remainder_has_slope_one_in_x():
    x = mg.tensor([2.5, -1.5], requires_grad=True)
    assert not (x // 2).requires_grad
    (x % 2).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_masked_fill_in_place_follows_the_in_place_rules():
    x = mg.tensor([[1.0, -2.0], [3.0, -4.0]])
    assert x.masked_fill_(x < 0, 0.0) is x and x.tolist() == [[1.0, 0.0], [3.0, 0.0]]
    x.masked_fill_(mg.tensor([True, False]), 9.0)  # a mask broadcasts, as in PyTorch
    assert x.tolist() == [[9.0, 0.0], [9.0, 0.0]]
    w = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="masked_fill_: in-place change of a tensor that requires grad"):
        w.masked_fill_(w > 0, 0.0)
    with mg.no_grad():
        w.masked_fill_(mg.tensor([False, True]), 5.0)
    assert w.tolist() == [1.0, 5.0]
    h = w * 2
    with pytest.raises(RuntimeError, match="masked_fill_: in-place change of a tensor the graph computed"):
        h.masked_fill_(h > 0, 0.0)
    with pytest.raises(TypeError, match="must be a bool tensor"):
        x.masked_fill_(mg.tensor([1, 0]), 0.0)
    with pytest.raises(ValueError, match="does not fit"):
        mg.zeros(2).masked_fill_(mg.zeros(2, 2) > 0, 1.0)


def test_masked_fill_in_place_is_seen_by_ops_that_saved_the_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.detach()
    z = x * y  # saves y
    y.masked_fill_(y > 1, 0.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


def test_new_tensors_take_dtype_and_device_from_self():
    x = mg.zeros(2, dtype=mg.float64)
    assert x.new_zeros(2, 3).shape == (2, 3) and x.new_zeros((2, 3)).dtype == mg.float64
    assert x.new_ones(3).tolist() == [1.0, 1.0, 1.0] and x.new_empty(1).dtype == mg.float64
    assert x.new_full((2,), 4).tolist() == [4.0, 4.0] and x.new_full((2,), 4).dtype == mg.float64
    assert x.new_tensor([1, 2]).dtype == mg.float64 and x.new_tensor([1, 2], dtype=mg.long).dtype == mg.int64
    assert x.new_zeros(2, dtype=mg.int64).dtype == mg.int64 and x.new_ones(2, requires_grad=True).requires_grad


def test_unbind_repeat_flip_as_in_torch():
    torch = torch_or_skip()
    x, tx = pair([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=False)
    assert [t.tolist() for t in x.unbind(1)] == [t.tolist() for t in tx.unbind(1)]
    assert [t.tolist() for t in mg.unbind(x)] == [t.tolist() for t in torch.unbind(tx)]
    assert x.repeat(2, 0, 1).shape == tuple(tx.repeat(2, 0, 1).shape)
    assert mg.flip(x, [0, 1]).tolist() == torch.flip(tx, [0, 1]).tolist()


def test_repeat_tiles_the_whole_tensor():
    assert mg.tensor([1, 2]).repeat(3).tolist() == [1, 2, 1, 2, 1, 2]  # not [1, 1, 1, 2, 2, 2]
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.repeat(2, 1).tolist() == [[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [3.0, 4.0]]
    assert x.repeat(1, 2).tolist() == [[1.0, 2.0, 1.0, 2.0], [3.0, 4.0, 3.0, 4.0]]
    assert x.repeat(2, 1, 1).shape == (2, 2, 2) and x.repeat(2, 0, 1).shape == (2, 0, 2)
    with pytest.raises(ValueError, match="repeat: give at least one count per dim"):
        x.repeat(2)


def test_where_with_the_condition_alone_gives_the_nonzero_indices():
    torch = torch_or_skip()
    x = mg.tensor([[0.0, 1.5], [2.0, 0.0]])
    rows, cols = mg.where(x > 0)
    expected = torch.where(torch.tensor([[0.0, 1.5], [2.0, 0.0]]) > 0)
    assert rows.tolist() == expected[0].tolist() and cols.tolist() == expected[1].tolist()
    assert x[mg.where(x > 0)].tolist() == [1.5, 2.0]


def test_multinomial_draws_in_proportion_and_is_seeded():
    probs = mg.tensor([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 0.0, 2.0]])  # rows need not sum to 1
    mg.manual_seed(1)
    draws = mg.multinomial(probs, 20000, replacement=True)
    assert draws.shape == (2, 20000) and draws.dtype == mg.int64 and not draws.requires_grad
    for row, expected in zip(draws.numpy(), ([0.1, 0, 0.6, 0.3], [0.25, 0.25, 0, 0.5])):
        np.testing.assert_allclose(np.bincount(row, minlength=4) / 20000, expected, atol=0.015)
    mg.manual_seed(1)
    assert mg.multinomial(probs, 20000, replacement=True).tolist() == draws.tolist()


def test_multinomial_without_replacement_never_repeats_and_follows_the_weights():
    probs = mg.tensor([0.1, 0.0, 0.6, 0.3])
    firsts, seconds = [], []
    for _ in range(3000):
        drawn = mg.multinomial(probs, 3).tolist()
        assert len(set(drawn)) == 3 and 1 not in drawn  # a zero weight is never drawn
        firsts.append(drawn[0])
        seconds.append(drawn[1])
    np.testing.assert_allclose(np.bincount(firsts, minlength=4) / 3000, [0.1, 0, 0.6, 0.3], atol=0.03)
    # second draw, given the first: P(2nd = 0) = 0.6 * 0.1/0.4 + 0.3 * 0.1/0.7 = 0.193
    assert abs(np.mean(np.array(seconds) == 0) - 0.193) < 0.03
    with pytest.raises(ValueError, match="without replacement"):
        mg.multinomial(probs, 5)
    with pytest.raises(ValueError, match="non-negative"):
        mg.multinomial(mg.tensor([0.5, -0.1]), 1)


def test_creation_functions_as_in_torch():
    torch = torch_or_skip()
    np.testing.assert_allclose(mg.linspace(-1, 2, 7).numpy(), torch.linspace(-1, 2, 7).numpy())
    assert mg.linspace(0, 1, 3).dtype == mg.float32 and mg.linspace(0, 1, 3, dtype=mg.float64).dtype == mg.float64
    assert mg.eye(3).tolist() == torch.eye(3).tolist() and mg.eye(2, 3).tolist() == torch.eye(2, 3).tolist()
    assert mg.eye(2, dtype=mg.long).dtype == mg.int64
    assert mg.empty(2, 3).shape == (2, 3) and mg.empty((2,), dtype=mg.float64).dtype == mg.float64
    array = np.arange(3.0)
    t = mg.from_numpy(array)
    assert t.dtype == mg.float64  # keeps the array's dtype
    array[0] = 7
    assert t.tolist() == [7.0, 1.0, 2.0]  # and its memory, as torch.from_numpy
    with pytest.raises(TypeError, match="from_numpy expects a NumPy array"):
        mg.from_numpy([1, 2])


def test_set_grad_enabled_as_a_function_and_as_a_context_manager():
    x = mg.ones(2, requires_grad=True)
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with mg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    try:
        mg.set_grad_enabled(False)
        assert not mg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_inference_mode_is_no_grad():
    x = mg.ones(2, requires_grad=True)
    with mg.inference_mode():
        assert not (x * 2).requires_grad
    with mg.inference_mode(False):
        assert (x * 2).requires_grad

    @mg.inference_mode()
    def predict(x):
        return x * 2

    assert not predict(x).requires_grad and mg.is_grad_enabled()


def test_new_ops_on_the_simulated_gpu(fake_cuda):
    """Only names CuPy has, no host arrays meeting device ones, the device's own generator."""
    x = mg.tensor(X, dtype=mg.float64, device="cuda", requires_grad=True)
    outs = [x.cumsum(1), x.prod(1), x.norm(dim=0), x.topk(2).values, x.flip(0), x.repeat(2, 1), x % 0.7,
            x.remainder(1.5), x.unbind(0)[1], mg.minimum(x, 0.0), x.max(x.flip(1))]
    sum(o.sum() for o in outs).backward()
    assert x.grad.device == "cuda"
    assert (x // 0.7).device == "cuda" and mg.where(x > 0)[0].device == "cuda"
    draws = mg.multinomial(mg.tensor([[0.2, 0.8]], device="cuda"), 4, replacement=True)
    assert draws.device == "cuda" and draws.shape == (1, 4)
    assert mg.multinomial(mg.tensor([0.2, 0.0, 0.8], device="cuda"), 2).device == "cuda"
    assert mg.linspace(0, 1, 3, device="cuda").device == "cuda" and mg.eye(2, device="cuda").device == "cuda"
    y = mg.zeros(2, 2, device="cuda")
    y.masked_fill_(mg.tensor([True, False], device="cuda"), 1.0)
    assert y.tolist() == [[1.0, 0.0], [1.0, 0.0]] and y.new_ones(2).device == "cuda"
    for p in (2, 1, float("inf")):
        mg.gradcheck(lambda x: x.norm(p, dim=1), [mg.tensor(np.abs(X) + 0.1 * np.arange(4), dtype=mg.float64,
                                                               device="cuda", requires_grad=True)])


# ---- 4. fixes after review: each as PyTorch does it ---------------------------------------------
def test_where_takes_the_condition_alone_or_all_three_arguments():
    torch = torch_or_skip()
    cond, a = mg.tensor([True, False]), mg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"where: give the condition alone.*or all three"):
        mg.where(cond, a)
    with pytest.raises(TypeError, match=r"where: give the condition alone.*or all three"):
        mg.where(cond, a, None)
    with pytest.raises(TypeError):
        torch.where(torch.tensor([True, False]), torch.tensor([1.0, 2.0]))
    for value in (True, False):
        (ours,), (theirs,) = mg.where(mg.tensor(value)), torch.where(torch.tensor(value))
        assert ours.tolist() == theirs.tolist() and ours.dtype == mg.int64 and ours.shape == tuple(theirs.shape)
    assert mg.where(cond, a, 0.0).tolist() == [1.0, 0.0]


def test_assigning_a_value_that_requires_grad_refuses_instead_of_dropping_its_gradient():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    out = mg.zeros(2, 2)
    with pytest.raises(RuntimeError, match=r"__setitem__: .*requires grad.*mg\.cat.*mg\.stack.*mg\.where"):
        out[:, 0] += w
    with pytest.raises(RuntimeError, match=r"__setitem__: .*requires grad"):
        out[0] = w
    for change in (lambda: out.copy_(w.expand(2, 2)), lambda: out.masked_fill_(out == 0, w[0]),
                   lambda: out.add_(w)):
        with pytest.raises(RuntimeError, match="requires grad"):
            change()
    assert out.tolist() == [[0.0, 0.0], [0.0, 0.0]]  # nothing was written
    out[0] = w.detach()  # a value that needs no gradient, or under no_grad, is written as before
    with mg.no_grad():
        out[:, 1] += w
    assert out.tolist() == [[1.0, 3.0], [0.0, 2.0]]
    # the ways that keep the gradient: build the tensor from its parts, or select with where
    built = mg.stack([w, mg.zeros(2)], dim=1)
    (built * mg.tensor([[1.0, 0.0], [3.0, 0.0]])).sum().backward()
    assert w.grad.tolist() == [1.0, 3.0]


@pytest.mark.parametrize("divisor", [mg.tensor([2, 0]), 0])
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")  # floats, as 1/0
def test_integer_floor_divide_and_remainder_by_zero_raise(divisor):
    torch = torch_or_skip()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.tensor([7, 8]) // (torch.tensor([2, 0]) if isinstance(divisor, mg.Tensor) else 0)
    x = mg.tensor([7, 8])
    for divide in (lambda: x // divisor, lambda: x % divisor, lambda: mg.floor_divide(x, divisor),
                   lambda: x.remainder(divisor), lambda: 5 // mg.tensor([1, 0]), lambda: 5 % mg.tensor([0])):
        with pytest.raises(ZeroDivisionError, match="integer division by zero"):
            divide()
    # floats divide by zero as IEEE says, as in PyTorch
    assert (mg.tensor([5.0]) // 0).tolist() == (torch.tensor([5.0]) // 0).tolist() == [float("inf")]
    assert np.isnan((mg.tensor([5]) % 0.0).item()) and np.isnan((torch.tensor([5]) % 0.0).item())


def test_minimum_of_bool_and_integer_tensors_as_in_torch():
    torch = torch_or_skip()
    a, b = [True, False, True, False], [True, True, False, False]
    assert mg.minimum(mg.tensor(a), mg.tensor(b)).tolist() == torch.minimum(torch.tensor(a), torch.tensor(b)).tolist()
    assert mg.tensor(a).min(mg.tensor(b)).tolist() == [True, False, False, False]
    assert mg.tensor(a).min(mg.tensor(b)).dtype == mg.bool
    ints = mg.minimum(mg.tensor([3, -1, 5], dtype=mg.int32), mg.tensor([2, 0, 9], dtype=mg.int32))
    assert ints.tolist() == [2, -1, 5] and ints.dtype == mg.int32
    assert mg.minimum(mg.tensor([3, -1]), 0).tolist() == [0, -1]
    assert mg.minimum(mg.tensor([3, -1]), 0.5).tolist() == [0.5, -1.0]  # meeting a float: float32
    x = mg.tensor([1.0, 3.0], requires_grad=True)
    mg.minimum(x, 2.0).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0]


def test_binary_functions_take_numbers_and_lists_as_torch_does():
    torch = torch_or_skip()
    t32 = mg.tensor([1.0, 2.0])
    for name in ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "floor_divide", "remainder"]:
        ours, theirs = getattr(mg, name)(t32, 2), getattr(torch, name)(torch.tensor([1.0, 2.0]), torch.tensor(2))
        assert ours.dtype == mg.float32 and ours.tolist() == theirs.tolist(), name
        ours, theirs = getattr(mg, name)(3, t32), getattr(torch, name)(torch.tensor(3), torch.tensor([1.0, 2.0]))
        assert ours.dtype == mg.float32 and ours.tolist() == theirs.tolist(), name
    assert mg.add(2, 3).tolist() == 5 and mg.add(2, 3).shape == () and mg.add(2, 3).dtype == mg.int64
    assert mg.mul(2.5, 2).dtype == mg.float32 and mg.div(7, 2).tolist() == 3.5
    assert mg.add([1.0, 2.0], [3.0, 4.0]).tolist() == [4.0, 6.0] and mg.add([1.0], [2.0]).dtype == mg.float32
    assert mg.mul([1.0, 2.0], t32).dtype == mg.float32  # was float64
    assert mg.mul(np.float64(2.0), t32).dtype == mg.float32  # a NumPy scalar is weak too
    assert mg.matmul([[1.0, 2.0]], [[3.0], [4.0]]).tolist() == [[11.0]]
    assert mg.floor_divide([7, 8], 2).tolist() == [3, 4]


TIES = [[1.0, 3.0, 3.0, 2.0, 1.0, float("nan")], [2.0, 2.0, 2.0, 0.0, 5.0, 0.0]]


def test_topk_of_a_0d_tensor_and_ties_lowest_index_first():
    x = mg.tensor(3.0, dtype=mg.float64, requires_grad=True)
    for k in (0, 1):
        values, indices = x.topk(k)
        assert values.shape == () and indices.shape == () and values.item() == 3.0 and indices.item() == 0
    x.topk(1).values.backward()
    assert x.grad.item() == 1.0
    with pytest.raises(ValueError, match="topk: k=2 is out of range"):
        x.topk(2)
    # ties come lowest index first, NaN counts as the largest (last when largest=False)
    x = mg.tensor(TIES, dtype=mg.float64)
    assert x.topk(4).indices.tolist() == [[5, 1, 2, 3], [4, 0, 1, 2]]
    assert x.topk(4, largest=False).indices.tolist() == [[0, 4, 3, 1], [3, 5, 0, 1]]
    assert x.topk(2, dim=0).indices.tolist() == [[1, 0, 0, 0, 1, 0], [0, 1, 1, 1, 0, 1]]
    assert x.topk(1, dim=0, largest=False).indices.tolist() == [[0, 1, 1, 1, 0, 1]]
    assert x[0].topk(6, largest=False).indices.tolist() == [0, 4, 3, 1, 2, 5]
    assert mg.tensor([4.0, 1.0, 3.0]).topk(2, largest=False).values.tolist() == [1.0, 3.0]
    assert mg.tensor([1.0, 3.0, 3.0, 2.0]).topk(2).indices.tolist() == [1, 2]


def test_topk_of_a_0d_tensor_and_ties_as_in_torch():
    torch = torch_or_skip()
    x, tx = pair(3.0)
    for k in (0, 1):
        values, indices = x.topk(k)
        theirs = tx.topk(k)
        assert values.shape == () == tuple(theirs.values.shape) and indices.shape == () == tuple(theirs.indices.shape)
        assert values.item() == theirs.values.item() == 3.0 and indices.item() == theirs.indices.item() == 0
    # PyTorch's values are the same, and so are its indices where its partial sort keeps the
    # lowest-index-first order (not always: [2, 2, 2, 0, 5, 0].topk(2) -> [4, 2])
    x, tx = pair(TIES, requires_grad=False)
    for k, largest in [(2, True), (4, True), (3, False), (6, False), (6, True)]:
        np.testing.assert_array_equal(x.topk(k, largest=largest).values.numpy(), tx.topk(k, largest=largest).values)
    for values, k in [([1.0, 3.0, 3.0, 2.0], 2), ([2.0, 2.0, 2.0], 2), ([4.0, 1.0, 1.0, 0.0], 3)]:
        assert mg.tensor(values).topk(k).indices.tolist() == torch.tensor(values).topk(k).indices.tolist()


def test_flip_refuses_a_dim_named_twice_and_flip_without_dims():
    torch = torch_or_skip()
    x = mg.tensor(X)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        torch.tensor(X).flip(0, 0)
    for call in (lambda: x.flip(0, 0), lambda: x.flip([1, -1]), lambda: mg.flip(x, (0, -2)), lambda: x.sum((0, 0))):
        with pytest.raises(ValueError, match=r"dim \d appears multiple times in the list of dims"):
            call()
    with pytest.raises(TypeError, match=r"flip\(\) needs the dims to flip"):
        x.flip()


def test_set_grad_enabled_as_a_decorator_as_in_torch():
    torch = torch_or_skip()

    @torch.set_grad_enabled(False)
    def torch_frozen(x):
        return x * 2

    assert torch.is_grad_enabled() and not torch_frozen(torch.ones(2, requires_grad=True)).requires_grad


def test_set_grad_enabled_and_inference_mode_as_decorators():
    x = mg.ones(2, requires_grad=True)
    try:
        @mg.set_grad_enabled(False)
        def frozen(x):
            assert not mg.is_grad_enabled()  # the mode inside
            return x * 2

        assert mg.is_grad_enabled()  # decorating did not switch grad mode off
        assert (x * 2).requires_grad
        assert not frozen(x).requires_grad and mg.is_grad_enabled()
    finally:
        mg.set_grad_enabled(True)  # a failure above must not leave grad mode off for the other tests

    @mg.set_grad_enabled(True)
    def tracked(x):
        return x * 2

    with mg.no_grad():  # the mode inside is the decorator's, and the caller's mode comes back after
        assert tracked(x).requires_grad and not mg.is_grad_enabled()
    assert mg.is_grad_enabled()

    @mg.inference_mode
    def bare(x):
        return x * 2

    @mg.inference_mode()
    def called(x):
        return x * 2

    @mg.inference_mode(False)
    def unchanged(x):
        return x * 2

    assert not bare(x).requires_grad and not called(x).requires_grad and unchanged(x).requires_grad
    assert bare.__name__ == "bare" and mg.is_grad_enabled()
    with mg.no_grad():
        assert not unchanged(x).requires_grad


def test_multinomial_with_replacement_needs_no_samples_by_categories_array():
    from minigrad import backend
    probs = mg.rand(2, 50_000, dtype=mg.float64)
    probs[:, -1] = 0.0  # a zero weight at the end is never drawn
    with backend.PeakMemory() as memory:
        draws = mg.multinomial(probs, 2000, replacement=True)
    assert draws.shape == (2, 2000) and draws.max().item() < 49_999 and draws.min().item() >= 0
    assert memory.peak_bytes < 8_000_000  # the (2, 2000, 50000) bool array would be 200 MB
    one_row = mg.multinomial(mg.tensor([0.0, 1.0, 0.0, 3.0]), 4000, replacement=True)
    assert one_row.shape == (4000,) and set(one_row.tolist()) == {1, 3}
    assert abs(np.mean(one_row.numpy() == 3) - 0.75) < 0.03


def test_review_fixes_on_the_simulated_gpu(fake_cuda):
    """The new paths use only names CuPy has and keep every array on the device."""
    from minigrad.nn import functional as F
    x = mg.tensor([[1.0, 3.0, 3.0, 2.0]], device="cuda")
    assert x.topk(2).indices.tolist() == [[1, 2]] and x.topk(2, largest=False).indices.device == "cuda"
    assert mg.where(mg.tensor(True, device="cuda"))[0].device == "cuda"
    assert mg.minimum(x > 1, x > 2).tolist() == [[False, True, True, False]]
    with pytest.raises(ZeroDivisionError):
        mg.tensor([1, 2], device="cuda") // mg.tensor([1, 0], device="cuda")
    draws = mg.multinomial(mg.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0]], device="cuda"), 50, replacement=True)
    assert draws.device == "cuda" and set(draws.tolist()[1]) == {0} and 0 not in draws.tolist()[0]
    w = mg.randn(3, 2, device="cuda", requires_grad=True)
    F.embedding(mg.tensor([0, 2, 2], device="cuda"), w, padding_idx=2).sum().backward()
    assert w.grad.device == "cuda" and w.grad.tolist() == [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    p = mg.tensor([0.0, 0.5, 1.0], device="cuda", requires_grad=True)
    F.binary_cross_entropy(p, mg.tensor([1.0, 0.0, 1.0], device="cuda")).backward()
    assert p.grad.device == "cuda" and np.isfinite(p.grad.numpy()).all()
    assert mg.add([1.0, 2.0], x[0, :2]).device == "cuda"


# ---- makemore's and micrograd's idioms -----------------------------------------------------------
REDUCTIONS = ["sum", "mean", "prod", "logsumexp", "var", "std", "argmax", "argmin"]


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_take_numpys_keepdims_spelling_as_pytorch_does(name):
    x = mg.tensor(np.random.default_rng(0).uniform(1, 4, (2, 3)), dtype=mg.float64)
    for ours in (getattr(x, name)(1, keepdims=True), getattr(mg, name)(x, 1, keepdims=True)):
        np.testing.assert_array_equal(ours.numpy(), getattr(x, name)(1, keepdim=True).numpy())
        assert ours.shape == (2, 1)
    torch = pytest.importorskip("torch")
    assert tuple(getattr(torch.tensor(x.numpy()), name)(1, keepdims=True).shape) == (2, 1)


def test_max_and_min_take_keepdims_and_still_unpack():
    values, indices = mg.tensor([[1.0, 5.0, 2.0]]).max(1, keepdims=True)
    assert values.tolist() == [[5.0]] and indices.tolist() == [[1]]
    assert mg.min(mg.tensor([[1.0, 5.0]]), 1, keepdims=True).values.shape == (1, 1)


def test_log2_and_log10_values_and_gradients():
    x = mg.tensor([0.5, 8.0, 100.0], dtype=mg.float64, requires_grad=True)
    np.testing.assert_allclose(x.log2().numpy(), np.log2([0.5, 8.0, 100.0]), rtol=1e-15)
    np.testing.assert_allclose(mg.log10(x).numpy(), [np.log10(0.5), np.log10(8.0), 2.0], rtol=1e-15)
    mg.gradcheck(lambda x: x.log2(), [x])
    mg.gradcheck(lambda x: x.log10(), [x])


def test_updating_dot_data_in_place_with_a_tensor_works_as_in_pytorch():
    """micrograd's and makemore's update, p.data += -lr * p.grad: here p.data is the NumPy array, and
    it is changed in place (the same array, no graph), as PyTorch changes p's storage."""
    W = mg.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    (W * W).sum().backward()  # grad 2W
    array = W.data
    W.data += -0.25 * W.grad
    assert W.data is array and isinstance(W.data, type(array))
    np.testing.assert_allclose(W.numpy(), [[0.5, -1.0], [1.5, 0.25]])
    W.data -= W.grad  # every in-place operator works
    W.data *= mg.tensor(2.0)
    np.testing.assert_allclose(W.numpy(), [[-3.0, 6.0], [-9.0, -1.5]])
    assert W.requires_grad and W.is_leaf and W.grad_fn is None


def test_numpy_numbers_and_arrays_before_a_tensor_give_tensors():
    t = mg.tensor([1.0, 2.0])
    for result, expected in ((np.float32(2) * t, [2.0, 4.0]), (np.float64(3) - t, [2.0, 1.0]),
                             (np.array([4.0, 4.0], dtype=np.float32) / t, [4.0, 2.0]),
                             (np.array([1.0, 3.0]) > t, [False, True]), (np.int64(2) ** t, [2.0, 4.0])):
        assert isinstance(result, mg.Tensor) and result.tolist() == expected
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (np.float32(3) * x).sum().backward()  # stays in the graph
    assert x.grad.tolist() == [3.0, 3.0]
    with pytest.raises(TypeError, match=r"np.exp on a minigrad Tensor: .* use t.exp\(...\), or np.exp\(t.numpy\(\)\)"):
        np.exp(t)
    with pytest.raises(TypeError, match=r"use t.maximum\(...\), or np.maximum\(t.numpy\(\), ...\)"):
        np.maximum(t, 1.0)
    with pytest.raises(TypeError, match=r"np.add.reduce on a minigrad Tensor: .* the tensor's own methods"):
        np.add.reduce(t)
