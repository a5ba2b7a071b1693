"""Tensor-level PyTorch porting gaps: register_hook, grad_fn (and walking the graph by its
next_functions), and the tensor methods and mg.X functions small PyTorch programs call (eq, dot, rsqrt,
stride, index_select, repeat_interleave, roll, diagonal, diag, cumprod, in-place exp_ / clamp_ /
squeeze_ / unsqueeze_, logical ops, nonzero, mg.normal, mg.bernoulli, set_default_dtype, ...).

Each differentiable addition is gradchecked in float64 (hypothesis draws the shapes where shapes
matter) and, where torch is installed, compared with PyTorch in values and gradients."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.opcheck import distinct
from tests.strategies import make_input, nonempty_shapes, seeds
from tests.test_porting_more import leaves, matches_torch

checks = settings(max_examples=25, deadline=None)


def torch_copy(x, requires_grad=None):
    torch = pytest.importorskip("torch")
    return torch.tensor(x.numpy(), requires_grad=x.requires_grad if requires_grad is None else requires_grad)


# ---- 1. register_hook -----------------------------------------------------------------------------
def test_a_hook_on_a_leaf_sees_its_whole_gradient_and_its_result_lands_in_grad():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    x.register_hook(lambda grad: seen.append(grad.tolist()))  # None: the gradient goes on unchanged
    x.register_hook(lambda grad: grad * 10)
    (x * x + 3 * x).sum().backward()  # two uses of x: the hook sees their sum, 2x + 3, once
    assert seen == [[5.0, 7.0, 9.0]]
    assert x.grad.tolist() == [50.0, 70.0, 90.0]


def test_a_hook_on_an_intermediate_changes_what_flows_to_the_inputs_as_in_torch():
    torch = pytest.importorskip("torch")
    x = mg.tensor([0.5, -1.0, 2.0], dtype=mg.float64, requires_grad=True)
    tx = torch_copy(x)
    grads = []
    for t, lib in ((x, mg), (tx, torch)):
        h = t.exp()
        h.register_hook(lambda grad: grad.clamp(-1.0, 1.0))  # gradient clipping on one activation
        (h * lib.tensor([3.0, 0.2, -4.0], dtype=h.dtype)).sum().backward()
        grads.append(np.asarray(t.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
    np.testing.assert_allclose(grads[0], np.clip([3.0, 0.2, -4.0], -1, 1) * np.exp(x.numpy()))


def test_hooks_run_in_the_order_registered_and_remove_takes_one_off():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    doubled = x.register_hook(lambda grad: grad * 2)
    x.register_hook(lambda grad: grad + 1)
    x.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]  # (1 * 2) + 1, not (1 + 1) * 2
    doubled.remove()
    doubled.remove()  # a second time changes nothing
    x.grad = None
    x.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_a_hook_can_remove_itself_while_backward_runs():
    x = mg.tensor([1.0], requires_grad=True)
    calls = []

    def once(grad):
        calls.append(grad.item())
        handle.remove()

    handle = x.register_hook(once)
    (x * 2).sum().backward(retain_graph=True)
    (x * 2).sum().backward()
    assert calls == [2.0]


def test_a_hook_with_retain_grad_shows_the_replaced_gradient_and_the_loss_hook_gets_one():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    h.register_hook(lambda grad: -grad)
    loss = h.sum()
    seen = []
    loss.register_hook(lambda grad: seen.append(grad.item()))
    loss.backward()
    assert seen == [1.0] and h.grad.tolist() == [-1.0, -1.0] and x.grad.tolist() == [-3.0, -3.0]


def test_hooks_run_in_autograd_grad_and_leave_grad_alone():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.register_hook(lambda grad: grad * 0.5)
    x.register_hook(lambda grad: grad + 100)
    dx, dh = mg.autograd.grad(h.sum(), [x, h])
    assert dx.tolist() == [101.0, 102.0]  # d/dx sum(x^2) = 2x, halved at h, then + 100 at x (as PyTorch)
    # h's own gradient is the hooked one, as .grad would be with retain_grad (PyTorch 2 hands back
    # the one from before the hook here, [1, 1], while passing the hooked one on to x)
    assert dh.tolist() == [0.5, 0.5]
    assert x.grad is None


def test_a_hook_handle_is_a_context_manager_as_a_modules_is():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with x.register_hook(lambda grad: grad * 3):
        x.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    x.grad = None
    x.sum().backward()  # the block is left: the hook is off
    assert x.grad.tolist() == [1.0, 1.0]


def test_hooks_refuse_tensors_without_gradient_uncallable_hooks_and_wrong_shapes():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        mg.tensor([1.0]).register_hook(print)
    with pytest.raises(TypeError, match="register_hook: the hook must be callable, got int"):
        mg.tensor([1.0], requires_grad=True).register_hook(3)
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda grad: grad.sum())
    with pytest.raises(RuntimeError, match=r"returned shape \(\) and dtype float32 .* shape \(2,\) and dtype float32"):
        x.sum().backward()
    y = mg.tensor([1.0, 2.0], requires_grad=True)
    y.register_hook(lambda grad: grad.double())  # as PyTorch: a hook may not change the gradient's type
    with pytest.raises(RuntimeError, match=r"returned shape \(2,\) and dtype float64 .* dtype float32"):
        y.sum().backward()


# ---- 2. grad_fn -------------------------------------------------------------------------------------
def graph(node):
    """(name, [graph of each next function]) for a grad_fn; PyTorch's AccumulateGrad name shortened."""
    if node is None:
        return None
    return (node.name().replace("torch::autograd::", ""), [graph(n) for n, _ in node.next_functions])


