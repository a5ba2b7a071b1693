"""More of torch.nn, so that small PyTorch models port by renaming torch to mg: RMSNorm (LLaMA's norm),
forward hooks, ParameterList / ParameterDict and editing containers (del, insert, pop, +), the activations
ELU, Hardtanh, Softplus, LogSigmoid, Mish and GLU, Unflatten, the initialisations trunc_normal_, orthogonal_
and eye_, and BatchNorm1d.
Each differentiable addition is gradchecked in float64 and, where torch is installed, compared with
PyTorch (values and gradients)."""
import collections
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from tests.strategies import make_input, nonempty_shapes, seeds, shapes
from tests.test_porting_more import leaves, matches_torch

checks = settings(max_examples=20, deadline=None)


def real(rng, shape):
    return rng.uniform(-2, 2, shape)


# ---- 1. RMSNorm -----------------------------------------------------------------------------------
@st.composite
def rms_norm_cases(draw):
    """(input shape, normalized_shape: 1 to all of its trailing dims, with a weight?, eps)."""
    shape = draw(nonempty_shapes)
    normalized = shape[len(shape) - draw(st.integers(1, len(shape))):]
    return shape, normalized, draw(st.booleans()), draw(st.sampled_from([None, 1e-5, 0.5]))


@checks
@given(case=rms_norm_cases(), seed=seeds, transposed=st.booleans())
def test_rms_norm_gradchecks(case, seed, transposed):
    shape, normalized, affine, eps = case
    x = make_input(real, shape, seed, transposed)
    if affine:
        weight = make_input(real, normalized, seed + 1)
        mg.gradcheck(lambda x, w: F.rms_norm(x, normalized, w, eps), [x, weight])
    else:
        mg.gradcheck(lambda x: F.rms_norm(x, normalized, eps=eps), [x])


@checks
@given(case=rms_norm_cases(), seed=seeds)
def test_rms_norm_matches_torch(case, seed):
    torch = pytest.importorskip("torch")
    shape, normalized, affine, eps = case
    inputs = [make_input(real, shape, seed)] + ([make_input(real, normalized, seed + 1)] if affine else [])
    matches_torch(lambda x, *w: F.rms_norm(x, normalized, *w, eps=eps),
                  lambda x, *w: torch.nn.functional.rms_norm(x, normalized, *w, eps=eps), inputs)


def test_rms_norm_by_hand_and_its_default_eps_is_the_dtypes():
    x = mg.tensor([[3.0, 4.0]], dtype=mg.float64)
    np.testing.assert_allclose(F.rms_norm(x, 2, eps=0.0).numpy(), [[3 / math.sqrt(12.5), 4 / math.sqrt(12.5)]])
    # so small that eps outweighs mean(x^2) = 1e-8: float32's eps is 2^-23, float64's 2^-52
    for dtype, eps in ((mg.float32, 2.0**-23), (mg.float64, 2.0**-52)):
        tiny = mg.tensor([1e-4, -1e-4], dtype=dtype)
        np.testing.assert_allclose(F.rms_norm(tiny, (2,)).numpy(), tiny.numpy() / math.sqrt(1e-8 + eps), rtol=1e-6)


def test_rms_norm_module_matches_torch_in_float32_with_its_default_eps():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.RMSNorm((3, 4)), torch.nn.RMSNorm((3, 4))
    x = np.random.default_rng(0).uniform(-1e-3, 1e-3, (2, 3, 4)).astype(np.float32)  # where eps counts
    with mg.no_grad():
        ours.weight.copy_(np.linspace(0.5, 2, 12, dtype=np.float32).reshape(3, 4))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5)
    assert repr(ours).split("  #")[0] == repr(theirs) == "RMSNorm((3, 4), eps=None, elementwise_affine=True)"


def test_rms_norm_module_owns_only_a_weight_of_ones():
    norm = nn.RMSNorm(4, eps=1e-6)
    assert list(norm.state_dict()) == ["weight"] and norm.weight.tolist() == [1.0] * 4
    assert norm.normalized_shape == (4,) and norm.eps == 1e-6
    bare = nn.RMSNorm([2, 4], elementwise_affine=False)
    assert bare.weight is None and list(bare.parameters()) == []
    x = mg.randn(3, 2, 4)
    np.testing.assert_allclose(bare(x).numpy(), F.rms_norm(x, (2, 4)).numpy())
    assert repr(bare) == "RMSNorm((2, 4), eps=None, elementwise_affine=False)"


