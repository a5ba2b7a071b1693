"""PyTorch porting gaps a probe listed: devices (mg.device, mg.cuda), .to() giving self when nothing
changes, state_dict's order, F.softmax without dim, and the small Module and tensor helpers (float(),
as_tensor, logsumexp, mm / bmm, isnan, log1p, sort, ...). Each differentiable addition is gradchecked
in float64 and, where torch is installed, compared with PyTorch."""
import copy
import math
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend, nn
from minigrad.nn import functional as F
from tests import simulated_cuda
from tests.test_porting_more import matches_torch


@pytest.fixture
def fake_cuda(monkeypatch):
    simulated_cuda.install(monkeypatch)
    mg.manual_seed(0)


# ---- 1. devices ---------------------------------------------------------------------------------
def test_device_is_a_str_with_type_and_index():
    cpu, cuda = mg.device("cpu"), mg.device("cuda")
    assert cpu == "cpu" and cuda == "cuda" and isinstance(cuda, str) and isinstance(cuda, mg.device)
    assert mg.device("cuda:0") is cuda and mg.device("cuda", 0) is cuda and mg.device(cuda) is cuda
    assert (cpu.type, cpu.index, cuda.type, cuda.index) == ("cpu", None, "cuda", 0)
    assert type(cuda.type) is str and str(cuda) == "cuda" and f"{cuda}" == "cuda"
    assert repr(cpu) == "device(type='cpu')" and repr(cuda) == "device(type='cuda', index=0)"
    assert {"cuda": 1}[cuda] == 1 and cuda in ("cpu", "cuda")  # hashes and compares as its name
    assert pickle.loads(pickle.dumps(cuda)) is cuda and copy.deepcopy(cpu) is cpu and copy.copy(cuda) is cuda
    for bad in ("cuda:1", "mps", "gpu"):
        with pytest.raises(ValueError, match="unknown device"):
            mg.device(bad)


def test_device_matches_torch_device():
    torch = pytest.importorskip("torch")
    assert mg.device("cpu").type == torch.device("cpu").type and mg.device("cpu").index is None
    assert mg.device("cuda:0").type == torch.device("cuda:0").type
    assert mg.device("cuda:0").index == torch.device("cuda:0").index == 0
    assert torch.zeros(1).device.index == mg.zeros(1).device.index is None


def test_tensor_device_is_one_cached_instance():
    x = mg.ones(2)
    assert x.device is mg.device("cpu") and x.device is mg.zeros(3).device and x.device.type == "cpu"
    assert x.to(mg.device("cpu")) is x and x.to(device=mg.device("cpu")) is x
    assert mg.tensor([1.0], device=mg.device("cpu")).device is mg.device("cpu")
    assert mg.zeros(2, device=mg.device("cpu")).device == "cpu" and mg.randn(2, device=mg.device("cpu")).shape == (2,)
    model = nn.Linear(2, 2).to(mg.device("cpu"))
    assert model.weight.device is mg.device("cpu")


def test_cuda_namespace_without_a_gpu(monkeypatch):
    monkeypatch.setattr(backend, "cupy", None)
    assert mg.cuda.is_available() is False and mg.cuda.device_count() == 0 and mg.cuda_is_available() is False
    with pytest.raises(RuntimeError, match="CuPy and an NVIDIA GPU are needed"):
        mg.zeros(2, device=mg.device("cuda"))
    assert mg.device("cuda").type == "cuda"  # naming the device is fine, as in PyTorch; using it is not


def test_cuda_devices_on_the_simulated_gpu(fake_cuda):
    assert mg.cuda.is_available() and mg.cuda.device_count() == 1
    x = mg.ones(2, device=mg.device("cuda:0"))
    assert x.device is mg.device("cuda") and x.device.type == "cuda" and x.device.index == 0
    assert x.to("cuda:0") is x and x.to(mg.device("cuda")) is x
    back = x.to(mg.device("cpu"))
    assert back.device is mg.device("cpu") and back.tolist() == [1.0, 1.0]
    assert mg.tensor([1.0, 2.0]).to(mg.device("cuda")).device is mg.device("cuda")
    model = nn.Linear(2, 3).to(mg.device("cuda:0"))
    assert model.weight.device is mg.device("cuda") and model(x).device == "cuda"


