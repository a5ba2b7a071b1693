"""Fused ops: several primitive steps in one Function, with a closed-form backward.

Composed from primitives, softmax is max, sub, exp, sum and div: five graph
nodes, five saved arrays, and backward through each. Fused, it is one node
that saves only its output, and its backward is the derived formula. Fusing is
also where numerical care lives: subtract the max before exp, take
cross-entropy from log-softmax (never log(softmax)), keep fully masked
attention rows free of NaN. tests/test_fused.py checks every op here against
its composed version and against finite differences.

Shapes in comments: N rows, C classes, V vocabulary rows, D features,
Tq / Tk query / key positions, Dv value features.
"""
import math
import operator

from minigrad import backend
from minigrad.function import Function
from minigrad.ops.elementwise import floating, promote
from minigrad.ops.reduce import normalize_dims
from minigrad.tensor import Tensor


class Softmax(Function):
    """y = e^(x - max x) / sum e^(x - max x) along dim;  dx = y * (g - sum(g * y))

    Subtracting the max cancels out, but keeps exp from overflowing.
    """

    @staticmethod
    def forward(ctx, x, dims):
        xp = backend.xp_of(x)
        y = xp.subtract(x, backend.max_dims(x, dims), out=xp.empty_like(x))  # out=: an array even for 0-d x
        xp.exp(y, out=y)  # in place: one array for the whole forward, not three
        y /= backend.sum_dims(y, dims)
        ctx.save_for_backward(y)
        ctx.dims = dims
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return y * (grad - backend.sum_dims(grad * y, ctx.dims))


def softmax(x, dim=-1):
    return Softmax.apply(floating(x), dims=normalize_dims(dim, x.ndim))


def log_softmax_array(x, dims):
    """x - logsumexp(x), with logsumexp(x) = m + log sum e^(x - m), m = max x: exact, no overflow."""
    xp = backend.xp_of(x)
    if x.size == 0:  # nothing to normalise (and the log of an empty sum would warn)
        return x.copy()
    shifted = x - backend.max_dims(x, dims)
    return shifted - xp.log(backend.sum_dims(xp.exp(shifted), dims))


class LogSoftmax(Function):
    """y = x - logsumexp(x) along dim;  dx = g - softmax(x) * sum(g), softmax(x) = e^y"""

    @staticmethod
    def forward(ctx, x, dims):
        y = log_softmax_array(x, dims)
        ctx.save_for_backward(y)
        ctx.dims = dims
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return grad - backend.xp_of(y).exp(y) * backend.sum_dims(grad, ctx.dims)


def log_softmax(x, dim=-1):
    return LogSoftmax.apply(floating(x), dims=normalize_dims(dim, x.ndim))


class CrossEntropy(Function):
    """loss_i = -sum_c q[i, c] log p[i, c], p = softmax(logits), q the smoothed, weighted target:
    (1 - s) w[t_i] at class t_i plus s w[c] / C at every class c (s the label smoothing, w the class
    weights, all 1 when not given); ignored rows count 0, and "mean" divides by the sum of w[t_i] over
    the rows kept (PyTorch's weighted mean);  d loss_i / d logits[i] = p[i] sum_c q[i, c] - q[i]
    """

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, label_smoothing, reduction):
        xp = backend.xp_of(logits)
        log_p = log_softmax_array(logits.reshape(-1, logits.shape[-1]), (1,))  # (N, C)
        target = target.reshape(-1)  # (N,)
        kept = target != ignore_index
        target = xp.where(kept, target, 0)  # any class will do: the row's scale is 0
        rows = xp.arange(target.shape[0])
        scale = kept.astype(logits.dtype)  # (N,)
        target_weight = None if weight is None else weight[target]  # w[t_i] (N,)
        if reduction == "mean":
            total = scale.sum() if weight is None else (target_weight * scale).sum()
            scale = scale / xp.where(total != 0, total, 1)  # every row ignored: loss 0, not 0/0
        losses = -log_p[rows, target]
        if weight is not None:
            losses = losses * target_weight
        if label_smoothing:  # skipped at 0, so a -inf logit elsewhere cannot make 0 * inf
            spread = backend.mean_dims(log_p if weight is None else log_p * weight, (1,))[:, 0]
            losses = (1 - label_smoothing) * losses - label_smoothing * spread
        losses = xp.where(kept, losses, 0) * scale
        ctx.save_for_backward(log_p, target, weight, scale)
        ctx.logits_shape, ctx.smoothing = logits.shape, label_smoothing
        return losses.reshape(logits.shape[:-1]) if reduction == "none" else losses.sum()

    @staticmethod
    def backward(ctx, grad):
        log_p, target, weight, scale = ctx.saved_arrays
        xp = backend.xp_of(log_p)
        rows, s = xp.arange(target.shape[0]), ctx.smoothing
        q = xp.full_like(log_p, s / log_p.shape[1])  # (N, C)
        if weight is None:
            q[rows, target] += 1 - s
        else:
            q *= weight
            q[rows, target] += (1 - s) * weight[target]
        grad_logits = xp.exp(log_p)
        if weight is not None:  # without class weights each row of q sums to 1
            grad_logits *= backend.sum_dims(q, (1,))
        grad_logits -= q
        row_grad = grad.reshape(-1) * scale  # grad is a scalar, or one value per row for "none"
        return (grad_logits * row_grad[:, None]).reshape(ctx.logits_shape), None, None


