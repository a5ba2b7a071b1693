"""LoRA (Hu et al. 2021): learn a low-rank update of chosen weight matrices.

    y = x W^T + b  +  (alpha / r) (x A^T) B^T        A (r, in), B (out, r), r << in, out

W (out, in) stays frozen; only A and B train: r (in + out) numbers instead of
in * out. B starts at zero, so B A = 0 and training starts exactly at the
pretrained model; A starts random (nn.Linear's init) so that B gets a useful
gradient. The factor alpha / r tempers the update's growth with r (B A sums r
rank-one terms), so the same lr works across ranks; the update still shrinks
somewhat as r grows (lesson 12 measures it, beside rsLoRA's alpha / sqrt(r)).
Computing (x A^T) first goes through the narrow r-dim space: never an (out, in)
matrix while training.

For inference the update folds into the weight: W' = W + (alpha / r) B A, and the
model is again plain Linear layers with no extra compute (merge); merge keeps a
copy of each original W, so unmerge puts it back bit for bit (W + D - D in
float32 need not give back W's last bit). Hu et al. adapt the attention's query and
value projections, the default here; any nn.Linear in the body can be named.
"""
import math

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


class LoRALinear(nn.Module):
    """A frozen nn.Linear plus a trainable rank-r update; forward(x) as in the formula above."""

    def __init__(self, base, r=8, alpha=16, dropout=0.0):
        super().__init__()
        if not 1 <= r <= min(base.in_features, base.out_features):
            raise ValueError(f"lora: rank r must be between 1 and {min(base.in_features, base.out_features)} (the "
                             f"layer's width: a rank-{min(base.in_features, base.out_features)} update is already "
                             f"any update), got {r}")
        if not alpha > 0:  # alpha / r scales the update: 0 would leave A and B without any gradient
            raise ValueError(f"lora: alpha must be > 0, got {alpha}")
        self.base = base.requires_grad_(False)
        self.r, self.alpha, self.scale = r, alpha, alpha / r
        device = base.weight.device
        self.lora_A = nn.Parameter(mg.zeros(r, base.in_features, device=device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as nn.Linear's weights (and PEFT)
        self.lora_B = nn.Parameter(mg.zeros(base.out_features, r, device=device))  # zero: no change at first
        self.lora_dropout = nn.Dropout(dropout)  # on the input of the update only, as in PEFT
        self.merged = False
        self.original_weight = None  # base.weight before merge(), given back exactly by unmerge()
        self.trained = True  # whether A and B trained before merge() switched them off

    def forward(self, x):  # (..., in) -> (..., out)
        y = self.base(x)
        if self.merged:  # the update is inside base.weight already
            return y
        low = F.linear(self.lora_dropout(x), self.lora_A) * self.scale  # (..., r): the narrow side is cheaper to scale
        return y + F.linear(low, self.lora_B)

    def delta_weight(self):
        """(alpha / r) B A, of shape (out, in): what merge() adds to the base weight."""
        return (self.lora_B @ self.lora_A) * self.scale

    def merge(self):
        """Fold the update into base.weight; forward then skips the low-rank path, so A and B stop
        training (they would get no gradient) until unmerge(). The original weight is kept aside, so
        that unmerge() gives it back bit for bit (subtracting the update would leave ~1e-8 of float
        rounding in it, and a delta's base fingerprint would no longer match). A merged model's
        state_dict holds W + (alpha / r) B A beside A and B: loaded into an unmerged model, the update
        would count twice, so save_delta refuses a merged model; unmerge before saving."""
        if not self.merged:
            self.original_weight = self.base.weight.detach().clone()
            with mg.no_grad():
                self.base.weight.add_(self.delta_weight())
            self.merged = True
            self.trained = self.lora_A.requires_grad
            self.lora_A.requires_grad_(False)
            self.lora_B.requires_grad_(False)
        return self

    def unmerge(self):
        """Put back the weight merge() kept aside (bit for bit), and let A and B train again."""
        if self.merged:
            with mg.no_grad():
                self.base.weight.copy_(self.original_weight)
            self.merged, self.original_weight = False, None
            self.lora_A.requires_grad_(self.trained)
            self.lora_B.requires_grad_(self.trained)
        return self

    def extra_repr(self):
        return f"r={self.r}, alpha={self.alpha}, merged={self.merged}"


def inject_lora(module, targets=("query", "value"), r=8, alpha=16, dropout=0.0):
    """Replace every nn.Linear in module whose own name is in targets by a LoRALinear around it."""
    targets = [s.strip() for s in targets.split(",")] if isinstance(targets, str) else list(targets)
    if not targets:
        raise ValueError("lora: targets names no layer; expected names such as ('query', 'value')")
    linears = [(name, m) for name, m in module.named_modules() if isinstance(m, nn.Linear)]
    found = [(name, m) for name, m in linears if name.rpartition(".")[2] in targets]
    missing = sorted(set(targets) - {name.rpartition(".")[2] for name, _ in found})
    if missing:
        names = sorted({name.rpartition(".")[2] for name, _ in linears})
        raise ValueError(f"lora: no Linear layer named {missing}; the Linear layers here are named {names}")
    for name, linear in found:
        parent_name, _, child = name.rpartition(".")
        parent = module
        for part in parent_name.split(".") if parent_name else []:
            parent = getattr(parent, part)
        setattr(parent, child, LoRALinear(linear, r, alpha, dropout))
    return module


def add_lora(model, *, r=8, alpha=16.0, lora_dropout=0.0, targets=("query", "value")):
    """lora: a rank-r update on each target Linear of the body (the body stays frozen)."""
    inject_lora(model.transformer, targets, r, alpha, lora_dropout)


def merge_lora(model):
    """Fold every LoRA update of the model into its base weights (for inference)."""
    for module in model.modules():
        if isinstance(module, LoRALinear):
            module.merge()
    return model


def unmerge_lora(model):
    """Undo merge_lora."""
    for module in model.modules():
        if isinstance(module, LoRALinear):
            module.unmerge()
    return model