def test_rms_norm_refuses_bad_input():
    x = mg.randn(2, 3)
    with pytest.raises(ValueError, match=r"input of shape \(2, 3\) does not end in normalized_shape \(4,\)"):
        F.rms_norm(x, 4)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected normalized_shape \(3,\)"):
        F.rms_norm(x, 3, weight=mg.ones(2))
    with pytest.raises(TypeError, match="float tensor, got dtype int64"):
        F.rms_norm(mg.tensor([[1, 2]]), 2)


# ---- 2. forward hooks ------------------------------------------------------------------------------
def test_forward_hooks_see_the_args_and_output_and_come_off_again():
    layer, seen = nn.Linear(2, 3), []
    pre = layer.register_forward_pre_hook(lambda module, args: seen.append(("pre", module, args)))
    post = layer.register_forward_hook(lambda module, args, output: seen.append(("post", args, output.shape)))
    x = mg.randn(4, 2)
    out = layer(x)
    assert seen == [("pre", layer, (x,)), ("post", (x,), (4, 3))]
    pre.remove()
    post.remove()
    post.remove()  # a second remove does nothing
    layer(x)
    assert len(seen) == 2 and out.shape == (4, 3)


def test_hooks_may_replace_the_args_and_the_output():
    layer = nn.Identity()
    layer.register_forward_pre_hook(lambda module, args: args[0] * 2)  # one value: a 1-tuple
    layer.register_forward_pre_hook(lambda module, args: (args[0] + 1,))
    layer.register_forward_hook(lambda module, args, output: output * 10)
    layer.register_forward_hook(lambda module, args, output: None)  # None keeps the output
    seen = []
    layer.register_forward_hook(lambda module, args, output: seen.append((args[0].item(), output.item())))
    assert layer(mg.tensor(1.0)).item() == 30.0 and seen == [(3.0, 30.0)]  # in the order registered


def test_hooks_run_on_every_submodule_keep_keyword_arguments_and_may_remove_themselves():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    shapes_seen = {}
    handles = [module.register_forward_hook(lambda m, args, out, name=name: shapes_seen.update({name: out.shape}))
               for name, module in model.named_children()]
    model(mg.randn(5, 2))
    assert shapes_seen == {"0": (5, 4), "1": (5, 4), "2": (5, 1)}
    for handle in handles:
        handle.remove()

    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    scale, calls = Scale(), []

    def once(module, args, output):
        calls.append(output.item())
        handle.remove()  # while the hooks are being called

    handle = scale.register_forward_hook(once)
    assert scale(mg.tensor(2.0), factor=3.0).item() == 6.0 and scale(mg.tensor(1.0)).item() == 1.0
    assert calls == [6.0]


def test_a_hook_handle_is_a_context_manager_and_hooks_must_be_callable():
    layer, seen = nn.ReLU(), []
    with layer.register_forward_hook(lambda m, args, out: seen.append(out.tolist())):
        layer(mg.tensor([-1.0, 2.0]))
    layer(mg.tensor([3.0]))
    assert seen == [[0.0, 2.0]]
    with pytest.raises(TypeError, match="register_forward_hook: the hook must be callable, got int"):
        layer.register_forward_hook(3)
    with pytest.raises(TypeError, match="register_forward_pre_hook: the hook must be callable"):
        layer.register_forward_pre_hook(None)


def test_hooks_behave_as_torchs():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).uniform(-1, 1, (3, 2)).astype(np.float32)
    results = []
    for lib, module in ((mg, nn.Linear(2, 2)), (torch, torch.nn.Linear(2, 2))):
        with lib.no_grad():
            module.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
            module.bias.copy_(lib.tensor([0.5, -0.5]))
        module.register_forward_pre_hook(lambda m, args: args[0].abs())
        module.register_forward_hook(lambda m, args, out: out - args[0].sum())
        results.append(module(lib.tensor(x)).detach().numpy())
    np.testing.assert_allclose(*results, rtol=1e-6)


