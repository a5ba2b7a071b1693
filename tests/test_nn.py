"""minigrad.nn: the Module tree, each layer against NumPy and finite differences, init, state dicts."""
import collections
import copy
import math

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn import init

checks = settings(max_examples=20, deadline=None)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 4)
        self.act = nn.GELU()
        self.blocks = nn.ModuleList([nn.LayerNorm(4), nn.Linear(4, 4, bias=False)])
        self.out = nn.Linear(4, 2)
        self.scale = 2.0  # a plain attribute: not registered

    def forward(self, x):
        h = self.act(self.hidden(x))
        for block in self.blocks:
            h = block(h)
        return self.out(h) * self.scale


def float64_input(*shape, seed=0):
    return mg.tensor(np.random.default_rng(seed).normal(size=shape), dtype=mg.float64, requires_grad=True)


# ---- the module tree ----------------------------------------------------------------------
def test_named_parameters_have_dotted_names_in_definition_order():
    names = [name for name, _ in MLP().named_parameters()]
    assert names == ["hidden.weight", "hidden.bias", "blocks.0.weight", "blocks.0.bias",
                     "blocks.1.weight", "out.weight", "out.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in MLP().parameters())


def test_modules_children_and_named_modules():
    model = MLP()
    assert [n for n, _ in model.named_modules()] == ["", "hidden", "act", "blocks", "blocks.0", "blocks.1", "out"]
    assert list(model.modules())[0] is model
    assert [type(m).__name__ for m in model.children()] == ["Linear", "GELU", "ModuleList", "Linear"]
    assert dict(model.named_children())["out"] is model.out
    assert model.scale == 2.0 and "scale" not in dict(model.named_modules())


def test_reassigning_replaces_in_place_and_keeps_the_order():
    model = MLP()
    model.hidden = nn.Linear(3, 4, bias=False)  # a module replaced by another
    model.blocks[0] = nn.LayerNorm(4, elementwise_affine=False)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["hidden.weight", "blocks.1.weight", "out.weight", "out.bias"]
    model.out = None  # a module replaced by a plain value leaves the tree
    assert model.out is None and "out" not in dict(model.named_children())
    del model.hidden
    assert "hidden" not in dict(model.named_children())
    with pytest.raises(AttributeError, match="no attribute 'hidden'"):
        model.hidden


def test_plain_tensors_are_not_parameters():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.constant = mg.ones(3)
            self.weight = nn.Parameter(mg.zeros(3))

    holder = Holder()
    assert [name for name, _ in holder.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="wrap it in nn.Parameter"):
        holder.weight = mg.ones(3)  # would silently drop the parameter from the tree


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_tied_parameters_are_listed_once_but_saved_under_each_name():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(5, 3)
            self.head = nn.Linear(3, 5, bias=False)
            self.head.weight = self.embed.weight

    model = Tied()
    assert [n for n, _ in model.named_parameters()] == ["embed.weight"]
    assert nn.count_parameters(model) == (15, 15)
    assert set(model.state_dict()) == {"embed.weight", "head.weight"}
    model.load_state_dict(model.state_dict())


def test_a_module_held_under_two_names_is_saved_under_each_as_in_pytorch():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = nn.Linear(2, 2)
            self.second = self.first

    model = Shared()
    assert [n for n, _ in model.named_modules()] == ["", "first"]
    assert [n for n, _ in model.named_modules(remove_duplicate=False)] == ["", "first", "second"]
    assert list(model.state_dict()) == ["first.weight", "first.bias", "second.weight", "second.bias"]
    assert nn.count_parameters(model) == (6, 6)
    model.load_state_dict(model.state_dict())


def test_a_child_that_overrides_train_is_obeyed():
    class FrozenEncoder(nn.Module):  # the idiom: a frozen part stays in eval (no dropout) while the rest trains
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.5)

        def train(self, mode=True):
            return super().train(False)

    model = nn.Sequential(FrozenEncoder(), nn.Dropout(0.5))
    model.train()
    assert model.training and model[1].training
    assert not model[0].training and not model[0].drop.training


