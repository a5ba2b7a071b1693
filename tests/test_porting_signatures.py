"""PyTorch code ported as written: positional arguments in PyTorch's order, dtypes kept where
PyTorch keeps them, and the names PyTorch programs call (a porting review found each of these
different). Expected values are worked out by hand; where torch is installed, they are also
compared with it."""
import inspect
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn import functional as F


def test_a_causal_mask_built_from_bool_stays_bool_and_masks():
    keep = mg.tril(mg.ones(3, 3, dtype=mg.bool))
    assert keep.dtype == mg.bool and mg.triu(keep).dtype == mg.bool and mg.diag(mg.tensor([True, False])).dtype == mg.bool
    scores = mg.zeros(3, 3).masked_fill(~keep, float("-inf"))
    assert scores.dtype == mg.float32 and np.isneginf(scores.numpy()[0, 1]) and scores.numpy()[1, 0] == 0
    # masked_fill keeps the tensor's dtype: a number value is converted to it, as in PyTorch
    filled = mg.tensor([[1, 2], [3, 4]]).masked_fill(mg.tensor([[True, False], [False, False]]), 0.7)
    assert filled.dtype == mg.int64 and filled.tolist() == [[0, 2], [3, 4]]
    assert mg.ones(2, dtype=mg.bool).masked_fill(mg.tensor([True, False]), 0).tolist() == [False, True]


def test_any_and_all_are_bool_tensors_with_dims():
    x = mg.tensor([[True, False], [False, False]])
    assert x.any().item() is True and x.all().item() is False
    assert x.any(dim=1).tolist() == [True, False] and mg.all(x, 0, keepdim=True).tolist() == [[False, False]]
    assert (x == x).all().item() and bool(x.any())
    assert mg.any(mg.tensor([0.0, 2.0])).item()


def test_backward_takes_pytorchs_gradient_keyword():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward(gradient=mg.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [3.0, 30.0]


def test_sgd_takes_weight_decay_before_nesterov_as_pytorch():
    """SGD(params, lr, momentum, dampening, weight_decay, nesterov): one step on w^2 from w = 1 with
    lr 0.1, weight decay 0.5: g = 2 + 0.5 = 2.5, w = 1 - 0.25."""
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], 0.1, 0.0, 0.0, 0.5)
    (w * w).sum().backward()
    opt.step()
    assert w.item() == pytest.approx(0.75)


def test_scaled_dot_product_attention_takes_dropout_before_is_causal():
    q = k = v = mg.randn(1, 3, 4)
    mg.manual_seed(0)
    positional = F.scaled_dot_product_attention(q, k, v, None, 0.0, True)
    assert np.allclose(positional.numpy(), F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy())
    assert positional.numpy()[0, 0].tolist() == pytest.approx(v.numpy()[0, 0].tolist())  # the first query sees itself


def test_module_apply_visits_children_before_their_parent():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    seen = []
    model.apply(lambda module: seen.append(type(module).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]


def test_schedulers_stepped_one_after_another_warn_and_chained_ones_multiply():
    """Each schedule is a function of its step: stepped back to back on one optimizer, the second
    would overwrite the first, so it warns; ChainedScheduler multiplies them (0.9^t, and 0.1 from t = 2)."""
    w = mg.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    first, second = optim.lr_scheduler.ExponentialLR(opt, 0.9), optim.lr_scheduler.MultiStepLR(opt, [2], 0.1)
    with pytest.warns(UserWarning, match="ChainedScheduler"):
        first.step()
        second.step()
        first.step()
    opt = optim.SGD([w], lr=1.0)
    chained = optim.lr_scheduler.ChainedScheduler([optim.lr_scheduler.ExponentialLR(opt, 0.9),
                                                   optim.lr_scheduler.MultiStepLR(opt, [2], 0.1)])
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.step()
            chained.step()
            lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.9, 0.081, 0.0729])