# ---- 3. ParameterList and ParameterDict -------------------------------------------------------------
class Scales(nn.Module):
    def __init__(self):
        super().__init__()
        self.per_layer = nn.ParameterList([nn.Parameter(mg.ones(2)), mg.zeros(3)])  # a Tensor becomes a Parameter
        self.per_task = nn.ParameterDict({"sentiment": nn.Parameter(mg.ones(1)), "tags": mg.zeros(4)})


def test_parameter_containers_name_their_parameters_as_pytorch():
    model = Scales()
    assert list(model.state_dict()) == ["per_layer.0", "per_layer.1", "per_task.sentiment", "per_task.tags"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == 10
    model.load_state_dict({name: mg.full(t.shape, 7.0) for name, t in model.state_dict().items()})
    assert model.per_layer[1].tolist() == [7.0] * 3 and model.per_task["tags"].tolist() == [7.0] * 4


def test_parameter_containers_state_dict_names_match_torch():
    torch = pytest.importorskip("torch")

    class TorchScales(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.per_layer = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.zeros(3)])
            self.per_task = torch.nn.ParameterDict({"sentiment": torch.nn.Parameter(torch.ones(1)),
                                                    "tags": torch.zeros(4)})

    assert list(Scales().state_dict()) == list(TorchScales().state_dict())


def test_parameter_list_is_used_as_a_list():
    params = nn.ParameterList()
    params.append(mg.ones(2)).extend([mg.zeros(1), mg.zeros(3)])
    assert len(params) == 3 and [p.shape for p in params] == [(2,), (1,), (3,)]
    assert params[-1].shape == (3,)
    part = params[1:]
    assert isinstance(part, nn.ParameterList) and [name for name, _ in part.named_parameters()] == ["0", "1"]
    params[0] = mg.full((5,), 2.0)
    assert isinstance(params[0], nn.Parameter) and params[0].shape == (5,)
    with pytest.raises(IndexError):
        params[3] = mg.ones(1)
    with pytest.raises(TypeError, match=r"ParameterList holds Parameters \(or Tensors.*got list"):
        params.append([1.0])
    assert len(nn.ParameterList(values=[mg.ones(1)])) == 1  # PyTorch's keyword


def test_parameter_dict_is_used_as_a_dict_and_refuses_bad_keys():
    params = nn.ParameterDict([("a", mg.ones(1))])  # pairs, as dict() takes
    params.update({"b": mg.zeros(2)})
    params["a"] = nn.Parameter(mg.full((3,), 2.0))
    assert list(params) == list(params.keys()) == ["a", "b"] and "b" in params and len(params) == 2
    assert [p.shape for p in params.values()] == [(3,), (2,)] and dict(params.items())["b"].shape == (2,)
    assert len(nn.ParameterDict(parameters={"c": mg.ones(1)})) == 1  # PyTorch's keyword
    for key, error, message in [("a.b", KeyError, "parameter name can't contain '.'"),
                                ("", KeyError, "can't be empty"),
                                ("training", KeyError, "attribute 'training' already exists"),
                                (1, TypeError, "keys must be strings, got int")]:
        with pytest.raises(error, match=message):
            params[key] = mg.ones(1)
    with pytest.raises(TypeError, match="ParameterDict holds Parameters"):
        params["c"] = 1.0
    assert list(params) == ["a", "b"]


def test_parameter_containers_delete_insert_and_pop_as_the_module_ones():
    a, b, c = mg.ones(1), mg.ones(2), mg.ones(3)
    params = nn.ParameterList([a, b])
    params.insert(0, c)  # a Tensor becomes a Parameter here too
    del params[1]
    assert [p.shape for p in params] == [(3,), (2,)] and list(params.state_dict()) == ["0", "1"]
    assert params.pop(0).shape == (3,) and (params + [a])[1].shape == (1,) and len(params) == 1
    per_task = nn.ParameterDict({"a": a, "b": b, "c": c})
    del per_task["a"]
    assert per_task.pop("b").shape == (2,) and list(per_task.state_dict()) == ["c"]
    per_task.clear()
    assert len(per_task) == 0 and list(per_task.parameters()) == []


