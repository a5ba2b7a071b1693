"""minigrad.nn.functional, imported as F: the layers' math as plain functions.

Most are the engine's ops under their PyTorch names; a layer such as
nn.Linear only owns parameters and calls one of these in its forward. The rest
(the losses, the other activations, rms_norm, batch_norm, normalize,
cosine_similarity, pad, one_hot) are composed from those ops, so their backward
is the ops' own: nothing new to derive (cross_entropy's and
binary_cross_entropy's are ops.fused's). The losses take PyTorch's layout, the
class dim second: (N, C) or (N, C, d1, ...).

inplace=True (PyTorch's memory saver, on relu, leaky_relu, elu, hardtanh, dropout and their layers) is
accepted and computed out of place: the same values and gradients, but the input is not overwritten.
"""

from minigrad import backend, creation, ops
from minigrad.ops import (  # noqa: F401  (re-exported)
    embedding, gelu, layer_norm, linear, scaled_dot_product_attention, sigmoid, tanh,
)
from minigrad.ops import fused
from minigrad.ops.fused import check_class_targets, check_class_weight, check_reduction
from minigrad.grad_mode import no_grad
from minigrad.tensor import Tensor


# ---- activations ----------------------------------------------------------------------------
def relu(input, inplace=False):
    """max(x, 0) (inplace: see the top of this file)."""
    return ops.relu(input)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p while training, scaling the rest by 1/(1 - p) (inplace: see the
    top of this file). The mask scales by 1/(1 - p), so the input must be floating point; PyTorch too refuses
    an integer input while training (it passes one through when there is nothing to drop: eval, or p=0)."""
    if training and 0 < p < 1 and not backend.is_floating(input.dtype):
        raise TypeError(f"dropout: input must be floating point while training (kept elements are scaled by "
                        f"1/(1 - p)), got dtype {input.dtype.name}; convert it first: input.float()")
    return ops.dropout(input, p, training)


def softmax_dim(name, dim):
    """dim, which F.softmax and F.log_softmax require: PyTorch's guess when it is left out is deprecated
    and is not the last dim (it takes dim 0 for 0-, 1- and 3-d inputs, dim 1 otherwise), so code that
    leaves it out would silently normalise along another dim here."""
    if dim is None:
        raise TypeError(f"{name}() needs dim, the dim to normalise along (e.g. dim=-1 for the last): "
                        "PyTorch's implicit dim is deprecated and is not the last dim (0 for 0-, 1- and "
                        "3-d inputs, else 1)")
    return dim


def softmax(input, dim=None, *, dtype=None):
    """e^x / sum e^x along dim (required); dtype=: cast the input first, as PyTorch's dtype argument."""
    dim = softmax_dim("softmax", dim)
    return ops.softmax(input if dtype is None else input.to(dtype), dim)


def log_softmax(input, dim=None, *, dtype=None):
    """x - log sum e^x along dim (required), computed stably in one op (never log(softmax(x)))."""
    dim = softmax_dim("log_softmax", dim)
    return ops.log_softmax(input if dtype is None else input.to(dtype), dim)


def silu(x):
    """x sigmoid(x) (also called swish)."""
    return x * ops.sigmoid(x)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x where x > 0, negative_slope * x elsewhere (the slope at 0 too, as in PyTorch)."""
    return ops.where(x > 0, x, x * negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, alpha (e^x - 1) elsewhere: negative outputs (down to -alpha) keep the mean
    activation near 0, and the curve is smooth at 0 for alpha = 1. The slope at 0 is alpha, as PyTorch's.
    e^x - 1 of min(x, 0): where x > 0 that branch is not taken, but its backward still multiplies the
    gradient 0 by e^x, and 0 * inf (x > 88.7 in float32) would be NaN. expm1, not exp - 1: tiny
    negative x keep their value (float32's exp(-1e-10) - 1 is 0)."""
    return ops.where(input > 0, input, alpha * input.clamp(max=0).expm1())


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]. Slope 1 strictly inside, 0 elsewhere, at the two corners too, as
    PyTorch's hardtanh (clamp's slope is 1 at the corners): outside, the clamped value is a constant."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not be greater than max_val ({max_val})")
    inside = (input > min_val) & (input < max_val)
    return ops.where(inside, input, input.detach().clamp(min_val, max_val))


