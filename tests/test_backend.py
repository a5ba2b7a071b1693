"""backend's reductions (sum_dims, mean_dims, max_dims) against NumPy's own, on every kind of
input the ops give them: any dims, float32 and float64, strided views, NaN and -inf, size-0 and
size-1 axes. They replace NumPy's reductions for speed, so they must agree exactly in shape and
dtype, and in value (max exactly; sums to rounding, BLAS adds in another order)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend


@st.composite
def arrays_and_dims(draw):
    # up to ~40^3 elements: above and below backend.FAST_REDUCE_MIN_SIZE, rows short and long
    shape = tuple(draw(st.lists(st.integers(0, 40), min_size=1, max_size=3)))
    dims = tuple(sorted(draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    array = np.random.default_rng(seed).standard_normal(shape[::-1]).astype(dtype)
    array = array.T if draw(st.booleans()) else np.ascontiguousarray(array.T)  # strided or not
    return array, dims


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered in divide")
@settings(max_examples=300, deadline=None)
@given(arrays_and_dims())
def test_sum_and_mean_match_numpy(case):  # the mean over an empty axis is 0/0 = NaN in both, with NumPy's warning
    x, dims = case
    exact = x.astype(np.float64)
    for ours, numpys in ((backend.sum_dims, np.sum), (backend.mean_dims, np.mean)):
        got = ours(x, dims)
        assert got.shape == numpys(x, axis=dims, keepdims=True).shape and got.dtype == x.dtype
        # rounding error of a sum grows with the sum of the magnitudes, not with the (cancelling) sum itself
        expected = numpys(exact, axis=dims, keepdims=True)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))  # the mean of nothing: NaN in both
        error = np.abs(got - expected)
        bound = (1e-4 if x.dtype == np.float32 else 1e-12) * numpys(np.abs(exact), axis=dims, keepdims=True)
        assert np.all((error <= bound) | np.isnan(bound)), f"error {error.max()} over the bound {bound.max()}"


@settings(max_examples=300, deadline=None)
@given(arrays_and_dims())
def test_max_matches_numpy_exactly(case):
    x, dims = case
    # the max of nothing is max's identity, -inf (NumPy refuses it unless given initial=)
    expected = np.max(x, axis=dims, keepdims=True, initial=-np.inf if x.size == 0 else None)
    got = backend.max_dims(x, dims)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("after", [1, 3])  # the last axis, or one with a block of rows after it
@pytest.mark.parametrize("length", [2, 3, 5, 8, 13, 64, 65, 255])
def test_max_over_a_short_axis_finds_the_max_wherever_it_is(length, after):
    """The folding in halves must visit every element, the odd one out included."""
    rows = backend.FAST_REDUCE_MIN_SIZE // length + 1  # big enough to be folded, not left to NumPy
    for position in range(length):
        x = np.zeros((rows, length, after), np.float32)
        x[-1, position, -1] = 7
        top = backend.max_dims(x, (1,))
        assert top.shape == (rows, 1, after) and top[-2:, 0, -1].tolist() == [0, 7] and top.sum() == 7


def test_max_propagates_nan_and_handles_minus_infinity_as_numpy_does():
    x = np.array([[1.0, np.nan, 3.0], [-np.inf, -np.inf, -np.inf], [-np.inf, 2.0, -np.inf]], np.float32)
    x = np.tile(x, (backend.FAST_REDUCE_MIN_SIZE, 1))
    np.testing.assert_array_equal(backend.max_dims(x, (1,))[:3], [[np.nan], [-np.inf], [2.0]])


@pytest.mark.parametrize("length", [1, 2, 7])
def test_reductions_return_new_arrays_not_views_of_their_input(length):
    x = np.ones((backend.FAST_REDUCE_MIN_SIZE, length), np.float32)
    for reduce in (backend.max_dims, backend.sum_dims, backend.mean_dims):
        reduce(x, (1,))[...] = 5  # softmax works in place on what they return; x must not change
        np.testing.assert_array_equal(x, 1)


def test_a_restarted_generator_draws_by_the_manual_seed_and_key_alone():
    """What a GPU checkpoint relies on: restarted at a step, the generator draws the same numbers
    whatever it drew before, and other numbers at another step or after another manual_seed."""
    def draws_after(seed, drawn_before, key):
        mg.manual_seed(seed)
        mg.rand(drawn_before)
        backend.restart_generator("cpu", key)
        return mg.rand(5).numpy()

    assert (draws_after(7, 3, 40) == draws_after(7, 11, 40)).all()
    assert not (draws_after(7, 3, 40) == draws_after(7, 3, 60)).any()
    assert not (draws_after(7, 3, 40) == draws_after(8, 3, 40)).any()
    mg.manual_seed(0)
