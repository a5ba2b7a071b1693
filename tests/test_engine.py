"""The engine contract: tensors, the graph, backward, grad mode, and its errors."""
import math
import pathlib
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import ops
from minigrad.function import Function
from minigrad.ops.elementwise import Mul
from minigrad.engine import unbroadcast


# ---- the seed examples ------------------------------------------------------------
@pytest.mark.parametrize("x0", [-2.0, -0.5, 0.0, 0.7, 1.3, 3.0])
def test_chain_rule_seed_sin_of_square(x0):
    x = mg.tensor(x0, dtype=mg.float64, requires_grad=True)
    (x * x).sin().backward()
    assert x.grad.item() == pytest.approx(math.cos(x0**2) * 2 * x0, abs=1e-12)


def test_gradient_descent_seed_one_step():
    w = mg.tensor(5.0, requires_grad=True)
    ((w - 2) ** 2).backward()
    assert w.grad.item() == 6.0
    with mg.no_grad():
        w.sub_(0.1 * w.grad)
    assert w.item() == pytest.approx(4.4)


# ---- tensors ----------------------------------------------------------------------
def test_default_dtypes():
    assert mg.tensor([1.0, 2.0]).dtype == mg.float32
    assert mg.tensor([1, 2]).dtype == mg.int64
    assert mg.tensor([1.0], dtype=mg.float64).dtype == mg.float64
    assert mg.zeros(2, 3).dtype == mg.float32 and mg.zeros(2, 3).shape == (2, 3)
    assert mg.ones((2, 3), dtype=mg.float64).dtype == mg.float64
    assert mg.arange(5).dtype == mg.int64 and mg.arange(0.0, 1.0, 0.25).dtype == mg.float32
    assert mg.full((2,), 7.0).tolist() == [7.0, 7.0] and mg.full((2,), 7.0).dtype == mg.float32
    # full's dtype is the value's, as torch.full's (an int or a bool gave float32 labels or masks)
    assert mg.full((2,), -100).dtype == mg.int64 and mg.full(3, True).dtype == bool
    assert mg.full((2,), 7, dtype=mg.float64).dtype == mg.float64 and mg.zeros(2).dtype == mg.float32
    assert mg.zeros_like(mg.ones(3, dtype=mg.float64)).dtype == mg.float64


def test_results_keep_float32():
    x = mg.randn(3, requires_grad=True)
    y = (x * 2.5 + 1).exp().sum()
    y.backward()
    assert y.dtype == mg.float32 and x.grad.dtype == mg.float32


def test_random_numbers_are_reproducible():
    mg.manual_seed(123)
    a = mg.randn(4).numpy()
    mg.manual_seed(123)
    assert np.array_equal(a, mg.randn(4).numpy())
    assert not np.array_equal(a, mg.randn(4).numpy())


def test_numpy_item_and_repr():
    t = mg.tensor([[1.0, 2.0]])
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().shape == (1, 2)
    assert mg.tensor(3.5).item() == 3.5
    assert "requires_grad=True" in repr(mg.tensor([1.0], requires_grad=True))
    # an empty tensor's values are "[]" whatever its shape: PyTorch adds the size where it is not (0,)
    assert (repr(mg.zeros(2, 0)), repr(mg.zeros(0)), repr(mg.zeros(0, 3))) == (
        "tensor([], size=(2, 0))", "tensor([])", "tensor([], size=(0, 3))")
    with pytest.raises(ValueError, match=r"one element, got shape \(1, 2\)"):
        t.item()
    assert float(mg.tensor([2.5])) == 2.5 and int(mg.tensor(7.0)) == 7  # as PyTorch: the one element
    assert float(mg.tensor(3)) == 3.0 and type(float(mg.tensor(3))) is float and int(mg.tensor(2.7)) == 2
    with pytest.raises(TypeError, match="a tensor holds numbers \\(or booleans\\), got str 'abc'"):
        mg.tensor("abc")
    with pytest.raises(ValueError, match="one element"):
        float(t)
    # a 0-d tensor has no length and no rows, as in PyTorch (len gave IndexError, list() a tuple index error)
    for no_rows in (len, list):
        with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
            no_rows(mg.tensor(1.0))
    assert [row.tolist() for row in mg.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]] and list(mg.zeros(0, 2)) == []
    # NumPy sees the values, as with torch (it made an object array of one-element tensors)
    np.testing.assert_array_equal(np.asarray(mg.tensor([1.0, 2.0])), np.array([1, 2], dtype=np.float32))
    assert np.asarray(mg.tensor([1, 2]), dtype=np.float64).dtype == np.float64
    assert mg.tensor([mg.tensor(1.0), mg.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_size_dim_index_and_format_as_in_pytorch():
    # what ported PyTorch code calls: B, T, C = x.size(); d[i:i + n] with i from randint; f"{loss:.4f}"
    x = mg.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.size(0) == 2 and x.dim() == 3
    assert x.transpose(0, 1).contiguous().view(3, 8).shape == (3, 8) and mg.long == mg.int64
    data, start = mg.arange(10), mg.tensor([3, 1])[0]
    assert data[start:start + 2].tolist() == [3, 4] and list(range(mg.tensor(3))) == [0, 1, 2]
    for bad in (mg.tensor([1, 2]), mg.tensor(1.0)):
        with pytest.raises(TypeError, match="only an integer tensor of one element can be an index"):
            data[bad:]
    loss = mg.tensor(1.23456)
    assert f"{loss:.3f}" == "1.235" and "{:.1f}".format(mg.tensor(2)) == "2.0" and f"{loss}" == str(loss.item())
    assert f"{mg.tensor([1.0])}" == repr(mg.tensor([1.0]))  # not 0-d: the repr, as in PyTorch
    with pytest.raises(TypeError):
        f"{mg.tensor([1.0]):.2f}"


def test_randint_and_randperm_are_seeded_and_in_range():
    mg.manual_seed(0)
    ids, low_high, perm = mg.randint(10, (200,)), mg.randint(5, 8, (4, 50)), mg.randperm(7)
    mg.manual_seed(0)
    assert mg.randint(10, (200,)).tolist() == ids.tolist()
    assert ids.dtype == mg.int64 and ids.shape == (200,) and set(ids.tolist()) == set(range(10))
    assert low_high.shape == (4, 50) and set(low_high.tolist()[0] + low_high.tolist()[1]) <= {5, 6, 7}
    assert mg.randint(3, size=(2,)).shape == (2,) and mg.randint(0, 3, size=5).shape == (5,)
    assert perm.dtype == mg.int64 and sorted(perm.tolist()) == list(range(7))


def test_silent_float_errors_silences_overflow_nan_and_division_by_zero():
    import warnings

    from minigrad import backend
    big, inf, one = (mg.tensor([v], dtype=mg.float64).numpy() for v in (1e300, math.inf, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with backend.silent_float_errors():
            assert np.isinf(big * big) and np.isnan(inf - inf) and np.isinf(one / 0)
        with pytest.raises(RuntimeWarning):
            one / 0  # and outside it, NumPy warns as usual


def test_an_in_place_change_names_the_method_called():
    w = mg.ones(2, requires_grad=True)
    for change, name in ((w.zero_, "zero_"), (lambda: w.fill_(1.0), "fill_")):
        with pytest.raises(RuntimeError, match=f"^{name}: in-place change of a tensor that requires grad"):
            change()


def test_only_floats_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, got dtype int64"):
        mg.tensor([1, 2], requires_grad=True)


# ---- backward ----------------------------------------------------------------------
def test_gradients_accumulate_across_backward_calls():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_leaf_gradients_own_their_memory():
    # Add hands one gradient array to both inputs: if x.grad and y.grad shared it, clipping (which
    # scales every .grad in place) would scale it twice
    x, y = mg.tensor([1.0, 1.0], requires_grad=True), mg.tensor([1.0, 1.0], requires_grad=True)
    seed = mg.tensor([1.0, 1.0])
    (x + y).backward(gradient=seed)
    assert mg.optim.clip_grad_norm_([x, y], max_norm=1.0).item() == pytest.approx(2.0)
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5], rtol=1e-5)
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 0.5], rtol=1e-5)
    np.testing.assert_array_equal(seed.numpy(), [1.0, 1.0])  # the caller's gradient is not touched
    a = mg.tensor(np.ones((2, 3)), requires_grad=True)
    a.T.sum().backward()  # the op gradient is a transposed, read-only broadcast view
    assert a.grad.data.flags.c_contiguous and a.grad.data.flags.writeable


