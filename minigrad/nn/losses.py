"""Loss modules: each keeps its options (and class weights, as buffers) and calls one function of F.

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(model(x), y)

Class weights are buffers, as in PyTorch: saved in state_dict and moved by
to(), never trained.
"""
from minigrad.nn import functional as F
from minigrad.nn.module import Module


class Loss(Module):
    """The reduction every loss takes: "mean" (the default), "sum" or "none" (one loss per element)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def register_optional_buffer(self, name, tensor):
        """self.<name> = tensor, as a buffer when it is one; None stays a plain attribute."""
        if tensor is None:
            setattr(self, name, None)
        else:
            self.register_buffer(name, tensor)


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
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(Loss):
    """mean(0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)), d = x - y."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(Loss):
    """sum of y (log y - x) for log-probabilities x and probabilities y (log y with log_target=True);
    reduction "batchmean" divides by the batch size."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class NLLLoss(Loss):
    """sum_i -w[t_i] x[i, t_i] / sum_i w[t_i], x holding log-probabilities (classes in dim 1, as PyTorch)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.register_optional_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(Loss):
    """sum_i -w[t_i] log softmax(x_i)[t_i] / sum_i w[t_i], with optional label smoothing (classes in dim 1,
    as PyTorch)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.register_optional_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCEWithLogitsLoss(Loss):
    """mean(-w [p y log s(x) + (1 - y) log(1 - s(x))]) from logits x, s the sigmoid, p the pos_weight."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_optional_buffer("weight", weight)
        self.register_optional_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class BCELoss(Loss):
    """mean(-w [y log x + (1 - y) log(1 - x)]) for probabilities x, each log at least -100."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_optional_buffer("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)
