"""Every op: forward against NumPy, backward against finite differences (float64).

The elementwise tables come from minigrad.opcheck (the same table `minigrad
gradcheck` runs); hypothesis draws the shapes, broadcasting and layouts.
"""
import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import ops
from minigrad.opcheck import BINARY, UNARY, catalogue_cases, distinct, real
from tests.strategies import broadcastable_pairs, make_input, nonempty_shapes, seeds, shapes, small_dims

checks = settings(max_examples=40, deadline=None)

# NumPy's answer for each elementwise op: the forward pass must be right too.
UNARY_REFERENCE = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0),
    "gelu": lambda x: 0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2))), "erf": scipy.special.erf,
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "abs": np.abs, "clamp": lambda x: np.clip(x, -0.5, 0.5), "pow_scalar": lambda x: x**3,
    "pow_fractional": lambda x: x**1.5, "rpow_scalar": lambda x: 2.0**x, "clone": lambda x: x,
}
BINARY_REFERENCE = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "maximum": np.maximum,
}


def test_every_table_op_has_a_reference():
    assert set(UNARY) == set(UNARY_REFERENCE)
    assert set(BINARY) == set(BINARY_REFERENCE)


@pytest.mark.parametrize("name", sorted(UNARY))
@checks
@given(shape=shapes, seed=seeds, transposed=st.booleans())
def test_unary(name, shape, seed, transposed):
    fn, domain = UNARY[name]
    x = make_input(domain, shape, seed, transposed)
    np.testing.assert_allclose(fn(x).numpy(), UNARY_REFERENCE[name](x.numpy()), rtol=1e-12, atol=1e-12)
    mg.gradcheck(fn, [x])


@pytest.mark.parametrize("name", sorted(BINARY))
@checks
@given(pair=broadcastable_pairs(), seed=seeds, transposed=st.booleans())
def test_binary_broadcasting(name, pair, seed, transposed):
    fn, domain_a, domain_b = BINARY[name]
    a = make_input(domain_a, pair[0], seed, transposed)
    b = make_input(domain_b, pair[1], seed + 1)
    out = fn(a, b)
    np.testing.assert_allclose(out.numpy(), BINARY_REFERENCE[name](a.numpy(), b.numpy()), rtol=1e-12)
    mg.gradcheck(fn, [a, b])


@pytest.mark.parametrize("name", ["add", "mul", "sub", "div"])
def test_binary_with_python_scalars(name):
    fn, domain_a, _ = BINARY[name]
    x = make_input(domain_a, (2, 3), 0)
    mg.gradcheck(lambda x: fn(x, 1.5), [x])
    mg.gradcheck(lambda x: fn(1.5, x), [x])


@st.composite
def shape_and_dim(draw):
    shape = draw(nonempty_shapes)
    dim = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                         st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple)))
    return shape, dim


REDUCTIONS = {  # name: (op, NumPy's, the inputs: max and min get no near-ties for a finite difference to cross)
    "sum": (ops.sum, np.sum, real), "mean": (ops.mean, np.mean, real),
    "max": (ops.max, np.max, distinct), "min": (ops.min, np.min, distinct),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@checks
@given(case=shape_and_dim(), keepdim=st.booleans(), seed=seeds, transposed=st.booleans())
def test_reductions(name, case, keepdim, seed, transposed):
    (shape, dim), (fn, reference, domain) = case, REDUCTIONS[name]
    x = make_input(domain, shape, seed, transposed)
    np.testing.assert_allclose(fn(x, dim, keepdim).numpy(), reference(x.numpy(), axis=dim, keepdims=keepdim))
    mg.gradcheck(lambda x: fn(x, dim, keepdim), [x])


@checks
@given(case=shape_and_dim(), keepdim=st.booleans(), unbiased=st.booleans(), seed=seeds)
def test_var(case, keepdim, unbiased, seed):
    shape, dim = case
    x = make_input(real, shape, seed)
    n = x.numel() if dim is None else int(np.prod([shape[d] for d in np.atleast_1d(dim)]))
    if unbiased and n == 1:
        return  # the unbiased variance of one value divides by zero, as in NumPy
    for reduction, reference in ((ops.var, np.var), (ops.std, np.std)):
        expected = reference(x.numpy(), axis=dim, keepdims=keepdim, ddof=int(unbiased))
        np.testing.assert_allclose(reduction(x, dim, keepdim, correction=int(unbiased)).numpy(), expected)
        mg.gradcheck(lambda x: reduction(x, dim, keepdim, correction=int(unbiased)), [x])


@pytest.mark.parametrize("reduce", [ops.max, ops.min])
def test_max_min_split_ties_evenly(reduce):
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], dtype=mg.float64, requires_grad=True)
    reduce(x, 1).sum().backward()
    expected = [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]] if reduce is ops.max else [[1, 0, 0], [1 / 3] * 3]
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_maximum_splits_ties_evenly():
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = mg.tensor([2.0, 2.0, 1.0], requires_grad=True)
    ops.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0, 0.5, 1])
    np.testing.assert_allclose(b.grad.numpy(), [1, 0.5, 0])


def test_kinks_take_the_documented_subgradient():
    x = mg.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    (ops.relu(x) + ops.abs(x)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0 - 1, 0 + 0, 1 + 1])
    y = mg.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], requires_grad=True)
    ops.clamp(y, -0.5, 0.5).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0, 1, 1, 1, 0])  # the bounds themselves pass the gradient


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_sigmoid_keeps_full_precision_far_into_both_tails(dtype):
    x = np.array([-100.0, -40.0, -20.0, -10.0, 0.0, 10.0, 40.0], dtype=mg.float64)
    expected = scipy.special.expit(x)
    t = mg.tensor(x, dtype=dtype, requires_grad=True)
    y = ops.sigmoid(t)
    tiny = np.finfo(np.dtype(dtype.name)).tiny
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6, atol=tiny)  # relative, even at 1e-44
    ops.log(y[1:4]).sum().backward()  # log sigmoid(x) ~ x for very negative x: slope 1, not NaN
    np.testing.assert_allclose(t.grad.numpy()[1:4], 1 - expected[1:4], rtol=1e-6)