def test_a_float32_leaf_keeps_float32_gradients_through_a_float64_detour():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):  # the second backward adds into .grad
        (x.double() * 3).sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_a_shared_input_sums_gradients_over_every_path():
    x = mg.tensor(3.0, requires_grad=True)
    y = x * x + x * 4 + x  # dy/dx = 2x + 5
    y.backward()
    assert x.grad.item() == 11.0


def test_backward_of_non_scalar_needs_grad():
    y = mg.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"non-scalar tensor of shape \(2,\) needs gradient="):
        y.backward()
    y.backward(gradient=mg.tensor([1.0, 10.0]))
    with pytest.raises(ValueError, match=r"grad has shape \(3,\), expected \(2,\)"):
        (mg.tensor([1.0, 2.0], requires_grad=True) * 2).backward(gradient=mg.ones(3))


def test_backward_without_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (mg.tensor([1.0]) * 2).sum().backward()


def test_second_backward_through_a_freed_graph_is_an_error():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4, 8])


def test_graph_memory_is_freed_after_backward():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    ctx = y._ctx
    y.sum().backward()
    assert ctx.freed and ctx._saved == ()


def test_numpy_of_a_tensor_that_requires_grad_is_read_only():
    # a write there would slip past the version counter and spoil the gradient (PyTorch refuses numpy())
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with pytest.raises(ValueError, match="read-only"):
        w.numpy()[0] = 5.0
    loss.backward()
    assert w.grad.tolist() == [2.0, 4.0]
    values = mg.tensor([1.0, 2.0]).numpy()  # needs no gradient: the tensor's own memory, writable (as PyTorch's)
    values[0] = 3.0
    copied = np.array(w)  # a copy, as NumPy asks for one: writable, and not w's memory
    copied[0] = 9.0
    assert w.tolist() == [1.0, 2.0]


def test_a_loss_kept_after_backward_holds_no_activations():
    # losses.append(loss) in a training loop must not keep every step's activations alive
    import gc
    import weakref

    x = mg.randn(4, 3, requires_grad=True)
    hidden = (x * 2).tanh()
    activation = weakref.ref(hidden)
    loss = (hidden * hidden).sum()
    loss.backward()
    del hidden
    gc.collect()
    assert activation() is None  # loss is alive; what it was computed from is not
    assert [name for node, _ in loss.grad_fn.next_functions for name in [node.name()]] == ["MulBackward0"]


@pytest.mark.parametrize("make_loss", [lambda w: w.sum(), lambda w: (w + 1).mean(), lambda w: (w * 3).sum()],
                         ids=["sum", "add then mean", "mul then sum"])
def test_a_second_backward_through_a_freed_graph_raises_whatever_its_ops_saved(make_loss):
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = make_loss(w)
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time, but it was freed"):
        loss.backward()  # (add and sum save nothing: without the check they ran again, doubling w.grad)


def test_a_100000_op_chain_needs_no_recursion():
    x = mg.tensor(1.0, dtype=mg.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    assert x.grad.item() == pytest.approx(1.00001**100_000, rel=1e-9)


def test_retain_grad_keeps_intermediate_gradients():
    x = mg.tensor(2.0, requires_grad=True)
    h = (x * x).retain_grad()
    (h * 3).backward()
    assert h.grad.item() == 3.0 and x.grad.item() == 12.0


# ---- grad mode, frozen inputs, detach ------------------------------------------------
def test_no_grad_records_nothing():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None


def test_nested_no_grad_leaves_grad_mode_off_until_the_outer_block_ends():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        with mg.no_grad():
            pass
        assert not mg.is_grad_enabled()
        y = x * 2
    assert mg.is_grad_enabled() and not y.requires_grad and y._ctx is None


def test_detach_cuts_the_graph_and_shares_memory():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 4])  # d is a constant