def log1p_exp(z):
    """log(1 + e^z) computed as log(1 + e^-|z|) + max(z, 0), which is the same number but never
    overflows (e^-|z| <= 1). At z = 0, |z| has slope 0 and maximum splits its tie in half, so the
    slope is exactly sigmoid(0) = 1/2 (each piece has a kink at 0; their sum has none)."""
    return (-z.abs()).exp().log1p() + z.maximum(0)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta: a smooth relu (beta sharpens it); x itself where beta x > threshold,
    as PyTorch (the two differ there by less than e^-threshold / beta)."""
    z = input * beta
    return ops.where(z > threshold, input, log1p_exp(z) / beta)


def logsigmoid(input):
    """log sigmoid(x) = -log(1 + e^-x), without ever rounding sigmoid(x) to 0 (whose log is -inf)."""
    return -log1p_exp(-input)


def mish(input):
    """x tanh(log(1 + e^x)): a smooth, slightly non-monotonic relu (YOLOv4's activation)."""
    return input * log1p_exp(input).tanh()


def glu(input, dim=-1):
    """a sigmoid(b), a and b the first and second halves of input along dim: the gated linear unit,
    (..., 2n, ...) -> (..., n, ...). (LLaMA's SwiGLU gates with silu instead, on two projections.)"""
    dim = backend.positive_dim(dim, input.ndim)
    if input.shape[dim] % 2:
        raise ValueError(f"glu: halving dim {dim} needs an even size there, got input of shape {input.shape}")
    a, b = input.chunk(2, dim)
    return a * ops.sigmoid(b)


def one_hot(ids, num_classes=-1):
    """int64 (..., num_classes): 1 at each id's class, 0 elsewhere; num_classes=-1 means max(ids) + 1.
    A comparison against every class (not rows of an identity matrix), so a big vocabulary costs
    ids.size * num_classes, never num_classes^2. No gradient: ids are not differentiable."""
    ids = ids if isinstance(ids, Tensor) else Tensor(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"one_hot: ids must be an integer tensor, got dtype {ids.dtype.name}")
    if ids.numel() == 0 and num_classes == -1:
        raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
    if ids.numel():
        low, high = int(ids.min().item()), int(ids.max().item())
        num_classes = high + 1 if num_classes == -1 else num_classes
        if low < 0 or high >= num_classes:
            raise IndexError(f"one_hot: ids must be in [0, {num_classes}), got ids from {low} to {high}")
    classes = creation.arange(num_classes, device=ids.device)
    return (ids.unsqueeze(-1) == classes).long()


# ---- normalisation --------------------------------------------------------------------------
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the last len(normalized_shape) dims: LLaMA's RMSNorm,
    LayerNorm without subtracting the mean and without a bias (rescaling alone keeps the activations'
    size steady, and costs less). eps=None is the machine epsilon of x's dtype, as PyTorch (1.2e-7 for
    float32, 2.2e-16 for float64). Composed, so each step's backward is an op's own."""
    dims = fused.normalized_dims("rms_norm", input, normalized_shape, weight=weight)
    if not backend.is_floating(input.dtype):
        raise TypeError(f"rms_norm: input must be a float tensor, got dtype {input.dtype.name}")
    if eps is None:
        eps = backend.xp_of(input.data).finfo(input.dtype).eps
    out = input / ((input * input).mean(dims, keepdim=True) + eps).sqrt()
    return out if weight is None else out * weight


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias for each channel (dim 1 of (N, C) or (N, C, L, ...)),
    the statistics taken over every other dim.

    training=True: the batch's own mean and (biased) variance, and running_mean / running_var (if given)
    move toward them in place, new = (1 - momentum) old + momentum batch, with the unbiased variance
    (n / (n - 1) var, an estimate of the whole data's). training=False: the running statistics, so one
    example's output does not depend on the rest of its batch."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got shape {input.shape}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"batch_norm: {name} has shape {t.shape}, expected ({channels},): one per channel "
                             f"of the input of shape {input.shape}")
    if not training and running_mean is None:
        raise ValueError("batch_norm: training=False normalises with running_mean and running_var; pass them, "
                         "or training=True for the batch's own statistics")
    dims = (0, *range(2, input.ndim))  # every dim but the channels
    if training:
        n = input.numel() // channels
        if n < 2:
            raise ValueError(f"batch_norm: training needs more than 1 value per channel for a variance, "
                             f"got input of shape {input.shape}")
        mean, var = input.mean(dims), input.var(dims, unbiased=False)  # (C,)
        if running_mean is not None:
            with no_grad():  # a record of the data seen, not part of what is differentiated
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
                running_var.mul_(1 - momentum).add_(var * (n / (n - 1)), alpha=momentum)
    else:
        mean, var = running_mean, running_var

    def per_channel(t):  # (C,) -> (C, 1, ...): broadcasts against (N, C, L, ...)
        return t.reshape((channels,) + (1,) * (input.ndim - 2))

    out = (input - per_channel(mean)) / per_channel(var + eps).sqrt()
    if weight is not None:
        out = out * per_channel(weight)
    return out if bias is None else out + per_channel(bias)


# ---- losses ---------------------------------------------------------------------------------
def apply_reduction(losses, reduction):
    """The losses as they are ("none"), or their sum or mean (a scalar)."""
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def target_tensor(target, input, dtype=None):
    """A target given as a list or an array, as a tensor on the input's device (of dtype, if given)."""
    return target if isinstance(target, Tensor) else Tensor(target, dtype=dtype, device=input.device)