def edit_containers(lib):
    """The same edits, with lib torch or minigrad, on a ModuleList, a Sequential with named modules, a ModuleDict,
    a ParameterList and a ParameterDict: what each holds after each edit, and the errors of bad ones."""
    def held(container):  # what a repr and a checkpoint see
        return [(name, type(module).__name__) for name, module in container.named_children()], \
            list(container.state_dict())

    seen = []
    layers = lib.nn.ModuleList([lib.nn.Linear(1, 1), lib.nn.ReLU(), lib.nn.Linear(1, 2), lib.nn.Tanh()])
    del layers[-1]
    seen.append(held(layers))
    del layers[0]
    seen.append(held(layers))
    layers.insert(1, lib.nn.Linear(1, 3))  # PyTorch's ModuleList.insert misnames negative positions
    seen += [held(layers), type(layers.pop(0)).__name__, held(layers)]
    layers += [lib.nn.GELU()]
    seen += [held(layers), held(layers + lib.nn.ModuleList([lib.nn.Linear(1, 4)]))]
    del layers[::2]
    seen.append(held(layers))
    model = lib.nn.Sequential(collections.OrderedDict(fc=lib.nn.Linear(1, 2), act=lib.nn.ReLU(),
                                                      out=lib.nn.Linear(2, 1)))
    del model[1]  # renames every module "0", "1", ...
    seen.append(held(model))
    model.insert(-1, lib.nn.Tanh())
    model.append(lib.nn.Linear(1, 5)).extend([lib.nn.ReLU()])
    seen += [held(model), held(model.pop(slice(1, 3))), held(model), held(model + lib.nn.Sequential(lib.nn.GELU()))]
    heads = lib.nn.ModuleDict({"a": lib.nn.Linear(1, 1), "b": lib.nn.ReLU(), "c": lib.nn.Linear(1, 2)})
    del heads["a"]
    seen += [held(heads), type(heads.pop("b")).__name__, held(heads)]
    heads.update([("d", lib.nn.Tanh())])
    seen += [held(heads), list(heads.keys()), [type(m).__name__ for m in heads.values()]]
    heads.clear()
    seen.append(held(heads))
    params = lib.nn.ParameterList([lib.ones(1)])
    params += [lib.ones(2)]
    seen.append(held(params))
    per_task = lib.nn.ParameterDict({"a": lib.ones(1), "b": lib.ones(2), "c": lib.ones(3)})
    del per_task["a"]
    seen += [tuple(per_task.pop("b").shape), held(per_task)]
    per_task.clear()
    seen.append(held(per_task))
    for bad in (lambda: layers.__delitem__(5), lambda: model.pop(7), lambda: model.insert(9, lib.nn.ReLU()),
                lambda: heads.pop("x"), lambda: heads.__delitem__("training")):
        with pytest.raises((IndexError, KeyError)) as error:
            bad()
        seen.append(error.type.__name__)
    return seen


def test_editing_containers_matches_torch():
    torch = pytest.importorskip("torch")
    assert edit_containers(mg) == edit_containers(torch)


def test_parameter_containers_train_with_an_optimizer():
    model = Scales()
    loss = sum((p * p).sum() for p in model.parameters())
    loss.backward()
    mg.optim.SGD(model.parameters(), lr=0.25).step()
    assert model.per_layer[0].tolist() == [0.5, 0.5] and model.per_task["sentiment"].tolist() == [0.5]


# ---- 4. activations and Unflatten -----------------------------------------------------------------
ACTIVATIONS = [  # (name, the module given an nn (ours or torch's), the call given an F, kinks to stay away from)
    ("elu", lambda nn: nn.ELU(), lambda F, x: F.elu(x), (0,)),
    ("elu_alpha", lambda nn: nn.ELU(alpha=0.5), lambda F, x: F.elu(x, alpha=0.5), (0,)),
    ("hardtanh", lambda nn: nn.Hardtanh(), lambda F, x: F.hardtanh(x), (-1, 1)),
    ("hardtanh_0_1.5", lambda nn: nn.Hardtanh(0.0, 1.5), lambda F, x: F.hardtanh(x, 0.0, 1.5), (0, 1.5)),
    ("softplus", lambda nn: nn.Softplus(), lambda F, x: F.softplus(x), ()),
    ("softplus_beta", lambda nn: nn.Softplus(2.0, 1.0), lambda F, x: F.softplus(x, beta=2.0, threshold=1.0), (0.5,)),
    ("logsigmoid", lambda nn: nn.LogSigmoid(), lambda F, x: F.logsigmoid(x), ()),
    ("mish", lambda nn: nn.Mish(), lambda F, x: F.mish(x), ()),
]
activation_ids = [a[0] for a in ACTIVATIONS]


