"""PyTorch porting gaps a probe listed: devices (mg.device, mg.cuda), .to() giving self when nothing
changes, state_dict's order, F.softmax without dim, and the small Module and tensor helpers (float(),
as_tensor, logsumexp, mm / bmm, isnan, log1p, sort, ...). Each differentiable addition is gradchecked
in float64 and, where torch is installed, compared with PyTorch."""
import copy
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend, nn
from minigrad.nn import functional as F
from tests import simulated_cuda


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