def check_class_weight(name, weight, classes):
    """Raise unless weight is None or a constant (classes,) float tensor: one weight per class."""
    if weight is None:
        return
    if not isinstance(weight, Tensor) or not backend.is_floating(weight.dtype) or weight.shape != (classes,):
        got = (f"shape {weight.shape}, dtype {weight.dtype.name}" if isinstance(weight, Tensor)
               else type(weight).__name__)
        raise ValueError(f"{name}: weight must be a float tensor of shape ({classes},), one weight per class; "
                         f"got {got}")
    if weight.requires_grad:
        raise ValueError(f"{name}: class weights are constants here (PyTorch has no gradient for them "
                         "either); pass weight.detach()")


def check_class_targets(name, scores, target, ignore_index):
    """Raise unless target holds integer classes, of shape scores.shape[:-1] (classes last), each in range
    or ignore_index."""
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: target must hold integer class indices, got dtype {target.dtype.name} "
            "(class-probability targets are not supported)"
        )
    if scores.ndim == 0 or scores.shape[:-1] != target.shape:
        raise ValueError(
            f"{name}: input of shape {scores.shape} (classes last) needs a target of shape "
            f"{scores.shape[:-1]}, got target of shape {target.shape}"
        )
    classes, t = scores.shape[-1], target.data
    out_of_range = (t != ignore_index) & ((t < 0) | (t >= classes))
    if out_of_range.any():  # one bool read back from a GPU (picking the bad targets out would take more)
        raise IndexError(
            f"{name}: target {int(t[out_of_range][0])} is out of range for {classes} classes "
            f"(valid targets are 0..{classes - 1}, or ignore_index={ignore_index})"
        )


def check_reduction(name, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits (..., C) against integer class targets (...).

    The class dim is last: (N, C) logits with (N,) targets as in PyTorch, or a
    language model's (B, T, C) with (B, T). (F.cross_entropy takes PyTorch's
    (N, C, d1, ...) layout, and moves the class dim last for this.) "mean" averages
    over the targets that are not ignore_index; if every target is ignored it
    gives 0 with zero gradients (PyTorch gives NaN). weight (C,) scales each
    class's loss, and "mean" then divides by the summed weights of the targets
    kept, as PyTorch does.
    """
    target = target if isinstance(target, Tensor) else Tensor(target)
    check_class_targets("cross_entropy", logits, target, ignore_index)
    check_reduction("cross_entropy", reduction)
    check_class_weight("cross_entropy", weight, logits.shape[-1])
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    return CrossEntropy.apply(logits, target, weight, ignore_index=ignore_index,
                              label_smoothing=label_smoothing, reduction=reduction)


MIN_LOG = -100  # PyTorch's floor for binary_cross_entropy's logs: p = 0 costs 100, not inf


def floored_logs(x):
    """max(log x, -100) and max(log(1 - x), -100), without NumPy's warning for log 0 = -inf."""
    xp = backend.xp_of(x)
    with backend.silent_float_errors():
        return xp.maximum(xp.log(x), MIN_LOG), xp.maximum(xp.log1p(-x), MIN_LOG)