def test_grad_fn_is_none_for_leaves_and_outside_the_graph():
    x = mg.tensor([1.0], requires_grad=True)
    assert x.grad_fn is None and mg.tensor([1.0]).grad_fn is None
    with mg.no_grad():
        assert (x * 2).grad_fn is None
    assert (x * 2).detach().grad_fn is None


def test_grad_fn_names_the_op_and_the_tensor_repr_shows_it():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.grad_fn.name() == "MulBackward0" and y.grad_fn is y.grad_fn
    assert repr(y.grad_fn).startswith("<MulBackward0 object at 0x")
    assert repr(y).endswith("grad_fn=<MulBackward0>)") and repr(x).endswith("requires_grad=True)")
    assert y.sum().grad_fn.name() == "SumBackward0"


def test_next_functions_walk_the_graph_as_in_torch():
    torch = pytest.importorskip("torch")
    a, b = mg.tensor([1.0, 2.0], requires_grad=True), mg.tensor([3.0, 4.0], requires_grad=True)
    c = mg.tensor([5.0, 6.0])  # needs no gradient: (None, 0)
    ta, tb, tc = torch_copy(a), torch_copy(b), torch_copy(c)
    ours, theirs = ((a * b + c) * 2).sum(), ((ta * tb + tc) * 2).sum()
    assert graph(ours.grad_fn) == graph(theirs.grad_fn) == (
        "SumBackward0", [("MulBackward0", [("AddBackward0", [
            ("MulBackward0", [("AccumulateGrad", []), ("AccumulateGrad", [])]), None]), None])])
    leaf = ours.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0].next_functions[0][0]
    assert leaf.variable is a


def test_walking_a_graph_with_a_set_visits_each_node_once():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * x  # x used twice, h used twice: four paths to x, one leaf
    loss = (h + h.exp()).sum()
    seen, stack = set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            stack.extend(n for n, _ in node.next_functions)
    assert sorted(n.name() for n in seen) == ["AccumulateGrad", "AddBackward0", "ExpBackward0", "MulBackward0",
                                              "SumBackward0"]