def test_frozen_inputs_get_no_gradient_and_no_backward_work():
    weight = mg.randn(4, 3)  # frozen: requires_grad False
    x = mg.randn(2, 4, requires_grad=True)
    y = x @ weight
    assert y._ctx.needs_input_grad == (True, False)
    # the frozen side of a matmul costs nothing: backward computes only dL/dx
    grad_x, grad_weight = ops.linalg.Matmul.backward(y._ctx, np.ones((2, 3), dtype=np.float32))
    assert grad_weight is None and grad_x.shape == (2, 4)
    y.sum().backward()
    assert weight.grad is None and x.grad.shape == (2, 4)


def test_requires_grad_can_be_switched():
    p = mg.randn(3)
    assert p.requires_grad_() is p and p.requires_grad
    p.requires_grad_(False)
    assert not (p * 2).requires_grad


def test_ops_on_frozen_tensors_build_no_graph():
    a, b = mg.randn(3), mg.randn(3)
    assert (a * b + a).exp()._ctx is None


# ---- in-place changes ------------------------------------------------------------------
def test_in_place_change_of_a_saved_tensor_is_detected():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = h.exp()  # Exp saves its output
    z = (h * h).sum()  # Mul saves h
    with mg.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match=r"Mul: a tensor of shape \(2,\) that this op saved for backward was modified in place"):
        z.backward()
    with mg.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="Exp: .* modified in place"):
        y.sum().backward()


def test_in_place_change_of_an_unsaved_tensor_is_fine():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h + 1).sum()  # Add saves nothing
    with mg.no_grad():
        h.zero_()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 2])


def test_in_place_on_a_tensor_that_requires_grad_needs_no_grad():
    p = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="wrap the update in `with mg.no_grad\\(\\):`"):
        p.sub_(1.0)
    with mg.no_grad():
        p.sub_(1.0)
        p[0] = 5.0
        p.copy_(mg.tensor([2.0]))
    assert p.item() == 2.0 and p._version == 3


def test_a_change_inside_the_graph_says_to_compute_a_new_tensor_not_to_use_no_grad():
    h = mg.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"^__setitem__: in-place change of a tensor the graph computed; .*masked_fill"):
        h[0] = 0.0  # under no_grad backward would miss the change: its gradient would still flow


@pytest.mark.parametrize("symbol, apply, expected", [
    ("-=", lambda w, g: w.__isub__(0.25 * g), [0.5, 1.0]), ("+=", lambda w, g: w.__iadd__(g), [3.0, 6.0]),
    ("*=", lambda w, g: w.__imul__(g), [2.0, 8.0]), ("/=", lambda w, g: w.__itruediv__(g), [0.5, 0.5]),
])
def test_augmented_assignment_changes_a_parameter_in_place_under_no_grad(symbol, apply, expected):
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()  # w.grad = 2w = [2, 4]
    same = w
    with mg.no_grad():
        w = apply(w, w.grad)  # what `w -= lr * w.grad` does: Python assigns what __isub__ returns
    assert w is same and w.requires_grad and w.grad is not None  # the same leaf: its grad can be zeroed
    np.testing.assert_allclose(same.numpy(), expected)
    with pytest.raises(RuntimeError, match=f"^{re.escape(symbol)}: in-place change of a tensor that requires grad"):
        apply(w, w.grad)  # grad mode on: the update belongs under no_grad, as in PyTorch


def test_augmented_assignment_outside_any_graph_changes_every_name_for_the_tensor():
    a = mg.ones(3)
    b = a
    a += 1
    a *= mg.tensor([1.0, 2.0, 3.0])
    assert a is b and b.tolist() == [2.0, 4.0, 6.0]


def test_augmented_assignment_inside_a_graph_records_a_new_node_with_the_right_gradient():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    h = x * 2
    h += x * x  # a residual `out += identity`: h = 2x + x^2
    acc = mg.zeros(2, dtype=mg.float64)
    acc += h  # a tensor that needs no grad, plus one that does
    acc.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0])  # d/dx (2x + x^2) = 2 + 2x


def test_a_numpy_scalar_keeps_its_dtype_as_in_pytorch():
    assert mg.tensor(np.float64(2.5)).dtype == mg.float64 and mg.tensor(np.int32(2)).dtype == np.int32
    assert mg.tensor(2.5).dtype == mg.float32  # a Python float takes the default dtype


@pytest.mark.parametrize("view", [
    lambda x: x[:], lambda x: x[1:], lambda x: x.reshape(3, 1), lambda x: x.unsqueeze(0), lambda x: x.T,
    lambda x: x.expand(2, 3), lambda x: x.detach(),
], ids=["slice", "offset-slice", "reshape", "unsqueeze", "T", "expand", "detach"])
def test_an_in_place_change_of_a_views_base_is_detected(view):
    x = mg.tensor([1.0, 1.0, 1.0], dtype=mg.float64)
    w = mg.ones(*view(x).shape, dtype=mg.float64, requires_grad=True)
    y = (w * view(x)).sum()  # Mul saves the view
    x.add_(1.0)  # ... and its values change through the base
    with pytest.raises(RuntimeError, match="Mul: .* modified in place"):
        y.backward()


@pytest.mark.parametrize("view", [lambda x: x[1:], lambda x: x.reshape(3, 1), lambda x: x.detach()],
                         ids=["slice", "reshape", "detach"])
def test_an_in_place_change_through_a_view_is_detected(view):
    x = mg.tensor([1.0, 1.0, 1.0], dtype=mg.float64)
    w = mg.ones(3, dtype=mg.float64, requires_grad=True)
    y = (w * x).sum()  # Mul saves x
    view(x).mul_(2.0)
    with pytest.raises(RuntimeError, match="Mul: .* modified in place"):
        y.backward()


def test_an_expanded_view_cannot_change_in_place():
    with pytest.raises(RuntimeError, match="add_: this tensor is an expanded view"):
        mg.ones(3).expand(2, 3).add_(1.0)


def test_an_optimizer_step_between_forward_and_backward_is_caught_through_views():
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
    z = (x.reshape(3) * x.reshape(3)).sum()
    with mg.no_grad():
        x.mul_(10.0)  # what an optimizer step does to a parameter
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_changing_an_index_after_the_forward_does_not_move_the_gradient():
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
    index = mg.tensor([0, 0])
    y = x[index]
    index[0] = 2  # getitem kept its own copy of the index
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 0, 0])
    positions = mg.tensor([[0], [1]])
    g = mg.ones(2, 2, dtype=mg.float64, requires_grad=True).gather(1, positions)
    positions[0, 0] = 1  # gather saves its index for backward: the change is caught
    with pytest.raises(RuntimeError, match="Gather: .* modified in place"):
        g.sum().backward()