class BinaryCrossEntropy(Function):
    """loss = -(y log x + (1 - y) log(1 - x)), each log at least -100, for probabilities x;
    d/dx = (x - y) / max(x (1 - x), 1e-12), d/dy = log(1 - x) - log x (the floored logs)

    d/dx is PyTorch's formula: the exact slope for 0 < x < 1; at x = 0 or 1, where a floored log is
    flat, a steep slope rather than 0 (-1e12 at x = 0, y = 1), and 0 where x = y. So a prediction
    saturated on the wrong side is still pushed back, as in PyTorch.
    """

    @staticmethod
    def forward(ctx, x, y):
        log_x, log_1mx = floored_logs(x)
        ctx.save_for_backward(x, y)
        return -(y * log_x + (1 - y) * log_1mx)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_arrays
        xp = backend.xp_of(x)
        need_x, need_y = ctx.needs_input_grad
        grad_x = grad * (x - y) / xp.maximum(x * (1 - x), 1e-12) if need_x else None
        grad_y = None
        if need_y:
            log_x, log_1mx = floored_logs(x)
            grad_y = grad * (log_1mx - log_x)
        return grad_x, grad_y


def binary_cross_entropy(x, y):
    """The elementwise losses (no weight, no reduction: nn.functional composes those)."""
    return BinaryCrossEntropy.apply(*promote(x, y))


class LayerNorm(Function):
    """y = x_hat w + b, x_hat = (x - mean) / sigma, sigma = sqrt(var + eps) over the normalized dims;
    dx = (g_hat - mean(g_hat) - x_hat mean(g_hat x_hat)) / sigma with g_hat = g w;  dw = g x_hat, db = g
    """

    @staticmethod
    def forward(ctx, x, weight, bias, dims, eps):
        xp = backend.xp_of(x)
        x_hat = x - backend.mean_dims(x, dims)  # centered for now; fresh arrays are updated in place below
        inv_sigma = 1 / xp.sqrt(backend.mean_dims(x_hat * x_hat, dims) + eps)
        x_hat *= inv_sigma
        ctx.save_for_backward(x_hat, inv_sigma, weight)
        ctx.dims = dims
        if weight is None:
            return x_hat if bias is None else x_hat + bias
        out = x_hat * weight
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, grad):
        x_hat, inv_sigma, weight = ctx.saved_arrays
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_x = None
        if need_x:
            grad_x = grad * weight if weight is not None else grad.copy()  # g_hat, then dx in place
            mean_gx = backend.mean_dims(grad_x * x_hat, ctx.dims)
            grad_x -= backend.mean_dims(grad_x, ctx.dims)
            grad_x -= x_hat * mean_gx
            grad_x *= inv_sigma
        # weight and bias were broadcast over the leading dims: the engine sums them back
        return grad_x, (grad * x_hat if need_weight else None), (grad if need_bias else None)


def shape_tuple(normalized_shape):
    """normalized_shape as a tuple: 4 -> (4,), [2, 4] -> (2, 4)."""
    sizes = [normalized_shape] if not isinstance(normalized_shape, (tuple, list)) else normalized_shape
    try:
        return tuple(operator.index(n) for n in sizes)  # ints, NumPy's too; not 8.0
    except TypeError:
        raise TypeError(f"normalized_shape must be a whole number or a sequence of them (the last dims' sizes), "
                        f"got {normalized_shape!r}") from None


def normalized_dims(op_name, x, normalized_shape, **params):
    """The last len(normalized_shape) dims of x, which a norm averages over, after checking that x ends
    in normalized_shape and that each of params (weight, bias; None: absent) has exactly that shape."""
    shape = shape_tuple(normalized_shape)
    if not shape or len(shape) > x.ndim or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"{op_name}: input of shape {x.shape} does not end in normalized_shape {shape}")
    for name, p in params.items():
        if p is not None and p.shape != shape:
            raise ValueError(f"{op_name}: {name} has shape {p.shape}, expected normalized_shape {shape}")
    return tuple(range(x.ndim - len(shape), x.ndim))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dims, then scale by weight and shift by bias."""
    dims = normalized_dims("layer_norm", x, normalized_shape, weight=weight, bias=bias)
    return LayerNorm.apply(x, weight, bias, dims=dims, eps=eps)


def keep_mask(like, p):
    """1/(1 - p) where an element is kept (probability 1 - p), 0 where dropped; like's shape and dtype."""
    draws = backend.generator(backend.device_of(like)).random(like.shape, dtype=like.dtype)
    return (draws >= p).astype(like.dtype) / (1 - p)


class Dropout(Function):
    """y = x m, m = 1/(1 - p) with probability 1 - p, else 0 (inverted: E[y] = x);  dx = g m"""

    @staticmethod
    def forward(ctx, x, p):
        mask = keep_mask(x, p)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_arrays
        return grad * mask


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1 - p); seeded by mg.manual_seed."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0:
        return x  # the identity: no mask, no graph node
    return Dropout.apply(x, p=p)