def away_from_kinks(shape, seed, kinks, margin=0.05):
    """A float64 leaf of uniform(-2, 2) values, none within margin of a kink (where finite differences
    straddle a jump in the slope)."""
    x = np.random.default_rng(seed).uniform(-2, 2, shape)
    for kink in kinks:
        x = np.where(np.abs(x - kink) < margin, kink + 2 * margin * np.where(x >= kink, 1, -1), x)
    return mg.tensor(x, dtype=mg.float64, requires_grad=True)


@pytest.mark.parametrize("name, module, call, kinks", ACTIVATIONS, ids=activation_ids)
@checks
@given(shape=shapes, seed=seeds)
def test_activations_gradcheck(name, module, call, kinks, shape, seed):
    x = away_from_kinks(shape, seed, kinks)
    mg.gradcheck(module(nn), [x])
    np.testing.assert_array_equal(module(nn)(x).numpy(), call(F, x).numpy())  # the module calls F


@pytest.mark.parametrize("name, module, call, kinks", ACTIVATIONS, ids=activation_ids)
def test_activations_match_torch(name, module, call, kinks):
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.random.default_rng(0).uniform(-5, 5, 40), [-1, 0, 1, 0.5, 1.5, 25, -30]])
    x = mg.tensor(x, dtype=mg.float64, requires_grad=True)  # the kinks themselves too: the slopes there are PyTorch's
    matches_torch(module(nn), module(torch.nn), [x])
    x.grad = None
    matches_torch(lambda x: call(F, x), lambda x: call(torch.nn.functional, x), [x])


def test_activations_stay_finite_far_out():
    x = mg.tensor([-1000.0, -100.0, 100.0, 1000.0], requires_grad=True)  # float32: e^100 overflows
    for fn, value, slope in [
        (F.elu, [-1.0, -1.0, 100.0, 1000.0], [0.0, 0.0, 1.0, 1.0]),
        (F.softplus, [0.0, 0.0, 100.0, 1000.0], [0.0, 0.0, 1.0, 1.0]),
        (F.logsigmoid, [-1000.0, -100.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]),
        (F.mish, [-0.0, -0.0, 100.0, 1000.0], [0.0, 0.0, 1.0, 1.0]),
    ]:
        x.grad = None
        out = fn(x)
        out.sum().backward()
        np.testing.assert_allclose(out.numpy(), value, atol=1e-30)
        np.testing.assert_allclose(x.grad.numpy(), slope, atol=1e-30)


def test_elu_and_hardtanh_slopes_at_their_kinks_are_pytorchs():
    x = mg.tensor([0.0, -1.0, 1.0], dtype=mg.float64, requires_grad=True)
    F.elu(x, alpha=0.5).sum().backward()
    assert x.grad.tolist()[0] == 0.5  # alpha e^0
    x.grad = None
    F.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0]  # 0 at the corners (clamp's would be 1)