def test_an_input_that_no_gradient_reaches_is_skipped():
    class FirstOnly(Function):  # a backward may return None for an input that requires grad
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad, None

    a = mg.tensor([1.0], requires_grad=True)
    b = mg.tensor([2.0], requires_grad=True)
    FirstOnly.apply(a * 1, b * 1).sum().backward()
    assert a.grad.item() == 1.0 and b.grad is None


# ---- what a Function's backward returns: one gradient per input, each of its shape ----------
def custom_op(name, backward, inputs=1):
    """A learner's op: forward doubles x (plus y for two inputs), backward as given."""
    forward = (lambda ctx, x: x * 2) if inputs == 1 else (lambda ctx, x, y: x * 2 + y)
    return type(name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


@pytest.mark.parametrize("backward, shape", [
    (lambda ctx, grad: (grad * 2).T, r"\(4, 3\)"),  # transposed
    (lambda ctx, grad: (grad * 2).sum(axis=0), r"\(4,\)"),  # summed without keepdims
    (lambda ctx, grad: (grad * 2).sum(axis=0, keepdims=True), r"\(1, 4\)"),  # summed with keepdims
    (lambda ctx, grad: (grad * 2)[..., None], r"\(3, 4, 1\)"),  # an extra trailing dim
])
def test_a_gradient_of_the_wrong_shape_names_the_op_input_and_shapes(backward, shape):
    x = mg.randn(3, 4, requires_grad=True)
    y = custom_op("MyOp", backward).apply(x)
    with pytest.raises(RuntimeError, match=rf"MyOp\.backward returned a gradient of shape {shape} for input 0, "
                                           r"which has shape \(3, 4\): return one gradient per input"):
        y.sum().backward()
    assert x.grad is None


def test_a_gradient_no_broadcast_explains_gets_the_same_message():
    x = mg.randn(3, 1, requires_grad=True)
    y = custom_op("MyOp", lambda ctx, grad: grad.reshape(-1)).apply(x)  # (3,): fewer dims than x, not a NumPy error
    with pytest.raises(RuntimeError, match=r"MyOp\.backward returned a gradient of shape \(3,\) for input 0, "
                                           r"which has shape \(3, 1\)"):
        y.sum().backward()


def test_a_wrong_shape_is_caught_at_the_op_not_where_paths_meet():
    x = mg.randn(3, 4, requires_grad=True)
    wrong = custom_op("MyOp", lambda ctx, grad: (grad, grad.T), inputs=2)
    with pytest.raises(RuntimeError, match=r"MyOp\.backward .* shape \(4, 3\) for input 1, which has shape \(3, 4\)"):
        (wrong.apply(x, x) + x).sum().backward()


def test_too_few_gradients_names_the_op():
    x = mg.randn(3, 4, requires_grad=True)
    y = mg.randn(3, 4, requires_grad=True)
    one = custom_op("MyOp", lambda ctx, grad: grad * 2, inputs=2)
    with pytest.raises(RuntimeError, match=r"MyOp\.backward returned 1 gradient\(s\), but MyOp has 2 input\(s\)"):
        one.apply(x, y).sum().backward()


def test_extra_gradients_are_an_error_unless_they_are_none():
    x = mg.randn(3, requires_grad=True)
    extra_none = custom_op("MyOp", lambda ctx, grad: (grad * 2, None))  # ignored, as in PyTorch
    extra_none.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])
    extra = custom_op("MyOp", lambda ctx, grad: (grad * 2, grad))
    with pytest.raises(RuntimeError, match=r"MyOp\.backward returned 2 gradient\(s\), but MyOp has 1 input"):
        extra.apply(x).sum().backward()


def test_a_broadcast_gradient_is_summed_back_before_the_shape_check():
    a = mg.randn(3, 1, dtype=mg.float64, requires_grad=True)
    b = mg.randn(4, dtype=mg.float64, requires_grad=True)
    add = custom_op("BroadcastingAdd", lambda ctx, grad: (grad, grad), inputs=2)  # grad is (3, 4) for both
    add.apply(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(4, 3.0))


def test_an_input_that_needs_no_gradient_is_not_checked():
    x = mg.randn(3, 4, requires_grad=True)
    frozen = mg.randn(3, 4)
    anything = custom_op("MyOp", lambda ctx, grad: (grad * 2, grad.T), inputs=2)
    anything.apply(x, frozen).sum().backward()
    assert x.grad.shape == (3, 4)


def test_every_op_returns_one_gradient_per_input():
    x = mg.randn(2, 3, dtype=mg.float64, requires_grad=True)
    x.gather(1, mg.tensor([[2, 0], [1, 1]])).sum().backward()  # Gather: (x, index) -> (full, None)
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 1], [0, 2, 0]])


# ---- mixing devices and dtypes ---------------------------------------------------------
def test_mixing_float_dtypes_is_an_error():
    with pytest.raises(TypeError, match=r"Add: inputs mix dtypes \['float32', 'float64'\]"):
        mg.ones(2) + mg.ones(2, dtype=mg.float64)


@pytest.mark.parametrize("loss", [
    lambda x: x.max(), lambda x: x.amax(0).sum(), lambda x: x.min(), lambda x: ops.maximum(x, x.detach()).sum(),
    lambda x: (2 ** x).sum(), lambda x: mg.nn.functional.softplus(x).sum(),
    lambda x: mg.nn.functional.binary_cross_entropy_with_logits(x, mg.ones(3)),
], ids=["max", "amax", "min", "maximum", "number ** x", "softplus", "bce with logits"])
def test_float32_gradients_stay_float32(loss):
    # ops whose backward mixes in booleans or Python numbers compute in float64 along the way; the
    # gradient that flows on, and what lands in .grad after accumulating, is still float32, as in PyTorch
    x = mg.tensor([1.0, 3.0, 3.0], requires_grad=True)
    seen = []
    for _ in range(2):
        middle = x * 1
        middle.register_hook(lambda grad: seen.append(grad.dtype))  # what flows on from the op, mid-graph
        loss(middle).backward()
    assert seen == [mg.float32, mg.float32]
    assert x.grad.dtype == mg.float32 and (x.grad * x).dtype == mg.float32
    assert mg.autograd.grad(loss(x), x)[0].dtype == mg.float32