def test_empty_places_keep_their_order_and_their_kind_as_in_pytorch():
    model = nn.Module()
    model.add_module("a", nn.Linear(1, 1))
    model.add_module("b", nn.Linear(1, 1))
    model.add_module("a", None)  # emptied, not forgotten: a module set there later comes first again
    assert model.a is None and [n for n, _ in model.named_children()] == ["b"]
    assert list(model.state_dict()) == ["b.weight", "b.bias"]
    model.a = nn.Linear(1, 1)
    assert [n for n, _ in model.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]

    layer = nn.Linear(2, 2)
    layer.register_parameter("bias", None)  # a Linear without bias
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    layer.bias = nn.Parameter(mg.zeros(2))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]

    cache = nn.Module()
    cache.register_buffer("keys", mg.zeros(2))
    cache.keys = None  # emptied: still a buffer's place, so the tensor set later is a buffer again
    assert list(cache.state_dict()) == []
    cache.keys = mg.ones(2)
    cache.double()
    assert list(cache.state_dict()) == ["keys"] and cache.keys.dtype == mg.float64
    with pytest.raises(TypeError, match=r"cannot assign a int to 'keys', which holds a Tensor: expected a Tensor or"):
        cache.keys = 3
    with pytest.raises(TypeError, match=r"cannot assign a Linear to 'weight', which holds a nn.Parameter"):
        layer.weight = nn.Linear(1, 1)
    with pytest.raises(TypeError, match=r"cannot assign a str to 'a', which holds a nn.Module"):
        model.a = "a"


def test_an_empty_place_cannot_take_a_name_that_is_something_else():
    layer = nn.Linear(2, 2)
    for register in (lambda: layer.add_module("training", None), lambda: layer.register_parameter("in_features", None),
                     lambda: layer.add_module("weight", None), lambda: layer.register_buffer("bias", None)):
        with pytest.raises(KeyError, match="attribute '.*' already exists"):
            register()
    assert layer.training is True and layer.in_features == 2 and "weight" not in layer._modules
    layer.train()  # still a working module

    cache = nn.Module()
    cache.register_buffer("keys", mg.zeros(2), persistent=False)
    cache.keys = None
    cache.keys = mg.ones(2)  # still the non-persistent buffer it was registered as
    assert list(cache.state_dict()) == [] and [n for n, _ in cache.named_buffers()] == ["keys"]

    model = nn.Module()
    model.add_module("encoder", None)
    with pytest.raises(AttributeError, match="'encoder' of Module is an empty place \\(None\\), not a module"):
        model.get_parameter("encoder.weight")


def test_a_buffer_shared_by_two_modules_is_listed_once():
    shared = mg.zeros(3)
    first, second = nn.Module(), nn.Module()
    first.register_buffer("mask", shared)
    second.register_buffer("mask", shared)
    model = nn.Sequential(first, second)
    assert [n for n, _ in model.named_buffers()] == ["0.mask"]
    assert [n for n, _ in model.named_buffers(remove_duplicate=False)] == ["0.mask", "1.mask"]
    assert list(model.state_dict()) == ["0.mask", "1.mask"]  # saved under each name, as PyTorch