def test_power_zero_is_flat_even_at_zero():
    x = mg.tensor([0.0, 2.0], dtype=mg.float64, requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0])  # not 0 * 0^-1 = NaN


def test_the_exponents_gradient_is_zero_at_base_zero():
    # d(a^b)/db = a^b log(a): at a = 0 the value 0^b is flat in b, so the slope is 0, not 0 * log(0) = NaN
    a = mg.tensor([0.0, 2.0], dtype=mg.float64)
    b = mg.tensor([2.0, 3.0], dtype=mg.float64, requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [0, 8 * np.log(2)], rtol=1e-12)


def test_squeeze_takes_a_dim_or_a_tuple_of_dims():
    x = mg.zeros(1, 2, 1, 1)
    assert x.squeeze().shape == (2,) and x.squeeze(-2).shape == (1, 2, 1) and x.squeeze(1).shape == (1, 2, 1, 1)
    assert x.squeeze((0, -1)).shape == (2, 1)  # PyTorch 2's tuple of dims (was a TypeError about a tuple)


def test_min_and_max_of_booleans():
    # as in PyTorch (min crashed on NumPy's boolean minus, whose message suggested a ~ minigrad lacks)
    mask = mg.tensor([[True, False], [True, True]])
    assert mask.min().item() is False and mask.max().item() is True
    assert mask.min(1).values.tolist() == [False, True] and mask.min(0, keepdim=True).values.tolist() == [[True, False]]


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_along_a_dim_give_values_and_indices_as_pytorch_does(name):
    x = mg.tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 0.0]], requires_grad=True)
    values, indices = getattr(x, name)(1)  # unpacks as in PyTorch (two rows: it used to unpack the rows)
    expected = {"max": ([5.0, 7.0], [1, 0]), "min": ([1.0, 0.0], [0, 2])}[name]
    assert (values.tolist(), indices.tolist()) == expected and indices.dtype == mg.int64
    along = getattr(x, name)(-1, keepdim=True)
    assert along.values.shape == along.indices.shape == (2, 1) and along.indices.tolist() == [[i] for i in expected[1]]
    values.sum().backward()  # the values carry the gradient
    assert x.grad.numpy().sum() == 2
    whole, dims = getattr(x, name)(), getattr(x, name)((0, 1))  # all of it, or a tuple of dims: the values alone
    assert isinstance(whole, mg.Tensor) and isinstance(dims, mg.Tensor) and whole.item() == dims.item()
    assert x.argmax(1, keepdim=True).tolist() == [[1], [0]] and x.argmin().item() == 5


def test_clamp_takes_constant_tensor_bounds_and_refuses_learned_ones():
    x = mg.tensor([1.0, -2.0, 3.0], dtype=mg.float64, requires_grad=True)
    y = ops.clamp(x, min=mg.tensor(0.0, dtype=mg.float64), max=mg.tensor(2.0, dtype=mg.float64))
    assert y.dtype == mg.float64 and y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [1, 0, 2])
    with pytest.raises(TypeError, match=r"x.maximum\(low\) and mg.where\(x > high, high, x\)"):
        ops.clamp(x, min=mg.tensor(0.0, dtype=mg.float64, requires_grad=True))
    # what the message suggests exists (it named mg.maximum and mg.minimum, which do not) and learns the bounds
    low, high = (mg.tensor(v, dtype=mg.float64, requires_grad=True) for v in (0.0, 2.0))
    mg.where(x > high, high, x.maximum(low)).sum().backward()
    assert (low.grad.item(), high.grad.item()) == (1.0, 1.0)


@checks
@given(pair=broadcastable_pairs(), seed=seeds, transposed=st.booleans())
def test_clamp_with_tensor_bounds_broadcasts_either_way(pair, seed, transposed):
    """A bound may be wider than x (the output takes the broadcast shape, as in PyTorch) or narrower;
    x lands within gradcheck's step of a bound with probability ~1e-6, so the kinks are not met."""
    x = make_input(real, pair[0], seed, transposed)
    rng = np.random.default_rng(seed + 1)
    low = rng.uniform(-1.0, 0.0, pair[1])
    high = low + rng.uniform(0.5, 1.5, pair[1])
    bounds = {"min": mg.tensor(low, dtype=mg.float64), "max": mg.tensor(high, dtype=mg.float64)}
    np.testing.assert_array_equal(ops.clamp(x, **bounds).numpy(), np.clip(x.numpy(), low, high))
    mg.gradcheck(lambda x: ops.clamp(x, **bounds), [x])
    mg.gradcheck(lambda x: ops.clamp(x, min=bounds["min"]), [x])


def test_where_needs_a_bool_condition():
    x = mg.tensor([1.0, 0.0], requires_grad=True)
    with pytest.raises(TypeError, match="where: the condition must be a bool tensor .* got float32"):
        ops.where(x, x, x * 0)