class Float64Backward(Function):
    """x * 2, whose backward hands back float64 (as NumPy's promotion can, mixing in a Python scalar array)."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return (grad * 2).astype(np.float64)


def test_an_ops_float64_gradient_is_cast_to_its_inputs_dtype_before_it_flows_on():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    middle = x * 1
    seen = []
    middle.register_hook(lambda grad: seen.append(grad.dtype))
    Float64Backward.apply(middle).sum().backward()
    assert seen == [mg.float32] and x.grad.dtype == mg.float32 and x.grad.tolist() == [2.0, 2.0]


def test_a_float64_gradient_for_a_float32_output_is_cast():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):
        (x * 2).backward(mg.tensor([1.0, 1.0], dtype=mg.float64))
    assert x.grad.dtype == mg.float32 and x.grad.tolist() == [4.0, 4.0]


def test_integer_tensors_mix_with_floats_as_constants():
    integers = mg.tensor([1, 2])
    assert (mg.ones(2) * integers).dtype == mg.float32
    assert (integers * 0.5).dtype == mg.float32  # a Python float means the default dtype, as in PyTorch
    assert (integers / 2).dtype == mg.float32 and (integers / integers).dtype == mg.float32
    assert (integers * 2).dtype == mg.int64  # integers stay integers
    assert mg.cat([mg.ones(2, dtype=mg.float64), integers]).dtype == mg.float64


def test_numbers_keep_float32_whatever_made_them():
    # NumPy scalars are numbers, as in PyTorch: x / np.sqrt(d) stays float32, and np.float64(2) * x is
    # a tensor (it was an object array of one-element tensors)
    x, integers = mg.ones(2, requires_grad=True), mg.tensor([1, 2])
    for y in (x / np.sqrt(4.0), np.float64(2) * x, x + np.int64(1), np.float32(2) - x, integers * np.float64(0.5)):
        assert isinstance(y, mg.Tensor) and y.dtype == mg.float32
    assert (np.int64(2) * integers).dtype == mg.int64
    (np.float64(3) * x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    # where of two numbers, and a clamp of integers to a float bound, give the default float32
    assert mg.where(x > 0, 1.0, 0.0).dtype == mg.float32 and mg.where(x > 0, 1, 0.5).dtype == mg.float32
    assert mg.where(x > 0, 1, 0).dtype == mg.int64
    assert integers.clamp(0.5, 1.5).dtype == mg.float32 and x.clamp(np.float64(0.5)).dtype == mg.float32


def test_real_valued_ops_of_integers_give_float32():
    # PyTorch's default dtype, not NumPy's float64 (which then refused to mix with a float32 model)
    integers = mg.tensor([1, 2, 4])
    for y in (integers.exp(), integers.log(), integers.sqrt(), integers.sin(), integers.cos(), integers.tanh(),
              integers.sigmoid(), mg.nn.functional.gelu(integers), integers.softmax(-1), integers.log_softmax(-1),
              integers.mean(), (integers > 1).mean(), integers.var(), integers @ mg.ones(3),
              mg.nn.functional.linear(integers, mg.ones(2, 3), mg.ones(2))):
        assert y.dtype == mg.float32
    np.testing.assert_allclose(integers.softmax(-1).numpy(), np.exp([1, 2, 4]) / np.exp([1, 2, 4]).sum(), rtol=1e-6)
    assert integers.relu().dtype == mg.int64 and (integers @ integers).dtype == mg.int64


def test_broadcast_error_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"Mul: .*\(2,3\) \(4,\)"):
        mg.ones(2, 3) * mg.ones(4)


def test_unknown_device_and_missing_cuda():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        mg.zeros(2, device="tpu")
    if not mg.cuda_is_available():
        with pytest.raises(RuntimeError, match="pip install"):
            mg.zeros(2).to("cuda")
    # one GPU here: cuda:0 is cuda, and another numbered device is an unknown device, not an unknown dtype
    for movable in (mg.zeros(2), mg.nn.Linear(2, 2)):
        with pytest.raises(ValueError, match=r"unknown device 'cuda:1'; expected one of \('cpu', 'cuda'\)"):
            movable.to("cuda:1")


@pytest.mark.parametrize("call", [
    lambda x: x.sum(2), lambda x: x.softmax(-3), lambda x: mg.cat([x], 5), lambda x: x.unsqueeze(4),
    lambda x: x.squeeze(7), lambda x: mg.stack([x, x], 4), lambda x: x.transpose(0, 2),
    lambda x: x.gather(2, mg.zeros(2, 3).long()),
], ids=["sum", "softmax", "cat", "unsqueeze", "squeeze", "stack", "transpose", "gather"])
def test_dims_out_of_range(call):
    with pytest.raises(IndexError, match=r"dim -?\d is out of range for a tensor with [23] dims"):
        call(mg.ones(2, 3))


def test_dims_may_be_numpy_integers():
    assert mg.ones(2, 3).sum(np.int64(1)).shape == (2,)
    assert mg.ones(2, 3).softmax(np.int64(-1)).shape == (2, 3)


@pytest.mark.parametrize("call, message", [
    (lambda: mg.ones(3).expand(-1, 3), "expand: cannot expand shape"),
    (lambda: mg.ones(2, 3).expand(3), "expand: cannot expand shape"),
    (lambda: mg.ones(3).transpose(), "transpose: a tensor of shape \\(3,\\) has no two dims"),
    (lambda: mg.cat([mg.tensor(1.0)]), "cat: zero-dimensional tensors cannot be joined"),
])
def test_shape_mistakes_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_permute_needs_a_full_order():
    with pytest.raises(ValueError, match=r"permute: \(0, 0\) is not an ordering"):
        mg.ones(2, 3).permute(0, 0)


# ---- the shared unbroadcast helper --------------------------------------------------
def test_unbroadcast_sums_added_and_stretched_dims():
    grad = np.ones((2, 3, 4))
    assert unbroadcast(grad, (3, 1)).shape == (3, 1) and unbroadcast(grad, (3, 1))[0, 0] == 8
    assert unbroadcast(grad, (4,)).tolist() == [6, 6, 6, 6]
    assert unbroadcast(grad, ()).item() == 24
    assert unbroadcast(grad, (2, 3, 4)) is grad


# ---- on the GPU the same engine runs on CuPy -----------------------------------------
def test_same_results_on_every_device(device):
    mg.manual_seed(0)
    a = mg.tensor(np.linspace(-1, 1, 12).reshape(3, 4), device=device, requires_grad=True)
    b = mg.tensor(np.linspace(0, 1, 4), device=device, requires_grad=True)
    loss = ((a * b).tanh() @ b).exp().mean()
    loss.backward()
    assert a.device == device and a.grad.device == device
    cpu_a = mg.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    cpu_b = mg.tensor(np.linspace(0, 1, 4), requires_grad=True)
    ((cpu_a * cpu_b).tanh() @ cpu_b).exp().mean().backward()
    np.testing.assert_allclose(a.grad.numpy(), cpu_a.grad.numpy(), rtol=1e-5)


class PlantedSquare(Function):
    """x^2 with a bug planted in its backward for gradcheck to find: `plant` turns the true
    gradient 2 x g into a wrong one (each test sets its own with monkeypatch)."""

    plant = staticmethod(lambda right, grad: right)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return PlantedSquare.plant(2 * x * grad, grad)


def off_by_one_at_element_5(right, grad):
    right.reshape(-1)[5] += grad.reshape(-1)[5]  # d(out_5)/d(x_5) off by one, every other element right
    return right


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_names_the_wrong_element_on_every_device(device, fast, monkeypatch):
    monkeypatch.setattr(PlantedSquare, "plant", staticmethod(off_by_one_at_element_5))
    x = mg.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=mg.float64, device=device, requires_grad=True)
    result = mg.gradcheck(lambda x: x * x, [x], fast=fast)
    assert isinstance(result.max_abs_error, float) and result.max_abs_error < 1e-6
    with pytest.raises(mg.GradcheckError, match=r"input 0 \(shape \(3, 4\)\), " +
                       (r"random direction" if fast else r"element \(1, 1\), output element \(1, 1\)")):
        mg.gradcheck(PlantedSquare.apply, [x], fast=fast)


class NaNAtFirstElementWrongBackward(Function):
    """2x, except NaN at element 0, with a backward off by 50x everywhere."""

    @staticmethod
    def forward(ctx, x):
        out = 2 * x
        out.reshape(-1)[0] = np.nan
        return out

    @staticmethod
    def backward(ctx, grad):
        return 100 * grad


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_fails_where_the_function_is_not_finite(fast):
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="numeric .*nan"):  # one NaN must not hide the rest
        mg.gradcheck(NaNAtFirstElementWrongBackward.apply, [x], fast=fast)


def test_in_place_writes_take_values_from_any_device(device):
    target = mg.zeros(2, 3, device=device)
    target[0] = mg.tensor([1.0, 2.0, 3.0])  # from the CPU
    target.copy_(target + mg.ones(2, 3, device=device))
    assert target.device == device and target.tolist() == [[2.0, 3.0, 4.0], [1.0, 1.0, 1.0]]
    target[mg.tensor([1])] = np.float32(7.0)
    assert target.tolist()[1] == [7.0, 7.0, 7.0]


# ---- the architecture rule ------------------------------------------------------------
def test_only_backend_imports_numpy_or_cupy():
    root = pathlib.Path(__file__).resolve().parents[1]
    pattern = re.compile(r"^\s*(import (numpy|cupy)|from (numpy|cupy)[ .])", re.MULTILINE)
    offenders = [str(path.relative_to(root)) for folder in ("minigrad", "models")
                 for path in (root / folder).rglob("*.py")
                 if pattern.search(path.read_text()) and path.relative_to(root).as_posix() != "minigrad/backend.py"]
    assert offenders == []


def test_library_never_imports_torch():
    root = pathlib.Path(__file__).resolve().parents[1]
    pattern = re.compile(r"^\s*(import torch|from torch)", re.MULTILINE)
    assert [p for folder in ("minigrad", "models") for p in (root / folder).rglob("*.py")
            if pattern.search(p.read_text())] == []


def test_the_engine_never_imports_the_models_built_on_it():
    """The layers of the design: minigrad knows nothing of models (the `minigrad` command lives in models/)."""
    root = pathlib.Path(__file__).resolve().parents[1]
    pattern = re.compile(r"^\s*(import models|from models)", re.MULTILINE)
    assert [str(p.relative_to(root)) for p in (root / "minigrad").rglob("*.py") if pattern.search(p.read_text())] == []


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("factor", [-1.0, 0.5])  # the sign flipped, or half the size
def test_gradcheck_fails_a_backward_smaller_than_the_truth_or_of_the_wrong_sign(fast, factor, monkeypatch):
    monkeypatch.setattr(PlantedSquare, "plant", staticmethod(lambda right, grad: factor * right))
    x = mg.tensor([[0.5, -1.0], [1.5, 2.0]], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="gradient mismatch"):
        mg.gradcheck(PlantedSquare.apply, [x], fast=fast)


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_leaves_its_inputs_as_they_were(fast):
    values = np.linspace(-1, 1, 6).reshape(2, 3)
    x = mg.tensor(values, dtype=mg.float64, requires_grad=True)
    mg.gradcheck(lambda x: (x * x).sum(), [x], fast=fast)
    np.testing.assert_array_equal(x.numpy(), values)  # each nudge is undone exactly


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_passes_a_correct_op_on_inputs_a_graph_computed(fast):
    # mg.randn(...) * 0.1 is no leaf: it would get no .grad, and backward would run on into the * 0.1
    x = mg.randn(3, dtype=mg.float64, requires_grad=True) * 0.1
    assert mg.gradcheck(lambda t: (t ** 2).sum(), [x], fast=fast)
    assert mg.gradcheck(lambda t: t.tanh() * 3, [x], fast=fast)  # twice: the input's own graph is intact
    leaf = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    leaf.grad = mg.tensor([5.0, 5.0], dtype=mg.float64)
    mg.gradcheck(lambda t: t * t, [leaf], fast=fast)
    assert leaf.grad.tolist() == [5.0, 5.0]  # the caller's gradient is not touched


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_touches_no_gradient_of_anything_fn_reads(fast):
    # checked between backward() and optimizer.step(), it must leave every .grad as it found it
    layer = mg.nn.Linear(3, 2).to(mg.float64)
    x = mg.randn(4, 3, dtype=mg.float64, requires_grad=True)
    layer(x).sum().backward()
    before = [t.grad.tolist() for t in (layer.weight, layer.bias, x)]
    mg.gradcheck(lambda weight: layer(x), [layer.weight], fast=fast)
    mg.gradcheck(lambda inputs: layer(inputs), [x], fast=fast)
    assert [t.grad.tolist() for t in (layer.weight, layer.bias, x)] == before


def test_gradcheck_takes_pytorchs_forms_one_tensor_tuples_of_outputs_and_raise_exception():
    x = mg.tensor([0.3, -1.2, 2.0], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(mg.tanh, x) and mg.autograd.gradcheck(mg.tanh, x)  # one tensor, not a list
    assert mg.gradcheck(lambda t: t.topk(2), [x])  # (values, indices): the integer indices have no gradient
    at_zero = mg.tensor([0.0, 1.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"element \(0,\), output 1, element \(0,\): analytic .* 0 vs numeric"):
        mg.gradcheck(lambda t: (t.sin(), t.relu()), [at_zero])  # relu has no slope at 0: half each side
    assert mg.gradcheck(lambda t: t.relu(), [at_zero], raise_exception=False) is False
    assert mg.gradcheck(lambda t: t * 2, [mg.tensor([1.0], requires_grad=True)], raise_exception=False) is False  # f32
    with pytest.raises(ValueError, match="fn returns no floating-point tensor"):
        mg.gradcheck(lambda t: t.argmax(), [x])


def test_gradcheck_refuses_a_float64_copy_that_fn_never_reads():
    layer, x = mg.nn.Linear(3, 2), mg.randn(4, 3)  # float32: upcast=True checks a copy of the weight
    with pytest.raises(mg.GradcheckError, match="input 0 is checked through a float64 copy .* fn never uses that copy"):
        mg.gradcheck(lambda weight: layer(x), [layer.weight], upcast=True)  # both Jacobians 0: checked nothing
    assert mg.gradcheck(lambda weight: weight.tanh(), [layer.weight], upcast=True)  # a copy fn does read


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_checks_a_leaf_that_fn_reads_from_outside(fast, monkeypatch):
    # `mg.gradcheck(lambda w: layer(x), [layer.weight])`: fn ignores its argument and reads the
    # parameter itself, so gradcheck must nudge that very tensor, not a copy (which would check nothing)
    monkeypatch.setattr(PlantedSquare, "plant", staticmethod(lambda right, grad: 3 * right))
    weight = mg.tensor([0.5, -1.5], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="gradient mismatch"):
        mg.gradcheck(lambda _: PlantedSquare.apply(weight), [weight], fast=fast)


class SlightlyOffForA(Mul):
    """a * b, with a's gradient 1e-7 too big: inside the tolerance, but the largest error."""

    @staticmethod
    def backward(ctx, grad):
        grad_a, grad_b = Mul.backward(ctx, grad)
        return grad_a + 1e-7, grad_b