def test_against_pytorch():
    """The same calls, in PyTorch's positional order, give PyTorch's numbers."""
    torch = pytest.importorskip("torch")
    values = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 9.0]])
    ours, theirs = mg.tensor(values, dtype=mg.float64), torch.tensor(values)
    for args in [(1,), (1, False), (1, True, True), (0, False, True)]:
        np.testing.assert_allclose(ours.std(*args).numpy(), theirs.std(*args).numpy())
        np.testing.assert_allclose(ours.var(*args).numpy(), theirs.var(*args).numpy())
    np.testing.assert_allclose(ours.var(1, correction=0).numpy(), theirs.var(1, correction=0).numpy())
    assert mg.tril(mg.ones(3, 3, dtype=mg.bool)).tolist() == torch.tril(torch.ones(3, 3, dtype=torch.bool)).tolist()
    ours_w, theirs_w = mg.tensor([1.0, -2.0], requires_grad=True), torch.tensor([1.0, -2.0], requires_grad=True)
    ours_opt, theirs_opt = optim.SGD([ours_w], 0.1, 0.9, 0, 0.01), torch.optim.SGD([theirs_w], 0.1, 0.9, 0, 0.01)
    for _ in range(3):
        for w, opt in ((ours_w, ours_opt), (theirs_w, theirs_opt)):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
    np.testing.assert_allclose(ours_w.detach().numpy(), theirs_w.detach().numpy(), rtol=1e-6)


# ---- names PyTorch programs call -------------------------------------------------------------------
def test_shape_helpers_are_views_and_permutes_with_pytorchs_results():
    x = mg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    assert x.movedim(0, -1).shape == (3, 4, 2) and x.movedim((0, 1), (2, 0)).shape == (3, 4, 2)
    assert x.movedim((0, 1), (2, 0)).numpy()[1, 2, 0] == x.numpy()[0, 1, 2]
    assert x.narrow(2, 1, 2).numpy().tolist() == x.numpy()[:, :, 1:3].tolist()
    assert x.narrow(-1, -3, 2).numpy().tolist() == x.numpy()[:, :, 1:3].tolist()
    assert x.unflatten(2, (2, -1)).shape == (2, 3, 2, 2) and x.swapaxes(0, 2).shape == (4, 3, 2)
    with pytest.raises(IndexError, match="narrow: 3 elements from 2 do not fit in dim 2 of size 4"):
        x.narrow(2, 2, 3)
    with pytest.raises(ValueError, match="movedim: source"):
        x.movedim((0, 1), 2)
    x.narrow(1, 0, 2).movedim(0, 2).sum().backward()  # gradients flow back through both
    assert x.grad.numpy()[:, :2].tolist() == np.ones((2, 2, 4)).tolist() and not x.grad.numpy()[:, 2].any()


def test_amax_splits_tied_maxima_evenly_and_keeps_dims():
    v = mg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], requires_grad=True)
    v.amax(1).sum().backward()
    assert v.grad.tolist() == [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]  # PyTorch's amax gradient
    assert v.amax().item() == 3.0 and v.amin((0, 1)).item() == 0.0 and v.amax(0, keepdim=True).shape == (1, 3)


def test_division_with_a_rounding_mode_and_dtype_limits():
    a, b = mg.tensor([7, -7, 7, -7, 6]), mg.tensor([2, 2, -2, -2, 3])
    assert a.div(b, rounding_mode="trunc").tolist() == [3, -3, -3, 3, 2]
    assert mg.div(a, b, rounding_mode="floor").tolist() == [3, -4, -4, 3, 2] and a.div(b).dtype == mg.float32
    assert mg.tensor([-7.5, 7.5]).div(2, rounding_mode="trunc").tolist() == [-3.0, 3.0]
    with pytest.raises(ValueError, match="rounding_mode must be None, 'floor' or 'trunc'"):
        a.div(b, rounding_mode="round")
    assert mg.finfo(mg.float32).eps == 2.0 ** -23 and mg.iinfo(mg.int64).max == 2 ** 63 - 1
    assert mg.finfo(mg.float32).min == -mg.finfo(mg.float32).max


def test_in_place_helpers():
    y = mg.zeros(2, 3)
    y.copy_(mg.tensor([1.0, 2.0, 3.0]))  # broadcast, as PyTorch's copy_
    assert y.tolist() == [[1.0, 2.0, 3.0]] * 2
    assert y.sub_(mg.ones(2, 3), alpha=2).tolist() == [[-1.0, 0.0, 1.0]] * 2
    assert y.relu_().tolist() == [[0.0, 0.0, 1.0]] * 2
    with pytest.raises(ValueError, match=r"copy_: source of shape \(4,\) does not broadcast to \(2, 3\)"):
        y.copy_(mg.ones(4))
    h = mg.ones(2, requires_grad=True) * 2
    assert h.detach_() is h and h.is_leaf and not h.requires_grad
    assert h.is_floating_point() and not mg.tensor([1]).is_floating_point()


