"""Matrix multiplication, batched and broadcasting like NumPy's matmul, the linear layer, and einsum."""
import math

from minigrad import backend
from minigrad.function import Function
from minigrad.ops.elementwise import promote


def rows(a):
    """(..., n) -> (rows, n), every leading index one row (reshape(-1, n) cannot say how many when n is 0)."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def is_batch_times_matrix(a, b):
    """A batch of inputs times one matrix (every Linear layer): fold the batch into rows."""
    return a.ndim > 2 and b.ndim == 2


class Matmul(Function):
    """A @ B;  dL/dA = dL/dC @ B^T,  dL/dB = A^T @ dL/dC  (over every batch)

    Batch dims broadcast; the engine sums each gradient back over them. A 1-d
    operand is a row (on the left) or a column (on the right), as in NumPy.
    """

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs at least 1-d operands, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[max(b.ndim - 2, 0)]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} don't line up: the last dim of the first "
                f"({a.shape[-1]}) must equal the {'first' if b.ndim == 1 else 'second-to-last'} dim "
                f"of the second ({b.shape[max(b.ndim - 2, 0)]})"
            )
        batch_a, batch_b = a.shape[:-2], b.shape[:-2]  # empty for a 1-d operand
        if batch_a != batch_b and not backend.broadcastable(batch_a, batch_b):
            raise ValueError(f"matmul: the batch dims of {a.shape} and {b.shape}, {batch_a} and {batch_b}, do not "
                             "broadcast; expected equal sizes, or 1 where one side is shared")
        ctx.save_for_backward(a, b)
        if is_batch_times_matrix(a, b):  # (..., K) @ (K, N) as one (M, K) @ (K, N) product, not a batch of small ones
            return (rows(a) @ b).reshape(*a.shape[:-1], b.shape[1])
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        xp = backend.xp_of(grad)
        need_a, need_b = ctx.needs_input_grad
        if is_batch_times_matrix(a, b):  # the same single products as forward: no (batch, K, N) array to sum
            grad2 = rows(grad)  # (M, N)
            return ((grad2 @ b.T).reshape(a.shape) if need_a else None,
                    (rows(a).T @ grad2) if need_b else None)
        # treat 1-d operands as (1, n) rows / (n, 1) columns, then drop that dim again
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        grad2 = grad
        if a.ndim == 1:
            grad2 = xp.expand_dims(grad2, -2 if b.ndim > 1 else 0)
        if b.ndim == 1:
            grad2 = xp.expand_dims(grad2, -1)
        grad_a = grad_b = None
        if need_a:
            grad_a = grad2 @ xp.swapaxes(b2, -1, -2)
            grad_a = grad_a[..., 0, :] if a.ndim == 1 else grad_a
        if need_b:
            grad_b = xp.swapaxes(a2, -1, -2) @ grad2
            grad_b = grad_b[..., 0] if b.ndim == 1 else grad_b
        return grad_a, grad_b


def matmul(a, b):
    return Matmul.apply(*promote(a, b))  # integers times floats: floats (NumPy: float64 of float32 @ int64)


class Linear(Function):
    """y = x W^T + b for x (..., in), W (out, in), b (out,);
    dL/dx = g W,  dL/dW = g^T x,  dL/db = sum of g over rows  (rows = every leading index)

    One fused op instead of transpose + matmul + add: the weight gradient comes out as
    one (out, in) product in the weight's own layout, and the graph has one node, not three.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        if x.shape[-1] != weight.shape[-1]:
            raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features, "
                             f"but the weight {weight.shape} (out, in) expects {weight.shape[-1]}")
        if bias is not None and bias.shape != weight.shape[:1]:
            raise ValueError(f"linear: bias of shape {bias.shape}; expected ({weight.shape[0]},), one per output of the "
                             f"weight {weight.shape} (out, in)")
        ctx.save_for_backward(x, weight)
        y = rows(x) @ weight.T  # (rows, out)
        if bias is not None:
            y += bias
        return y.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_arrays
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad2 = rows(grad)  # (rows, out)
        return ((grad2 @ weight).reshape(x.shape) if need_x else None,
                grad2.T @ rows(x) if need_weight else None,
                backend.sum_dims(grad2, (0,))[0] if need_bias else None)