def test_gradcheck_reports_the_largest_error_over_every_input():
    a, b = (mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True) for _ in range(2))
    result = mg.gradcheck(SlightlyOffForA.apply, [a, b])
    assert result.max_abs_error == pytest.approx(1e-7, rel=0.01)  # input 0's, though input 1 is checked last


def test_gradcheck_with_nothing_to_check_says_so():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64)  # requires_grad=False
    with pytest.raises(ValueError, match="no input has requires_grad=True"):
        mg.gradcheck(lambda x: x * 2, [x])


# ---- mg.autograd.grad: gradients as values ---------------------------------------------------------
def test_autograd_grad_returns_the_gradients_asked_for_and_touches_no_grad():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    w = mg.tensor([3.0, -1.0], dtype=mg.float64, requires_grad=True)
    h = x * w
    loss = (h * h).sum()  # d/dh = 2h = [6, -4]; d/dx = 2h w = [18, 4]
    dx, dh = mg.autograd.grad(loss, [x, h], retain_graph=True)
    assert dx.tolist() == [18.0, 4.0] and dh.tolist() == [6.0, -4.0]
    assert x.grad is None and w.grad is None  # unlike backward(), nothing is accumulated anywhere
    (dw,) = mg.autograd.grad(loss, w)  # the graph was kept: it can be walked again, this time freed
    assert dw.tolist() == [6.0, -8.0]  # 2h x
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_autograd_grad_sums_over_outputs_takes_grad_outputs_and_names_an_unused_input():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    w = mg.tensor([5.0], dtype=mg.float64, requires_grad=True)
    (dx,) = mg.autograd.grad([(x * 2).sum(), (x * x).sum()], x)  # 2 + 2x
    assert dx.tolist() == [4.0, 6.0]
    (dx,) = mg.autograd.grad(x * 3, x, grad_outputs=mg.tensor([1.0, -1.0], dtype=mg.float64))
    assert dx.tolist() == [3.0, -3.0]
    with pytest.raises(RuntimeError, match="input 1 is not used to compute the outputs"):
        mg.autograd.grad((x * 2).sum(), [x, w])
    assert mg.autograd.grad((x * 2).sum(), [x, w], allow_unused=True)[1] is None
    with pytest.raises(NotImplementedError, match="no second derivative"):
        mg.autograd.grad((x * x).sum(), x, create_graph=True)