# ---- 3. methods and functions: differentiable ones, gradchecked and compared with torch ------------
DIFFERENTIABLE = {  # name -> (ours, torch's, input shapes); inputs uniform in (-2, 2) unless noted
    "rsqrt": (lambda x: (x.abs() + 0.5).rsqrt(), lambda x: (x.abs() + 0.5).rsqrt(), [(2, 3)]),
    "reciprocal": (lambda x: (x.abs() + 0.5).reciprocal(), lambda x: (x.abs() + 0.5).reciprocal(), [(2, 3)]),
    "mg.rsqrt": (lambda x: mg.rsqrt(x * x + 1), None, [(4,)]),
    "dot": (lambda a, b: a.dot(b), lambda a, b: a.dot(b), [(4,), (4,)]),
    "mg.dot": (lambda a, b: mg.dot(a, b), None, [(3,), (3,)]),
    "add_alpha": (lambda a, b: a.add(b, alpha=0.5), lambda a, b: a.add(b, alpha=0.5), [(2, 3), (3,)]),
    "sub_alpha": (lambda a, b: a.sub(b, alpha=-2), lambda a, b: a.sub(b, alpha=-2), [(2, 3), (2, 1)]),
    "mg.add_alpha": (lambda a, b: mg.add(a, b, alpha=3), None, [(2,), (2,)]),
    "mg.sub_alpha": (lambda a, b: mg.sub(a, b, alpha=3), None, [(2,), (2,)]),
    "mul_div": (lambda a, b: a.mul(b).div(b * b + 1), lambda a, b: a.mul(b).div(b * b + 1), [(2, 3), (2, 3)]),
    "neg": (lambda x: x.neg(), lambda x: x.neg(), [(3,)]),
    "mT": (lambda x: x.mT, lambda x: x.mT, [(2, 3, 4)]),
    "where": (lambda a, b: a.where(a > b, b * 2), lambda a, b: a.where(a > b, b * 2), [(2, 3), (3,)]),
    "diag_vector": (lambda x: x.diag(), lambda x: x.diag(), [(3,)]),
    "diag_vector_above": (lambda x: x.diag(2), lambda x: x.diag(2), [(3,)]),
    "diag_vector_below": (lambda x: mg.diag(x, diagonal=-1), None, [(3,)]),
    "diag_matrix": (lambda x: x.diag(-1), lambda x: x.diag(-1), [(3, 4)]),
    "diagonal_batched": (lambda x: x.diagonal(1, 0, 2), lambda x: x.diagonal(1, 0, 2), [(3, 2, 4)]),
    "diagonal_negative_dims": (lambda x: x.diagonal(-1, -1, -2), lambda x: x.diagonal(-1, -1, -2), [(2, 3, 3)]),
    "diagonal_empty": (lambda x: x.diagonal(5), lambda x: x.diagonal(5), [(3, 4)]),
    "mg.diagonal": (lambda x: mg.diagonal(x), None, [(3, 3)]),
    "index_select_repeats": (lambda x: x.index_select(1, mg.tensor([2, 0, 2, -1])), None, [(2, 3)]),
    "broadcast_to": (lambda x: mg.broadcast_to(x, (4, 2, 3)), None, [(2, 1)]),
    "masked_select": (lambda x: x.masked_select(x > 0), lambda x: x.masked_select(x > 0), [(3, 4)]),
    "masked_select_broadcast": (lambda x: mg.masked_select(x, mg.tensor([True, False, True])), None, [(2, 3)]),
    "masked_fill": (lambda x: mg.masked_fill(x, x < 0, 0.5), None, [(2, 3)]),
    "roll_flat": (lambda x: x.roll(2), lambda x: x.roll(2), [(2, 3)]),
    "roll_dims": (lambda x: x.roll((1, -1), (0, 2)), lambda x: x.roll((1, -1), (0, 2)), [(2, 3, 4)]),
    "mg.roll": (lambda x: mg.roll(x, -1, 0), None, [(3, 2)]),
    "repeat_interleave": (lambda x: x.repeat_interleave(3, 1), lambda x: x.repeat_interleave(3, 1), [(2, 3)]),
    "repeat_interleave_flat": (lambda x: x.repeat_interleave(2), lambda x: x.repeat_interleave(2), [(2, 2)]),
    "mg.repeat_interleave": (lambda x: mg.repeat_interleave(x, 2, dim=-1), None, [(2, 2)]),
    "cumprod": (lambda x: x.cumprod(1), lambda x: x.cumprod(1), [(2, 4)]),
    "mg.cumprod": (lambda x: mg.cumprod(x, 0), None, [(3, 2)]),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_differentiable_additions_gradcheck(name):
    ours, _, shapes = DIFFERENTIABLE[name]
    mg.gradcheck(ours, leaves(np.random.default_rng(0), *shapes))


@pytest.mark.parametrize("name", sorted(n for n, (_, theirs, _) in DIFFERENTIABLE.items() if theirs is not None))
def test_differentiable_additions_match_torch(name):
    ours, theirs, shapes = DIFFERENTIABLE[name]
    matches_torch(ours, theirs, leaves(np.random.default_rng(1), *shapes))


def test_index_select_matches_torch_with_repeated_indices():
    torch = pytest.importorskip("torch")
    x = leaves(np.random.default_rng(2), (3, 4))[0]
    matches_torch(lambda x: x.index_select(0, mg.tensor([2, 2, 0])),
                  lambda x: x.index_select(0, torch.tensor([2, 2, 0])), [x])
    assert x.index_select(1, mg.tensor(3)).shape == (3, 1)  # a 0-d index keeps the dim, as in torch


@checks
@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_roll_and_repeat_interleave_gradcheck_over_shapes(shape, seed, data):
    x = make_input(distinct, shape, seed, transposed=data.draw(st.booleans()))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shift = data.draw(st.integers(-5, 5))
    rolled = x.roll(shift, dim)
    np.testing.assert_array_equal(rolled.numpy(), np.roll(x.numpy(), shift, dim))
    mg.gradcheck(lambda x: x.roll(shift, dim) * mg.tensor(np.arange(x.numel(), dtype=np.float64).reshape(x.shape)),
                 [x])
    repeats = data.draw(st.integers(0, 3))
    np.testing.assert_array_equal(x.repeat_interleave(repeats, dim).numpy(), np.repeat(x.numpy(), repeats, dim))
    mg.gradcheck(lambda x: x.repeat_interleave(repeats, dim), [x])


@checks
@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_cumprod_gradchecks_over_shapes_and_with_zeros(shape, seed, data):
    rng = np.random.default_rng(seed)
    values = rng.uniform(-2, 2, shape)
    values[rng.uniform(size=shape) < 0.3] = 0.0  # zeros: the gradient must not divide by them
    x = mg.tensor(values, dtype=mg.float64, requires_grad=True)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    np.testing.assert_allclose(x.cumprod(dim).numpy(), np.cumprod(values, dim))
    mg.gradcheck(lambda x: x.cumprod(dim), [x])


def test_cumprod_of_0d_and_integer_tensors():
    assert mg.cumprod(mg.tensor(3.0), 0).shape == () and mg.tensor([2, 3]).cumprod(0).tolist() == [2, 6]


def test_cumprod_with_zeros_matches_torch():
    x = mg.tensor([[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 1.5, -2.0, 4.0, 0.5]], dtype=mg.float64, requires_grad=True)
    matches_torch(lambda x: x.cumprod(1), lambda x: x.cumprod(1), [x])


@checks
@given(rows=st.integers(1, 4), cols=st.integers(1, 4), offset=st.integers(-4, 4), seed=seeds,
       transposed=st.booleans())
def test_diagonal_and_diag_over_shapes(rows, cols, offset, seed, transposed):
    x = make_input(distinct, (rows, cols), seed, transposed)
    np.testing.assert_array_equal(x.diagonal(offset).numpy(), np.diagonal(x.numpy(), offset))
    np.testing.assert_array_equal(x.diag(offset).numpy(), np.diag(x.numpy(), offset))
    mg.gradcheck(lambda x: x.diagonal(offset), [x])
    v = make_input(distinct, (rows,), seed)
    np.testing.assert_array_equal(v.diag(offset).numpy(), np.diag(v.numpy(), offset))
    mg.gradcheck(lambda v: mg.diag(v, offset), [v])


def test_diag_keeps_integers_and_lets_no_infinity_leak_off_the_diagonal():
    assert mg.diag(mg.tensor([1, 2])).tolist() == [[1, 0], [0, 2]] and mg.diag(mg.tensor([1, 2])).dtype == mg.int64
    assert mg.diag(mg.tensor([float("inf"), 1.0]), -1).tolist() == [[0, 0, 0], [float("inf"), 0, 0], [0, 1, 0]]
    assert mg.tensor([1, 2, 3]).roll(1).tolist() == [3, 1, 2] and mg.roll(mg.tensor([[1, 2]]), 1, 1).tolist() == [[2, 1]]


def test_diag_of_an_empty_vector_is_all_zeros_as_in_torch():
    assert mg.diag(mg.zeros(0)).shape == (0, 0)
    assert mg.diag(mg.zeros(0, dtype=mg.float64), 2).tolist() == [[0.0, 0.0], [0.0, 0.0]]  # was an IndexError


def test_shape_ops_name_their_bad_input():
    x = mg.ones(2, 3)
    with pytest.raises(ValueError, match="diag: expects a 1-d tensor .* got shape"):
        mg.ones(2, 2, 2).diag()
    with pytest.raises(ValueError, match="diagonal: needs two different dims, got dim 1 twice"):
        x.diagonal(0, 1, -1)
    with pytest.raises(ValueError, match="diagonal: needs a tensor of at least 2 dims"):
        mg.ones(3).diagonal()
    with pytest.raises(TypeError, match="index_select: index must be an integer tensor"):
        x.index_select(0, mg.tensor([0.0]))
    with pytest.raises(IndexError, match="out of range"):
        x.index_select(1, mg.tensor([3]))
    with pytest.raises(TypeError, match="repeat_interleave: repeats must be an int"):
        x.repeat_interleave(mg.tensor([1, 2]))
    with pytest.raises(ValueError, match="roll: 2 shift"):
        x.roll((1, 2), 0)
    with pytest.raises(ValueError, match="dot: expects two 1-d tensors"):
        mg.ones(2).dot(mg.ones(3))
    with pytest.raises(ValueError, match="mT needs a tensor of at least 2 dims"):
        mg.ones(3).mT
    with pytest.raises(TypeError, match="masked_select: the mask must be a bool tensor"):
        x.masked_select(x)


# ---- 3. methods and functions without a gradient ----------------------------------------------------
def test_comparison_methods_are_the_operators():
    a, b = mg.tensor([1.0, 2.0, 3.0]), mg.tensor([2.0, 2.0, 2.0])
    for method, expected in (("eq", a == b), ("ne", a != b), ("lt", a < b), ("le", a <= b), ("gt", a > b),
                             ("ge", a >= b)):
        assert getattr(a, method)(b).tolist() == expected.tolist()
    assert a.eq(2.0).tolist() == [False, True, False]


def test_step_functions_match_torch_and_pass_no_gradient():
    torch = pytest.importorskip("torch")
    values = [-2.5, -1.5, -0.5, -0.2, 0.0, 0.5, 1.5, 2.5, 2.7]
    x, tx = mg.tensor(values, dtype=mg.float64), torch.tensor(values, dtype=torch.float64)
    for name in ("sign", "floor", "ceil", "round"):
        assert getattr(mg, name)(x).tolist() == getattr(torch, name)(tx).tolist(), name  # round: halves to even
    np.testing.assert_allclose(mg.round(x * 1.23, decimals=1).numpy(), torch.round(tx * 1.23, decimals=1).numpy())
    counts = mg.tensor([-3, 0, 4])
    assert counts.floor().tolist() == [-3, 0, 4] and counts.floor().dtype == mg.int64  # already whole
    assert counts.sign().tolist() == [-1, 0, 1]
    w = mg.tensor([-2.0, 3.0], dtype=mg.float64, requires_grad=True)
    assert not w.sign().requires_grad
    (w.sign() * w).sum().backward()  # the product rule, sign(w) a constant: d/dw = sign(w)
    assert w.grad.tolist() == [-1.0, 1.0]


def test_logical_ops_isclose_equal_and_nonzero_match_torch():
    torch = pytest.importorskip("torch")
    a_values, b_values = [[0.0, 1.5, -2.0], [3.0, 0.0, 0.0]], [[1.0, 0.0, -2.0], [3.0, 1e-9, 0.0]]
    a, b = mg.tensor(a_values), mg.tensor(b_values)
    ta, tb = torch.tensor(a_values), torch.tensor(b_values)
    for name in ("logical_and", "logical_or", "logical_xor"):
        assert getattr(a, name)(b).tolist() == getattr(ta, name)(tb).tolist()
        assert getattr(mg, name)(a, b).tolist() == getattr(torch, name)(ta, tb).tolist()
    assert a.logical_not().tolist() == ta.logical_not().tolist() == mg.logical_not(a).tolist()
    assert a.isclose(b).tolist() == ta.isclose(tb).tolist() == mg.isclose(a, b).tolist()
    assert mg.isclose(a, b, atol=0.0).tolist() == torch.isclose(ta, tb, atol=0.0).tolist()
    assert a.equal(a) and not a.equal(b) and not a.equal(a[0]) and mg.equal(a, mg.tensor(a_values))
    assert a.nonzero().tolist() == ta.nonzero().tolist() and a.nonzero().dtype == mg.int64
    ours, theirs = mg.nonzero(a, as_tuple=True), torch.nonzero(ta, as_tuple=True)
    assert [t.tolist() for t in ours] == [t.tolist() for t in theirs]
    assert mg.tensor(5.0).nonzero().shape == tuple(torch.tensor(5.0).nonzero().shape) == (1, 0)


def test_memory_layout_matches_torch():
    torch = pytest.importorskip("torch")
    x, tx = mg.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    views = [lambda t: t, lambda t: t.transpose(0, 2), lambda t: t.mT, lambda t: t[:, 1:, ::2],
             lambda t: t[:, :1].expand(2, 5, 4)]
    for view in views:
        assert view(x).stride() == view(tx).stride()
        assert view(x).is_contiguous() == view(tx).is_contiguous()
        assert view(x).contiguous().is_contiguous() and view(x).contiguous().stride() == view(tx).contiguous().stride()
    assert x.stride(-1) == tx.stride(-1) == 1 and x.stride(0) == 12
    assert x.contiguous() is x
    for dtype, torch_dtype in ((mg.float32, torch.float32), (mg.float64, torch.float64), (mg.int64, torch.int64),
                               (mg.bool, torch.bool)):
        assert mg.zeros(1, dtype=dtype).element_size() == torch.zeros(1, dtype=torch_dtype).element_size()
    assert x.is_cuda is False and mg.numel(x) == 24 == torch.numel(tx)


def test_contiguous_copy_keeps_the_gradient_path():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x.T.contiguous()
    assert y.is_contiguous() and y.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    (y * mg.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 3.0], [2.0, 4.0]]