def test_empty_reductions_and_products():
    empty = mg.tensor(np.zeros((2, 0)), dtype=mg.float64)
    with np.errstate(invalid="ignore"):
        assert np.isnan(empty.var(-1).numpy()).all()  # NaN, as in PyTorch (n - 1 = -1 gave -0)
    a = mg.ones(2, 3, 0, dtype=mg.float64, requires_grad=True)
    b = mg.ones(0, 4, dtype=mg.float64, requires_grad=True)
    y = a @ b  # summing over nothing: zeros
    np.testing.assert_array_equal(y.numpy(), np.zeros((2, 3, 4)))
    y.sum().backward()
    assert a.grad.shape == (2, 3, 0) and b.grad.shape == (0, 4)
    assert ops.linear(mg.ones(2, 0), mg.ones(3, 0)).shape == (2, 3)


def test_linear_with_a_1d_weight_is_one_output_dropped_from_the_shape():
    x = mg.randn(4, 3, dtype=mg.float64, requires_grad=True)
    w = mg.randn(3, dtype=mg.float64, requires_grad=True)
    y = ops.linear(x, w, mg.tensor(0.5, dtype=mg.float64))
    assert y.shape == (4,)
    np.testing.assert_allclose(y.numpy(), x.numpy() @ w.numpy() + 0.5)
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().sum(0))


def test_floor_divide_refuses_mixed_float_dtypes_as_every_op_does():
    with pytest.raises(TypeError, match=r"floor_divide: inputs mix dtypes \['float32', 'float64'\]"):
        mg.ones(2) // mg.tensor(2.0, dtype=mg.float64)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_scatter_add_and_index_add_on_every_device(device, dtype):
    # on a GPU, CUDA's atomicAdd has no int64 or bool form: backend.scatter_add goes around it
    index = mg.tensor([0, 2, 0, 2, 2], device=device)
    src = mg.tensor([1, -5, 3, 7, 1], device=device).to(getattr(mg, dtype))
    expected = {"bool": [True, False, True]}.get(dtype, [4, 0, 3])
    assert mg.zeros(3, dtype=getattr(mg, dtype), device=device).scatter_add(0, index, src).tolist() == expected
    assert mg.zeros(3, dtype=getattr(mg, dtype), device=device).index_add(0, index, src).tolist() == expected


def test_integers_to_negative_integer_powers_are_refused_on_every_device(device):
    # NumPy and PyTorch refuse them; CuPy would quietly give 0
    integers = mg.tensor([2, 3], device=device)
    assert (integers ** 2).tolist() == [4, 9] and (2 ** integers).tolist() == [4, 8]
    mixed = mg.tensor([1, -1], device=device)
    for power in (lambda: integers ** -1, lambda: 2 ** -integers, lambda: integers ** mixed):
        with pytest.raises(ValueError, match="pow: integers to negative integer powers are not allowed"):
            power()
    assert (integers.float() ** -1).tolist() == [0.5, pytest.approx(1 / 3)]


def test_prod_of_a_0d_tensor_along_its_one_dim():
    x = mg.tensor(2.0, dtype=mg.float64, requires_grad=True)
    for dim, keepdim in ((0, False), (-1, True)):
        x.grad = None
        product = x.prod(dim, keepdim=keepdim)
        assert product.shape == () and product.item() == 2.0
        product.backward()
        assert x.grad.item() == 1.0  # d/dx x = 1, as torch.prod gives
    with pytest.raises(IndexError, match="dim 1 is out of range for a tensor with 0 dims"):
        x.prod(1)


def test_where_never_leaks_nan_from_the_branch_not_taken():
    x = mg.tensor([-1.0, 4.0], requires_grad=True)
    safe = ops.where(x > 0, x, mg.zeros(2))
    with np.errstate(divide="ignore", invalid="ignore"):  # sqrt(0) has an infinite slope
        ops.where(x > 0, ops.sqrt(safe), mg.zeros(2)).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.25])


def test_where_never_leaks_nan_from_the_branch_not_taken_into_the_else_branch():
    # the same as above with the branches swapped: the else branch (b) is selected, not masked
    x = mg.tensor([-1.0, 4.0], requires_grad=True)
    safe = ops.where(x <= 0, mg.zeros(2), x)
    with np.errstate(divide="ignore", invalid="ignore"):
        ops.where(x <= 0, mg.zeros(2), ops.sqrt(safe)).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.25])


@checks
@given(pair=broadcastable_pairs(), seed=seeds)
def test_where_gradcheck(pair, seed):
    a, b = make_input(real, pair[0], seed), make_input(real, pair[1], seed + 1)
    condition = mg.tensor(np.random.default_rng(seed).uniform(size=pair[0]) > 0.5)
    mg.gradcheck(lambda a, b: ops.where(condition, a, b), [a, b])


@checks
@given(shape=nonempty_shapes, seed=seeds)
def test_masked_fill(shape, seed):
    x = make_input(real, shape, seed)
    mask = mg.tensor(np.random.default_rng(seed).uniform(size=shape[-1:]) > 0.5)  # broadcast, as a causal mask
    np.testing.assert_array_equal(x.masked_fill(mask, -np.inf).numpy(), np.where(mask.numpy(), -np.inf, x.numpy()))
    mg.gradcheck(lambda x: x.masked_fill(mask, 0.5), [x])
    assert x.masked_fill(mask, 0.5).dtype == mg.float64


@checks
@given(shape=st.lists(small_dims, min_size=2, max_size=3).map(tuple), seed=seeds, diagonal=st.integers(-2, 2),
       transposed=st.booleans())
def test_tril_and_triu(shape, seed, diagonal, transposed):
    x = make_input(real, shape, seed, transposed)
    np.testing.assert_array_equal(mg.tril(x, diagonal).numpy(), np.tril(x.numpy(), diagonal))
    np.testing.assert_array_equal(x.triu(diagonal).numpy(), np.triu(x.numpy(), diagonal))
    mg.gradcheck(lambda x: mg.tril(x, diagonal), [x])
    mg.gradcheck(lambda x: x.triu(diagonal), [x])