@checks
@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_glu_gradchecks_and_halves_its_dim(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape = shape[:dim % len(shape)] + (2 * shape[dim],) + shape[dim % len(shape) + 1:]
    x = make_input(real, shape, seed)
    a, b = np.split(x.numpy(), 2, axis=dim)
    np.testing.assert_allclose(F.glu(x, dim).numpy(), a / (1 + np.exp(-b)), rtol=1e-12)
    mg.gradcheck(nn.GLU(dim), [x])


def test_glu_matches_torch_and_refuses_an_odd_size():
    torch = pytest.importorskip("torch")
    matches_torch(lambda x: F.glu(x, 1), lambda x: torch.nn.functional.glu(x, 1),
                  leaves(np.random.default_rng(0), (3, 4, 2)))
    matches_torch(nn.GLU(), torch.nn.GLU(), leaves(np.random.default_rng(1), (2, 6)))
    with pytest.raises(ValueError, match=r"glu: halving dim 1 needs an even size there, got input of shape \(2, 3\)"):
        F.glu(mg.randn(2, 3), dim=1)


def test_activation_reprs_and_arguments_are_pytorchs():
    torch = pytest.importorskip("torch")
    pairs = [(nn.ELU(0.5), torch.nn.ELU(0.5)), (nn.Softplus(2, 10), torch.nn.Softplus(2, 10)),
             (nn.Hardtanh(-2.0, 2.0), torch.nn.Hardtanh(-2.0, 2.0)), (nn.GLU(1), torch.nn.GLU(1)),
             (nn.Mish(), torch.nn.Mish()), (nn.LogSigmoid(), torch.nn.LogSigmoid()),
             (nn.Unflatten(1, (2, 3)), torch.nn.Unflatten(1, (2, 3)))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs).replace("inplace=False", "").replace(", )", ")")
    with pytest.raises(ValueError, match=r"Hardtanh: min_val \(1\) must be less than max_val \(1\)"):
        nn.Hardtanh(1, 1)
    with pytest.raises(ValueError, match=r"hardtanh: min_val \(2\) must not be greater than max_val \(1\)"):
        F.hardtanh(mg.randn(2), 2, 1)


@pytest.mark.parametrize("shape, dim, sizes", [((2, 12), 1, (3, 4)), ((2, 12), -1, (2, -1, 3)),
                                               ((6, 5), 0, (2, 3)), ((2, 3, 8), 2, (-1, 2))])
def test_unflatten_is_flattens_inverse_and_matches_torch(shape, dim, sizes):
    x = make_input(real, shape, 0)
    out = nn.Unflatten(dim, sizes)(x)
    expected = np.reshape(x.numpy(), shape[:dim % len(shape)] + sizes + shape[dim % len(shape) + 1:])
    np.testing.assert_array_equal(out.numpy(), expected)
    start = dim % len(shape)
    np.testing.assert_array_equal(nn.Flatten(start, start + len(sizes) - 1)(out).numpy(), x.numpy())
    mg.gradcheck(nn.Unflatten(dim, sizes), [x])
    torch = pytest.importorskip("torch")
    matches_torch(nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), [x])


def test_unflatten_says_when_the_sizes_do_not_fit():
    with pytest.raises(ValueError, match=r"sizes \(5, 3\) don't multiply up to the size of dim 1 \(12\)"):
        nn.Unflatten(1, (5, 3))(mg.randn(2, 12))
    with pytest.raises(ValueError, match=r"sizes \(5, -1\) don't multiply up"):
        nn.Unflatten(1, (5, -1))(mg.randn(2, 12))
    with pytest.raises(ValueError, match="only one size can be -1"):
        nn.Unflatten(1, (-1, -1))