class Embedding(Function):
    """out[...] = weight[ids[...]], one row of the (V, D) table per id;
    d/dweight[r] = the sum of the gradients at every position whose id is r (0 for the padding row)"""

    @staticmethod
    def forward(ctx, ids, weight, padding_idx):
        ctx.save_for_backward(ids)
        ctx.weight_shape, ctx.padding_idx = weight.shape, padding_idx
        return weight[ids]  # ids.shape + (D,)

    @staticmethod
    def backward(ctx, grad):
        (ids,) = ctx.saved_arrays
        grad_weight = backend.xp_of(grad).zeros(ctx.weight_shape, dtype=grad.dtype)  # (V, D)
        backend.scatter_add(grad_weight, ids, grad)  # repeated ids add up
        if ctx.padding_idx is not None:
            grad_weight[ctx.padding_idx] = 0
        return None, grad_weight


def embedding(ids, weight, padding_idx=None):
    """The rows of weight (V, D) picked by integer ids of any shape: out has shape ids.shape + (D,).
    padding_idx (negative counts from the end): that row is picked as any other, but gets no
    gradient, as in PyTorch's F.embedding."""
    ids = ids if isinstance(ids, Tensor) else Tensor(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be an integer tensor, got dtype {ids.dtype.name}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be a (V, D) table, got shape {weight.shape}")
    rows, i = weight.shape[0], ids.data
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for a table of {rows} rows")
        padding_idx %= rows
    out_of_range = (i < 0) | (i >= rows)
    if out_of_range.any():  # one bool read back from a GPU (picking the bad ids out would take more)
        raise IndexError(f"embedding: id {int(i[out_of_range][0])} is out of range for a table of {rows} rows "
                         f"(ids must be in [0, {rows}))")
    return Embedding.apply(ids, weight, padding_idx=padding_idx)


def softmax_down_columns_in_place(scores_t):
    """softmax over axis -2 (each column), overwriting scores_t (a fresh array: saves two big
    temporaries); a column that is all -inf (a query that may attend to nothing) gives zeros."""
    xp, keys = backend.xp_of(scores_t), (scores_t.ndim - 2,)
    top = backend.max_dims(scores_t, keys)
    scores_t -= xp.where(xp.isfinite(top), top, 0)  # all -inf: e^-inf = 0, not e^(-inf+inf) = NaN
    xp.exp(scores_t, out=scores_t)
    total = backend.sum_dims(scores_t, keys)
    scores_t /= xp.where(total > 0, total, 1)
    return scores_t


def add_in_place(scores, term):
    """scores += term when term broadcasts into scores' shape (one pass, no copy); else scores + term."""
    if backend.broadcasts_to(term.shape, scores.shape):
        scores += term
        return scores
    return scores + term


def transposed(mask):
    """A mask that broadcasts to (..., Tq, Tk) as one that broadcasts to (..., Tk, Tq) (a view)."""
    mask = mask.reshape((1,) * (2 - mask.ndim) + mask.shape) if mask.ndim < 2 else mask
    return backend.xp_of(mask).swapaxes(mask, -1, -2)


class ScaledDotProductAttention(Function):
    """out = P' V, P' = dropout(P), P = softmax(S) over the keys, S = Q K^T scale + mask (disallowed:
    -inf); dV = P'^T g, dP = (g V^T) * dropout mask, dS = P (dP - sum(dP P)), dQ = dS K scale,
    dK = dS^T Q scale, d(float mask) = dS

    Everything (Tq, Tk) is kept transposed, keys down and queries across: S^T = K Q^T scale. The
    softmax then reduces down the columns, where each fold of the max and the sum works on whole
    rows at a time, ~3x faster in NumPy than reducing many short rows; the matmuls read the
    transposes for free.
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, is_causal, dropout_p, scale):
        xp = backend.xp_of(q)
        scores_t = k @ xp.swapaxes(q, -1, -2)  # S^T (..., Tk, Tq)
        scores_t *= scale
        allowed_t = None
        if mask is not None and mask.dtype == backend.bool_:
            allowed_t = transposed(mask)
        elif mask is not None:
            scores_t = add_in_place(scores_t, transposed(mask))
        if is_causal:  # query i sees keys j <= i (top-left aligned, as in PyTorch)
            Tk, Tq = scores_t.shape[-2:]
            causal_t = xp.tril(xp.ones((Tq, Tk), dtype=backend.bool_)).T  # (Tk, Tq)
            allowed_t = causal_t if allowed_t is None else allowed_t & causal_t
        if allowed_t is not None:  # -inf where not allowed, added: the small mask broadcasts
            scores_t = add_in_place(scores_t, xp.where(allowed_t, 0, -xp.inf).astype(scores_t.dtype))
        probs_t = softmax_down_columns_in_place(scores_t)  # P^T (..., Tk, Tq)
        drop = None
        if dropout_p:  # drawn in (..., Tq, Tk) order, as dropout(softmax(S)) draws it: same seed, same mask
            drop = xp.ascontiguousarray(xp.swapaxes(keep_mask(xp.swapaxes(probs_t, -1, -2), dropout_p), -1, -2))
        ctx.save_for_backward(q, k, v, probs_t, drop)
        ctx.scale = scale
        return xp.swapaxes(probs_t if drop is None else probs_t * drop, -1, -2) @ v  # (..., Tq, Dv)

    @staticmethod
    def backward(ctx, grad):
        q, k, v, probs_t, drop = ctx.saved_arrays
        xp = backend.xp_of(grad)
        need_q, need_k, need_v, need_mask = ctx.needs_input_grad
        used_t = probs_t if drop is None else probs_t * drop
        grad_v = used_t @ grad if need_v else None  # P'^T g (..., Tk, Dv)
        grad_probs_t = v @ xp.swapaxes(grad, -1, -2)  # dP^T = V g^T (..., Tk, Tq)
        if drop is not None:
            grad_probs_t *= drop
        # dS = P (dP - sum(dP P)), in place on dP (a fresh array): big (..., Tk, Tq) passes are the cost
        # (down the keys: dP^T's axis -2, which has more leading dims than P^T's where v has more batch dims)
        column_sums = backend.sum_dims(grad_probs_t * probs_t, (grad_probs_t.ndim - 2,))
        grad_probs_t -= column_sums
        grad_probs_t *= probs_t
        grad_scores_t = grad_probs_t
        # dQ and dK both carry the scale: apply it once (in place, unless the mask needs dS as it is)
        scaled_t = grad_scores_t * ctx.scale if need_mask else xp.multiply(grad_scores_t, ctx.scale, out=grad_scores_t)
        grad_q = xp.swapaxes(scaled_t, -1, -2) @ k if need_q else None  # dS K (..., Tq, D)
        grad_k = scaled_t @ q if need_k else None  # dS^T Q (..., Tk, D)
        return grad_q, grad_k, grad_v, (xp.swapaxes(grad_scores_t, -1, -2) if need_mask else None)


def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """softmax(q k^T scale + mask) v for q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) (the arguments
    in PyTorch's order).

    attn_mask is boolean (True = may attend, as in PyTorch) or a float added to
    the scores, and broadcasts to (..., Tq, Tk). is_causal hides keys j > i from
    query i and may be combined with attn_mask (causal + padding: a key must pass
    both). PyTorch's docs say that combination is an error, though its 2.13 CPU
    fused kernel accepts it (4-d (B, H, T, D) inputs whose v has q's feature size;
    other shapes raise) and combines them the same way. A query that may attend to
    nothing gets a zero output and zero gradients, as PyTorch 2.13's kernels give
    (its documented reference code, softmax of an all -inf row, gives NaN).
    scale defaults to 1/sqrt(D). dropout_p drops attention probabilities
    whenever it is > 0: pass 0 in evaluation, as in PyTorch.
    """
    if min(q.ndim, k.ndim, v.ndim) < 2 or q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape} don't fit; "
            "expected q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv)"
        )
    if attn_mask is not None:
        if attn_mask.dtype != backend.bool_ and not backend.is_floating(attn_mask.dtype):
            raise TypeError(f"scaled_dot_product_attention: attn_mask must be boolean (True = may attend) "
                            f"or a float additive mask, got dtype {attn_mask.dtype.name}")
        rows, cols = ((1, 1) + tuple(attn_mask.shape))[-2:]
        if rows not in (1, q.shape[-2]) or cols not in (1, k.shape[-2]):
            raise ValueError(f"scaled_dot_product_attention: attn_mask of shape {tuple(attn_mask.shape)} "
                             f"does not broadcast to the scores (..., {q.shape[-2]}, {k.shape[-2]})")
    if not 0 <= dropout_p < 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got {dropout_p}")
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    return ScaledDotProductAttention.apply(q, k, v, attn_mask, is_causal=is_causal,
                                           dropout_p=dropout_p, scale=scale)