# ---- in-place ----------------------------------------------------------------------------------------
def test_in_place_exp_clamp_squeeze_unsqueeze_match_torch():
    torch = pytest.importorskip("torch")
    values = [[[-1.0, 0.5, 2.0]]]
    x, tx = mg.tensor(values), torch.tensor(values)
    for t in (x, tx):
        assert t.exp_() is t and t.clamp_(min=0.5, max=3.0) is t
        assert t.squeeze_() is t and t.unsqueeze_(0) is t and t.squeeze_(0) is t and t.unsqueeze_(-1) is t
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-6)
    assert x.shape == tuple(tx.shape) == (3, 1)
    y = mg.tensor([[1.0, -5.0]])
    view = y[0]
    y.squeeze_().clamp_(max=0.0)  # the same memory, through a new shape: views see the change
    assert view.tolist() == [0.0, -5.0] and y.shape == (2,)


def test_in_place_shape_changes_are_caught_as_in_torch():
    w = mg.tensor([[1.0, 2.0]], requires_grad=True)
    for change in (lambda t: t.exp_(), lambda t: t.clamp_(0, 1), lambda t: t.squeeze_(), lambda t: t.unsqueeze_(0)):
        with pytest.raises(RuntimeError, match="in-place change of a tensor that requires grad"):
            change(w)
    with pytest.raises(ValueError, match="clamp_: give at least one"):
        mg.ones(2).clamp_()
    c = mg.tensor([[3.0, 4.0]])
    loss = (w * c).sum()
    c.squeeze_()  # Mul saved c: its version moved on, as PyTorch's does for squeeze_
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