def test_tril_of_ones_is_a_causal_mask_and_needs_two_dims():
    assert (mg.tril(mg.ones(3, 3)) == 1).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert mg.tril(mg.ones(2, 2, dtype=mg.int64)).dtype == mg.int64
    with pytest.raises(ValueError, match=r"tril: needs a tensor of at least 2 dims, got shape \(3,\)"):
        mg.tril(mg.ones(3))


@checks
@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_split_and_chunk(shape, seed, data):
    x = make_input(real, shape, seed, transposed=data.draw(st.booleans()))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = data.draw(st.integers(1, 4))
    pieces = x.split(size, dim)
    expected = np.array_split(x.numpy(), range(size, shape[dim], size), axis=dim)
    assert len(pieces) == len(expected)
    for piece, want in zip(pieces, expected):
        np.testing.assert_array_equal(piece.numpy(), want)
    mg.gradcheck(lambda x: ops.cat([p * (i + 1) for i, p in enumerate(x.split(size, dim))], dim), [x])
    sections = [1, shape[dim] - 1]
    assert [p.shape[dim] for p in x.split(sections, dim)] == sections


def test_split_sizes_must_add_up_and_chunk_rounds_up_as_pytorch():
    x = mg.arange(12).reshape(2, 6)
    assert [p.shape for p in x.chunk(4, dim=1)] == [(2, 2)] * 3  # ceil(6 / 4) = 2 each: three chunks
    assert [p.tolist() for p in mg.arange(5).split(2)] == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match=r"split: sizes \[2, 2\] add up to 4, but dim 1 of shape \(2, 6\) is 6"):
        x.split([2, 2], dim=1)


@st.composite
def matmul_shapes(draw):
    """(a, b) shapes with a matching inner dim, broadcast batch dims, and 1-d operands."""
    n, m, k = draw(small_dims_3())
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    batch_b = [1 if draw(st.booleans()) else d for d in batch][draw(st.integers(0, len(batch))):]
    a = (k,) if draw(st.booleans()) else (*batch, n, k)
    b = (k,) if draw(st.booleans()) else (*batch_b, k, m)
    return a, b


def small_dims_3():
    return st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))


@checks
@given(case=matmul_shapes(), seed=seeds, transposed=st.booleans())
def test_matmul(case, seed, transposed):
    a = make_input(real, case[0], seed, transposed)
    b = make_input(real, case[1], seed + 1, transposed)
    np.testing.assert_allclose((a @ b).numpy(), np.matmul(a.numpy(), b.numpy()), rtol=1e-12, atol=1e-12)
    mg.gradcheck(ops.matmul, [a, b])


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        mg.ones(2, 3) @ mg.ones(4, 5)


@checks
@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_reshape_permute_transpose_expand(shape, seed, data):
    x = make_input(real, shape, seed, transposed=data.draw(st.booleans()))
    order = data.draw(st.permutations(range(len(shape))))
    np.testing.assert_array_equal(x.permute(*order).numpy(), x.numpy().transpose(order))
    mg.gradcheck(lambda x: x.permute(*order).reshape(-1), [x])
    mg.gradcheck(lambda x: x.transpose(0, -1), [x])
    target = (2, *(3 if n == 1 else n for n in shape))  # a new leading dim, and size-1 dims stretched
    mg.gradcheck(lambda x: x.expand(*target), [x])
    mg.gradcheck(lambda x: x.unsqueeze(0).unsqueeze(-1).squeeze(), [x])


@checks
@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_getitem_with_repeated_indices_and_masks(shape, seed, data):
    x = make_input(real, shape, seed)
    picks = data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=6))
    np.testing.assert_array_equal(x[picks].numpy(), x.numpy()[picks])
    mg.gradcheck(lambda x: x[mg.tensor(picks)], [x])  # repeated picks: gradients add up
    mask = np.random.default_rng(seed).uniform(size=shape) > 0.5
    mg.gradcheck(lambda x: x[mg.tensor(mask)], [x])
    stop = data.draw(st.integers(1, shape[-1]))
    mg.gradcheck(lambda x: x[..., :stop:2], [x])


def test_getitem_repeated_index_adds_up():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 0, 1])



@pytest.mark.parametrize("index, dim, size, bad", [
    (lambda: mg.tensor([0, 3]), 0, 3, 3),
    (lambda: [1, -4], 0, 3, -4),  # -3..-1 count from the end; -4 is before the start
    (lambda: (slice(None), mg.tensor([[4]])), 1, 4, 4),
    (lambda: (Ellipsis, mg.tensor([0, 9])), 1, 4, 9),
    (lambda: (None, 0, mg.tensor([-5])), 1, 4, -5),  # None adds a dim, picks from none
    (lambda: (mg.tensor([True, False, True]), mg.tensor([4])), 1, 4, 4),  # a mask picks from its own dims
])
def test_an_index_out_of_range_names_the_dim_and_its_size(index, dim, size, bad):
    x = mg.zeros(3, 4, requires_grad=True)
    with pytest.raises(IndexError, match=rf"indexing: index {bad} is out of range for dim {dim} of size {size} "
                                         rf"in a tensor of shape \(3, 4\) \(expected -{size}..{size - 1}\)"):
        x[index()]