# ---- 5. initialisation: trunc_normal_, orthogonal_, eye_ -------------------------------------------
def truncated_normal_moments(mean, std, a, b):
    """The mean and std of N(mean, std^2) restricted to [a, b] (the textbook formulas)."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / mass
    variance = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift**2
    return mean + std * shift, std * math.sqrt(variance)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (0.5, 1.0, 0.0, 1.0),
                                             (1.0, 2.0, 0.0, 10.0), (0.0, 0.02, -2.0, 2.0)])
def test_trunc_normal_respects_its_bounds_and_has_the_truncated_moments(mean, std, a, b):
    w = nn.Parameter(mg.zeros(200, 500, dtype=mg.float64))
    assert nn.init.trunc_normal_(w, mean, std, a, b) is w and w.requires_grad
    values = w.numpy()
    expected_mean, expected_std = truncated_normal_moments(mean, std, a, b)
    assert a <= values.min() and values.max() <= b
    assert abs(values.mean() - expected_mean) < 0.01 * expected_std
    assert abs(values.std() - expected_std) < 0.01 * expected_std


def test_trunc_normal_is_seeded_and_refuses_bounds_it_cannot_fill():
    w = mg.zeros(3, 4)
    mg.manual_seed(1)
    first = nn.init.trunc_normal_(w).numpy().copy()
    mg.manual_seed(1)
    np.testing.assert_array_equal(nn.init.trunc_normal_(w).numpy(), first)
    draws = [nn.init.trunc_normal_(mg.zeros(5), generator=mg.Generator().manual_seed(7)).tolist() for _ in range(2)]
    assert draws[0] == draws[1]
    with pytest.raises(ValueError, match=r"\[5.0, 6.0\] holds only 2.9e-07 of N\(0.0, 1.0\^2\)"):
        nn.init.trunc_normal_(w, a=5.0, b=6.0)
    with pytest.raises(ValueError, match="needs std > 0 and a < b, got std=1.0, a=1.0, b=-1.0"):
        nn.init.trunc_normal_(w, a=1.0, b=-1.0)


@pytest.mark.parametrize("shape", [(5, 5), (8, 3), (3, 8), (4, 2, 3)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    w = nn.Parameter(mg.zeros(*shape, dtype=mg.float64))
    assert nn.init.orthogonal_(w, gain=2.0) is w
    q = w.numpy().reshape(shape[0], -1) / 2.0
    small = min(q.shape)
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T  # (small, small)
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_orthogonal_is_seeded_uniform_and_refuses_vectors():
    first = nn.init.orthogonal_(mg.zeros(4, 4), generator=mg.Generator().manual_seed(3)).numpy()
    again = nn.init.orthogonal_(mg.zeros(4, 4), generator=mg.Generator().manual_seed(3)).numpy()
    np.testing.assert_array_equal(first, again)
    # uniform over orthogonal matrices: each entry has mean 0 and variance 1 / n, whatever its place
    mg.manual_seed(0)
    entries = np.stack([nn.init.orthogonal_(mg.zeros(3, 3, dtype=mg.float64)).numpy() for _ in range(2000)])
    np.testing.assert_allclose(entries.mean(0), 0, atol=0.05)
    np.testing.assert_allclose(entries.var(0), 1 / 3, atol=0.03)
    with pytest.raises(ValueError, match=r"at least 2 dims, got shape \(3,\)"):
        nn.init.orthogonal_(mg.zeros(3))


def test_eye_fills_the_identity_and_keeps_a_linear_layers_inputs():
    layer = nn.Linear(3, 4, bias=False)
    nn.init.eye_(layer.weight)
    np.testing.assert_array_equal(layer.weight.numpy(), np.eye(4, 3))
    x = mg.randn(2, 3)
    np.testing.assert_array_equal(layer(x).numpy()[:, :3], x.numpy())
    with pytest.raises(ValueError, match=r"eye_: needs a 2-d tensor, got shape \(2, 2, 2\)"):
        nn.init.eye_(mg.zeros(2, 2, 2))


# ---- 6. BatchNorm1d --------------------------------------------------------------------------------
def test_batch_norm_gradchecks_in_training_and_in_eval():
    rng = np.random.default_rng(0)
    for shape in ((5, 3), (4, 3, 2)):
        norm = nn.BatchNorm1d(3).double()
        with mg.no_grad():
            norm.weight.copy_(rng.uniform(0.5, 2, 3))
            norm.bias.copy_(rng.uniform(-1, 1, 3))
        x = make_input(real, shape, 1)
        mg.gradcheck(norm, [x])  # training: the batch statistics (the running ones change as it runs)
        mg.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                     [x, *leaves(rng, (3,), (3,))])
        norm.eval()
        mg.gradcheck(norm, [x])


def torch_twin(torch, ours, **options):
    """torch's BatchNorm1d with our module's weights."""
    theirs = torch.nn.BatchNorm1d(ours.num_features, dtype=torch.float64, **options)
    if ours.affine:
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
            theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    return theirs


@pytest.mark.parametrize("options", [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False},
                                     {"eps": 0.1, "momentum": 0.3}], ids=str)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_matches_torch_in_training_then_in_eval(options, shape):
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm1d(3, **options).double()
    if ours.affine:
        with mg.no_grad():
            ours.weight.copy_(np.array([0.5, 1.0, 2.0]))
            ours.bias.copy_(np.array([-1.0, 0.0, 1.0]))
    theirs = torch_twin(torch, ours, **options)
    rng = np.random.default_rng(0)
    for step in range(3):
        x = mg.tensor(rng.normal(step, 1 + step, shape), dtype=mg.float64, requires_grad=True)
        matches_torch(ours, theirs, [x])  # the output and x's gradient; the weights' are checked below
    theirs_state = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs_state)
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(value.numpy(), theirs_state[name].numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    matches_torch(ours, theirs, [mg.tensor(rng.normal(0, 2, shape), dtype=mg.float64, requires_grad=True)])


def test_batch_norm_weight_and_bias_gradients_match_torch():
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm1d(3).double()
    theirs = torch_twin(torch, ours)
    x = np.random.default_rng(0).normal(0, 1, (4, 3, 2))
    weights = np.random.default_rng(1).uniform(-1, 1, (4, 3, 2))
    (ours(mg.tensor(x)) * mg.tensor(weights)).sum().backward()
    (theirs(torch.tensor(x)) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-10)


def test_batch_norm_by_hand_training_and_eval():
    norm = nn.BatchNorm1d(1, momentum=0.5).double()
    x = mg.tensor([[1.0], [3.0]], dtype=mg.float64)  # mean 2, biased var 1, unbiased var 2
    np.testing.assert_allclose(norm(x).numpy(), [[-1 / math.sqrt(1 + 1e-5)], [1 / math.sqrt(1 + 1e-5)]])
    assert norm.running_mean.tolist() == [1.0] and norm.running_var.tolist() == [1.5]  # halfway from 0 and 1
    assert norm.num_batches_tracked.item() == 1 and norm.num_batches_tracked.dtype == mg.int64
    norm.eval()
    np.testing.assert_allclose(norm(x).numpy(), [[0.0], [2 / math.sqrt(1.5 + 1e-5)]])
    assert norm.num_batches_tracked.item() == 1  # eval leaves the running statistics alone
    expected = "BatchNorm1d(1, eps=1e-05, momentum=0.5, affine=True, track_running_stats=True)"
    assert repr(norm).split("  #")[0] == expected


def test_batch_norm_refuses_bad_input():
    norm = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected an input of shape \(N, 3\) or \(N, 3, L\), got shape \(2, 4\)"):
        norm(mg.randn(2, 4))
    with pytest.raises(ValueError, match=r"expected an input of shape \(N, 3\)"):
        norm(mg.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        norm(mg.randn(1, 3))
    norm.eval()
    assert norm(mg.randn(1, 3)).shape == (1, 3)  # one example is fine in eval
    with pytest.raises(ValueError, match="training=False normalises with running_mean and running_var"):
        F.batch_norm(mg.randn(2, 3), None, None)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        F.batch_norm(mg.randn(2, 3), None, None, weight=mg.ones(2), training=True)


# ---- every device ----------------------------------------------------------------------------------
def test_new_layers_give_the_same_on_every_device(device):
    x = np.random.default_rng(0).uniform(-2, 2, (4, 3, 6)).astype(np.float32)
    layers = [nn.RMSNorm(6), nn.BatchNorm1d(3), nn.ELU(), nn.Hardtanh(), nn.Softplus(), nn.LogSigmoid(),
              nn.Mish(), nn.GLU(), nn.Unflatten(2, (2, 3))]
    for layer in layers:
        results = []
        for where in ("cpu", device):
            xs = mg.tensor(x, device=where, requires_grad=True)
            out = layer.to(where)(xs)
            out.sum().backward()
            results.append((out.numpy(), xs.grad.numpy()))
        for ours, theirs in zip(*results):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_trunc_normal_and_eye_fill_on_every_device(device):
    w = mg.zeros(50, 40, device=device)
    values = nn.init.trunc_normal_(w, std=1.0, a=-0.5, b=0.5).numpy()
    assert w.device == device and -0.5 <= values.min() and values.max() <= 0.5
    np.testing.assert_array_equal(nn.init.eye_(mg.zeros(3, 2, device=device)).numpy(), np.eye(3, 2))