def test_a_move_between_devices_passes_the_gradient_back(fake_cuda):
    """As PyTorch's ToCopyBackward: the copy is not a leaf; the gradient reaches the original on its device."""
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    on_gpu = w.to("cuda")
    assert not on_gpu.is_leaf and on_gpu.requires_grad
    (on_gpu * 3).sum().backward()
    assert w.grad.device == "cpu" and w.grad.tolist() == [3.0, 3.0]
    h = mg.ones(2, device="cuda", requires_grad=True) * 2
    (h.cpu() * mg.tensor([1.0, 5.0])).sum().backward()  # a non-leaf moved back: the graph goes on
    assert mg.tensor([1]).to("cuda").requires_grad is False


# ---- 2. .to() and the casts give self when nothing changes ---------------------------------------
def test_to_and_casts_give_self_when_nothing_changes():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert x.to(mg.float32) is x and x.float() is x and x.to("cpu", mg.float32) is x and x.type_as(x) is x
    assert x.to(device="cpu", dtype=mg.float32) is x and x.to("float32") is x
    assert x.double() is not x and x.double().double().dtype == mg.float64
    ids = mg.tensor([1, 2])
    assert ids.long() is ids and ids.int() is not ids and (ids > 1).bool().dtype == mg.bool
    y = x * 2  # a non-leaf too: the same node, no Cast in the graph
    assert y.float() is y
    with mg.no_grad():
        z = mg.zeros(3)
        z.float().fill_(5.0)  # an in-place write meant for the original reaches it, as in PyTorch
    assert z.tolist() == [5.0, 5.0, 5.0]
    assert z.float().clone() is not z  # a copy, when one is wanted


def test_to_gives_self_as_torch_does():
    torch = pytest.importorskip("torch")
    t = torch.zeros(2)
    assert t.to(torch.float32) is t and t.float() is t and t.to("cpu") is t  # what minigrad now matches
    x = mg.zeros(2)
    assert x.to(mg.float32) is x and x.float() is x and x.to("cpu") is x