@pytest.mark.parametrize("shape, index, message", [
    ((2, 3, 4), lambda: (mg.tensor(np.ones((2, 3), bool)), mg.tensor([4])), "index 4 is out of range for dim 2 of size 4"),
    ((3, 4), lambda: (None, Ellipsis, mg.tensor([4])), "index 4 is out of range for dim 1 of size 4"),
    ((3, 4), lambda: mg.tensor(np.array([5], np.uint8)), "index 5 is out of range for dim 0 of size 3"),
    ((3, 4), lambda: mg.tensor([5, 7]), "index 5 is out of range"),  # the first one that is
])
def test_the_dim_an_index_picks_from_is_counted_right(shape, index, message):
    """A mask picks from as many dims as it has; ... stands for the dims the other parts leave."""
    with pytest.raises(IndexError, match=message):
        mg.zeros(*shape)[index()]


def test_gather_along_a_negative_dim():
    assert mg.arange(12).reshape(3, 4).gather(-1, mg.tensor([[3], [3], [3]])).tolist() == [[3], [7], [11]]


def test_assignment_out_of_range_is_refused_and_writes_nothing():
    x = mg.zeros(3, 4)
    with pytest.raises(IndexError, match=r"assignment: index 3 is out of range for dim 0 of size 3"):
        x[mg.tensor([0, 3])] = 1.0
    assert x.sum().item() == 0
    x[mg.tensor([0, -1]), 1] = 5.0
    assert x[:, 1].tolist() == [5.0, 0.0, 5.0]
    with pytest.raises(IndexError, match="assignment: index 4 is out of range for dim 1 of size 4"):
        x[mg.tensor([0]), mg.tensor([4])] = 1.0


def test_indices_at_the_ends_of_the_range_are_fine():
    x = mg.arange(12).reshape(3, 4)
    assert x[mg.tensor([-3, 2]), mg.tensor([-4, 3])].tolist() == [0, 11]
    assert x[..., [-1]].reshape(-1).tolist() == [3, 7, 11]
    assert x[[True, False, True]].shape == (2, 4)  # a list of booleans is a mask, not indices 1, 0, 1


def test_gather_index_out_of_range_names_the_dim():
    x = mg.zeros(3, 4)
    with pytest.raises(IndexError, match=r"gather: index 4 is out of range for dim 1 of size 4"):
        x.gather(1, mg.tensor([[0], [4], [1]]))
    with pytest.raises(IndexError, match=r"gather: index 3 is out of range for dim 0 of size 3"):
        x.gather(0, mg.tensor([[0, 3, 1, 2]]))

@checks
@given(shape=nonempty_shapes, seed=seeds, count=st.integers(1, 3), data=st.data())
def test_cat_and_stack(shape, seed, count, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    tensors = [make_input(real, shape, seed + i) for i in range(count)]
    np.testing.assert_array_equal(mg.cat(tensors, dim).numpy(), np.concatenate([t.numpy() for t in tensors], dim))
    np.testing.assert_array_equal(mg.stack(tensors, dim).numpy(), np.stack([t.numpy() for t in tensors], dim))
    mg.gradcheck(lambda *ts: mg.cat(list(ts), dim), tensors)
    mg.gradcheck(lambda *ts: mg.stack(list(ts), dim), tensors)


@checks
@given(shape=nonempty_shapes, seed=seeds, data=st.data())
def test_gather_with_repeated_indices(shape, seed, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(data.draw(st.integers(1, n)) if i != dim else data.draw(st.integers(1, 5))
                        for i, n in enumerate(shape))
    index = np.random.default_rng(seed).integers(0, shape[dim], index_shape)
    x = make_input(real, shape, seed)
    expected = np.take_along_axis(x.numpy()[tuple(slice(0, n) if i != dim else slice(None)
                                                  for i, n in enumerate(index_shape))], index, dim)
    np.testing.assert_array_equal(x.gather(dim, mg.tensor(index)).numpy(), expected)
    mg.gradcheck(lambda x: x.gather(dim, mg.tensor(index)), [x])


@checks
@given(shape=nonempty_shapes, seed=seeds, transposed=st.booleans(), data=st.data())
def test_scatter_add_with_repeated_indices(shape, seed, transposed, data):
    """gather's opposite: src[i][j] added at x[index[i][j]][j] (dim 0), repeated indices adding up; src may be
    larger than index (only index's extent is used, as in PyTorch). Checked against np.add.at."""
    dim = data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(data.draw(st.integers(1, n)) if i != dim else data.draw(st.integers(1, 5))
                        for i, n in enumerate(shape))
    src_shape = tuple(n + data.draw(st.integers(0, 1)) for n in index_shape)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, shape[dim], index_shape)
    x, src = make_input(real, shape, seed, transposed), make_input(real, src_shape, seed + 1)
    expected = x.numpy().copy()
    positions = tuple(index if d == dim else np.arange(n).reshape([-1 if k == d else 1 for k in range(len(shape))])
                      for d, n in enumerate(index_shape))
    np.add.at(expected, positions, src.numpy()[tuple(slice(0, n) for n in index_shape)])
    np.testing.assert_allclose(x.scatter_add(dim, mg.tensor(index), src).numpy(), expected, rtol=1e-12)
    mg.gradcheck(lambda x, src: x.scatter_add(dim, mg.tensor(index), src), [x, src])


@checks
@given(shape=nonempty_shapes, seed=seeds, transposed=st.booleans(), data=st.data())
def test_scatter_writes_src_and_sends_the_gradient_to_what_was_written(shape, seed, transposed, data):
    """src[i][j] written at x[index[i][j]][j] (dim 0); x's gradient is zero where src overwrote it. Each
    index line has no repeat (a repeated index writes one of its values, which one unspecified), so the
    result is checked against np.put_along_axis and gradchecked."""
    dim = data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(data.draw(st.integers(1, n)) for n in shape)  # along dim at most shape[dim]: no repeat
    src_shape = tuple(n + data.draw(st.integers(0, 1)) for n in index_shape)
    rng = np.random.default_rng(seed)
    lines = np.moveaxis(np.zeros(index_shape, dtype=np.int64), dim, -1)
    for line in np.ndindex(lines.shape[:-1]):  # distinct positions along dim in each line
        lines[line] = rng.permutation(shape[dim])[:index_shape[dim]]
    index = np.moveaxis(lines, -1, dim)
    x, src = make_input(real, shape, seed, transposed), make_input(real, src_shape, seed + 1)
    widened = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index_shape))
    expected = x.numpy().copy()
    np.put_along_axis(expected[widened], index, src.numpy()[tuple(slice(0, n) for n in index_shape)], dim)
    np.testing.assert_array_equal(x.scatter(dim, mg.tensor(index), src).numpy(), expected)
    mg.gradcheck(lambda x, src: x.scatter(dim, mg.tensor(index), src), [x, src])
    mg.gradcheck(lambda x: x.scatter(dim, mg.tensor(index), 0.5), [x])  # a number written


