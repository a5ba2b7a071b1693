import pytest

import minigrad as mg


def pytest_addoption(parser):
    parser.addoption("--device", action="append", default=None,
                     help="run device-parametrised tests on these devices (default: cpu, and cuda when available)")
    parser.addoption("--student", action="store_true", default=False,
                     help="grade YOUR lessons/exercises/exNN_*.py: one test per exercise, failing until solved "
                          "(see lessons/exercises/README.md)")
    parser.addoption("--simulated-cuda", action="store_true", default=False,
                     help="run the cuda tests on a fake GPU made of NumPy (tests/simulated_cuda.py), "
                          "which catches host/device mix-ups without a GPU")


def pytest_configure(config):
    """--simulated-cuda: swap the fake cupy in before any test module is imported, since some of
    them decide at import time (skipif) whether cuda is available."""
    if config.getoption("simulated_cuda"):
        from tests import simulated_cuda
        config._simulated_cuda = pytest.MonkeyPatch()
        simulated_cuda.install(config._simulated_cuda)


def pytest_unconfigure(config):
    if hasattr(config, "_simulated_cuda"):
        config._simulated_cuda.undo()


def pytest_generate_tests(metafunc):
    """A `device` fixture runs the same test on every backend (minitorch style)."""
    if "device" in metafunc.fixturenames:
        devices = metafunc.config.getoption("device") or ["cpu", "cuda"]
        params = [pytest.param(d, marks=pytest.mark.skipif(d == "cuda" and not mg.cuda_is_available(),
                                                           reason="needs CuPy and an NVIDIA GPU"))
                  for d in devices]
        metafunc.parametrize("device", params)


@pytest.fixture(autouse=True)
def _seeded():
    mg.manual_seed(0)