def test_parameter_from_a_tensor_is_a_new_leaf():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.requires_grad and p.tolist() == [2.0, 4.0]
    assert not nn.Parameter(mg.zeros(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:")


def test_deepcopy_gives_an_independent_model():
    model = MLP()
    twin = copy.deepcopy(model)
    assert twin.out.weight is not model.out.weight
    np.testing.assert_array_equal(twin.out.weight.numpy(), model.out.weight.numpy())
    with mg.no_grad():
        twin.out.weight.fill_(0.0)
    assert model.out.weight.numpy().any()


def test_train_eval_reach_every_module():
    model = MLP()
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_requires_grad_zero_grad_and_apply():
    model = MLP()
    model.blocks.requires_grad_(False)
    model(mg.randn(2, 3)).sum().backward()
    assert all(p.grad is None for p in model.blocks.parameters())
    assert all(p.grad is not None for p in model.out.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "MLP" and len(seen) == 7  # children first, the root last, as in PyTorch


def test_to_float64_converts_parameters_and_grads():
    model = MLP()
    model(mg.randn(2, 3)).sum().backward()
    assert model.to(mg.float64) is model
    assert all(p.dtype == mg.float64 and p.grad.dtype == mg.float64 for p in model.parameters())
    assert model(mg.randn(2, 3, dtype=mg.float64)).dtype == mg.float64


@pytest.mark.parametrize("dtype", [mg.int64, "bool"])
def test_to_an_integer_or_bool_dtype_is_refused(dtype):
    model = MLP()
    before = [p.numpy().copy() for p in model.parameters()]
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        model.to(dtype)
    for p, old in zip(model.parameters(), before):  # nothing was truncated on the way
        assert p.dtype == mg.float32 and p.requires_grad
        np.testing.assert_array_equal(p.numpy(), old)


def test_to_device(device):
    model = MLP().to(device)
    assert all(p.device == device for p in model.parameters())
    out = model(mg.randn(2, 3, device=device))
    assert out.device == device and out.shape == (2, 2)


def test_repr_shows_the_tree_and_parameter_counts():
    model = MLP()
    model.blocks.requires_grad_(False)
    text = repr(model)
    assert text.splitlines()[0] == "MLP(  # 50 params (26 trainable)"
    assert "  (hidden): Linear(in_features=3, out_features=4, bias=True)  # 16 params" in text
    assert "  (act): GELU()\n" in text
    assert "    (0): LayerNorm((4,), eps=1e-05)  # 8 params (0 trainable)" in text
    assert "\n  )\n  (out): " in text and text.endswith("# 10 params\n)")


def test_print_trainable_parameters_uses_the_peft_format(capsys):
    model = MLP()
    model.hidden.requires_grad_(False)
    line = nn.print_trainable_parameters(model)
    assert line == "trainable params: 34 || all params: 50 || trainable%: 68.0000"
    assert capsys.readouterr().out.strip() == line
    assert nn.count_parameters(model) == (34, 50)


# ---- state dicts --------------------------------------------------------------------------
def test_state_dict_round_trip():
    source, target = MLP(), MLP()
    x = mg.randn(2, 3)
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())
    # the state dict shares memory with the parameters (as in PyTorch)
    assert source.state_dict()["out.bias"].data is source.out.bias.data


def test_load_state_dict_reports_every_problem_at_once_and_loads_nothing():
    model = MLP()
    before = {name: p.numpy().copy() for name, p in model.named_parameters()}
    state = MLP().state_dict()
    del state["hidden.bias"]                                      # missing
    state["extra.weight"] = mg.zeros(2)                           # unexpected
    state["out.weight"] = mg.zeros(4, 2)                          # wrong shape
    state["blocks.0.weight"] = mg.zeros(4, dtype=mg.int64)        # integers for floats
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    for expected in ["nothing was loaded", "missing keys", "hidden.bias", "unexpected keys", "extra.weight",
                     "out.weight: checkpoint shape (4, 2), model shape (2, 4)",
                     "blocks.0.weight: checkpoint dtype int64, model dtype float32"]:
        assert expected in message
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.numpy(), before[name])


def test_load_state_dict_converts_floats_of_another_precision_as_pytorch_does():
    model, source = MLP(), MLP().to(mg.float64)
    model.load_state_dict(source.state_dict())
    assert all(p.dtype == mg.float32 for p in model.parameters())
    np.testing.assert_array_equal(model.out.weight.numpy(), source.out.weight.numpy().astype(np.float32))


def test_load_state_dict_non_strict_allows_missing_and_unexpected_keys_only():
    model = MLP()
    state = {"out.bias": mg.tensor([1.0, 2.0]), "unknown": mg.zeros(1)}
    result = model.load_state_dict(state, strict=False)
    assert model.out.bias.tolist() == [1.0, 2.0]
    assert result.unexpected_keys == ["unknown"] and "hidden.weight" in result.missing_keys
    with pytest.raises(RuntimeError, match="out.bias: checkpoint shape"):
        model.load_state_dict({"out.bias": mg.zeros(3)}, strict=False)


class Masked(nn.Module):
    """nanoGPT's attention keeps its causal mask as a buffer."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 3)
        self.register_buffer("bias", mg.tensor(np.tril(np.ones((3, 3)))).view(1, 3, 3) == 1)
        self.register_buffer("scratch", mg.zeros(2), persistent=False)

    def forward(self, x):  # (B, 3, 3)
        return self.proj(x).masked_fill(~self.bias, 0.0)


def test_buffers_are_saved_loaded_and_moved_but_never_trained():
    model = nn.Sequential(Masked())
    assert [name for name, _ in model.named_buffers()] == ["0.bias", "0.scratch"]
    assert list(model.state_dict()) == ["0.bias", "0.proj.weight", "0.proj.bias"]  # not the non-persistent one
    assert all(p is not model[0].bias for p in model.parameters()) and len(list(model.buffers())) == 2
    model(mg.randn(2, 3, 3)).sum().backward()
    assert model[0].bias.grad is None and model[0].proj.weight.grad is not None
    other = nn.Sequential(Masked())
    with mg.no_grad():
        other[0].bias.fill_(False)
    assert other.load_state_dict(model.state_dict()).missing_keys == []
    assert other[0].bias.tolist() == model[0].bias.tolist()
    with pytest.raises(RuntimeError, match="missing keys.*0.bias"):
        other.load_state_dict({k: v for k, v in model.state_dict().items() if k != "0.bias"})
    model.to(mg.float64)
    assert model[0].scratch.dtype == mg.float64 and model[0].bias.dtype.name == "bool"  # masks stay masks
    model[0].scratch = mg.ones(2)  # assigning a tensor to a buffer's name replaces the buffer
    assert model[0]._buffers["scratch"].tolist() == [1.0, 1.0]
    with pytest.raises(KeyError, match="attribute 'proj' already exists"):
        model[0].register_buffer("proj", mg.zeros(1))
    with pytest.raises(TypeError, match="must be a Tensor"):
        model[0].register_buffer("w", nn.Parameter(mg.zeros(1)))


def test_parameters_without_recursing_are_the_modules_own():
    model = nn.Linear(2, 2)
    outer = nn.Sequential(model)
    outer.gain = nn.Parameter(mg.ones(1))
    assert list(outer.parameters(recurse=False)) == [outer.gain]
    assert len(list(outer.parameters())) == 3


def test_load_state_dict_bumps_versions_and_keeps_parameters_the_same_objects():
    model = MLP()
    weight = model.out.weight
    version = weight._version
    model.load_state_dict(MLP().state_dict())
    assert model.out.weight is weight and weight._version > version


def test_load_state_dict_across_devices(device):
    source = MLP()
    target = MLP().to(device)
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target.out.weight.numpy(), source.out.weight.numpy())
    assert target.out.weight.device == device


# ---- layers: forward against NumPy, backward against finite differences ------------------
@checks
@given(batch=st.lists(st.integers(1, 3), min_size=0, max_size=2), n_in=st.integers(1, 4),
       n_out=st.integers(1, 4), bias=st.booleans())
def test_linear(batch, n_in, n_out, bias):
    layer = nn.Linear(n_in, n_out, bias=bias).to(mg.float64)
    x = float64_input(*batch, n_in)
    expected = x.numpy() @ layer.weight.numpy().T + (layer.bias.numpy() if bias else 0)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)
    mg.gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


def test_linear_init_follows_pytorch_and_is_seeded():
    mg.manual_seed(3)
    a = nn.Linear(64, 32)
    mg.manual_seed(3)
    b = nn.Linear(64, 32)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    bound = 1 / math.sqrt(64)
    assert np.abs(a.weight.numpy()).max() <= bound and np.abs(a.bias.numpy()).max() <= bound
    assert a.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.1)  # std of U(-b, b)


def test_linear_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"input of shape \(2, 5\) has 5 features.*\(3, 4\)"):
        nn.Linear(4, 3)(mg.zeros(2, 5))


def test_embedding_with_repeated_ids():
    table = nn.Embedding(5, 3).to(mg.float64)
    ids = mg.tensor([[0, 2, 2], [4, 0, 2]])
    np.testing.assert_array_equal(table(ids).numpy(), table.weight.numpy()[ids.numpy()])
    mg.gradcheck(lambda w: table(ids), [table.weight])
    table(ids).sum().backward()
    assert table.weight.grad.numpy()[:, 0].tolist() == [2.0, 0.0, 3.0, 0.0, 1.0]  # counts per id
    assert table.weight.numpy().std() == pytest.approx(1.0, abs=0.6)  # N(0, 1) init
    with pytest.raises(IndexError, match="out of range"):
        table(mg.tensor([5]))


def test_layer_norm():
    norm = nn.LayerNorm(4).to(mg.float64)
    with mg.no_grad():
        norm.weight.copy_(mg.tensor([1.0, 2.0, 0.5, -1.0], dtype=mg.float64))
        norm.bias.copy_(mg.tensor([0.0, 0.1, 0.2, 0.3], dtype=mg.float64))
    x = float64_input(2, 3, 4)
    a = x.numpy()
    expected = (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1e-5)
    expected = expected * norm.weight.numpy() + norm.bias.numpy()
    np.testing.assert_allclose(norm(x).numpy(), expected, rtol=1e-10, atol=1e-12)
    mg.gradcheck(lambda x, w, b: norm(x), [x, norm.weight, norm.bias])
    plain = nn.LayerNorm((3, 4), elementwise_affine=False)
    assert list(plain.parameters()) == []
    np.testing.assert_allclose(plain(x).numpy().reshape(2, -1).std(-1), 1, rtol=1e-4)
    wide = nn.LayerNorm(4, eps=1.0, elementwise_affine=False).to(mg.float64)  # its own eps, not the default
    np.testing.assert_allclose(wide(x).numpy(), (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1.0),
                               rtol=1e-10)


def test_layer_norm_repr_shows_flags_that_are_not_the_default():
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05)  # 8 params"
    assert repr(nn.LayerNorm(4, bias=False)) == "LayerNorm((4,), eps=1e-05, bias=False)  # 4 params"
    assert repr(nn.LayerNorm((3, 4), eps=1e-6, elementwise_affine=False)) == \
        "LayerNorm((3, 4), eps=1e-06, elementwise_affine=False, bias=False)"


def test_dropout_trains_and_evaluates():
    drop = nn.Dropout(0.25)
    x = mg.ones(200, 100)
    y = drop(x).numpy()
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.02)
    assert drop.eval()(x) is x  # evaluation: the identity, no graph node
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        nn.Dropout(1.0)


def test_dropout_gradient():
    drop = nn.Dropout(0.3)
    x = float64_input(4, 5)

    def seeded(x):  # one fixed mask, so finite differences see one function
        mg.manual_seed(1)
        return drop(x)

    mg.gradcheck(seeded, [x])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(approximate):
    x = float64_input(3, 4)
    a = x.numpy()
    if approximate == "none":
        expected = 0.5 * a * (1 + scipy.special.erf(a / np.sqrt(2)))
    else:
        expected = 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3)))
    layer = nn.GELU(approximate)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)
    mg.gradcheck(layer, [x])
    assert repr(layer) == ("GELU()" if approximate == "none" else "GELU(approximate='tanh')")
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_relu():
    x = mg.tensor([[-1.5, 0.5, 2.0]], dtype=mg.float64, requires_grad=True)
    assert nn.ReLU()(x).tolist() == [[0.0, 0.5, 2.0]]
    mg.gradcheck(nn.ReLU(), [x])


def test_functional_namespace():
    for name in ["relu", "gelu", "sigmoid", "softmax", "log_softmax", "cross_entropy", "layer_norm",
                 "dropout", "embedding", "linear", "scaled_dot_product_attention"]:
        assert callable(getattr(F, name))
    logits = mg.tensor([[2.0, 0.0, -1.0]], dtype=mg.float64)
    p = np.exp([2.0, 0.0, -1.0]) / np.exp([2.0, 0.0, -1.0]).sum()
    np.testing.assert_allclose(F.softmax(logits, dim=-1).numpy()[0], p)
    assert F.cross_entropy(logits, mg.tensor([0])).item() == pytest.approx(-np.log(p[0]))


# ---- containers ---------------------------------------------------------------------------
def test_sequential():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(mg.float64)
    x = float64_input(5, 3)
    w1, b1, w2, b2 = (p.numpy() for p in model.parameters())
    expected = np.maximum(x.numpy() @ w1.T + b1, 0) @ w2.T + b2
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-12)
    mg.gradcheck(lambda x, *params: model(x), [x, *model.parameters()])
    assert len(model) == 3 and isinstance(model[1], nn.ReLU) and isinstance(model[-1], nn.Linear)
    assert isinstance(model[:2], nn.Sequential) and len(model[:2]) == 2
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    with pytest.raises(TypeError, match="holds Modules"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_sequential_layers_can_be_replaced_and_appended_as_in_pytorch():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    model[0] = nn.Linear(3, 5)  # what a LoRA tutorial does: wrap a layer in place
    model[-1] = nn.Tanh()
    model.append(nn.Linear(5, 2))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model(mg.zeros(1, 3)).shape == (1, 2) and isinstance(model[1], nn.Tanh)
    with pytest.raises(IndexError):
        model[3] = nn.ReLU()
    with pytest.raises(TypeError, match="holds Modules"):
        model[0] = 3


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2)]).append(nn.Linear(2, 3)).extend([nn.ReLU()])
    assert len(layers) == 3 and [n for n, _ in layers.named_parameters()][-1] == "1.bias"
    heads = nn.ModuleDict({"sentiment": nn.Linear(4, 2)})
    heads["tags"] = nn.Linear(4, 5)
    assert "tags" in heads and list(heads) == ["sentiment", "tags"] and len(heads) == 2
    assert [n for n, _ in heads.named_parameters()] == ["sentiment.weight", "sentiment.bias", "tags.weight", "tags.bias"]
    assert heads["tags"].out_features == 5 and list(heads.keys()) == ["sentiment", "tags"]
    assert [type(m).__name__ for _, m in heads.items()] == ["Linear", "Linear"]
    with pytest.raises(TypeError, match="holds Modules"):
        heads["bad"] = 3


def test_slices_keep_the_container_type_and_sequential_keeps_the_names():
    model = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2))
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and tail[-1] is model[2]
    # as in PyTorch: the slice's state_dict keys are the whole model's, so a checkpoint fits both ways
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]
    assert set(tail.state_dict()) <= set(model.state_dict())
    assert [name for name, _ in model[::2].named_children()] == ["0", "2"]
    layers = nn.ModuleList([nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2)])
    part = layers[1:]
    assert isinstance(part, nn.ModuleList) and part[1] is layers[2]
    assert [name for name, _ in part.named_parameters()] == ["1.weight", "1.bias"]  # renumbered, as PyTorch's


def test_deleting_a_block_renumbers_the_rest_and_their_state_dict_names():
    model = MLP()
    norm, linear = model.blocks
    del model.blocks[-1]  # the edit users make most: drop the last block
    assert list(model.blocks) == [norm] and model(mg.zeros(1, 3)).shape == (1, 2)
    model.blocks.append(linear)
    del model.blocks[0]
    # what was "blocks.1" is "blocks.0" now: the names stay the positions, as in PyTorch
    assert model.blocks[0] is linear and [n for n in model.state_dict() if "blocks" in n] == ["blocks.0.weight"]
    with pytest.raises(IndexError):
        del model.blocks[1]


def test_module_list_insert_pop_and_add_as_a_list():
    a, b, c, d = nn.Linear(1, 1), nn.ReLU(), nn.Tanh(), nn.Linear(1, 2)
    layers = nn.ModuleList([b, c])
    layers.insert(0, a)
    layers.insert(-1, d)  # before the last, as list.insert
    assert list(layers) == [a, b, d, c] and [n for n, _ in layers.named_children()] == ["0", "1", "2", "3"]
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert layers.pop(1) is b and list(layers) == [a, d, c]
    popped = layers.pop(slice(1, None))
    assert isinstance(popped, nn.ModuleList) and list(popped) == [d, c] and list(layers) == [a]
    both = layers + popped
    assert isinstance(both, nn.ModuleList) and list(both) == [a, d, c] and list(layers) == [a]  # a new list
    same = layers
    layers += [b]
    assert layers is same and list(layers) == [a, b]
    del layers[1:]
    for index in (2, -2):  # a position is 0 .. len(layers), or -len(layers) .. -1
        with pytest.raises(IndexError, match=f"ModuleList.insert: index {index} is out of range for 1 entries"):
            layers.insert(index, b)
    with pytest.raises(TypeError, match="holds Modules"):
        layers.insert(0, 3)
    assert list(layers) == [a]
    del layers[:]
    assert len(layers) == 0 and list(layers.named_parameters()) == []


def test_sequential_is_edited_as_a_list_and_renumbered_as_pytorchs():
    fc, act, out = nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)
    model = nn.Sequential(collections.OrderedDict(fc=fc, act=act, out=out))
    del model[1]
    assert list(model) == [fc, out] and list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    model.insert(-1, nn.Tanh())
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear"] and model(mg.zeros(2, 3)).shape == (2, 2)
    assert model.pop(-1) is out and model.append(out).extend([nn.Identity()])[2] is out
    head = model.pop(slice(2, None))
    assert isinstance(head, nn.Sequential) and [n for n, _ in head.named_children()] == ["2", "3"]  # a slice's names
    whole = model + head
    assert isinstance(whole, nn.Sequential) and [n for n, _ in whole.named_children()] == ["0", "1", "2", "3"]
    model += head
    assert len(model) == 4 and model(mg.zeros(2, 3)).shape == (2, 2)


def test_module_dict_del_pop_clear_and_update():
    heads = nn.ModuleDict({"sentiment": nn.Linear(4, 2), "tags": nn.Linear(4, 5)})
    tags = heads["tags"]
    del heads["sentiment"]
    assert list(heads) == ["tags"] and list(heads.state_dict()) == ["tags.weight", "tags.bias"]
    with pytest.raises(KeyError):
        del heads["sentiment"]
    with pytest.raises(KeyError):
        del heads["training"]  # an attribute, not an entry: it stays
    assert heads.training is True
    assert heads.pop("tags") is tags and len(heads) == 0
    heads.update(nn.ModuleDict({"a": nn.ReLU()}))  # a ModuleDict, a dict, or (key, module) pairs
    heads.update([("b", nn.Tanh())])
    assert list(heads.keys()) == ["a", "b"] and [type(m).__name__ for m in heads.values()] == ["ReLU", "Tanh"]
    heads.clear()
    assert len(heads) == 0 and list(heads.children()) == []


@pytest.mark.parametrize("key, error, message", [
    ("training", KeyError, "attribute 'training' already exists"),
    ("forward", KeyError, "attribute 'forward' already exists"),
    ("_modules", KeyError, "attribute '_modules' already exists"),
    ("keys", KeyError, "attribute 'keys' already exists"),
    ("a.b", KeyError, "module name can't contain '.'"),
    ("", KeyError, "can't be empty"),
    (1, TypeError, "keys must be strings, got int"),
])
def test_module_dict_refuses_keys_that_would_break_it(key, error, message):
    heads = nn.ModuleDict({"tags": nn.Linear(4, 5)})
    with pytest.raises(error, match=message):
        heads[key] = nn.Linear(4, 2)
    with pytest.raises(error, match=message):
        nn.ModuleDict({key: nn.Linear(4, 2)})
    assert heads.training is True and list(heads) == ["tags"]
    assert heads.eval() is heads and not heads["tags"].training  # still a working module
    heads["tags"] = nn.ReLU()  # replacing an existing key is fine
    assert isinstance(heads["tags"], nn.ReLU)


# ---- initialisation ------------------------------------------------------------------------
def test_init_distributions():
    w = nn.Parameter(mg.zeros(400, 300))
    assert init.normal_(w, 1.0, 0.5) is w
    assert w.numpy().mean() == pytest.approx(1.0, abs=0.01) and w.numpy().std() == pytest.approx(0.5, rel=0.02)
    init.uniform_(w, -2.0, 3.0)
    assert w.numpy().min() >= -2 and w.numpy().max() < 3 and w.numpy().mean() == pytest.approx(0.5, abs=0.02)
    init.zeros_(w)
    assert not w.numpy().any()
    init.ones_(w)
    assert (w.numpy() == 1).all()


@pytest.mark.parametrize("fn, std", [
    (init.xavier_uniform_, math.sqrt(2 / (300 + 400))),
    (init.xavier_normal_, math.sqrt(2 / (300 + 400))),
    (init.kaiming_uniform_, math.sqrt(2 / 300)),  # leaky_relu, a=0: gain sqrt(2), fan_in = 300
    (init.kaiming_normal_, math.sqrt(2 / 300)),
])
def test_fan_based_inits_have_the_promised_std(fn, std):
    w = nn.Parameter(mg.zeros(400, 300))
    fn(w)
    assert w.numpy().std() == pytest.approx(std, rel=0.02) and abs(w.numpy().mean()) < std / 20


def test_init_details():
    w = nn.Parameter(mg.zeros(10, 20, 3, dtype=mg.float64))
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")  # fan_out = 10 * 3
    assert w.dtype == mg.float64 and np.abs(w.numpy()).max() <= math.sqrt(3) * math.sqrt(2) / math.sqrt(30)
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    version = w._version
    init.normal_(w)
    assert w._version == version + 1  # in place, and counted
    with pytest.raises(ValueError, match="at least 2 dims"):
        init.xavier_uniform_(nn.Parameter(mg.zeros(3)))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")


def test_init_is_seeded(device):
    def draw():
        mg.manual_seed(7)
        return init.normal_(nn.Parameter(mg.zeros(3, 3, device=device))).numpy()

    np.testing.assert_array_equal(draw(), draw())


def test_module_list_assignment_replaces_in_place_even_from_the_end():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3)])
    last = nn.Linear(2, 4)
    layers[-1] = last
    assert len(layers) == 3 and layers[2] is last
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(IndexError):
        layers[3] = nn.ReLU()


def test_named_modules_lists_a_shared_module_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [name for name, _ in model.named_modules()] == ["", "0", "1"]
    assert len(list(model.modules())) == 3


# ---- constructor arguments: checked when the layer or loss is built ----------------------------
LOSSES_CALLED_ON_DATA = [nn.CrossEntropyLoss, nn.NLLLoss, nn.BCEWithLogitsLoss, nn.BCELoss, nn.KLDivLoss,
                         nn.HuberLoss, nn.SmoothL1Loss, nn.MSELoss, nn.L1Loss]


@pytest.mark.parametrize("loss", LOSSES_CALLED_ON_DATA, ids=lambda loss: loss.__name__)
def test_a_loss_built_with_the_data_says_to_build_it_once_then_call_it(loss):
    logits, target = mg.randn(4, 3), mg.tensor([0, 1, 2, 0])
    with pytest.raises(TypeError, match=rf"{loss.__name__}: .*looks like \(input, target\) was passed to the "
                                        rf"constructor.*criterion = nn.{loss.__name__}\(\), then call it"):
        loss(logits, target)


def test_a_0d_tensor_is_an_option_not_data():
    assert nn.CrossEntropyLoss(label_smoothing=mg.tensor(0.1)).label_smoothing.item() == pytest.approx(0.1)
    with pytest.raises(ValueError, match="MultiheadAttention: embed_dim must be a whole number >= 1, got 0"):
        nn.MultiheadAttention(0, 1)


def test_loss_options_are_checked_when_the_loss_is_built():
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        nn.CrossEntropyLoss(reduction="avg")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"  # its own extra reduction
    with pytest.raises(ValueError, match="MSELoss: reduction must be"):
        nn.MSELoss("batchmean")
    with pytest.raises(TypeError, match=r"NLLLoss: weight must be None or a 1-d floating point tensor.*int64"):
        nn.NLLLoss(weight=mg.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="CrossEntropyLoss: weight must be None or a 1-d .*got list"):
        nn.CrossEntropyLoss(weight=[1.0, 2.0])
    with pytest.raises(TypeError, match="CrossEntropyLoss: ignore_index must be a whole number.*got 1.5"):
        nn.CrossEntropyLoss(ignore_index=1.5)
    with pytest.raises(TypeError, match="BCEWithLogitsLoss: pos_weight must be None or a floating point tensor"):
        nn.BCEWithLogitsLoss(pos_weight=mg.tensor([2, 1]))
    assert nn.CrossEntropyLoss(ignore_index=np.int64(0)).ignore_index == 0  # NumPy's ints are whole numbers
    assert nn.HuberLoss(delta=np.float64(2.0)).delta == 2.0  # and a NumPy number is an option, not data


@pytest.mark.parametrize("build, message", [
    (lambda: nn.Linear(64 / 2, 3), r"Linear: in_features must be a whole number >= 0, got 32.0 \(use // "),
    (lambda: nn.Linear(3, 2.0), r"Linear: out_features must be a whole number >= 0, got 2.0"),
    (lambda: nn.Embedding(10, 64 / 2), r"Embedding: embedding_dim must be a whole number >= 0, got 32.0"),
    (lambda: nn.Embedding(10.0, 4), r"Embedding: num_embeddings must be a whole number >= 0, got 10.0"),
    (lambda: nn.BatchNorm1d(8 / 2), r"BatchNorm1d: num_features must be a whole number >= 0, got 4.0"),
    (lambda: nn.MultiheadAttention(64 / 2, 4), r"MultiheadAttention: embed_dim must be a whole number"),
])
def test_a_float_size_is_named_with_the_layer(build, message):
    with pytest.raises(TypeError, match=message):
        build()


def test_a_negative_size_is_named_with_the_layer():
    with pytest.raises(ValueError, match="Linear: in_features must be a whole number >= 0, got -1$"):
        nn.Linear(-1, 3)
    with pytest.raises(ValueError, match="MultiheadAttention: num_heads must be a whole number >= 1, got 0"):
        nn.MultiheadAttention(8, 0)
    assert nn.Linear(np.int64(3), mg.tensor(2)).weight.shape == (2, 3)  # any integer is a size, as in PyTorch


def test_a_linear_layer_with_no_inputs_gives_its_bias_as_in_pytorch():
    layer = nn.Linear(0, 3)
    assert layer.weight.shape == (3, 0)
    np.testing.assert_array_equal(layer(mg.zeros(2, 0)).numpy(), np.broadcast_to(layer.bias.numpy(), (2, 3)))
    assert nn.Embedding(4, 0)(mg.tensor([1, 3])).shape == (2, 0)


def test_pretrained_embeddings_must_be_floating_point():
    with pytest.raises(TypeError, match=r"Embedding.from_pretrained: embeddings must be floating point, got "
                                        r"dtype int64; .*embeddings.float\(\)"):
        nn.Embedding.from_pretrained(mg.tensor([[1, 2], [3, 4]]))


def test_dropout_of_an_integer_tensor_is_refused_while_training_as_in_pytorch():
    ids = mg.tensor([1, 2, 3])
    with pytest.raises(TypeError, match=r"dropout: input must be floating point while training.*int64.*\.float\(\)"):
        F.dropout(ids)
    with pytest.raises(TypeError, match="dropout: input must be floating point"):
        nn.Dropout(0.1)(ids)
    assert F.dropout(ids, training=False) is ids and F.dropout(ids, p=0.0) is ids  # nothing dropped: as PyTorch