def test_scatter_and_its_in_place_form_as_in_pytorch():
    torch = pytest.importorskip("torch")
    x, index, src = np.arange(12.0).reshape(3, 4), np.array([[2, 0, 1, 1], [0, 1, 2, 0]]), -np.arange(8.0).reshape(2, 4)
    np.testing.assert_array_equal(mg.tensor(x).scatter(0, mg.tensor(index), mg.tensor(src)).numpy(),
                                  torch.tensor(x).scatter(0, torch.tensor(index), torch.tensor(src)).numpy())
    ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours_src, theirs_src = mg.tensor(src, requires_grad=True), torch.tensor(src, requires_grad=True)
    (ours.scatter(0, mg.tensor(index), ours_src) ** 2).sum().backward()
    (theirs.scatter(0, torch.tensor(index), theirs_src) ** 2).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    np.testing.assert_array_equal(ours_src.grad.numpy(), theirs_src.grad.numpy())
    labels = [2, 0, 3]  # the one-hot idiom, in place
    one_hot = mg.zeros(3, 4).scatter_(1, mg.tensor(labels).unsqueeze(1), 1.0)
    np.testing.assert_array_equal(one_hot.numpy(), torch.zeros(3, 4).scatter_(1, torch.tensor(labels).unsqueeze(1),
                                                                             1.0).numpy())
    np.testing.assert_array_equal(mg.zeros(3).scatter(0, mg.tensor([1]), value=2.0).numpy(),
                                  torch.zeros(3).scatter(0, torch.tensor([1]), value=2.0).numpy())
    with pytest.raises(RuntimeError, match="scatter_: in-place change of a tensor that requires grad"):
        mg.zeros(3, 4, requires_grad=True).scatter_(1, mg.tensor([[0]]), 1.0)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.scatter(1, mg.tensor([[4]]), 1.0), IndexError, "scatter: index 4 is out of range for dim 1 of size 4"),
    (lambda x: x.scatter(1, mg.tensor([[-1]]), 1.0), IndexError,  # PyTorch refuses it too; x[:, -1] would wrap
     r"scatter: index -1 is out of range for dim 1 of size 4 \(expected 0..3\)"),
    (lambda x: x.gather(1, mg.tensor([[-1]])), IndexError, "gather: index -1 is out of range for dim 1"),
    (lambda x: x.scatter(0, mg.tensor(np.zeros((2, 5), dtype=np.int64)), mg.ones(2, 5)), ValueError,
     r"scatter: index \(2, 5\) must fit inside x \(3, 4\) in every dim but 0"),
    (lambda x: x.scatter(1, mg.tensor([[0, 1, 2]]), mg.ones(1, 2)), ValueError,
     r"scatter: index \(1, 3\) must fit inside src \(1, 2\)"),
    (lambda x: x.scatter(0, mg.zeros(1, 1), 1.0), TypeError, "scatter: index must be an integer tensor .int64., got float32"),
    (lambda x: x.scatter(0, mg.tensor([[True]]), 1.0), TypeError, "scatter: index must be an integer tensor .int64., got bool"),
    (lambda x: x.scatter(0, [[0]], 1.0), TypeError, "scatter: index must be an integer tensor .int64., got list"),
    (lambda x: x.scatter(0, mg.tensor([0]), 1.0), ValueError, r"scatter: index \(1,\) must have as many dims as x \(3, 4\)"),
    (lambda x: x.scatter(0, mg.tensor([[0]]), mg.ones(1, 1, dtype=mg.float64)), TypeError,
     "scatter: src is float64 and x float32; expected one dtype"),
    (lambda x: x.scatter(0, mg.tensor([[0]]), np.ones((1, 1))), TypeError, "scatter: src must be a tensor or a number, got ndarray"),
    (lambda x: x.scatter(0, mg.tensor([[0]])), TypeError, "scatter: give src .a tensor, or a number. or value"),
    (lambda x: x.long().scatter(0, mg.tensor([[0]]), float("nan")), ValueError,
     "scatter: nan cannot be written into a tensor of int64"),
    (lambda x: mg.tensor(3.0).scatter(0, mg.tensor(0), 1.0), ValueError, "must have as many dims as x .., at least one"),
    (lambda x: x.scatter_add(0, mg.tensor([[0]]), mg.ones(1, 1, dtype=mg.int64)), TypeError,
     "scatter_add: src is int64 and x float32"),
])
def test_gather_and_the_scatters_refuse_what_pytorch_refuses(call, error, message):
    with pytest.raises(error, match=message):
        call(mg.zeros(3, 4))