def test_module_building_names():
    from collections import OrderedDict
    model = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3), act=nn.ReLU()))
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"] and model[0] is model.fc
    holder = nn.Module()
    holder.add_module("inner", model)
    holder.register_parameter("scale", nn.Parameter(mg.ones(1)))
    holder.register_parameter("shift", None)
    assert holder.get_submodule("inner.fc") is model.fc and holder.get_submodule("") is holder
    assert list(holder.state_dict()) == ["scale", "inner.fc.weight", "inner.fc.bias"] and holder.shift is None
    with pytest.raises(AttributeError, match="has no submodule 'nope'"):
        holder.get_submodule("inner.nope")
    with pytest.raises(KeyError, match="without '.'"):
        holder.add_module("a.b", nn.ReLU())


def test_layers_take_device_and_dtype_and_embeddings_load_pretrained_vectors():
    assert nn.Linear(2, 3, dtype=mg.float64).weight.dtype == mg.float64
    assert nn.LayerNorm(3, device="cpu", dtype=mg.float64).bias.dtype == mg.float64
    norm = nn.BatchNorm1d(3, dtype=mg.float64)
    assert norm.running_var.dtype == mg.float64 and norm.num_batches_tracked.dtype == mg.int64
    vectors = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    table = nn.Embedding.from_pretrained(vectors, padding_idx=0)
    assert table(mg.tensor([1, 0])).tolist() == [[3.0, 4.0], [1.0, 2.0]]  # the padding row keeps its vector
    assert not table.weight.requires_grad and nn.Embedding.from_pretrained(vectors, freeze=False).weight.requires_grad
    vectors.add_(1)  # a copy, not a view of the caller's tensor
    assert table.weight.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_the_names_against_pytorch():
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).standard_normal((2, 3, 4))
    ours, theirs = mg.tensor(values, dtype=mg.float64), torch.tensor(values)
    for name, args in [("movedim", ((0, 2), (1, 0))), ("narrow", (1, 1, 2)), ("unflatten", (2, (2, 2))),
                       ("amax", ((0, 2),)), ("amin", (1, True)), ("swapdims", (0, 1))]:
        np.testing.assert_array_equal(getattr(ours, name)(*args).numpy(), getattr(theirs, name)(*args).numpy())
    ints_a, ints_b = [7, -7, 7, -7, 6, 0], [2, 2, -2, -2, 3, 5]
    for mode in (None, "floor", "trunc"):
        ours_q, theirs_q = mg.tensor(ints_a).div(mg.tensor(ints_b), rounding_mode=mode), \
            torch.tensor(ints_a).div(torch.tensor(ints_b), rounding_mode=mode)
        assert ours_q.tolist() == theirs_q.tolist() and ours_q.dtype.name == str(theirs_q.dtype).split(".")[1]
    assert mg.finfo(mg.float32).tiny == torch.finfo(torch.float32).tiny


def tree(lib):
    """The same small tree in minigrad or torch: its own parameter and buffer, children, one held twice."""
    model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 2, bias=False))
    model.scale = lib.nn.Parameter(lib.ones(1))
    model.register_buffer("step", lib.zeros(1))
    model.add_module("tied", model[0])  # a module held twice: its parameters are shared
    return model


def test_state_dict_takes_prefix_destination_and_keep_vars_as_pytorch():
    ours = tree(mg)
    names = list(ours.state_dict())
    assert list(ours.state_dict(prefix="model.")) == ["model." + name for name in names]
    assert all(not t.requires_grad for t in ours.state_dict().values())  # detached by default
    kept = ours.state_dict(keep_vars=True)
    assert kept["scale"] is ours.scale and kept["0.weight"] is ours[0].weight and kept["step"] is ours.step
    destination = {"epoch": 3}
    assert ours.state_dict(destination, "m.") is destination
    assert list(destination) == ["epoch"] + ["m." + name for name in names]
    torch = pytest.importorskip("torch")
    theirs = tree(torch)
    assert list(ours.state_dict(prefix="model.")) == list(theirs.state_dict(prefix="model."))
    assert list(ours.state_dict(prefix="p", keep_vars=True)) == list(theirs.state_dict(prefix="p", keep_vars=True))