# ---- random draws --------------------------------------------------------------------------------------
def test_bernoulli_draws_ones_with_each_probability():
    probs = mg.tensor([0.0, 1.0, 0.25], dtype=mg.float64).expand(20000, 3)
    draws = mg.bernoulli(probs)
    assert draws.dtype == mg.float64 and set(np.unique(draws.numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(draws.mean(0).numpy(), [0.0, 1.0, 0.25], atol=0.015)
    g1, g2 = mg.Generator().manual_seed(7), mg.Generator().manual_seed(7)
    assert mg.full((50,), 0.5).bernoulli(generator=g1).tolist() == mg.full((50,), 0.5).bernoulli(g2).tolist()
    with pytest.raises(ValueError, match="bernoulli: every probability must lie in"):
        mg.bernoulli(mg.tensor([1.5]))
    with pytest.raises(TypeError, match="bernoulli: the probabilities must be a float tensor"):
        mg.bernoulli(mg.tensor([1]))


def test_normal_takes_numbers_with_a_size_or_tensors():
    draws = mg.normal(2.0, 3.0, size=(200, 100))
    assert draws.shape == (200, 100) and draws.dtype == mg.float32 and not draws.requires_grad
    assert abs(draws.mean().item() - 2.0) < 0.1 and abs(draws.std().item() - 3.0) < 0.1
    mean = mg.tensor([[0.0], [100.0]], dtype=mg.float64, requires_grad=True)
    std = mg.tensor([1e-3, 1e-3, 1e-3], dtype=mg.float64)
    draws = mg.normal(mean, std)
    assert draws.shape == (2, 3) and draws.dtype == mg.float64 and not draws.requires_grad
    np.testing.assert_allclose(draws.numpy(), [[0.0] * 3, [100.0] * 3], atol=0.01)
    g1, g2 = mg.Generator().manual_seed(3), mg.Generator().manual_seed(3)
    assert mg.normal(0.0, 1.0, (4,), generator=g1).tolist() == mg.normal(0.0, 1.0, 4, generator=g2).tolist()
    with pytest.raises(TypeError, match="normal: with a number for both mean and std, give size="):
        mg.normal(0.0, 1.0)
    with pytest.raises(ValueError, match="std must be >= 0"):
        mg.normal(mg.zeros(2), -1.0)


# ---- default dtype --------------------------------------------------------------------------------------
@pytest.fixture
def default_dtype_restored():
    before = mg.get_default_dtype()
    yield
    mg.set_default_dtype(before)


def test_set_default_dtype_reaches_every_float_creation(default_dtype_restored):
    assert mg.get_default_dtype() == mg.float32
    mg.set_default_dtype(mg.float64)
    assert mg.get_default_dtype() == mg.float64
    made = [mg.tensor([1.5]), mg.zeros(2), mg.ones(2), mg.randn(2), mg.rand(2), mg.arange(0.0, 1.0, 0.5),
            mg.linspace(0, 1, 3), mg.eye(2), mg.normal(0.0, 1.0, (2,)), mg.tensor([1, 2]) * 0.5, mg.tensor([1]) / 2,
            mg.tensor([1, 2]).mean(), mg.nn.Linear(2, 2).weight]
    assert [t.dtype for t in made] == [mg.float64] * len(made)
    assert mg.tensor([1, 2]).dtype == mg.int64  # integers stay integers
    mg.set_default_dtype("float32")
    assert mg.zeros(1).dtype == mg.float32 and (mg.tensor([1]) / 2).dtype == mg.float32
    with pytest.raises(TypeError, match="set_default_dtype: expected mg.float32 or mg.float64"):
        mg.set_default_dtype(mg.int64)


def test_default_dtype_matches_torch(default_dtype_restored):
    torch = pytest.importorskip("torch")
    assert str(mg.get_default_dtype()) == str(torch.get_default_dtype()).removeprefix("torch.")


# ---- every device (cuda too: a real GPU, or --simulated-cuda) ---------------------------------------
def test_additions_run_on_every_device(device):
    x = mg.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], dtype=mg.float64, device=device, requires_grad=True)
    seen = []
    x.register_hook(lambda grad: seen.append(grad.device) or grad * 2)
    index = mg.tensor([2, 0], device=device)
    parts = [x.roll(1, 1), x.repeat_interleave(2, 0), x.diagonal(), x[0].diag(), x.cumprod(1),
             x.index_select(1, index), x.masked_select(x > 0), (x * x + 1).rsqrt(), (x * x + 1).reciprocal(),
             x[0].dot(x[1]), x.mT, x.where(x > 0, 0.0), x.add(x, alpha=2)]
    sum(part.sum() for part in parts).backward()
    assert seen == [device] and x.grad.device == device
    for part in parts:
        assert part.device == device
    assert x.sign().device == x.floor().device == x.round().device == device
    assert x.nonzero().device == x.logical_and(x).device == x.isclose(x).device == device and x.equal(x)
    assert mg.bernoulli(mg.full((3,), 0.5, device=device)).device == device
    assert mg.normal(mg.zeros(3, device=device), 1.0).device == device
    y = mg.tensor([[0.5, 2.0]], device=device)
    y.exp_().clamp_(max=5.0).squeeze_().unsqueeze_(1)
    np.testing.assert_allclose(y.numpy(), [[np.exp(0.5)], [5.0]], rtol=1e-6)
    assert x.stride() == (3, 1) and x.is_cuda == (device == "cuda")