def test_a_scatter_in_place_that_fails_changes_nothing():
    w, p = mg.zeros(3), mg.ones(3, requires_grad=True)
    loss = (p * w).sum()  # saved w for backward
    with pytest.raises(IndexError):
        w.scatter_(0, mg.tensor([5]), 1.0)
    loss.backward()  # w's version did not move: nothing was written
    assert w.tolist() == [0.0, 0.0, 0.0]


def test_index_add_and_scatter_add_as_in_pytorch():
    torch = pytest.importorskip("torch")
    x, source = np.arange(12.0).reshape(3, 4), np.arange(6.0).reshape(3, 2)
    ours = mg.tensor(x).index_add(1, mg.tensor([1, 1]), mg.tensor(source), alpha=2)  # repeated: both add
    np.testing.assert_array_equal(ours.numpy(), torch.tensor(x).index_add(1, torch.tensor([1, 1]), torch.tensor(source),
                                                                          alpha=2).numpy())
    with pytest.raises(IndexError, match="scatter_add: index 3 is out of range for dim 0 of size 3"):
        mg.tensor(x).scatter_add(0, mg.tensor([[3, 0, 0, 0]]), mg.tensor(x))
    with pytest.raises(ValueError, match="index_add: index must be 1-d with one entry per slice of source"):
        mg.tensor(x).index_add(1, mg.tensor([1]), mg.tensor(source))


def test_cast_converts_the_gradient_back():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    y = x.to(mg.float32)  # ops.Cast
    assert y.dtype == mg.float32
    (y * y).sum().backward()
    assert x.grad.dtype == mg.float64
    np.testing.assert_allclose(x.grad.numpy(), [2, 4])


def test_integer_cast_leaves_the_graph():
    x = mg.tensor([1.7, 2.2], requires_grad=True)
    assert not x.long().requires_grad


def test_float32_gelu_is_exact_to_float32_precision():
    """float32 GELU uses a fast erf fit (a rational function, backend.erf_float32); float64 uses SciPy's."""
    x = np.linspace(-6, 6, 20001)
    exact = 0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2)))
    fast = ops.gelu(mg.tensor(x, dtype=mg.float32)).numpy()
    assert np.abs(fast - exact).max() < 2e-6
    np.testing.assert_allclose(ops.gelu(mg.tensor(x, dtype=mg.float64)).numpy(), exact, rtol=1e-14, atol=1e-15)


def test_float32_erf_is_accurate_relative_to_its_value_near_zero_too():
    x = np.concatenate([np.linspace(-6, 6, 120001), np.geomspace(1e-30, 1, 1001), [np.inf, -np.inf]])
    exact = scipy.special.erf(x)
    fast = mg.tensor(x, dtype=mg.float32).erf().numpy()
    np.testing.assert_allclose(fast, exact.astype(np.float32), rtol=4e-7, atol=0)  # 1e-7 -> 1.13e-7, not 0
    assert mg.tensor(0.5).erf().item() == pytest.approx(0.5205, abs=1e-4)  # a 0-d tensor
    assert ops.gelu(mg.tensor([[0.5]])).shape == (1, 1)


def test_batch_times_matrix_folds_the_batch_into_one_product():
    a = make_input(real, (2, 3, 4), 0)
    b = make_input(real, (4, 5), 1)
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-13)
    mg.gradcheck(ops.matmul, [a, b])
    mg.gradcheck(lambda a, b: a.transpose(0, 1) @ b, [a, b])  # a non-contiguous batch


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # x^3 of the forward's tanh argument: tanh(inf) = 1
def test_tanh_gelu_is_x_and_its_slope_1_far_out_not_nan():
    x = mg.tensor([2e13, 1e18, 3e38, -2e13, -3e38], requires_grad=True)
    y = ops.gelu(x, approximate="tanh")
    y.sum().backward()
    assert y.tolist()[:3] == x.tolist()[:3] and y.tolist()[3:] == [0.0, 0.0]
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_exact_and_tanh_gelu_agree_closely_but_not_exactly():
    x = mg.tensor(np.linspace(-4, 4, 101), dtype=mg.float64)
    exact, approx = ops.gelu(x).numpy(), ops.gelu(x, approximate="tanh").numpy()
    assert 0 < np.abs(exact - approx).max() < 1e-3
    with pytest.raises(ValueError, match="approximate"):
        ops.gelu(x, approximate="fast")


@pytest.mark.parametrize("case", catalogue_cases(), ids=lambda c: c.name)
def test_catalogue_case(case, device):
    """The fixed cases `minigrad gradcheck` prints, on every available device."""
    rng = np.random.default_rng(0)
    mg.gradcheck(case.fn, case.inputs(rng, device))


# Every op class, by name: adding an op means adding it here and to minigrad.opcheck.
OP_CLASSES = {
    "Add", "Sub", "Neg", "Mul", "Div", "Pow", "Exp", "Expm1", "Log", "Log1p", "Sqrt", "Sin", "Cos", "Tanh", "Sigmoid", "Relu",
    "Gelu", "GeluTanh", "Erf", "Abs", "Clamp", "Maximum", "Where", "Cast", "ToDevice", "Clone",
    "Remainder",  # elementwise
    "Sum", "Mean", "Max", "Var", "Std", "Cumsum", "Prod",  # reduce (min is -max(-x))
    "Reshape", "Permute", "Expand", "GetItem", "Cat", "Gather", "ScatterAdd", "Scatter",  # shape (squeeze, stack... compose these)
    "Matmul", "Linear", "Einsum",  # linalg
    "Softmax", "LogSoftmax", "CrossEntropy", "LayerNorm", "Dropout", "Embedding", "ScaledDotProductAttention",
    "BinaryCrossEntropy",
}