def check_same_shape(name, input, target):
    """Raise unless input and target have one shape. PyTorch broadcasts a (N, 1) input against a
    (N,) target into an (N, N) loss with only a warning, which silently trains the wrong thing."""
    if input.shape != target.shape:
        raise ValueError(f"{name}: input of shape {input.shape} and target of shape {target.shape} differ; "
                         "they must have the same shape (reshape one, e.g. input.squeeze(-1))")


def pointwise_loss(name, input, target, reduction):
    """target as a tensor, after checking the shapes and the reduction that every pointwise loss shares."""
    target = target_tensor(target, input, input.dtype)
    check_same_shape(name, input, target)
    check_reduction(name, reduction)
    return target


def mse_loss(input, target, reduction="mean"):
    """mean((x - y)^2)"""
    target = pointwise_loss("mse_loss", input, target, reduction)
    return apply_reduction((input - target) ** 2, reduction)


def l1_loss(input, target, reduction="mean"):
    """mean(|x - y|)"""
    target = pointwise_loss("l1_loss", input, target, reduction)
    return apply_reduction((input - target).abs(), reduction)


def huber(diff, delta):
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) beyond: a parabola that meets two lines with
    their value and slope, so the gradient d (inside) or delta sign(d) (outside) has no jump."""
    size = diff.abs()
    return ops.where(size < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))


def huber_loss(input, target, reduction="mean", delta=1.0):
    """mean(huber(x - y)): squared error for errors under delta, absolute error (scaled by delta) beyond,
    so a few outliers pull on the fit no harder than delta each."""
    target = pointwise_loss("huber_loss", input, target, reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return apply_reduction(huber(input - target, delta), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """mean(huber(x - y) / beta): 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta beyond; the L1 loss with
    its kink at 0 rounded off (beta = 0 is the L1 loss itself). Huber's loss divided by beta, so the
    slope far out is 1, not beta."""
    target = pointwise_loss("smooth_l1_loss", input, target, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    if beta == 0:  # not huber / 0: where's branch not taken would still send back 0 / 0 = NaN
        return apply_reduction((input - target).abs(), reduction)
    return apply_reduction(huber(input - target, beta) / beta, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """sum of y (log y - x): the Kullback-Leibler divergence KL(y || p) for input x = log p (log-probabilities,
    e.g. from log_softmax) and target probabilities y (or log y, with log_target=True); y log y is 0 where y is 0.

    "batchmean" divides the sum by the batch size (input.shape[0]): the true mean KL per sample. "mean"
    divides by the number of elements, as PyTorch does (which warns that this is not the KL's mean)."""
    target = target_tensor(target, input, input.dtype)
    check_same_shape("kl_div", input, target)
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    if log_target:
        losses = target.exp() * (target - input)
    else:  # log of 1, not of 0, where y is 0: y log y is then 0, and so is its gradient's 0 * log y
        losses = target * (ops.where(target == 0, 1.0, target).log() - input)
    if reduction != "batchmean":
        return apply_reduction(losses, reduction)
    return losses.sum() / input.shape[0] if input.ndim else losses.sum()  # a 0-d input is one sample


def classes_last(x):
    """PyTorch's (N, C, d1, ...) layout as (N, d1, ..., C): the losses below take PyTorch's layout, the
    class dim second, and the engine's ops.cross_entropy takes the class dim last (as a language
    model's (B, T, C) logits come). A (C,) or (N, C) input is already both."""
    return x if x.ndim <= 2 else x.permute(0, *range(2, x.ndim), 1)


def check_class_layout(name, input, target):
    """An (N, C, d1, ...) input needs (N, d1, ...) class targets: said in PyTorch's terms, before the move."""
    expected = input.shape[:1] + input.shape[2:]
    if input.ndim > 2 and target.shape != expected:
        raise ValueError(f"{name}: input of shape {input.shape} (N, C, d1, ...: the classes in dim 1, as PyTorch) "
                         f"needs a target of shape {expected}, got target of shape {target.shape}")


def check_float_input(name, input, target, what):
    """input must hold floats (what: "logits", "log-probabilities"). Integer class indices there mean,
    most often, that the arguments came in swapped, as F.cross_entropy(labels, logits): said so, rather
    than an error about the target's shape, or a loss computed on the labels."""
    if backend.is_floating(input.dtype):
        return
    swapped = isinstance(target, Tensor) and backend.is_floating(target.dtype)
    hint = (f"; the arguments look swapped: {name} takes (input, target), the float {what} first and the "
            "integer class indices second") if swapped else ""
    raise TypeError(f"{name}: input must be a floating-point tensor of {what}, got dtype {input.dtype.name}{hint}")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy, in PyTorch's layout: logits (N, C) with class targets (N,), or (N, C, d1, ...)
    with (N, d1, ...) -- the class dim second, so a language model's (B, T, C) logits go in as
    logits.view(-1, C) with targets.view(-1), as nanoGPT does. A float target of the input's shape
    holds class probabilities (soft labels: distillation, mixup). See ops.cross_entropy for the rest."""
    check_float_input("cross_entropy", input, target, "logits")
    target = target_tensor(target, input)
    if target.dtype.kind == "f":
        return soft_cross_entropy(input, target, weight, reduction, label_smoothing)
    check_class_layout("cross_entropy", input, target)
    return ops.cross_entropy(classes_last(input), target, weight=weight, ignore_index=ignore_index,
                             reduction=reduction, label_smoothing=label_smoothing)


def soft_cross_entropy(input, target, weight, reduction, label_smoothing):
    """mean_i -sum_c w[c] q[i, c] log softmax(x)[i, c], q the target's probabilities (smoothed: (1 - s) q + s / C).
    Composed, so the target gets a gradient too, as in PyTorch."""
    if target.shape != input.shape:
        raise ValueError(f"cross_entropy: a float target holds class probabilities, of the input's shape "
                         f"{input.shape}; got {target.shape} (class indices need an integer tensor: target.long())")
    check_reduction("cross_entropy", reduction)
    log_p, q = classes_last(input).log_softmax(-1), classes_last(target)
    check_class_weight("cross_entropy", weight, log_p.shape[-1])
    if label_smoothing:
        q = q * (1 - label_smoothing) + label_smoothing / log_p.shape[-1]
    losses = -(q * log_p * (1 if weight is None else weight)).sum(-1)  # (N, d1, ...)
    return apply_reduction(losses, reduction)  # "mean" over the rows, weighted or not, as PyTorch


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """sum_i -w[t_i] x[i, t_i] / sum_i w[t_i] over the rows not ignored, x holding log-probabilities.

    PyTorch's layout, as cross_entropy: (N, C) with (N,) targets, or (N, C, d1, ...)
    with (N, d1, ...). nll_loss(log_softmax(x, 1), t) is cross_entropy(x, t). If
    every target is ignored, "mean" gives 0 (PyTorch gives NaN).
    """
    check_float_input("nll_loss", input, target, "log-probabilities")
    target = target_tensor(target, input)
    check_class_layout("nll_loss", input, target)
    input = classes_last(input)
    check_class_targets("nll_loss", input, target, ignore_index)
    check_reduction("nll_loss", reduction)
    check_class_weight("nll_loss", weight, input.shape[-1])
    kept = target != ignore_index
    target = ops.where(kept, target, 0)  # any class will do for an ignored row: where() drops it
    picked = input.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # x[i, t_i]
    losses = ops.where(kept, -picked, 0.0)  # where, not a product with 0: an ignored row's x[i, 0] may be -inf
    row_weight = kept.to(input.dtype) if weight is None else ops.where(kept, weight[target], 0.0)
    if weight is not None:
        losses = losses * row_weight
    if reduction != "mean":
        return apply_reduction(losses, reduction)
    total = row_weight.sum()
    return losses.sum() / ops.where(total != 0, total, 1.0)  # every row ignored: 0, not 0/0


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """mean(-w [p y log s(x) + (1 - y) log(1 - s(x))]), s the sigmoid, p the pos_weight (1 if not given).

    Computed from the logits as (1 - y) x + (1 + (p - 1) y) softplus(-x), with
    softplus(-x) = -log s(x) from log1p_exp, which never overflows, and no log of a
    rounded-to-0 probability. weight broadcasts against the loss;
    pos_weight against the last dim (one weight per class, for multi-label).
    """
    target = pointwise_loss("binary_cross_entropy_with_logits", input, target, reduction)
    softplus_neg = log1p_exp(-input)
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    losses = (1 - target) * input + log_weight * softplus_neg
    return apply_reduction(losses if weight is None else losses * weight, reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """mean(-w [y log x + (1 - y) log(1 - x)]) for probabilities x in [0, 1], each log at least -100.

    binary_cross_entropy_with_logits on the logits is the stable way; this one is
    for models that end in a sigmoid already. The gradient is PyTorch's (x - y) / max(x (1 - x), 1e-12),
    also at x = 0 or 1 (see ops.fused.BinaryCrossEntropy).
    """
    target = pointwise_loss("binary_cross_entropy", input, target, reduction)
    if ((input < 0) | (input > 1)).any():
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]; for logits "
                         "use binary_cross_entropy_with_logits")
    losses = fused.binary_cross_entropy(input, target)
    return apply_reduction(losses if weight is None else losses * weight, reduction)


# ---- vectors and padding --------------------------------------------------------------------
def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(||input||_p, eps) along dim: unit vectors; eps keeps a zero vector at zero, not 0 / 0."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along dim (x1 and x2 broadcast): the cosine of the
    angle between them. Each is made a unit vector first, as PyTorch does (its docs once said
    max(||x1|| ||x2||, eps), which differs for vectors shorter than eps). Below eps the gradient is that
    of the value computed; PyTorch's clamps the norm's value but not its gradient. Both are broadcast
    before either is normalised: a length-1 vector along dim stands for that many copies of its entry."""
    shape = backend.broadcast_shape(x1.shape, x2.shape)
    return (normalize(x1.expand(shape), 2, dim, eps) * normalize(x2.expand(shape), 2, dim, eps)).sum(dim)


def pad(input, pad, mode="constant", value=0.0):
    """input with value added around it: pad = (left, right) for the last dim, then (top, bottom) for
    the one before, and so on backwards, as PyTorch's pad; a negative amount crops instead. A cat of
    the input with filled blocks, so the gradient is the input's slice of the output's gradient."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; only 'constant' is")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: expected (before, after) pairs for at most {input.ndim} dims of shape "
                         f"{input.shape}, got {tuple(pad)}")
    out = input
    for i in range(len(pad) // 2):
        dim, before, after = input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
        if before < 0 or after < 0:
            kept = slice(max(-before, 0), out.shape[dim] - max(-after, 0))
            out = out[(slice(None),) * dim + (kept,)]
        parts = [out]
        if before > 0:
            parts.insert(0, filled(out, dim, before, value))
        if after > 0:
            parts.append(filled(out, dim, after, value))
        out = ops.cat(parts, dim) if len(parts) > 1 else out
    return out


def filled(like, dim, n, value):
    """A block of value shaped as `like` but n long along dim, of its dtype and on its device."""
    return creation.full(like.shape[:dim] + (n,) + like.shape[dim + 1:], value, like.dtype, like.device)
