"""mg.cuda: the questions ported code asks torch.cuda, answered for minigrad's one GPU.

    device = "cuda" if mg.cuda.is_available() else "cpu"

(mg.cuda_is_available() is the same question, under its older name.)
"""
from minigrad import backend


def is_available():
    """True when CuPy is installed and sees at least one GPU, so device="cuda" works."""
    return backend.cuda_is_available()


def device_count():
    """The GPUs minigrad can use: 1 when one is available (minigrad uses the first, "cuda" or
    "cuda:0", even on a machine with more), else 0."""
    return backend.cuda_device_count()