def test_catalogue_covers_every_op_class():
    """Every Function subclass in minigrad.ops is listed above and gradchecked by the catalogue
    that `minigrad gradcheck` runs (Cast is checked in test_cast_converts_the_gradient_back; ToDevice,
    which needs a second device, in test_porting_devices on the simulated GPU)."""
    from minigrad.function import Function

    classes = {cls.__name__ for module in (ops.elementwise, ops.reduce, ops.shape, ops.linalg, ops.fused)
               for cls in vars(module).values() if isinstance(cls, type) and issubclass(cls, Function)}
    classes.discard("Function")
    assert classes == OP_CLASSES
    names = {c.name.replace("_", "") for c in catalogue_cases()} | {"cast", "todevice"}
    aliases = {"scaleddotproductattention": "attention"}
    missing = [c for c in classes if aliases.get(c.lower(), c.lower()) not in names]
    assert not missing, f"ops missing from minigrad.opcheck: {missing}"


def test_masks_combine_with_and_or_xor_and_invert_as_in_pytorch():
    x = mg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    inside = (x > 1) & (x < 4)
    assert inside.tolist() == [False, True, True, False] and (~inside).tolist() == [True, False, False, True]
    assert ((x < 2) | (x > 3)).tolist() == [True, False, False, True] and ((x > 1) ^ (x > 2)).tolist() == [0, 1, 0, 0]
    assert (True & inside).tolist() == inside.tolist() and not inside.requires_grad  # a mask: no gradient
    assert x[inside].tolist() == [2.0, 3.0]
    assert (mg.tensor([6, 5]) & 3).tolist() == [2, 1] and (~mg.tensor([0])).tolist() == [-1]  # bitwise on integers
    with pytest.raises(TypeError, match="& works on boolean .* got float32"):
        x & inside


def test_std_and_t_as_in_pytorch():
    x = mg.tensor([[1.0, 2.0, 4.0], [3.0, 3.0, 9.0]], dtype=mg.float64, requires_grad=True)
    np.testing.assert_allclose(x.std(1).numpy(), np.std(x.numpy(), axis=1, ddof=1))
    np.testing.assert_allclose(x.std(unbiased=False).numpy(), np.std(x.numpy()))
    mg.gradcheck(lambda x: x.std(0, keepdim=True), [x])
    # PyTorch's positional order, dim, unbiased, keepdim; correction= as its newer spelling
    np.testing.assert_allclose(x.std(1, False).numpy(), np.std(x.numpy(), axis=1))
    np.testing.assert_allclose(mg.var(x, 1, False, True).numpy(), np.var(x.numpy(), axis=1, keepdims=True))
    np.testing.assert_allclose(x.var(1, correction=2).numpy(), np.var(x.numpy(), axis=1, ddof=2))
    with pytest.raises(TypeError, match="unbiased or correction, not both"):
        x.var(1, False, correction=1)


def test_std_of_a_constant_row_passes_a_zero_gradient_not_nan():
    """LayerNorm as the Annotated Transformer writes it, (x - mean) / (std + eps), on a constant row."""
    x = mg.tensor([[5.0, 5.0, 5.0], [1.0, 2.0, 4.0]], dtype=mg.float64, requires_grad=True)
    ((x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-6)).pow(2).sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and (x.grad.numpy()[0] == 0).all()
    assert x.t().shape == (3, 2) and mg.tensor([1.0, 2.0]).t().shape == (2,)
    with pytest.raises(ValueError, match="t\\(\\) expects a tensor of at most 2 dims"):
        mg.zeros(2, 2, 2).t()


def test_division_gradient_never_squares_the_divisor():
    # b^2 underflows (|b| < 1e-23) or overflows (|b| > 1.8e19) in float32 long before -a / b^2 does
    a = mg.tensor([0.0, 1e-25, 3e38], requires_grad=True)
    b = mg.tensor([1e-25, 1e-25, 1e20], requires_grad=True)
    (a / b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [0.0, -1e25, -3e-2], rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [1e25, 1e25, 1e-20], rtol=1e-6)


def test_a_nan_maximum_takes_the_gradient_and_leaves_other_rows_alone():
    x = mg.tensor([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]], requires_grad=True)
    (x.max(1)[0] * mg.tensor([0.0, 1.0])).sum().backward()  # the NaN row is not used: no NaN gradient
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0], [0, 0, 1]])
    x.grad = None
    x.max(1)[0].sum().backward()  # used: the NaN, the row's max, gets it (as PyTorch's argmax does)
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [0, 0, 1]])


@pytest.mark.parametrize("reduction", ["sum", "mean", "var", "std", "amax", "amin"])
def test_an_empty_dim_list_reduces_every_axis_as_in_pytorch(reduction):
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    for empty in ((), []):
        np.testing.assert_allclose(getattr(x, reduction)(empty).numpy(), getattr(x, reduction)().numpy())
    assert x.squeeze(()).shape == (2, 2) and x.flip(()).tolist() == x.tolist()  # for these, () is no axis


def test_softmax_and_logsumexp_over_an_empty_dim_as_pytorch_and_max_names_it():
    x = mg.zeros(2, 0, requires_grad=True)
    assert mg.softmax(x, -1).shape == (2, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to normalise: no log(0) warning either
        assert mg.log_softmax(x, -1).shape == (2, 0) and mg.log_softmax(mg.zeros(0, 3), -1).shape == (0, 3)
    np.testing.assert_array_equal(x.logsumexp(-1).numpy(), [-np.inf, -np.inf])  # the log of an empty sum
    with pytest.raises(ValueError, match=r"max: dim 1 of the input's shape \(2, 0\) has size 0"):
        x.amax(-1)
    assert mg.zeros(0, 3).max(-1)[0].shape == (0,)  # an empty batch is fine: the reduced dim is not empty
