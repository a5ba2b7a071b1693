"""Loss modules: each keeps its options (and class weights, as buffers) and calls one function of F.

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(model(x), y)

Class weights are buffers, as in PyTorch: saved in state_dict and moved by
to(), never trained.
"""
import operator

from minigrad import backend
from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


def looks_like_data(value):
    """A list, or a tensor or array of one dim or more: what a loss is called with, never one of its
    options (a 0-d tensor or NumPy number may be one: label_smoothing=mg.tensor(0.1))."""
    return isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) > 0


class Loss(Module):
    """The reduction every loss takes: "mean" (the default), "sum" or "none" (one loss per element).

    The constructor's arguments are checked here, as a loss is built once and called for every batch:
    nn.CrossEntropyLoss(logits, target), the data given to the constructor instead of to the loss it
    builds, would otherwise make the logits its class weights and the targets its ignore_index, and
    fail only later, far away ("object has no attribute 'backward'")."""

    reductions = ("mean", "sum", "none")

    def __init__(self, reduction="mean", *more, **options):
        """options: the loss's other settings (not its weights), kept as attributes of those names; more:
        nothing, unless a loss without options of its own (MSELoss, L1Loss) was given (input, target)."""
        super().__init__()
        name = type(self).__name__
        data = [(option, value) for option, value in {"reduction": reduction, **options}.items()
                if looks_like_data(value)]
        if data or more:
            option, value = data[0] if data else ("reduction", reduction)
            raise TypeError(f"{name}: got a {type(value).__name__} for {option}; looks like (input, target) was passed "
                            f"to the constructor; build the loss once, criterion = nn.{name}(), then call it: "
                            "criterion(input, target)")
        if reduction not in self.reductions:
            raise ValueError(f"{name}: reduction must be one of {', '.join(map(repr, self.reductions))}, "
                             f"got {reduction!r}")
        self.reduction = reduction
        for option, value in options.items():
            setattr(self, option, value)

    def register_weight(self, name, tensor, per_class=False):
        """self.<name> = tensor, a buffer (None stays a plain attribute), after checking that it is a float
        tensor: one weight per class (1-d) where per_class, else any shape that broadcasts."""
        if tensor is not None and not (isinstance(tensor, Tensor) and backend.is_floating(tensor.dtype)
                                       and (tensor.ndim == 1 or not per_class)):
            got = (f"shape {tensor.shape}, dtype {tensor.dtype.name}" if isinstance(tensor, Tensor)
                   else type(tensor).__name__)
            expected = "a 1-d floating point tensor (one weight per class)" if per_class else "a floating point tensor"
            raise TypeError(f"{type(self).__name__}: {name} must be None or {expected}, got {got}")
        if tensor is None:
            setattr(self, name, None)
        else:
            self.register_buffer(name, tensor)


class ClassLoss(Loss):
    """A loss over integer class targets (NLLLoss, CrossEntropyLoss): optional class weights (C,), and
    ignore_index, a target value whose rows add nothing (padding)."""

    def __init__(self, weight, ignore_index, reduction, **options):
        super().__init__(reduction, ignore_index=ignore_index, **options)
        self.register_weight("weight", weight, per_class=True)
        try:
            self.ignore_index = operator.index(ignore_index)
        except TypeError:
            raise TypeError(f"{type(self).__name__}: ignore_index must be a whole number (a target value to skip; "
                            f"-100 by default), got {ignore_index!r}") from None


class MSELoss(Loss):
    """mean((x - y)^2)"""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(Loss):
    """mean(|x - y|)"""

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(Loss):
    """mean(0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta), d = x - y."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction, beta=beta)

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(Loss):
    """mean(0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)), d = x - y."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction, delta=delta)

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(Loss):
    """sum of y (log y - x) for log-probabilities x and probabilities y (log y with log_target=True);
    reduction "batchmean" divides by the batch size."""

    reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction, log_target=log_target)

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class NLLLoss(ClassLoss):
    """sum_i -w[t_i] x[i, t_i] / sum_i w[t_i], x holding log-probabilities (classes in dim 1, as PyTorch)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, ignore_index, reduction)

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(ClassLoss):
    """sum_i -w[t_i] log softmax(x_i)[t_i] / sum_i w[t_i], with optional label smoothing (classes in dim 1,
    as PyTorch)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, ignore_index, reduction, label_smoothing=label_smoothing)

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCEWithLogitsLoss(Loss):
    """mean(-w [p y log s(x) + (1 - y) log(1 - s(x))]) from logits x, s the sigmoid, p the pos_weight."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_weight("weight", weight)
        self.register_weight("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class BCELoss(Loss):
    """mean(-w [y log x + (1 - y) log(1 - x)]) for probabilities x, each log at least -100."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_weight("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)