def test_autograd_grad_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    values = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]])
    x, tx = mg.tensor(values, requires_grad=True), torch.tensor(values, dtype=torch.float32, requires_grad=True)
    hidden, t_hidden = x.tanh(), tx.tanh()
    ours = mg.autograd.grad(hidden.softmax(-1)[:, 0].sum(), [x, hidden])
    theirs = torch.autograd.grad(t_hidden.softmax(-1)[:, 0].sum(), [tx, t_hidden])
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-5, atol=1e-7)


# ---- mistakes an error-contract audit made: each is named, with what was expected ------------------
@pytest.mark.parametrize("mistake, error, message", [
    (lambda: mg.ones(2, 3, 4) @ mg.ones(5, 4, 2), ValueError, r"batch dims of \(2, 3, 4\) and \(5, 4, 2\), \(2,\) and \(5,\)"),
    (lambda: mg.nn.functional.linear(mg.ones(2, 3), mg.ones(4, 3), mg.ones(5)), ValueError,
     r"linear: bias of shape \(5,\); expected \(4,\)"),
    (lambda: mg.cat(mg.ones(2, 3)), TypeError, r"cat: expected a list \(or tuple\) of tensors, got one tensor"),
    (lambda: mg.stack(mg.ones(2)), TypeError, r"stack: expected a list"),
    (lambda: mg.ones(2).to("gpu"), TypeError, r"unknown device or dtype 'gpu'; expected a device \('cpu', 'cuda'\)"),
    (lambda: mg.optim.SGD([mg.zeros(1, requires_grad=True)] * 2, lr=1.0), ValueError, "parameter 1 of a group is listed twice"),
    (lambda: mg.optim.SGD([mg.randn(2, 2, requires_grad=True) * 0.1], lr=1.0), ValueError,
     r"can't optimize a tensor an op made \(MulBackward0\)"),
    (lambda: mg.optim.Adam(mg.nn.Linear(2, 2)), TypeError, r"got a Linear; pass its parameters"),
    (lambda: mg.save({"__metadata__": mg.ones(1)}, "unused.safetensors"), ValueError, "'__metadata__' is the name"),
    (lambda: mg.chunk(mg.ones(4), 0), ValueError, "chunk: chunks must be a whole number >= 1, got 0"),
    (lambda: mg.arange(0, 5, 0), ValueError, "arange: step must be nonzero"),
    (lambda: mg.optim.Adam([mg.nn.Parameter(mg.zeros(1))], betas=(0.9,)), ValueError, r"betas must be a pair"),
    (lambda: mg.optim.lr_scheduler.StepLR(mg.optim.SGD([mg.nn.Parameter(mg.zeros(1))], lr=1.0), 0), ValueError,
     "step_size must be a positive integer"),
    (lambda: mg.nn.LayerNorm(8.0), TypeError, "normalized_shape must be a whole number or a sequence of them"),
    (lambda: mg.nn.Linear(2, 2).load_state_dict("w.safetensors"), TypeError,
     r"a path: load it first, model.load_state_dict\(mg.load\(path\)\)"),
    (lambda: mg.nn.Linear(2, 2).load_state_dict({"model": mg.nn.Linear(2, 2).state_dict()}), RuntimeError,
     r"a whole checkpoint\? pass its model's part, e.g. checkpoint\['model'\]"),
    (lambda: mg.nn.Linear(2, 2).load_state_dict({"weight": [[1.0, 2.0], [3.0, 4.0]], "bias": mg.zeros(2)}), RuntimeError,
     "weight: expected a tensor, got list"),
    (lambda: next(iter(mg.utils.data.DataLoader([([1, 2, 3], 0), ([4, 5], 1)], batch_size=2))), ValueError,
     r"sequences of different lengths \(\[2, 3\]\).*pad them"),
    (lambda: mg.tensor([[1, 2], [3]]), ValueError, r"the items of data have lengths \[2, 1\], not one: pad"),
    (lambda: mg.tensor([[[1], [2]], [[1], [2, 3]]]), ValueError, r"the items of data\[1\] have lengths \[1, 2\]"),
    (lambda: mg.randint(0, 5), TypeError, r"size must be a tuple, as in randint\(0, 5, \(3,\)\)"),
    (lambda: mg.randint(5, 5, (3,)), ValueError, r"low \(5\) must be below high \(5\)"),
    (lambda: mg.randint(5, 3), TypeError, r"as in randint\(5, \(3,\)\)"),  # high 5, size 3, most likely
    (lambda: mg.tensor(3.0).argmax(5), IndexError, "dim 5 is out of range for a tensor with 0 dims"),
    (lambda: mg.ones(2, 3).reshape(4, -1), RuntimeError, r"shape \(4, -1\) is invalid for a tensor of 6 elements"),
    (lambda: mg.ones(2, 3).argmax(dim=5), IndexError, "dim 5 is out of range for a tensor with 2 dims"),
    (lambda: mg.ones(0).argmax(), ValueError, r"argmax: the tensor of shape \(0,\) has no elements"),
    (lambda: mg.ones(2, 0).argmin(1), ValueError, r"argmin: dim 1 of the input's shape \(2, 0\) has size 0"),
    (lambda: mg.ones(2, 3).size(5), IndexError, "dim 5 is out of range"),
    (lambda: mg.tensor(1.0).size(0), IndexError, r"a 0-d tensor has no dim 0"),
])
def test_common_mistakes_are_named(mistake, error, message):
    with pytest.raises(error, match=message):
        mistake()