def test_named_parameters_and_buffers_take_recurse_as_pytorch():
    ours = tree(mg)
    assert [n for n, _ in ours.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in ours.named_parameters("m", recurse=False)] == ["m.scale"]
    assert list(ours.parameters(recurse=False)) == [ours.scale] and list(ours.buffers(recurse=False)) == [ours.step]
    assert [n for n, _ in ours.named_buffers(recurse=False)] == ["step"]
    torch = pytest.importorskip("torch")
    theirs = tree(torch)
    for prefix in ("", "m"):
        for recurse in (True, False):
            for remove_duplicate in (True, False):
                kwargs = dict(prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate)
                for method in ("named_parameters", "named_buffers"):
                    assert [n for n, _ in getattr(ours, method)(**kwargs)] == \
                        [n for n, _ in getattr(theirs, method)(**kwargs)], (method, kwargs)
    for recurse in (True, False):
        assert len(list(ours.parameters(recurse))) == len(list(theirs.parameters(recurse)))
        assert len(list(ours.buffers(recurse))) == len(list(theirs.buffers(recurse)))


def test_get_parameter_and_get_buffer_follow_a_dotted_path_as_pytorch():
    ours = tree(mg)
    assert ours.get_parameter("0.weight") is ours[0].weight and ours.get_parameter("scale") is ours.scale
    assert ours.get_buffer("1.running_mean") is ours[1].running_mean and ours.get_buffer("step") is ours.step
    for method, target, message in [
            ("get_parameter", "0.nope", r"get_parameter: Linear has no attribute 'nope' \(looking for '0.nope'\)"),
            ("get_parameter", "1.running_mean", "'running_mean' of BatchNorm1d is not an nn.Parameter"),
            ("get_parameter", "2.bias", "'bias' of Linear is not an nn.Parameter"),  # no bias: None
            ("get_parameter", "0.in_features", "'in_features' of Linear is not an nn.Parameter"),
            ("get_buffer", "0.weight", "get_buffer: 'weight' of Linear is not a buffer"),
            ("get_buffer", "", "Sequential has no attribute ''"),
            ("get_buffer", "7.step", "has no submodule '7'")]:
        with pytest.raises(AttributeError, match=message):
            getattr(ours, method)(target)
    torch = pytest.importorskip("torch")
    theirs = tree(torch)
    for method in ("get_parameter", "get_buffer"):
        for target in ("0.weight", "tied.bias", "scale", "step", "1.running_mean", "1.num_batches_tracked",
                       "0.nope", "2.bias", "0.in_features", "", "7.step", "0.weight.x"):
            try:
                expected = tuple(getattr(theirs, method)(target).shape)
            except AttributeError:
                with pytest.raises(AttributeError):
                    getattr(ours, method)(target)
            else:
                assert tuple(getattr(ours, method)(target).shape) == expected, (method, target)


def test_layers_take_their_input_by_pytorchs_keyword():
    x = mg.randn(2, 4)
    layer = nn.Linear(4, 3)
    np.testing.assert_array_equal(layer(input=x).numpy(), layer(x).numpy())
    assert nn.Embedding(5, 2)(input=mg.tensor([1, 4])).shape == (2, 2)
    assert nn.Dropout().eval()(input=x).tolist() == x.tolist() and nn.Flatten(0)(input=x).shape == (8,)
    torch = pytest.importorskip("torch")
    # every nn layer with a one-tensor forward that PyTorch also has
    single_input = [name for name in dir(nn) if isinstance(getattr(nn, name), type)
                    and issubclass(getattr(nn, name), nn.Module) and hasattr(torch.nn, name)
                    and len(inspect.signature(getattr(nn, name).forward).parameters) == 2]
    assert {"Linear", "ReLU", "GELU", "LayerNorm", "RMSNorm", "BatchNorm1d", "Sequential"} <= set(single_input)
    for name in single_input:
        assert list(inspect.signature(getattr(nn, name).forward).parameters) == \
            list(inspect.signature(getattr(torch.nn, name).forward).parameters), name
