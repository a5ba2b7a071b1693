import pytest

import minigrad as mg


def pytest_addoption(parser):
    parser.addoption("--device", action="append", default=None,
                     help="run device-parametrised tests on these devices (default: cpu, and cuda when available)")
    parser.addoption("--student", action="store_true", default=False,
                     help="grade YOUR lessons/exercises/exNN_*.py: one test per exercise, failing until solved "
                          "(see lessons/exercises/README.md)")


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