def linear(x, weight, bias=None):
    """x W^T + b (see Linear). A 1-d weight (in,) is one output, dropped from the shape as in
    PyTorch: x . w + b, with b a single number."""
    x, weight, bias = promote(x, weight, bias)
    if weight.ndim == 1:
        y = Linear.apply(x, weight.reshape(1, -1), None if bias is None else bias.reshape(1))
        return y.reshape(y.shape[:-1])
    return Linear.apply(x, weight, bias)


class Einsum(Function):
    """out = einsum(spec, x_1, ..., x_n): a product of the operands, summed over the letters the output
    lacks;  dL/dx_i = einsum of dL/dout with every other operand, written to x_i's letters
    (for "ij,jk->ik": dA = einsum("ik,jk->ij", g, B), that is g @ B^T).

    Each element of x_i multiplies the same elements of the others that it met in forward, so its
    gradient sums g times those, over the letters x_i lacks. A letter of x_i that no other term
    spans (summed out alone, as j in "ij->i", or size 1 in every other term it is in: broadcast)
    gets the same gradient all along it: a ones array of x_i's length along it makes einsum write it.
    """

    @staticmethod
    def forward(ctx, *arrays, inputs, output):
        ctx.save_for_backward(*arrays)
        ctx.subscripts, ctx.output = inputs, output
        return backend.einsum(f"{','.join(inputs)}->{output}", *arrays)

    @staticmethod
    def backward(ctx, grad):
        arrays = ctx.saved_arrays
        xp = backend.xp_of(grad)
        grads = []
        for i, (letters, array, needed) in enumerate(zip(ctx.subscripts, arrays, ctx.needs_input_grad)):
            if not needed:
                grads.append(None)
                continue
            terms = [(ctx.output, grad)] + [(s, a) for j, (s, a) in enumerate(zip(ctx.subscripts, arrays)) if j != i]
            spanned = {}  # letter -> its length in the other terms (the broadcast one: the largest)
            for term_letters, term in terms:
                for letter, n in zip(term_letters, term.shape):
                    spanned[letter] = max(spanned.get(letter, 1), n)
            lone = "".join(c for c, n in zip(letters, array.shape) if c not in spanned or spanned[c] < n)
            if lone:
                terms.append((lone, xp.ones(tuple(array.shape[letters.index(c)] for c in lone), grad.dtype)))
            spec = f"{','.join(s for s, _ in terms)}->{letters}"
            grads.append(backend.einsum(spec, *(a for _, a in terms)))
        return tuple(grads)


def einsum_subscripts(spec, count):
    """The letters of each operand and of the output, from "ij,jk->ik" or the implicit "ij,jk" (whose
    output is, as in NumPy and PyTorch, the letters used once, in alphabetical order)."""
    spec = spec.replace(" ", "")
    if "..." in spec:
        raise NotImplementedError(f"einsum {spec!r}: the ellipsis '...' is not supported; name every dim with a letter")
    inputs, arrow, output = spec.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != count:
        raise ValueError(f"einsum {spec!r} names {len(inputs)} operand(s), but {count} were given")
    for letters in inputs:  # x_i's gradient would have to go to a diagonal: not written
        if len(set(letters)) != len(letters):
            raise NotImplementedError(f"einsum {spec!r}: a letter repeated within one operand ({letters!r}: a "
                                      "diagonal or trace) is not supported")
    if not arrow:
        used = "".join(inputs)
        output = "".join(sorted(c for c in set(used) if used.count(c) == 1))
    return inputs, output


def einsum(spec, *operands):
    """mg.einsum("ij,jk->ik", a, b), as torch.einsum (also with the operands in one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    inputs, output = einsum_subscripts(spec, len(operands))
    return Einsum.apply(*promote(*operands), inputs=inputs, output=output)