# ---- 3. state_dict's order ---------------------------------------------------------------------
class Block(nn.Module):
    """A child (proj), a parameter of its own set after it, and a buffer: PyTorch lists the block's own
    parameters, then its own buffers, then its children's."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 2)
        self.gain = nn.Parameter(mg.ones(2))
        self.register_buffer("mask", mg.ones(3))
        self.register_buffer("scratch", mg.zeros(1), persistent=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block())
        self.register_buffer("position", mg.arange(4))
        self.head = nn.Linear(2, 1)


def torch_net(torch):
    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(3, 2)
            self.gain = torch.nn.Parameter(torch.ones(2))
            self.register_buffer("mask", torch.ones(3))
            self.register_buffer("scratch", torch.zeros(1), persistent=False)

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.Sequential(TorchBlock(), TorchBlock())
            self.register_buffer("position", torch.arange(4))
            self.head = torch.nn.Linear(2, 1)

    return TorchNet()


def test_state_dict_order_is_pytorchs():
    keys = list(Net().state_dict())
    assert keys == ["position", "blocks.0.gain", "blocks.0.mask", "blocks.0.proj.weight", "blocks.0.proj.bias",
                    "blocks.1.gain", "blocks.1.mask", "blocks.1.proj.weight", "blocks.1.proj.bias",
                    "head.weight", "head.bias"]
    torch = pytest.importorskip("torch")
    assert keys == list(torch_net(torch).state_dict())


def test_state_dict_loads_by_name_whatever_the_order():
    source, target = Net(), Net()
    with mg.no_grad():
        source.blocks[1].mask.fill_(3.0)
    state = dict(reversed(list(source.state_dict().items())))
    assert target.load_state_dict(state).missing_keys == []
    assert target.blocks[1].mask.tolist() == [3.0] * 3
    assert target.head.weight.tolist() == source.head.weight.tolist()


# ---- 4. F.softmax / F.log_softmax need dim -------------------------------------------------------
@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
def test_functional_softmax_needs_dim(fn):
    x = mg.randn(2, 3, 4)
    with pytest.raises(TypeError, match="needs dim.*implicit dim is deprecated"):
        fn(x)
    with pytest.raises(TypeError, match="needs dim"):
        fn(x, None)
    np.testing.assert_allclose(fn(x, dim=1).numpy(), fn(x, 1).numpy())
    assert fn(x, -1).shape == (2, 3, 4) and x.softmax().shape == (2, 3, 4)  # the method keeps its default


def test_functional_softmax_matches_torch_with_dim_and_dtype():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    for ours, theirs in ((F.softmax, torch.nn.functional.softmax), (F.log_softmax, torch.nn.functional.log_softmax)):
        for dim in (0, 1, -1):
            np.testing.assert_allclose(ours(mg.tensor(x), dim=dim).numpy(), theirs(torch.tensor(x), dim=dim).numpy(),
                                       rtol=1e-5, atol=1e-6)
        out = ours(mg.tensor(x), dim=-1, dtype=mg.float64)
        assert out.dtype == mg.float64
        np.testing.assert_allclose(out.numpy(), theirs(torch.tensor(x), dim=-1, dtype=torch.float64).numpy(), rtol=1e-12)
    assert nn.Softmax(dim=1)(mg.tensor(x)).shape == (2, 3, 4) and nn.LogSoftmax(-1)(mg.tensor(x)).shape == (2, 3, 4)


# ---- 5. Module helpers, grad modes and the small tensor helpers ------------------------------------
def leaves(rng, *shapes, low=-2, high=2):
    """float64 leaves of uniform(low, high) values, one per shape."""
    return [mg.tensor(rng.uniform(low, high, shape), dtype=mg.float64, requires_grad=True) for shape in shapes]


class WithMask(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 3)
        self.register_buffer("mask", mg.ones(3) > 0)
        self.register_buffer("scale", mg.ones(3))


def test_module_float_double_and_to_with_device_and_dtype():
    model = WithMask()
    assert model.double() is model and model.linear.weight.dtype == mg.float64 and model.scale.dtype == mg.float64
    assert model.mask.dtype == mg.bool  # masks stay masks
    assert model.float() is model and model.linear.bias.dtype == mg.float32
    assert model.to("cpu", mg.float64) is model and model.linear.weight.dtype == mg.float64
    model.to(device="cpu", dtype=mg.float32)
    assert model.linear.weight.dtype == mg.float32 and model.linear.weight.device is mg.device("cpu")
    model.to(mg.device("cpu"), dtype="float64", non_blocking=True)
    assert model.scale.dtype == mg.float64
    model.to(mg.zeros(1))  # a tensor's device and dtype
    assert model.scale.dtype == mg.float32 and model.cpu() is model
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        model.to("cpu", mg.int64)
    with pytest.raises(TypeError, match="dtype given more than once"):
        model.to(mg.float32, dtype=mg.float64)
    assert model.linear.weight.dtype == mg.float32  # nothing changed by a refused call


def test_module_helpers_match_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Linear(2, 3)
    assert theirs.double().weight.dtype == torch.float64 and theirs.to("cpu", torch.float32).weight.dtype == torch.float32
    ours = nn.Linear(2, 3)
    assert ours.double().weight.dtype == mg.float64 and ours.to("cpu", mg.float32).weight.dtype == mg.float32


def test_module_cuda_on_the_simulated_gpu(fake_cuda):
    model = WithMask().cuda()
    assert model.linear.weight.device is mg.device("cuda") and model.mask.device == "cuda"
    assert model.cpu().scale.device is mg.device("cpu") and model.cuda(0).scale.device == "cuda"
    model.to(device="cpu", dtype=mg.float64)
    assert model.scale.device == "cpu" and model.scale.dtype == mg.float64
    x = mg.ones(2)
    assert x.cuda().device == "cuda" and x.to("cuda", non_blocking=True).device == "cuda" and x.cuda(0).device == "cuda"


def test_tensor_to_takes_non_blocking_copy_and_another_tensor():
    x = mg.tensor([1.0, 2.0])
    assert x.to("cpu", non_blocking=True) is x and x.to(mg.float32, copy=True) is not x
    assert x.to(mg.zeros(1, dtype=mg.float64)).dtype == mg.float64 and x.to(mg.zeros(1)) is x
    with pytest.raises(TypeError, match="device given more than once"):
        x.to("cpu", device="cpu")


def test_no_grad_bare_decorator_and_enable_grad():
    @mg.no_grad
    def doubled(x):
        return x * 2

    x = mg.ones(2, requires_grad=True)
    assert doubled.__name__ == "doubled" and not doubled(x).requires_grad and mg.is_grad_enabled()
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        with mg.enable_grad():
            assert mg.is_grad_enabled() and (x * 2).requires_grad
        assert not mg.is_grad_enabled()

        @mg.enable_grad
        def tripled(x):
            return x * 3

        @mg.enable_grad()
        def quadrupled(x):
            return x * 4

        assert tripled(x).requires_grad and quadrupled(x).requires_grad and not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_is_tensor_and_as_tensor():
    x = mg.tensor([1.0, 2.0])
    assert mg.is_tensor(x) and mg.is_tensor(nn.Parameter(mg.ones(1))) and not mg.is_tensor(np.ones(2))
    assert not mg.is_tensor([1.0])
    assert mg.as_tensor(x) is x and mg.as_tensor(x, mg.float32, "cpu") is x
    assert mg.as_tensor(x, dtype=mg.float64).dtype == mg.float64
    array = np.arange(3.0)
    shared = mg.as_tensor(array)
    array[0] = 7.0  # a NumPy array of that dtype, on the CPU: the memory is shared
    assert shared.tolist() == [7.0, 1.0, 2.0] and shared.dtype == mg.float64
    assert mg.as_tensor(array, dtype=mg.float32).dtype == mg.float32
    assert mg.as_tensor([1, 2]).dtype == mg.int64 and mg.as_tensor([1.5]).dtype == mg.float32
    torch = pytest.importorskip("torch")
    assert torch.as_tensor(np.arange(3.0)).dtype == torch.float64 and torch.as_tensor([1.5]).dtype == torch.float32


def test_logsumexp_is_stable_with_infinities_and_differentiable():
    rng = np.random.default_rng(0)
    (x,) = leaves(rng, (3, 4))
    mg.gradcheck(lambda x: mg.logsumexp(x, 1), [x])
    mg.gradcheck(lambda x: x.logsumexp((0, 1), keepdim=True), [x])
    mg.gradcheck(lambda x: x.logsumexp(-2), [x])
    inf = float("inf")
    assert mg.tensor([[-inf, -inf]]).logsumexp(1).tolist() == [-inf]  # log 0, not NaN from -inf - -inf
    assert mg.tensor([[inf, 0.0]]).logsumexp(1).tolist() == [inf]  # not NaN from inf - inf
    edge = mg.tensor([[-inf, -inf], [inf, 0.0], [-inf, 1.0], [inf, -inf]], dtype=mg.float64)
    assert edge.logsumexp(1).tolist() == [-inf, inf, 1.0, inf]
    assert edge.logsumexp(1, keepdim=True).tolist() == [[-inf], [inf], [1.0], [inf]]
    big = mg.tensor([[1000.0, 1000.0], [-1000.0, -1000.0]], dtype=mg.float64)  # e^1000 overflows: m + log 2 does not
    np.testing.assert_allclose(big.logsumexp(1).numpy(), [1000 + math.log(2), -1000 + math.log(2)], rtol=1e-15)
    assert mg.logsumexp(mg.tensor([1, 2]), 0).dtype == mg.float32  # integers: float32, as in PyTorch


def test_logsumexp_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for dim, keepdim in ((1, False), (0, True), ((0, 1), False), (-1, True)):
        (y,) = leaves(rng, (3, 4))
        matches_torch(lambda y: y.logsumexp(dim, keepdim), lambda y: torch.logsumexp(y, dim, keepdim), [y])
    inf = float("inf")
    edge = mg.tensor([[-inf, -inf], [inf, 0.0], [-inf, 1.0]])
    np.testing.assert_allclose(edge.logsumexp(1).numpy(), torch.logsumexp(torch.tensor(edge.numpy()), 1).numpy())


def test_mm_and_bmm():
    rng = np.random.default_rng(0)
    a, b = leaves(rng, (2, 3), (3, 4))
    mg.gradcheck(mg.mm, [a, b])
    assert a.mm(b).shape == (2, 4)
    p, q = leaves(rng, (2, 3, 4), (2, 4, 5))
    mg.gradcheck(mg.bmm, [p, q])
    torch = pytest.importorskip("torch")
    matches_torch(mg.bmm, torch.bmm, [p, q])
    for bad in ((mg.ones(3), mg.ones(3, 2)), (mg.ones(2, 3), mg.ones(2, 3)), (mg.ones(1, 2, 3), mg.ones(2, 3))):
        with pytest.raises(ValueError, match="mm: expects matrices"):
            mg.mm(*bad)
    for bad in ((mg.ones(2, 3, 4), mg.ones(3, 4, 5)), (mg.ones(2, 3, 4), mg.ones(4, 5)), (mg.ones(2, 3, 4), mg.ones(2, 3, 5))):
        with pytest.raises(ValueError, match="bmm: expects batches"):
            mg.bmm(*bad)


def test_isnan_isinf_isfinite_match_torch_and_have_no_graph():
    torch = pytest.importorskip("torch")
    values = [1.0, float("nan"), float("inf"), -float("inf"), 0.0]
    x = mg.tensor(values, requires_grad=True)
    for name in ("isnan", "isinf", "isfinite"):
        ours = getattr(x, name)()
        assert ours.dtype == mg.bool and not ours.requires_grad
        assert ours.tolist() == getattr(torch.tensor(values), name)().tolist() == getattr(mg, name)(x).tolist()
    assert mg.tensor([1, 2]).isfinite().tolist() == [True, True] and not mg.tensor([3]).isnan().any()


def test_square_and_log1p():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    (x,) = leaves(rng, (3, 4))
    mg.gradcheck(lambda x: x.square(), [x])
    matches_torch(mg.square, torch.square, leaves(rng, (3, 4)))
    (y,) = leaves(rng, (3, 4), low=-0.5, high=2)
    mg.gradcheck(mg.log1p, [y])
    matches_torch(lambda y: y.log1p(), torch.log1p, leaves(rng, (3, 4), low=-0.9, high=3))
    tiny = mg.tensor([1e-10, -1e-12, 0.0], requires_grad=True)  # float32: log(1 + x) would give 0 for these
    np.testing.assert_allclose(tiny.log1p().numpy(), [1e-10, -1e-12, 0.0], rtol=1e-6)
    tiny.log1p().sum().backward()
    np.testing.assert_allclose(tiny.grad.numpy(), 1 / (1 + np.array([1e-10, -1e-12, 0.0])), rtol=1e-6)
    assert mg.tensor([0, 1]).log1p().dtype == mg.float32 and mg.tensor([3]).square().tolist() == [9]


def test_sort_and_argsort_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.permutation(24).reshape(2, 3, 4) + rng.uniform(0.2, 0.8, (2, 3, 4)), dtype=mg.float64,
                  requires_grad=True)
    for dim in (0, 1, -1):
        for descending in (False, True):
            values, indices = x.sort(dim, descending=descending)
            theirs = torch.sort(torch.tensor(x.numpy()), dim, descending=descending)
            np.testing.assert_array_equal(values.numpy(), theirs.values.numpy())
            np.testing.assert_array_equal(indices.numpy(), theirs.indices.numpy())
            assert indices.dtype == mg.int64 and not indices.requires_grad
            assert x.argsort(dim, descending).tolist() == theirs.indices.tolist()
            mg.gradcheck(lambda x: x.sort(dim, descending=descending).values, [x])
    matches_torch(lambda x: mg.sort(x, 1, True).values, lambda x: torch.sort(x, 1, True).values, [x])
    ties = [2.0, float("nan"), 1.0, 2.0, 1.0, float("nan")]  # stable: tied values keep their order; NaN is the largest
    for descending in (False, True):
        ours = mg.sort(mg.tensor(ties), descending=descending)
        theirs = torch.sort(torch.tensor(ties), descending=descending, stable=True)
        assert ours.indices.tolist() == theirs.indices.tolist() == mg.argsort(mg.tensor(ties), descending=descending).tolist()
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    assert mg.tensor([3, 1, 2]).sort().values.tolist() == [1, 2, 3]  # integers too
    values, indices = mg.tensor(5.0).sort()
    assert values.shape == indices.shape == () and values.item() == 5.0 and indices.item() == 0


def test_nelement():
    assert mg.ones(2, 3).nelement() == 6 == mg.ones(2, 3).numel()


# ---- generators: torch.Generator and generator= ---------------------------------------------------
def draws(generator):
    """One of each kind of random draw, from generator."""
    probs = mg.tensor([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
    weight = mg.zeros(2, 3)
    with mg.no_grad():
        weight.normal_(0, 0.02, generator=generator)
    return [mg.randn(2, 3, generator=generator), mg.rand(4, generator=generator),
            mg.randint(0, 10, (5,), generator=generator), mg.randperm(6, generator=generator),
            mg.multinomial(probs, 2, generator=generator), probs.multinomial(4, True, generator=generator),
            weight, mg.nn.init.uniform_(mg.zeros(3), -1, 1, generator=generator)]


def test_a_generator_seeded_alike_draws_alike_and_leaves_the_global_stream_alone():
    mg.manual_seed(7)
    expected_global = mg.rand(3).tolist()
    mg.manual_seed(7)
    first = draws(mg.Generator().manual_seed(2147483647))  # makemore's seed
    assert mg.rand(3).tolist() == expected_global  # the global stream did not move
    second = draws(mg.Generator().manual_seed(2147483647))
    assert all(a.tolist() == b.tolist() for a, b in zip(first, second))
    other = draws(mg.Generator().manual_seed(1))
    assert first[0].tolist() != other[0].tolist()
    assert mg.Generator().manual_seed(5).initial_seed() == 5


def test_a_generator_draws_only_for_its_own_device(fake_cuda):
    with pytest.raises(ValueError, match=r"a generator on cpu cannot draw numbers for cuda; make one with "
                                         r"mg.Generator\('cuda'\)"):
        mg.randn(2, device="cuda", generator=mg.Generator())
    on_gpu = mg.Generator("cuda").manual_seed(3)
    assert mg.randn(2, device="cuda", generator=on_gpu).device == "cuda"


def test_expm1_keeps_tiny_values_and_elu_uses_it():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    (x,) = leaves(rng, (3, 4))
    mg.gradcheck(mg.expm1, [x])
    matches_torch(lambda x: x.expm1(), torch.expm1, leaves(rng, (3, 4), low=-3, high=3))
    tiny = mg.tensor([1e-10, -1e-12, 0.0])  # float32: exp(x) - 1 would give 0 for these
    np.testing.assert_allclose(tiny.expm1().numpy(), [1e-10, -1e-12, 0.0], rtol=1e-6)
    np.testing.assert_allclose(mg.nn.functional.elu(-tiny).numpy(), [-1e-10, 1e-12, 0.0], rtol=1e-6)
