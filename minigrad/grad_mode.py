"""Grad mode: whether ops record the graph backward needs. On by default; off inside
`with mg.no_grad():` (evaluation, weight updates), where ops compute values alone and
nothing requires grad. The switches mirror PyTorch's: no_grad, enable_grad, set_grad_enabled,
inference_mode, each a with-block and a decorator.
"""
import contextlib

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


@contextlib.contextmanager
def _grad_mode(enabled):
    """Grad mode `enabled` (None: as it is) inside the block, the previous mode back after it. Made
    by contextlib.contextmanager, it is also a decorator: @_grad_mode(False) on a function runs each
    call in that mode, and each call puts back the mode its caller had."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = previous if enabled is None else bool(enabled)
    try:
        yield
    finally:
        _grad_enabled = previous


def _block_or_decorated(enabled, function):
    """_grad_mode(enabled) as a with-block; given a function (a bare @decorator), that function
    wrapped to run in the mode."""
    block = _grad_mode(enabled)
    return block(function) if callable(function) else block


def no_grad(function=None):
    """Inside this block ops record no graph: for evaluation and weight updates. Also a decorator:
    @mg.no_grad() on a function, or bare @mg.no_grad, as in PyTorch."""
    return _block_or_decorated(False, function)


def enable_grad(function=None):
    """Grad mode on inside the block (or the decorated function), even within no_grad(), as
    torch.enable_grad: `with mg.enable_grad():`, @mg.enable_grad() or bare @mg.enable_grad."""
    return _block_or_decorated(True, function)


class set_grad_enabled:
    """Grad mode on or off, as torch.set_grad_enabled. Called, it sets the mode:
    mg.set_grad_enabled(False). As a context manager, `with mg.set_grad_enabled(training):`, it
    puts the previous mode back at the end of the block. As a decorator,
    @mg.set_grad_enabled(False), the mode holds only inside the function: the mode its construction
    set is undone at once, as PyTorch does."""

    def __init__(self, mode):
        global _grad_enabled
        self.mode = bool(mode)
        self.previous, _grad_enabled = _grad_enabled, self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous

    def __call__(self, function):
        global _grad_enabled
        _grad_enabled = self.previous  # a decorator: no mode changes until the function is called
        return _grad_mode(self.mode)(function)


def inference_mode(mode=True):
    """torch.inference_mode(): here no_grad() (PyTorch's also skips its in-place bookkeeping, which
    minigrad has no way to skip); inference_mode(False) changes nothing. A context manager or a
    decorator, @mg.inference_mode() or bare @mg.inference_mode, as in PyTorch."""
    if callable(mode):  # bare @mg.inference_mode: mode is the function
        return _block_or_decorated(False, mode)
    return _grad_mode(False if mode else None)
