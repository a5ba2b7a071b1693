"""mg.Generator: a stream of random numbers of its own, as torch.Generator.

    g = mg.Generator().manual_seed(2147483647)
    W = mg.randn(27, 27, generator=g)              # the same W on every run
    ix = mg.multinomial(p, 1, replacement=True, generator=g)

Drawing from it leaves the global stream (mg.manual_seed's) where it was, so a
script's sampling does not shift the dropout masks of its training, or the
other way round. The numbers are NumPy's (or CuPy's), not PyTorch's: the same
seed gives a different W than torch.Generator would, but the same one every run.
"""
from minigrad import backend


class Generator:
    def __init__(self, device="cpu"):
        self.device = backend.check_device(device)
        self.manual_seed(0)

    def manual_seed(self, seed):
        """Start the stream again from seed; returns the generator, so it can be made in one line."""
        self.seed_value = int(seed)
        self.stream = backend.new_generator(self.device, self.seed_value)
        return self

    def initial_seed(self):
        return self.seed_value

    def __repr__(self):
        return f"Generator(device={str(self.device)!r}, seed={self.seed_value})"
