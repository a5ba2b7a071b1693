"""Hypothesis strategies shared by the op tests: small shapes, broadcastable
pairs, and float64 inputs drawn from each op's safe domain."""
import numpy as np
from hypothesis import strategies as st

import minigrad as mg

small_dims = st.integers(min_value=1, max_value=4)
shapes = st.lists(small_dims, min_size=0, max_size=3).map(tuple)
nonempty_shapes = st.lists(small_dims, min_size=1, max_size=3).map(tuple)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def broadcastable_pairs(draw):
    """Two shapes NumPy can broadcast: the second drops leading dims and sets some dims to 1."""
    first = draw(nonempty_shapes)
    drop = draw(st.integers(0, len(first)))
    second = tuple(1 if draw(st.booleans()) else n for n in first[drop:])
    return (first, second) if draw(st.booleans()) else (second, first)


def make_input(domain, shape, seed, transposed=False, device="cpu"):
    """A float64 leaf from `domain`; transposed=True gives a non-contiguous (strided) array."""
    rng = np.random.default_rng(seed)
    array = domain(rng, shape[::-1]).T if transposed else domain(rng, shape)
    array = np.asarray(array, dtype=np.float64)
    return mg.tensor(array, dtype=mg.float64, device=device, requires_grad=True)