def test_a_list_of_tensors_that_require_grad_is_refused_rather_than_cut_from_the_graph():
    a = mg.tensor(1.0, requires_grad=True)
    with pytest.raises(TypeError, match=r"item 0 is a tensor that requires grad.*mg.stack\(items\) keeps"):
        mg.tensor([a * 2, a * 3])
    assert mg.tensor([a.detach() * 2, mg.tensor(3.0)]).tolist() == [2.0, 3.0]  # values only, on purpose
    mg.stack([a * 2, a * 3]).sum().backward()
    assert a.grad.item() == 5.0


def test_setting_requires_grad_has_the_checks_of_requires_grad_():
    ids = mg.arange(3)
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        ids.requires_grad = True
    assert not ids.requires_grad
    a = mg.ones(2, requires_grad=True)
    h = a * 2
    with pytest.raises(RuntimeError, match=r"only be switched off on a leaf.*computed by MulBackward0.*x.detach\(\)"):
        h.requires_grad = False
    h.sum().backward()  # the graph is whole
    assert a.grad.tolist() == [2.0, 2.0]
    a.requires_grad = False  # a leaf may
    assert not a.requires_grad and (a * 2).grad_fn is None


def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"the folder {tmp_path / 'nope'} does not exist; create it first"):
        mg.save({"w": mg.ones(2)}, tmp_path / "nope" / "w.safetensors")
    assert not (tmp_path / "nope").exists()


def test_a_bfloat16_file_is_named_as_such(tmp_path):
    """Hugging Face checkpoints are often bfloat16, which NumPy cannot hold: say so, and what to do."""
    import json
    import struct
    header = json.dumps({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}).encode()
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    with pytest.raises(ValueError, match="a dtype NumPy cannot hold .bfloat16 or float8.*convert the file to float32"):
        mg.load(path)
